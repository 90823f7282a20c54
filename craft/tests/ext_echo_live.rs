//! RFC 8335 extended echo (PROBE) against the Linux kernel's responder: craft's `sr` sends
//! ICMPv6 extended echo requests from namespace A to namespace B, where the test turns on
//! `net.ipv4.icmp_echo_enable_probe` (it applies to ICMPv6 too), probing B's interfaces by
//! name, index and address; the kernel's replies must dissect with the bits that describe
//! those interfaces. Every frame stays inside the namespaces and veth pair the test creates
//! (tests/common/netns.rs).

mod common;

use std::time::Duration;

use common::lab::{iface_in, lab};
use common::netns::privileged;
use craft::check::check_bytes;
use craft::layer::DissectCx;
use craft::live::{self, SrOpts};
use craft::prelude::*;

const T: Duration = Duration::from_secs(30);

const IP_A: &str = "10.203.0.1";
const IP_B: &str = "10.203.0.2";
const IP6_A: &str = "fd00:203::1";
const IP6_B: &str = "fd00:203::2";

fn request(seq: u8, object: impl Into<Layer>) -> Packet {
    Ipv6::new().src(IP6_A).dst(IP6_B) / Icmpv6ExtEchoRequest::new().id(0x8335).seq(seq) / IcmpExtHeader::new() / object
}

fn ident() -> IcmpExtInterfaceId {
    IcmpExtInterfaceId::new()
}

/// (code, state, A, 4, 6) of a reply.
type Bits = (u8, u8, u8, u8, u8);

fn bits(reply: &Packet) -> Bits {
    let Some(Layer::Icmpv6ExtEchoReply(r)) = reply.find(LayerKind::Icmpv6ExtEchoReply) else { panic!("not an extended echo reply: {reply:?}") };
    (r.code, r.state, r.active, r.ipv4, r.ipv6)
}

#[test]
fn linux_answers_probes_by_name_index_and_address() {
    if !privileged("linux_answers_probes_by_name_index_and_address") {
        return;
    }
    let lab = lab("craft-x", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.b.cmd("sysctl", &["-q", "-w", "net.ipv4.icmp_echo_enable_probe=1"]).expect("sysctl in B");
    // A second interface in B (one end of a veth pair inside B): down, IPv4 address only.
    lab.b.exec(&["link", "add", "xdown0", "type", "veth", "peer", "name", "xdown1"]);
    lab.b.exec(&["addr", "add", "10.203.9.1/24", "dev", "xdown0"]);
    let vb = lab.veth.b.clone();
    let vb_index = iface_in(&lab.b, &vb).ifindex as u32;

    let probes = vec![
        request(1, ident().ifname(vb.as_bytes().to_vec())),
        request(2, ident().classtype(2).ifindex(vb_index)),
        request(3, ident().classtype(3).ip4(IP_B)),
        request(4, ident().classtype(3).afi(2).ip6(IP6_B)),
        request(5, ident().ifname(b"xdown0".to_vec())),
        request(6, ident().ifname(b"nosuch0".to_vec())),
        // An index object of 12 bytes: craft check calls it malformed, so does the kernel.
        request(7, IcmpExtObject::new().classnum(3).classtype(2).data(vec![0, 0, 0, 1, 0, 0, 0, 0])),
        // 13 bytes padded to 16: Linux takes names under 16 bytes as padded (IFNAMSIZ).
        request(8, ident().ifname(b"xdown0-twelve".to_vec())),
    ];
    let malformed: Vec<String> = check_bytes(&probes[6].build(), LayerKind::Ipv6, &DissectCx::default()).into_iter().map(|p| p.msg).collect();
    assert!(malformed.iter().any(|m| m.contains("Malformed Query")), "{malformed:?}");
    let long: Vec<String> = check_bytes(&probes[7].build(), LayerKind::Ipv6, &DissectCx::default()).into_iter().map(|p| p.msg).collect();
    assert!(long.iter().any(|m| m.contains("Malformed Query")), "{long:?}");
    for p in &probes[..6] {
        assert!(check_bytes(&p.build(), LayerKind::Ipv6, &DissectCx::default()).is_empty(), "{}", p.summary());
    }

    let dev = lab.veth.a.clone();
    let res = lab.a.run(T, move || {
        let opts = SrOpts { timeout: Duration::from_secs(3), retry: 2, ..SrOpts::default() };
        live::sr(Some(&dev), &probes, &opts).expect("sr")
    });
    assert!(res.unanswered.is_empty(), "unanswered: {:?}", res.unanswered.iter().map(Packet::summary).collect::<Vec<_>>());
    let mut got: Vec<(usize, Bits)> = res.answered.iter().map(|a| (a.index, bits(&a.reply))).collect();
    got.sort();
    let up_v4_v6 = (0, 0, 1, 1, 1);
    assert_eq!(
        got,
        [
            (0, up_v4_v6),
            (1, up_v4_v6),
            (2, up_v4_v6),
            (3, up_v4_v6),
            // Down, IPv4 only.
            (4, (0, 0, 0, 1, 0)),
            // No Such Interface, Malformed Query.
            (5, (2, 0, 0, 0, 0)),
            (6, (1, 0, 0, 0, 0)),
            (7, (1, 0, 0, 0, 0)),
        ]
    );
    for a in &res.answered {
        let bytes = a.reply.build();
        // The kernel's checksums verify (craft check finds nothing), and the reply rebuilds
        // to the bytes received; Linux echoes the request's extension structure after it.
        let problems: Vec<String> = check_bytes(&bytes, LayerKind::Ipv6, &DissectCx::default()).into_iter().map(|p| p.msg).collect();
        let wanted: &[&str] = if a.index >= 6 { &["Malformed Query"] } else { &[] };
        assert_eq!(problems.len(), wanted.len(), "reply {}: {problems:?}", a.index);
        let Some(Layer::Icmpv6ExtEchoReply(r)) = a.reply.find(LayerKind::Icmpv6ExtEchoReply) else { unreachable!() };
        assert_eq!((r.id, r.seq as usize), (0x8335, a.index + 1));
        assert!(a.reply.find(LayerKind::IcmpExtHeader).is_some(), "{}", a.reply.summary());
    }
}
