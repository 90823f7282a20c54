//! sendp / srp / srp1 / sniff against real kernel responders: two fresh network namespaces
//! A and B joined by a veth pair. Frames are built with an explicit Ether dst (B's MAC).
//! Every frame stays inside namespaces these tests create (see tests/common/netns.rs), and
//! every call has a timeout.

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lab::{lab, Lab};
use common::netns::privileged;
use craft::live::{self, CancelFlag, Direction, SendOpts, SniffOpts, Sniffer, SrOpts};
use craft::prelude::*;

const T: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(2);

const IP_A: &str = "10.202.0.1";
const IP_B: &str = "10.202.0.2";
const IP6_A: &str = "fd00:202::1";
const IP6_B: &str = "fd00:202::2";

fn to_b(lab: &Lab) -> Ether {
    Ether::new().dst(lab.mac_b).src(lab.mac_a)
}

fn syn(lab: &Lab, sport: u16, dport: u16) -> Packet {
    to_b(lab) / Ip::new().src(IP_A).dst(IP_B) / Tcp::new().sport(sport).dport(dport).seq(1000).flags("S")
}

fn tcp_flags(p: &Packet) -> Option<u16> {
    match p.find(LayerKind::Tcp)? {
        Layer::Tcp(t) => Some(t.flags.0),
        _ => None,
    }
}

fn icmp_type_code(p: &Packet) -> Option<(u8, u8)> {
    match p.find(LayerKind::Icmp)? {
        Layer::Icmp(i) => Some((i.r#type, i.code)),
        _ => None,
    }
}

#[test]
fn srp1_icmp_echo_v4_and_v6() {
    if !privileged("srp1_icmp_echo_v4_and_v6") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev = lab.veth.a.clone();
    let v4 = to_b(&lab) / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(0x1234, 1) / b"craft srp1".to_vec();
    // Unset Ether src: filled in with A's MAC.
    let v6 = Ether::new().dst(lab.mac_b)
        / Ipv6::new().src(IP6_A).dst(IP6_B)
        / Icmpv6EchoRequest::new().id(0x4321).seq(2).data(b"craft v6".to_vec());
    lab.a.run(T, move || {
        let (reply, rtt) = live::srp1(&dev, v4, WAIT).unwrap().expect("no ICMP echo reply");
        assert_eq!(icmp_type_code(&reply), Some((0, 0)), "{reply:?}");
        assert!(rtt < WAIT, "{rtt:?}");
        let (reply, _) = live::srp1(&dev, v6, WAIT).unwrap().expect("no ICMPv6 echo reply");
        let Some(Layer::Icmpv6EchoReply(e)) = reply.find(LayerKind::Icmpv6EchoReply) else { panic!("{reply:?}") };
        assert_eq!((e.id, e.seq, &e.data[..]), (0x4321, 2, &b"craft v6"[..]));
    });
}

#[test]
fn tcp_syn_gets_syn_ack_or_rst() {
    if !privileged("tcp_syn_gets_syn_ack_or_rst") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let listener: TcpListener = lab.b.run(T, || TcpListener::bind((IP_B, 8080)).expect("bind in B"));
    let dev = lab.veth.a.clone();
    let (open, closed) = (syn(&lab, 40001, 8080), syn(&lab, 40002, 8081));
    lab.a.run(T, move || {
        let (r, _) = live::srp1(&dev, open, WAIT).unwrap().expect("no SYN-ACK");
        assert_eq!(tcp_flags(&r), Some(0x12), "{r:?}");
        let (r, _) = live::srp1(&dev, closed, WAIT).unwrap().expect("no RST");
        assert_eq!(tcp_flags(&r).map(|f| f & 0x04), Some(0x04), "{r:?}");
    });
    drop(listener);
}

#[test]
fn udp_to_closed_port_gets_port_unreachable() {
    if !privileged("udp_to_closed_port_gets_port_unreachable") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev = lab.veth.a.clone();
    let req = to_b(&lab) / Ip::new().src(IP_A).dst(IP_B) / Udp::new().sport(40100).dport(9) / b"hello".to_vec();
    lab.a.run(T, move || {
        let (r, _) = live::srp1(&dev, req, WAIT).unwrap().expect("no port unreachable");
        assert_eq!(icmp_type_code(&r), Some((3, 3)), "{r:?}");
    });
}

#[test]
fn cancel_flag_stops_srp_sendp_and_sniff_with_what_they_have() {
    if !privileged("cancel_flag_stops_srp_sendp_and_sniff_with_what_they_have") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev = lab.veth.a.clone();
    let ping = |dst: &str| to_b(&lab) / Ip::new().src(IP_A).dst(dst) / Icmp::echo_request(0x78, 1);
    // 10.202.0.99 is nobody's: B (not a router) drops it.
    let (answered, dropped) = (ping(IP_B), ping("10.202.0.99"));
    lab.a.run(T, move || {
        let after = |ms| {
            let flag = CancelFlag::new();
            let f = flag.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                f.cancel();
            });
            flag
        };
        let t0 = Instant::now();
        let opts = SrOpts { timeout: Duration::from_secs(30), cancel: Some(after(300)), ..SrOpts::default() };
        let r = live::srp(&dev, &[answered, dropped.clone()], &opts).unwrap();
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(600), "took {took:?}");
        assert_eq!(r.answered.iter().map(|a| a.index).collect::<Vec<_>>(), [0], "{r:?}");
        assert_eq!(r.unanswered, vec![dropped.clone()]);

        // 10 000 s of sending, stopped after 300 ms with what was sent.
        let t0 = Instant::now();
        let opts = SendOpts { count: 100_000, inter: Some(Duration::from_millis(100)), cancel: Some(after(300)), ..SendOpts::default() };
        let sent = live::sendp(&dev, &[dropped], opts).unwrap().sent;
        assert!(t0.elapsed() < Duration::from_millis(600) && (3..=5).contains(&sent), "{sent} in {:?}", t0.elapsed());

        // No count, no timeout: the flag ends it.
        let t0 = Instant::now();
        let s = live::sniff(&dev, SniffOpts { cancel: Some(after(200)), ..SniffOpts::default() }).unwrap();
        assert!(t0.elapsed() < Duration::from_millis(500), "{:?}", t0.elapsed());
        assert_eq!(s.packets.len(), s.seen);
    });
}

#[test]
fn srp_two_answered_one_unanswered_within_timeout() {
    if !privileged("srp_two_answered_one_unanswered_within_timeout") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev = lab.veth.a.clone();
    let ping = |dst: &str, seq| to_b(&lab) / Ip::new().src(IP_A).dst(dst) / Icmp::echo_request(0x77, seq);
    // 10.202.0.99 is nobody's: B (not a router) drops it.
    let reqs = vec![ping(IP_B, 1), ping("10.202.0.99", 2), syn(&lab, 40200, 8082)];
    lab.a.run(T, move || {
        let timeout = Duration::from_millis(300);
        let t0 = Instant::now();
        let r = live::srp(&dev, &reqs, &SrOpts { timeout, ..SrOpts::default() }).unwrap();
        let took = t0.elapsed();
        assert_eq!(r.answered.len(), 2, "{r:?}");
        assert_eq!(r.unanswered, vec![reqs[1].clone()]);
        assert_eq!(r.answered.iter().map(|a| a.index).collect::<Vec<_>>(), [0, 2]);
        for a in &r.answered {
            assert!(a.sent_ns > 0 && a.recv_ns >= a.sent_ns, "{a:?}");
        }
        assert!(took >= timeout && took < timeout + Duration::from_millis(500), "took {took:?}");

        // Retry: the unanswered one is sent again, the call still ends on time.
        let t0 = Instant::now();
        let opts = SrOpts { timeout: Duration::from_millis(100), retry: 2, inter: Some(Duration::from_millis(1)), ..SrOpts::default() };
        let r = live::srp(&dev, &reqs[..2], &opts).unwrap();
        let took = t0.elapsed();
        assert_eq!((r.answered.len(), r.unanswered.len()), (1, 1));
        assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(900), "took {took:?}");

        // A kernel filter on the call: the echo reply is filtered out, the RST is not.
        let opts = SrOpts { timeout, filter: Some("tcp".into()), ..SrOpts::default() };
        let r = live::srp(&dev, &[reqs[0].clone(), reqs[2].clone()], &opts).unwrap();
        assert_eq!(r.answered.iter().map(|a| a.index).collect::<Vec<_>>(), [1], "{r:?}");
        // The shared socket accepts everything again afterwards.
        assert!(live::srp1(&dev, reqs[0].clone(), WAIT).unwrap().is_some());
    });
}

#[test]
fn arp_who_has_gets_is_at() {
    if !privileged("arp_who_has_gets_is_at") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev = lab.veth.a.clone();
    let who_has = Ether::new().dst("ff:ff:ff:ff:ff:ff").src(lab.mac_a)
        / Arp::new().hwsrc(lab.mac_a).psrc(IP_A).pdst(IP_B);
    let mac_b = lab.mac_b;
    lab.a.run(T, move || {
        let (r, _) = live::srp1(&dev, who_has, WAIT).unwrap().expect("no is-at");
        let Some(Layer::Arp(arp)) = r.find(LayerKind::Arp) else { panic!("{r:?}") };
        assert_eq!(arp.op, 2);
        assert_eq!(arp.hwsrc, Some(mac_b));
        assert_eq!(arp.psrc.map(|a| a.to_string()).as_deref(), Some(IP_B));
    });
}

#[test]
fn sniff_with_filter_count_and_timeout() {
    if !privileged("sniff_with_filter_count_and_timeout") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev_b = lab.veth.b.clone();
    let (ready_tx, ready_rx) = mpsc::channel();
    let capture = lab.b.spawn(move || {
        let opts = SniffOpts {
            count: Some(3),
            timeout: Some(Duration::from_secs(5)),
            filter: Some("icmp".into()),
            ..SniffOpts::default()
        };
        let sniffer = Sniffer::new(&dev_b, opts);
        let ok = sniffer.is_ok();
        ready_tx.send(()).unwrap();
        assert!(ok);
        sniffer.unwrap().run()
    });
    ready_rx.recv_timeout(T).expect("sniffer did not start");
    let mut noise = Vec::new();
    for i in 0..3u8 {
        noise.push(to_b(&lab) / Ip::new().src(IP_A).dst("10.202.0.99") / Udp::new().sport(40300).dport(7) / vec![i; 8]);
        noise.push(to_b(&lab).r#type(0x88b5) / vec![i; 46]);
    }
    let pings: Vec<Packet> =
        (1..=5).map(|seq| to_b(&lab) / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(0x99, seq)).collect();
    let dev_a = lab.veth.a.clone();
    let t0 = Instant::now();
    lab.a.run(T, move || {
        let r = live::sendp(&dev_a, &noise, SendOpts::default()).unwrap();
        assert_eq!(r.sent, 6);
        let r = live::sendp(&dev_a, &pings, SendOpts { count: 1, inter: Some(Duration::from_millis(2)), ..SendOpts::default() }).unwrap();
        assert_eq!(r.sent, 5);
    });
    let res = capture.join().unwrap().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(4), "count did not stop the capture");
    assert_eq!(res.packets.len(), 3, "{res:?}");
    let seqs: Vec<u16> = res
        .packets
        .iter()
        .map(|(_, p)| match p.find(LayerKind::Icmp) {
            Some(Layer::Icmp(i)) if i.r#type == 8 && i.id == 0x99 => i.seq,
            _ => panic!("not one of A's pings: {p:?}"),
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(res.packets.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(res.kernel_drops, 0);

    // Nothing matches: the timeout ends it.
    let dev_b = lab.veth.b.clone();
    let (res, took) = lab.b.run(T, move || {
        let t0 = Instant::now();
        let opts = SniffOpts {
            count: Some(10),
            timeout: Some(Duration::from_millis(300)),
            filter: Some("icmp and host 10.202.0.77".into()),
            direction: Direction::Both,
            ..SniffOpts::default()
        };
        (live::sniff(&dev_b, opts).unwrap(), t0.elapsed())
    });
    assert!(res.packets.is_empty());
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn bad_filter_string_errors() {
    // Compiling comes before any socket is opened: no privileges needed.
    let e = live::srp("lo", &[], &SrOpts { filter: Some("tcp prot 80".into()), ..SrOpts::default() }).unwrap_err();
    if e.kind() == ErrorKind::NotFound {
        return eprintln!("skipping bad_filter_string_errors: {e}");
    }
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.to_string(), "bad filter 'tcp prot 80': syntax error");
    let opts = SniffOpts { timeout: Some(Duration::from_millis(10)), filter: Some("tcp prot 80".into()), ..SniffOpts::default() };
    assert_eq!(live::sniff("lo", opts).unwrap_err().to_string(), "bad filter 'tcp prot 80': syntax error");
}

#[test]
fn nft_reject_gives_admin_prohibited() {
    if !privileged("nft_reject_gives_admin_prohibited") {
        return;
    }
    if std::process::Command::new("nft").arg("--version").output().is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("nft is missing (scripts/setup.sh installs nftables)");
        }
        return eprintln!("skipping nft_reject_gives_admin_prohibited: nft is missing");
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.b.cmd("nft", &["add table inet filter"]).unwrap();
    lab.b.cmd("nft", &["add chain inet filter input { type filter hook input priority 0 ; }"]).unwrap();
    lab.b.cmd("nft", &["add rule inet filter input tcp dport 81 reject with icmpx type admin-prohibited"]).unwrap();
    let dev = lab.veth.a.clone();
    let req = syn(&lab, 40400, 81);
    lab.a.run(T, move || {
        let (r, _) = live::srp1(&dev, req, WAIT).unwrap().expect("no ICMP error");
        assert_eq!(icmp_type_code(&r), Some((3, 13)), "{r:?}");
    });
}

#[test]
fn srp1_round_trip_and_sendp_rate() {
    if !privileged("srp1_round_trip_and_sendp_rate") {
        return;
    }
    let lab = lab("craft-s", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dev = lab.veth.a.clone();
    let ping = to_b(&lab) / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(0x55, 0);
    let blast: Vec<Packet> = (0..64u8).map(|i| to_b(&lab).r#type(0x88b5) / vec![i; 46]).collect();
    lab.a.run(T, move || {
        // Warm up: B learns A's MAC, the socket is opened and cached.
        live::srp1(&dev, ping.clone(), WAIT).unwrap().expect("no warm-up reply");
        let n = 1000;
        let mut wall = Vec::with_capacity(n);
        let mut kernel = Vec::with_capacity(n);
        for seq in 0..n {
            let mut p = ping.clone();
            if let Some(Layer::Icmp(i)) = p.layers.get_mut(2) {
                i.seq = seq as u16;
            }
            let t0 = Instant::now();
            let (_, rtt) = live::srp1(&dev, p, WAIT).unwrap().expect("srp1 lost a reply");
            wall.push(t0.elapsed());
            kernel.push(rtt);
        }
        wall.sort();
        kernel.sort();
        eprintln!(
            "srp1 over veth, {n} calls: call time median {:?} p99 {:?}; send-to-reply median {:?}",
            wall[n / 2],
            wall[n * 99 / 100],
            kernel[n / 2]
        );
        assert!(wall[n / 2] < Duration::from_millis(5), "srp1 median {:?}", wall[n / 2]);

        let r = live::sendp(&dev, &blast, SendOpts { count: 3125, ..SendOpts::default() }).unwrap();
        assert_eq!(r.sent, 200_000);
        eprintln!(
            "sendp: {} frames of 60 bytes in {:?}: {:.0} frames/s",
            r.sent,
            r.elapsed,
            r.sent as f64 / r.elapsed.as_secs_f64()
        );
    });
}

/// scapy's `sendp(Ether()/IP(dst=B)/ICMP())`: the IP source comes from the route and the
/// Ether destination from ARP, so B's kernel answers (with IP src 0.0.0.0 and a broadcast
/// destination it would not). Values set stay verbatim.
#[test]
fn sendp_fills_the_ip_source_and_the_next_hops_mac_as_scapy() {
    if !privileged("sendp_fills_the_ip_source_and_the_next_hops_mac_as_scapy") {
        return;
    }
    let lab = lab("craft-f", (IP_A, IP_B), None);
    let (dev_a, dev_b) = (lab.veth.a.clone(), lab.veth.b.clone());
    let (ready_tx, ready_rx) = mpsc::channel();
    let capture = lab.b.spawn(move || {
        let opts = SniffOpts { count: Some(2), timeout: Some(Duration::from_secs(5)), filter: Some("icmp[icmptype] = icmp-echo".into()), ..SniffOpts::default() };
        let sniffer = Sniffer::new(&dev_b, opts);
        ready_tx.send(()).unwrap();
        sniffer.unwrap().run()
    });
    ready_rx.recv_timeout(T).expect("sniffer did not start");
    let (mac_a, mac_b) = (lab.mac_a, lab.mac_b);
    let sent = lab.a.run(T, move || {
        let filled = Ether::new() / Ip::new().dst(IP_B) / Icmp::echo_request(0x77, 1);
        let verbatim = Ether::new().dst("02:00:00:00:00:99") / Ip::new().src("10.202.0.9").dst(IP_B) / Icmp::echo_request(0x77, 2);
        let r = live::sendp(&dev_a, &[filled, verbatim], SendOpts::default()).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        r.sent
    });
    assert_eq!(sent, 2);
    let got = capture.join().unwrap().unwrap();
    let heads: Vec<(String, String)> = got
        .packets
        .iter()
        .map(|(_, p)| match (p.layers.first(), p.layers.get(1)) {
            (Some(Layer::Ether(e)), Some(Layer::Ip(ip))) => (e.dst.map(|m| m.to_string()).unwrap_or_default(), ip.src.map(|a| a.to_string()).unwrap_or_default()),
            _ => panic!("{p:?}"),
        })
        .collect();
    assert_eq!(heads, [(mac_b.to_string(), IP_A.to_string()), ("02:00:00:00:00:99".to_string(), "10.202.0.9".to_string())], "Ether src {mac_a}");
    // srp fills the same way: the unfilled line gets its answer.
    let dev_a = lab.veth.a.clone();
    lab.a.run(T, move || {
        let (reply, _) = live::srp1(&dev_a, Ether::new() / Ip::new().dst(IP_B) / Icmp::echo_request(0x78, 1), WAIT).unwrap().expect("no echo reply to Ether()/IP(dst=B)/ICMP()");
        assert_eq!(icmp_type_code(&reply), Some((0, 0)), "{reply:?}");
    });
}
