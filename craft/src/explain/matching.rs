//! Which sent packet a drop is: drops are matched to packets by their headers, never by
//! timing.
//! * IPv4: id, source, destination, protocol, and the ports (UDP, TCP), TCP sequence
//!   number, ICMP echo id and sequence; IPv6: addresses, next header, flow label and the
//!   same L4 fields. The inner packet of IP-in-IP (proto 4 / 41) and of GUE (UDP port 6080,
//!   variant 0 and 1) counts too, on either side: a packet dropped after encapsulation or
//!   decapsulation is still craft's.
//! * Replies: a drop whose headers are a sent packet's reversed (addresses and ports
//!   swapped, ICMP echo reply with the same id and sequence) or an ICMP / ICMPv6 error
//!   quoting a sent packet is listed as "reply to packet N dropped", never as the sent
//!   packet's fate.
//! * Everything else in the window (other namespaces, the host's own traffic, IPv6
//!   multicast noise) is counted as unrelated and never blamed on craft.
//! * The same headers sent several times (count=N): each drop goes to the next send of
//!   those headers not yet given one; more drops than sends are added to the last.

use std::collections::HashMap;

use super::DropEvent;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Addrs {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

impl Addrs {
    fn swapped(self) -> Addrs {
        match self {
            Addrs::V4(a, b) => Addrs::V4(b, a),
            Addrs::V6(a, b) => Addrs::V6(b, a),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum L4 {
    None,
    Ports(u16, u16),
    Tcp(u16, u16, u32),
    Echo(u16, u16),
    Icmp(u8, u8),
}

/// A packet's identity in one direction: what a drop of that very packet carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct FwdKey {
    addrs: Addrs,
    proto: u8,
    /// IPv4 id, IPv6 flow label.
    tag: u32,
    l4: L4,
}

/// The flow of an answer: addresses, protocol, ports or echo id+seq (no IP id: the
/// answerer picks its own).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct RevKey {
    addrs: Addrs,
    proto: u8,
    l4: L4,
}

struct IpHdr<'a> {
    addrs: Addrs,
    proto: u8,
    tag: u32,
    /// Whether the L4 header is here (not a later fragment).
    first: bool,
    payload: &'a [u8],
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_ip(b: &[u8]) -> Option<IpHdr<'_>> {
    match b.first()? >> 4 {
        4 if b.len() >= 20 => {
            let hl = ((b[0] & 0x0f) as usize) * 4;
            let frag = be16(b, 6)? & 0x1fff;
            let payload = if hl >= 20 { b.get(hl..).unwrap_or(&[]) } else { &[] };
            Some(IpHdr {
                addrs: Addrs::V4(b[12..16].try_into().ok()?, b[16..20].try_into().ok()?),
                proto: b[9],
                tag: be16(b, 4)? as u32,
                first: frag == 0 && hl >= 20,
                payload,
            })
        }
        6 if b.len() >= 40 => {
            let flow = be32(b, 0)? & 0x000f_ffff;
            let (mut nh, mut at, mut first) = (b[6], 40usize, true);
            // Extension headers: hop-by-hop, routing, fragment, destination options.
            for _ in 0..4 {
                match nh {
                    0 | 43 | 60 => {
                        let Some(h) = b.get(at..at + 2) else { break };
                        nh = h[0];
                        at += (h[1] as usize + 1) * 8;
                    }
                    44 => {
                        let Some(h) = b.get(at..at + 8) else { break };
                        nh = h[0];
                        first = u16::from_be_bytes([h[2], h[3]]) >> 3 == 0;
                        at += 8;
                    }
                    _ => break,
                }
            }
            Some(IpHdr {
                addrs: Addrs::V6(b[8..24].try_into().ok()?, b[24..40].try_into().ok()?),
                proto: nh,
                tag: flow,
                first,
                payload: b.get(at..).unwrap_or(&[]),
            })
        }
        _ => None,
    }
}

fn l4_of(h: &IpHdr) -> L4 {
    if !h.first {
        return L4::None;
    }
    let p = h.payload;
    match h.proto {
        6 => match (be16(p, 0), be16(p, 2), be32(p, 4)) {
            (Some(s), Some(d), Some(seq)) => L4::Tcp(s, d, seq),
            (Some(s), Some(d), None) => L4::Ports(s, d),
            _ => L4::None,
        },
        17 | 136 => match (be16(p, 0), be16(p, 2)) {
            (Some(s), Some(d)) => L4::Ports(s, d),
            _ => L4::None,
        },
        1 | 58 => match (p.first(), p.get(1), be16(p, 4), be16(p, 6)) {
            (Some(0 | 8 | 128 | 129), _, Some(id), Some(seq)) => L4::Echo(id, seq),
            (Some(&t), Some(&c), _, _) => L4::Icmp(t, c),
            _ => L4::None,
        },
        _ => L4::None,
    }
}

/// The packet inside an IP-in-IP or GUE packet, if any.
fn inner_of<'a>(h: &IpHdr<'a>) -> Option<&'a [u8]> {
    if !h.first {
        return None;
    }
    match h.proto {
        4 | 41 => Some(h.payload),
        17 if be16(h.payload, 2) == Some(crate::layers::gue::GUE_PORT) => {
            let g = h.payload.get(8..)?;
            match g.first()? >> 6 {
                // Variant 1: the IP header follows the UDP header directly.
                1 => Some(g),
                0 if g[0] & 0x20 == 0 => {
                    let hlen = (g[0] & 0x1f) as usize;
                    matches!(*g.get(1)?, 4 | 41).then(|| g.get(4 + 4 * hlen..)).flatten()
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The keys of a packet (from its network header): its own and those of the packets it
/// encapsulates.
fn fwd_keys(b: &[u8]) -> Vec<FwdKey> {
    let mut out = Vec::new();
    let mut cur = Some(b);
    for _ in 0..4 {
        let Some(h) = cur.and_then(parse_ip) else { break };
        out.push(FwdKey { addrs: h.addrs, proto: h.proto, tag: h.tag, l4: l4_of(&h) });
        cur = inner_of(&h);
    }
    out
}

/// The reply flow of a sent packet (from its network header).
fn reply_key_of_sent(b: &[u8]) -> Option<RevKey> {
    let h = parse_ip(b)?;
    let l4 = match l4_of(&h) {
        L4::Ports(s, d) | L4::Tcp(s, d, _) => L4::Ports(d, s),
        L4::Echo(id, seq) => L4::Echo(id, seq),
        _ => return None,
    };
    Some(RevKey { addrs: h.addrs.swapped(), proto: h.proto, l4 })
}

/// The flow of a dropped packet, in the form [`reply_key_of_sent`] gives.
fn flow_key(h: &IpHdr) -> Option<RevKey> {
    let l4 = match l4_of(h) {
        L4::Ports(s, d) | L4::Tcp(s, d, _) => L4::Ports(s, d),
        L4::Echo(id, seq) => L4::Echo(id, seq),
        _ => return None,
    };
    Some(RevKey { addrs: h.addrs, proto: h.proto, l4 })
}

/// The packet an ICMP / ICMPv6 error quotes.
fn quoted_by(h: &IpHdr<'_>) -> Option<Vec<FwdKey>> {
    let t = *h.payload.first()?;
    let error = match h.proto {
        1 => matches!(t, 3 | 4 | 5 | 11 | 12),
        58 => (1..=4).contains(&t),
        _ => false,
    };
    (error && h.first).then(|| fwd_keys(h.payload.get(8..).unwrap_or(&[])))
}

/// The network-layer bytes of a drop event: from its network header (or past an Ethernet
/// header when the skb's network header was not set yet).
pub(crate) fn event_l3(ev: &DropEvent) -> &[u8] {
    let d = &ev.data;
    let want = match ev.protocol {
        0x0800 => 4,
        0x86dd => 6,
        _ => return d,
    };
    if d.first().map(|b| b >> 4) == Some(want) {
        return d;
    }
    match d.get(12..14) {
        Some(t) if u16::from_be_bytes([t[0], t[1]]) == ev.protocol => &d[14..],
        _ => d,
    }
}


/// A frame of a recorded call: the call's position and the frame's among the call's frames.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FrameRef {
    pub call: usize,
    pub frame: usize,
}

/// What a drop was.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Match {
    /// Send `pos` of call `call` (sends are numbered round-major: round × frames + frame).
    Sent { call: usize, pos: usize },
    /// An answer to that frame (the reverse flow, or an ICMP error quoting it).
    Reply(FrameRef),
    Unrelated,
}

/// The occurrences of one key: per call, the frames that carry it (ascending).
#[derive(Default)]
struct Occurrences {
    calls: Vec<(usize, Vec<usize>)>,
    /// Drops already given to an occurrence.
    next: usize,
}

/// The sent frames indexed by their keys. A call's frames are sent `rounds` times over,
/// round-major; only the first `sent` sends of a call count (it may have stopped early).
/// Built once at the end (so recording a send is only storing its bytes), then each drop
/// classified with a few hash lookups.
pub(crate) struct Matcher {
    fwd: HashMap<FwdKey, Occurrences>,
    rev: HashMap<RevKey, FrameRef>,
    /// Per call: (frames, sends that went out).
    calls: Vec<(usize, usize)>,
}

impl Matcher {
    /// `calls`: per call, its frames' network-layer bytes and how many sends went out.
    pub fn new<'a>(calls: impl IntoIterator<Item = (Vec<&'a [u8]>, usize)>) -> Matcher {
        let mut m = Matcher { fwd: HashMap::new(), rev: HashMap::new(), calls: Vec::new() };
        for (c, (frames, sent)) in calls.into_iter().enumerate() {
            m.calls.push((frames.len(), sent));
            if sent == 0 {
                continue;
            }
            for (i, l3) in frames.iter().enumerate() {
                let mut keys = fwd_keys(l3);
                keys.dedup();
                for k in keys {
                    let occ = m.fwd.entry(k).or_default();
                    match occ.calls.last_mut() {
                        Some((last, list)) if *last == c => list.push(i),
                        _ => occ.calls.push((c, vec![i])),
                    }
                }
                if let Some(r) = reply_key_of_sent(l3) {
                    m.rev.entry(r).or_insert(FrameRef { call: c, frame: i });
                }
            }
        }
        m
    }

    /// How many sends of `frames` (a call's frames carrying one key) went out in call `c`.
    fn count(&self, c: usize, frames: &[usize]) -> usize {
        let (n, sent) = self.calls[c];
        let (full, rem) = (sent / n, sent % n);
        full * frames.len() + frames.iter().filter(|&&i| i < rem).count()
    }

    /// What the dropped packet (network-layer bytes) was. A drop of a sent packet goes to
    /// the next send of its headers not yet given one (the last, past the end).
    pub fn classify(&mut self, l3: &[u8]) -> Match {
        let keys = fwd_keys(l3);
        for k in &keys {
            let Some(occ) = self.fwd.get(k) else { continue };
            let counts: Vec<usize> = occ.calls.iter().map(|(c, f)| self.count(*c, f)).collect();
            let total: usize = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let occ = self.fwd.get_mut(k).expect("key");
            let mut j = occ.next.min(total - 1);
            occ.next += 1;
            for ((c, frames), n) in occ.calls.iter().zip(counts) {
                if j < n {
                    let (round, frame) = (j / frames.len(), frames[j % frames.len()]);
                    return Match::Sent { call: *c, pos: round * self.calls[*c].0 + frame };
                }
                j -= n;
            }
        }
        let Some(h) = parse_ip(l3) else { return Match::Unrelated };
        if let Some(quoted) = quoted_by(&h) {
            if let Some(occ) = quoted.iter().find_map(|k| self.fwd.get(k)) {
                let (c, frames) = &occ.calls[0];
                return Match::Reply(FrameRef { call: *c, frame: frames[0] });
            }
        }
        match flow_key(&h).and_then(|k| self.rev.get(&k)) {
            Some(f) => Match::Reply(*f),
            None => Match::Unrelated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn l3(p: Packet) -> Vec<u8> {
        p.build()
    }

    #[test]
    fn keys_see_ports_ids_and_inner_packets() {
        let inner = Ip::new().src("10.0.0.1").dst("10.0.0.2").id(7) / Udp::new().sport(1).dport(2);
        let plain = fwd_keys(&l3(inner));
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].l4, L4::Ports(1, 2));
        assert_eq!(plain[0].tag, 7);
        let gue = Ip::new().src("10.9.0.1").dst("10.9.0.2") / Udp::new().dport(6080) / Gue::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2").id(7) / Udp::new().sport(1).dport(2);
        let k = fwd_keys(&l3(gue));
        assert_eq!(k.len(), 2, "{k:?}");
        assert_eq!(k[1], plain[0]);
        let ipip = Ip::new().src("10.9.0.1").dst("10.9.0.2") / Ip::new().src("10.0.0.1").dst("10.0.0.2").id(7) / Udp::new().sport(1).dport(2);
        assert_eq!(fwd_keys(&l3(ipip))[1], plain[0]);
    }

    #[test]
    fn replies_are_the_reverse_flow_or_quote_the_packet() {
        let req = l3(Ip::new().src("10.0.0.1").dst("10.0.0.2") / Icmp::new().id(5).seq(9));
        let rep = l3(Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(0).id(5).seq(9));
        assert_eq!(reply_key_of_sent(&req), flow_key(&parse_ip(&rep).unwrap()));
        let udp = Ip::new().src("10.0.0.1").dst("10.0.0.2").id(3) / Udp::new().sport(4001).dport(4002);
        let err = l3(Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(3).code(3) / udp.clone());
        let q = quoted_by(&parse_ip(&err).unwrap()).unwrap();
        assert_eq!(q[0], fwd_keys(&l3(udp))[0]);

        let mut m = Matcher::new([(vec![&req[..], &udp_bytes()[..]], 2)]);
        assert_eq!(m.classify(&rep), Match::Reply(FrameRef { call: 0, frame: 0 }));
        assert_eq!(m.classify(&err), Match::Reply(FrameRef { call: 0, frame: 1 }));
        let other = l3(Ip::new().src("10.0.0.7").dst("10.0.0.1") / Udp::new().sport(4002).dport(4001));
        assert_eq!(m.classify(&other), Match::Unrelated);
    }

    fn udp_bytes() -> Vec<u8> {
        l3(Ip::new().src("10.0.0.1").dst("10.0.0.2").id(3) / Udp::new().sport(4001).dport(4002))
    }

    fn udp(id: u16) -> Vec<u8> {
        l3(Ip::new().src("10.0.0.1").dst("10.0.0.2").id(id) / Udp::new().sport(4001).dport(4002))
    }

    #[test]
    fn repeated_sends_take_the_drops_in_order_and_only_sends_that_went_out_count() {
        // Call 0: frames [a, b, a] × 3 rounds, stopped after 7 sends (a b a | a b a | a).
        // Call 1: frame [a] × 2 rounds, both sent.
        let (a, b) = (udp(1), udp(2));
        let mut m = Matcher::new([(vec![&a[..], &b[..], &a[..]], 7), (vec![&a[..]], 2)]);
        let sends: Vec<Match> = (0..8).map(|_| m.classify(&a)).collect();
        let pos = |call, pos| Match::Sent { call, pos };
        assert_eq!(sends, [pos(0, 0), pos(0, 2), pos(0, 3), pos(0, 5), pos(0, 6), pos(1, 0), pos(1, 1), pos(1, 1)]);
        assert_eq!(m.classify(&b), pos(0, 1));
        assert_eq!(m.classify(&b), pos(0, 4));
        assert_eq!(m.classify(&b), pos(0, 4), "more drops than sends: the last send");
        // A call that sent nothing is never blamed.
        let mut none = Matcher::new([(vec![&a[..]], 0)]);
        assert_eq!(none.classify(&a), Match::Unrelated);
    }
}
