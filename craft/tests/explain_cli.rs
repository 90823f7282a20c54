//! The explain commands of the `craft` binary against the real kernel: `craft watch-drops`
//! across namespaces and for one, and Ctrl-C (SIGINT) during `craft send --explain`: a
//! prompt exit with 130, the report of what was seen, and nothing left behind (no BPF
//! program, no tracefs or bpffs mount). Drops come from bad-MAC floods in namespaces these
//! tests create; every frame stays inside them (tests/common: unique names, removed on drop,
//! panics included).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::bpf::{held_prog_ids, loaded_progs, new_mounts, prog_name, trace_and_bpf_mounts};
use common::child::Guard;
use common::flood::Flood;
use common::lab::lab;
use common::netns::{privileged, Netns};

const CRAFT: &str = env!("CARGO_BIN_EXE_craft");
const T: Duration = Duration::from_secs(30);

/// One test at a time: each floods, and the Ctrl-C tests time the exit.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// `craft watch-drops ARGS` in the host's namespace (it watches them all), for `--timeout`
/// seconds; its stdout and stderr (it must succeed).
fn watch_drops(args: &[&str]) -> (String, String) {
    let mounts = trace_and_bpf_mounts();
    let child = Command::new(CRAFT).arg("watch-drops").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("craft watch-drops");
    let mut guard = Guard(Some(child));
    // Read while it runs: thousands of lines would fill a pipe and block it.
    let (_, out_h) = lines_of(guard.child().stdout.take().unwrap());
    let (_, err_h) = lines_of(guard.child().stderr.take().unwrap());
    let status = guard.wait(T).status;
    let (stdout, stderr) = (out_h.join().unwrap(), err_h.join().unwrap());
    eprintln!("craft watch-drops {}: {} lines; stderr: {stderr}", args.join(" "), stdout.lines().count());
    assert!(status.success(), "{stderr}");
    assert_eq!(new_mounts(&mounts, &trace_and_bpf_mounts()), Vec::<String>::new(), "craft watch-drops left a tracefs or bpffs mount");
    (stdout, stderr)
}

/// `craft watch-drops --netns all --format json`, drops happening in two test namespaces
/// (IPv4 bad MACs in one, IPv6 in the other): both namespaces are named, each with its
/// drops' reason and function.
#[test]
fn watch_drops_all_names_the_drops_of_two_namespaces() {
    if !privileged("watch_drops_all_names_the_drops_of_two_namespaces") {
        return;
    }
    let _serial = serial();
    let (f4, f6) = (Flood::v4(101, 4), Flood::v6(102, 4));
    let (stdout, _) = watch_drops(&["--netns", "all", "--timeout", "1.5", "--format", "json"]);
    let recs: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    for (flood, function) in [(&f4, "ip_rcv_core"), (&f6, "ip6_rcv_core")] {
        let ns = flood.lab.b.name.as_str();
        // The flood's frames; the kernel's own IPv6 chatter may be dropped there too (e.g.
        // a neighbour solicitation at ip6_mc_input).
        let in_ns = recs.iter().filter(|r| r["netns_name"] == ns).count();
        let mine: Vec<&serde_json::Value> = recs.iter().filter(|r| r["netns_name"] == ns && r["summary"].as_str().unwrap().contains(&flood.marker)).collect();
        eprintln!("{ns}: {} drops, {} of the flood", in_ns, mine.len());
        assert!(mine.len() > 100, "{} flood drops of namespace {ns} in 1.5 s", mine.len());
        for r in mine {
            assert_eq!((r["reason"].as_str(), r["function"].as_str()), (Some("OTHERHOST"), Some(function)), "{r}");
            assert_eq!(r["ifname"], flood.lab.veth.b.as_str(), "{r}");
            assert!(r["netns"].as_u64().unwrap() > 0, "{r}");
        }
    }
}

/// `craft watch-drops --netns NAME` (text): only NAME's drops, one line each
/// (`T NAME (INODE) DEV FUNCTION+OFF: REASON — PACKET`); the other namespace's drops were
/// seen and filtered out.
#[test]
fn watch_drops_netns_name_shows_only_that_namespace() {
    if !privileged("watch_drops_netns_name_shows_only_that_namespace") {
        return;
    }
    let _serial = serial();
    let (f4, f6) = (Flood::v4(103, 4), Flood::v6(104, 4));
    let ns = f6.lab.b.name.as_str();
    let (stdout, stderr) = watch_drops(&["--netns", ns, "--timeout", "1.5"]);
    let lines: Vec<&str> = stdout.lines().collect();
    for l in &lines {
        let words: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(words.get(1).copied(), Some(ns), "{l}");
        assert!(!l.contains(&f4.marker), "{l}");
    }
    // The flood's (the kernel's own IPv6 chatter there may show too).
    let flood: Vec<&&str> = lines.iter().filter(|l| l.contains(&f6.marker)).collect();
    assert!(flood.len() > 100, "{} flood drops of namespace {ns} in 1.5 s", flood.len());
    for l in flood {
        assert_eq!(l.split_whitespace().nth(3), Some(f6.lab.veth.b.as_str()), "{l}");
        assert!(l.contains(" ip6_rcv_core+0x") && l.contains(": OTHERHOST — Ether / IPv6 "), "{l}");
    }
    for l in lines.iter().filter(|l| !l.contains(&f6.marker)) {
        eprintln!("also in {ns}: {l}");
    }
    // "N drops shown, M filtered out, L lost": the IPv4 flood's were among the M.
    let filtered: usize = stderr
        .split(" drops shown, ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr}"));
    assert!(filtered > 100, "{filtered} drops filtered out: {stderr}");
}

/// `craft ARGS` in network namespace `ns`, in this process's mount namespace (not through
/// `ip netns exec`, which gives the child a mount namespace of its own: a mount craft left
/// would vanish with it unseen). Stdout and stderr piped.
fn craft_in(ns: &Netns, args: &[&str]) -> Child {
    let file = std::fs::File::open(format!("/var/run/netns/{}", ns.name)).expect("netns file");
    let mut cmd = Command::new(CRAFT);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: setns is async-signal-safe; fd stays open until spawn returns.
    unsafe {
        cmd.pre_exec(move || if libc::setns(fd, libc::CLONE_NEWNET) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) });
    }
    let child = cmd.spawn().expect("craft");
    drop(file);
    child
}

/// A pipe read to its end on a thread of its own (so the child never blocks writing), its
/// lines passed on as they come.
fn lines_of(r: impl Read + Send + 'static) -> (mpsc::Receiver<String>, std::thread::JoinHandle<String>) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    (rx, h)
}

/// Interrupt a running `craft send --explain` once `ready` says so; what it printed.
struct Interrupted {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    /// From SIGINT to its exit.
    exit_in: Duration,
    /// The programs it held just before (id, name).
    held: Vec<(u32, String)>,
}

fn interrupt(ns: &Netns, args: &[&str], ready: impl Fn(&str) -> bool) -> Interrupted {
    let mounts = trace_and_bpf_mounts();
    let mut guard = Guard(Some(craft_in(ns, args)));
    let pid = guard.child().id();
    let (_out_lines, out_h) = lines_of(guard.child().stdout.take().unwrap());
    let (err_lines, err_h) = lines_of(guard.child().stderr.take().unwrap());
    let start = Instant::now();
    let mut seen = String::new();
    while !ready(&seen) {
        assert!(start.elapsed() < T, "craft {} did not get ready: {seen}", args.join(" "));
        assert!(guard.child().try_wait().unwrap().is_none(), "craft exited early: {seen}");
        if let Ok(l) = err_lines.recv_timeout(Duration::from_millis(20)) {
            seen += &l;
            seen.push('\n');
        }
    }
    // Its watchers are running: the programs it holds are craft's.
    let held: Vec<(u32, String)> = held_prog_ids(pid).into_iter().map(|id| (id, prog_name(id).unwrap().unwrap_or_default())).collect();
    // SAFETY: pid is our child, still running (not reaped).
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let t = Instant::now();
    let status = loop {
        if let Some(s) = guard.child().try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "craft still running 10 s after SIGINT");
        std::thread::sleep(Duration::from_millis(5));
    };
    let exit_in = t.elapsed();
    guard.0 = None;
    // The reader passed on every line it read, and kept them all.
    let (stdout, stderr) = (out_h.join().unwrap(), err_h.join().unwrap());
    eprintln!("craft {}: exit {:?} {exit_in:?} after SIGINT\nstdout:\n{stdout}stderr:\n{stderr}", args.join(" "), status);
    assert_eq!(status.signal(), None, "killed by a signal: {status:?}");
    assert_eq!(new_mounts(&mounts, &trace_and_bpf_mounts()), Vec::<String>::new(), "craft left a tracefs or bpffs mount");
    Interrupted { stdout, stderr, code: status.code(), exit_in, held }
}

/// Every program `held` is gone (program freeing is deferred: waits up to 2 s).
fn assert_unloaded(held: &[(u32, String)]) {
    let t = Instant::now();
    loop {
        let left: Vec<(u32, String)> = loaded_progs().unwrap().into_iter().filter(|(id, _)| held.iter().any(|(h, _)| h == id)).collect();
        if left.is_empty() {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(2), "still loaded after craft exited: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ctrl-C during a long `--explain-wait` (30 s), with `--trace`: out within 2 s with 130,
/// the report of the drop it had seen (and its path), every program it loaded unloaded.
#[test]
fn ctrl_c_during_explain_wait_exits_130_with_the_report_and_unloads() {
    if !privileged("ctrl_c_during_explain_wait_exits_130_with_the_report_and_unloads") {
        return;
    }
    let _serial = serial();
    let lab = lab("cxcli", ("10.218.1.1", "10.218.1.2"), None);
    let src = "Ether(dst='02:00:00:00:00:99')/IP(src='10.218.1.1', dst='10.218.1.2', id=0xe001)/UDP(dport=4000)";
    let args = ["send", "--iface", &lab.veth.a, src, "--explain", "--trace", "--explain-wait", "30"];
    let r = interrupt(&lab.a, &args, |err| {
        // Sent, and a moment for the drop to be read.
        let sent = err.contains("sent 1 packets");
        if sent {
            std::thread::sleep(Duration::from_millis(300));
        }
        sent
    });
    let names: Vec<&str> = r.held.iter().map(|(_, n)| n.as_str()).collect();
    assert!(names.contains(&"craft_drops") && names.contains(&"craft_path"), "programs held: {:?}", r.held);
    assert!(r.held.iter().all(|(_, n)| n.starts_with("craft_")), "{:?}", r.held);
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.exit_in < Duration::from_secs(2), "exited {:?} after SIGINT", r.exit_in);
    assert!(r.stdout.contains(&format!("packet 0 (Ether / IP 10.218.1.1 > 10.218.1.2 / UDP 53 > 4000) was dropped in namespace {}", lab.b.name)), "{}", r.stdout);
    assert!(r.stdout.contains(": OTHERHOST — "), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("  path: {} {} tx → {} {} rx → dropped at ip_rcv_core: OTHERHOST\n", lab.a.name, lab.veth.a, lab.b.name, lab.veth.b)), "{}", r.stdout);
    assert!(r.stdout.contains("1 of 1 packets dropped"), "{}", r.stdout);
    assert_unloaded(&r.held);
}

/// Ctrl-C while `--count 100000 --rate 1000` is sending (100 s of it), a background flood
/// of ~5,000 unrelated drops a second meanwhile: out within 2 s with 130; the report covers
/// the frames sent (as many as stderr says), every one a drop, none of the flood's.
#[test]
fn ctrl_c_during_a_long_send_exits_130_with_the_report_of_what_was_sent() {
    if !privileged("ctrl_c_during_a_long_send_exits_130_with_the_report_of_what_was_sent") {
        return;
    }
    let _serial = serial();
    let flood = Flood::v4(105, 25);
    let lab = lab("cxcli", ("10.218.2.1", "10.218.2.2"), None);
    let src = "Ether(dst='02:00:00:00:00:99')/IP(src='10.218.2.1', dst='10.218.2.2', id=0xe002)/UDP(dport=4000)";
    let args = ["send", "--iface", &lab.veth.a, src, "--count", "100000", "--rate", "1000", "--explain", "--format", "json"];
    let started = Instant::now();
    let r = interrupt(&lab.a, &args, |_| {
        // About a second of sending (without a terminal, nothing is printed meanwhile).
        std::thread::sleep(Duration::from_millis(20));
        started.elapsed() > Duration::from_millis(1500)
    });
    assert!(r.held.iter().any(|(_, n)| n == "craft_drops"), "programs held: {:?}", r.held);
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.exit_in < Duration::from_secs(2), "exited {:?} after SIGINT", r.exit_in);
    let sent: usize = r
        .stderr
        .split("sent ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'sent N packets' in {}", r.stderr));
    assert!(sent > 100 && sent < 100_000, "{sent} sent");
    let recs: Vec<serde_json::Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    let summary = recs.last().expect("a summary record");
    assert_eq!(summary["type"], "summary", "{summary}");
    assert_eq!(summary["sent"], sent, "{summary}");
    // Each frame is an OTHERHOST drop; the very last may not have been read when Ctrl-C
    // cut the grace period short.
    let dropped = summary["dropped"].as_u64().unwrap() as usize;
    assert!(dropped + 1 >= sent, "{dropped} of {sent} dropped: {summary}");
    assert_eq!(recs.iter().filter(|j| j["type"] == "packet").count(), sent);
    assert!(!r.stdout.contains(&flood.marker), "a flood drop in the report");
    assert!(summary["unrelated"].as_u64().unwrap() > 1000, "the flood was not dropping: {summary}");
    assert_unloaded(&r.held);
}
