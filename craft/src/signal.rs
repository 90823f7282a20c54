//! Signals for the workspace's programs (craft, craft-repl, lb-xdp, fixtures), in one place
//! and on `signal-hook`, so that none of them writes a handler of its own:
//!
//! * [`cancel_on_sigint`]: Ctrl-C sets a [`CancelFlag`] instead of killing the process (a
//!   live call given the flag stops and returns what it has); the CLI lets a second Ctrl-C
//!   kill as usual, the REPL takes every one.
//! * [`Termination`]: a daemon (lb-xdp) blocks until SIGINT or SIGTERM, then returns so
//!   that its destructors detach and unpin.
//! * [`interrupt`] and [`kill`]: stop another process (fixtures stopping the lb-xdp it
//!   started), as a user's Ctrl-C would, or for good.

use std::io;
use std::sync::OnceLock;

use signal_hook::consts::{SIGINT, SIGKILL, SIGTERM};
use signal_hook::iterator::Signals;

use crate::live::CancelFlag;

/// The flag Ctrl-C sets, once [`cancel_on_sigint`] installed the handler.
static SIGINT_FLAG: OnceLock<CancelFlag> = OnceLock::new();

/// From now on Ctrl-C sets the flag returned (a live call given it stops and returns what it
/// has) instead of killing the process. With `once`, a second Ctrl-C (the flag still set)
/// kills the process as the default action does (the CLI); without, every Ctrl-C sets the
/// flag (a REPL, which resets it before each statement).
///
/// The handler is installed once per process: later calls return the same flag, in the
/// first call's mode. If installing fails (it does not on Linux), Ctrl-C keeps killing the
/// process and the flag is never set.
pub fn cancel_on_sigint(once: bool) -> CancelFlag {
    SIGINT_FLAG
        .get_or_init(|| {
            let flag = CancelFlag::new();
            // Registered first, so it sees the flag as the previous Ctrl-C left it: a second
            // one runs the default action (killed by SIGINT, as without a handler).
            if once {
                let _ = signal_hook::flag::register_conditional_default(SIGINT, flag.shared());
            }
            let _ = signal_hook::flag::register(SIGINT, flag.shared());
            flag
        })
        .clone()
}

/// SIGINT and SIGTERM caught from [`Termination::install`] on, for a daemon that must clean
/// up (detach, unpin) before it exits: they no longer kill the process, [`Termination::wait`]
/// returns instead.
pub struct Termination(Signals);

impl Termination {
    /// Catches SIGINT and SIGTERM from now on: install before announcing that the daemon
    /// runs, so that a signal sent right after the announcement is not lost.
    pub fn install() -> io::Result<Termination> {
        Signals::new([SIGINT, SIGTERM]).map(Termination)
    }

    /// Blocks until SIGINT or SIGTERM (or returns at once for one that came since
    /// [`Termination::install`]), and says which.
    pub fn wait(mut self) -> i32 {
        // `forever` ends only when the handle is closed, which nothing here does.
        self.0.forever().next().unwrap_or(SIGTERM)
    }
}

/// Sends SIGINT to process `pid`, as a user's Ctrl-C: a daemon stops and cleans up.
pub fn interrupt(pid: u32) -> io::Result<()> {
    send(pid, SIGINT)
}

/// Sends SIGKILL to process `pid`: it stops at once, without cleaning up.
pub fn kill(pid: u32) -> io::Result<()> {
    send(pid, SIGKILL)
}

fn send(pid: u32, signal: i32) -> io::Result<()> {
    // 0 and negative pids name process groups or every process: never meant here.
    let pid = libc::pid_t::try_from(pid).ok().filter(|&p| p > 0).ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: kill(2) takes no pointers and touches no memory of ours; `pid` names one process.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
