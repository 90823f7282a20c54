//! check: everything inconsistent in a packet or in raw bytes.
//!
//! Derived fields (lengths, checksums, header lengths) are checked generically: each one
//! is reset to auto, the packet rebuilt, and the value the builder computes compared
//! with the one present. Layers add what only they can see ([`crate::layer::Proto::check`]).
//! Next-protocol selectors (type, proto, nh, dport) are not re-derived: the dissector
//! followed them, so they always agree with what was decoded.

use std::fmt;

use crate::field::Value;
use crate::layer::DissectCx;
use crate::packet::{Layer, LayerKind, Packet};

/// Derived fields whose value can be recomputed from the rest of the packet.
const DERIVED: &[&str] = &["len", "plen", "ihl", "dataofs", "hlen", "chksum", "cksum"];

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
    let pkt = Packet::dissect_with(bytes, start, cx);
    let offsets = offsets(&pkt);
    let quoted_from = quote_start(&pkt);
    let mut out = Vec::new();
    for (i, layer) in pkt.layers.iter().enumerate() {
        let in_quote = quoted_from.is_some_and(|q| i >= q);
        let mut msgs = Vec::new();
        layer.check(&bytes[offsets[i].min(bytes.len())..], cx, &mut msgs);
        for field in DERIVED {
            // A quoted packet is cut short on purpose: only its IP header checksum holds.
            if in_quote && !(layer.kind() == LayerKind::Ip && *field == "chksum") {
                continue;
            }
            if let Some(m) = check_derived(&pkt, i, field, bytes.len() - offsets[i].min(bytes.len())) {
                msgs.push(m);
            }
        }
        if let Layer::Raw(r) = layer {
            if let Some(what) = r.truncated {
                msgs.push(format!("{what} header cut short: only {} bytes present", r.load.len()));
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
    p.layers.iter().position(is_error_message).map(|i| i + 1)
}

fn is_error_message(l: &Layer) -> bool {
    match l {
        Layer::Icmp(i) => matches!(i.r#type, 3 | 4 | 5 | 11 | 12),
        Layer::Icmpv6DestUnreach(_)
        | Layer::Icmpv6PacketTooBig(_)
        | Layer::Icmpv6TimeExceeded(_)
        | Layer::Icmpv6ParamProblem(_) => true,
        _ => false,
    }
}

/// Compares a derived field with the value the builder computes for it.
fn check_derived(p: &Packet, i: usize, field: &str, bytes_here: usize) -> Option<String> {
    let layer = &p.layers[i];
    let info = layer.kind().fields().iter().find(|f| f.name == field && f.auto)?;
    let present = layer.get(field).filter(|v| *v != Value::None)?;
    let mut auto = p.clone();
    auto.layers[i].set(field, &Value::None).ok()?;
    let rebuilt = auto.resolved();
    let computed = rebuilt.layers.get(i).filter(|l| l.kind() == layer.kind())?.get(field)?;
    if computed == present {
        return None;
    }
    let name = layer.kind().name();
    if field == "chksum" || field == "cksum" {
        // UDP over IPv4 may carry no checksum at all.
        if layer.kind() == LayerKind::Udp && present == Value::Int(0) && !over_ipv6(p, i) {
            return None;
        }
        return Some(format!("{name} {field} {} is wrong, should be {}", info.show(&present), info.show(&computed)));
    }
    let (Value::Int(have), Value::Int(want)) = (&present, &computed) else {
        return Some(format!("{name} {field} is {}, should be {}", info.show(&present), info.show(&computed)));
    };
    let detail = match field {
        "len" | "plen" if have > want => format!(" ({} bytes missing: {bytes_here} present)", have - want),
        "len" | "plen" => format!(" ({} bytes of payload past it)", want - have),
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
        let m = msgs(&(ip().ihl(4) / Tcp::new().dataofs(4)));
        assert!(m.iter().any(|s| s.contains("IP ihl 4 is below the minimum")), "{m:?}");
        assert!(m.iter().any(|s| s.contains("TCP dataofs 4 is below the minimum")), "{m:?}");
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
}
