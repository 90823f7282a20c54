//! lb-xdp for the live tests: its binary, and an instance in a test's namespace stopped with
//! SIGINT (so it detaches and unpins) when dropped, panics included.
//!
//! Started with `nsenter --net=` rather than `ip netns exec`: the latter gives the command a
//! mount namespace of its own with a fresh /sys, so lb-xdp would pin its maps in a bpffs
//! that this process (and craft::explain::counters) cannot see.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::child::interrupt;
use super::netns::Netns;

/// lb-xdp's binary: $LB_XDP_BIN, else target/{debug,release}/lb-xdp (`cargo test
/// --workspace` builds it; `cargo build -p lb-xdp` otherwise). When missing: panic under
/// CI (env CI set), else print why `test` is skipped and give None.
pub fn bin(test: &str) -> Option<PathBuf> {
    let found = match std::env::var_os("LB_XDP_BIN") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
            ["debug", "release"].iter().map(|p| target.join(p).join("lb-xdp")).find(|p| p.is_file())
        }
    };
    if found.is_none() {
        let why = "lb-xdp is not built (cargo build -p lb-xdp, or set LB_XDP_BIN)";
        if std::env::var_os("CI").is_some() {
            panic!("{test}: {why}");
        }
        eprintln!("skipping {test}: {why}");
    }
    found
}

/// A running `lb-xdp ARGS` in a namespace.
pub struct LbXdp {
    child: Option<Child>,
    /// Its first line ("director on IF: ... Ctrl-C to stop").
    pub banner: String,
}

impl LbXdp {
    /// Start it and wait for its "Ctrl-C to stop" line (attached, maps pinned); panics
    /// with what it printed if it exits instead.
    pub fn start(bin: &std::path::Path, ns: &Netns, args: &[&str]) -> LbXdp {
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", ns.name))
            .arg("--")
            .arg(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lb-xdp (nsenter, util-linux)");
        let mut banner = String::new();
        // lb-xdp prints its line once attached, or exits with an error (end of file).
        let _ = BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut banner);
        if !banner.contains("Ctrl-C to stop") {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            let _ = child.stderr.as_mut().unwrap().read_to_string(&mut err);
            panic!("lb-xdp {} did not start: {banner}{err}", args.join(" "));
        }
        LbXdp { child: Some(child), banner }
    }
}

impl Drop for LbXdp {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            interrupt(c, Duration::from_secs(5));
        }
    }
}

/// A director configuration file (see lb-xdp/src/config.rs), removed on drop.
pub struct ConfigFile(pub PathBuf);

impl ConfigFile {
    pub fn new(tag: &str, text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!("craft-lbxdp-{}-{tag}.ron", std::process::id()));
        std::fs::write(&path, text).unwrap();
        ConfigFile(path)
    }

    pub fn arg(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
