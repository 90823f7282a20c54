//! etherparse as a differential oracle for craft's dissector.
//!
//! Frames are built with craft (Ether, 802.1Q, IPv4 with options, IPv6 with extension
//! headers, ARP, TCP with options, UDP, ICMP, ICMPv6 echo; fields random, derived fields
//! sometimes forced to wrong values), then mutated (bytes overwritten, cut short, trailing
//! bytes added). Each frame is dissected by craft and by etherparse 0.21 twice:
//! `SlicedPacket::from_ethernet` (strict: refuses lengths that do not fit) and
//! `LaxSlicedPacket::from_ethernet` (reads what is there). Wherever etherparse decodes a
//! header, craft must have decoded the same header at the same place with the same fields
//! as read: MACs, EtherType, VLAN, every IPv4/IPv6 header field (options bytes, checksums
//! as read, not recomputed), IPv6 extension headers (strict parse only), ARP, ports, TCP
//! seq/ack/dataofs/flags/window/checksum/urgent pointer and options bytes, UDP length and
//! checksum, ICMP/ICMPv6 type, code, checksum and echo id/seq, and the TCP/UDP payload
//! length where etherparse's strict parse ends it.
//!
//! Not compared, each said where `compare` skips it:
//! - deliberate differences: an IP header whose version nibble is not the one the
//!   EtherType announces (craft: Raw marked malformed, as tshark), an ICMP/ICMPv6 message
//!   cut inside craft's fixed part (craft: Raw marked truncated, as scapy), bytes after an
//!   IPv6 fragment header with a non-zero offset (craft: Raw, as scapy; etherparse reads
//!   headers there), headers craft does not know (AH);
//! - an etherparse bug: its lax parse's IPv6 extensions are not walked (see `lax`).
//!
//! Deterministic: a fixed seed (ORACLE_SEED overrides it, ORACLE_FRAMES the number of base
//! frames, each with four mutations, for longer runs by hand). Each disagreement prints the
//! frame's hex, a reproducer: `craft dissect HEX --format show`.

use std::net::{Ipv4Addr, Ipv6Addr};

use craft::field::{Mac, Value};
use craft::layer::DissectCx;
use craft::prelude::*;
use etherparse::{LaxNetSlice, LaxSlicedPacket, LinkExtSlice, LinkSlice, NetSlice, SlicedPacket, TransportSlice};

/// SplitMix64: small, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn u8(&mut self) -> u8 {
        self.next() as u8
    }
    fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }
}

fn mac(r: &mut Rng) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.iter_mut().for_each(|b| *b = r.u8());
    m
}

fn ipv6(r: &mut Rng) -> Ipv6Addr {
    Ipv6Addr::from(((r.next() as u128) << 64) | r.next() as u128)
}

/// IPv4 option bytes that a sender might put there: NOPs, record route, a timestamp, an
/// unknown option, an EOL; sometimes plain random bytes.
fn ip_options(r: &mut Rng) -> Vec<u8> {
    if r.chance(20) {
        let n = r.below(41) as usize;
        return r.bytes(n);
    }
    let mut o = Vec::new();
    for _ in 0..r.below(4) {
        match r.below(4) {
            0 => o.push(1),
            1 => {
                o.extend([7, 11, 4]);
                o.extend(r.bytes(8));
            }
            2 => {
                let len = 2 + r.below(6) as u8;
                o.extend([0x94 | (r.u8() & 1), len]);
                o.extend(r.bytes(len as usize - 2));
            }
            _ => o.push(0),
        }
    }
    o.truncate(40);
    o
}

fn tcp_options(r: &mut Rng) -> Vec<TcpOption> {
    let mut o = Vec::new();
    for _ in 0..r.below(5) {
        o.push(match r.below(6) {
            0 => TcpOption::Mss(r.u16()),
            1 => TcpOption::WScale(r.u8() & 15),
            2 => TcpOption::SAckOK,
            3 => TcpOption::Timestamp(r.u32(), r.u32()),
            4 => TcpOption::Nop,
            _ => TcpOption::SAck(vec![r.u32(), r.u32()]),
        });
    }
    o
}

/// An IPv6 extension header: hop-by-hop or destination options (a PadN and sometimes an
/// unknown option), a routing header (type 0, one address), or a fragment header (mostly
/// offset 0 with no more fragments: an atomic fragment, whose payload etherparse reads).
fn ipv6_ext(r: &mut Rng) -> Layer {
    let mut opts = vec![1, 0];
    if r.chance(50) {
        opts.extend([0x1e, 4]);
        opts.extend(r.bytes(4));
    }
    match r.below(4) {
        0 => HopByHop::new().options(opts).into(),
        1 => DestOpt::new().options(opts).into(),
        2 => {
            let rt = Routing::new().r#type(r.u8() % 4).addresses(vec![ipv6(r)]);
            // An odd len: the header's last 8 bytes are not a whole address.
            if r.chance(30) { rt.trailer(r.bytes(8)).into() } else { rt.into() }
        }
        _ => {
            let f = Fragment::new().id(r.u32());
            if r.chance(20) { f.offset(r.u16() & 0x1fff).m(r.u8() & 1).into() } else { f.into() }
        }
    }
}

/// One layer as a packet, to put a packet behind it.
fn pkt(l: impl Into<Layer>) -> Packet {
    Packet::from(l.into())
}

fn transport(r: &mut Rng, v6: bool) -> Packet {
    let payload_len = match r.below(4) {
        0 => 0,
        1 => r.below(8) as usize,
        _ => r.below(80) as usize,
    };
    let payload = r.bytes(payload_len);
    let l4: Packet = match r.below(if v6 { 3 } else { 4 }) {
        0 => {
            let mut t = Tcp::new()
                .sport(r.u16())
                .dport(r.u16())
                .seq(r.u32())
                .ack(r.u32())
                .flags(r.u16() & 0x1ff)
                .window(r.u16())
                .urgptr(r.u16())
                .options(tcp_options(r));
            if r.chance(10) {
                t = t.chksum(r.u16());
            }
            if r.chance(5) {
                t = t.dataofs(r.u8() & 15);
            }
            pkt(t)
        }
        1 => {
            let mut u = Udp::new().sport(r.u16()).dport(r.u16());
            if r.chance(10) {
                u = u.chksum(r.u16());
            }
            if r.chance(10) {
                u = u.len(r.u16() % 128);
            }
            pkt(u)
        }
        2 if v6 => {
            let e = Icmpv6EchoRequest::new().id(r.u16()).seq(r.u16());
            pkt(if r.chance(10) { e.cksum(r.u16()) } else { e })
        }
        _ => {
            let mut i = Icmp::new().r#type([0, 8, 3, 11, 5, 13][r.below(6) as usize]).code(r.u8() % 4).id(r.u16()).seq(r.u16());
            if r.chance(10) {
                i = i.chksum(r.u16());
            }
            pkt(i)
        }
    };
    if payload.is_empty() { l4 } else { l4 / Raw::new().load(payload) }
}

/// A well-formed frame (derived fields sometimes forced) of a random kind.
fn frame(r: &mut Rng) -> Vec<u8> {
    let mut eth = Ether::new().dst(mac(r)).src(mac(r));
    let vlan = r.chance(15).then(|| Dot1Q::new().vlan(r.u16() & 0xfff).prio(r.u8() & 7).dei(r.u8() & 1));
    let net: Packet = match r.below(10) {
        0 => {
            let a = Arp::new().op(1 + r.u16() % 2).hwsrc(mac(r)).psrc(Ipv4Addr::from(r.u32())).hwdst(Mac(mac(r))).pdst(Ipv4Addr::from(r.u32()));
            if r.chance(25) {
                // Other address sizes (etherparse reads hwlen/plen up to 255 each).
                let (hl, pl) = (r.u8() % 17, r.u8() % 17);
                pkt(a.hwlen(hl).plen(pl).addrs(r.bytes(2 * (hl as usize + pl as usize))))
            } else {
                pkt(a)
            }
        }
        1..=3 => {
            let mut ip = Ipv6::new().tc(r.u8()).fl(r.u32() & 0xfffff).hlim(r.u8()).src(ipv6(r)).dst(ipv6(r));
            if r.chance(5) {
                ip = ip.plen(r.u16() % 200);
            }
            let mut p = pkt(ip);
            for _ in 0..[0, 0, 1, 2][r.below(4) as usize] {
                p = p / ipv6_ext(r);
            }
            p / transport(r, true)
        }
        _ => {
            let mut ip = Ip::new()
                .tos(r.u8())
                .id(r.u16())
                .flags(if r.chance(20) { r.u8() & 7 } else { 2 * (r.u8() & 1) })
                .frag(if r.chance(10) { r.u16() & 0x1fff } else { 0 })
                .ttl(r.u8())
                .src(Ipv4Addr::from(r.u32()))
                .dst(Ipv4Addr::from(r.u32()));
            if r.chance(25) {
                ip = ip.options(ip_options(r));
            }
            if r.chance(10) {
                ip = ip.chksum(r.u16());
            }
            if r.chance(5) {
                ip = ip.len(r.u16() % 300);
            }
            pkt(ip) / transport(r, false)
        }
    };
    if vlan.is_some() && r.chance(20) {
        // The old QinQ tag's EtherType.
        eth = eth.r#type(0x9100);
    }
    if r.chance(3) {
        eth = eth.r#type(r.u16());
    }
    let p = match vlan {
        Some(v) => eth / v / net,
        None => pkt(eth) / net,
    };
    p.build()
}

/// A mutation of `f`: bytes overwritten, the frame cut short, or trailing bytes added.
fn mutate(r: &mut Rng, f: &[u8]) -> Vec<u8> {
    let mut m = f.to_vec();
    match r.below(4) {
        0 => {
            for _ in 0..1 + r.below(3) {
                let i = r.below(m.len() as u64) as usize;
                m[i] = r.u8();
            }
        }
        1 => m.truncate(r.below(m.len() as u64 + 1) as usize),
        2 => {
            let n = 1 + r.below(20) as usize;
            m.extend(r.bytes(n));
        }
        _ => {
            // A byte of the first 60 (the headers), then a cut.
            let i = r.below(m.len().min(60) as u64) as usize;
            m[i] = r.u8();
            m.truncate(r.below(m.len() as u64 + 1) as usize);
        }
    }
    m
}

fn int(l: &Layer, name: &str) -> Option<i64> {
    match l.get(name) {
        Some(Value::Int(i)) => Some(i),
        Some(Value::Bool(b)) => Some(b as i64),
        _ => None,
    }
}

/// One header as both sides read it: a name and its fields as numbers or bytes.
type Fields = Vec<(&'static str, Vec<u8>)>;

fn n(v: impl Into<u64>) -> Vec<u8> {
    v.into().to_be_bytes().to_vec()
}

fn tcp_flags(t: &etherparse::TcpSlice) -> u16 {
    [t.fin(), t.syn(), t.rst(), t.psh(), t.ack(), t.urg(), t.ece(), t.cwr(), t.ns()]
        .iter()
        .enumerate()
        .map(|(i, &b)| (b as u16) << i)
        .sum()
}

/// What etherparse read, header by header (a header is compared only if etherparse has it).
struct Theirs {
    headers: Vec<(&'static str, Fields)>,
    /// The transport payload length, when etherparse's payload ends where craft's does.
    payload_len: Option<usize>,
    /// etherparse parsed an extension craft does not know (AH): stop comparing there.
    stop_after_net: bool,
}

fn eth_fields(e: &etherparse::Ethernet2Slice) -> Fields {
    vec![("dst", e.destination().to_vec()), ("src", e.source().to_vec()), ("type", n(e.ether_type().0))]
}

fn vlan_fields(v: &etherparse::SingleVlanSlice) -> Fields {
    vec![
        ("prio", n(v.priority_code_point().value())),
        ("dei", n(v.drop_eligible_indicator() as u8)),
        ("vlan", n(v.vlan_identifier().value())),
        ("type", n(v.ether_type().0)),
    ]
}

fn ipv4_fields(h: &etherparse::Ipv4HeaderSlice) -> Fields {
    vec![
        ("version", n(h.version())),
        ("ihl", n(h.ihl())),
        ("tos", n((h.dcp().value() << 2) | h.ecn().value())),
        ("len", n(h.total_len())),
        ("id", n(h.identification())),
        ("flags", n((h.dont_fragment() as u8) << 1 | h.more_fragments() as u8)),
        ("frag", n(h.fragments_offset().value())),
        ("ttl", n(h.ttl())),
        ("proto", n(h.protocol().0)),
        ("chksum", n(h.header_checksum())),
        ("src", h.source().to_vec()),
        ("dst", h.destination().to_vec()),
        ("options", h.options().to_vec()),
    ]
}

fn arp_fields(a: &etherparse::ArpPacketSlice) -> Fields {
    let mut f = vec![
        ("hwtype", n(a.hw_addr_type().0)),
        ("ptype", n(a.proto_addr_type().0)),
        ("hwlen", n(a.hw_addr_size())),
        ("plen", n(a.proto_addr_size())),
        ("op", n(a.operation().0)),
    ];
    // craft's address fields are Ethernet MACs and IPv4 addresses.
    if (a.hw_addr_size(), a.proto_addr_size()) == (6, 4) {
        f.push(("hwsrc", a.sender_hw_addr().to_vec()));
        f.push(("psrc", a.sender_protocol_addr().to_vec()));
        f.push(("hwdst", a.target_hw_addr().to_vec()));
        f.push(("pdst", a.target_protocol_addr().to_vec()));
    }
    f
}

fn ipv6_fields(h: &etherparse::Ipv6HeaderSlice) -> Fields {
    vec![
        ("version", n(h.version())),
        ("tc", n(h.traffic_class())),
        ("fl", n(h.flow_label().value())),
        ("plen", n(h.payload_length())),
        ("nh", n(h.next_header().0)),
        ("hlim", n(h.hop_limit())),
        ("src", h.source().to_vec()),
        ("dst", h.destination().to_vec()),
    ]
}

/// etherparse's IPv6 extension headers as craft's layers; None at one craft does not
/// decode (an authentication header), where the comparison stops.
fn ipv6_ext_fields(exts: &etherparse::Ipv6ExtensionsSlice) -> (Vec<(&'static str, Fields)>, bool) {
    use etherparse::Ipv6ExtensionSlice as X;
    let mut out = Vec::new();
    for x in exts.clone() {
        let raw = |name, h: &etherparse::Ipv6RawExtHeaderSlice| (name, vec![("nh", n(h.next_header().0)), ("len", n(h.slice()[1]))]);
        out.push(match x {
            X::HopByHop(h) => raw("IPv6ExtHdrHopByHop", &h),
            X::DestinationOptions(h) => raw("IPv6ExtHdrDestOpt", &h),
            X::Routing(h) => {
                let (name, mut f) = raw("IPv6ExtHdrRouting", &h);
                f.push(("type", n(h.slice()[2])));
                f.push(("segleft", n(h.slice()[3])));
                (name, f)
            }
            X::Fragment(h) => (
                "IPv6ExtHdrFragment",
                vec![
                    ("nh", n(h.next_header().0)),
                    ("offset", n(h.fragment_offset().value())),
                    ("m", n(h.more_fragments() as u8)),
                    ("id", n(h.identification())),
                ],
            ),
            X::Authentication(_) => return (out, true),
        });
    }
    (out, false)
}

fn transport_fields(t: &TransportSlice) -> Option<(&'static str, Fields)> {
    Some(match t {
        TransportSlice::Tcp(t) => (
            "TCP",
            vec![
                ("sport", n(t.source_port())),
                ("dport", n(t.destination_port())),
                ("seq", n(t.sequence_number())),
                ("ack", n(t.acknowledgment_number())),
                ("dataofs", n(t.data_offset())),
                ("flags", n(tcp_flags(t))),
                ("window", n(t.window_size())),
                ("chksum", n(t.checksum())),
                ("urgptr", n(t.urgent_pointer())),
                ("options", t.options().to_vec()),
            ],
        ),
        TransportSlice::Udp(u) => (
            "UDP",
            vec![("sport", n(u.source_port())), ("dport", n(u.destination_port())), ("len", n(u.length())), ("chksum", n(u.checksum()))],
        ),
        TransportSlice::Icmpv4(i) => {
            let mut f = vec![("type", n(i.type_u8())), ("code", n(i.code_u8())), ("chksum", n(i.checksum()))];
            if matches!(i.type_u8(), 0 | 8) {
                let b = i.bytes5to8();
                f.push(("id", b[..2].to_vec()));
                f.push(("seq", b[2..].to_vec()));
            }
            ("ICMP", f)
        }
        TransportSlice::Icmpv6(i) => {
            let mut f = vec![("type", n(i.type_u8())), ("code", n(i.code_u8())), ("cksum", n(i.checksum()))];
            if matches!((i.type_u8(), i.code_u8()), (128 | 129, 0)) {
                let b = i.bytes5to8();
                f.push(("id", b[..2].to_vec()));
                f.push(("seq", b[2..].to_vec()));
            }
            ("ICMPv6", f)
        }
        TransportSlice::Igmp(_) => return None,
    })
}

fn payload_len(t: &TransportSlice) -> Option<usize> {
    match t {
        TransportSlice::Tcp(t) => Some(t.payload().len()),
        TransportSlice::Udp(u) => Some(u.payload().len()),
        _ => None,
    }
}

fn strict(s: &SlicedPacket) -> Theirs {
    let mut headers = Vec::new();
    if let Some(LinkSlice::Ethernet2(e)) = &s.link {
        headers.push(("Ether", eth_fields(e)));
    }
    for x in &s.link_exts {
        match x {
            LinkExtSlice::Vlan(v) => headers.push(("Dot1Q", vlan_fields(v))),
            LinkExtSlice::Macsec(_) => return Theirs { headers, payload_len: None, stop_after_net: true },
        }
    }
    let mut stop_after_net = false;
    match &s.net {
        Some(NetSlice::Ipv4(ip)) => {
            headers.push(("IP", ipv4_fields(&ip.header())));
            stop_after_net = ip.extensions().auth.is_some();
        }
        Some(NetSlice::Ipv6(ip)) => {
            headers.push(("IPv6", ipv6_fields(&ip.header())));
            let (exts, stop) = ipv6_ext_fields(ip.extensions());
            headers.extend(exts);
            stop_after_net = stop;
        }
        Some(NetSlice::Arp(a)) => headers.push(("ARP", arp_fields(a))),
        None => {}
    }
    let mut payload = None;
    if let (Some(t), false) = (&s.transport, stop_after_net) {
        headers.extend(transport_fields(t));
        payload = payload_len(t);
    }
    Theirs { headers, payload_len: payload, stop_after_net }
}

fn lax(s: &LaxSlicedPacket) -> Theirs {
    let mut headers = Vec::new();
    if let Some(LinkSlice::Ethernet2(e)) = &s.link {
        headers.push(("Ether", eth_fields(e)));
    }
    for x in &s.link_exts {
        match x {
            etherparse::LaxLinkExtSlice::Vlan(v) => headers.push(("Dot1Q", vlan_fields(v))),
            etherparse::LaxLinkExtSlice::Macsec(_) => return Theirs { headers, payload_len: None, stop_after_net: true },
        }
    }
    let mut stop_after_net = false;
    match &s.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            headers.push(("IP", ipv4_fields(&ip.header())));
            stop_after_net = ip.extensions().auth.is_some();
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            headers.push(("IPv6", ipv6_fields(&ip.header())));
            // Not walked: etherparse 0.21's iterator over a lax parse's extensions reads out
            // of bounds when the last one is cut (a debug assertion, then
            // `get_unchecked` past the end: undefined behaviour in release), e.g. on
            // c78f7de1f56b8a84e1f7b70486dd66e65fbe00422b237939d7e4f170e98667fe28085be31d7ea749b3bdeb124efe8621323a389c14fa2c02010100000000f3c1583529bb0adb3c27ecdd9f79e88711
            // (IPv6 / routing header / 4 bytes of a fragment header). The strict parse's
            // extensions are compared instead.
            stop_after_net = ip.extensions().first_header().is_some();
        }
        Some(LaxNetSlice::Arp(a)) => headers.push(("ARP", arp_fields(a))),
        None => {}
    }
    if let (Some(t), false) = (&s.transport, stop_after_net) {
        headers.extend(transport_fields(t));
    }
    // The lax payload may be cut by the capture where craft's ends at the IP length: only
    // the strict parse's payload length is compared.
    Theirs { headers, payload_len: None, stop_after_net }
}

/// craft's value of one compared field, in the oracle's form.
fn ours(l: &Layer, field: &str) -> Option<Vec<u8>> {
    Some(match (l, field) {
        (Layer::Ether(e), "dst") => e.dst?.0.to_vec(),
        (Layer::Ether(e), "src") => e.src?.0.to_vec(),
        (Layer::Ip(ip), "src") => ip.src?.octets().to_vec(),
        (Layer::Ip(ip), "dst") => ip.dst.octets().to_vec(),
        (Layer::Ip(ip), "options") => ip.options.0.clone(),
        // etherparse reads DF and MF, not the reserved bit.
        (Layer::Ip(ip), "flags") => n(ip.flags & 3),
        (Layer::Ipv6(ip), "src") => ip.src?.octets().to_vec(),
        // Other sizes than 6/4: the addresses as bytes.
        (Layer::Arp(a), "hwsrc" | "psrc" | "hwdst" | "pdst") if a.other_addrs().is_some() => {
            let [hwsrc, psrc, hwdst, pdst] = a.other_addrs()?;
            match field {
                "hwsrc" => hwsrc.to_vec(),
                "psrc" => psrc.to_vec(),
                "hwdst" => hwdst.to_vec(),
                _ => pdst.to_vec(),
            }
        }
        (Layer::Arp(a), "hwsrc") => a.hwsrc?.0.to_vec(),
        (Layer::Arp(a), "psrc") => a.psrc?.octets().to_vec(),
        (Layer::Arp(a), "hwdst") => a.hwdst.0.to_vec(),
        (Layer::Arp(a), "pdst") => a.pdst.octets().to_vec(),
        (Layer::Ipv6(ip), "dst") => ip.dst.octets().to_vec(),
        (Layer::Tcp(t), "flags") => n(t.flags.0),
        (Layer::Tcp(_), "options") => return None, // compared as bytes by the caller
        // scapy's MLDv2 report (ICMPv6MLReport2) calls its code byte `res`.
        (l, "code") if l.kind().name() == "ICMPv6MLReport2" => n(int(l, "res")? as u64),
        (l, f) => n(int(l, f)? as u64),
    })
}

/// The craft layer that corresponds to etherparse's header `name`.
fn kind_matches(name: &str, l: &Layer) -> bool {
    let k = l.kind().name();
    match name {
        "ICMPv6" => k == "ICMPv6EchoRequest" || k == "ICMPv6EchoReply" || (k.starts_with("ICMPv6") && !k.starts_with("ICMPv6NDOpt")),
        _ => k == name,
    }
}

/// The bytes of craft's TCP options as they were on the wire: the header's bytes after
/// the 20 fixed ones.
fn tcp_option_bytes(frame: &[u8], offset: usize, l: &Layer) -> Vec<u8> {
    let len = l.header_len();
    frame.get(offset + 20..offset + len).map(<[u8]>::to_vec).unwrap_or_default()
}

/// Compare: Err(reason) on a disagreement.
fn compare(frame: &[u8], p: &Packet, theirs: &Theirs, parser: &str, fields_compared: &mut usize) -> Result<(), String> {
    // craft's layers with the offset each starts at.
    let mut layers = Vec::new();
    let mut off = 0;
    for l in &p.layers {
        layers.push((off, l));
        off += l.header_len();
    }
    let mut i = 0;
    for (name, fields) in &theirs.headers {
        let Some(&(at, l)) = layers.get(i) else {
            return Err(format!("{parser}: etherparse has {name}, craft stops after {} layers", layers.len()));
        };
        if !kind_matches(name, l) {
            // A deliberate difference: the version nibble disagrees with the EtherType
            // (craft: Raw marked malformed).
            if let (Layer::Raw(r), "IP" | "IPv6") = (l, *name) {
                if r.malformed.is_some() {
                    return Ok(());
                }
            }
            // Another: after an IPv6 fragment header with a non-zero offset, the bytes are
            // the middle of a datagram, not headers; craft leaves them Raw (as scapy),
            // etherparse 0.21 goes on reading extension headers from them.
            if let (Layer::Raw(_), Some(&(_, Layer::Fragment(f)))) = (l, i.checked_sub(1).and_then(|j| layers.get(j))) {
                if f.offset != 0 {
                    return Ok(());
                }
            }
            // Another: craft's ICMP/ICMPv6 header is the whole fixed part of the message
            // (20 bytes for an ICMP timestamp, 24 for an MLD query...), etherparse's the
            // first 8 bytes of any; cut between the two, craft ends in a Raw marked
            // truncated (as scapy, whose ICMP fails to dissect and becomes Raw).
            if let (Layer::Raw(r), "ICMP" | "ICMPv6") = (l, *name) {
                if r.truncated.is_some_and(|t| t.starts_with(name)) && r.load.len() >= 8 {
                    return Ok(());
                }
            }
            return Err(format!("{parser}: etherparse has {name} at layer {i}, craft has {}", l.kind().name()));
        }
        for (f, theirs_v) in fields {
            let ours_v = if matches!((l, *f), (Layer::Tcp(_), "options")) { Some(tcp_option_bytes(frame, at, l)) } else { ours(l, f) };
            let Some(ours_v) = ours_v else {
                return Err(format!("{parser}: {name}.{f}: craft has no value, etherparse read {}", craft::hex::encode(theirs_v)));
            };
            // Numbers: compare as numbers (the widths differ).
            let same = if f.ends_with("src") || f.ends_with("dst") || *f == "options" {
                // Addresses and option bytes: byte for byte.
                ours_v == *theirs_v
            } else {
                be(&ours_v) == be(theirs_v)
            };
            *fields_compared += 1;
            if !same {
                return Err(format!("{parser}: {name}.{f}: craft {} etherparse {}", craft::hex::encode(&ours_v), craft::hex::encode(theirs_v)));
            }
        }
        i += 1;
    }
    if let (Some(len), false) = (theirs.payload_len, theirs.stop_after_net) {
        // craft's payload: the Raw after the transport header, if that is what follows.
        let ours_len = match layers.get(i) {
            None => Some(0),
            Some((_, Layer::Padding(_))) => Some(0),
            Some((_, Layer::Raw(r))) => Some(r.load.len()),
            _ => None,
        };
        if let Some(ours_len) = ours_len {
            if ours_len != len {
                return Err(format!("{parser}: payload length: craft {ours_len} etherparse {len}"));
            }
        }
    }
    Ok(())
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| a << 8 | x as u64)
}

#[test]
fn craft_reads_what_etherparse_reads() {
    let seed = std::env::var("ORACLE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_c4af_7001);
    let frames: usize = std::env::var("ORACLE_FRAMES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mut r = Rng(seed);
    let cx = DissectCx::without_udp_binds();
    let (mut compared, mut strict_ok, mut lax_ok, mut fields) = (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for _ in 0..frames {
        let base = frame(&mut r);
        let mut variants = vec![base.clone()];
        for _ in 0..4 {
            variants.push(mutate(&mut r, &base));
        }
        for f in variants {
            let p = Packet::dissect_with(&f, LayerKind::Ether, &cx);
            compared += 1;
            if let Ok(s) = SlicedPacket::from_ethernet(&f) {
                strict_ok += 1;
                if let Err(e) = compare(&f, &p, &strict(&s), "strict", &mut fields) {
                    failures.push(format!("{e}\n    {}", craft::hex::encode(&f)));
                }
            }
            if let Ok(s) = LaxSlicedPacket::from_ethernet(&f) {
                lax_ok += 1;
                if let Err(e) = compare(&f, &p, &lax(&s), "lax", &mut fields) {
                    failures.push(format!("{e}\n    {}", craft::hex::encode(&f)));
                }
            }
        }
    }
    eprintln!("{compared} frames: etherparse strict read {strict_ok}, lax {lax_ok}; {fields} fields compared, {} disagreements", failures.len());
    // The oracle must have compared something real, not only refused frames.
    assert!(strict_ok > compared / 3, "etherparse accepted too few frames: {strict_ok} of {compared}");
    assert!(fields > 10 * strict_ok, "too few fields compared: {fields} for {strict_ok} frames");
    if !failures.is_empty() {
        failures.sort();
        failures.dedup();
        panic!("{} disagreements (first 20):\n{}", failures.len(), failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n"));
    }
}
