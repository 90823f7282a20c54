//! Ctrl-C while a statement runs: live calls stop and return what they have, loops stop
//! with "KeyboardInterrupt"; the session goes on.

use std::sync::OnceLock;

use craft::live::CancelFlag;
use craft::text::Pos;

use crate::interp::{err, R};

static FLAG: OnceLock<CancelFlag> = OnceLock::new();

/// Installs the handler (once) and clears the flag: called before each statement.
pub fn arm() -> CancelFlag {
    let flag = FLAG.get_or_init(|| craft::signal::cancel_on_sigint(false));
    flag.reset();
    flag.clone()
}

/// The flag live calls are given, if the handler is installed.
pub fn flag() -> Option<CancelFlag> {
    FLAG.get().cloned()
}

/// "KeyboardInterrupt" at `pos` if Ctrl-C was pressed.
pub fn check(pos: Pos) -> R<()> {
    match FLAG.get() {
        Some(f) if f.is_cancelled() => {
            f.reset();
            err(pos, "KeyboardInterrupt")
        }
        _ => Ok(()),
    }
}

/// Forgets a Ctrl-C pressed since the last statement (before running user functions
/// between statements: prn= of a background capture).
pub fn clear() {
    if let Some(f) = FLAG.get() {
        f.reset();
    }
}
