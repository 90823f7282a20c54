//! Live I/O over a veth pair between two network namespaces this bench creates itself
//! (unique names, deleted on drop, panics included; no other interface is touched).
//!
//! - `live/srp1_icmp_echo`: one `srp1` ICMP echo round trip (B's kernel answers). Issue
//!   target: median <= 100 µs (scapy: ~23 ms).
//! - `live/sendp_64`: `sendp` of 64 frames of 60 bytes in one call (sendmmsg); throughput in
//!   frames.
//!
//! - after criterion, plain measured loops that print their numbers (criterion cannot express
//!   "percent of another implementation" or "frames captured of frames sent"):
//!   - `libc send loop`: a raw AF_PACKET socket with PACKET_QDISC_BYPASS, `libc::send` of the
//!     same 60-byte frame in a loop: the floor, frames/s;
//!   - `craft send_batch (qdisc bypass)`: `PacketSocket::open_with` with
//!     `SocketOptions { qdisc_bypass: true, .. }` and `send_batch` (sendmmsg, 1024 frames per
//!     call), frames/s and % of the libc loop (issue target >= 95 %);
//!   - `craft sendp`: `live::sendp` itself (cached socket, default options: no qdisc bypass,
//!     as `sendp` takes no `SocketOptions`), frames/s and % of the libc loop;
//!   - `sniff completeness`: a craft `Sniffer` in namespace B (filter `ether proto 0x88b5`,
//!     store off) while A sends N = 200 000 frames at craft's top rate: captured / N, the
//!     socket's kernel drops and B's veth RX drops (backlog), for the default 4 MiB receive
//!     buffer and for 256 MiB.
//!
//! - `pnet_datalink` side by side (plain loops, printed): the same 60-byte frame, the
//!   same lab.
//!   - send, frames/s (best of 5 runs of 200 000): pnet's `DataLinkSender::send_to` (poll +
//!     sendto per frame; its channel's socket also queues a copy of each frame it sends,
//!     ETH_P_ALL without PACKET_IGNORE_OUTGOING) against craft's `PacketSocket::send` (one
//!     frame a call, default options: no qdisc bypass, as pnet has none) and
//!     `PacketSocket::send_batch` (sendmmsg, 1024 a call, default options);
//!   - receive: a receiver in B counts the test frames (EtherType checked in userspace by
//!     both: no BPF filter) while A sends 200 000 of them as fast as it goes with a
//!     qdisc-bypass socket: pnet's `DataLinkReceiver::next` (poll + recvfrom per frame; the
//!     kernel's default receive buffer, pnet has no option for it) against craft's
//!     `PacketSocket::recv`, with the kernel's default buffer (`rcvbuf: 0`, as pnet) and
//!     with craft's default 4 MiB. Printed: frames captured of those sent, the receiver's
//!     rate (captured over first-to-last frame) and the sender's rate meanwhile.
//!
//! Needs root (namespaces, packet sockets); prints why and does nothing otherwise.
//! Run: `cargo bench -p benches --bench live`.

mod common;

use common::enter;
use std::hint::black_box;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use craft::live::{self, PacketSocket, SendOpts, SniffOpts, Sniffer, SocketOptions};
use craft::prelude::*;
use criterion::{Criterion, Throughput};

use common::lab::{Lab, IP_A, IP_B, MAC_B};

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

    loops(&lab, &blast[0].build());
    pnet_side_by_side(&lab, &blast[0].build());
    drop(lab);
}

/// Frames per throughput run, and runs per implementation (the best run is reported).
const RATE_FRAMES: usize = 200_000;
const RATE_RUNS: usize = 5;
/// Frames A sends while B sniffs.
const SNIFF_N: usize = 200_000;

/// The plain measured loops (see the module doc); `frame` is the 60-byte test frame.
fn loops(lab: &Lab, frame: &[u8]) {
    assert_eq!(frame.len(), 60);
    let dev = lab.dev_a.as_str();
    println!();
    println!("live loops: {RATE_FRAMES} frames of {} bytes per run, best of {RATE_RUNS} runs", frame.len());

    let libc_rate = best_rate(|| libc_send_loop(dev, frame, RATE_FRAMES));
    println!("live/libc send loop (qdisc bypass)        {:>12.0} frames/s", libc_rate);

    let bypass = SocketOptions { qdisc_bypass: true, ..SocketOptions::default() };
    let sock = PacketSocket::open_with(dev, bypass).expect("bypass socket");
    let refs: Vec<&[u8]> = vec![frame; 1024];
    let batch_rate = best_rate(|| {
        let t0 = Instant::now();
        send_in_batches(&sock, &refs, RATE_FRAMES);
        t0.elapsed()
    });
    println!(
        "live/craft send_batch (qdisc bypass)      {:>12.0} frames/s  {:>5.1} % of libc",
        batch_rate,
        100.0 * batch_rate / libc_rate
    );

    let one = [Packet::dissect(frame, LayerKind::Ether)];
    let sendp_rate = best_rate(|| {
        live::sendp(dev, &one, SendOpts { count: RATE_FRAMES, ..SendOpts::default() }).expect("sendp").elapsed
    });
    println!(
        "live/craft sendp (default socket, no bypass) {:>9.0} frames/s  {:>5.1} % of libc",
        sendp_rate,
        100.0 * sendp_rate / libc_rate
    );

    for rcvbuf in [SniffOpts::default().rcvbuf, 256 << 20] {
        sniff_completeness(lab, &sock, &refs, rcvbuf);
    }
}

/// Run `f` (which sends RATE_FRAMES frames and returns how long it took) RATE_RUNS times
/// after one warm-up run: the best rate in frames/s.
fn best_rate(mut f: impl FnMut() -> Duration) -> f64 {
    f();
    (0..RATE_RUNS).map(|_| RATE_FRAMES as f64 / f().as_secs_f64()).fold(0.0, f64::max)
}

/// The floor: a raw AF_PACKET socket with PACKET_QDISC_BYPASS, `libc::send` in a loop.
fn libc_send_loop(dev: &str, frame: &[u8], n: usize) -> Duration {
    let ifindex = live::Iface::lookup(dev).expect("iface").ifindex;
    // SAFETY: plain socket(2) call; the fd is closed below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    let one: libc::c_int = 1;
    // SAFETY: fd is open; optval points to a c_int of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "PACKET_QDISC_BYPASS: {}", std::io::Error::last_os_error());
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex;
    sll.sll_protocol = 0; // send only: queue nothing for reception
    // SAFETY: fd is open; sll is a sockaddr_ll of the size given.
    let r = unsafe {
        libc::bind(fd, (&sll as *const libc::sockaddr_ll).cast(), std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t)
    };
    assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < n {
        // SAFETY: fd is an open bound packet socket; frame is a valid buffer of its length.
        let r = unsafe { libc::send(fd, frame.as_ptr().cast(), frame.len(), 0) };
        if r == frame.len() as isize {
            sent += 1;
        } else {
            let e = std::io::Error::last_os_error();
            assert!(matches!(e.raw_os_error(), Some(libc::EINTR | libc::ENOBUFS | libc::EAGAIN)), "send: {e}");
        }
    }
    let took = t0.elapsed();
    // SAFETY: fd is open and owned here.
    unsafe { libc::close(fd) };
    took
}

/// RX drops of `dev` in namespace `ns` (from `ip -s link`).
fn rx_dropped(ns: &str, dev: &str) -> u64 {
    let out = Command::new("ip").args(["-n", ns, "-s", "-j", "link", "show", "dev", dev]).output().expect("ip -s link");
    let text = String::from_utf8_lossy(&out.stdout);
    // "rx":{"bytes":..,"packets":..,"errors":..,"dropped":N,...}
    text.split("\"rx\":")
        .nth(1)
        .and_then(|rx| rx.split("\"dropped\":").nth(1))
        .and_then(|d| d.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// B sniffs (its own thread, in namespace B) while A sends SNIFF_N frames with `sock`.
fn sniff_completeness(lab: &Lab, sock: &PacketSocket, refs: &[&[u8]], rcvbuf: usize) {
    let ns_b = format!("/var/run/netns/{}", lab.ns_b);
    let dev_b = lab.dev_b.clone();
    let drops_before = rx_dropped(&lab.ns_b, &lab.dev_b);
    let (ready_tx, ready_rx) = mpsc::channel();
    let sniffer = std::thread::spawn(move || {
        enter(&ns_b);
        let opts = SniffOpts {
            count: Some(SNIFF_N),
            timeout: Some(Duration::from_secs(5)),
            filter: Some("ether proto 0x88b5".into()),
            store: false,
            rcvbuf,
            ..SniffOpts::default()
        };
        let s = Sniffer::new(&dev_b, opts);
        let s = match s {
            Ok(s) => {
                ready_tx.send(true).unwrap();
                s
            }
            Err(e) => {
                ready_tx.send(false).unwrap();
                panic!("sniffer: {e}");
            }
        };
        s.run().expect("sniff run")
    });
    assert!(ready_rx.recv().unwrap_or(false), "sniffer did not start");
    let t0 = Instant::now();
    send_in_batches(sock, refs, SNIFF_N);
    let took = t0.elapsed();
    let res = sniffer.join().expect("sniffer thread");
    let veth_drops = rx_dropped(&lab.ns_b, &lab.dev_b) - drops_before;
    println!(
        "live/sniff completeness rcvbuf {:>3} MiB: sent {SNIFF_N} at {:.0} frames/s, captured {} ({:.2} %), kernel drops {}, veth rx drops {}",
        rcvbuf >> 20,
        SNIFF_N as f64 / took.as_secs_f64(),
        res.seen,
        100.0 * res.seen as f64 / SNIFF_N as f64,
        res.kernel_drops,
        veth_drops
    );
}

/// pnet_datalink's Ethernet channel on `dev` (in the calling thread's namespace).
fn pnet_channel(dev: &str, read_timeout: Option<Duration>) -> (Box<dyn pnet_datalink::DataLinkSender>, Box<dyn pnet_datalink::DataLinkReceiver>) {
    let iface = pnet_datalink::interfaces().into_iter().find(|i| i.name == dev).unwrap_or_else(|| panic!("pnet: no interface {dev}"));
    let config = pnet_datalink::Config { read_timeout, ..pnet_datalink::Config::default() };
    match pnet_datalink::channel(&iface, config) {
        Ok(pnet_datalink::Channel::Ethernet(tx, rx)) => (tx, rx),
        Ok(_) => panic!("pnet: not an Ethernet channel"),
        Err(e) => panic!("pnet channel on {dev}: {e}"),
    }
}

/// Whether `f` is the test frame's kind (EtherType 0x88b5).
fn is_test_frame(f: &[u8]) -> bool {
    f.get(12..14) == Some(&[0x88, 0xb5][..])
}

/// The pnet_datalink side by side (see the module doc).
fn pnet_side_by_side(lab: &Lab, frame: &[u8]) {
    let dev = lab.dev_a.as_str();
    println!();
    println!("live/pnet_datalink side by side: send {RATE_FRAMES} frames of {} bytes per run, best of {RATE_RUNS}", frame.len());
    let (mut tx, rx) = pnet_channel(dev, None);
    let pnet_rate = best_rate(|| {
        let t0 = Instant::now();
        let mut sent = 0;
        while sent < RATE_FRAMES {
            match tx.send_to(frame, None) {
                Some(Ok(())) => sent += 1,
                Some(Err(e)) if matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR)) => {}
                Some(Err(e)) => panic!("pnet send_to: {e}"),
                None => panic!("pnet send_to: no result"),
            }
        }
        t0.elapsed()
    });
    drop((tx, rx));
    let sock = PacketSocket::open(dev).expect("craft socket");
    let one_rate = best_rate(|| {
        let t0 = Instant::now();
        for _ in 0..RATE_FRAMES {
            sock.send(frame).expect("craft send");
        }
        t0.elapsed()
    });
    let refs: Vec<&[u8]> = vec![frame; 1024];
    let batch_rate = best_rate(|| {
        let t0 = Instant::now();
        send_in_batches(&sock, &refs, RATE_FRAMES);
        t0.elapsed()
    });
    drop(sock);
    println!("live/send pnet_datalink send_to            {pnet_rate:>12.0} frames/s");
    println!("live/send craft PacketSocket::send         {one_rate:>12.0} frames/s  {:>5.2}x pnet", one_rate / pnet_rate);
    println!("live/send craft PacketSocket::send_batch   {batch_rate:>12.0} frames/s  {:>5.2}x pnet", batch_rate / pnet_rate);

    let bypass = PacketSocket::open_with(dev, SocketOptions { qdisc_bypass: true, ..SocketOptions::default() }).expect("bypass socket");
    for who in [Receiver::Pnet, Receiver::Craft { rcvbuf: 0 }, Receiver::Craft { rcvbuf: SocketOptions::default().rcvbuf }] {
        receive_run(lab, &bypass, &refs, who);
    }
}

/// Test frames received, and when the first and the last came.
struct Counter {
    n: usize,
    first: Option<Instant>,
    last: Instant,
}

impl Default for Counter {
    fn default() -> Counter {
        Counter { n: 0, first: None, last: Instant::now() }
    }
}

impl Counter {
    fn add(&mut self, f: &[u8]) {
        if is_test_frame(f) {
            self.n += 1;
            self.last = Instant::now();
            self.first.get_or_insert(self.last);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Receiver {
    Pnet,
    /// craft's PacketSocket with this receive buffer (0: the kernel's default, as pnet).
    Craft { rcvbuf: usize },
}

/// B receives with `who` while A sends SNIFF_N test frames with `sock` (qdisc bypass).
fn receive_run(lab: &Lab, sock: &PacketSocket, refs: &[&[u8]], who: Receiver) {
    let ns_b = format!("/var/run/netns/{}", lab.ns_b);
    let dev_b = lab.dev_b.clone();
    let (ready_tx, ready_rx) = mpsc::channel();
    // The receiver gives up after this long without a test frame.
    const IDLE: Duration = Duration::from_millis(500);
    let receiver = std::thread::spawn(move || {
        enter(&ns_b);
        let mut c = Counter::default();
        match who {
            Receiver::Pnet => {
                let (_tx, mut rx) = pnet_channel(&dev_b, Some(Duration::from_millis(50)));
                ready_tx.send(()).unwrap();
                let mut idle_since = Instant::now();
                while c.n < SNIFF_N && idle_since.elapsed() < IDLE {
                    match rx.next() {
                        Ok(f) => {
                            c.add(f);
                            idle_since = Instant::now();
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(e) => panic!("pnet next: {e}"),
                    }
                }
            }
            Receiver::Craft { rcvbuf } => {
                let s = PacketSocket::open_with(&dev_b, SocketOptions { rcvbuf, ..SocketOptions::default() }).expect("craft socket in B");
                ready_tx.send(()).unwrap();
                let mut buf = Vec::with_capacity(2048);
                while c.n < SNIFF_N {
                    match s.recv(&mut buf, Instant::now() + IDLE).expect("craft recv") {
                        Some(_) => c.add(&buf),
                        None => break,
                    }
                }
            }
        }
        (c.n, c.first.map(|f| c.last - f))
    });
    ready_rx.recv().expect("receiver did not start");
    let t0 = Instant::now();
    send_in_batches(sock, refs, SNIFF_N);
    let took = t0.elapsed();
    let (got, span) = receiver.join().expect("receiver thread");
    let rate = span.filter(|d| !d.is_zero()).map_or(0.0, |d| got as f64 / d.as_secs_f64());
    let name = match who {
        Receiver::Pnet => "pnet_datalink next (kernel default rcvbuf)".to_string(),
        Receiver::Craft { rcvbuf: 0 } => "craft PacketSocket::recv (kernel default rcvbuf)".to_string(),
        Receiver::Craft { rcvbuf } => format!("craft PacketSocket::recv (rcvbuf {} MiB)", rcvbuf >> 20),
    };
    println!(
        "live/recv {name:<50} captured {got} of {SNIFF_N} ({:.2} %) at {rate:.0} frames/s; sender {:.0} frames/s",
        100.0 * got as f64 / SNIFF_N as f64,
        SNIFF_N as f64 / took.as_secs_f64()
    );
}

/// Sends `n` frames from `refs` (one sendmmsg per `refs.len()` frames at the most).
fn send_in_batches(sock: &PacketSocket, refs: &[&[u8]], n: usize) {
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(refs.len());
        sock.send_batch(&refs[..k]).expect("send_batch");
        sent += k;
    }
}
