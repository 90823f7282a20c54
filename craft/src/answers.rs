//! Whether a received packet answers a sent one: scapy's `answers()`, the core of sr/sr1.
//!
//! [`answers`] is the precise check. For many requests in flight, [`match_key`] gives each
//! request a key and [`reply_keys`] the keys a reply may carry: a `HashMap<MatchKey, _>`
//! then finds the candidates in O(1), and [`answers`] confirms. The keys are coarser than
//! [`answers`] (they leave out the local address, TCP sequence numbers...), so several
//! requests may share a key; but whenever `answers(reply, request)` holds,
//! `match_key(request)` is one of `reply_keys(reply)`.
//!
//! ```
//! use craft::prelude::*;
//! use craft::answers::{answers, match_key, reply_keys};
//! let ping = Ip::new().src([10, 0, 0, 1]).dst([10, 0, 0, 2]) / Icmp::echo_request(7, 1);
//! let pong = Ip::new().src([10, 0, 0, 2]).dst([10, 0, 0, 1]) / Icmp::echo_reply(7, 1);
//! let pong = Packet::dissect(&pong.build(), LayerKind::Ip);
//! assert!(answers(&pong, &ping));
//! assert!(reply_keys(&pong).any(|k| Some(k) == match_key(&ping)));
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smallvec::SmallVec;

use crate::layers::icmp::PROTO_ICMP;
use crate::layers::icmpv6::PROTO_ICMPV6;
use crate::layers::tcp::PROTO_TCP;
use crate::layers::udp::PROTO_UDP;
use crate::layers::{Arp, Icmp, Tcp, TcpFlags, Udp};
use crate::packet::{Layer, LayerKind, Packet};

const ARP_WHO_HAS: u16 = 1;
const ARP_IS_AT: u16 = 2;

/// ICMP (request, reply) types whose reply repeats the request's id and seq: scapy's list,
/// less 33..36 (IPv6 where-are-you / here-I-am) whose id and seq craft does not dissect.
const ICMP_PAIRS: &[(u8, u8)] = &[(8, 0), (13, 14), (15, 16), (17, 18), (37, 38)];

/// How far a reply's seq may be from the request's ack: scapy's slack, which tolerates
/// peers that count a SYN or FIN differently.
const TCP_SEQ_SLACK: u32 = 2;

/// What a request and its replies have in common, for a hash lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchKey {
    /// ARP who-has / is-at: the address asked about.
    Arp(Ipv4Addr),
    /// Neighbor solicitation / advertisement: the target address.
    Nd(Ipv6Addr),
    /// IPv4 or IPv6 traffic.
    Ip {
        /// The host asked; `None` when the request went to a multicast or broadcast address,
        /// since then any host may answer.
        remote: Option<IpAddr>,
        /// IP protocol / IPv6 upper-layer next header.
        proto: u8,
        /// The exchange within the protocol.
        flow: Flow,
    },
}

/// The exchange within an IP protocol, as the request sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// TCP or UDP: the request's source port (local) and destination port (remote).
    Ports { local: u16, remote: u16 },
    /// ICMP / ICMPv6 echo and the like: identifier and sequence number.
    Echo { id: u16, seq: u16 },
    /// A protocol craft does not match on: any reply of the protocol may answer.
    Any,
}

impl MatchKey {
    /// The key without the host asked, for matching that ignores reply addresses.
    pub fn any_host(self) -> MatchKey {
        match self {
            MatchKey::Ip { proto, flow, .. } => MatchKey::Ip { remote: None, proto, flow },
            other => other,
        }
    }
}

/// Whether `reply` answers `request`. Never panics, whatever was dissected.
pub fn answers(reply: &Packet, request: &Packet) -> bool {
    answers_with(reply, request, true)
}

/// [`answers`], with scapy's `conf.checkIPaddr`: when false, a direct reply need not come
/// from the address asked (a DHCP server answering a broadcast, a NAT, a load balancer's
/// backend answering for the VIP). Keys then go through [`MatchKey::any_host`].
pub fn answers_with(reply: &Packet, request: &Packet, check_ip_addr: bool) -> bool {
    match (network(&reply.layers), network(&request.layers)) {
        (Some(Network::Arp(reply)), Some(Network::Arp(request))) => arp_answers(reply, request),
        (Some(Network::Ip(reply)), Some(Network::Ip(request))) => ip_answers(&reply, &request, check_ip_addr),
        _ => false,
    }
}

/// The key a request is filed under; `None` when nothing can answer it (an RST, an
/// is-at, an echo reply...).
pub fn match_key(request: &Packet) -> Option<MatchKey> {
    match network(&request.layers)? {
        Network::Arp(arp) => (arp.op == ARP_WHO_HAS).then_some(MatchKey::Arp(arp.pdst)),
        Network::Ip(ip) => request_key(&ip),
    }
}

/// The keys under which the request a reply answers may be filed: at most two (the
/// replying host, or any host for requests sent to a group).
pub fn reply_keys(reply: &Packet) -> impl Iterator<Item = MatchKey> {
    let mut keys: SmallVec<[MatchKey; 2]> = SmallVec::new();
    match network(&reply.layers) {
        Some(Network::Arp(arp)) => keys.extend(arp_reply_key(arp)),
        Some(Network::Ip(ip)) => ip_reply_keys(&ip, &mut keys),
        None => {}
    }
    keys.into_iter()
}

// ---------------------------------------------------------------------------------------
// Views: the parts of a packet matching looks at, the same for IPv4 and IPv6.

/// The network layer of a packet, past any Ether / Dot1Q headers: a reply captured at L2
/// then matches a request sent at L3, which the live layer needs.
enum Network<'a> {
    Arp(&'a Arp),
    Ip(IpView<'a>),
}

/// An IPv4 or IPv6 header and what it carries.
struct IpView<'a> {
    /// The source as built (the unspecified address when left to the live layer).
    src: IpAddr,
    dst: IpAddr,
    /// The upper-layer protocol, when known.
    proto: Option<u8>,
    /// The layers after the IP header and any IPv6 extension headers.
    upper: &'a [Layer],
}

impl IpView<'_> {
    /// The source, unless left unset: an unset source is not compared.
    fn known_src(&self) -> Option<IpAddr> {
        Some(self.src).filter(|a| !a.is_unspecified())
    }
}

fn network(layers: &[Layer]) -> Option<Network<'_>> {
    let start = layers.iter().position(|l| !matches!(l, Layer::Ether(_) | Layer::Dot1Q(_)))?;
    match &layers[start] {
        Layer::Arp(arp) => Some(Network::Arp(arp)),
        _ => ip_view(&layers[start..]).map(Network::Ip),
    }
}

/// The IP view of layers starting with an IPv4 or IPv6 header (a quoted one included).
fn ip_view(layers: &[Layer]) -> Option<IpView<'_>> {
    match layers.first()? {
        Layer::Ip(ip) => {
            let upper = &layers[1..];
            let proto = ip.proto.or_else(|| upper_proto(upper));
            Some(IpView { src: ip.src_or_default().into(), dst: ip.dst.into(), proto, upper })
        }
        Layer::Ipv6(ip) => {
            let exts = layers[1..].iter().take_while(|l| is_ipv6_extension(l)).count();
            let upper = &layers[1 + exts..];
            // Next header of the last header before the upper layer.
            let last_nh = if exts == 0 { ip.nh } else { extension_nh(&layers[exts]) };
            let proto = upper_proto(upper).or(last_nh);
            Some(IpView { src: ip.src_or_default().into(), dst: ip.dst.into(), proto, upper })
        }
        _ => None,
    }
}

fn is_ipv6_extension(l: &Layer) -> bool {
    matches!(l, Layer::HopByHop(_) | Layer::DestOpt(_) | Layer::Routing(_) | Layer::Fragment(_))
}

fn extension_nh(l: &Layer) -> Option<u8> {
    match l {
        Layer::HopByHop(h) => h.nh,
        Layer::DestOpt(h) => h.nh,
        Layer::Routing(h) => h.nh,
        Layer::Fragment(h) => h.nh,
        _ => None,
    }
}

/// The protocol number of the first upper layer; a header cut short counts as its layer.
fn upper_proto(upper: &[Layer]) -> Option<u8> {
    match upper.first()? {
        Layer::Raw(raw) => LayerKind::from_name(raw.truncated?)?.ip_proto(),
        other => other.kind().ip_proto(),
    }
}

/// Protocols with a rule of their own; the others match on addresses and protocol alone.
fn has_own_rule(proto: Option<u8>) -> bool {
    matches!(proto, Some(PROTO_ICMP | PROTO_TCP | PROTO_UDP | PROTO_ICMPV6))
}

/// Multicast or the IPv4 limited broadcast: any member may answer, from its own address.
fn is_group(a: IpAddr) -> bool {
    a.is_multicast() || a == IpAddr::V4(Ipv4Addr::BROADCAST)
}

/// The remote host of a request's key: none for a group.
fn remote_of(dst: IpAddr) -> Option<IpAddr> {
    Some(dst).filter(|a| !is_group(*a))
}

/// The packet an ICMP error quotes: `Some(None)` for an error whose quote is unusable.
fn quoted_packet<'a>(ip: &IpView<'a>) -> Option<Option<IpView<'a>>> {
    let (first, quote) = ip.upper.split_first()?;
    first.is_icmp_error().then(|| ip_view(quote))
}

/// Source and destination ports of a TCP or UDP header, also read from the first 4 bytes
/// of one cut short (ICMP errors often quote only 8 bytes of TCP).
fn ports(upper: &[Layer]) -> Option<(u16, u16)> {
    match upper.first()? {
        Layer::Tcp(t) => Some((t.sport, t.dport)),
        Layer::Udp(u) => Some((u.sport, u.dport_for(upper.get(1)))),
        Layer::Raw(raw) if matches!(raw.truncated, Some("TCP" | "UDP")) => {
            let b = raw.load.get(..4)?;
            Some((u16::from_be_bytes([b[0], b[1]]), u16::from_be_bytes([b[2], b[3]])))
        }
        _ => None,
    }
}

fn tcp_flag(t: &Tcp, flag: TcpFlags) -> bool {
    t.flags.has(flag)
}

/// Payload bytes after an upper-layer header (trailing padding is not payload).
fn payload_len(after: &[Layer]) -> usize {
    after.iter().filter(|l| !matches!(l, Layer::Padding(_))).map(Layer::header_len).sum()
}

// ---------------------------------------------------------------------------------------
// The precise check.

/// ARP: an is-at from the address a who-has asked about, sent back to the asker.
/// (scapy also pairs RARP 3/4 by op + 1; RARP is left out.)
fn arp_answers(reply: &Arp, request: &Arp) -> bool {
    let asker_known = request.psrc.filter(|a| !a.is_unspecified());
    reply.op == ARP_IS_AT
        && request.op == ARP_WHO_HAS
        && reply.psrc == Some(request.pdst)
        && asker_known.is_none_or(|asker| reply.pdst == asker)
}

fn ip_answers(reply: &IpView, request: &IpView, check_ip_addr: bool) -> bool {
    // Whatever it is, an answer comes back to the asker.
    if request.known_src().is_some_and(|asker| reply.dst != asker) {
        return false;
    }
    match quoted_packet(reply) {
        Some(quote) => quote.is_some_and(|quote| quote_is_request(&quote, request)),
        None => direct_answers(reply, request, check_ip_addr),
    }
}

/// A reply that is not an ICMP error: from the host asked, same protocol, then the rule
/// of the protocol.
fn direct_answers(reply: &IpView, request: &IpView, check_ip_addr: bool) -> bool {
    let from_host_asked = !check_ip_addr || is_group(request.dst) || reply.src == request.dst;
    from_host_asked && same_proto(reply, request) && upper_answers(reply, request)
}

/// Protocols must be known to be equal: a request whose protocol is unknown (left auto
/// with nothing after it) gets no answers, as it gets no key.
fn same_proto(a: &IpView, b: &IpView) -> bool {
    a.proto.is_some() && a.proto == b.proto
}

fn upper_answers(reply: &IpView, request: &IpView) -> bool {
    if !has_own_rule(request.proto) {
        return true;
    }
    let (Some(r), Some(q)) = (reply.upper.first(), request.upper.first()) else { return false };
    match (r, q) {
        (Layer::Tcp(r), Layer::Tcp(q)) => tcp_answers(r, q, payload_len(&request.upper[1..])),
        (Layer::Udp(r), Layer::Udp(q)) => udp_answers(r, q, request.upper.get(1)),
        (Layer::Icmp(r), Layer::Icmp(q)) => icmp_answers(r, q),
        (Layer::Icmpv6EchoReply(r), Layer::Icmpv6EchoRequest(q)) => r.id == q.id && r.seq == q.seq,
        (Layer::Icmpv6ExtEchoReply(r), Layer::Icmpv6ExtEchoRequest(q)) => r.id == q.id && r.seq == q.seq,
        (Layer::Icmpv6NdNa(r), Layer::Icmpv6NdNs(q)) => r.tgt == q.tgt,
        _ => false,
    }
}

/// TCP, as scapy: ports swapped; nothing answers an RST; only a SYN-ACK answers with SYN
/// set, and only a SYN; the reply's seq near the request's ack (unless the request is a
/// bare SYN, whose peer seq is unknown); the reply's ack within what the request sent
/// (unless a bare RST, whose ack is meaningless).
fn tcp_answers(reply: &Tcp, request: &Tcp, request_payload: usize) -> bool {
    if tcp_flag(request, TcpFlags::RST) {
        return false;
    }
    if tcp_flag(reply, TcpFlags::SYN) && !(tcp_flag(reply, TcpFlags::ACK) && tcp_flag(request, TcpFlags::SYN)) {
        return false;
    }
    reply.sport == request.dport
        && reply.dport == request.sport
        && reply_seq_fits(reply, request)
        && reply_ack_fits(reply, request, request_payload)
}

fn reply_seq_fits(reply: &Tcp, request: &Tcp) -> bool {
    let bare_syn = tcp_flag(request, TcpFlags::SYN) && !tcp_flag(request, TcpFlags::ACK);
    bare_syn || seq_distance(reply.seq, request.ack) <= TCP_SEQ_SLACK
}

/// The reply acknowledges at most everything the request sent: its payload, plus one
/// for a SYN and one for a FIN.
fn reply_ack_fits(reply: &Tcp, request: &Tcp, request_payload: usize) -> bool {
    if tcp_flag(reply, TcpFlags::RST) && !tcp_flag(reply, TcpFlags::ACK) {
        return true;
    }
    let sent = request_payload as u64
        + u64::from(tcp_flag(request, TcpFlags::SYN))
        + u64::from(tcp_flag(request, TcpFlags::FIN));
    u64::from(reply.ack.wrapping_sub(request.seq)) <= sent
}

/// Distance between sequence numbers, which wrap around.
fn seq_distance(a: u32, b: u32) -> u32 {
    a.wrapping_sub(b).min(b.wrapping_sub(a))
}

fn udp_answers(reply: &Udp, request: &Udp, request_next: Option<&Layer>) -> bool {
    reply.sport == request.dport_for(request_next) && reply.dport_for(None) == request.sport
}

/// Echo, timestamp, information and address-mask replies: the paired type, same id and seq.
fn icmp_answers(reply: &Icmp, request: &Icmp) -> bool {
    ICMP_PAIRS.contains(&(request.r#type, reply.r#type)) && reply.id == request.id && reply.seq == request.seq
}

fn is_icmp_request(i: &Icmp) -> bool {
    ICMP_PAIRS.iter().any(|(request, _)| *request == i.r#type)
}

/// The packet an ICMP error quotes is the request: same addresses and protocol, and the
/// same ports / ICMP id and seq. Routers quote at least 8 bytes past the IP header
/// (RFC 792), so these are required; scapy's IP id and TCP seq checks are off by default
/// there and left out here.
fn quote_is_request(quote: &IpView, request: &IpView) -> bool {
    let same_src = request.known_src().is_none_or(|src| quote.src == src);
    quote.dst == request.dst && same_src && same_proto(quote, request) && quoted_upper_is_request(quote, request)
}

fn quoted_upper_is_request(quote: &IpView, request: &IpView) -> bool {
    if !has_own_rule(request.proto) {
        return true;
    }
    let quoted = quote.upper.first();
    match request.upper.first() {
        Some(Layer::Tcp(q)) if tcp_flag(q, TcpFlags::RST) => false,
        Some(Layer::Tcp(_) | Layer::Udp(_)) => {
            let quoted_ports = ports(quote.upper);
            quoted_ports.is_some() && quoted_ports == ports(request.upper)
        }
        Some(Layer::Icmp(q)) => {
            let same = |i: &Icmp| (i.r#type, i.id, i.seq) == (q.r#type, q.id, q.seq);
            is_icmp_request(q) && matches!(quoted, Some(Layer::Icmp(i)) if same(i))
        }
        Some(Layer::Icmpv6EchoRequest(q)) => {
            matches!(quoted, Some(Layer::Icmpv6EchoRequest(i)) if (i.id, i.seq) == (q.id, q.seq))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Keys. Each mirrors a rule above: the request's key is built from the request, the reply's
// from the reply (or the request it quotes), so the two meet whenever `answers` holds.

fn request_key(ip: &IpView) -> Option<MatchKey> {
    if let Some(Layer::Icmpv6NdNs(ns)) = ip.upper.first() {
        return Some(MatchKey::Nd(ns.tgt));
    }
    Some(MatchKey::Ip { remote: remote_of(ip.dst), proto: ip.proto?, flow: request_flow(ip)? })
}

/// The flow of a request, or of the request an ICMP error quotes.
fn request_flow(ip: &IpView) -> Option<Flow> {
    if !has_own_rule(ip.proto) {
        return Some(Flow::Any);
    }
    match ip.upper.first()? {
        Layer::Tcp(t) if tcp_flag(t, TcpFlags::RST) => None,
        Layer::Icmp(i) => is_icmp_request(i).then_some(Flow::Echo { id: i.id, seq: i.seq }),
        Layer::Icmpv6EchoRequest(e) => Some(Flow::Echo { id: e.id, seq: e.seq }),
        Layer::Icmpv6ExtEchoRequest(e) => Some(Flow::Echo { id: e.id, seq: e.seq.into() }),
        _ => ports(ip.upper).map(|(local, remote)| Flow::Ports { local, remote }),
    }
}

fn arp_reply_key(arp: &Arp) -> Option<MatchKey> {
    (arp.op == ARP_IS_AT).then_some(MatchKey::Arp(arp.psrc?))
}

fn ip_reply_keys(ip: &IpView, keys: &mut SmallVec<[MatchKey; 2]>) {
    match quoted_packet(ip) {
        Some(quote) => keys.extend(quote.as_ref().and_then(request_key)),
        None => direct_reply_keys(ip, keys),
    }
}

fn direct_reply_keys(ip: &IpView, keys: &mut SmallVec<[MatchKey; 2]>) {
    if let Some(Layer::Icmpv6NdNa(na)) = ip.upper.first() {
        keys.push(MatchKey::Nd(na.tgt));
        return;
    }
    let (Some(proto), Some(flow)) = (ip.proto, reply_flow(ip)) else { return };
    // From the host asked, or from a member of the group asked.
    keys.push(MatchKey::Ip { remote: Some(ip.src), proto, flow });
    keys.push(MatchKey::Ip { remote: None, proto, flow });
}

/// The flow of a direct reply, in the request's terms (its ports swapped back).
fn reply_flow(ip: &IpView) -> Option<Flow> {
    if !has_own_rule(ip.proto) {
        return Some(Flow::Any);
    }
    match ip.upper.first()? {
        Layer::Tcp(t) => Some(Flow::Ports { local: t.dport, remote: t.sport }),
        Layer::Udp(u) => Some(Flow::Ports { local: u.dport_for(None), remote: u.sport }),
        Layer::Icmp(i) => ICMP_PAIRS
            .iter()
            .any(|(_, reply)| *reply == i.r#type)
            .then_some(Flow::Echo { id: i.id, seq: i.seq }),
        Layer::Icmpv6EchoReply(e) => Some(Flow::Echo { id: e.id, seq: e.seq }),
        Layer::Icmpv6ExtEchoReply(e) => Some(Flow::Echo { id: e.id, seq: e.seq.into() }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    const ME: &str = "10.0.0.1";
    const PEER: &str = "10.0.0.2";
    const ROUTER: &str = "10.0.0.254";
    const ME6: &str = "2001:db8::1";
    const PEER6: &str = "2001:db8::2";
    const ROUTER6: &str = "2001:db8::fe";

    /// What the kernel would hand back: the bytes built, then dissected.
    fn wire(p: Packet) -> Packet {
        let start = p.layers.first().map_or(LayerKind::Ip, Layer::kind);
        Packet::dissect(&p.build(), start)
    }

    fn ip(src: &str, dst: &str) -> Ip {
        Ip::new().src(src).dst(dst)
    }

    fn ip6(src: &str, dst: &str) -> Ipv6 {
        Ipv6::new().src(src).dst(dst)
    }

    /// An ICMP error from the router quoting the request's IP header and `quote` bytes
    /// past it (8 is what most routers and Linux for TCP-ish quotes send, RFC 792).
    fn icmp_error(error: Icmp, request: &Packet, quote: usize) -> Packet {
        let bytes = request.build();
        let cut = bytes.len().min(20 + quote);
        wire(ip(ROUTER, ME) / error / &bytes[..cut])
    }

    /// An ICMPv6 error quoting the request's first `quote` bytes (IPv6 header included).
    fn icmp6_error(error: impl Into<Layer>, request: &Packet, quote: usize) -> Packet {
        let bytes = request.build();
        let cut = bytes.len().min(quote);
        wire(ip6(ROUTER6, ME6) / error.into() / &bytes[..cut])
    }

    fn unreach(code: u8) -> Icmp {
        Icmp::new().r#type(3).code(code)
    }

    fn syn(sport: u16, dport: u16, seq: u32) -> Tcp {
        Tcp::new().sport(sport).dport(dport).seq(seq).flags("S")
    }

    fn tcp_reply(request: &Tcp, flags: &str, seq: u32, ack: u32) -> Tcp {
        Tcp::new().sport(request.dport).dport(request.sport).flags(flags).seq(seq).ack(ack)
    }

    fn udp(sport: u16, dport: u16) -> Udp {
        Udp::new().sport(sport).dport(dport)
    }

    /// (reply, request, expected, what) for every rule, positive and negative.
    fn cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let mut c = Vec::new();
        c.extend(arp_cases());
        c.extend(icmp_cases());
        c.extend(tcp_cases());
        c.extend(udp_cases());
        c.extend(icmp_error_cases());
        c.extend(ipv6_cases());
        c.extend(misc_cases());
        c
    }

    fn arp_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let who_has = || Ether::new() / Arp::new().op(1).psrc(ME).pdst(PEER).hwsrc("02:00:00:00:00:01");
        let is_at = |psrc: &str, pdst: &str, op: u16| {
            wire(
                Ether::new().src("02:00:00:00:00:02").dst("02:00:00:00:00:01")
                    / Arp::new().op(op).psrc(psrc).pdst(pdst).hwsrc("02:00:00:00:00:02"),
            )
        };
        vec![
            (is_at(PEER, ME, 2), who_has(), true, "arp is-at"),
            (is_at(ROUTER, ME, 2), who_has(), false, "arp is-at for another address"),
            (is_at(PEER, ROUTER, 2), who_has(), false, "arp is-at to another asker"),
            (is_at(PEER, ME, 1), who_has(), false, "arp who-has answers nothing"),
            (
                is_at(PEER, ME, 2),
                Ether::new() / Arp::new().op(1).pdst(PEER),
                true,
                "arp is-at, asker left unset",
            ),
        ]
    }

    fn icmp_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let ping = || ip(ME, PEER) / Icmp::echo_request(7, 1);
        let pong = |src: &str, dst: &str, id: u16, seq: u16| wire(ip(src, dst) / Icmp::echo_reply(id, seq));
        let ts = |t: u8| Icmp::new().r#type(t).id(9).seq(3).ts_ori(1).ts_rx(2).ts_tx(3);
        vec![
            (pong(PEER, ME, 7, 1), ping(), true, "echo reply"),
            (pong(PEER, ME, 8, 1), ping(), false, "echo reply, wrong id"),
            (pong(PEER, ME, 7, 2), ping(), false, "echo reply, wrong seq"),
            (pong(ROUTER, ME, 7, 1), ping(), false, "echo reply from another host"),
            (pong(PEER, ROUTER, 7, 1), ping(), false, "echo reply to another host"),
            (wire(ip(PEER, ME) / Icmp::echo_request(7, 1)), ping(), false, "echo request answers nothing"),
            (wire(ip(PEER, ME) / ts(14)), ip(ME, PEER) / ts(13), true, "timestamp reply"),
            (wire(ip(PEER, ME) / ts(0)), ip(ME, PEER) / ts(13), false, "echo reply to a timestamp request"),
            (
                pong(PEER, ME, 7, 1),
                ip(ME, "255.255.255.255") / Icmp::echo_request(7, 1),
                true,
                "echo reply to a broadcast ping",
            ),
            (pong(PEER, ME, 7, 1), ip(ME, "224.0.0.1") / Icmp::echo_request(7, 1), true, "multicast ping"),
            (pong(PEER, ME, 7, 1), Ip::new().dst(PEER) / Icmp::echo_request(7, 1), true, "source left unset"),
        ]
    }

    fn tcp_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let s = syn(1234, 80, 1000);
        let req = |t: Tcp| ip(ME, PEER) / t;
        let rep = |t: Tcp| wire(ip(PEER, ME) / t);
        let data = Tcp::new().sport(1234).dport(80).flags("PA").seq(1000).ack(5000);
        let data_req = || req(data.clone()) / &[0u8; 10];
        let fin = Tcp::new().sport(1234).dport(80).flags("FA").seq(1000).ack(5000);
        let rst = Tcp::new().sport(1234).dport(80).flags("R").seq(1000);
        vec![
            (rep(tcp_reply(&s, "SA", 77, 1001)), req(s.clone()), true, "syn-ack"),
            (rep(tcp_reply(&s, "SA", 77, 1002)), req(s.clone()), false, "syn-ack, ack too far"),
            (rep(tcp_reply(&s, "SA", 77, 999)), req(s.clone()), false, "syn-ack, ack before seq"),
            (rep(tcp_reply(&s, "RA", 0, 1001)), req(s.clone()), true, "rst-ack to syn"),
            (rep(tcp_reply(&s, "R", 0, 0)), req(s.clone()), true, "bare rst to syn"),
            (rep(tcp_reply(&s, "S", 77, 0)), req(s.clone()), false, "syn answers no syn"),
            (rep(tcp_reply(&s, "SA", 77, 1001)), req(data.clone()), false, "syn-ack answers only a syn"),
            (rep(tcp_reply(&syn(1234, 81, 1000), "SA", 77, 1001)), req(s.clone()), false, "syn-ack, wrong sport"),
            (rep(tcp_reply(&syn(1235, 80, 1000), "SA", 77, 1001)), req(s.clone()), false, "syn-ack, wrong dport"),
            (rep(Tcp::new().sport(1234).dport(80).flags("SA").ack(1001)), req(s.clone()), false, "ports not swapped"),
            (wire(ip(ROUTER, ME) / tcp_reply(&s, "SA", 77, 1001)), req(s.clone()), false, "syn-ack from another host"),
            (rep(tcp_reply(&rst, "RA", 0, 1000)), req(rst.clone()), false, "nothing answers an rst"),
            (rep(tcp_reply(&rst, "R", 0, 0)), req(rst.clone()), false, "rst answers no rst"),
            (rep(tcp_reply(&data, "A", 5000, 1010)), data_req(), true, "ack of all the data"),
            (rep(tcp_reply(&data, "A", 5000, 1004)), data_req(), true, "ack of part of the data"),
            (rep(tcp_reply(&data, "A", 5000, 1011)), data_req(), false, "ack past the data"),
            (rep(tcp_reply(&data, "A", 6000, 1010)), data_req(), false, "reply seq far from the ack"),
            (rep(tcp_reply(&data, "R", 5000, 0)), data_req(), true, "bare rst at the expected seq"),
            (rep(tcp_reply(&data, "R", 9000, 0)), data_req(), false, "bare rst at another seq"),
            (rep(tcp_reply(&fin, "A", 5000, 1001)), req(fin.clone()), true, "ack of a fin"),
            (rep(tcp_reply(&fin, "A", 5000, 1002)), req(fin.clone()), false, "ack past a fin"),
            (
                rep(tcp_reply(&syn(1234, 80, u32::MAX), "SA", 77, 0)),
                req(syn(1234, 80, u32::MAX)),
                true,
                "syn-ack across the sequence wrap",
            ),
        ]
    }

    fn udp_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let q = || ip(ME, PEER) / udp(5353, 53) / &b"query"[..];
        let r = |src: &str, sport: u16, dport: u16| wire(ip(src, ME) / udp(sport, dport) / &b"answer"[..]);
        vec![
            (r(PEER, 53, 5353), q(), true, "udp reply"),
            (r(PEER, 54, 5353), q(), false, "udp reply, wrong sport"),
            (r(PEER, 53, 5354), q(), false, "udp reply, wrong dport"),
            (r(ROUTER, 53, 5353), q(), false, "udp reply from another host"),
            (wire(ip(PEER, ME) / Tcp::new().sport(53).dport(5353).flags("A")), q(), false, "tcp answers no udp"),
        ]
    }

    fn icmp_error_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let u = ip(ME, PEER) / udp(5353, 53) / &b"query"[..];
        let s = ip(ME, PEER) / syn(1234, 80, 1000);
        let ping = ip(ME, PEER) / Icmp::echo_request(7, 1);
        let rst = ip(ME, PEER) / Tcp::new().sport(1234).dport(80).flags("R");
        let other_port = ip(ME, PEER) / udp(5353, 54);
        let other_dst = ip(ME, ROUTER) / udp(5353, 53);
        let other_src = ip(ROUTER, PEER) / udp(5353, 53);
        vec![
            (icmp_error(unreach(3), &u, 8), u.clone(), true, "port unreachable quoting the udp"),
            (icmp_error(unreach(3), &u, 100), u.clone(), true, "port unreachable, whole quote"),
            (icmp_error(unreach(3), &other_port, 8), u.clone(), false, "port unreachable, other port"),
            (icmp_error(unreach(3), &other_dst, 8), u.clone(), false, "port unreachable, other dst"),
            (icmp_error(unreach(3), &other_src, 8), u.clone(), false, "port unreachable, other src"),
            (icmp_error(unreach(3), &u, 0), u.clone(), false, "quote without the ports"),
            (icmp_error(unreach(13), &s, 8), s.clone(), true, "admin-prohibited quoting a cut tcp"),
            (icmp_error(unreach(13), &s, 100), s.clone(), true, "admin-prohibited quoting a whole tcp"),
            (icmp_error(unreach(13), &s, 2), s.clone(), false, "quote too short for the ports"),
            (icmp_error(unreach(13), &(ip(ME, PEER) / syn(1234, 81, 1000)), 8), s.clone(), false, "tcp, other port"),
            (icmp_error(unreach(13), &u, 8), s.clone(), false, "quoting udp, tcp asked"),
            (icmp_error(unreach(13), &rst, 8), rst.clone(), false, "error about an rst"),
            (icmp_error(Icmp::time_exceeded(0), &ping, 8), ping.clone(), true, "time exceeded quoting a ping"),
            (
                icmp_error(Icmp::time_exceeded(0), &(ip(ME, PEER) / Icmp::echo_request(8, 1)), 8),
                ping.clone(),
                false,
                "time exceeded quoting another ping",
            ),
            (icmp_error(Icmp::frag_needed(1400), &s, 8), s.clone(), true, "fragmentation needed"),
            (
                wire(ip(ROUTER, ROUTER) / unreach(3) / &u.build()[..28]),
                u.clone(),
                false,
                "error sent to another host",
            ),
            (wire(ip(ROUTER, ME) / unreach(3) / &b"junk"[..]), u.clone(), false, "error with an unreadable quote"),
        ]
    }

    fn ipv6_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let ping = || ip6(ME6, PEER6) / Icmpv6EchoRequest::new().id(5).seq(2);
        let pong = |src: &str, id: u16, seq: u16| wire(ip6(src, ME6) / Icmpv6EchoReply::new().id(id).seq(seq));
        let s = ip6(ME6, PEER6) / syn(1234, 443, 50);
        let u = ip6(ME6, PEER6) / udp(4000, 53);
        let ns = ip6(ME6, "ff02::1:ff00:2") / Icmpv6NdNs::new().tgt(PEER6);
        let na = |tgt: &str| wire(ip6(PEER6, ME6) / Icmpv6NdNa::new().tgt(tgt).solicited_flag(1));
        let prohibited = || Icmpv6DestUnreach::new().code(1);
        vec![
            (pong(PEER6, 5, 2), ping(), true, "icmpv6 echo reply"),
            (pong(PEER6, 5, 3), ping(), false, "icmpv6 echo reply, wrong seq"),
            (pong(PEER6, 6, 2), ping(), false, "icmpv6 echo reply, wrong id"),
            (pong(ROUTER6, 5, 2), ping(), false, "icmpv6 echo reply from another host"),
            (wire(ip6(PEER6, ME6) / tcp_reply(&syn(1234, 443, 50), "SA", 9, 51)), s.clone(), true, "v6 syn-ack"),
            (wire(ip6(PEER6, ME6) / udp(53, 4000)), u.clone(), true, "v6 udp reply"),
            (icmp6_error(prohibited(), &s, 48), s.clone(), true, "v6 prohibited quoting a cut tcp"),
            (icmp6_error(prohibited(), &s, 1000), s.clone(), true, "v6 prohibited quoting a whole tcp"),
            (icmp6_error(prohibited(), &(ip6(ME6, PEER6) / syn(1234, 444, 50)), 1000), s.clone(), false, "v6 other port"),
            (icmp6_error(Icmpv6DestUnreach::new().code(4), &u, 1000), u.clone(), true, "v6 port unreachable"),
            (icmp6_error(Icmpv6PacketTooBig::new().mtu(1280), &s, 1000), s.clone(), true, "packet too big"),
            (icmp6_error(Icmpv6TimeExceeded::new(), &ping(), 1000), ping(), true, "v6 time exceeded quoting a ping"),
            (
                icmp6_error(Icmpv6TimeExceeded::new(), &(ip6(ME6, PEER6) / Icmpv6EchoRequest::new().id(5)), 1000),
                ping(),
                false,
                "v6 time exceeded quoting another ping",
            ),
            (icmp6_error(Icmpv6ParamProblem::new(), &u, 1000), u.clone(), true, "param problem"),
            (icmp6_error(prohibited(), &u, 1000), s.clone(), false, "v6 quoting udp, tcp asked"),
            (na(PEER6), ns.clone(), true, "neighbor advertisement"),
            (na(ROUTER6), ns.clone(), false, "neighbor advertisement for another target"),
            (pong(PEER6, 5, 2), ns.clone(), false, "echo reply answers no solicitation"),
            (wire(ip(PEER, ME) / Icmp::echo_reply(5, 2)), ping(), false, "v4 answers no v6"),
        ]
    }

    fn misc_cases() -> Vec<(Packet, Packet, bool, &'static str)> {
        let s = syn(1234, 80, 1000);
        let eth = |p: Packet| Packet::from(Layer::from(Ether::new().src("02:00:00:00:00:01"))) / p;
        let syn_ack = || ip(PEER, ME) / tcp_reply(&s, "SA", 77, 1001);
        let gre = |src: &str, dst: &str, proto: u8| ip(src, dst).proto(proto) / &b"tunnel"[..];
        vec![
            (wire(eth(syn_ack())), eth(ip(ME, PEER) / s.clone()), true, "ether frames: the payloads answer"),
            (wire(eth(syn_ack())), ip(ME, PEER) / s.clone(), true, "captured at L2, sent at L3"),
            (
                wire(eth(ip(PEER, ME) / tcp_reply(&s, "SA", 77, 5))),
                eth(ip(ME, PEER) / s.clone()),
                false,
                "ether frames: the payloads do not answer",
            ),
            (wire(gre(PEER, ME, 47)), gre(ME, PEER, 47), true, "other protocol: addresses and protocol"),
            (wire(gre(PEER, ME, 50)), gre(ME, PEER, 47), false, "other protocol, different"),
            (wire(gre(ROUTER, ME, 47)), gre(ME, PEER, 47), false, "other protocol, other host"),
            (wire(Packet::from(Layer::from(&b"junk"[..]))), ip(ME, PEER) / s.clone(), false, "raw answers nothing"),
        ]
    }

    fn key_found(reply: &Packet, request: &Packet) -> bool {
        let key = match_key(request);
        key.is_some() && reply_keys(reply).any(|k| Some(k) == key)
    }

    #[test]
    fn each_rule() {
        for (reply, request, expected, what) in cases() {
            assert_eq!(answers(&reply, &request), expected, "{what}: {reply:?}");
            if expected {
                assert!(key_found(&reply, &request), "{what}: keys {:?} / {:?}", match_key(&request),
                    reply_keys(&reply).collect::<Vec<_>>());
            }
        }
    }

    /// Keys agree with `answers` on every pair the cases can form, not only the listed ones.
    /// The premise of the cut-quote cases: what the kernel quotes dissects as Raw marked TCP.
    #[test]
    fn cut_quotes_dissect_as_truncated_tcp() {
        let s = ip(ME, PEER) / syn(1234, 80, 1000);
        let v4 = icmp_error(unreach(13), &s, 8);
        assert!(matches!(v4.layers.last(), Some(Layer::Raw(r)) if r.truncated == Some("TCP") && r.load.len() == 8));
        let s6 = ip6(ME6, PEER6) / syn(1234, 443, 50);
        let v6 = icmp6_error(Icmpv6DestUnreach::new().code(1), &s6, 48);
        assert!(matches!(v6.layers.last(), Some(Layer::Raw(r)) if r.truncated == Some("TCP")));
        assert!(matches!(v6.layers[2], Layer::Ipv6(_)), "{v6:?}");
    }

    #[test]
    fn keys_agree_with_answers_on_all_pairs() {
        let all = cases();
        let packets: Vec<Packet> = all.iter().flat_map(|(r, q, _, _)| [r.clone(), q.clone()]).collect();
        for reply in &packets {
            for request in &packets {
                if answers(reply, request) {
                    assert!(key_found(reply, request), "{reply:?} answers {request:?}");
                }
            }
        }
    }

    #[test]
    fn keys_find_the_request_in_a_map() {
        let requests: Vec<Packet> = (0..100u16).map(|i| ip(ME, PEER) / udp(20000 + i, 53)).collect();
        let index: std::collections::HashMap<MatchKey, usize> =
            requests.iter().enumerate().filter_map(|(i, q)| Some((match_key(q)?, i))).collect();
        assert_eq!(index.len(), 100);
        let reply = wire(ip(PEER, ME) / udp(53, 20042));
        let found: Vec<usize> = reply_keys(&reply).filter_map(|k| index.get(&k).copied()).collect();
        assert_eq!(found, [42]);
        assert!(answers(&reply, &requests[42]));
    }

    #[test]
    fn no_key_for_what_nothing_answers() {
        assert_eq!(match_key(&(ip(ME, PEER) / Tcp::new().flags("R"))), None);
        assert_eq!(match_key(&(ip(ME, PEER) / Icmp::echo_reply(1, 1))), None);
        assert_eq!(match_key(&(Ether::new() / Arp::new().op(2))), None);
        assert_eq!(match_key(&Packet::new()), None);
        assert_eq!(reply_keys(&Packet::new()).count(), 0);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn requests() -> Vec<Packet> {
            cases().into_iter().map(|(_, q, _, _)| q).collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any dissected bytes: no panic, and keys agree with answers.
            #[test]
            fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120), start in 0usize..4) {
                let kind = [LayerKind::Ip, LayerKind::Ipv6, LayerKind::Ether, LayerKind::Arp][start];
                let p = Packet::dissect(&bytes, kind);
                let _ = match_key(&p);
                let _ = reply_keys(&p).count();
                prop_assert!(!answers(&p, &p) || key_found(&p, &p));
                for q in requests() {
                    if answers(&p, &q) {
                        prop_assert!(key_found(&p, &q));
                    }
                    let _ = answers(&q, &p);
                }
            }

            /// Real headers with random fields, cut anywhere: the same.
            #[test]
            fn cut_replies(cut in 0usize..80, sport in any::<u16>(), seq in any::<u32>(), t in any::<u8>()) {
                let s = ip(ME, PEER) / syn(1234, 80, 1000);
                let inner = (ip(ME, PEER) / syn(sport, 80, seq)).build();
                let err = ip(ROUTER, ME) / Icmp::new().r#type(t).code(3) / &inner[..cut.min(inner.len())];
                let p = wire(err);
                if answers(&p, &s) {
                    prop_assert!(key_found(&p, &s));
                }
            }
        }
    }

    #[test]
    fn check_ip_addr_off_takes_replies_from_another_address() {
        let ping = Ip::new().src([10, 0, 0, 1]).dst([10, 100, 0, 1]) / Icmp::echo_request(7, 1);
        let pong = Ip::new().src([10, 0, 1, 3]).dst([10, 0, 0, 1]) / Icmp::echo_reply(7, 1);
        let pong = Packet::dissect(&pong.build(), LayerKind::Ip);
        assert!(!answers(&pong, &ping));
        assert!(answers_with(&pong, &ping, false));
        let key = match_key(&ping).map(MatchKey::any_host);
        assert!(reply_keys(&pong).any(|k| Some(k.any_host()) == key));
        let wrong_seq = Ip::new().src([10, 0, 1, 3]).dst([10, 0, 0, 1]) / Icmp::echo_reply(7, 2);
        assert!(!answers_with(&Packet::dissect(&wrong_seq.build(), LayerKind::Ip), &ping, false));
    }
}
