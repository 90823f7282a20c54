//! craft::live routing against the real kernel: route lookups, the neighbour table, ARP / ND
//! resolution and fill_l3, in two fresh network namespaces joined by a veth pair, A having
//! default routes (IPv4 and IPv6) via B. Every frame stays inside namespaces these tests
//! create (see tests/common/netns.rs); addresses "behind the gateway" are only looked up.

mod common;

use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::lab::{iface_in, lab, Lab};
use common::netns::privileged;
use craft::answers::answers;
use craft::live::{fill_l3, neighbor_get, resolve_mac, route_get, Iface, RouteKind, SocketCache};
use craft::prelude::*;

const T: Duration = Duration::from_secs(20);

const IP_A: &str = "10.203.0.1";
const IP_B: &str = "10.203.0.2";
const IP6_A: &str = "fd00:c4af::1";
const IP6_B: &str = "fd00:c4af::2";
/// On the link, but nobody has them.
const NOBODY: &str = "10.203.0.99";
const NOBODY6: &str = "fd00:c4af::99";
/// Behind the gateway (documentation prefixes; never sent to).
const FAR: &str = "198.51.100.7";
const FAR6: &str = "2001:db8::7";

/// The shared lab, A having default routes (IPv4 and IPv6) via B.
fn routed_lab() -> Lab {
    let lab = lab("craft-r", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.a.exec(&["route", "add", "default", "via", IP_B]);
    lab.a.exec(&["-6", "route", "add", "default", "via", IP6_B]);
    lab
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ether(p: &Packet) -> &Ether {
    match p.layers.first() {
        Some(Layer::Ether(e)) => e,
        other => panic!("not Ether first: {other:?}"),
    }
}

#[test]
fn route_get_direct_via_gateway_and_unroutable() {
    if !privileged("route_get_direct_via_gateway_and_unroutable") {
        return;
    }
    let lab = routed_lab();
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || {
        let me = Iface::lookup(&dev).unwrap();
        let r = route_get(ip(IP_B)).unwrap();
        assert_eq!((r.ifname.as_str(), r.ifindex), (dev.as_str(), me.ifindex), "{r:?}");
        assert_eq!((r.src, r.gateway, r.kind), (Some(ip(IP_A)), None, RouteKind::Unicast), "{r:?}");
        assert_eq!(r.next_hop(), ip(IP_B));

        let r = route_get(ip(FAR)).unwrap();
        assert_eq!(r.ifname, dev);
        assert_eq!((r.src, r.gateway), (Some(ip(IP_A)), Some(ip(IP_B))), "{r:?}");
        assert_eq!(r.next_hop(), ip(IP_B));

        let r = route_get(ip(IP6_B)).unwrap();
        assert_eq!((r.ifname.as_str(), r.src, r.gateway), (dev.as_str(), Some(ip(IP6_A)), None), "{r:?}");
        let r = route_get(ip(FAR6)).unwrap();
        assert_eq!((r.ifname.as_str(), r.src, r.gateway), (dev.as_str(), Some(ip(IP6_A)), Some(ip(IP6_B))), "{r:?}");

        let r = route_get(ip(IP_A)).unwrap();
        assert_eq!((r.kind, r.ifname.as_str()), (RouteKind::Local, "lo"), "{r:?}");
        let r = route_get(ip("10.203.0.255")).unwrap();
        assert_eq!(r.kind, RouteKind::Broadcast, "{r:?}");

        let n = 200;
        let t0 = Instant::now();
        for _ in 0..n {
            route_get(ip(FAR)).unwrap();
        }
        eprintln!("route_get (RTM_GETROUTE + RTM_GETLINK): {:?} per call", t0.elapsed() / n);
    });
    // B has only its link routes.
    lab.b.run(T, || {
        let e = route_get(ip("10.9.9.9")).unwrap_err();
        assert_eq!(e.to_string(), "no route to 10.9.9.9");
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        let e = route_get(ip(FAR6)).unwrap_err();
        assert_eq!(e.to_string(), format!("no route to {FAR6}"));
    });
}

#[test]
fn neighbor_table_entries() {
    if !privileged("neighbor_table_entries") {
        return;
    }
    let lab = routed_lab();
    let mac_b = lab.mac_b;
    let dev = lab.veth.a.clone();
    let idx = iface_in(&lab.a, &dev).ifindex;
    assert_eq!(lab.a.run(T, move || neighbor_get(idx, ip(IP_B))).unwrap(), None);
    lab.a.exec(&["neigh", "add", "10.203.0.77", "lladdr", "02:00:00:00:00:77", "dev", &dev, "nud", "permanent"]);
    lab.a.run(T, move || {
        let want = Some("02:00:00:00:00:77".parse::<Mac>().unwrap());
        assert_eq!(neighbor_get(idx, ip("10.203.0.77")).unwrap(), want);
        // Another interface's index finds nothing.
        assert_eq!(neighbor_get(1, ip("10.203.0.77")).unwrap(), None);

        // Let the kernel resolve B (and fail on NOBODY) by sending UDP datagrams.
        let udp4 = UdpSocket::bind("0.0.0.0:0").unwrap();
        let udp6 = UdpSocket::bind("[::]:0").unwrap();
        for dst in [IP_B, NOBODY] {
            udp4.send_to(b"craft", (dst, 9)).unwrap();
        }
        udp6.send_to(b"craft", (IP6_B, 9)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let (mut v4, mut v6) = (None, None);
        while Instant::now() < deadline && (v4.is_none() || v6.is_none()) {
            v4 = neighbor_get(idx, ip(IP_B)).unwrap();
            v6 = neighbor_get(idx, ip(IP6_B)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!((v4, v6), (Some(mac_b), Some(mac_b)));
        // NOBODY is INCOMPLETE (then FAILED): not usable.
        assert_eq!(neighbor_get(idx, ip(NOBODY)).unwrap(), None);
    });
}

#[test]
fn resolve_mac_by_arp_and_nd() {
    if !privileged("resolve_mac_by_arp_and_nd") {
        return;
    }
    let lab = routed_lab();
    let me = iface_in(&lab.a, &lab.veth.a);
    let peer = iface_in(&lab.b, &lab.veth.b);
    let (mac_a, mac_b) = (me.mac, peer.mac);
    lab.a.run(T, move || {
        for (target, src) in [(IP_B, IP_A), (IP6_B, IP6_A)] {
            assert_eq!(neighbor_get(me.ifindex, ip(target)).unwrap(), None, "{target} known before");
            let t0 = Instant::now();
            let got = resolve_mac(&me, ip(target), ip(src), Duration::from_secs(2)).unwrap();
            let first = t0.elapsed();
            assert_eq!(got, Some(mac_b), "{target}");
            let t1 = Instant::now();
            assert_eq!(resolve_mac(&me, ip(target), ip(src), Duration::from_secs(2)).unwrap(), Some(mac_b));
            eprintln!("resolve_mac {target}: {first:?} by the wire, {:?} cached", t1.elapsed());
        }
        // Group addresses need no resolution.
        let t = Duration::from_millis(1);
        let group = |s| resolve_mac(&me, ip(s), ip(IP_A), t).unwrap().map(|m| m.to_string());
        assert_eq!(group("255.255.255.255").as_deref(), Some("ff:ff:ff:ff:ff:ff"));
        assert_eq!(group("224.1.2.3").as_deref(), Some("01:00:5e:01:02:03"));
        assert_eq!(group("ff02::1:ff00:2").as_deref(), Some("33:33:ff:00:00:02"));
    });
    // B learnt A from our who-has and solicitation: they really went over the wire.
    let idx_b = peer.ifindex;
    let learnt =
        lab.b.run(T, move || (neighbor_get(idx_b, ip(IP_A)).unwrap(), neighbor_get(idx_b, ip(IP6_A)).unwrap()));
    assert_eq!(learnt, (Some(mac_a), Some(mac_a)));
}

#[test]
fn fill_l3_then_echo_reply() {
    if !privileged("fill_l3_then_echo_reply") {
        return;
    }
    let lab = routed_lab();
    let mac_b = lab.mac_b;
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || {
        let me = Iface::lookup(&dev).unwrap();
        let sock = SocketCache::global().get(&dev).unwrap();
        let v4 = Ip::new().dst(IP_B) / Icmp::echo_request(0x5151, 1) / b"craft fill_l3".to_vec();
        let v6 = Ipv6::new().dst(IP6_B) / Icmpv6EchoRequest::new().id(0x5252).seq(2) / b"craft fill_l3".to_vec();
        for req in [v4, v6] {
            let t0 = Instant::now();
            let out = fill_l3(&req, None, Duration::from_secs(2)).unwrap();
            let took = t0.elapsed();
            assert!(out.warnings.is_empty(), "{:?}", out.warnings);
            assert_eq!(out.iface.name, dev);
            let e = ether(&out.frame);
            assert_eq!((e.src, e.dst), (Some(me.mac), Some(mac_b)));
            match &out.frame.layers[1] {
                Layer::Ip(h) => assert_eq!(h.src, Some(IP_A.parse().unwrap())),
                Layer::Ipv6(h) => assert_eq!(h.src, Some(IP6_A.parse().unwrap())),
                other => panic!("{other:?}"),
            }
            sock.send(&out.frame.build()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(3);
            let mut buf = Vec::new();
            loop {
                sock.recv(&mut buf, deadline).unwrap().expect("no echo reply before the deadline");
                let reply = Packet::dissect(&buf, LayerKind::Ether);
                if answers(&reply, &out.frame) {
                    break;
                }
            }
            eprintln!("fill_l3 {:?}: {took:?}, echo reply after {:?}", out.route.dst, t0.elapsed());
        }
        // Behind the gateway: the frame goes to B's MAC.
        let out = fill_l3(&(Ip::new().dst(FAR) / Icmp::echo_request(1, 1)), None, Duration::from_secs(2)).unwrap();
        assert_eq!(out.route.gateway, Some(ip(IP_B)));
        assert_eq!(ether(&out.frame).dst, Some(mac_b));
        // A source already set is kept.
        let out = fill_l3(&(Ip::new().src("10.203.0.5").dst(IP_B) / Icmp::new()), None, Duration::from_secs(2)).unwrap();
        assert!(matches!(&out.frame.layers[1], Layer::Ip(h) if h.src == Some("10.203.0.5".parse().unwrap())));
        // Not IP.
        assert!(fill_l3(&Packet::from(Layer::from(Icmp::new())), None, Duration::from_secs(1)).is_err());
    });
}

#[test]
fn unresolvable_neighbour_warns_within_timeout() {
    if !privileged("unresolvable_neighbour_warns_within_timeout") {
        return;
    }
    let lab = routed_lab();
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || {
        let t0 = Instant::now();
        let out = fill_l3(&(Ip::new().dst(NOBODY) / Icmp::new()), None, Duration::from_secs(1)).unwrap();
        let took = t0.elapsed();
        assert_eq!(
            out.warnings,
            vec![format!("could not resolve the MAC of {NOBODY} on {dev} (no ARP reply within 1 s); sending to broadcast")]
        );
        assert_eq!(ether(&out.frame).dst, Some(Mac::BROADCAST));
        assert!(took >= Duration::from_millis(950) && took < Duration::from_millis(1500), "{took:?}");

        let me = Iface::lookup(&dev).unwrap();
        let t0 = Instant::now();
        let got = resolve_mac(&me, ip(NOBODY6), ip(IP6_A), Duration::from_millis(500)).unwrap();
        assert_eq!(got, None);
        assert!(t0.elapsed() < Duration::from_millis(900), "{:?}", t0.elapsed());
        let out = fill_l3(&(Ipv6::new().dst(NOBODY6) / Icmpv6EchoRequest::new()), None, Duration::from_millis(300)).unwrap();
        assert_eq!(
            out.warnings,
            vec![format!(
                "could not resolve the MAC of {NOBODY6} on {dev} (no neighbor advertisement within 300 ms); sending to broadcast"
            )]
        );
        eprintln!("unresolvable: warned after {took:?}");
    });
}
