//! The real craft-repl binary in a pseudo-terminal: tab completion, history across runs,
//! Ctrl-C at the prompt and during a running statement, Ctrl-D, errors.
//!
//! Each session has a deadline on every wait and is killed when the test ends, so nothing
//! hangs. Output is matched with rustyline's ANSI escapes stripped.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_craft-repl");
const WAIT: Duration = Duration::from_secs(10);

/// Removes ANSI escape sequences (CSI, OSC, two-byte escapes).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('[') => {
                for c in it.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = it.next() {
                    if c == '\x07' || (c == '\x1b' && it.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A craft-repl in a pseudo-terminal.
struct Repl {
    master: File,
    child: Child,
    /// Everything read, escapes stripped.
    out: String,
    /// How far `expect` has consumed `out`.
    mark: usize,
    raw: Vec<u8>,
}

impl Repl {
    fn spawn(bin: &str, envs: &[(&str, &str)]) -> Repl {
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize { ws_row: 50, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two fds; the name buffer and termios are null (defaults).
        let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: the fds were just opened and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) };
        let mut cmd = Command::new(bin);
        cmd.env("TERM", "xterm").env_remove("NO_COLOR").env_remove("XDG_STATE_HOME");
        cmd.env("CRAFT_HISTORY", std::env::temp_dir().join(format!("craft-pty-unused-{}", std::process::id())));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec: a new session whose
        // controlling terminal is the pty (stdin), so Ctrl-C sends SIGINT to the child.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn craft-repl");
        drop(cmd); // closes the parent's copies of the slave
        Repl { master, child, out: String::new(), mark: 0, raw: Vec::new() }
    }

    fn new(envs: &[(&str, &str)]) -> Repl {
        Repl::spawn(BIN, envs)
    }

    /// Reads what is there within `timeout`; false at end of output.
    fn read_some(&mut self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd { fd: self.master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n <= 0 {
            return true;
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) | Err(_) => false, // EIO: the child closed the terminal
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.out = strip_ansi(&String::from_utf8_lossy(&self.raw));
                true
            }
        }
    }

    /// Waits for `text` in the output after the mark; moves the mark past it and returns
    /// what came before it. Panics with the output at the deadline.
    fn expect_within(&mut self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.out[self.mark..].find(text) {
                let before = self.out[self.mark..self.mark + i].to_string();
                self.mark += i + text.len();
                return before;
            }
            let now = Instant::now();
            if now >= deadline {
                panic!("timed out waiting for {text:?}; output after the mark:\n{:?}", &self.out[self.mark..]);
            }
            if !self.read_some(deadline - now) && !self.out[self.mark..].contains(text) {
                panic!("craft-repl ended before {text:?}; output after the mark:\n{:?}", &self.out[self.mark..]);
            }
        }
    }

    fn expect(&mut self, text: &str) -> String {
        self.expect_within(text, WAIT)
    }

    /// Where a new `>>> ` prompt starts after the mark: at the start of a line (a line being
    /// redrawn starts with `\r` only; the Ctrl-C that stopped a statement echoes as an
    /// invisible `\x03`).
    fn find_prompt(&self) -> Option<usize> {
        let rest = &self.out[self.mark..];
        rest.match_indices(">>> ").map(|(i, _)| i).find(|&i| {
            let head = self.out[..self.mark + i].trim_end_matches(['\r', '\x03']);
            head.is_empty() || head.ends_with('\n')
        })
    }

    /// Waits for the next prompt; returns what was printed before it.
    fn prompt_within(&mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.find_prompt() {
                let before = self.out[self.mark..self.mark + i].to_string();
                self.mark += i + 4;
                return before;
            }
            let now = Instant::now();
            if now >= deadline {
                panic!("timed out waiting for a prompt; output after the mark:\n{:?}", &self.out[self.mark..]);
            }
            if !self.read_some(deadline - now) && self.find_prompt().is_none() {
                panic!("craft-repl ended before a prompt; output after the mark:\n{:?}", &self.out[self.mark..]);
            }
        }
    }

    fn prompt(&mut self) -> String {
        self.prompt_within(WAIT)
    }

    fn send(&mut self, s: &str) {
        self.master.write_all(s.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Types a line, waits for the next prompt, returns what was printed in between.
    fn line(&mut self, s: &str) -> String {
        self.send(&format!("{s}\r"));
        self.prompt()
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "craft-repl did not exit; output:\n{:?}", self.out);
            self.read_some(Duration::from_millis(20));
        }
    }
}

impl Drop for Repl {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("craft-pty-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn tab_completion() {
    let mut r = Repl::new(&[]);
    r.prompt();
    // A layer's field names inside its call.
    r.send("IP(ds\t");
    r.expect("IP(dst=");
    r.send("'10.0.0.1').dst\r");
    assert!(r.prompt().contains("'10.0.0.1'"));
    // Field names of a layer of a variable.
    r.line("p = IP()/TCP()");
    r.send("p[TCP].dp\t");
    r.expect("p[TCP].dport");
    assert!(r.line("").contains("80"));
    // Names.
    r.send("con\t");
    r.expect("conf");
    r.send(".ve\t");
    r.expect("conf.verb");
    assert!(r.line("").contains('2'));
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
}

#[test]
fn history_across_runs() {
    let hist = temp_path("history");
    let h = hist.to_str().unwrap();
    let mut r = Repl::new(&[("CRAFT_HISTORY", h)]);
    r.prompt();
    r.line("x = 4242");
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
    let saved = std::fs::read_to_string(&hist).unwrap();
    assert!(saved.contains("x = 4242"), "{saved:?}");

    let mut r = Repl::new(&[("CRAFT_HISTORY", h)]);
    r.prompt();
    r.send("\x1b[A");
    r.expect("x = 4242");
    r.line("");
    assert!(r.line("x + 1").contains("4243"));
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
    let _ = std::fs::remove_file(&hist);
}

#[test]
fn ctrl_c_clears_the_line() {
    let mut r = Repl::new(&[]);
    r.prompt();
    r.send("1+");
    r.expect("1+");
    r.send("\x03");
    r.prompt();
    let out = r.line("1+1");
    assert!(out.contains("\n2\r\n"), "{out:?}");
    assert!(!r.out.contains("<stdin>"), "the cleared line ran: {:?}", r.out);
    // In a multi-line input too.
    r.send("x = (1,\r");
    r.expect("... ");
    r.send("\x03");
    r.prompt();
    let out = r.line("3*3");
    assert!(out.contains("\n9\r\n"), "{out:?}");
}

#[test]
fn ctrl_d_exits_zero() {
    let mut r = Repl::new(&[]);
    r.expect("craft-repl");
    r.prompt();
    r.send("\x04");
    assert_eq!(r.wait_exit(WAIT).code(), Some(0));
}

#[test]
fn exit_function_exits() {
    let mut r = Repl::new(&[]);
    r.prompt();
    r.send("exit()\r");
    assert_eq!(r.wait_exit(WAIT).code(), Some(0));
}

#[test]
fn errors_keep_the_session() {
    let mut r = Repl::new(&[]);
    r.prompt();
    let out = r.line("1 + undefined_xyz");
    assert!(out.contains("<stdin>:1:5: name 'undefined_xyz' is not defined"), "{out:?}");
    assert!(out.contains("    1 + undefined_xyz\r\n        ^"), "{out:?}");
    // An open bracket waits for more; the error is in the second line.
    r.send("IP(ttl=\r");
    r.expect("... ");
    r.send("nothing_here)\r");
    let out = r.prompt();
    assert!(out.contains("<stdin>:3:1: name 'nothing_here' is not defined"), "{out:?}");
    let out = r.line("2+2");
    assert!(out.contains("\n4\r\n"), "{out:?}");
}

#[test]
fn blocks_over_several_lines() {
    let mut r = Repl::new(&[]);
    r.prompt();
    r.send("for i in range(3):\r");
    r.expect("... ");
    // The body line is indented for us.
    r.send("print(i * 10)\r");
    r.expect("... ");
    let out = r.line("");
    assert!(out.contains("0\r\n10\r\n20\r\n"), "{out:?}");
}

#[test]
fn ctrl_c_stops_a_running_loop() {
    let mut r = Repl::new(&[]);
    r.prompt();
    r.send("while True: pass\r");
    r.expect("... ");
    r.send("\r");
    r.expect("\n"); // the statement runs
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    r.send("\x03");
    let out = r.prompt_within(Duration::from_secs(1));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(out.contains("KeyboardInterrupt"), "{out:?}");
    let out = r.line("1+1");
    assert!(out.contains("\n2\r\n"), "{out:?}");
}

#[test]
fn ctrl_c_stops_a_sniff() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "ctrl_c_stops_a_sniff needs root (a packet socket) and CI runs as root");
        eprintln!("skipped ctrl_c_stops_a_sniff: sniff() needs root (a packet socket on lo)");
        return;
    }
    let mut r = Repl::new(&[]);
    r.prompt();
    r.send("s = sniff(iface='lo', timeout=30)\r");
    r.expect("\n"); // the statement runs
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    r.send("\x03");
    let out = r.prompt_within(Duration::from_secs(1));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(!out.contains("<stdin>"), "sniff failed: {out:?}");
    // The partial result was kept.
    let out = r.line("s");
    assert!(out.contains("<Sniffed"), "{out:?}");
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
}

/// Start-up time of the binary in $CRAFT_REPL_BIN (else the debug one): spawn to the first
/// prompt, median of 20 runs. `cargo build --release -p craft-repl && CRAFT_REPL_BIN=target/release/craft-repl
/// cargo test -p craft-repl --test pty startup -- --ignored --nocapture`
#[test]
#[ignore]
fn startup_time() {
    let bin = std::env::var("CRAFT_REPL_BIN").unwrap_or_else(|_| BIN.to_string());
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let mut r = Repl::spawn(&bin, &[]);
            r.prompt();
            let d = t.elapsed();
            r.send("\x04");
            r.wait_exit(WAIT);
            d
        })
        .collect();
    times.sort();
    println!("{bin}: start-up to the first prompt, median of 20: {:?} (min {:?}, max {:?})", times[10], times[0], times[19]);
}
