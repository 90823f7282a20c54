//! ICMPv6 (RFC 4443) and neighbor discovery (RFC 4861), one layer per scapy class:
//! echo, the four error messages (each quoting an IPv6 packet), NS and NA with their
//! link-layer address options, and `ICMPv6Unknown` for every other type.
//!
//! The checksum (`cksum`) covers the IPv6 pseudo-header with next header 58; unlike UDP a
//! computed 0 is sent as 0, and without an enclosing IPv6 layer it stays 0 (as scapy).

use std::net::Ipv6Addr;

use crate::checksum;
use crate::field::{Fmt, Mac};
use crate::layer::{Decoded, DissectCx, Next, Proto, Pseudo, Truncated, WriteCx};
use crate::layer;
use crate::packet::LayerKind;

/// IPv6 next header for ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// Message types by scapy's names (`icmp6types`).
pub const ICMPV6_TYPES: &[(u64, &str)] = &[
    (1, "Destination unreachable"),
    (2, "Packet too big"),
    (3, "Time exceeded"),
    (4, "Parameter problem"),
    (100, "Private Experimentation"),
    (101, "Private Experimentation"),
    (128, "Echo Request"),
    (129, "Echo Reply"),
    (130, "MLD Query"),
    (131, "MLD Report"),
    (132, "MLD Done"),
    (133, "Router Solicitation"),
    (134, "Router Advertisement"),
    (135, "Neighbor Solicitation"),
    (136, "Neighbor Advertisement"),
    (137, "Redirect Message"),
    (138, "Router Renumbering"),
    (139, "ICMP Node Information Query"),
    (140, "ICMP Node Information Response"),
    (141, "Inverse Neighbor Discovery Solicitation Message"),
    (142, "Inverse Neighbor Discovery Advertisement Message"),
    (143, "MLD Report Version 2"),
    (144, "Home Agent Address Discovery Request Message"),
    (145, "Home Agent Address Discovery Reply Message"),
    (146, "Mobile Prefix Solicitation"),
    (147, "Mobile Prefix Advertisement"),
    (148, "Certification Path Solicitation"),
    (149, "Certification Path Advertisement"),
    (151, "Multicast Router Advertisement"),
    (152, "Multicast Router Solicitation"),
    (153, "Multicast Router Termination"),
    (155, "RPL Control Message"),
    (200, "Private Experimentation"),
    (201, "Private Experimentation"),
];

/// Destination unreachable codes, by scapy's names.
pub const DEST_UNREACH_CODES: &[(u64, &str)] = &[
    (0, "No route to destination"),
    (1, "Communication with destination administratively prohibited"),
    (2, "Beyond scope of source address"),
    (3, "Address unreachable"),
    (4, "Port unreachable"),
];

/// Time exceeded codes, by scapy's names.
pub const TIME_EXCEEDED_CODES: &[(u64, &str)] = &[
    (0, "hop limit exceeded in transit"),
    (1, "fragment reassembly time exceeded"),
];

/// Parameter problem codes, by scapy's names.
pub const PARAM_PROBLEM_CODES: &[(u64, &str)] = &[
    (0, "erroneous header field encountered"),
    (1, "unrecognized Next Header type encountered"),
    (2, "unrecognized IPv6 option encountered"),
    (3, "first fragment has incomplete header chain"),
];

/// The smallest MTU an IPv6 link may have (RFC 8200 section 5).
pub const IPV6_MIN_MTU: u32 = 1280;

/// How IPv6 dissects next header 58: the message type picks the layer.
pub const NEXT: Next = Next::Peek(classify);

/// The layer for an ICMPv6 message, from its type byte.
pub fn classify(message: &[u8]) -> Next {
    let Some(&kind) = message.first() else { return Next::Raw };
    Next::Layer(match kind {
        1 => LayerKind::Icmpv6DestUnreach,
        2 => LayerKind::Icmpv6PacketTooBig,
        3 => LayerKind::Icmpv6TimeExceeded,
        4 => LayerKind::Icmpv6ParamProblem,
        128 => LayerKind::Icmpv6EchoRequest,
        129 => LayerKind::Icmpv6EchoReply,
        135 => LayerKind::Icmpv6NdNs,
        136 => LayerKind::Icmpv6NdNa,
        _ => LayerKind::Icmpv6Unknown,
    })
}

/// The hop limit an IPv6 header directly before this layer gets unless set: 255 for
/// neighbor discovery, which receivers drop otherwise (RFC 4861); scapy does the same.
pub fn hop_limit_for(next: LayerKind) -> Option<u8> {
    match next {
        LayerKind::Icmpv6NdNs | LayerKind::Icmpv6NdNa => Some(255),
        _ => None,
    }
}

/// The layer for a neighbor discovery option, from its type byte; others stay Raw.
pub fn classify_nd_option(option: &[u8]) -> Next {
    // As scapy: a single byte cannot be an option.
    if option.len() < 2 {
        return Next::Raw;
    }
    match option[0] {
        1 => Next::Layer(LayerKind::Icmpv6NdOptSrcLladdr),
        2 => Next::Layer(LayerKind::Icmpv6NdOptDstLladdr),
        _ => Next::Raw,
    }
}

/// Writes type, code and checksum (0 until `finish` when auto).
fn write_head(hdr: &mut [u8], kind: u8, code: u8, cksum: Option<u16>) {
    hdr[0] = kind;
    hdr[1] = code;
    hdr[2..4].copy_from_slice(&cksum.unwrap_or(0).to_be_bytes());
}

/// The first `len` bytes of a message, or Truncated.
fn head(data: &[u8], len: usize) -> Result<&[u8], Truncated> {
    data.get(..len).ok_or(Truncated)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn addr(b: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0; 16];
    octets.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// Fills in an auto checksum over the pseudo-header and the whole message.
fn finish_checksum(cksum: Option<u16>, seg: &mut [u8], pseudo: Option<&Pseudo>) {
    if cksum.is_some() {
        return;
    }
    if let Some(p) = pseudo {
        let ck = checksum::fold(p.sum(PROTO_ICMPV6, seg.len()) as u64 + checksum::partial(seg));
        seg[2..4].copy_from_slice(&ck.to_be_bytes());
    }
}

/// The name of a code in a table, or its number.
fn code_name(table: &[(u64, &str)], code: u8) -> String {
    match table.iter().find(|(c, _)| *c == code as u64) {
        Some((_, name)) => name.to_string(),
        None => format!("code {code}"),
    }
}

/// An error message should quote as much of the offending packet as fits.
fn check_quote(what: &str, seg: &[u8], out: &mut Vec<String>) {
    if seg.len() <= 8 {
        out.push(format!("ICMPv6 {what} quotes nothing of the packet that caused it"));
    }
}

/// ND messages with a nonzero code are dropped by receivers (RFC 4861 7.1).
fn check_nd_code(what: &str, code: u8, out: &mut Vec<String>) {
    if code != 0 {
        out.push(format!("ICMPv6 {what} code is {code}, not 0: receivers drop it"));
    }
}

layer! {
    /// ICMPv6 echo request: 8 bytes and the data.
    Icmpv6EchoRequest: "ICMPv6EchoRequest", "ICMPv6 Echo Request" {
        /// Message type: 128.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 128,
        /// Code: 0.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier, to match replies.
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number.
        seq: u16 [fmt(Fmt::Hex)] = 0,
        /// Data, echoed back in the reply.
        data: Vec<u8> = Vec::new(),
    }
}

layer! {
    /// ICMPv6 echo reply: 8 bytes and the data.
    Icmpv6EchoReply: "ICMPv6EchoReply", "ICMPv6 Echo Reply" {
        /// Message type: 129.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 129,
        /// Code: 0.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier of the request answered.
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number of the request answered.
        seq: u16 [fmt(Fmt::Hex)] = 0,
        /// Data of the request.
        data: Vec<u8> = Vec::new(),
    }
}

/// Echo request and reply share their layout.
macro_rules! echo_proto {
    ($S:ident, $what:literal) => {
        impl Proto for $S {
            const IP_PROTO: Option<u8> = Some(PROTO_ICMPV6);
    const USES_PSEUDO: bool = true;

            fn header_len(&self) -> usize {
                8 + self.data.len()
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                hdr[4..6].copy_from_slice(&self.id.to_be_bytes());
                hdr[6..8].copy_from_slice(&self.seq.to_be_bytes());
                hdr[8..].copy_from_slice(&self.data);
            }

            fn finish(&self, seg: &mut [u8], pseudo: Option<&Pseudo>) {
                finish_checksum(self.cksum, seg, pseudo);
            }

            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                let h = head(data, 8)?;
                let layer = $S {
                    r#type: h[0],
                    code: h[1],
                    cksum: Some(be16(h, 2)),
                    id: be16(h, 4),
                    seq: be16(h, 6),
                    data: data[8..].to_vec(),
                };
                Ok(Decoded { layer, hlen: data.len(), total_len: None, next: Next::Raw })
            }

            fn summary(&self) -> String {
                format!("ICMPv6 {} id {:#x} seq {}", $what, self.id, self.seq)
            }
        }
    };
}
echo_proto!(Icmpv6EchoRequest, "echo-request");
echo_proto!(Icmpv6EchoReply, "echo-reply");

layer! {
    /// ICMPv6 destination unreachable: 8 bytes, then the offending IPv6 packet.
    Icmpv6DestUnreach: "ICMPv6DestUnreach", "ICMPv6 Destination Unreachable" {
        /// Message type: 1.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 1,
        /// Why: 0 no route, 1 prohibited, 3 address unreachable, 4 port unreachable...
        code: u8 [fmt(Fmt::Enum(DEST_UNREACH_CODES))] = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Length of the quoted packet in 8-byte units when extensions follow (RFC 4884).
        length: u8 = 0,
        /// Unused bits after length.
        unused: u32 [bits(24), fmt(Fmt::Hex)] = 0,
    }
}

layer! {
    /// ICMPv6 time exceeded: 8 bytes, then the offending IPv6 packet.
    Icmpv6TimeExceeded: "ICMPv6TimeExceeded", "ICMPv6 Time Exceeded" {
        /// Message type: 3.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 3,
        /// Why: 0 hop limit exceeded, 1 fragment reassembly time exceeded.
        code: u8 [fmt(Fmt::Enum(TIME_EXCEEDED_CODES))] = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Length of the quoted packet in 8-byte units when extensions follow (RFC 4884).
        length: u8 = 0,
        /// Unused bits after length.
        unused: u32 [bits(24), fmt(Fmt::Hex)] = 0,
    }
}

/// Destination unreachable and time exceeded share their layout.
macro_rules! length_error_proto {
    ($S:ident, $what:literal, $codes:ident) => {
        impl Proto for $S {
            const IP_PROTO: Option<u8> = Some(PROTO_ICMPV6);
    const USES_PSEUDO: bool = true;

            fn header_len(&self) -> usize {
                8
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                let word = ((self.length as u32) << 24) | (self.unused & 0xff_ffff);
                hdr[4..8].copy_from_slice(&word.to_be_bytes());
            }

            fn finish(&self, seg: &mut [u8], pseudo: Option<&Pseudo>) {
                finish_checksum(self.cksum, seg, pseudo);
            }

            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                let h = head(data, 8)?;
                let layer = $S {
                    r#type: h[0],
                    code: h[1],
                    cksum: Some(be16(h, 2)),
                    length: h[4],
                    unused: be32(h, 4) & 0xff_ffff,
                };
                Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Layer(LayerKind::Ipv6) })
            }

            fn summary(&self) -> String {
                format!("ICMPv6 {} ({})", $what, code_name($codes, self.code))
            }

            fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
                check_quote($what, seg, out);
            }
        }
    };
}
length_error_proto!(Icmpv6DestUnreach, "dest-unreach", DEST_UNREACH_CODES);
length_error_proto!(Icmpv6TimeExceeded, "time-exceeded", TIME_EXCEEDED_CODES);

layer! {
    /// ICMPv6 packet too big: 8 bytes with the next hop's MTU, then the offending packet.
    Icmpv6PacketTooBig: "ICMPv6PacketTooBig", "ICMPv6 Packet Too Big" {
        /// Message type: 2.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 2,
        /// Code: 0.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// MTU of the next hop.
        mtu: u32 = IPV6_MIN_MTU,
    }
}

layer! {
    /// ICMPv6 parameter problem: 8 bytes with a pointer, then the offending packet.
    Icmpv6ParamProblem: "ICMPv6ParamProblem", "ICMPv6 Parameter Problem" {
        /// Message type: 4.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 4,
        /// What: 0 bad header field, 1 unknown next header, 2 unknown option.
        code: u8 [fmt(Fmt::Enum(PARAM_PROBLEM_CODES))] = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Offset of the problem in the quoted packet.
        ptr: u32 = 6,
    }
}

/// Packet too big and parameter problem: one 32-bit value after the checksum.
macro_rules! word_error_proto {
    ($S:ident, $field:ident, $what:literal) => {
        impl Proto for $S {
            const IP_PROTO: Option<u8> = Some(PROTO_ICMPV6);
    const USES_PSEUDO: bool = true;

            fn header_len(&self) -> usize {
                8
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                hdr[4..8].copy_from_slice(&self.$field.to_be_bytes());
            }

            fn finish(&self, seg: &mut [u8], pseudo: Option<&Pseudo>) {
                finish_checksum(self.cksum, seg, pseudo);
            }

            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                let h = head(data, 8)?;
                let layer = $S { r#type: h[0], code: h[1], cksum: Some(be16(h, 2)), $field: be32(h, 4) };
                Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Layer(LayerKind::Ipv6) })
            }

            fn summary(&self) -> String {
                format!("ICMPv6 {} {} {}", $what, stringify!($field), self.$field)
            }

            fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
                check_quote($what, seg, out);
                self.check_value(out);
            }
        }
    };
}
word_error_proto!(Icmpv6PacketTooBig, mtu, "packet-too-big");
word_error_proto!(Icmpv6ParamProblem, ptr, "param-problem");

impl Icmpv6PacketTooBig {
    fn check_value(&self, out: &mut Vec<String>) {
        if self.mtu < IPV6_MIN_MTU {
            out.push(format!(
                "ICMPv6 packet-too-big mtu {} is below the IPv6 minimum of {IPV6_MIN_MTU}",
                self.mtu
            ));
        }
    }
}

impl Icmpv6ParamProblem {
    fn check_value(&self, _out: &mut Vec<String>) {}
}

layer! {
    /// ICMPv6 neighbor solicitation: 24 bytes, then ND options.
    Icmpv6NdNs: "ICMPv6ND_NS", "ICMPv6 Neighbor Discovery - Neighbor Solicitation" {
        /// Message type: 135.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 135,
        /// Code: 0 (receivers drop anything else).
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Reserved word.
        res: u32 = 0,
        /// The address whose link-layer address is asked for.
        tgt: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
    }
}

/// Neighbor advertisement flag letters, most significant bit first.
const NA_FLAGS: [(u8, char); 3] = [(0, 'R'), (1, 'S'), (2, 'O')];

layer! {
    /// ICMPv6 neighbor advertisement: 24 bytes, then ND options.
    Icmpv6NdNa: "ICMPv6ND_NA", "ICMPv6 Neighbor Discovery - Neighbor Advertisement" {
        /// Message type: 136.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 136,
        /// Code: 0 (receivers drop anything else).
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// R flag: the sender is a router.
        router_flag("R"): u8 [bits(1)] = 1,
        /// S flag: the advertisement answers a solicitation.
        solicited_flag("S"): u8 [bits(1)] = 0,
        /// O flag: override cached link-layer addresses.
        override_flag("O"): u8 [bits(1)] = 1,
        /// Reserved bits after the flags.
        res: u32 [bits(29), fmt(Fmt::Hex)] = 0,
        /// The address advertised.
        tgt: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
    }
}

impl Icmpv6NdNa {
    fn flag_bits(&self) -> [u8; 3] {
        [self.router_flag, self.solicited_flag, self.override_flag]
    }

    /// Letters of the flags set, as in `RO`.
    fn flag_letters(&self) -> String {
        let bits = self.flag_bits();
        NA_FLAGS.iter().filter(|(i, _)| bits[*i as usize] & 1 != 0).map(|(_, c)| *c).collect()
    }
}

impl Proto for Icmpv6NdNs {
    const IP_PROTO: Option<u8> = Some(PROTO_ICMPV6);
    const USES_PSEUDO: bool = true;

    fn header_len(&self) -> usize {
        24
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..8].copy_from_slice(&self.res.to_be_bytes());
        hdr[8..24].copy_from_slice(&self.tgt.octets());
    }

    fn finish(&self, seg: &mut [u8], pseudo: Option<&Pseudo>) {
        finish_checksum(self.cksum, seg, pseudo);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 24)?;
        let layer =
            Icmpv6NdNs { r#type: h[0], code: h[1], cksum: Some(be16(h, 2)), res: be32(h, 4), tgt: addr(h, 8) };
        Ok(Decoded { layer, hlen: 24, total_len: None, next: Next::Peek(classify_nd_option) })
    }

    fn summary(&self) -> String {
        format!("ICMPv6 ND_NS who has {}", self.tgt)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_nd_code("ND_NS", self.code, out);
        if self.tgt.is_multicast() {
            out.push(format!("ICMPv6 ND_NS target {} is multicast: receivers drop it", self.tgt));
        }
    }
}

impl Proto for Icmpv6NdNa {
    const IP_PROTO: Option<u8> = Some(PROTO_ICMPV6);
    const USES_PSEUDO: bool = true;

    fn header_len(&self) -> usize {
        24
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        let flags = self.flag_bits().iter().fold(0u32, |acc, &bit| (acc << 1) | (bit as u32 & 1));
        let word = (flags << 29) | (self.res & 0x1fff_ffff);
        hdr[4..8].copy_from_slice(&word.to_be_bytes());
        hdr[8..24].copy_from_slice(&self.tgt.octets());
    }

    fn finish(&self, seg: &mut [u8], pseudo: Option<&Pseudo>) {
        finish_checksum(self.cksum, seg, pseudo);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 24)?;
        let word = be32(h, 4);
        let layer = Icmpv6NdNa {
            r#type: h[0],
            code: h[1],
            cksum: Some(be16(h, 2)),
            router_flag: (word >> 31) as u8,
            solicited_flag: ((word >> 30) & 1) as u8,
            override_flag: ((word >> 29) & 1) as u8,
            res: word & 0x1fff_ffff,
            tgt: addr(h, 8),
        };
        Ok(Decoded { layer, hlen: 24, total_len: None, next: Next::Peek(classify_nd_option) })
    }

    fn summary(&self) -> String {
        format!("ICMPv6 ND_NA {} is here [{}]", self.tgt, self.flag_letters())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_nd_code("ND_NA", self.code, out);
        if self.tgt.is_multicast() {
            out.push(format!("ICMPv6 ND_NA target {} is multicast: receivers drop it", self.tgt));
        }
    }
}

layer! {
    /// ND option carrying the sender's link-layer address: 8 bytes.
    Icmpv6NdOptSrcLladdr: "ICMPv6NDOptSrcLLAddr", "ICMPv6 Neighbor Discovery Option - Source Link-Layer Address" {
        /// Option type: 1.
        r#type("type"): u8 = 1,
        /// Option length in 8-byte units.
        len: u8 = 1,
        /// The link-layer address. Auto: 00:00:00:00:00:00 offline; the live layer uses the interface's.
        lladdr: Option<Mac> = None,
    }
}

layer! {
    /// ND option carrying the target's link-layer address: 8 bytes.
    Icmpv6NdOptDstLladdr: "ICMPv6NDOptDstLLAddr", "ICMPv6 Neighbor Discovery Option - Destination Link-Layer Address" {
        /// Option type: 2.
        r#type("type"): u8 = 2,
        /// Option length in 8-byte units.
        len: u8 = 1,
        /// The link-layer address. Auto: 00:00:00:00:00:00 offline; the live layer uses the interface's.
        lladdr: Option<Mac> = None,
    }
}

/// Both link-layer address options share their layout.
macro_rules! lladdr_option_proto {
    ($S:ident, $what:literal) => {
        impl Proto for $S {
            fn header_len(&self) -> usize {
                8
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                hdr[0] = self.r#type;
                hdr[1] = self.len;
                hdr[2..8].copy_from_slice(&self.lladdr.unwrap_or(Mac::ZERO).0);
            }

            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                let h = head(data, 8)?;
                let mut mac = [0; 6];
                mac.copy_from_slice(&h[2..8]);
                let layer = $S { r#type: h[0], len: h[1], lladdr: Some(Mac(mac)) };
                // As scapy: the option is 8 bytes whatever its len says; the next one follows.
                Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Peek(classify_nd_option) })
            }

            fn summary(&self) -> String {
                format!("ND {} {}", $what, self.lladdr.unwrap_or(Mac::ZERO))
            }

            fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
                match self.len {
                    0 => out.push(format!("ND {} option len is 0: receivers drop the message", $what)),
                    1 => {}
                    n => out.push(format!(
                        "ND {} option len {n} announces {} bytes but an Ethernet address option is 8",
                        $what,
                        8 * n as usize
                    )),
                }
            }
        }
    };
}
lladdr_option_proto!(Icmpv6NdOptSrcLladdr, "src-lladdr");
lladdr_option_proto!(Icmpv6NdOptDstLladdr, "dst-lladdr");

layer! {
    /// Any other ICMPv6 message: type, code, checksum and the body as bytes.
    Icmpv6Unknown: "ICMPv6Unknown", "Scapy6 ICMPv6 fallback class" {
        /// Message type.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 1,
        /// Code.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// The rest of the message.
        msgbody: Vec<u8> = Vec::new(),
    }
}

impl Proto for Icmpv6Unknown {
    const IP_PROTO: Option<u8> = Some(PROTO_ICMPV6);
    const USES_PSEUDO: bool = true;

    fn header_len(&self) -> usize {
        4 + self.msgbody.len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..].copy_from_slice(&self.msgbody);
    }

    fn finish(&self, seg: &mut [u8], pseudo: Option<&Pseudo>) {
        finish_checksum(self.cksum, seg, pseudo);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 4)?;
        let layer = Icmpv6Unknown { r#type: h[0], code: h[1], cksum: Some(be16(h, 2)), msgbody: data[4..].to_vec() };
        Ok(Decoded { layer, hlen: data.len(), total_len: None, next: Next::Raw })
    }

    fn summary(&self) -> String {
        match ICMPV6_TYPES.iter().find(|(t, _)| *t == self.r#type as u64) {
            Some((_, name)) => format!("ICMPv6 {name} (type {}) code {}", self.r#type, self.code),
            None => format!("ICMPv6 type {} code {}", self.r#type, self.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Value;
    use crate::layer::Fields;
    use crate::layers::ether::Ether;
    use crate::layers::ipv6::Ipv6;
    use crate::layers::ipv6ext::Fragment;
    use crate::layers::udp::Udp;
    use crate::packet::{Layer, Packet};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn ipv6() -> Ipv6 {
        Ipv6::new().src("2001:db8::1").dst("2001:db8::2")
    }

    /// The reply direction, as the quoted packets in the vectors.
    fn quoted() -> Ipv6 {
        Ipv6::new().src("2001:db8::2").dst("2001:db8::1")
    }

    fn after_ipv6(p: Packet) -> Vec<u8> {
        p.build()[40..].to_vec()
    }

    fn kinds(p: &Packet) -> Vec<LayerKind> {
        p.layers.iter().map(Layer::kind).collect()
    }

    fn problems(l: impl Into<Layer>, seg: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        l.into().check(seg, &DissectCx::default(), &mut out);
        out
    }

    #[test]
    fn echo_matches_scapy() {
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().id(1).seq(2).data(b"abcdefgh"));
        assert_eq!(b, hex("800092a7000100026162636465666768"));
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().id(1).seq(2).data(b"abc"));
        assert_eq!(b, hex("80005fdf00010002616263"));
        let b = after_ipv6(ipv6() / Icmpv6EchoReply::new().id(7).seq(8).data(b"pong"));
        assert_eq!(b, hex("8100445e00070008706f6e67"));
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().code(3));
        assert_eq!(b, hex("8003244500000000"));
    }

    #[test]
    fn forced_checksum_is_verbatim_even_zero() {
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().cksum(0).id(1));
        assert_eq!(b, hex("8000000000010000"));
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().cksum(0x1234).id(1));
        assert_eq!(b, hex("8000123400010000"));
    }

    #[test]
    fn computed_zero_checksum_stays_zero() {
        // Pick id so the message sums to 0xffff with the pseudo-header: checksum 0.
        let base = after_ipv6(ipv6() / Icmpv6EchoRequest::new());
        let ck = u16::from_be_bytes([base[2], base[3]]);
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().id(ck));
        assert_eq!(&b[2..4], [0, 0]);
    }

    #[test]
    fn without_ipv6_the_checksum_stays_zero() {
        assert_eq!(Packet::from(Layer::from(Icmpv6EchoRequest::new())).build(), hex("8000000000000000"));
        assert_eq!(Packet::from(Layer::from(Icmpv6Unknown::new())).build(), hex("01000000"));
    }

    #[test]
    fn errors_quote_an_ipv6_packet() {
        // icmpv6_dest_unreach_code_4 style, with unused set (icmpv6_dest_unreach_unused).
        let error = Icmpv6DestUnreach::new().code(4).unused(0x123456);
        let p = ipv6() / error / quoted() / Udp::new().sport(5678).dport(1234);
        let want = "6000000000383a4020010db800000000000000000000000120010db80000000000000000000000020104fd7c00123456600000000008114020010db800000000000000000000000220010db8000000000000000000000001162e04d200088969";
        assert_eq!(p.build(), hex(want));
        let d = Packet::dissect(&hex(want), LayerKind::Ipv6);
        use LayerKind as K;
        assert_eq!(kinds(&d), [K::Ipv6, K::Icmpv6DestUnreach, K::Ipv6, K::Udp]);
    }

    #[test]
    fn packet_too_big_and_param_problem_match_scapy() {
        let b = after_ipv6(ipv6() / Icmpv6PacketTooBig::new() / quoted() / Udp::new().sport(5678).dport(1234));
        assert_eq!(&b[..8], hex("02002be900000500"));
        let problem = Icmpv6ParamProblem::new().code(2).ptr(40);
        let b = after_ipv6(ipv6() / problem / quoted() / Udp::new().sport(5678).dport(1234));
        assert_eq!(&b[..8], hex("04022ebf00000028"));
        let b = after_ipv6(ipv6() / Icmpv6TimeExceeded::new().code(1) / quoted() / Udp::new().sport(5678).dport(1234));
        assert_eq!(&b[..8], hex("03012fe800000000"));
    }

    #[test]
    fn error_quoting_extension_header_matches_scapy() {
        let p = ipv6()
            / Icmpv6ParamProblem::new().code(1).ptr(40)
            / quoted()
            / Fragment::new().id(5)
            / Udp::new().sport(5678).dport(1234);
        let want = "6000000000403a4020010db800000000000000000000000120010db8000000000000000000000002040102ab000000286000000000102c4020010db800000000000000000000000220010db80000000000000000000000011100000000000005162e04d200088969";
        assert_eq!(p.build(), hex(want));
    }

    #[test]
    fn neighbor_solicitation_matches_scapy() {
        // icmpv6_nd_ns_ether; hlim 255 is set by hand until IPv6 does it for ND.
        let p = Ether::new().dst("33:33:ff:00:00:09").src("00:11:22:33:44:55")
            / Ipv6::new().src("2001:db8::1").dst("ff02::1:ff00:9").hlim(255)
            / Icmpv6NdNs::new().tgt("2001:db8::9")
            / Icmpv6NdOptSrcLladdr::new().lladdr("00:11:22:33:44:55");
        let want = "3333ff00000900112233445586dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff0000098700b7800000000020010db80000000000000000000000090101001122334455";
        assert_eq!(p.build(), hex(want));
        let d = Packet::dissect(&hex(want), LayerKind::Ether);
        use LayerKind as K;
        assert_eq!(kinds(&d), [K::Ether, K::Ipv6, K::Icmpv6NdNs, K::Icmpv6NdOptSrcLladdr]);
        assert_eq!(d.layers[2].summary(), "ICMPv6 ND_NS who has 2001:db8::9");
    }

    #[test]
    fn neighbor_advertisement_flags_match_scapy() {
        let na = |r: u8, s: u8, o: u8| {
            let p = Ipv6::new().src("2001:db8::2").dst("2001:db8::1").hlim(255)
                / Icmpv6NdNa::new().router_flag(r).solicited_flag(s).override_flag(o).tgt("2001:db8::2");
            after_ipv6(p)[..8].to_vec()
        };
        assert_eq!(na(0, 0, 0), hex("8800ee7c00000000"));
        assert_eq!(na(0, 1, 1), hex("88008e7c60000000"));
        assert_eq!(na(1, 1, 1), hex("88000e7ce0000000"));
        let p = Ipv6::new().src("2001:db8::2").dst("2001:db8::1").hlim(255)
            / Icmpv6NdNa::new().res(0x1abcdef).tgt("2001:db8::2");
        assert_eq!(after_ipv6(p)[..8], hex("88007ee1a1abcdef"));
        assert_eq!(Layer::from(Icmpv6NdNa::new().tgt("::1")).summary(), "ICMPv6 ND_NA ::1 is here [RO]");
        let mut na = Icmpv6NdNa::new();
        na.set("S", &Value::Int(1)).unwrap();
        assert_eq!(na.solicited_flag, 1);
        assert!(na.set("R", &Value::Int(2)).is_err());
    }

    #[test]
    fn nd_options_dissect_by_type() {
        let ns = Icmpv6NdNs::new().tgt("2001:db8::9");
        let p = ipv6()
            / ns
            / Icmpv6NdOptSrcLladdr::new().lladdr("00:11:22:33:44:55")
            / Icmpv6NdOptDstLladdr::new().lladdr("66:77:88:99:aa:bb")
            / &hex("0e01000000000000")[..];
        let b = p.build();
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        use LayerKind as K;
        assert_eq!(kinds(&d), [K::Ipv6, K::Icmpv6NdNs, K::Icmpv6NdOptSrcLladdr, K::Icmpv6NdOptDstLladdr, K::Raw]);
        assert_eq!(d.build(), b);
        // A lone trailing byte is no option.
        assert!(matches!(classify_nd_option(&[1]), Next::Raw));
    }

    #[test]
    fn unknown_types_keep_their_body() {
        let solicit = Icmpv6Unknown::new().r#type(133).msgbody(hex("00000000"));
        let b = (ipv6() / solicit).build();
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        let Layer::Icmpv6Unknown(u) = &d.layers[1] else { panic!("{d:?}") };
        assert_eq!((u.r#type, &u.msgbody[..]), (133, &[0u8; 4][..]));
        assert_eq!(d.layers[1].summary(), "ICMPv6 Router Solicitation (type 133) code 0");
        assert_eq!(d.build(), b);
    }

    #[test]
    fn truncated_messages_become_marked_raw() {
        let cases: [(Layer, &str); 6] = [
            (Icmpv6EchoRequest::new().into(), "ICMPv6EchoRequest"),
            (Icmpv6DestUnreach::new().into(), "ICMPv6DestUnreach"),
            (Icmpv6PacketTooBig::new().into(), "ICMPv6PacketTooBig"),
            (Icmpv6NdNs::new().into(), "ICMPv6ND_NS"),
            (Icmpv6NdNa::new().into(), "ICMPv6ND_NA"),
            (Icmpv6Unknown::new().r#type(200).into(), "ICMPv6Unknown"),
        ];
        for (layer, name) in cases {
            let full = (ipv6() / layer).build();
            // Three bytes: short of every message's fixed part.
            let cut = &full[..40 + 3];
            let p = Packet::dissect(cut, LayerKind::Ipv6);
            let Some(Layer::Raw(raw)) = p.layers.last() else { panic!("{name}: {p:?}") };
            assert_eq!(raw.truncated, Some(name));
            assert_eq!(p.build(), cut);
        }
        let full = (ipv6() / Icmpv6NdNs::new() / Icmpv6NdOptSrcLladdr::new()).build();
        let p = Packet::dissect(&full[..full.len() - 1], LayerKind::Ipv6);
        let Some(Layer::Raw(raw)) = p.layers.last() else { panic!("{p:?}") };
        assert_eq!(raw.truncated, Some("ICMPv6NDOptSrcLLAddr"));
    }

    #[test]
    fn checks_find_layer_problems() {
        assert!(problems(Icmpv6PacketTooBig::new().mtu(1000), &[0; 48])[0].contains("below"));
        assert!(problems(Icmpv6PacketTooBig::new(), &[0; 48]).is_empty());
        assert!(problems(Icmpv6PacketTooBig::new(), &[0; 8])[0].contains("quotes nothing"));
        assert!(problems(Icmpv6NdNa::new().tgt("ff02::1"), &[])[0].contains("multicast"));
        assert!(problems(Icmpv6NdNs::new().tgt("ff02::1"), &[])[0].contains("multicast"));
        assert!(problems(Icmpv6NdNs::new().code(1), &[])[0].contains("code is 1"));
        assert!(problems(Icmpv6NdNs::new().tgt("2001:db8::1"), &[]).is_empty());
        assert!(problems(Icmpv6NdOptSrcLladdr::new().len(0), &[])[0].contains("len is 0"));
        assert!(problems(Icmpv6NdOptDstLladdr::new().len(2), &[])[0].contains("16 bytes"));
    }

    #[test]
    fn summaries() {
        let s = |l: Layer| l.summary();
        assert_eq!(s(Icmpv6EchoRequest::new().id(1).seq(2).into()), "ICMPv6 echo-request id 0x1 seq 2");
        assert_eq!(s(Icmpv6PacketTooBig::new().into()), "ICMPv6 packet-too-big mtu 1280");
        assert_eq!(s(Icmpv6DestUnreach::new().code(4).into()), "ICMPv6 dest-unreach (Port unreachable)");
        assert_eq!(s(Icmpv6ParamProblem::new().into()), "ICMPv6 param-problem ptr 6");
        assert_eq!(s(Icmpv6NdOptSrcLladdr::new().into()), "ND src-lladdr 00:00:00:00:00:00");
    }

    #[test]
    fn neighbor_discovery_wants_hop_limit_255() {
        assert_eq!(hop_limit_for(LayerKind::Icmpv6NdNs), Some(255));
        assert_eq!(hop_limit_for(LayerKind::Icmpv6NdNa), Some(255));
        assert_eq!(hop_limit_for(LayerKind::Icmpv6EchoRequest), None);
    }

    #[test]
    fn type_names_are_accepted() {
        let mut e = Icmpv6Unknown::new();
        e.set("type", &Value::Str("Router Solicitation".into())).unwrap();
        assert_eq!(e.r#type, 133);
        let mut d = Icmpv6DestUnreach::new();
        d.set("code", &Value::Str("Port unreachable".into())).unwrap();
        assert_eq!(d.code, 4);
        assert!(d.set("unused", &Value::Int(1 << 24)).is_err());
    }

    const MINE: [LayerKind; 11] = [
        LayerKind::Icmpv6EchoRequest,
        LayerKind::Icmpv6EchoReply,
        LayerKind::Icmpv6DestUnreach,
        LayerKind::Icmpv6PacketTooBig,
        LayerKind::Icmpv6TimeExceeded,
        LayerKind::Icmpv6ParamProblem,
        LayerKind::Icmpv6NdNs,
        LayerKind::Icmpv6NdNa,
        LayerKind::Icmpv6NdOptSrcLladdr,
        LayerKind::Icmpv6NdOptDstLladdr,
        LayerKind::Icmpv6Unknown,
    ];

    #[test]
    fn no_panics_on_any_bytes() {
        let mut rng = 0x9e3779b97f4a7c15u64;
        for _ in 0..5000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let len = (rng % 64) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|i| (rng >> (i % 56)) as u8 ^ i as u8).collect();
            // Favour the types that have layers.
            if let Some(first) = bytes.first_mut() {
                *first = [1, 2, 3, 4, 128, 129, 135, 136, *first][(rng >> 60) as usize % 9];
            }
            for kind in MINE {
                let p = Packet::dissect(&bytes, kind);
                // Other layers' round trips are their own tests' business.
                if p.layers.iter().all(|l| MINE.contains(&l.kind()) || l.kind() == LayerKind::Raw) {
                    assert_eq!(p.build(), bytes, "{kind:?} {bytes:02x?}");
                }
                for l in &p.layers {
                    l.summary();
                    l.check(&bytes, &DissectCx::default(), &mut Vec::new());
                }
            }
        }
    }
}

/// Every `ipv6ext_` and `icmpv6_` scapy vector: dissected into scapy's layers and field
/// values, then rebuilt into the same bytes.
#[cfg(test)]
mod vectors {
    use crate::field::Value;
    use crate::packet::{LayerKind, Packet};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// A vector's JSON field value in craft's dynamic form.
    fn value_of(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::None,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap_or(-1)),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(value_of).collect()),
            serde_json::Value::Object(o) => match o.get("bytes").and_then(|b| b.as_str()) {
                Some(h) => Value::Bytes(hex(h)),
                None => Value::None,
            },
        }
    }

    /// scapy fields craft leaves out (RFC 4884 extensions of the error messages).
    const SKIPPED_FIELDS: &[&str] = &["extpad", "ext"];

    #[test]
    fn scapy_vectors_dissect_and_rebuild() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scapy/vectors.jsonl");
        let text = std::fs::read_to_string(path).expect("scapy vectors");
        let mut seen = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let name = v["name"].as_str().unwrap();
            if !name.starts_with("ipv6ext_") && !name.starts_with("icmpv6_") {
                continue;
            }
            seen += 1;
            let bytes = hex(v["hex"].as_str().unwrap());
            let start = LayerKind::from_name(v["start"].as_str().unwrap()).unwrap();
            let p = Packet::dissect(&bytes, start);
            assert_eq!(p.build(), bytes, "{name}: rebuild differs");
            let Some(layers) = v["layers"].as_array() else { continue };
            let got: Vec<&str> = p.layers.iter().map(|l| l.kind().name()).collect();
            let want: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
            assert_eq!(got, want, "{name}: layers");
            for (layer, spec) in p.layers.iter().zip(layers) {
                for (field, value) in spec["fields"].as_object().unwrap() {
                    if SKIPPED_FIELDS.contains(&field.as_str()) {
                        continue;
                    }
                    let ours = layer.get(field).unwrap_or_else(|| panic!("{name}: no field {field}"));
                    assert_eq!(ours, value_of(value), "{name}: {} {field}", spec["name"]);
                }
            }
        }
        assert!(seen > 80, "only {seen} vectors");
    }
}

