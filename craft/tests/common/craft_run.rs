//! The `craft` binary run here (no namespace), with `stdin` on its standard input. Not in
//! `common/mod.rs`, which craft-repl's tests include too (they have no craft binary): a
//! test takes it with `#[path = "common/craft_run.rs"] mod craft_run;`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// `craft args...`, `stdin` written to it, its output collected.
pub fn craft_with(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_craft"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("craft runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}
