//! check: everything inconsistent in a packet or in raw bytes.
//!
//! Derived fields (lengths, checksums, header lengths) are checked generically: each one
//! is reset to auto, the packet rebuilt, and the value the builder computes compared
//! with the one present. Layers add what only they can see ([`crate::layer::Proto::check`]).
//! Next-protocol selectors (type, proto, nh, dport) are not re-derived: the dissector
//! followed them, so they always agree with what was decoded.

use std::fmt;

use crate::field::{Derived, Value};
use crate::layer::DissectCx;
use crate::packet::{Layer, LayerKind, Packet};


/// One inconsistency.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Index of the layer it is about.
    pub layer: usize,
    pub msg: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Checks the packet as it builds.
pub fn check_packet(p: &Packet) -> Vec<Problem> {
    match p.layers.first() {
        Some(first) => check_bytes(&p.build(), first.kind(), &DissectCx::default()),
        None => Vec::new(),
    }
}

/// Checks bytes dissected from `start`.
pub fn check_bytes(bytes: &[u8], start: LayerKind, cx: &DissectCx) -> Vec<Problem> {
    check_inner(bytes, start, cx, false)
}

/// Checks a frame of a capture, which kept `bytes` of the `wire_len` bytes the packet had.
/// When the capture cut it short (a snaplen), what only the missing bytes could settle is
/// not reported: length fields, checksums over a payload (the IPv4 header checksum still
/// is), the header cut short. That is the capture's doing, not the packet's.
pub fn check_captured(bytes: &[u8], wire_len: usize, start: LayerKind, cx: &DissectCx) -> Vec<Problem> {
    check_inner(bytes, start, cx, bytes.len() < wire_len)
}

fn check_inner(bytes: &[u8], start: LayerKind, cx: &DissectCx, cut: bool) -> Vec<Problem> {
    let pkt = Packet::dissect_with(bytes, start, cx);
    let offsets = offsets(&pkt);
    let quoted_from = quote_start(&pkt);
    let mut out = Vec::new();
    for (i, layer) in pkt.layers.iter().enumerate() {
        // An IP header whose ihl is wrong (see `Ip::misframed`) puts every layer after it
        // at the wrong offset: what they would show is noise, the ihl finding says why.
        if i > 0 && matches!(&pkt.layers[i - 1], Layer::Ip(ip) if ip.misframed().is_some()) {
            break;
        }
        let in_quote = quoted_from.is_some_and(|q| i >= q);
        let mut msgs = Vec::new();
        layer.check(&bytes[offsets[i].min(bytes.len())..], cx, &mut msgs);
        for (field, derived) in derived_fields(layer.kind()) {
            let ip_header_checksum = layer.kind() == LayerKind::Ip && derived == Derived::Checksum;
            // A quoted packet is cut short on purpose: only its IP header checksum holds.
            if in_quote && !ip_header_checksum {
                continue;
            }
            // A frame the capture cut: only the IPv4 header checksum covers bytes all present.
            if cut && !ip_header_checksum && derived != Derived::HeaderLength {
                continue;
            }
            if let Some(m) = check_derived(&pkt, i, field, derived, bytes.len() - offsets[i].min(bytes.len()), cx) {
                msgs.push(m);
            }
        }
        if let Layer::Raw(r) = layer {
            if let Some(what) = r.truncated.filter(|_| !cut) {
                msgs.push(format!("{what} header cut short: only {} bytes present", r.load.len()));
            }
            if let Some(what) = r.malformed {
                msgs.push(malformed(&pkt, i, what, &r.load));
            }
        }
        if let Layer::Padding(p) = layer {
            if bytes.len() > 60 && !p.load.is_empty() {
                msgs.push(format!("{} bytes past the last length field (Padding)", p.load.len()));
            }
        }
        out.extend(msgs.into_iter().map(|msg| Problem { layer: i, msg }));
    }
    out
}

/// What `craft check` says about bytes announced as `what` that cannot be one: the layer's
/// reason, the EtherType that announced it, and that the bytes are left undecoded.
fn malformed(p: &Packet, i: usize, what: &str, load: &[u8]) -> String {
    let kind = LayerKind::from_name(what);
    let why = kind.and_then(|k| k.malformed(load)).unwrap_or_else(|| format!("not a {what} header"));
    let announced = match (i.checked_sub(1).map(|j| &p.layers[j]), kind.and_then(LayerKind::ethertype)) {
        (Some(l @ (Layer::Ether(_) | Layer::Dot1Q(_))), Some(t)) if why.contains(" version is ") => {
            let family = if what == "IP" { "IPv4" } else { what };
            format!(", though {} type {t:#06x} announces {family}", l.kind().name())
        }
        _ => String::new(),
    };
    format!("{why}{announced}: the {} bytes from here are left undecoded (Raw)", load.len())
}

/// Where each layer starts in the bytes.
fn offsets(p: &Packet) -> Vec<usize> {
    let mut at = 0;
    p.layers
        .iter()
        .map(|l| {
            let start = at;
            at += l.header_len();
            start
        })
        .collect()
}

/// The index of the first layer quoted by an ICMP or ICMPv6 error, if any.
fn quote_start(p: &Packet) -> Option<usize> {
    p.layers.iter().position(Layer::is_icmp_error).map(|i| i + 1)
}


/// The derived fields of a layer (see [`crate::field::FieldInfo::derived`]): lengths, then
/// header lengths, checksums and counts, each in declaration order.
fn derived_fields(kind: LayerKind) -> impl Iterator<Item = (&'static str, Derived)> {
    let fields = kind.fields();
    [Derived::Length, Derived::HeaderLength, Derived::Checksum, Derived::Count]
        .into_iter()
        .flat_map(move |d| fields.iter().filter(move |f| f.derived == Some(d)).map(move |f| (f.name, d)))
}

/// Compares a derived field with the value the builder computes for it.
fn check_derived(p: &Packet, i: usize, field: &str, derived: Derived, bytes_here: usize, cx: &DissectCx) -> Option<String> {
    let layer = &p.layers[i];
    let info = layer.kind().fields().iter().find(|f| f.name == field)?;
    let present = layer.get(field).filter(|v| *v != Value::None)?;
    // IP len 0 and IPv6 plen 0 (TSO/GSO captures, jumbograms): the layer's own check
    // explains them.
    if matches!(layer.kind(), LayerKind::Ip | LayerKind::Ipv6) && derived == Derived::Length && present == Value::Int(0) {
        return None;
    }
    let mut auto = p.clone();
    auto.layers[i].set(field, &Value::None).ok()?;
    // Dissected as the packet was (GUE on the same ports), so the layers line up.
    let rebuilt = Packet::dissect_with(&auto.build(), p.layers[0].kind(), cx);
    let computed = rebuilt.layers.get(i).filter(|l| l.kind() == layer.kind())?.get(field)?;
    if computed == present {
        return None;
    }
    let name = layer.kind().name();
    if derived == Derived::Checksum {
        // UDP over IPv4 may carry no checksum at all.
        if layer.kind() == LayerKind::Udp && present == Value::Int(0) && !over_ipv6(p, i) {
            return None;
        }
        return Some(format!("{name} {field} {} is wrong, should be {}", info.show(&present), info.show(&computed)));
    }
    let (Value::Int(have), Value::Int(want)) = (&present, &computed) else {
        return Some(format!("{name} {field} is {}, should be {}", info.show(&present), info.show(&computed)));
    };
    let lengths = matches!(layer.kind(), LayerKind::Ip | LayerKind::Ipv6 | LayerKind::Udp);
    let detail = match derived {
        _ if !lengths => String::new(),
        Derived::Length if have > want => format!(" ({} bytes missing: {bytes_here} present)", have - want),
        Derived::Length => format!(" ({} bytes of payload past it)", want - have),
        _ => String::new(),
    };
    Some(format!("{name} {field} is {have}, should be {want}{detail}"))
}

fn over_ipv6(p: &Packet, i: usize) -> bool {
    p.layers[..i].iter().rev().find_map(|l| match l {
        Layer::Ip(_) => Some(false),
        Layer::Ipv6(_) => Some(true),
        _ => None,
    }) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn ip() -> Ip {
        Ip::new().src("10.0.0.1").dst("10.0.0.2")
    }

    fn msgs(p: &Packet) -> Vec<String> {
        check_packet(p).into_iter().map(|p| p.msg).collect()
    }

    #[test]
    fn clean_packet_has_no_problems() {
        let p = Ether::new().src("02:00:00:00:00:01") / ip() / Tcp::new() / &b"hi"[..];
        assert_eq!(msgs(&p), Vec::<String>::new());
    }

    #[test]
    fn wrong_checksums_report_the_right_value() {
        let p = ip().chksum(0x1234) / Udp::new().chksum(0x4321);
        let m = msgs(&p);
        let good = (ip() / Udp::new()).build();
        let right_ip = u16::from_be_bytes([good[10], good[11]]);
        assert!(m.contains(&format!("IP chksum 0x1234 is wrong, should be {right_ip:#x}")), "{m:?}");
        assert!(m.iter().any(|s| s.starts_with("UDP chksum 0x4321 is wrong, should be 0x")), "{m:?}");
    }

    #[test]
    fn ip_len_longer_than_bytes() {
        let p = ip().len(60) / Udp::new();
        let m = msgs(&p);
        assert!(m.contains(&"IP len is 60, should be 28 (32 bytes missing: 28 present)".to_string()), "{m:?}");
    }

    #[test]
    fn ihl_and_dataofs_out_of_range() {
        // As tshark, an IP header with ihl below 5 is not decoded: one finding says why.
        let m = msgs(&(ip().ihl(4) / Tcp::new().dataofs(4)));
        assert_eq!(m, ["IP ihl is 4 (16 bytes), below the minimum 5: the 40 bytes from here are left undecoded (Raw)"]);
        let m = msgs(&(ip() / Tcp::new().dataofs(4)));
        assert!(m.iter().any(|s| s.contains("TCP dataofs 4 is below the minimum")), "{m:?}");
    }

    #[test]
    fn ihl_too_large_is_named_first_and_alone() {
        // The load balancer's fixture: IP(ihl=6) without options, TCP right after.
        let p = Ether::new().src("02:00:00:00:00:01").dst("02:00:00:00:00:02")
            / Ip::new().src("192.168.1.1").dst("10.200.1.1").ihl(6)
            / Tcp::new().sport(31337).dport(80).flags("A")
            / &b"katran test pkt"[..];
        let m = msgs(&p);
        assert!(m[0].starts_with("IP ihl is 6 (24 bytes), but its 4 option bytes (7a690050) are not options"), "{m:?}");
        assert!(m[0].contains("option 0x7a at byte 0 has length 105, past the header"), "{m:?}");
        // The checksum was computed over 20 bytes: a receiver drops it for that too.
        assert!(m[1].starts_with("IP chksum 0x"), "{m:?}");
        assert_eq!(m.len(), 2, "{m:?}");
        // scapy's default sport (20) puts EOL first, then nonzero bytes.
        let m = msgs(&(ip().ihl(6) / Tcp::new()));
        assert!(m[0].contains("nonzero bytes after EOL at byte 0"), "{m:?}");
        // Real options are no misframing.
        let ok = ip().ihl(6).options(crate::layers::ip::opt::router_alert());
        assert_eq!(msgs(&(ok / Tcp::new())), Vec::<String>::new());
    }

    #[test]
    fn mld_counts_are_checked() {
        let v6 = || Ipv6::new().src("fe80::1").dst("ff02::16");
        let rec = || Icmpv6MldMultAddrRec::new().dst("ff02::fb");
        assert_eq!(msgs(&(v6() / Icmpv6MlReport2::new() / rec() / rec())), Vec::<String>::new());
        let m = msgs(&(v6() / Icmpv6MlReport2::new().records_number(3) / rec()));
        assert_eq!(m, ["ICMPv6MLReport2 records_number is 3, should be 1"]);
        let m = msgs(&(v6() / Icmpv6NdRs::new() / Icmpv6NdOptRdnss::new().len(2)));
        assert!(m.contains(&"ICMPv6NDOptRDNSS len is 2, should be 1".to_string()), "{m:?}");
    }

    #[test]
    fn version_against_ethertype() {
        let eth = || Ether::new().src("02:00:00:00:00:01").dst("02:00:00:00:00:02");
        let m = msgs(&(eth().r#type(0x86dd) / ip() / Tcp::new()));
        assert_eq!(m, ["IPv6 version is 4, not 6: an IPv4 header, though Ether type 0x86dd announces IPv6: the 40 bytes from here are left undecoded (Raw)"]);
        let v6 = Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
        let m = msgs(&(eth().r#type(0x0800) / v6 / Tcp::new()));
        assert_eq!(m, ["IP version is 6, not 4: an IPv6 header, though Ether type 0x0800 announces IPv4: the 60 bytes from here are left undecoded (Raw)"]);
    }

    #[test]
    fn zero_lengths_are_explained_once() {
        let m = msgs(&(ip().len(0) / Udp::new() / &b"x"[..]));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with("IP len is 0: the packet is taken to run to the end of the bytes (29 in all)"), "{m:?}");
        let v6 = || Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
        let m = msgs(&(v6().plen(0) / Tcp::new() / &b"big tcp"[..]));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with("IPv6 plen is 0 and no Hop-by-Hop Jumbo option follows"), "{m:?}");
        assert!(m[0].contains("(27)"), "{m:?}");
        // A jumbogram built by craft: plen 0 and the Jumbo option's length are automatic.
        let jumbo = HopByHop::new().options(crate::layers::ipv6ext::opt::jumbo(0));
        let m = msgs(&(v6() / jumbo / Udp::new() / vec![0u8; 70_000]));
        assert_eq!(m, ["IPv6 plen is 0: a jumbogram (RFC 2675) of 70016 bytes by its Hop-by-Hop Jumbo option, which only links with an MTU over 65575 carry"]);
    }

    #[test]
    fn addresses() {
        let p = Ether::new().src("01:00:5e:00:00:01") / Ip::new().src("10.0.0.1").dst("10.0.0.1");
        let m = msgs(&p);
        assert!(m.contains(&"Ether src 01:00:5e:00:00:01 is a multicast address".to_string()), "{m:?}");
        assert!(m.contains(&"IP src == dst (10.0.0.1)".to_string()), "{m:?}");
    }

    #[test]
    fn truncated_bytes() {
        let b = (ip() / Tcp::new()).build();
        let problems = check_bytes(&b[..30], LayerKind::Ip, &DissectCx::default());
        let m: Vec<_> = problems.iter().map(|p| p.msg.as_str()).collect();
        assert!(m.contains(&"TCP header cut short: only 10 bytes present"), "{m:?}");
        assert!(m.contains(&"IP len is 40, should be 30 (10 bytes missing: 30 present)"), "{m:?}");
    }

    #[test]
    fn a_capture_cut_short_is_not_the_packet_fault() {
        let b = (ip() / Tcp::new() / &[7u8; 100][..]).build();
        let cx = DissectCx::default();
        for cut in [30, 50] {
            assert_eq!(check_captured(&b[..cut], b.len(), LayerKind::Ip, &cx), [], "cut at {cut}");
        }
        // Whole: as check_bytes.
        assert_eq!(check_captured(&b, b.len(), LayerKind::Ip, &cx), []);
        // The IPv4 header checksum is still checked.
        let bad = (ip().chksum(0x1234) / Tcp::new() / &[7u8; 100][..]).build();
        let m: Vec<String> = check_captured(&bad[..50], bad.len(), LayerKind::Ip, &cx).into_iter().map(|p| p.msg).collect();
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with("IP chksum 0x1234 is wrong"), "{m:?}");
    }
}
