//! craft::explain over IPv6, against the real kernel: packets sent from namespace A to B of
//! a fresh pair (IPv6 on, addresses without duplicate address detection), explained by an
//! [`Explainer`] through `craft::explain::report::sendp` / `srp`, while a background flood
//! of bad-MAC IPv6 frames in another pair of namespaces drops thousands a second. Neither
//! the flood nor the kernel's own IPv6 multicast (NDP, MLD, router solicitations) may be
//! blamed on craft. Every frame stays inside namespaces these tests create (tests/common:
//! unique names, removed on drop, panics included).

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::explained::{self, opts, sendp_explained, serial, T};
use common::flood::Flood;
use common::lab::{lab, Lab};
use common::netns::privileged;
use craft::explain::send as report;
use craft::explain::{ExplainOpts, Explainer, Report};
use craft::explain::DropInfo;
use craft::live::SrOpts;
use craft::prelude::*;

/// Each test its own subnets (IPv4 only for the lab's sake; the tests send IPv6).
fn lab6(n: u8) -> (Lab, String, String) {
    let (a6, b6) = (format!("fd00:215:{n}::1"), format!("fd00:215:{n}::2"));
    let lab = lab("cx6", (&format!("10.217.{n}.1"), &format!("10.217.{n}.2")), Some((&a6, &b6)));
    (lab, a6, b6)
}

fn assert_nothing_else_blamed(r: &Report, flood: &Flood) {
    explained::assert_nothing_else_blamed(r, flood, &[" > ff02::"]);
}

/// Send `pkt` (built from the lab and its IPv6 addresses) from A with an explainer running,
/// the IPv6 flood meanwhile; the report.
fn explain_one(name: &str, n: u8, opts: ExplainOpts, build: impl FnOnce(&Lab, &str, &str) -> Packet) -> Option<(Lab, Report)> {
    if !privileged(name) {
        return None;
    }
    let _serial = serial();
    let flood = Flood::v6(n, 25);
    let (lab, a6, b6) = lab6(n);
    let pkt = build(&lab, &a6, &b6);
    let r = sendp_explained(&lab, opts, pkt);
    assert_nothing_else_blamed(&r, &flood);
    Some((lab, r))
}

/// The one drop of packet 0, in B's namespace on B's end of the veth, of an IPv6 packet.
fn the_drop<'a>(lab: &Lab, r: &'a Report) -> &'a DropInfo {
    let d = explained::the_drop(lab, r);
    assert!(d.summary.starts_with("IPv6 "), "{d:#?}");
    d
}

#[test]
fn udp6_to_a_closed_port_is_no_socket_and_the_port_unreachable_is_not_blamed() {
    let Some((lab, r)) = explain_one("udp6_to_a_closed_port_is_no_socket_and_the_port_unreachable_is_not_blamed", 1, opts(), |lab, a, b| {
        Ether::new().dst(lab.mac_b) / Ipv6::new().src(a).dst(b) / Udp::new().sport(4001).dport(4002) / b"anyone?".to_vec()
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("NO_SOCKET", "__udp6_lib_rcv"), "{d:#?}");
    // B answers with an ICMPv6 port unreachable quoting the packet: if A's kernel drops it,
    // it is a reply to packet 0, never packet 0's fate.
    for rep in &r.replies_dropped {
        assert_eq!(rep.answers, Some(0), "{rep:#?}");
        assert!(rep.summary.contains("ICMPv6"), "{rep:#?}");
    }
    eprintln!("{} replies dropped", r.replies_dropped.len());
}

#[test]
fn ipv6_with_a_wrong_dst_mac_is_otherhost_with_both_macs() {
    let Some((lab, r)) = explain_one("ipv6_with_a_wrong_dst_mac_is_otherhost_with_both_macs", 2, opts(), |lab, a, b| {
        Ether::new().dst("02:00:00:00:00:99").src(lab.mac_a) / Ipv6::new().src(a).dst(b) / Udp::new().sport(4001).dport(4000)
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("OTHERHOST", "ip6_rcv_core"), "{d:#?}");
    assert!(d.hint.contains("the destination MAC 02:00:00:00:00:99 is not the receiving interface's"), "{}", d.hint);
    assert!(d.hint.contains(&lab.mac_b.to_string()), "{} should name {}", d.hint, lab.mac_b);
}

#[test]
fn ipv6_udp_delivered_to_a_listening_socket_is_not_dropped() {
    let name = "ipv6_udp_delivered_to_a_listening_socket_is_not_dropped";
    let mut sock: Option<UdpSocket> = None;
    let Some((_lab, r)) = explain_one(name, 3, opts(), |lab, a, b| {
        let bind = format!("[{b}]:4003");
        let s = lab.b.run(T, move || UdpSocket::bind(bind)).expect("bind in B");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        sock = Some(s);
        Ether::new().dst(lab.mac_b) / Ipv6::new().src(a).dst(b) / Udp::new().sport(4001).dport(4003) / b"hello6".to_vec()
    }) else {
        return;
    };
    let mut buf = [0u8; 64];
    let (n, from) = sock.unwrap().recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!(&buf[..n], b"hello6");
    assert_eq!(from.port(), 4001);
    assert!(!r.packets[0].dropped(), "{:#?}", r.packets[0]);
    assert!(r.replies_dropped.is_empty(), "{:#?}", r.replies_dropped);
    assert!(r.text().contains("packet 0 (Ether / IPv6 ") && r.text().contains("): not dropped"), "{}", r.text());
}

/// An ICMPv6 echo request, sent with `report::srp`: B answers (B first resolves A's address
/// with NDP, multicast), the answer reaches A. The request is not dropped; A's kernel, with
/// no ping socket for the id, may drop the echo reply: then it is listed as a reply to
/// packet 0, never as packet 0's fate.
#[test]
fn icmpv6_echo_answered_is_not_dropped_and_the_reply_not_blamed() {
    let name = "icmpv6_echo_answered_is_not_dropped_and_the_reply_not_blamed";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    let flood = Flood::v6(4, 25);
    let (lab, a6, b6) = lab6(4);
    let req = Ether::new().dst(lab.mac_b) / Ipv6::new().src(a6.as_str()).dst(b6.as_str()) / Icmpv6EchoRequest::new().id(0x6b6b).seq(7) / b"ping6".to_vec();
    let ex = Explainer::start(opts()).expect("Explainer::start");
    let dev = lab.veth.a.clone();
    let (ex, res) = lab.a.run(T, move || {
        let mut ex = ex;
        let res = report::srp(&mut ex, &dev, &[req], &SrOpts { timeout: Duration::from_secs(3), ..SrOpts::default() }).expect("srp");
        (ex, res)
    });
    let r = ex.finish(None).expect("finish");
    eprint!("{}", r.text());
    assert_eq!(res.answered.len(), 1, "no echo reply: {res:?}");
    let answer = res.answered[0].reply.summary();
    assert!(answer.contains("ICMPv6") && answer.contains(&format!("IPv6 {b6} > {a6}")), "{answer}");
    assert_eq!(r.packets.len(), 1);
    assert!(!r.packets[0].dropped(), "{:#?}", r.packets[0]);
    for rep in &r.replies_dropped {
        assert_eq!(rep.answers, Some(0), "{rep:#?}");
        assert_eq!(rep.netns_name.as_deref(), Some(lab.a.name.as_str()), "{rep:#?}");
        assert!(rep.summary.contains(&format!("IPv6 {b6} > {a6}")), "{rep:#?}");
        eprintln!("the echo reply was dropped in A at {}: {}", rep.symbol, rep.reason);
    }
    assert_eq!(r.lost, 0);
    assert_nothing_else_blamed(&r, &flood);
}

/// CLOCK_MONOTONIC now, in nanoseconds (what bpf_ktime_get_ns counts).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec to write to.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) }, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// With the path traced: the drop carries the time it happened (between the send and the
/// report, on the hops' clock) and takes its place after A's transmit and B's receive.
#[test]
fn the_drop_has_its_time_and_the_path_is_in_time_order() {
    let before = monotonic_ns();
    let Some((lab, r)) = explain_one("the_drop_has_its_time_and_the_path_is_in_time_order", 5, ExplainOpts { trace: true, ..opts() }, |lab, a, b| {
        Ether::new().dst("02:00:00:00:00:99").src(lab.mac_a) / Ipv6::new().src(a).dst(b) / Udp::new().sport(4001).dport(4005)
    }) else {
        return;
    };
    let after = monotonic_ns();
    the_drop(&lab, &r);
    let path = r.packets[0].path.as_ref().expect("a path");
    let names = &r.trace.as_ref().unwrap().names;
    let want = format!("{} {} tx → {} {} rx → dropped at ip6_rcv_core: OTHERHOST", lab.a.name, lab.veth.a, lab.b.name, lab.veth.b);
    assert_eq!(path.line(names), want);
    let times: Vec<u64> = path.steps.iter().map(|s| s.time_ns()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let drop_t = path.dropped().unwrap().time_ns;
    assert!(before < drop_t && drop_t < after, "drop at {drop_t}, not within [{before}, {after}]");
}
