//! craft::live L3 calls (send, sr, sr1) against the real kernel, in two fresh network
//! namespaces joined by a veth pair with IPv4 and IPv6 addresses. Every frame stays inside
//! namespaces these tests create (see tests/common/netns.rs).

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::lab::lab;
use common::netns::privileged;
use craft::live::{self, SendOpts, SrOpts};
use craft::prelude::*;

const T: Duration = Duration::from_secs(30);

const IP_A: &str = "10.204.0.1";
const IP_B: &str = "10.204.0.2";
const IP6_A: &str = "fd00:c4b0::1";
const IP6_B: &str = "fd00:c4b0::2";
/// On the link, but nobody has it.
const NOBODY: &str = "10.204.0.99";
/// B's addresses that A has no route to.
const OFF_B: &str = "10.99.4.2";
const OFF6_B: &str = "fd00:99:4::2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn sr1_ipv4_and_ipv6_echo() {
    if !privileged("sr1_ipv4_and_ipv6_echo") {
        return;
    }
    let lab = lab("craft-l", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.a.run(T, || {
        let req = Ip::new().dst(IP_B) / Icmp::echo_request(0x6161, 1) / b"craft l3".to_vec();
        let (reply, rtt) = live::sr1(None, req, Duration::from_secs(3)).unwrap().expect("no IPv4 echo reply");
        let Some(Layer::Ip(h)) = reply.layers.first() else { panic!("not IP first: {reply:?}") };
        assert_eq!((h.src.map(IpAddr::V4), IpAddr::V4(h.dst)), (Some(ip(IP_B)), ip(IP_A)), "{reply:?}");
        assert!(reply.find(LayerKind::Icmp).is_some(), "{reply:?}");
        assert!(rtt < Duration::from_secs(3));

        let req = Ipv6::new().dst(IP6_B) / Icmpv6EchoRequest::new().id(0x6262).seq(2);
        let (reply, _) = live::sr1(None, req, Duration::from_secs(3)).unwrap().expect("no IPv6 echo reply");
        let Some(Layer::Ipv6(h)) = reply.layers.first() else { panic!("not IPv6 first: {reply:?}") };
        assert_eq!((h.src.map(IpAddr::V6), IpAddr::V6(h.dst)), (Some(ip(IP6_B)), ip(IP6_A)), "{reply:?}");
        assert!(reply.find(LayerKind::Icmpv6EchoReply).is_some(), "{reply:?}");
    });
}

#[test]
fn sr_answered_unanswered_and_warning() {
    if !privileged("sr_answered_unanswered_and_warning") {
        return;
    }
    let lab = lab("craft-l", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.a.run(T, || {
        let pkts = vec![
            Ip::new().dst(IP_B) / Icmp::echo_request(0x7171, 1),
            Ip::new().dst(NOBODY) / Icmp::echo_request(0x7171, 2),
            Ipv6::new().dst(IP6_B) / Icmpv6EchoRequest::new().id(0x7272).seq(3),
        ];
        let opts = SrOpts { timeout: Duration::from_secs(1), ..SrOpts::default() };
        let r = live::sr(None, &pkts, &opts).unwrap();
        assert_eq!(r.answered.len(), 2, "{r:?}");
        assert_eq!(r.answered.iter().map(|a| a.index).collect::<Vec<_>>(), vec![0, 2]);
        for a in &r.answered {
            assert!(matches!(a.request.layers.first(), Some(Layer::Ip(_) | Layer::Ipv6(_))), "{a:?}");
            assert!(matches!(a.reply.layers.first(), Some(Layer::Ip(_) | Layer::Ipv6(_))), "{a:?}");
        }
        assert_eq!(r.unanswered.len(), 1, "{r:?}");
        let Some(Layer::Ip(h)) = r.unanswered[0].layers.first() else { panic!("{r:?}") };
        assert_eq!((IpAddr::V4(h.dst), h.src.map(IpAddr::V4)), (ip(NOBODY), Some(ip(IP_A))));
        assert!(
            r.warnings.iter().any(|w| w.contains("could not resolve") && w.contains(NOBODY)),
            "{:?}",
            r.warnings
        );

        let rep = live::send(None, &pkts[..1], SendOpts { count: 2, ..SendOpts::default() }).unwrap();
        assert_eq!(rep.sent, 2, "{rep:?}");
    });
}

#[test]
fn sr1_out_of_a_given_interface() {
    if !privileged("sr1_out_of_a_given_interface") {
        return;
    }
    let lab = lab("craft-l", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.add_to_b(&format!("{OFF_B}/32"));
    lab.add_to_b(&format!("{OFF6_B}/128"));
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || {
        let v4 = Ip::new().dst(OFF_B) / Icmp::echo_request(0x6363, 1);
        let v6 = Ipv6::new().dst(OFF6_B) / Icmpv6EchoRequest::new().id(0x6464).seq(1);
        for (req, src, dst) in [(v4, IP_A, OFF_B), (v6, IP6_A, OFF6_B)] {
            // Routed, there is no way there; out of the interface, the source is its address.
            let e = live::sr1(None, req.clone(), Duration::from_millis(200)).unwrap_err();
            assert!(e.to_string().contains("no route"), "{e}");
            let (reply, _) = live::sr1(Some(&dev), req, Duration::from_secs(3)).unwrap().expect("no answer");
            let (from, to) = match reply.layers.first() {
                Some(Layer::Ip(h)) => (h.src.map(IpAddr::V4), IpAddr::V4(h.dst)),
                Some(Layer::Ipv6(h)) => (h.src.map(IpAddr::V6), IpAddr::V6(h.dst)),
                _ => panic!("not IP first: {reply:?}"),
            };
            assert_eq!((from, to), (Some(ip(dst)), ip(src)), "{reply:?}");
        }
    });
}

#[test]
fn non_ip_packet_is_an_error() {
    // No traffic: the check comes before any routing or sending.
    let pkts = vec![Ip::new().dst("10.204.0.2") / Icmp::new(), Ether::new() / Ip::new().dst("10.204.0.2") / Icmp::new()];
    let e = live::sr(None, &pkts, &SrOpts::default()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("packet 1"), "{e}");
    let e = live::send(None, &pkts[1..], SendOpts::default()).unwrap_err();
    assert!(e.to_string().contains("packet 0"), "{e}");
    let e = live::sr1(None, pkts[1].clone(), Duration::from_millis(100)).unwrap_err();
    assert!(e.to_string().contains("packet 0"), "{e}");
}
