//! What `--explain` costs: sendp's rate with and without an `Explainer` recording every
//! frame and watching the kernel's drops (issue 9: at most 10 % slower), and the time from
//! the last drop to the report.
//!
//! - `explain/sendp_1000_delivered`, `explain/sendp_1000_delivered_explained`: 1000 UDP
//!   frames to a port B listens on (no drops), plain and explained.
//! - `explain/sendp_1000_dropped`, `..._explained`: 1000 UDP frames to a closed port of B
//!   (each one a NO_SOCKET drop through the BPF ring buffer).
//! - `..._traced`: the same with `--trace` (each frame's tx and rx hops through the path
//!   watcher's ring too).
//! - after criterion: `finish()` of an explained send of 10,000 dropped frames, less the
//!   grace period: matching and formatting, i.e. the time from the last drop to the report.
//!
//! Needs root (namespaces, packet sockets, BPF); prints why and does nothing otherwise.
//! Run: `cargo bench -p benches --bench explain`.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::lab::{Lab, IP_A, IP_B, MAC_B};
use craft::explain::{ExplainOpts, Explainer};
use craft::live::{self, SendOpts};
use craft::prelude::*;
use criterion::{Criterion, Throughput};

const OPEN_PORT: u16 = 7777;
const CLOSED_PORT: u16 = 9;

fn frames(dport: u16, n: usize) -> Vec<Packet> {
    (0..n)
        .map(|i| Ether::new().dst(MAC_B) / Ip::new().src(IP_A).dst(IP_B).id(i as u16) / Udp::new().sport(40000).dport(dport) / b"explain".to_vec())
        .collect()
}

/// A UDP socket in B on the open port, so delivered frames are not dropped.
fn listener(lab: &Lab) -> Child {
    Command::new("ip")
        .args(["netns", "exec", &lab.ns_b, "python3", "-c"])
        .arg(format!("import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,1<<24)\ns.bind(('{IP_B}',{OPEN_PORT}))\nwhile True:\n s.recv(2048)"))
        .spawn()
        .expect("python3 listener")
}

fn opts() -> ExplainOpts {
    ExplainOpts { wait: Duration::from_millis(50), ..ExplainOpts::default() }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("explain bench skipped: needs root (network namespaces, packet sockets, BPF)");
        return;
    }
    let lab = Lab::new();
    let mut rx = listener(&lab);
    std::thread::sleep(Duration::from_millis(300));
    let dev = lab.dev_a.clone();
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("explain");
    g.throughput(Throughput::Elements(1000));
    for (name, dport) in [("delivered", OPEN_PORT), ("dropped", CLOSED_PORT)] {
        let pkts = frames(dport, 1000);
        g.bench_function(format!("sendp_1000_{name}"), |b| b.iter(|| live::sendp(&dev, &pkts, SendOpts::default()).expect("sendp")));
        // One watcher for the whole run, as one `--explain` call over many packets: the
        // per-packet cost is the recording and the drops through the ring (and with
        // --trace, every hop through the path watcher's ring).
        for (suffix, trace) in [("explained", false), ("traced", true)] {
            let mut ex = Explainer::start(ExplainOpts { trace, ..opts() }).expect("explainer");
            g.bench_function(format!("sendp_1000_{name}_{suffix}"), |b| {
                b.iter(|| craft::explain::send::sendp(&mut ex, &dev, &pkts, SendOpts::default()).expect("sendp"))
            });
        }
    }
    g.finish();
    c.final_summary();

    let pkts = frames(CLOSED_PORT, 10_000);
    let mut ex = Explainer::start(opts()).expect("explainer");
    craft::explain::send::sendp(&mut ex, &dev, &pkts, SendOpts::default()).expect("sendp");
    let t = Instant::now();
    let report = ex.finish(None).expect("report");
    let took = t.elapsed();
    let dropped = report.dropped().count();
    println!(
        "10000 frames to a closed port: {dropped} reported dropped; finish() {:.0} ms, {:.0} ms past the {} ms grace period",
        took.as_secs_f64() * 1e3,
        (took.saturating_sub(opts().wait)).as_secs_f64() * 1e3,
        opts().wait.as_millis()
    );
    let _ = rx.kill();
    let _ = rx.wait();
}
