//! The real tools the capture tests compare with (tcpdump, tshark, text2pcap, gzip):
//! whether one is installed, running one, a scratch directory.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Whether `tool` is installed; without it the test is skipped, unless CI is set.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "{tool} is missing and CI is set: run scripts/setup.sh");
        eprintln!("skipping: {tool} is not installed (scripts/setup.sh installs it)");
    }
    found
}

/// `cmd args`'s stdout; it must succeed.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A scratch directory of this test process: `craft-<what>-<pid>-<name>` under the temp dir.
pub fn tmpdir(what: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("craft-{what}-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
