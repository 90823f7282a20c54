//! The L4 checksums the build computes from the sums the inner layers hand back (UDP over
//! GUE over IP over TCP, TCP over Raw) are the ones summed from the bytes built: random
//! stacks under UDP and TCP, odd-length loads and headers, forced inner checksums,
//! options and trailing Padding, each checksum verified over the bytes by hand.

use craft::checksum::{fold, partial};
use craft::prelude::*;
use proptest::prelude::*;

/// One inner layer, from a generated choice and a value that shapes it.
fn inner_layer(choice: u8, v: u32) -> Layer {
    let load = |n: usize| (0..n).map(|i| (v as usize * 31 + i * 7) as u8).collect::<Vec<u8>>();
    match choice % 9 {
        0 => Gue::new().data(load(4 * (v as usize % 3))).into(),
        1 => {
            let ip = Ip::new().src("10.1.0.1").dst("10.1.0.2").id(v as u16);
            let ip = if v & 1 == 1 { ip.options(load(4 + v as usize % 5)) } else { ip };
            if v & 2 == 2 { ip.chksum(v as u16).into() } else { ip.into() }
        }
        2 => Ipv6::new().src("2001:db8::1").dst("2001:db8::2").into(),
        3 => {
            let tcp = Tcp::new().sport(v as u16).flags("S").seq(v);
            let tcp = if v & 1 == 1 { tcp.options(vec![TcpOption::Mss(1400 + v as u16 % 100)]) } else { tcp };
            if v & 2 == 2 { tcp.chksum(v as u16 ^ 0x5a5a).into() } else { tcp.into() }
        }
        4 => Udp::new().sport(v as u16).dport(9).into(),
        5 => Raw::new().load(load(v as usize % 41)).into(),
        6 => Icmp::new().id(v as u16).into(),
        7 => Ether::new().into(),
        _ => Vxlan::new().vni(v & 0xff_ffff).into(),
    }
}

/// The bytes from `at` to the end of what an IP header at `ip_at` announces, and the
/// pseudo-header's partial sum for them with `proto`; None when no IP header is there.
fn segment<'a>(bytes: &'a [u8], ip: &Layer, ip_at: usize, at: usize, proto: u8) -> Option<(&'a [u8], u64)> {
    let (end, addrs) = match ip {
        Layer::Ip(_) => {
            let h = bytes.get(ip_at..ip_at + 20)?;
            (ip_at + u16::from_be_bytes([h[2], h[3]]) as usize, &h[12..20])
        }
        Layer::Ipv6(_) => {
            let h = bytes.get(ip_at..ip_at + 40)?;
            (ip_at + 40 + u16::from_be_bytes([h[4], h[5]]) as usize, &h[8..40])
        }
        _ => return None,
    };
    let seg = bytes.get(at..end.min(bytes.len()))?;
    Some((seg, partial(addrs) + proto as u64 + seg.len() as u64))
}

/// Every auto UDP or TCP checksum right behind an IP header verifies over the bytes.
fn assert_checksums_verify(p: &Packet) {
    let bytes = p.build();
    let mut at = 0;
    let mut starts = Vec::new();
    for l in &p.layers {
        starts.push(at);
        at += l.header_len();
    }
    for (i, l) in p.layers.iter().enumerate().skip(1) {
        let proto = match l {
            Layer::Udp(u) if u.chksum.is_none() => 17,
            Layer::Tcp(t) if t.chksum.is_none() => 6,
            _ => continue,
        };
        // With IPv4 options the auto checksum still covers the real addresses (no source
        // route here): only the header length differs, which `segment` does not need.
        let Some((seg, pseudo)) = segment(&bytes, &p.layers[i - 1], starts[i - 1], starts[i], proto) else { continue };
        assert_eq!(fold(pseudo + partial(seg)), 0, "layer {i} ({}) of {p:?}\n{bytes:02x?}", l.kind().name());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn l4_checksums_over_summed_layers_verify(
        outer_udp in any::<bool>(),
        inner in proptest::collection::vec((any::<u8>(), any::<u32>()), 0..6),
        padding in 0..3usize,
    ) {
        let ip = Ip::new().src("10.0.0.1").dst("10.0.0.2");
        let mut p = if outer_udp {
            Ether::new() / ip / Udp::new().sport(7).dport(6080)
        } else {
            Ether::new() / ip / Tcp::new().flags("PA")
        };
        for (choice, v) in inner {
            p.layers.push(inner_layer(choice, v));
        }
        if padding > 0 {
            p.layers.push(Padding::new().load(vec![0xee; padding]).into());
        }
        assert_checksums_verify(&p);
    }
}

/// A load of odd length before more layers puts their bytes at odd offsets of the UDP
/// checksum: their sums are taken byte-swapped.
#[test]
fn odd_load_before_more_layers() {
    let p = Ether::new() / Ip::new().dst("10.0.0.2") / Udp::new() / &b"odd"[..] / Tcp::new() / &b"x"[..];
    assert_checksums_verify(&p);
    assert_eq!(p.layers.len(), 6);
}
