//! craft::live against the real kernel: two fresh network namespaces joined by a veth pair.
//! Every frame stays inside namespaces these tests create (see tests/common/netns.rs).

mod common;

use std::collections::HashSet;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::lab::lab;
use common::netns::{privileged, Netns, VethPair};
use craft::live::{Iface, PacketSocket, PktType, SocketCache, SocketOptions};
use craft::prelude::*;

const T: Duration = Duration::from_secs(20);
const TEST_TYPE: u16 = 0x88b5;

const IP_A: &str = "10.201.0.1";
const IP_B: &str = "10.201.0.2";


fn open_in(ns: &Netns, dev: &str, opts: SocketOptions) -> PacketSocket {
    let dev = dev.to_string();
    ns.run(T, move || PacketSocket::open_with(&dev, opts)).expect("open packet socket")
}

fn test_frame(dst: Mac, src: Mac, ethertype: u16, tag: u32) -> Vec<u8> {
    let mut payload = tag.to_be_bytes().to_vec();
    payload.resize(46, 0xab);
    (Ether::new().dst(dst).src(src).r#type(ethertype) / payload).build()
}

fn tag_of(frame: &[u8], ethertype: u16) -> Option<u32> {
    (frame.len() >= 18 && frame[12..14] == ethertype.to_be_bytes()).then(|| u32::from_be_bytes(frame[14..18].try_into().unwrap()))
}

#[test]
fn icmp_echo_gets_kernel_reply() {
    if !privileged("icmp_echo_gets_kernel_reply") {
        return;
    }
    let lab = lab("craft-t", (IP_A, IP_B), None);
    let peer = lab.mac_b;
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || {
        let sock = PacketSocket::open(&dev).unwrap();
        let me = sock.iface().clone();
        assert!(me.up && me.carrier, "{me:?}");
        assert_eq!(me.mtu, 1500);
        let (id, seq) = (0x4242, 7);
        let req = Ether::new().dst(peer).src(me.mac)
            / Ip::new().src(IP_A).dst(IP_B)
            / Icmp::echo_request(id, seq)
            / b"craft live echo".to_vec();
        let t0 = Instant::now();
        sock.send(&req.build()).unwrap();
        let deadline = t0 + Duration::from_secs(3);
        let mut buf = Vec::new();
        loop {
            let meta = sock.recv(&mut buf, deadline).unwrap().expect("no echo reply before the deadline");
            assert_eq!(meta.len, buf.len());
            let pkt = Packet::dissect(&buf, LayerKind::Ether);
            let Some(Layer::Icmp(icmp)) = pkt.find(LayerKind::Icmp) else { continue };
            if icmp.r#type == 0 && icmp.id == id && icmp.seq == seq {
                assert_eq!(meta.pkttype, PktType::Host);
                let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
                assert!(meta.ts_ns <= now_ns && now_ns - meta.ts_ns < 5_000_000_000, "timestamp {}", meta.ts_ns);
                let Some(Layer::Ip(ip)) = pkt.find(LayerKind::Ip) else { panic!("no IP in {pkt:?}") };
                assert_eq!(ip.src.map(|a| a.to_string()).as_deref(), Some(IP_B));
                eprintln!("echo reply after {:?}", t0.elapsed());
                break;
            }
        }
    });
}

#[test]
fn ignore_outgoing_hides_this_hosts_frames() {
    if !privileged("ignore_outgoing_hides_this_hosts_frames") {
        return;
    }
    let lab = lab("craft-t", (IP_A, IP_B), None);
    let peer = lab.mac_b;
    let quiet = open_in(&lab.a, &lab.veth.a, SocketOptions::default());
    let all = open_in(&lab.a, &lab.veth.a, SocketOptions { ignore_outgoing: false, ..SocketOptions::default() });
    let sender = open_in(&lab.a, &lab.veth.a, SocketOptions::default());
    // Frames sent with PACKET_QDISC_BYPASS skip the taps: only the peer sees them.
    let bypass = open_in(&lab.a, &lab.veth.a, SocketOptions { qdisc_bypass: true, ..SocketOptions::default() });
    let rx_b = open_in(&lab.b, &lab.veth.b, SocketOptions::default());
    let frame = test_frame(peer, sender.iface().mac, TEST_TYPE, 0xfeed);
    sender.send(&frame).unwrap();
    bypass.send(&test_frame(peer, sender.iface().mac, TEST_TYPE, 0xbeef)).unwrap();

    let seen = |s: &PacketSocket, tag, ms| {
        let deadline = Instant::now() + Duration::from_millis(ms);
        let mut buf = Vec::new();
        while let Some(m) = s.recv(&mut buf, deadline).unwrap() {
            if tag_of(&buf, TEST_TYPE) == Some(tag) {
                return Some(m.pkttype);
            }
        }
        None
    };
    assert_eq!(seen(&all, 0xfeed, 2000), Some(PktType::Outgoing), "a socket without PACKET_IGNORE_OUTGOING sees it");
    assert_eq!(seen(&rx_b, 0xfeed, 2000), Some(PktType::Host), "the peer receives it");
    assert_eq!(seen(&quiet, 0xfeed, 300), None, "PACKET_IGNORE_OUTGOING hides it");
    assert_eq!(seen(&rx_b, 0xbeef, 2000), Some(PktType::Host), "the qdisc-bypass frame arrives");
}

#[test]
fn recv_times_out_at_the_deadline() {
    if !privileged("recv_times_out_at_the_deadline") {
        return;
    }
    let lab = lab("craft-t", (IP_A, IP_B), None);
    let sock = open_in(&lab.a, &lab.veth.a, SocketOptions::default());
    sock.attach_filter(&[libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }]).unwrap(); // ret #0
    let mut buf = vec![1, 2, 3];
    let t0 = Instant::now();
    let wait = Duration::from_millis(200);
    assert_eq!(sock.recv(&mut buf, t0 + wait).unwrap(), None);
    let took = t0.elapsed();
    assert!(took >= wait && took < wait + Duration::from_millis(150), "took {took:?}");
    assert!(buf.is_empty());
    let t1 = Instant::now();
    assert_eq!(sock.recv(&mut buf, t1 - Duration::from_millis(1)).unwrap(), None, "past deadline");
    assert!(t1.elapsed() < Duration::from_millis(50));
}

#[test]
fn send_batch_reaches_filtered_peer() {
    if !privileged("send_batch_reaches_filtered_peer") {
        return;
    }
    let lab = lab("craft-t", (IP_A, IP_B), None);
    let tx = open_in(&lab.a, &lab.veth.a, SocketOptions::default());
    let rx = open_in(&lab.b, &lab.veth.b, SocketOptions::default());
    let peer = rx.iface().mac;
    // ldh [12]; jeq #0x88b5, 0, 1; ret #65535; ret #0
    let prog = [
        libc::sock_filter { code: 0x28, jt: 0, jf: 0, k: 12 },
        libc::sock_filter { code: 0x15, jt: 0, jf: 1, k: TEST_TYPE as u32 },
        libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 65535 },
        libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    rx.attach_filter(&prog).unwrap();
    // An unfiltered observer proves the unrelated frames really crossed the wire.
    let observer = open_in(&lab.b, &lab.veth.b, SocketOptions::default());
    observer.drain().unwrap();

    const N: u32 = 1000;
    const NOISE: u32 = 50;
    let frames: Vec<Vec<u8>> = (0..N).map(|i| test_frame(peer, tx.iface().mac, TEST_TYPE, i)).collect();
    let noise: Vec<Vec<u8>> = (0..NOISE).map(|i| test_frame(peer, tx.iface().mac, TEST_TYPE + 1, i)).collect();
    let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
    let noise_refs: Vec<&[u8]> = noise.iter().map(|f| f.as_slice()).collect();

    tx.send_batch(&noise_refs[..NOISE as usize / 2]).unwrap();
    let t0 = Instant::now();
    tx.send_batch(&refs).unwrap();
    let took = t0.elapsed();
    tx.send_batch(&noise_refs[NOISE as usize / 2..]).unwrap();
    eprintln!("send_batch: {N} frames in {took:?} = {:.0} packets/s", N as f64 / took.as_secs_f64());

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = Vec::new();
    let mut tags = HashSet::new();
    let mut other = 0;
    while tags.len() < N as usize {
        match rx.recv(&mut buf, deadline).unwrap() {
            Some(_) => match tag_of(&buf, TEST_TYPE) {
                Some(t) => assert!(tags.insert(t), "frame {t} twice"),
                None => other += 1,
            },
            None => break,
        }
    }
    // Anything still queued after the last test frame must not be noise either.
    while rx.recv(&mut buf, Instant::now() + Duration::from_millis(100)).unwrap().is_some() {
        other += 1;
    }
    let stats = rx.stats().unwrap();
    let drops = rx.drop_count().unwrap();
    eprintln!("receiver: {} frames, stats {stats:?}, drop_count {drops}", tags.len());
    assert_eq!(other, 0, "the filter let unrelated frames through");
    assert_eq!(tags.len(), N as usize, "received {} of {N} (drops {drops})", tags.len());
    assert_eq!(drops, 0);
    assert_eq!(stats.packets, N as u64);

    let mut noise_seen = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    while noise_seen < NOISE && observer.recv(&mut buf, deadline).unwrap().is_some() {
        noise_seen += tag_of(&buf, TEST_TYPE + 1).is_some() as u32;
    }
    assert_eq!(noise_seen, NOISE, "the unfiltered observer sees the unrelated frames");
}

#[test]
fn errors_name_the_interface() {
    if !privileged("errors_name_the_interface") {
        return;
    }
    let a = Netns::new("craft-te");
    let b = Netns::new("craft-te");
    let veth = VethPair::new(&a, &b); // left down
    let dev = veth.a.clone();
    a.run(T, move || {
        let e = Iface::lookup("craftnope0").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "no such interface 'craftnope0'");
        let e = PacketSocket::open("craftnope0").unwrap_err();
        assert_eq!(e.to_string(), "no such interface 'craftnope0'");

        let i = Iface::lookup(&dev).unwrap();
        assert!(!i.up && !i.carrier, "{i:?}");
        assert!(i.ifindex > 0);
        let e = PacketSocket::open(&dev).unwrap_err();
        assert_eq!(e.to_string(), format!("interface '{dev}' is down"));
        let e = SocketCache::new().get(&dev).unwrap_err();
        assert_eq!(e.to_string(), format!("interface '{dev}' is down"));
        assert!(Iface::lookup("").is_err());
        assert!(Iface::lookup("a-name-far-too-long").is_err());
    });
}

#[test]
fn cache_reuses_sockets() {
    if !privileged("cache_reuses_sockets") {
        return;
    }
    let lab = lab("craft-t", (IP_A, IP_B), None);
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || {
        let cache = SocketCache::new();
        let t0 = Instant::now();
        let s1 = cache.get(&dev).unwrap();
        let first = t0.elapsed();
        let t1 = Instant::now();
        let s2 = cache.get(&dev).unwrap();
        let again = t1.elapsed();
        assert!(Arc::ptr_eq(&s1, &s2), "second get reopened");
        let s3 = cache.get_with(&dev, SocketOptions { ignore_outgoing: false, ..SocketOptions::default() }).unwrap();
        assert!(!Arc::ptr_eq(&s1, &s3), "other options, other socket");
        assert_eq!(cache.len(), 2);
        eprintln!("cache: first get {first:?}, cached get {again:?}");
        let g1 = SocketCache::global().get(&dev).unwrap();
        let g2 = SocketCache::global().get(&dev).unwrap();
        assert!(Arc::ptr_eq(&g1, &g2));
        SocketCache::global().clear();
    });
}
