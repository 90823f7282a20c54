//! A packet's path from hop and drop events: the events whose headers are the sent
//! packet's (through GUE and IP-in-IP encapsulation too), hops and drops in time order
//! (both carry CLOCK_MONOTONIC nanoseconds), with what changed between one hop and the
//! next. Pure functions over events: no root needed.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::{HopEvent, HopKind};
use crate::explain::DropEvent;
use crate::field::{Fmt, Value};
use crate::packet::{Layer, LayerKind, Packet};

/// XDP events carry no packet: one is put on a path when it happened on (or toward) a
/// device the packet was seen on, or right after the packet was sent (the frame in flight
/// between a transmit and the next hop), within this many nanoseconds.
pub const XDP_WINDOW_NS: u64 = 5_000_000;

/// What identifies a packet along its path: the innermost IP header (under GUE or
/// IP-in-IP) and its transport ports or ICMP id/seq.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketKey {
    /// IPv4 id; None for IPv6.
    pub id: Option<u16>,
    /// None: any source (the sent packet left it for the kernel to fill).
    pub src: Option<IpAddr>,
    pub dst: IpAddr,
    pub proto: u8,
    /// Ports (TCP, UDP), or ICMP/ICMPv6 type, id and seq packed as (type, id << 16 | seq).
    pub l4: Option<(u32, u32)>,
}

/// Index of the innermost IP/IPv6 layer: the first one, then down through IP-in-IP and
/// UDP/GUE/IP (not into ICMP errors, whose quoted packet is another packet's).
fn innermost_ip(layers: &[Layer]) -> Option<usize> {
    let is_ip = |l: Option<&Layer>| matches!(l, Some(Layer::Ip(_) | Layer::Ipv6(_)));
    let mut i = layers.iter().position(|l| is_ip(Some(l)))?;
    loop {
        if is_ip(layers.get(i + 1)) {
            i += 1;
        } else if matches!(layers.get(i + 1), Some(Layer::Udp(_))) && matches!(layers.get(i + 2), Some(Layer::Gue(_))) && is_ip(layers.get(i + 3)) {
            i += 3;
        } else {
            return Some(i);
        }
    }
}

fn int(l: &Layer, f: &str) -> Option<u32> {
    match l.get(f) {
        Some(Value::Int(i)) => Some(i as u32),
        _ => None,
    }
}

impl PacketKey {
    /// The key of a dissected packet (any first layer).
    pub fn of_dissected(p: &Packet) -> Option<PacketKey> {
        let i = innermost_ip(&p.layers)?;
        let (id, src, dst, proto) = match &p.layers[i] {
            Layer::Ip(ip) => (Some(ip.id), ip.src.map(IpAddr::V4), IpAddr::V4(ip.dst), ip.proto?),
            Layer::Ipv6(ip) => (None, ip.src.map(IpAddr::V6), IpAddr::V6(ip.dst), ip.nh?),
            _ => return None,
        };
        let l4 = p.layers.get(i + 1).and_then(|l| match l {
            Layer::Udp(u) => Some((u.sport as u32, u.dport.unwrap_or(0) as u32)),
            Layer::Tcp(t) => Some((t.sport as u32, t.dport as u32)),
            l if matches!(l.kind(), LayerKind::Icmp | LayerKind::Icmpv6EchoRequest | LayerKind::Icmpv6EchoReply) => {
                let ty = int(l, "type").unwrap_or(0);
                Some((ty, int(l, "id").unwrap_or(0) << 16 | int(l, "seq").unwrap_or(0)))
            }
            _ => None,
        });
        Some(PacketKey { id, src, dst, proto, l4 })
    }

    /// The key of a packet as sent: its auto fields as they build, except an unset IP
    /// source, which the kernel fills (any source then matches).
    pub fn of_sent(sent: &Packet) -> Option<PacketKey> {
        let mut key = PacketKey::of_dissected(&sent.resolved())?;
        let unset_src = innermost_ip(&sent.layers).map(|i| match &sent.layers[i] {
            Layer::Ip(ip) => ip.src.is_none(),
            Layer::Ipv6(ip) => ip.src.is_none(),
            _ => false,
        });
        if unset_src == Some(true) {
            key.src = None;
        }
        Some(key)
    }

    /// Whether `other` (an event's key) is this packet.
    pub fn matches(&self, other: &PacketKey) -> bool {
        self.id == other.id
            && (self.src.is_none() || self.src == other.src)
            && self.dst == other.dst
            && self.proto == other.proto
            && self.l4 == other.l4
    }
}

pub(crate) fn l3_packet(protocol: u16, data: &[u8]) -> Packet {
    Packet::dissect(data, super::l3_kind(protocol, data))
}

/// What a step of a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Hop(HopKind),
    Drop,
}

/// One step of a path: a hop, or the drop that ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub hop: Option<HopEvent>,
    pub drop: Option<DropEvent>,
    /// How the packet differs from the previous step that carried its bytes: `Kind.field
    /// old → new`, `+ IP/UDP/GUE outer (…)` / `- …` for headers added or removed.
    pub changes: Vec<String>,
}

impl Step {
    /// When it happened: CLOCK_MONOTONIC nanoseconds (the hop's [`HopEvent::ts`] or the
    /// drop's [`DropEvent::time_ns`]).
    pub fn time_ns(&self) -> u64 {
        match (&self.hop, &self.drop) {
            (Some(h), _) => h.ts,
            (None, Some(d)) => d.time_ns,
            (None, None) => 0,
        }
    }

    /// The packet as this step saw it (Ether first when the MAC header is known).
    pub fn frame(&self) -> Option<Packet> {
        if let Some(h) = self.hop.as_ref().filter(|h| h.kind.has_packet()) {
            return Some(h.frame());
        }
        let d = self.drop.as_ref()?;
        Some(match d.mac {
            Some(mac) => {
                let mut b = mac.to_vec();
                b.extend_from_slice(&d.data);
                Packet::dissect(&b, LayerKind::Ether)
            }
            None => d.packet(),
        })
    }
}

/// A packet's path: its hops and drops in time order (one CLOCK_MONOTONIC clock: a drop of
/// a copy may come before hops of another, e.g. a clone that went on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path {
    pub steps: Vec<Step>,
}

fn ns_name(names: &HashMap<u64, String>, ino: u64) -> String {
    names.get(&ino).cloned().unwrap_or_else(|| format!("netns:{ino}"))
}

impl Path {
    /// The drop that ended the path, if any.
    pub fn dropped(&self) -> Option<&DropEvent> {
        self.steps.iter().find_map(|s| s.drop.as_ref())
    }

    /// The hops, without the drops.
    /// The first XDP step that lost frames: an exception (XDP_ABORTED, a failed XDP_TX), a
    /// failed redirect, or a transmit that dropped frames (`drops`, e.g. toward a veth
    /// whose peer has no XDP program). XDP frees no skb there, so no drop event says it.
    pub fn xdp_loss(&self) -> Option<&Step> {
        self.steps.iter().find(|s| {
            s.hop.as_ref().is_some_and(|h| {
                matches!(h.kind, HopKind::XdpException | HopKind::XdpRedirectErr) || h.xdp.as_ref().is_some_and(|x| x.drops > 0 || x.err != 0)
            })
        })
    }

    pub fn hops(&self) -> impl Iterator<Item = &HopEvent> {
        self.steps.iter().filter_map(|s| s.hop.as_ref())
    }

    /// One step as the path line shows it.
    pub fn step_label(step: &Step, names: &HashMap<u64, String>) -> String {
        if let Some(d) = &step.drop {
            return format!("dropped at {}: {}", d.function(), d.reason);
        }
        let Some(h) = &step.hop else { return String::new() };
        let at = format!("{} {}", ns_name(names, h.netns), h.ifname);
        let x = h.xdp.clone().unwrap_or_default();
        let to = if !x.to_ifname.is_empty() {
            x.to_ifname.clone()
        } else if x.to_ifindex != 0 {
            format!("ifindex {}", x.to_ifindex)
        } else {
            "?".into()
        };
        let counts = |x: &super::XdpInfo| {
            let mut s = format!("sent {}", x.sent);
            if x.drops != 0 {
                s += &format!(" drops {}", x.drops);
            }
            if x.err != 0 {
                s += &format!(" err {}", x.err);
            }
            s
        };
        match h.kind {
            HopKind::Rx => format!("{at} rx"),
            HopKind::Tx => format!("{at} tx"),
            HopKind::XdpRedirect => format!("{at} xdp redirect → {to}"),
            HopKind::XdpRedirectErr => format!("{at} xdp redirect → {to} failed (err {})", x.err),
            HopKind::XdpDevmapXmit => format!("{at} xdp xmit → {to} ({})", counts(&x)),
            HopKind::XdpBulkTx => format!("{at} XDP_TX ({})", counts(&x)),
            HopKind::XdpException => format!("{at} xdp exception {}", super::xdp_action_name(x.act)),
        }
    }

    /// `nsA veth0 tx → nsB veth1 rx → dropped at ip_rcv_core: OTHERHOST`; "(not seen)"
    /// for an empty path.
    pub fn line(&self, names: &HashMap<u64, String>) -> String {
        if self.steps.is_empty() {
            return "(not seen)".into();
        }
        self.steps.iter().map(|s| Path::step_label(s, names)).collect::<Vec<_>>().join(" → ")
    }

    /// [`Path::line`], then one indented line per step whose packet changed:
    /// `  nsR r0 rx → nsR r1 tx: Ether.dst 02:… → 42:…, IP.ttl 64 → 63`.
    pub fn render(&self, names: &HashMap<u64, String>) -> String {
        let mut out = self.line(names);
        let mut prev: Option<&Step> = None;
        for s in &self.steps {
            if s.frame().is_none() {
                continue;
            }
            if let (Some(p), false) = (prev, s.changes.is_empty()) {
                out += &format!("\n  {} → {}: {}", Path::step_label(p, names), Path::step_label(s, names), s.changes.join(", "));
            }
            prev = Some(s);
        }
        out
    }
}

/// The path of `sent` (as built, any first layer): the hop and drop events that are it
/// (see [`PacketKey`]) in time order ([`HopEvent::ts`], [`DropEvent::time_ns`]), XDP
/// events placed by device and time (see [`XDP_WINDOW_NS`]); each step with how the
/// packet changed.
pub fn build_path(sent: &Packet, hops: &[HopEvent], drops: &[DropEvent]) -> Path {
    match PacketKey::of_sent(sent) {
        Some(key) => build_path_for(&key, hops, drops),
        None => Path::default(),
    }
}

/// [`build_path`] for a key.
pub fn build_path_for(key: &PacketKey, hops: &[HopEvent], drops: &[DropEvent]) -> Path {
    build_path_of(key, &hops.iter().collect::<Vec<_>>(), &drops.iter().collect::<Vec<_>>())
}

/// [`build_path_for`] over borrowed events (a caller that indexed them first).
pub fn build_path_of(key: &PacketKey, hops: &[&HopEvent], drops: &[&DropEvent]) -> Path {
    let is_mine = |protocol: u16, data: &[u8]| PacketKey::of_dissected(&l3_packet(protocol, data)).is_some_and(|k| key.matches(&k));
    let mut mine: Vec<&HopEvent> = hops.iter().copied().filter(|h| h.kind.has_packet() && is_mine(h.protocol, &h.data)).collect();
    mine.sort_by_key(|h| h.ts);
    let devs: HashSet<(u64, u32)> = mine.iter().map(|h| (h.netns, h.ifindex)).collect();
    let (first, last) = match (mine.first(), mine.last()) {
        (Some(f), Some(l)) => (f.ts, l.ts),
        _ => (u64::MAX, 0),
    };
    let xdp_is_mine = |x: &HopEvent| {
        let info = x.xdp.clone().unwrap_or_default();
        let to_ns = if info.to_netns != 0 { info.to_netns } else { x.netns };
        let on_my_dev = devs.contains(&(x.netns, x.ifindex)) || (info.to_ifindex != 0 && devs.contains(&(to_ns, info.to_ifindex)));
        let in_span = x.ts >= first && x.ts <= last.saturating_add(XDP_WINDOW_NS);
        // In flight: after one of the packet's transmits, before its next hop.
        let in_flight = mine.iter().enumerate().any(|(i, h)| {
            h.kind == HopKind::Tx
                && x.ts >= h.ts
                && x.ts <= h.ts.saturating_add(XDP_WINDOW_NS)
                && mine.get(i + 1).is_none_or(|next| x.ts <= next.ts)
        });
        (on_my_dev && in_span) || in_flight
    };
    let mut all: Vec<&HopEvent> = mine.clone();
    all.extend(hops.iter().copied().filter(|h| !h.kind.has_packet() && xdp_is_mine(h)));
    // One timeline: hops and drops by time; at the same nanosecond, a hop with the packet
    // before an XDP event before a drop (a drop ends an skb's life). A drop without a time
    // (0: not from the watcher) goes last.
    let mut timed: Vec<((u64, u8), Step)> = all
        .into_iter()
        .map(|h| ((h.ts, if h.kind.has_packet() { 0 } else { 1 }), Step { kind: StepKind::Hop(h.kind), hop: Some(h.clone()), drop: None, changes: Vec::new() }))
        .collect();
    timed.extend(drops.iter().filter(|d| is_mine(d.protocol, &d.data)).map(|d| {
        let t = if d.time_ns == 0 { u64::MAX } else { d.time_ns };
        ((t, 2), Step { kind: StepKind::Drop, hop: None, drop: Some((*d).clone()), changes: Vec::new() })
    }));
    timed.sort_by_key(|(t, _)| *t);
    let mut steps: Vec<Step> = timed.into_iter().map(|(_, s)| s).collect();
    let mut prev: Option<Packet> = None;
    for s in &mut steps {
        let Some(frame) = s.frame() else { continue };
        if let Some(p) = &prev {
            s.changes = changes(p, &frame);
        }
        prev = Some(frame);
    }
    Path { steps }
}

/// The fields that differ from `a` to `b`, layers aligned from the inside out (an added
/// or removed outer header shows as `+ IP/UDP/GUE outer (…)` or `- …`). Raw payloads and
/// padding are not compared (the capture cuts them at different lengths).
pub fn changes(a: &Packet, b: &Packet) -> Vec<String> {
    let keep = |p: &Packet| -> Vec<Layer> { p.layers.iter().filter(|l| !matches!(l.kind(), LayerKind::Raw | LayerKind::Padding)).cloned().collect() };
    let (la, lb) = (keep(a), keep(b));
    let n = la.len().min(lb.len());
    let mut suffix = 0;
    while suffix < n && la[la.len() - 1 - suffix].kind() == lb[lb.len() - 1 - suffix].kind() {
        suffix += 1;
    }
    let mut prefix = 0;
    while prefix < n - suffix && la[prefix].kind() == lb[prefix].kind() {
        prefix += 1;
    }
    let mut out = Vec::new();
    let pairs = (0..prefix).map(|i| (i, i)).chain((0..suffix).map(|k| (la.len() - suffix + k, lb.len() - suffix + k)));
    let removed = &la[prefix..la.len() - suffix];
    let added = &lb[prefix..lb.len() - suffix];
    let names = |ls: &[Layer]| ls.iter().map(|l| l.kind().name()).collect::<Vec<_>>().join("/");
    let summaries = |ls: &[Layer]| ls.iter().map(|l| l.summary()).collect::<Vec<_>>().join(" / ");
    let place = if suffix > 0 { " outer" } else if prefix > 0 { " inner" } else { "" };
    if !removed.is_empty() {
        out.push(format!("- {}{place} ({})", names(removed), summaries(removed)));
    }
    if !added.is_empty() {
        out.push(format!("+ {}{place} ({})", names(added), summaries(added)));
    }
    for (i, j) in pairs {
        let (x, y) = (&la[i], &lb[j]);
        let kind = x.kind();
        for f in kind.fields() {
            if !x.present(f.name) || !y.present(f.name) {
                continue;
            }
            let (vx, vy) = (x.get(f.name).unwrap_or(Value::None), y.get(f.name).unwrap_or(Value::None));
            if vx == vy {
                continue;
            }
            let show = |l: &Layer, v: &Value| match l.names(f.name) {
                Some(n) => f.fmt(Fmt::Enum(n)).show(v),
                None => f.show(v),
            };
            out.push(format!("{}.{} {} → {}", kind.name(), f.name, show(x, &vx), show(y, &vy)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::trace::XdpInfo;
    use crate::prelude::*;

    const NS_A: u64 = 4026532001;
    const NS_R: u64 = 4026532002;
    const NS_B: u64 = 4026532003;

    fn names() -> HashMap<u64, String> {
        [(NS_A, "nsA"), (NS_R, "nsR"), (NS_B, "nsB")].into_iter().map(|(i, n)| (i, n.to_string())).collect()
    }

    /// A hop seeing `frame` (an Ether frame) as the tracer records it.
    fn hop(kind: HopKind, ts: u64, netns: u64, ifindex: u32, ifname: &str, frame: &Packet) -> HopEvent {
        let b = frame.build();
        HopEvent {
            kind,
            ts,
            ifindex,
            ifname: ifname.into(),
            netns,
            protocol: u16::from_be_bytes([b[12], b[13]]),
            len: b.len() as u32,
            data: b[14..].to_vec(),
            mac: Some(b[..14].try_into().unwrap()),
            xdp: None,
        }
    }

    fn xdp(kind: HopKind, ts: u64, netns: u64, ifindex: u32, ifname: &str, info: XdpInfo) -> HopEvent {
        HopEvent { kind, ts, ifindex, ifname: ifname.into(), netns, protocol: 0, len: 0, data: vec![], mac: None, xdp: Some(info) }
    }

    fn drop_of(time_ns: u64, frame: &Packet, reason: &str, symbol: &str, netns: u64, ifname: &str) -> DropEvent {
        let b = frame.build();
        DropEvent {
            reason: reason.into(),
            reason_code: 2,
            location: 0,
            symbol: symbol.into(),
            time_ns,
            ifindex: 2,
            ifname: ifname.into(),
            netns,
            protocol: 0x0800,
            len: (b.len() - 14) as u32,
            data: b[14..].to_vec(),
            mac: Some(b[..14].try_into().unwrap()),
        }
    }

    fn udp(id: u16, dst_mac: &str) -> Packet {
        Ether::new().src("02:00:00:00:00:01").dst(dst_mac) / Ip::new().src("10.0.0.1").dst("10.0.1.2").id(id) / Udp::new().sport(1000).dport(2000) / b"hi".to_vec()
    }

    #[test]
    fn selects_orders_and_ends_with_the_drop() {
        let sent = udp(7, "02:00:00:00:00:99");
        let other = udp(8, "02:00:00:00:00:99");
        let hops = vec![
            hop(HopKind::Rx, 200, NS_B, 3, "vb", &sent),
            hop(HopKind::Tx, 100, NS_A, 2, "va", &sent),
            hop(HopKind::Tx, 150, NS_A, 2, "va", &other),
        ];
        let drops = vec![drop_of(160, &other, "NO_SOCKET", "__udp4_lib_rcv+0x1", NS_B, "vb"), drop_of(210, &sent, "OTHERHOST", "ip_rcv_core+0x1a4", NS_B, "vb")];
        let path = build_path(&sent, &hops, &drops);
        assert_eq!(path.line(&names()), "nsA va tx → nsB vb rx → dropped at ip_rcv_core: OTHERHOST");
        assert_eq!(path.dropped().unwrap().reason, "OTHERHOST");
        // Nothing changed on the way: no change lines.
        assert_eq!(path.render(&names()), path.line(&names()));
    }

    #[test]
    fn a_routed_hop_shows_ttl_and_mac_rewrite() {
        let sent = udp(9, "02:00:00:00:00:aa");
        let mut routed = Ether::new().src("02:00:00:00:00:bb").dst("02:00:00:00:00:cc") / Ip::new().src("10.0.0.1").dst("10.0.1.2").id(9).ttl(63) / Udp::new().sport(1000).dport(2000) / b"hi".to_vec();
        routed = routed.resolved();
        let hops = vec![
            hop(HopKind::Tx, 1, NS_A, 2, "va", &sent),
            hop(HopKind::Rx, 2, NS_R, 2, "r0", &sent),
            hop(HopKind::Tx, 3, NS_R, 3, "r1", &routed),
            hop(HopKind::Rx, 4, NS_B, 2, "vb", &routed),
        ];
        let path = build_path(&sent, &hops, &[]);
        assert!(path.dropped().is_none());
        assert_eq!(path.steps[2].changes[..2], ["Ether.dst 02:00:00:00:00:aa → 02:00:00:00:00:cc".to_string(), "Ether.src 02:00:00:00:00:01 → 02:00:00:00:00:bb".to_string()]);
        assert!(path.steps[2].changes.contains(&"IP.ttl 64 → 63".to_string()), "{:?}", path.steps[2].changes);
        assert!(path.steps[2].changes.iter().any(|c| c.starts_with("IP.chksum ")), "{:?}", path.steps[2].changes);
        assert!(path.steps[3].changes.is_empty());
        let text = path.render(&names());
        assert!(text.starts_with("nsA va tx → nsR r0 rx → nsR r1 tx → nsB vb rx\n  nsR r0 rx → nsR r1 tx: Ether.dst"), "{text}");
    }

    #[test]
    fn matches_through_gue_and_shows_the_outer_headers() {
        let sent = Ether::new().src("02:00:00:00:00:01").dst("02:00:00:00:00:02") / Ip::new().src("10.0.0.1").dst("10.100.0.1").id(0x42) / Tcp::new().sport(5555).dport(80) / b"x".to_vec();
        let encapped = (Ether::new().src("02:00:00:00:00:02").dst("02:00:00:00:00:03")
            / Ip::new().src("10.9.0.1").dst("10.9.0.2")
            / Udp::new().sport(40000).dport(6080)
            / Gue::new()
            / Ip::new().src("10.0.0.1").dst("10.100.0.1").id(0x42)
            / Tcp::new().sport(5555).dport(80)
            / b"x".to_vec())
        .resolved();
        let hops = vec![hop(HopKind::Tx, 10, NS_A, 2, "va", &sent), hop(HopKind::Rx, 30, NS_B, 2, "vb", &encapped)];
        let red = XdpInfo { prog_id: 7, act: 3, sent: 1, ..XdpInfo::default() };
        let noise = xdp(HopKind::XdpBulkTx, 10_000_000_000, NS_R, 9, "far", red.clone());
        let tx = xdp(HopKind::XdpBulkTx, 20, NS_R, 5, "vr", red);
        let mut all = hops.clone();
        all.extend([noise, tx]);
        let path = build_path(&sent, &all, &[]);
        assert_eq!(path.line(&names()), "nsA va tx → nsR vr XDP_TX (sent 1) → nsB vb rx");
        let ch = &path.steps[2].changes;
        assert!(ch[0].starts_with("+ IP/UDP/GUE outer (IP 10.9.0.1 > 10.9.0.2"), "{ch:?}");
        assert!(ch.contains(&"Ether.dst 02:00:00:00:00:02 → 02:00:00:00:00:03".to_string()), "{ch:?}");
        // The reverse: decapsulation.
        assert!(changes(&encapped, &sent)[0].starts_with("- IP/UDP/GUE outer"), "{:?}", changes(&encapped, &sent));
    }

    #[test]
    fn ip_in_ip_and_ports_and_icmp() {
        let inner = || Ip::new().src("10.0.0.1").dst("10.0.1.2").id(5);
        let sent = Ether::new() / inner() / Icmp::new().id(3).seq(4);
        let tunneled = Ether::new() / Ip::new().src("1.1.1.1").dst("2.2.2.2") / inner() / Icmp::new().id(3).seq(4);
        let key = PacketKey::of_sent(&sent).unwrap();
        assert!(key.matches(&PacketKey::of_dissected(&tunneled.resolved()).unwrap()));
        let other_seq = Ether::new() / Ip::new().src("10.0.0.1").dst("10.0.1.2").id(5) / Icmp::new().id(3).seq(5);
        assert!(!key.matches(&PacketKey::of_dissected(&other_seq.resolved()).unwrap()));
        // An ICMP error quoting the packet is not the packet.
        let err = Ether::new() / Ip::new().src("10.0.1.2").dst("10.0.0.1") / Icmp::new().r#type(3).code(3) / inner() / Icmp::new().id(3).seq(4);
        assert!(!key.matches(&PacketKey::of_dissected(&err.resolved()).unwrap()));
        // An unset source matches any source.
        let nosrc = Ether::new() / Ip::new().dst("10.0.1.2").id(5) / Udp::new().dport(9);
        let k = PacketKey::of_sent(&nosrc).unwrap();
        assert_eq!(k.src, None);
        let with_src = Ether::new() / Ip::new().src("10.0.0.1").dst("10.0.1.2").id(5) / Udp::new().dport(9);
        assert!(k.matches(&PacketKey::of_dissected(&with_src.resolved()).unwrap()));
        // IPv6: addresses, next header, ports.
        let v6 = Ether::new() / Ipv6::new().src("fd00::1").dst("fd00::2") / Udp::new().sport(1).dport(2);
        let k6 = PacketKey::of_sent(&v6).unwrap();
        assert_eq!((k6.id, k6.proto, k6.l4), (None, 17, Some((1, 2))));
    }

    #[test]
    fn redirect_is_placed_by_device() {
        let sent = udp(11, "02:00:00:00:00:99");
        let hops = vec![
            hop(HopKind::Tx, 100, NS_A, 2, "va", &sent),
            xdp(HopKind::XdpRedirect, 150, NS_B, 3, "vb", XdpInfo { prog_id: 4, act: 4, to_ifindex: 1, ..XdpInfo::default() }),
            hop(HopKind::Rx, 200, NS_B, 1, "lo", &sent),
        ];
        let drops = vec![drop_of(210, &sent, "OTHERHOST", "ip_rcv_core+0x1a4", NS_B, "lo")];
        let path = build_path(&sent, &hops, &drops);
        assert_eq!(path.line(&names()), "nsA va tx → nsB vb xdp redirect → ifindex 1 → nsB lo rx → dropped at ip_rcv_core: OTHERHOST");
        assert_eq!(build_path(&udp(12, "02:00:00:00:00:99"), &hops, &drops).line(&names()), "(not seen)");
    }

    /// A drop is placed by its time: a copy dropped in R (here: no route) while the
    /// original went on to B shows between R's receive and B's; a drop with no time goes last.
    #[test]
    fn the_drop_is_placed_by_time() {
        let sent = udp(13, "02:00:00:00:00:99");
        let hops = vec![
            hop(HopKind::Tx, 100, NS_A, 2, "va", &sent),
            hop(HopKind::Rx, 200, NS_R, 2, "r0", &sent),
            hop(HopKind::Tx, 400, NS_R, 3, "r1", &sent),
            hop(HopKind::Rx, 500, NS_B, 2, "vb", &sent),
        ];
        let drops = vec![drop_of(300, &sent, "IP_NOPROTO", "ip_local_deliver_finish+0x9", NS_R, "r0")];
        let path = build_path(&sent, &hops, &drops);
        assert_eq!(path.line(&names()), "nsA va tx → nsR r0 rx → dropped at ip_local_deliver_finish: IP_NOPROTO → nsR r1 tx → nsB vb rx");
        assert_eq!(path.dropped().unwrap().time_ns, 300);
        // The step after the drop compares with the drop's bytes (the same packet): no change.
        assert!(path.steps.iter().all(|s| s.changes.is_empty()), "{:?}", path.steps);
        // Before every hop, and after them all.
        let early = vec![drop_of(50, &sent, "OTHERHOST", "ip_rcv_core+0x1a4", NS_A, "va")];
        assert!(build_path(&sent, &hops, &early).line(&names()).starts_with("dropped at ip_rcv_core: OTHERHOST → nsA va tx"));
        let untimed = vec![drop_of(0, &sent, "OTHERHOST", "ip_rcv_core+0x1a4", NS_B, "vb")];
        assert!(build_path(&sent, &hops, &untimed).line(&names()).ends_with("nsB vb rx → dropped at ip_rcv_core: OTHERHOST"));
    }
}
