//! How the workspace's programs (craft, craft-repl, lb-xdp, lb-xdp-faults, fixtures) report
//! a fatal error and which status they exit with, so that scripts read all of them alike:
//!
//! * one line `PROG: error: WHAT` on stderr ([`error`]; warnings are `PROG: warning: WHAT`,
//!   [`warning`]);
//! * exit 0: done; [`NEGATIVE`] (1): done, and the answer is "no" (`craft check` found
//!   problems, `craft sr` left requests unanswered, a craft-repl statement failed, a fixture
//!   did not reproduce); [`ERROR`] (2): the program could not do what it was asked, whether
//!   the usage, the input or the system refused it (as clap exits on a usage error);
//!   [`INTERRUPTED`] (130): stopped by Ctrl-C.
//!
//! Usage and runtime errors share 2 because 1 already means "no" for craft's commands, as
//! for grep and diff.

use std::fmt::Display;
use std::process::ExitCode;

/// The exit status of a program that did its job and whose answer is "no".
pub const NEGATIVE: u8 = 1;

/// The exit status of a program that could not do what it was asked: bad usage or input, or
/// a failure while running (no such interface, no permission, a program the kernel refused).
pub const ERROR: u8 = 2;

/// The exit status of a program stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// Prints `PROG: error: WHAT` on stderr and returns the status to exit with, [`ERROR`].
pub fn error(prog: &str, what: impl Display) -> ExitCode {
    eprintln!("{prog}: error: {what}");
    ExitCode::from(ERROR)
}

/// Prints `PROG: warning: WHAT` on stderr: something went wrong, and the program goes on.
pub fn warning(prog: &str, what: impl Display) {
    eprintln!("{prog}: warning: {what}");
}
