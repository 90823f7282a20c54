//! The `craft` binary run inside a test's network namespace (`ip netns exec`), killed if it
//! runs over its limit (see child.rs). Not in `common/mod.rs`, which other crates' tests
//! include too (they have no craft binary): a test of this crate takes it with
//! `#[path = "common/craft_cli.rs"] mod craft_cli;` beside `mod common;`.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::child::Guard;
use crate::common::netns::Netns;

pub const CRAFT: &str = env!("CARGO_BIN_EXE_craft");

/// `craft args...` in `ns`, stdout and stderr piped, no stdin.
pub fn spawn_in(ns: &Netns, args: &[&str]) -> Guard {
    spawn_with(ns, args, Stdio::null())
}

fn spawn_with(ns: &Netns, args: &[&str], stdin: Stdio) -> Guard {
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, CRAFT])
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip netns exec craft");
    Guard(Some(child))
}

/// Run craft in `ns`, give up (kill it, fail) after `limit`.
pub fn craft_in(ns: &Netns, args: &[&str], limit: Duration) -> Output {
    spawn_in(ns, args).wait(limit)
}

/// [`craft_in`] with `input` on its stdin.
pub fn craft_in_with(ns: &Netns, args: &[&str], input: &[u8], limit: Duration) -> Output {
    let mut g = spawn_with(ns, args, Stdio::piped());
    g.child().stdin.take().expect("stdin").write_all(input).expect("writing stdin");
    g.wait(limit)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
