//! lb-xdp's director run as users run it (`lb-xdp director --iface IF --mode native
//! --config FILE`) inside a namespace a test created, started by `lb_xdp::runner`; stopped
//! with SIGINT on drop (so it detaches and unpins), killed if it lingers, its config file
//! removed.
#![allow(dead_code)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::child::interrupt;
use super::netns::Netns;

pub struct Director {
    child: Option<Child>,
    config: std::path::PathBuf,
    /// The XDP program's id, as `ip link` shows it on the interface.
    pub prog_id: u32,
}

impl Director {
    /// Start the director on `iface` of `ns` with this config (RON) and wait until its
    /// program is attached.
    pub fn start(ns: &Netns, iface: &str, config: &str) -> Director {
        let path = std::env::temp_dir().join(format!("lb-xdp-explain-{}-{iface}.ron", std::process::id()));
        std::fs::write(&path, config).unwrap();
        let args = ["director", "--iface", iface, "--mode", "native", "--config", path.to_str().unwrap()];
        let started = lb_xdp::runner::start_in_netns(&ns.name, std::path::Path::new(env!("CARGO_BIN_EXE_lb-xdp")), &args);
        let mut d = Director { child: None, config: path, prog_id: 0 };
        d.child = Some(started.unwrap_or_else(|e| panic!("lb-xdp director on {iface} {e}")).child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("ip").args(["-n", &ns.name, "-d", "link", "show", "dev", iface]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(id) = text.split("prog/xdp id ").nth(1).and_then(|s| s.split_whitespace().next()).and_then(|s| s.parse().ok()) {
                d.prog_id = id;
                return d;
            }
            assert!(Instant::now() < deadline, "no XDP program on {iface} within 10 s: {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
        if let Some(c) = self.child.take() {
            interrupt(c, Duration::from_secs(5));
        }
    }
}
