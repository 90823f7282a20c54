//! lb-xdp for the live tests: its binary, and an instance in a test's namespace stopped with
//! SIGINT (so it detaches and unpins) when dropped, panics included.
//!
//! Started by lb-xdp's own runner (lb-xdp/src/runner.rs, included as a file as fixtures
//! does: depending on the lb-xdp crate would need the eBPF toolchain): `nsenter --net=`
//! rather than `ip netns exec`, whose fresh /sys would hide lb-xdp's pins from this process
//! (and craft::explain::counters).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use super::child::interrupt;
use super::netns::Netns;

#[path = "../../../lb-xdp/src/runner.rs"]
mod runner;

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
        let started = runner::start_in_netns(&ns.name, bin, args)
            .unwrap_or_else(|e| panic!("lb-xdp {} {e}", args.join(" ")));
        LbXdp { child: Some(started.child), banner: started.line }
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
