//! Bounded property tests over the dissector (CI runs them; cargo fuzz runs the same
//! properties without a bound): any bytes dissect without panicking, and building what
//! was dissected gives the same bytes back — nothing the input had is lost.

use craft::check::check_bytes;
use craft::layer::DissectCx;
use craft::prelude::*;
use proptest::prelude::*;

const STARTS: &[LayerKind] = &[LayerKind::Ether, LayerKind::Ip, LayerKind::Ipv6];

/// Well-formed packets of every family, so that mutations reach deep layers.
fn seeds() -> Vec<(LayerKind, Vec<u8>)> {
    let ip = || Ip::new().src("10.0.0.1").dst("10.0.0.2");
    let ip6 = || Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
    let eth = || Ether::new().src("02:00:00:00:00:01").dst("02:00:00:00:00:02");
    let syn = Tcp::new().flags("S").options(vec![TcpOption::Mss(1460), TcpOption::Nop, TcpOption::WScale(7)]);
    let pkts = [
        eth() / ip() / syn.clone() / &b"payload"[..],
        eth() / Dot1Q::new().vlan(7) / Dot1Q::new() / ip() / Udp::new() / &b"x"[..],
        eth() / Arp::new(),
        eth() / ip() / Udp::new() / Gue::new() / ip() / syn.clone(),
        eth() / ip() / Udp::new() / Gue::new().ver(1) / ip6() / syn.clone(),
        eth() / ip().options(craft::layers::ip::opt::rr(&["1.1.1.1".parse().unwrap()])) / Icmp::new() / &b"ping"[..],
        eth() / ip() / Icmp::new().r#type(3).code(3) / ip() / Udp::new(),
        eth() / ip6() / HopByHop::new() / Fragment::new() / Udp::new(),
        eth() / ip6() / Routing::new().addresses(vec!["2001:db8::9".parse().unwrap()]) / syn,
        eth() / ip6() / Icmpv6EchoRequest::new(),
        eth() / ip6() / Icmpv6PacketTooBig::new() / ip6() / Udp::new(),
        eth() / ip6() / Icmpv6NdNs::new() / Icmpv6NdOptSrcLladdr::new(),
        eth() / ip6() / Icmpv6NdRa::new() / Icmpv6NdOptMtu::new() / Icmpv6NdOptPrefixInfo::new()
            / Icmpv6NdOptRdnss::new().dns(vec!["2001:db8::53".parse().unwrap()]) / Icmpv6NdOptUnknown::new().data(b"ab".to_vec()),
        eth() / ip6() / Icmpv6NdRedirect::new() / Icmpv6NdOptRedirectedHdr::new().pkt((ip6() / Udp::new()).build()),
        eth() / ip6() / Icmpv6MlQuery2::new().sources(vec!["2001:db8::9".parse().unwrap()]),
        eth() / ip6() / Icmpv6MlReport2::new() / Icmpv6MldMultAddrRec::new().sources(vec!["2001:db8::9".parse().unwrap()]),
        eth() / ip6().plen(0) / HopByHop::new().options(craft::layers::ipv6ext::opt::jumbo(16)) / Udp::new() / &b"12345678"[..],
        eth() / ip().ihl(4) / Tcp::new(),
        // The common stacks dissect's fast path takes (and its ways out: padding, options).
        eth() / ip() / Tcp::new().flags("S"),
        eth() / ip() / Udp::new().sport(4000).dport(5000) / &b"0123456789abcdef"[..],
        eth() / ip() / Udp::new() / &b"01234567"[..] / Padding::new().load(b"pad"),
        eth() / ip6() / Tcp::new().flags("PA") / &b"data"[..],
        eth() / ip6() / Udp::new() / &b"v6"[..],
    ];
    let mut out: Vec<_> = pkts.iter().map(|p| (LayerKind::Ether, p.build())).collect();
    out.push((LayerKind::Ip, (ip() / Tcp::new()).build()));
    out.push((LayerKind::Ipv6, (ip6() / Udp::new()).build()));
    out
}

fn assert_lossless(bytes: &[u8], start: LayerKind) {
    let p = Packet::dissect(bytes, start);
    assert!(p.layers.len() <= craft::packet::MAX_DEPTH + 2);
    assert_eq!(p.build(), bytes, "dissect then build changed the bytes of {p:?}");
    // Into a reused buffer holding other bytes: the build writes every byte.
    let mut dirty = vec![0xa5; bytes.len() + 64];
    p.build_into(&mut dirty);
    assert_eq!(dirty, bytes, "build_into a used buffer differs for {p:?}");
    let _ = p.summary();
    let _ = p.show();
    let _ = check_bytes(bytes, start, &DissectCx::default());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_lossless(bytes in proptest::collection::vec(any::<u8>(), 0..200), start in 0..3usize) {
        assert_lossless(&bytes, STARTS[start]);
    }

    #[test]
    fn mutated_packets_are_lossless(
        seed in 0..64usize,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let all = seeds();
        let (start, mut bytes) = all[seed % all.len()].clone();
        for (at, v) in flips {
            let n = bytes.len();
            bytes[at % n] = v;
        }
        let cut = cut % (bytes.len() + 1);
        assert_lossless(&bytes[..cut.max(bytes.len() / 2)], start);
    }

    /// A packet dissected into one that held others (as sniff and pcap reading reuse one)
    /// is the packet a fresh dissect gives: layers overwritten in place, the fast path for
    /// the common stacks and its ways back to the general walk leave nothing behind.
    #[test]
    fn dissect_into_reused_packet_is_fresh_dissect(
        picks in proptest::collection::vec((0..64usize, any::<usize>(), any::<u8>(), any::<usize>()), 1..12),
    ) {
        let all = seeds();
        let cx = DissectCx::default();
        let mut reused = Packet::new();
        for (seed, at, v, cut) in picks {
            let (start, mut bytes) = all[seed % all.len()].clone();
            // Half of them as built (the fast path's case), half with one byte changed.
            if v & 1 == 1 {
                let n = bytes.len();
                bytes[at % n] = v;
            }
            let bytes = &bytes[..(cut % (bytes.len() + 1)).max(bytes.len() * 3 / 4)];
            reused.dissect_into(bytes, start, &cx);
            prop_assert_eq!(&reused, &Packet::dissect(bytes, start), "{:02x?}", bytes);
        }
    }
}

#[test]
fn seeds_round_trip_exactly() {
    for (start, bytes) in seeds() {
        let p = Packet::dissect(&bytes, start);
        assert!(!p.layers.iter().any(|l| matches!(l, Layer::Raw(r) if r.truncated.is_some())), "{p:?}");
        assert_eq!(p.build(), bytes);
    }
}

/// Inputs the fuzzer found (first byte dropped: it chose the start layer).
#[test]
fn fuzz_regressions() {
    // TCP options of 8 zero bytes: EOL, then zeros past the 4-byte padding.
    let ip_tcp_zero_options = "00094100000000003a0600270000000100047e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e000a0021000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000fb0000000ffbf80000450000f92000";
    let bytes: Vec<u8> = (0..ip_tcp_zero_options.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&ip_tcp_zero_options[i..i + 2], 16).unwrap())
        .collect();
    assert_lossless(&bytes, LayerKind::Ip);
}
