//! ICMP for IPv4 (scapy `ICMP`): echo, errors quoting the offending IP packet, and the
//! old query types. Which fields follow the checksum depends on the type, as in scapy 2.8.

use std::net::Ipv4Addr;

use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Fields, Next, Proto, Truncated, WriteCx};
use crate::layer;
use crate::packet::{Layer, LayerKind};

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;

pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACH: u8 = 3;
pub const SOURCE_QUENCH: u8 = 4;
pub const REDIRECT: u8 = 5;
pub const ECHO_REQUEST: u8 = 8;
pub const ROUTER_ADVERTISEMENT: u8 = 9;
pub const ROUTER_SOLICITATION: u8 = 10;
pub const TIME_EXCEEDED: u8 = 11;
pub const PARAMETER_PROBLEM: u8 = 12;
pub const TIMESTAMP_REQUEST: u8 = 13;
pub const TIMESTAMP_REPLY: u8 = 14;
pub const INFORMATION_REQUEST: u8 = 15;
pub const INFORMATION_RESPONSE: u8 = 16;
pub const ADDRESS_MASK_REQUEST: u8 = 17;
pub const ADDRESS_MASK_REPLY: u8 = 18;

/// Dest-unreach code 3: the destination port is closed.
pub const PORT_UNREACHABLE: u8 = 3;
/// Dest-unreach code 4: fragmentation needed and DF set (path MTU discovery).
pub const FRAGMENTATION_NEEDED: u8 = 4;

/// ICMP type names, as scapy's `icmptypes`.
pub const ICMP_TYPES: &[(u64, &str)] = &[
    (0, "echo-reply"),
    (3, "dest-unreach"),
    (4, "source-quench"),
    (5, "redirect"),
    (8, "echo-request"),
    (9, "router-advertisement"),
    (10, "router-solicitation"),
    (11, "time-exceeded"),
    (12, "parameter-problem"),
    (13, "timestamp-request"),
    (14, "timestamp-reply"),
    (15, "information-request"),
    (16, "information-response"),
    (17, "address-mask-request"),
    (18, "address-mask-reply"),
    (30, "traceroute"),
    (31, "datagram-conversion-error"),
    (32, "mobile-host-redirect"),
    (33, "ipv6-where-are-you"),
    (34, "ipv6-i-am-here"),
    (35, "mobile-registration-request"),
    (36, "mobile-registration-reply"),
    (37, "domain-name-request"),
    (38, "domain-name-reply"),
    (39, "skip"),
    (40, "photuris"),
];

const DEST_UNREACH_CODES: &[(u64, &str)] = &[
    (0, "network-unreachable"),
    (1, "host-unreachable"),
    (2, "protocol-unreachable"),
    (3, "port-unreachable"),
    (4, "fragmentation-needed"),
    (5, "source-route-failed"),
    (6, "network-unknown"),
    (7, "host-unknown"),
    (9, "network-prohibited"),
    (10, "host-prohibited"),
    (11, "TOS-network-unreachable"),
    (12, "TOS-host-unreachable"),
    (13, "communication-prohibited"),
    (14, "host-precedence-violation"),
    (15, "precedence-cutoff"),
];
const REDIRECT_CODES: &[(u64, &str)] =
    &[(0, "network-redirect"), (1, "host-redirect"), (2, "TOS-network-redirect"), (3, "TOS-host-redirect")];
const TIME_EXCEEDED_CODES: &[(u64, &str)] = &[(0, "ttl-zero-during-transit"), (1, "ttl-zero-during-reassembly")];
const PARAMETER_PROBLEM_CODES: &[(u64, &str)] = &[(0, "ip-header-bad"), (1, "required-option-missing")];
const PHOTURIS_CODES: &[(u64, &str)] = &[
    (0, "bad-spi"),
    (1, "authentication-failed"),
    (2, "decompression-failed"),
    (3, "decryption-failed"),
    (4, "need-authentification"),
    (5, "need-authorization"),
];

/// The code names of a type, as scapy's `icmpcodes` (empty for types without names).
pub fn code_names(icmp_type: u8) -> &'static [(u64, &'static str)] {
    match icmp_type {
        DEST_UNREACH => DEST_UNREACH_CODES,
        REDIRECT => REDIRECT_CODES,
        TIME_EXCEEDED => TIME_EXCEEDED_CODES,
        PARAMETER_PROBLEM => PARAMETER_PROBLEM_CODES,
        40 => PHOTURIS_CODES,
        _ => &[],
    }
}

/// Types carrying id and seq (scapy's `icmp_id_seq_types`).
fn has_id_seq(t: u8) -> bool {
    matches!(t, 0 | 8 | 13..=18 | 37 | 38)
}

fn is_timestamp(t: u8) -> bool {
    matches!(t, TIMESTAMP_REQUEST | TIMESTAMP_REPLY)
}

fn is_address_mask(t: u8) -> bool {
    matches!(t, ADDRESS_MASK_REQUEST | ADDRESS_MASK_REPLY)
}

/// Error types: their payload quotes the IP packet that caused them.
pub fn is_error(t: u8) -> bool {
    matches!(t, DEST_UNREACH | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAMETER_PROBLEM)
}

impl Layer {
    /// Whether this is an ICMP or ICMPv6 error message: the layers after it quote the
    /// packet that caused it (sr matches on the quote; check judges only its IP header
    /// checksum). The one predicate for both families.
    pub fn is_icmp_error(&self) -> bool {
        match self {
            Layer::Icmp(i) => is_error(i.r#type),
            Layer::Icmpv6DestUnreach(_)
            | Layer::Icmpv6PacketTooBig(_)
            | Layer::Icmpv6TimeExceeded(_)
            | Layer::Icmpv6ParamProblem(_) => true,
            _ => false,
        }
    }
}

/// How wide `unused` is for a type: scapy's MultipleTypeField (a short for 11 and 12, an int
/// for types scapy does not otherwise describe, absent for the rest).
fn unused_width(t: u8) -> usize {
    match t {
        TIME_EXCEEDED | PARAMETER_PROBLEM => 2,
        0 | 3 | 5 | 8 | 13..=18 => 0,
        _ => 4,
    }
}

/// Milliseconds since midnight UTC, the unit of ICMP timestamps (RFC 792).
fn now_ms_since_midnight() -> u32 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (since_epoch.as_millis() % 86_400_000) as u32
}

layer! {
    /// ICMP header: type, code, checksum, then fields that depend on the type (8 bytes;
    /// 12 for address masks and types 37/38, 20 for timestamps). Fields that the type does
    /// not use are kept but neither written nor shown.
    Icmp: "ICMP", "ICMP" {
        /// Message type: echo-request, dest-unreach... (a name or a number).
        r#type("type"): u8 [fmt(Fmt::Enum(ICMP_TYPES))] = ECHO_REQUEST,
        /// Code, whose meaning depends on the type (dest-unreach 3: port-unreachable).
        code: u8 = 0,
        /// Checksum over the ICMP header and payload. Auto: computed.
        chksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier (echo, timestamp, information, address-mask types).
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number (echo, timestamp, information, address-mask types).
        seq: u16 [fmt(Fmt::Hex)] = 0,
        /// Originate timestamp, ms since midnight UTC (timestamp types). Auto: the clock at build.
        ts_ori: Option<u32> = None,
        /// Receive timestamp, ms since midnight UTC (timestamp types). Auto: the clock at build.
        ts_rx: Option<u32> = None,
        /// Transmit timestamp, ms since midnight UTC (timestamp types). Auto: the clock at build.
        ts_tx: Option<u32> = None,
        /// Gateway to use instead (redirect).
        gw: Ipv4Addr = Ipv4Addr::UNSPECIFIED,
        /// Offset of the faulty byte in the quoted packet (parameter-problem).
        ptr: u8 = 0,
        /// Reserved byte (dest-unreach, time-exceeded).
        reserved: u8 = 0,
        /// Length of the quoted datagram in 32-bit words, RFC 4884 (dest-unreach, time-exceeded, parameter-problem).
        length: u8 = 0,
        /// Address mask (address-mask types).
        addr_mask: Ipv4Addr = Ipv4Addr::UNSPECIFIED,
        /// Next-hop MTU (dest-unreach; meaningful for fragmentation-needed, RFC 1191).
        nexthopmtu: u16 = 0,
        /// Unused bits: 2 bytes for time-exceeded and parameter-problem (low 16 bits sent), 4 for types without other fields.
        unused: u32 = 0,
    }
}

impl Icmp {
    /// Echo request (ping) with this identifier and sequence number.
    pub fn echo_request(id: u16, seq: u16) -> Icmp {
        Icmp { r#type: ECHO_REQUEST, id, seq, ..Icmp::default() }
    }

    /// Echo reply with this identifier and sequence number.
    pub fn echo_reply(id: u16, seq: u16) -> Icmp {
        Icmp { r#type: ECHO_REPLY, id, seq, ..Icmp::default() }
    }

    /// Destination unreachable with this code (3: port-unreachable); quote the packet after it.
    pub fn dest_unreach(code: u8) -> Icmp {
        Icmp { r#type: DEST_UNREACH, code, ..Icmp::default() }
    }

    /// Fragmentation needed and DF set, announcing the next-hop MTU (path MTU discovery).
    pub fn frag_needed(mtu: u16) -> Icmp {
        Icmp { nexthopmtu: mtu, ..Icmp::dest_unreach(FRAGMENTATION_NEEDED) }
    }

    /// Redirect with this code (1: host-redirect) towards gateway `gw`.
    pub fn redirect(code: u8, gw: Ipv4Addr) -> Icmp {
        Icmp { r#type: REDIRECT, code, gw, ..Icmp::default() }
    }

    /// Time exceeded with this code (0: TTL expired in transit, 1: in reassembly).
    pub fn time_exceeded(code: u8) -> Icmp {
        Icmp { r#type: TIME_EXCEEDED, code, ..Icmp::default() }
    }

    /// Parameter problem pointing at byte `ptr` of the quoted packet.
    pub fn param_problem(ptr: u8) -> Icmp {
        Icmp { r#type: PARAMETER_PROBLEM, ptr, ..Icmp::default() }
    }

    /// Timestamp request; the timestamps stay auto (the clock at build) unless set.
    pub fn timestamp_request(id: u16, seq: u16) -> Icmp {
        Icmp { r#type: TIMESTAMP_REQUEST, id, seq, ..Icmp::default() }
    }

    /// The type's name, or its number when it has none.
    pub fn type_name(&self) -> String {
        name_or_number(ICMP_TYPES, self.r#type)
    }

    /// The code's name for this type, or its number when it has none.
    pub fn code_name(&self) -> String {
        name_or_number(code_names(self.r#type), self.code)
    }

    /// Bytes the type-dependent fields take after the checksum.
    fn rest_len(&self) -> usize {
        let t = self.r#type;
        let fixed = match t {
            _ if has_id_seq(t) => 4 + if is_timestamp(t) { 12 } else if is_address_mask(t) { 4 } else { 0 },
            DEST_UNREACH | REDIRECT => 4,
            PARAMETER_PROBLEM | TIME_EXCEEDED => 2,
            _ => 0,
        };
        fixed + unused_width(t)
    }
}

fn name_or_number(names: &[(u64, &str)], n: u8) -> String {
    match names.iter().find(|(v, _)| *v == n as u64) {
        Some((_, name)) => name.to_string(),
        None => n.to_string(),
    }
}

impl Proto for Icmp {
    fn names(&self, field: &str) -> Option<&'static [(u64, &'static str)]> {
        (field == "code").then(|| code_names(self.r#type))
    }

    const BINDS: &'static [crate::bind::Bind] = &[crate::bind::Bind::ip_proto(PROTO_ICMP).named("icmp")];
    const USES_PAYLOAD_SUM: bool = true;

    fn header_len(&self) -> usize {
        4 + self.rest_len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        let t = self.r#type;
        hdr[0] = t;
        hdr[1] = self.code;
        hdr[2..4].copy_from_slice(&self.chksum.unwrap_or(0).to_be_bytes());
        let mut w = Writer { buf: hdr, at: 4 };
        if has_id_seq(t) {
            w.put(&self.id.to_be_bytes());
            w.put(&self.seq.to_be_bytes());
        }
        if is_timestamp(t) {
            // One clock reading, so auto timestamps agree with each other.
            let now = now_ms_since_midnight();
            for ts in [self.ts_ori, self.ts_rx, self.ts_tx] {
                w.put(&ts.unwrap_or(now).to_be_bytes());
            }
        }
        match t {
            REDIRECT => w.put(&self.gw.octets()),
            PARAMETER_PROBLEM => w.put(&[self.ptr, self.length]),
            DEST_UNREACH | TIME_EXCEEDED => w.put(&[self.reserved, self.length]),
            _ => {}
        }
        if is_address_mask(t) {
            w.put(&self.addr_mask.octets());
        }
        if t == DEST_UNREACH {
            w.put(&self.nexthopmtu.to_be_bytes());
        }
        match unused_width(t) {
            2 => w.put(&(self.unused as u16).to_be_bytes()),
            4 => w.put(&self.unused.to_be_bytes()),
            _ => {}
        }
    }

    fn finish(&self, hdr: &mut [u8], cx: &WriteCx) {
        if self.chksum.is_none() {
            let ck = checksum::fold(checksum::partial(hdr) + cx.payload_sum);
            hdr[2..4].copy_from_slice(&ck.to_be_bytes());
        }
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let t = *data.first().ok_or(Truncated)?;
        let mut icmp = Icmp { r#type: t, ..Icmp::default() };
        let hlen = icmp.header_len();
        let h = data.get(..hlen).ok_or(Truncated)?;
        let mut r = Reader { buf: h, at: 4 };
        icmp.code = h[1];
        icmp.chksum = Some(u16::from_be_bytes([h[2], h[3]]));
        if has_id_seq(t) {
            icmp.id = r.u16();
            icmp.seq = r.u16();
        }
        if is_timestamp(t) {
            icmp.ts_ori = Some(r.u32());
            icmp.ts_rx = Some(r.u32());
            icmp.ts_tx = Some(r.u32());
        }
        match t {
            REDIRECT => icmp.gw = r.addr(),
            PARAMETER_PROBLEM => (icmp.ptr, icmp.length) = (r.u8(), r.u8()),
            DEST_UNREACH | TIME_EXCEEDED => (icmp.reserved, icmp.length) = (r.u8(), r.u8()),
            _ => {}
        }
        if is_address_mask(t) {
            icmp.addr_mask = r.addr();
        }
        if t == DEST_UNREACH {
            icmp.nexthopmtu = r.u16();
        }
        icmp.unused = match unused_width(t) {
            2 => r.u16() as u32,
            4 => r.u32(),
            _ => 0,
        };
        let next = if is_error(t) { Next::Layer(LayerKind::Ip) } else { Next::Raw };
        Ok(Decoded { layer: icmp, hlen, total_len: None, next })
    }

    fn summary(&self) -> String {
        format!("ICMP {} {}", self.type_name(), self.code_name())
    }

    fn present(&self, field: &str) -> bool {
        let t = self.r#type;
        match field {
            "id" | "seq" => has_id_seq(t),
            "ts_ori" | "ts_rx" | "ts_tx" => is_timestamp(t),
            "gw" => t == REDIRECT,
            "ptr" => t == PARAMETER_PROBLEM,
            "reserved" => matches!(t, DEST_UNREACH | TIME_EXCEEDED),
            "length" => matches!(t, DEST_UNREACH | TIME_EXCEEDED | PARAMETER_PROBLEM),
            "addr_mask" => is_address_mask(t),
            "nexthopmtu" => t == DEST_UNREACH,
            "unused" => unused_width(t) > 0,
            _ => Self::FIELDS.iter().any(|f| f.name == field),
        }
    }

    fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        let t = self.r#type;
        let name = self.type_name();
        if !ICMP_TYPES.iter().any(|(v, _)| *v == t as u64) {
            out.push(format!("ICMP type {t} is not a known type"));
        }
        if let Some(max) = max_code(t).filter(|&max| self.code > max) {
            out.push(format!("ICMP {name} code {} is not defined (codes go up to {max})", self.code));
        }
        if t == DEST_UNREACH && self.code == FRAGMENTATION_NEEDED && self.nexthopmtu == 0 {
            out.push("ICMP fragmentation-needed with next-hop MTU 0: the sender cannot learn the path MTU".into());
        }
        if t == REDIRECT && self.gw.is_unspecified() {
            out.push("ICMP redirect to gateway 0.0.0.0".into());
        }
        if is_error(t) {
            check_quote(self, seg.get(self.header_len()..).unwrap_or_default(), out);
        }
    }
}

/// The largest code a type defines (RFC 792, 1122, 1812, 4884), for types with codes.
fn max_code(t: u8) -> Option<u8> {
    match t {
        ECHO_REPLY | SOURCE_QUENCH | ECHO_REQUEST | ROUTER_SOLICITATION | 13..=18 => Some(0),
        DEST_UNREACH => Some(15),
        REDIRECT => Some(3),
        TIME_EXCEEDED => Some(1),
        PARAMETER_PROBLEM => Some(2),
        _ => None,
    }
}

/// Problems with the packet an error message quotes.
fn check_quote(icmp: &Icmp, quote: &[u8], out: &mut Vec<String>) {
    let name = icmp.type_name();
    if quote.is_empty() {
        out.push(format!("ICMP {name} quotes no packet: the receiver cannot tell what it is about"));
        return;
    }
    let ihl = (quote[0] & 0xf) as usize * 4;
    if quote.len() < ihl.max(20) + 8 {
        out.push(format!(
            "ICMP {name} quotes only {} bytes: RFC 792 asks for the IP header and 8 bytes of its data",
            quote.len()
        ));
    }
    if icmp.length != 0 && icmp.length as usize * 4 > quote.len() {
        out.push(format!(
            "ICMP length says the quoted packet is {} bytes (RFC 4884) but only {} are present",
            icmp.length as usize * 4,
            quote.len()
        ));
    }
    // RFC 1122 3.2.2: never answer an ICMP error with another one.
    let quoted_type = if quote.get(9) == Some(&1) { quote.get(ihl.max(20)) } else { None };
    if let Some(&inner) = quoted_type.filter(|&&inner| is_error(inner)) {
        let inner = name_or_number(ICMP_TYPES, inner);
        out.push(format!("ICMP {name} about an ICMP {inner}: errors must not answer errors (RFC 1122)"));
    }
}

/// Writes consecutive fields into a header.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// Reads consecutive fields from a header whose length was checked beforehand.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0; N];
        b.copy_from_slice(&self.buf[self.at..self.at + N]);
        self.at += N;
        b
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take())
    }
    fn addr(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.take::<4>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Value;
    use crate::layers::{Ip, Raw, Tcp, Udp};
    use crate::packet::{Layer, Packet};

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::unhex(s)
    }

    fn outer() -> Ip {
        Ip::new().src("192.0.2.1").dst("198.51.100.2")
    }

    fn quoted() -> Ip {
        Ip::new().src("198.51.100.2").dst("192.0.2.1")
    }

    fn quoted_udp() -> Udp {
        Udp::new().sport(5678).dport(1234)
    }

    fn quoted_tcp() -> Tcp {
        Tcp::new().sport(80).dport(1234).seq(1)
    }

    fn checks(p: &Packet, icmp_at: usize, bytes_from: usize) -> Vec<String> {
        let b = p.build();
        let mut out = Vec::new();
        p.layers[icmp_at].check(&b[bytes_from..], &DissectCx::default(), &mut out);
        out
    }

    #[test]
    fn echo_request_default_matches_scapy() {
        let b = (outer() / Icmp::new()).build();
        assert_eq!(b, hex("4500001c0001000040018ea9c0000201c63364020800f7ff00000000"));
    }

    #[test]
    fn echo_request_and_reply_match_scapy() {
        let req = outer() / Icmp::echo_request(1, 2) / &b"abcdefgh"[..];
        assert_eq!(req.build(), hex("450000240001000040018ea1c0000201c633640208006667000100026162636465666768"));
        let reply = outer() / Icmp::echo_reply(1, 2) / &b"pong"[..];
        assert_eq!(reply.build(), hex("450000200001000040018ea5c0000201c63364020000212600010002706f6e67"));
    }

    #[test]
    fn odd_payload_checksum_matches_scapy() {
        let p = outer() / Icmp::echo_request(1, 3) / &b"abc"[..];
        assert_eq!(p.build(), hex("4500001f0001000040018ea6c0000201c63364020800339900010003616263"));
    }

    #[test]
    fn port_unreachable_quoting_udp_matches_scapy() {
        let p = outer() / Icmp::dest_unreach(PORT_UNREACHABLE) / quoted() / quoted_udp();
        assert_eq!(
            p.build(),
            hex("450000380001000040018e8dc0000201c63364020303e94d000000004500001c0001000040118e99c6336402c0000201162e04d20008f8a6")
        );
    }

    #[test]
    fn frag_needed_writes_mtu_like_scapy() {
        let p = outer() / Icmp::frag_needed(1400) / quoted() / quoted_tcp();
        assert_eq!(
            p.build(),
            hex("450000440001000040018e81c0000201c63364020304e3d500000578450000280001000040068e98c6336402c0000201005004d20000000100000000500220009e880000")
        );
    }

    #[test]
    fn dest_unreach_reserved_and_length_bytes() {
        let b = Packet::from(Layer::from(Icmp::frag_needed(1400).reserved(1).length(2))).build();
        assert_eq!(b, hex("0304f68101020578"));
    }

    #[test]
    fn redirect_writes_gateway() {
        let p = outer() / Icmp::redirect(0, Ipv4Addr::new(10, 9, 8, 7)) / quoted() / quoted_tcp();
        assert_eq!(
            p.build(),
            hex("450000440001000040018e81c0000201c63364020500d5410a090807450000280001000040068e98c6336402c0000201005004d20000000100000000500220009e880000")
        );
    }

    #[test]
    fn param_problem_writes_ptr() {
        let p = outer() / Icmp::param_problem(8) / quoted() / quoted_udp();
        assert_eq!(
            p.build(),
            hex("450000380001000040018e8dc0000201c63364020c00d850080000004500001c0001000040118e99c6336402c0000201162e04d20008f8a6")
        );
        let alone = Packet::from(Layer::from(Icmp::param_problem(1).length(2).unused(3))).build();
        assert_eq!(alone, hex("0c00f2fa01020003"));
    }

    #[test]
    fn time_exceeded_with_unused_matches_scapy() {
        let p = outer() / Icmp::time_exceeded(0).unused(0x1234) / quoted() / quoted_udp();
        assert_eq!(
            p.build(),
            hex("450000380001000040018e8dc0000201c63364020b00cf1c000012344500001c0001000040118e99c6336402c0000201162e04d20008f8a6")
        );
    }

    #[test]
    fn forced_checksum_is_written_verbatim() {
        let p = outer() / Icmp::dest_unreach(3).chksum(0xbeef) / quoted() / quoted_udp();
        assert_eq!(&p.build()[22..24], [0xbe, 0xef]);
        let zero = outer() / Icmp::echo_request(1, 0).chksum(0);
        assert_eq!(zero.build(), hex("4500001c0001000040018ea9c0000201c63364020800000000010000"));
    }

    #[test]
    fn header_length_follows_type_like_scapy() {
        let bytes = |icmp: Icmp| Packet::from(Layer::from(icmp)).build();
        let ts = Icmp::timestamp_request(0, 0).ts_ori(1).ts_rx(2).ts_tx(3);
        assert_eq!(bytes(ts), hex("0d00f2f900000000000000010000000200000003"));
        let mask = Icmp::new().r#type(ADDRESS_MASK_REQUEST).id(1).seq(2).addr_mask("255.255.255.0");
        assert_eq!(bytes(mask), hex("1100effb00010002ffffff00"));
        assert_eq!(bytes(Icmp::new().r#type(37).id(1).seq(2).unused(3)), hex("2500daf90001000200000003"));
        assert_eq!(bytes(Icmp::new().r#type(42).unused(0xdeadbeef)), hex("2a003862deadbeef"));
        assert_eq!(bytes(Icmp::new().r#type(ROUTER_SOLICITATION)), hex("0a00f5ff00000000"));
    }

    #[test]
    fn auto_timestamps_share_one_clock_reading() {
        let b = Packet::from(Layer::from(Icmp::timestamp_request(1, 2).ts_rx(0))).build();
        assert_eq!(b.len(), 20);
        assert_eq!(b[8..12], b[16..20]);
        assert_eq!(b[12..16], [0; 4]);
        assert!(u32::from_be_bytes(b[8..12].try_into().unwrap()) < 86_400_000);
    }

    #[test]
    fn checksum_covers_header_and_payload() {
        let p = outer() / Icmp::echo_request(7, 9) / &b"payload"[..];
        assert_eq!(checksum::checksum(&p.build()[20..]), 0);
    }

    #[test]
    fn error_quotes_ip_and_rebuilds() {
        let b = (outer() / Icmp::dest_unreach(3) / quoted() / quoted_udp() / &b"query"[..]).build();
        let p = Packet::dissect(&b, LayerKind::Ip);
        let kinds: Vec<_> = p.layers.iter().map(Layer::kind).collect();
        assert_eq!(kinds, [LayerKind::Ip, LayerKind::Icmp, LayerKind::Ip, LayerKind::Udp, LayerKind::Raw]);
        assert_eq!(p.build(), b);
    }

    #[test]
    fn query_payload_stays_raw() {
        let b = (outer() / Icmp::echo_request(1, 1) / &b"\x45\x00ping"[..]).build();
        let p = Packet::dissect(&b, LayerKind::Ip);
        assert!(matches!(p.layers[2], Layer::Raw(_)), "{p:?}");
    }

    #[test]
    fn quoted_truncated_tcp_does_not_panic() {
        // A router quotes the IP header and only 8 bytes of TCP.
        let full = (outer() / Icmp::dest_unreach(3) / quoted() / quoted_tcp()).build();
        let cut = &full[..20 + 8 + 20 + 8];
        let p = Packet::dissect(cut, LayerKind::Ip);
        let Layer::Raw(raw) = p.layers.last().unwrap() else { panic!("{p:?}") };
        assert_eq!(raw.truncated, Some("TCP"));
        assert_eq!(p.build(), cut);
    }

    #[test]
    fn every_prefix_dissects_without_panic() {
        let full = (outer() / Icmp::timestamp_request(1, 2).ts_ori(1).ts_rx(2).ts_tx(3)).build();
        for n in 0..=full.len() - 20 {
            let p = Packet::dissect(&full[20..20 + n], LayerKind::Icmp);
            assert_eq!(p.build(), &full[20..20 + n]);
        }
        for t in 0..=255u8 {
            for len in 0..24 {
                let mut data = vec![0xa5; len];
                if let Some(first) = data.first_mut() {
                    *first = t;
                }
                let p = Packet::dissect(&data, LayerKind::Icmp);
                assert_eq!(p.build(), data, "type {t} len {len}");
                let mut out = Vec::new();
                p.layers[0].check(&data, &DissectCx::default(), &mut out);
            }
        }
    }

    #[test]
    fn present_fields_follow_type() {
        let present = |icmp: Icmp| -> Vec<&str> {
            Icmp::FIELDS.iter().map(|f| f.name).filter(|n| icmp.present(n)).collect()
        };
        assert_eq!(present(Icmp::new()), ["type", "code", "chksum", "id", "seq"]);
        assert_eq!(
            present(Icmp::dest_unreach(3)),
            ["type", "code", "chksum", "reserved", "length", "nexthopmtu"]
        );
        assert_eq!(present(Icmp::time_exceeded(0)), ["type", "code", "chksum", "reserved", "length", "unused"]);
        assert_eq!(present(Icmp::param_problem(0)), ["type", "code", "chksum", "ptr", "length", "unused"]);
        assert_eq!(present(Icmp::redirect(0, Ipv4Addr::UNSPECIFIED)), ["type", "code", "chksum", "gw"]);
        assert_eq!(
            present(Icmp::timestamp_request(0, 0)),
            ["type", "code", "chksum", "id", "seq", "ts_ori", "ts_rx", "ts_tx"]
        );
        assert_eq!(present(Icmp::new().r#type(18)), ["type", "code", "chksum", "id", "seq", "addr_mask"]);
        assert_eq!(present(Icmp::new().r#type(4)), ["type", "code", "chksum", "unused"]);
        assert!(!Icmp::new().present("nosuchfield"));
    }

    #[test]
    fn type_accepts_names_and_summary_uses_them() {
        let mut icmp = Icmp::new();
        icmp.set("type", &Value::Str("dest-unreach".into())).unwrap();
        icmp.set("code", &Value::Int(3)).unwrap();
        assert_eq!(icmp.summary(), "ICMP dest-unreach port-unreachable");
        assert_eq!(Icmp::new().summary(), "ICMP echo-request 0");
        assert_eq!(Icmp::new().r#type(42).code(7).summary(), "ICMP 42 7");
        assert!(icmp.set("type", &Value::Str("ping".into())).is_err());
    }

    #[test]
    fn check_finds_icmp_problems() {
        let no_mtu = outer() / Icmp::dest_unreach(FRAGMENTATION_NEEDED) / quoted() / quoted_udp();
        assert!(checks(&no_mtu, 1, 20).iter().any(|m| m.contains("MTU 0")));
        let empty = outer() / Icmp::time_exceeded(0);
        assert!(checks(&empty, 1, 20).iter().any(|m| m.contains("quotes no packet")));
        let short = outer() / Icmp::dest_unreach(3) / Raw::new().load(&[0x45; 10]);
        assert!(checks(&short, 1, 20).iter().any(|m| m.contains("only 10 bytes")));
        let unknown = outer() / Icmp::new().r#type(42);
        assert_eq!(checks(&unknown, 1, 20), ["ICMP type 42 is not a known type"]);
        let bad_code = outer() / Icmp::echo_request(1, 1).code(3);
        assert!(checks(&bad_code, 1, 20)[0].contains("code 3 is not defined"));
        let about_error = outer() / Icmp::dest_unreach(1) / quoted() / Icmp::time_exceeded(0);
        assert!(checks(&about_error, 1, 20).iter().any(|m| m.contains("errors must not answer errors")));
        let long = outer() / Icmp::dest_unreach(3).length(20) / quoted() / quoted_udp();
        assert!(checks(&long, 1, 20).iter().any(|m| m.contains("RFC 4884")));
        let fine = outer() / Icmp::frag_needed(1400) / quoted() / quoted_tcp();
        assert!(checks(&fine, 1, 20).is_empty(), "{:?}", checks(&fine, 1, 20));
        assert!(checks(&(outer() / Icmp::echo_request(1, 1)), 1, 20).is_empty());
    }

    /// A scapy vector field value in this crate's dynamic form.
    fn vector_value(v: &serde_json::Value) -> Option<Value> {
        match v {
            serde_json::Value::Number(n) => n.as_i64().map(Value::Int),
            serde_json::Value::String(s) => Some(Value::Str(s.clone())),
            _ => None,
        }
    }

    #[test]
    fn scapy_icmp_vectors_dissect_and_rebuild() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scapy/vectors.jsonl");
        let text = std::fs::read_to_string(path).unwrap();
        let mut seen = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let name = v["name"].as_str().unwrap();
            if !name.starts_with("icmp_") {
                continue;
            }
            seen += 1;
            let bytes = hex(v["hex"].as_str().unwrap());
            let start = LayerKind::from_name(v["start"].as_str().unwrap()).unwrap();
            let p = Packet::dissect(&bytes, start);
            assert_eq!(p.build(), bytes, "{name}: rebuild differs");
            let ours = p.layers.iter().filter_map(|l| match l {
                Layer::Icmp(i) => Some(i),
                _ => None,
            });
            let theirs = v["layers"].as_array().unwrap().iter().filter(|l| l["name"] == "ICMP");
            let mut pairs = 0;
            for (icmp, layer) in ours.zip(theirs) {
                pairs += 1;
                for (field, want) in layer["fields"].as_object().unwrap() {
                    let Some(want) = vector_value(want) else { continue };
                    assert!(icmp.present(field), "{name}: scapy has {field}");
                    assert_eq!(icmp.get(field), Some(want), "{name}: field {field}");
                }
            }
            assert!(pairs > 0, "{name}: no ICMP layer dissected");
            if !name.contains("chksum") {
                // The auto checksum must give scapy's value too.
                let mut auto = p.clone();
                for l in auto.layers.iter_mut() {
                    if let Layer::Icmp(i) = l {
                        i.chksum = None;
                    }
                }
                assert_eq!(auto.build(), bytes, "{name}: auto checksum differs");
            }
        }
        assert!(seen >= 50, "only {seen} icmp_ vectors found");
    }

    #[test]
    fn typed_api_builds_scapy_vectors() {
        let cases: Vec<(&str, Packet)> = vec![
            ("icmp_echo_request_default", outer() / Icmp::new()),
            ("icmp_echo_request_id_4660_seq_22136", outer() / Icmp::echo_request(4660, 22136)),
            ("icmp_unreach_quoted_icmp", outer() / Icmp::dest_unreach(1) / quoted() / Icmp::echo_request(5, 6)),
            (
                "icmp_unreach_quoted_ip_len_longer",
                outer() / Icmp::dest_unreach(3) / quoted().len(1500) / quoted_udp(),
            ),
            (
                "icmp_timestamp_reply",
                outer() / Icmp::new().r#type(TIMESTAMP_REPLY).id(1).seq(2).ts_ori(1000).ts_rx(2000).ts_tx(3000),
            ),
            ("icmp_addr_mask_reply", outer() / Icmp::new().r#type(18).id(1).seq(1).addr_mask("255.255.255.0")),
            ("icmp_unknown_type_200_payload", outer() / Icmp::new().r#type(200) / &b"zz"[..]),
            ("icmp_source_quench", outer() / Icmp::new().r#type(SOURCE_QUENCH) / quoted() / quoted_udp()),
        ];
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scapy/vectors.jsonl");
        let text = std::fs::read_to_string(path).unwrap();
        for (name, packet) in cases {
            let line = text.lines().find(|l| l.contains(&format!("\"name\": \"{name}\""))).unwrap();
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(packet.build(), hex(v["hex"].as_str().unwrap()), "{name}");
        }
    }
}
