//! Two namespaces joined by a veth pair, for the benches that send (live, explain).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

use craft::live;

use super::{enter, ip};

pub const MAC_A: &str = "02:00:00:c4:00:01";
pub const MAC_B: &str = "02:00:00:c4:00:02";
pub const IP_A: &str = "10.203.0.1";
pub const IP_B: &str = "10.203.0.2";

/// Two namespaces joined by a veth pair; the calling thread enters namespace A while the lab
/// lives and goes back to its own namespace before both are deleted.
pub struct Lab {
    pub ns_a: String,
    pub ns_b: String,
    pub dev_a: String,
    pub dev_b: String,
    home: Option<File>,
}

impl Lab {
    pub fn new() -> Lab {
        let pid = std::process::id();
        let mut lab = Lab {
            ns_a: format!("craft-bench-a-{pid}"),
            ns_b: format!("craft-bench-b-{pid}"),
            dev_a: format!("cvb{pid:x}a"),
            dev_b: format!("cvb{pid:x}b"),
            home: None,
        };
        let dev_b = lab.dev_b.clone();
        // The guard exists before anything is created: a failing step still cleans up.
        ip(&["netns", "add", &lab.ns_a]);
        ip(&["netns", "add", &lab.ns_b]);
        ip(&["-n", &lab.ns_a, "link", "add", &lab.dev_a, "address", MAC_A, "type", "veth", "peer", "name", &dev_b, "address", MAC_B, "netns", &lab.ns_b]);
        ip(&["-n", &lab.ns_a, "addr", "add", &format!("{IP_A}/24"), "dev", &lab.dev_a]);
        ip(&["-n", &lab.ns_b, "addr", "add", &format!("{IP_B}/24"), "dev", &dev_b]);
        ip(&["-n", &lab.ns_a, "link", "set", &lab.dev_a, "up"]);
        ip(&["-n", &lab.ns_b, "link", "set", &dev_b, "up"]);
        // B answers A's echo requests: tell B A's MAC so no ARP round happens in the loop.
        ip(&["-n", &lab.ns_b, "neigh", "replace", IP_A, "lladdr", MAC_A, "dev", &dev_b]);
        lab.home = Some(File::open("/proc/thread-self/ns/net").expect("own netns"));
        enter(&format!("/var/run/netns/{}", lab.ns_a));
        lab
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        live::SocketCache::global().clear();
        if let Some(home) = self.home.take() {
            // SAFETY: home is the namespace file this thread started in.
            unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) };
        }
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

