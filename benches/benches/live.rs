//! Live I/O over a veth pair between two network namespaces this bench creates itself
//! (unique names, deleted on drop, panics included; no other interface is touched).
//!
//! - `live/srp1_icmp_echo`: one `srp1` ICMP echo round trip (B's kernel answers). Issue
//!   target: median <= 100 µs (scapy: ~23 ms).
//! - `live/sendp_64`: `sendp` of 64 frames of 60 bytes in one call (sendmmsg); throughput in
//!   frames.
//!
//! Needs root (namespaces, packet sockets); prints why and does nothing otherwise.
//! Run: `cargo bench -p benches --bench live`.

use std::fs::File;
use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use craft::live::{self, SendOpts};
use craft::prelude::*;
use criterion::{Criterion, Throughput};

const MAC_A: &str = "02:00:00:c4:00:01";
const MAC_B: &str = "02:00:00:c4:00:02";
const IP_A: &str = "10.203.0.1";
const IP_B: &str = "10.203.0.2";

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Two namespaces joined by a veth pair; the calling thread enters namespace A while the lab
/// lives and goes back to its own namespace before both are deleted.
struct Lab {
    ns_a: String,
    ns_b: String,
    dev_a: String,
    home: Option<File>,
}

impl Lab {
    fn new() -> Lab {
        let pid = std::process::id();
        let mut lab = Lab {
            ns_a: format!("craft-bench-a-{pid}"),
            ns_b: format!("craft-bench-b-{pid}"),
            dev_a: format!("cvb{pid:x}a"),
            home: None,
        };
        let dev_b = format!("cvb{pid:x}b");
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

fn enter(path: &str) {
    let f = File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // SAFETY: f is an open namespace file; setns only changes this thread's netns.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
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

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("live bench skipped: needs root (network namespaces, packet sockets)");
        return;
    }
    if Command::new("ip").arg("-V").output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("live bench skipped: the ip command is missing");
        return;
    }
    let lab = Lab::new();
    let dev = lab.dev_a.clone();
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("live");

    let ping = Ether::new().dst(MAC_B) / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(0x77, 0);
    live::srp1(&dev, ping.clone(), Duration::from_secs(2)).unwrap().expect("no warm-up reply");
    g.throughput(Throughput::Elements(1));
    let mut seq = 0u16;
    g.bench_function("srp1_icmp_echo", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let mut p = ping.clone();
            if let Some(Layer::Icmp(i)) = p.layers.get_mut(2) {
                i.seq = seq;
            }
            black_box(live::srp1(&dev, p, Duration::from_secs(2)).unwrap().expect("srp1 lost a reply"))
        })
    });

    let blast: Vec<Packet> = (0..64u8).map(|i| Ether::new().dst(MAC_B).r#type(0x88b5) / vec![i; 46]).collect();
    g.throughput(Throughput::Elements(blast.len() as u64));
    g.bench_function("sendp_64", |b| {
        b.iter(|| black_box(live::sendp(&dev, &blast, SendOpts::default()).unwrap()))
    });
    g.finish();
    c.final_summary();
    drop(lab);
}
