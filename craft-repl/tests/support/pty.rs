//! A craft-repl in a pseudo-terminal, for tests (tests/pty.rs, tests/live.rs): every wait
//! has a deadline, and the child is killed (and reaped) on drop, so nothing hangs. Output
//! is matched with rustyline's ANSI escapes stripped.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a wait lasts unless told.
pub const WAIT: Duration = Duration::from_secs(10);

/// Removes ANSI escape sequences (CSI, OSC, two-byte escapes).
pub fn strip_ansi(s: &str) -> String {
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
pub struct Repl {
    pub master: File,
    pub child: Child,
    /// Everything read, escapes stripped.
    pub out: String,
    /// How far `expect` has consumed `out`.
    pub mark: usize,
    pub raw: Vec<u8>,
}

impl Repl {
    pub fn spawn(bin: &str, envs: &[(&str, &str)]) -> Repl {
        Repl::spawn_cmd(Command::new(bin), envs)
    }

    /// `cmd` (craft-repl, or a command that execs it: `ip netns exec NS craft-repl`) in a
    /// new pseudo-terminal.
    pub fn spawn_cmd(mut cmd: Command, envs: &[(&str, &str)]) -> Repl {
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize { ws_row: 50, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two fds; the name buffer and termios are null (defaults).
        let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: the fds were just opened and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) };
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

    /// Reads what is there within `timeout`; false at end of output.
    pub fn read_some(&mut self, timeout: Duration) -> bool {
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
    pub fn expect_within(&mut self, text: &str, timeout: Duration) -> String {
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

    pub fn expect(&mut self, text: &str) -> String {
        self.expect_within(text, WAIT)
    }

    /// Where a new `>>> ` prompt starts after the mark: at the start of a line (a line being
    /// redrawn starts with `\r` only; the Ctrl-C that stopped a statement echoes as an
    /// invisible `\x03`).
    pub fn find_prompt(&self) -> Option<usize> {
        let rest = &self.out[self.mark..];
        rest.match_indices(">>> ").map(|(i, _)| i).find(|&i| {
            let head = self.out[..self.mark + i].trim_end_matches(['\r', '\x03']);
            head.is_empty() || head.ends_with('\n')
        })
    }

    /// Waits for the next prompt; returns what was printed before it.
    pub fn prompt_within(&mut self, timeout: Duration) -> String {
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

    pub fn prompt(&mut self) -> String {
        self.prompt_within(WAIT)
    }

    pub fn send(&mut self, s: &str) {
        self.master.write_all(s.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Types a line, waits for the next prompt, returns what was printed in between.
    pub fn line(&mut self, s: &str) -> String {
        self.send(&format!("{s}\r"));
        self.prompt()
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
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

