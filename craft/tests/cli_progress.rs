//! The progress line of long runs (issue #11). `craft dissect --pcap` / `check --pcap`: on
//! stderr when that is a terminal (a pseudo-terminal here) and stdout a file, cleared at
//! the end, with the output file the same as without it; nothing at all on a stderr that
//! is not a terminal, nor beside packets printed to a pipe. `send` and `sniff -w` (root
//! only): in two fresh namespaces joined by a veth pair (tests/common/netns.rs).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use craft::pcap::{WriteFormat, Writer, LINKTYPE_ETHERNET};
use craft::text::parse_expr;

mod common;
use common::lab::lab;
use common::netns::{privileged, Netns};

const IP_A: &str = "10.209.0.1";
const IP_B: &str = "10.209.0.2";

const CRAFT: &str = env!("CARGO_BIN_EXE_craft");
/// Frames in the big capture: enough that reading it takes more than the 200 ms before
/// the first draw (debug builds read some 200k a second).
const N: u64 = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("craft-progress-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A capture of `n` frames: long enough to read that the line is drawn (every 200 ms).
fn big_capture(path: &PathBuf, n: u64) {
    let frame = parse_expr("Ether()/IP(dst='10.0.0.2')/UDP(dport=53)/Raw(load=b'x' * 40)").unwrap()[0].build();
    let file = BufWriter::new(File::create(path).unwrap());
    let mut w = Writer::new(file, WriteFormat::PcapMicros, LINKTYPE_ETHERNET, 65535).unwrap();
    for i in 0..n {
        w.write(1_700_000_000_000_000_000 + i * 1000, &frame, frame.len() as u32).unwrap();
    }
    w.into_inner().unwrap().flush().unwrap();
}

/// A command with stdout to a file and stderr to a new pseudo-terminal, killed if dropped
/// still running.
struct OnPty {
    child: Option<Child>,
    err: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl OnPty {
    fn spawn(mut cmd: Command, out: &PathBuf) -> OnPty {
        let (mut m, mut s) = (0, 0);
        // SAFETY: openpty writes two fds; name, termios and winsize are null (defaults).
        let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both fds were just opened and are owned here.
        let (mut master, slave) = unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) };
        cmd.stdin(Stdio::null()).stdout(File::create(out).unwrap()).stderr(Stdio::from(slave));
        let child = cmd.spawn().unwrap();
        drop(cmd); // the parent's copy of the slave: the master reads EIO once the child is gone
        let err = Arc::new(Mutex::new(Vec::new()));
        let got = err.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = master.read(&mut buf) {
                got.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnPty { child: Some(child), err, reader: Some(reader) }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// Waits until stderr has `text`; panics after `limit`.
    fn wait_for(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(text) {
            assert!(Instant::now() < deadline, "no {text:?} on stderr: {:?}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its status and all it wrote on stderr; panics (killing it) after `limit`.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "still running after {limit:?}: {:?}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        };
        self.child = None;
        self.reader.take().unwrap().join().unwrap();
        (status, self.stderr())
    }
}

impl Drop for OnPty {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// craft `args` with stdout to `out` and stderr to a pseudo-terminal (or a pipe, when not
/// `tty`): its status and what it wrote on stderr.
fn run(args: &[&str], out: &PathBuf, tty: bool) -> (ExitStatus, String) {
    let mut cmd = Command::new(CRAFT);
    cmd.args(args);
    if !tty {
        let o = cmd.stdin(Stdio::null()).stdout(File::create(out).unwrap()).stderr(Stdio::piped()).output().unwrap();
        return (o.status, String::from_utf8_lossy(&o.stderr).into_owned());
    }
    OnPty::spawn(cmd, out).finish(Duration::from_secs(120))
}

#[test]
fn dissect_and_check_of_a_big_capture_show_progress_on_a_terminal_only() {
    let dir = Dir::new("big");
    let pcap = dir.file("big.pcap");
    big_capture(&pcap, N);
    let p = pcap.to_str().unwrap();
    for (args, code) in [(vec!["dissect", "--pcap", p, "-f", "summary"], 0), (vec!["check", "--pcap", p], 1)] {
        let (plain, tty) = (dir.file("plain.out"), dir.file("tty.out"));
        let (st, err) = run(&args, &plain, false);
        assert_eq!(st.code(), Some(code), "{args:?}");
        assert_eq!(err, "", "{args:?}: nothing extra on a stderr that is not a terminal");

        let (st, err) = run(&args, &tty, true);
        assert_eq!(st.code(), Some(code), "{args:?}");
        assert!(err.contains("\r\x1b[Kread ") && err.contains(" packets, ") && err.contains('%'), "{args:?}: {err:?}");
        // Cleared at the end: the last thing written erases the line.
        assert!(err.ends_with("\r\x1b[K"), "{args:?}: {err:?}");
        assert!(std::fs::read(&tty).unwrap() == std::fs::read(&plain).unwrap(), "{args:?}: output differs under a tty stderr");
    }
}

#[test]
fn no_progress_over_packets_printed_to_a_pipe() {
    let dir = Dir::new("pipe");
    let pcap = dir.file("big.pcap");
    big_capture(&pcap, N);
    let (mut m, mut s) = (0, 0);
    // SAFETY: as in `run`.
    let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0);
    // SAFETY: both fds were just opened and are owned here.
    let (mut master, slave) = unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) };
    let mut cmd = Command::new(CRAFT);
    cmd.args(["dissect", "--pcap", pcap.to_str().unwrap(), "-f", "summary"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s.lines().count()
    });
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    assert!(child.wait().unwrap().success());
    assert_eq!(lines.join().unwrap() as u64, N);
    assert_eq!(String::from_utf8_lossy(&reader.join().unwrap()), "");
}

#[test]
fn send_and_sniff_w_show_progress_on_a_terminal() {
    if !privileged("send_and_sniff_w_show_progress_on_a_terminal") {
        return;
    }
    let lab = lab("craft-p", (IP_A, IP_B), None);
    let dir = Dir::new("live");
    let (pcap, sniffed, sent) = (dir.file("sniff.pcap"), dir.file("sniff.out"), dir.file("send.out"));
    let in_ns = |ns: &Netns, args: &[&str]| {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name, CRAFT]).args(args);
        cmd
    };
    let sniff_args = ["sniff", "--iface", &lab.veth.b, "--direction", "in", "--filter", "icmp", "--count", "600", "--timeout", "20"];
    let sniffer = OnPty::spawn(in_ns(&lab.b, &[&sniff_args[..], &["-w", pcap.to_str().unwrap()]].concat()), &sniffed);
    sniffer.wait_for("sniffing on", Duration::from_secs(10));
    let expr = format!("IP(dst='{IP_B}')/ICMP()");
    let sender = OnPty::spawn(in_ns(&lab.a, &["send", &expr, "--count", "600", "--rate", "1000"]), &sent);
    let (st, err) = sender.finish(Duration::from_secs(20));
    assert!(st.success(), "{err:?}");
    assert!(err.contains("\r\x1b[Ksent ") && err.contains("/600 packets, "), "{err:?}");
    // Cleared before the summary.
    assert!(err.contains("\r\x1b[Ksent 600 packets in "), "{err:?}");
    let (st, err) = sniffer.finish(Duration::from_secs(25));
    assert!(st.success(), "{err:?}");
    assert!(err.contains("\r\x1b[Kwrote ") && err.contains(" frames to "), "{err:?}");
    assert!(err.contains("\r\x1b[K600 packets captured"), "{err:?}");
    assert_eq!(std::fs::read_to_string(&sniffed).unwrap().lines().count(), 600);
}

#[test]
fn sr_shows_sent_answered_and_unanswered_on_a_terminal_but_not_beside_json() {
    if !privileged("sr_shows_sent_answered_and_unanswered_on_a_terminal_but_not_beside_json") {
        return;
    }
    let lab = lab("craft-p", (IP_A, IP_B), None);
    let dir = Dir::new("sr");
    let out = dir.file("sr.out");
    let in_a = |args: &[&str]| {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &lab.a.name, CRAFT]).args(args);
        cmd
    };
    // 600 requests at 1000 per second: the line is drawn a few times.
    let expr = format!("IP(dst='{IP_B}')/ICMP(id=7, seq=(1, 600))");
    let args = ["sr", &expr, "--rate", "1000", "--timeout", "1"];
    let (st, err) = OnPty::spawn(in_a(&args), &out).finish(Duration::from_secs(30));
    assert!(st.success(), "{err:?}");
    assert!(err.contains("\r\x1b[Ksent ") && err.contains("/600 requests), ") && err.contains(" answered, "), "{err:?}");
    // Cleared before the summary; the replies are in the output file.
    assert!(err.contains("\r\x1b[KReceived "), "{err:?}");
    assert!(err.contains("got 600 answers, remaining 0 packets"), "{err:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 600);

    let (st, err) = OnPty::spawn(in_a(&[&args[..], &["--format", "json"]].concat()), &out).finish(Duration::from_secs(30));
    assert!(st.success(), "{err:?}");
    assert!(!err.contains('\x1b') && err.contains("got 600 answers"), "no progress line beside JSON: {err:?}");
}
