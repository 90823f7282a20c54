//! lb-xdp's programs, timed two ways (needs root):
//!
//! 1. BPF_PROG_TEST_RUN, one call per packet (repeat = 1, so every run sees a fresh copy:
//!    with repeat > 1 the kernel would re-run on the buffer the last run modified). Criterion
//!    times the kernel's own duration per call (`iter_custom`), so syscall and copy costs
//!    are left out; `xdp_pass` (a program that only returns XDP_PASS) is test_run's floor,
//!    to subtract. The `wall/` group times whole syscalls.
//! 2. Packets per second through a veth: craft sends at its top rate from namespace A to
//!    the director in namespace B (native XDP, XDP_TX back), whose frames the decap program
//!    on A's end strips; the director's and decap's counters give the rates.
mod common;

use common::{enter, ip};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use aya::programs::{TestRun, TestRunOptions, Xdp, XdpMode};
use craft::live::{self, SendOpts};
use criterion::Criterion;
use lb_xdp::config::Config;
use lb_xdp::decap::Decap;
use lb_xdp::director::Director;

const OWN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xd1];

fn config(variant: u8) -> Config {
    Config::parse(&format!(
        r#"(next_hop_mac: "02:00:00:00:00:fe", src_v4: "10.0.0.2", src_v6: "fd00::2", gue_variant: {variant},
            vips: [(addr: "10.100.0.1", port: 80, proto: tcp, backends: [(addr: "10.0.1.1"), (addr: "10.0.1.2"), (addr: "10.0.1.3")]),
                   (addr: "fd00:100::1", port: 80, proto: tcp, backends: [(addr: "fd00:1::1"), (addr: "fd00:1::2")])])"#
    ))
    .expect("bench config")
}

fn frame(expr: &str) -> Vec<u8> {
    craft::text::parse_expr(expr).expect("bench packet").remove(0).build()
}

/// Kernel-measured time of one run, and its verdict.
fn run_once(program: &Xdp, input: &[u8], out: &mut [u8]) -> (Duration, u32) {
    let r = program
        .test_run(TestRunOptions { data_in: Some(input), data_out: Some(out), ..Default::default() })
        .expect("BPF_PROG_TEST_RUN");
    (r.duration, r.return_value)
}

/// Times `iters` calls by the kernel's clock; `next` may change the input between calls.
fn kernel_time(program: &Xdp, input: &mut [u8], iters: u64, want: u32, mut next: impl FnMut(&mut [u8], u64)) -> Duration {
    let mut out = vec![0u8; input.len() + 256];
    let mut total = Duration::ZERO;
    for i in 0..iters {
        next(input, i);
        let (took, verdict) = run_once(program, input, &mut out);
        assert_eq!(verdict, want);
        total += took;
    }
    total
}

/// A new flow for every call: the client's source port and the low 3 bytes of its address
/// change (`sport` and `src_low` are their offsets in the frame).
fn new_flow(frame: &mut [u8], i: u64, sport: usize, src_low: usize) {
    let n = i + 1;
    frame[sport..sport + 2].copy_from_slice(&((n & 0xffff) as u16).to_be_bytes());
    frame[src_low..src_low + 3].copy_from_slice(&((n >> 16) as u32).to_be_bytes()[1..]);
}

/// Offsets for `new_flow` in an Ether/IPv4/TCP frame (no options): TCP source port, last 3
/// bytes of the IPv4 source.
const V4_SPORT_AT: usize = 34;
const V4_SRC_LOW_AT: usize = 27;
/// The same in an Ether/IPv6/TCP frame.
const V6_SPORT_AT: usize = 54;
const V6_SRC_LOW_AT: usize = 35;

fn test_run_benches(c: &mut Criterion) {
    let mut director = Director::load().expect("load the director");
    director.maps.apply(&config(0), OWN_MAC, None).expect("configure");
    let mut director_v1 = Director::load().expect("load the director");
    director_v1.maps.apply(&config(1), OWN_MAC, None).expect("configure");
    let mut decap = Decap::load().expect("load decap");
    decap.maps.configure(6080, None).expect("configure decap");

    // Program sizes as the kernel holds them (deterministic for a build and kernel).
    for (name, program) in [("director", director.program()), ("decap", decap.program())] {
        let info = program.info().expect("program info");
        println!(
            "lb-xdp/{name}: {} xlated BPF instructions, {} bytes jited, {} instructions processed by the verifier",
            info.size_translated().unwrap_or(0) / 8,
            info.size_jitted(),
            info.verified_instruction_count().unwrap_or(0)
        );
    }

    let syn4 = frame("Ether(dst='02:00:00:00:00:d1')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(sport=40000, dport=80, flags='S')");
    let syn6 = frame("Ether(dst='02:00:00:00:00:d1')/IPv6(src='2001:db8::7', dst='fd00:100::1')/TCP(sport=40000, dport=80, flags='S')");
    let other = frame("Ether(dst='02:00:00:00:00:d1')/IP(src='198.51.100.7', dst='10.100.0.77')/TCP(sport=40000, dport=80, flags='S')");
    let mut out = vec![0u8; 512];
    let gue_v0 = {
        let r = director.program().test_run(TestRunOptions { data_in: Some(&syn4), data_out: Some(&mut out), ..Default::default() }).unwrap();
        out[..r.data_size_out as usize].to_vec()
    };
    let gue_v1 = {
        let r = director_v1.program().test_run(TestRunOptions { data_in: Some(&syn4), data_out: Some(&mut out), ..Default::default() }).unwrap();
        out[..r.data_size_out as usize].to_vec()
    };

    let mut g = c.benchmark_group("lb-xdp/test_run kernel ns per call");
    let cases: Vec<(&str, &Xdp, &Vec<u8>, u32)> = vec![
        ("xdp_pass (floor)", decap.pass_program(), &syn4, 2),
        ("director/ipv4 lru hit", director.program(), &syn4, 3),
        ("director/ipv6 lru hit", director.program(), &syn6, 3),
        ("director/not a vip", director.program(), &other, 2),
        ("decap/gue v0 ipv4", decap.program(), &gue_v0, 2),
        ("decap/gue v1 ipv4", decap.program(), &gue_v1, 2),
    ];
    for (name, program, input, want) in &cases {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| kernel_time(program, &mut (*input).clone(), iters, *want, |_, _| {}))
        });
    }
    for (name, syn, sport, src_low) in
        [("director/ipv4 lru miss", &syn4, V4_SPORT_AT, V4_SRC_LOW_AT), ("director/ipv6 lru miss", &syn6, V6_SPORT_AT, V6_SRC_LOW_AT)]
    {
        g.bench_function(name, |b| {
            let mut input = syn.clone();
            let mut flow = 0u64;
            b.iter_custom(|iters| {
                let t = kernel_time(director.program(), &mut input, iters, 3, |f, i| new_flow(f, flow + i, sport, src_low));
                flow += iters;
                t
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("lb-xdp/test_run wall per call");
    for (name, program, input, _) in &cases[..2] {
        g.bench_function(*name, |b| {
            let mut out = vec![0u8; input.len() + 256];
            b.iter(|| run_once(program, input, &mut out))
        });
    }
    g.finish();
}

struct Lab {
    ns_a: String,
    ns_b: String,
    dev_a: String,
    dev_b: String,
    home: File,
}

impl Lab {
    fn new() -> Lab {
        let pid = std::process::id();
        let lab = Lab {
            ns_a: format!("lbx-bench-a-{pid}"),
            ns_b: format!("lbx-bench-b-{pid}"),
            dev_a: format!("lbx{pid:x}a"),
            dev_b: format!("lbx{pid:x}b"),
            home: File::open("/proc/thread-self/ns/net").expect("own netns"),
        };
        ip(&["netns", "add", &lab.ns_a]);
        ip(&["netns", "add", &lab.ns_b]);
        ip(&["-n", &lab.ns_a, "link", "add", &lab.dev_a, "type", "veth", "peer", "name", &lab.dev_b, "netns", &lab.ns_b]);
        ip(&["-n", &lab.ns_a, "link", "set", &lab.dev_a, "up"]);
        ip(&["-n", &lab.ns_b, "link", "set", &lab.dev_b, "up"]);
        lab
    }

    fn go_home(&self) {
        // SAFETY: home is the namespace file this thread started in.
        unsafe { libc::setns(self.home.as_raw_fd(), libc::CLONE_NEWNET) };
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        live::SocketCache::global().clear();
        self.go_home();
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn counter(counters: &[(&str, u64)], name: &str) -> u64 {
    counters.iter().find(|c| c.0 == name).map_or(0, |c| c.1)
}

/// The veth path: craft → director (XDP_TX) → decap, rates from the programs' counters.
fn veth_rate() {
    let lab = Lab::new();
    enter(&format!("/var/run/netns/{}", lab.ns_b));
    let mut director = Director::load().expect("load the director");
    let own = live::Iface::lookup(&lab.dev_b).expect("director iface").mac.0;
    director.maps.apply(&config(0), own, None).expect("configure");
    director.attach(&lab.dev_b, XdpMode::Driver).expect("attach the director (native)");
    enter(&format!("/var/run/netns/{}", lab.ns_a));
    let mut decap = Decap::load().expect("load decap");
    decap.maps.configure(6080, None).expect("configure decap");
    decap.attach(&lab.dev_a, XdpMode::Driver).expect("attach decap (native)");

    // 256 flows, so the director's LRU table serves them after the first packets.
    let dst = format!("{}", craft::field::Mac(own));
    let frames: Vec<Vec<u8>> = (0..256)
        .map(|i| frame(&format!("Ether(dst='{dst}')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(sport={}, dport=80, flags='A')/Raw(load=b'0123456789abcdef')", 1000 + i)))
        .collect();
    let packets: Vec<craft::packet::Packet> =
        frames.iter().map(|f| craft::packet::Packet::dissect(f, craft::packet::LayerKind::Ether)).collect();
    let opts = SendOpts { count: 400, qdisc_bypass: true, ..SendOpts::default() };
    let before = (director.maps.stats().unwrap().counters, decap.maps.counters().unwrap());
    let t0 = Instant::now();
    live::sendp(&lab.dev_a, &packets, opts).expect("sendp");
    std::thread::sleep(Duration::from_millis(50));
    let took = t0.elapsed().as_secs_f64();
    let after = (director.maps.stats().unwrap().counters, decap.maps.counters().unwrap());
    let sent = (packets.len() * 400) as f64;
    let encap = (counter(&after.0, "encap") - counter(&before.0, "encap")) as f64;
    let decapped = (counter(&after.1, "decap_v0") - counter(&before.1, "decap_v0")) as f64;
    println!("lb-xdp/veth: {sent} frames sent by craft in {took:.3} s ({:.0} pps)", sent / took);
    println!("lb-xdp/veth: director encapsulated {encap} ({:.0} pps, {:.1} %)", encap / took, 100.0 * encap / sent);
    println!("lb-xdp/veth: decap stripped {decapped} ({:.0} pps, {:.1} %)", decapped / took, 100.0 * decapped / sent);
    lab.go_home();
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("lb-xdp bench skipped: needs root (BPF programs, namespaces)");
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    test_run_benches(&mut c);
    c.final_summary();
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        veth_rate();
    }
}
