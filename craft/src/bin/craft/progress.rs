//! The progress line of long runs (send, sr, sniff -w, dissect / check of a capture): redrawn
//! on stderr every 200 ms while the run lasts, and only when stderr is a terminal; never
//! in pipes, and never over packets printed to the terminal.
//!
//! A [`Progress`] is a guard: dropping it (the run ended, failed, or Ctrl-C stopped it)
//! stops the drawing thread and clears the line, leaving the terminal as it was.

use std::io::{self, IsTerminal, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use craft::live::CancelFlag;

/// How often the line is redrawn (so a run shorter than this shows nothing).
const EVERY: Duration = Duration::from_millis(200);

/// The error a run stopped by Ctrl-C returns (`main` exits 130 on it, quietly).
pub(crate) const INTERRUPTED: &str = "interrupted";

/// Where stdout goes.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Sink {
    Terminal,
    /// A pipe or socket: its reader may be drawing on the terminal too (`| less`).
    Pipe,
    /// A file, or a device that is not a terminal (`> /dev/null`).
    File,
}

impl Sink {
    pub(crate) fn stdout() -> Sink {
        let out = io::stdout();
        if out.is_terminal() {
            return Sink::Terminal;
        }
        // SAFETY: struct stat is plain old data: all zeroes is a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: stdout's descriptor stays open while `out` lives; fstat writes only into
        // `st`, a live and writable stat.
        if unsafe { libc::fstat(out.as_raw_fd(), &mut st) } != 0 {
            return Sink::Pipe;
        }
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK => Sink::File,
            _ => Sink::Pipe,
        }
    }
}

/// Whether the line is drawn: stderr a terminal and, for a command that prints packets on
/// stdout as it goes (`prints`), stdout going to a file: on the terminal the packet lines
/// and the progress line would interleave, and the reader of a pipe may use the terminal.
pub(crate) fn shown(stderr_tty: bool, prints: bool, stdout: Sink) -> bool {
    stderr_tty && (!prints || stdout == Sink::File)
}

/// Per second, for `n` in `secs` seconds.
pub(crate) fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// A progress line on stderr while it lives: `line(count, seconds)` is drawn every 200 ms,
/// `count` being the guard's counter.
pub(crate) struct Progress {
    count: Arc<AtomicUsize>,
    drawer: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    cancel: Option<CancelFlag>,
}

impl Progress {
    /// For a command that prints nothing on stdout as it goes (send): drawn when stderr is
    /// a terminal.
    pub(crate) fn on_tty(line: impl Fn(usize, f64) -> String + Send + 'static) -> Progress {
        Progress::start(shown(io::stderr().is_terminal(), false, Sink::stdout()), line)
    }

    /// For a command that prints packets on stdout (dissect, check, sniff): drawn when
    /// stderr is a terminal and stdout a file.
    pub(crate) fn beside_output(line: impl Fn(usize, f64) -> String + Send + 'static) -> Progress {
        Progress::start(shown(io::stderr().is_terminal(), true, Sink::stdout()), line)
    }

    /// Drawn when `show`; else a counter only.
    pub(crate) fn start(show: bool, line: impl Fn(usize, f64) -> String + Send + 'static) -> Progress {
        Progress::start_on(show, line, io::stderr())
    }

    fn start_on(show: bool, line: impl Fn(usize, f64) -> String + Send + 'static, mut err: impl Write + Send + 'static) -> Progress {
        let count = Arc::new(AtomicUsize::new(0));
        let drawer = show.then(|| {
            let (done, wait) = mpsc::channel::<()>();
            let n = count.clone();
            let t0 = Instant::now();
            let thread = std::thread::spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(EVERY) {
                    let text = line(n.load(Ordering::Relaxed), t0.elapsed().as_secs_f64());
                    let _ = write!(err, "\r\x1b[K{text}");
                    let _ = err.flush();
                }
                let _ = write!(err, "\r\x1b[K");
                let _ = err.flush();
            });
            (done, thread)
        });
        Progress { count, drawer, cancel: None }
    }

    /// While drawn, Ctrl-C sets a flag (see [`Progress::interrupted`]) instead of killing
    /// the process, so the line is cleared; a second Ctrl-C kills as usual.
    pub(crate) fn catch_ctrl_c(mut self) -> Progress {
        if self.is_shown() {
            self.cancel = Some(craft::signal::cancel_on_sigint(true));
        }
        self
    }

    /// Err([`INTERRUPTED`]) once Ctrl-C was pressed (with [`Progress::catch_ctrl_c`]).
    pub(crate) fn interrupted(&self) -> Result<(), String> {
        match &self.cancel {
            Some(c) if c.is_cancelled() => Err(INTERRUPTED.into()),
            _ => Ok(()),
        }
    }

    pub(crate) fn is_shown(&self) -> bool {
        self.drawer.is_some()
    }

    /// The counter, for code that counts elsewhere (a send loop).
    pub(crate) fn counter(&self) -> Arc<AtomicUsize> {
        self.count.clone()
    }

    pub(crate) fn add(&self, n: usize) {
        self.count.fetch_add(n, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some((done, thread)) = self.drawer.take() {
            drop(done);
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_only_on_a_terminal_and_never_over_printed_packets() {
        for stdout in [Sink::Terminal, Sink::Pipe, Sink::File] {
            // stderr redirected: never.
            assert!(!shown(false, false, stdout));
            assert!(!shown(false, true, stdout));
            // send (prints nothing as it goes): whenever stderr is a terminal.
            assert!(shown(true, false, stdout));
        }
        // dissect / check / sniff: only with their output going to a file.
        assert!(shown(true, true, Sink::File));
        assert!(!shown(true, true, Sink::Terminal));
        assert!(!shown(true, true, Sink::Pipe));
    }

    #[test]
    fn counts_when_hidden_and_stops_its_thread_on_drop() {
        let p = Progress::start(false, |n, _| format!("{n}"));
        assert!(!p.is_shown());
        p.add(2);
        p.counter().fetch_add(1, Ordering::Relaxed);
        assert_eq!(p.count.load(Ordering::Relaxed), 3);
        assert_eq!(p.interrupted(), Ok(()));
        let p = Progress::start_on(true, |n, _| format!("{n}"), io::sink());
        assert!(p.is_shown());
        let t = Instant::now();
        drop(p); // joins the thread at once, not after its 200 ms wait
        assert!(t.elapsed() < EVERY);
    }

    #[test]
    fn rate_of_nothing_is_zero() {
        assert_eq!(rate(10, 0.0), 0.0);
        assert_eq!(rate(10, 2.0), 5.0);
    }
}
