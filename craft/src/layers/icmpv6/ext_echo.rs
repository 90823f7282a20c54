//! RFC 8335 extended echo (PROBE): ICMPv6 types 160 and 161, and the RFC 4884 ICMP
//! extension structure that the request carries (Linux echoes it after its reply's 8
//! bytes; it is dissected there too). ICMPv4 types 42/43 carry the same structure, but
//! craft's `ICMP` layer (scapy's one class, 4 `unused` bytes for these types) does not
//! hand on to it yet.
//!
//! scapy 2.8 has no class for extended echo: `ICMPv6ExtEchoRequest` and
//! `ICMPv6ExtEchoReply` are craft's own names, in scapy's style, with the field names
//! tshark uses for the bits (`local`; `state`, `active`, `ipv4`, `ipv6`). The extension
//! structure uses scapy's classes: `ICMPExtension_Header` (version, reserved, chksum) and
//! `ICMPExtension_Object` (len, classnum, classtype, and craft's `data` for the object's
//! bytes, which scapy leaves in a Raw payload). The interface identification object
//! (class 3) has no scapy class either: `ICMPExtension_InterfaceIdentification` is craft's,
//! one layer for its three c-types (by name, index or address), each showing its own fields.
//!
//! Only well-formed identification objects become that layer (a name in 32-bit words, an
//! index of 4 bytes, an IPv4 or IPv6 address of its size, or an address of another family);
//! any other class-3 object stays an `ICMPExtension_Object` with its bytes, so that
//! bytes a receiver would call a malformed query are kept verbatim, and `craft check`
//! says why.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Peek, be16, be32, head, write_head};
use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Fields, Next, Proto, Truncated, WriteCx};
use crate::layer;
use crate::packet::{Layer, LayerKind};

/// ICMPv6 type of an extended echo request.
pub const EXT_ECHO_REQUEST: u8 = 160;
/// ICMPv6 type of an extended echo reply.
pub const EXT_ECHO_REPLY: u8 = 161;

/// The two message types, by RFC 8335's names (scapy's `icmp6types` has neither).
pub const EXT_ECHO_TYPES: &[(u64, &str)] = &[(160, "Extended Echo Request"), (161, "Extended Echo Reply")];

/// Extended echo reply codes (RFC 8335 section 3).
pub const EXT_ECHO_REPLY_CODES: &[(u64, &str)] = &[
    (0, "No Error"),
    (1, "Malformed Query"),
    (2, "No Such Interface"),
    (3, "No Such Table Entry"),
    (4, "Multiple Interfaces Satisfy Query"),
];

/// Neighbor states of a probed interface reached through a proxy (RFC 8335 section 3).
pub const EXT_ECHO_STATES: &[(u64, &str)] = &[
    (0, "Reserved"),
    (1, "Incomplete"),
    (2, "Reachable"),
    (3, "Stale"),
    (4, "Delay"),
    (5, "Probe"),
    (6, "Failed"),
];

/// Extension object classes, by scapy's names (`_ICMP_classnums`).
pub const EXT_CLASSNUMS: &[(u64, &str)] =
    &[(1, "MPLS"), (2, "Interface Information"), (3, "Interface Identification"), (4, "Extended Information")];

/// Interface identification object class (RFC 8335 section 2.1).
pub const CLASS_INTERFACE_IDENTIFICATION: u8 = 3;

/// How an interface identification object names the interface (its c-type).
pub const IDENT_CTYPES: &[(u64, &str)] = &[(1, "name"), (2, "index"), (3, "address")];

/// Address families of an identification by address (IANA AFI numbers).
pub const AFIS: &[(u64, &str)] = &[(1, "IPv4"), (2, "IPv6")];

layer! {
    /// ICMPv6 extended echo request (RFC 8335): 8 bytes, then the ICMP extension structure
    /// naming the interface to probe (`ICMPExtension_Header` / an identification object).
    Icmpv6ExtEchoRequest: "ICMPv6ExtEchoRequest", "ICMPv6 Extended Echo Request" {
        /// Message type: 160.
        r#type("type"): u8 [fmt(Fmt::Enum(EXT_ECHO_TYPES))] = EXT_ECHO_REQUEST,
        /// Code: 0.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header and the whole message, extension structure
        /// included. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier, to match replies.
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number (8 bits).
        seq: u8 = 0,
        /// Reserved bits before the L bit.
        res: u8 [bits(7)] = 0,
        /// L bit: the probed interface is on the node that receives the request (rather than
        /// a neighbor of it).
        local("local"): u8 [bits(1)] = 1,
    }
}

layer! {
    /// ICMPv6 extended echo reply (RFC 8335): 8 bytes. RFC 8335 gives it no extension
    /// structure, but Linux echoes the request's after the 8 bytes: dissected as such.
    Icmpv6ExtEchoReply: "ICMPv6ExtEchoReply", "ICMPv6 Extended Echo Reply" {
        /// Message type: 161.
        r#type("type"): u8 [fmt(Fmt::Enum(EXT_ECHO_TYPES))] = EXT_ECHO_REPLY,
        /// Code: 0 No Error, 1 Malformed Query, 2 No Such Interface, 3 No Such Table Entry,
        /// 4 Multiple Interfaces Satisfy Query.
        code: u8 [fmt(Fmt::Enum(EXT_ECHO_REPLY_CODES))] = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier of the request answered.
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number of the request answered (8 bits).
        seq: u8 = 0,
        /// Neighbor state of a probed neighbor (0 when the interface is the responder's own).
        state: u8 [bits(3), fmt(Fmt::Enum(EXT_ECHO_STATES))] = 0,
        /// Reserved bits after the state.
        res: u8 [bits(2)] = 0,
        /// A bit: the probed interface is active.
        active("active"): u8 [bits(1)] = 0,
        /// 4 bit: IPv4 runs on the probed interface.
        ipv4("ipv4"): u8 [bits(1)] = 0,
        /// 6 bit: IPv6 runs on the probed interface.
        ipv6("ipv6"): u8 [bits(1)] = 0,
    }
}

layer! {
    /// ICMP extension structure header (RFC 4884): 4 bytes, then extension objects. Its
    /// checksum covers the header and every object after it.
    IcmpExtHeader: "ICMPExtension_Header", "ICMP Extension Header (RFC4884)" {
        /// Version: 2.
        version: u8 [bits(4)] = 2,
        /// Reserved bits.
        reserved: u16 [bits(12), fmt(Fmt::Hex)] = 0,
        /// Internet checksum of the extension structure. Auto: computed.
        chksum: Option<u16> [fmt(Fmt::Hex)] = None,
    }
}

layer! {
    /// ICMP extension object (RFC 4884) of any class: 4 bytes and its data.
    IcmpExtObject: "ICMPExtension_Object", "ICMP Extension Object" {
        /// Object length in bytes, this 4-byte header included. Auto: computed (without
        /// `data`, a Raw layer right after the object counts as its data, as scapy).
        len: Option<u16> = None,
        /// Class of the object.
        classnum: u8 [fmt(Fmt::Enum(EXT_CLASSNUMS))] = 0,
        /// Type of the object within its class (c-type).
        classtype: u8 = 0,
        /// The object's data, as given (scapy: a Raw payload after the object).
        data: Vec<u8> = Vec::new(),
    }
}

layer! {
    /// Interface identification object (RFC 8335 section 2.1): which interface an extended
    /// echo request probes, by name (c-type 1), ifIndex (2) or address (3).
    IcmpExtInterfaceId: "ICMPExtension_InterfaceIdentification", "ICMP Extension Object - Interface Identification" {
        /// Object length in bytes, this 4-byte header included. Auto: computed.
        len: Option<u16> = None,
        /// Class: 3.
        classnum: u8 [fmt(Fmt::Enum(EXT_CLASSNUMS))] = CLASS_INTERFACE_IDENTIFICATION,
        /// c-type: 1 by name, 2 by index, 3 by address.
        classtype: u8 [fmt(Fmt::Enum(IDENT_CTYPES))] = 1,
        /// Interface name (c-type 1), padded with zeros to 32-bit words when built; read
        /// without that padding.
        ifname: Vec<u8> = Vec::new(),
        /// Interface index (c-type 2).
        ifindex: u32 = 0,
        /// Address family (c-type 3): 1 IPv4, 2 IPv6.
        afi: u16 [fmt(Fmt::Enum(AFIS))] = 1,
        /// Address length in bytes (c-type 3). Auto: the address's size.
        addrlen: Option<u8> = None,
        /// Reserved byte (c-type 3).
        reserved: u8 = 0,
        /// IPv4 address (c-type 3, afi 1).
        ip4: Ipv4Addr = Ipv4Addr::UNSPECIFIED,
        /// IPv6 address (c-type 3, afi 2).
        ip6: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
        /// Address bytes of another family (c-type 3, afi neither 1 nor 2).
        addr: Vec<u8> = Vec::new(),
    }
}

/// Writes the 8-byte head both messages share; `bits` is byte 7.
fn write_ext_head(hdr: &mut [u8], kind: u8, code: u8, cksum: Option<u16>, id: u16, seq: u8, bits: u8) {
    write_head(hdr, kind, code, cksum);
    hdr[4..6].copy_from_slice(&id.to_be_bytes());
    hdr[6] = seq;
    hdr[7] = bits;
}

impl Proto for Icmpv6ExtEchoRequest {
    icmpv6_message!();
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        8
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        let bits = (self.res & 0x7f) << 1 | (self.local & 1);
        write_ext_head(hdr, self.r#type, self.code, self.cksum, self.id, self.seq, bits);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let layer = Icmpv6ExtEchoRequest {
            r#type: h[0],
            code: h[1],
            cksum: Some(be16(h, 2)),
            id: be16(h, 4),
            seq: h[6],
            res: h[7] >> 1,
            local: h[7] & 1,
        };
        Ok(Decoded { layer, hlen: 8, total_len: None, next: after_request(data, 8) })
    }

    fn summary(&self) -> String {
        let local = if self.local & 1 == 1 { " L" } else { "" };
        format!("ICMPv6 ext-echo-request id {:#x} seq {}{local}", self.id, self.seq)
    }

    fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_request("ICMPv6", self.code, seg, out);
    }
}

/// What follows an extended echo message's 8 bytes: the extension structure, if anything
/// (a reply from Linux echoes the request's).
pub(crate) fn after_request(data: &[u8], at: usize) -> Next {
    if data.len() > at {
        Next::Layer(LayerKind::IcmpExtHeader)
    } else {
        Next::Raw
    }
}

/// Problems of an extended echo request (ICMPv4 or ICMPv6): `seg` is the message.
pub(crate) fn check_request(what: &str, code: u8, seg: &[u8], out: &mut Vec<String>) {
    if code != 0 {
        out.push(format!("{what} ext-echo-request code is {code}, not 0"));
    }
    if seg.len() <= 8 {
        out.push(format!(
            "{what} ext-echo-request carries no ICMP extension structure naming the interface to probe: the reply says Malformed Query (RFC 8335)"
        ));
    }
}

/// The letters of a reply's A, 4 and 6 bits that are set, or "-".
fn reply_bits(active: u8, ipv4: u8, ipv6: u8) -> String {
    let s: String = [(active, 'A'), (ipv4, '4'), (ipv6, '6')].iter().filter(|(b, _)| b & 1 == 1).map(|(_, c)| *c).collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

/// A reply's one-line summary (ICMPv4 or ICMPv6).
pub(crate) fn reply_summary(what: &str, id: u16, seq: u8, code: u8, byte7: u8) -> String {
    let code = super::code_name(EXT_ECHO_REPLY_CODES, code);
    let bits = reply_bits(byte7 >> 2, byte7 >> 1, byte7);
    let state = match byte7 >> 5 {
        0 => String::new(),
        s => format!(" state {}", super::code_name(EXT_ECHO_STATES, s)),
    };
    format!("{what} ext-echo-reply id {id:#x} seq {seq} {code} [{bits}]{state}")
}

impl Icmpv6ExtEchoReply {
    fn byte7(&self) -> u8 {
        (self.state & 7) << 5 | (self.res & 3) << 3 | (self.active & 1) << 2 | (self.ipv4 & 1) << 1 | (self.ipv6 & 1)
    }
}

impl Proto for Icmpv6ExtEchoReply {
    icmpv6_message!();
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        8
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_ext_head(hdr, self.r#type, self.code, self.cksum, self.id, self.seq, self.byte7());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let b = h[7];
        let layer = Icmpv6ExtEchoReply {
            r#type: h[0],
            code: h[1],
            cksum: Some(be16(h, 2)),
            id: be16(h, 4),
            seq: h[6],
            state: b >> 5,
            res: (b >> 3) & 3,
            active: (b >> 2) & 1,
            ipv4: (b >> 1) & 1,
            ipv6: b & 1,
        };
        Ok(Decoded { layer, hlen: 8, total_len: None, next: after_request(data, 8) })
    }

    fn summary(&self) -> String {
        reply_summary("ICMPv6", self.id, self.seq, self.code, self.byte7())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_reply("ICMPv6", self.code, self.state, out);
    }
}

/// Problems of an extended echo reply (ICMPv4 or ICMPv6).
pub(crate) fn check_reply(what: &str, code: u8, state: u8, out: &mut Vec<String>) {
    if code > 4 {
        out.push(format!("{what} ext-echo-reply code {code} is not defined (codes go up to 4)"));
    }
    if state == 7 {
        out.push(format!("{what} ext-echo-reply state 7 is not defined (states go up to 6)"));
    }
}

impl Proto for IcmpExtHeader {
    const WRITES_ALL: bool = true;
    const USES_PAYLOAD_SUM: bool = true;

    fn header_len(&self) -> usize {
        4
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        let word = (self.version as u16 & 0xf) << 12 | (self.reserved & 0xfff);
        hdr[0..2].copy_from_slice(&word.to_be_bytes());
        hdr[2..4].copy_from_slice(&self.chksum.unwrap_or(0).to_be_bytes());
    }

    fn finish(&self, hdr: &mut [u8], cx: &WriteCx) {
        // As scapy: the header and everything after it.
        if self.chksum.is_none() {
            let ck = checksum::fold(checksum::partial(hdr) + cx.payload_sum);
            hdr[2..4].copy_from_slice(&ck.to_be_bytes());
        }
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 4)?;
        let word = be16(h, 0);
        let layer = IcmpExtHeader { version: (word >> 12) as u8, reserved: word & 0xfff, chksum: Some(be16(h, 2)) };
        Ok(Decoded { layer, hlen: 4, total_len: None, next: Next::Peek(Peek::ExtObject) })
    }

    fn summary(&self) -> String {
        format!("ICMP extension v{}", self.version)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if self.version != 2 {
            out.push(format!("ICMPExtension_Header version is {}, not 2 (RFC 4884): receivers ignore the extension", self.version));
        }
    }
}

/// The layer for an extension object, from its first 4 bytes: a well-formed interface
/// identification object, or any object; fewer than 4 bytes are Raw (as scapy).
pub fn classify_ext_object(object: &[u8]) -> Next {
    if object.len() < 4 {
        return Next::Raw;
    }
    Next::Layer(if ident_well_formed(object) { LayerKind::IcmpExtInterfaceId } else { LayerKind::IcmpExtObject })
}

/// Whether these bytes start an interface identification object whose c-type and length
/// agree (see the module's documentation).
fn ident_well_formed(o: &[u8]) -> bool {
    if o[2] != CLASS_INTERFACE_IDENTIFICATION {
        return false;
    }
    let len = be16(o, 0) as usize;
    match o[3] {
        1 => len >= 4 && len.is_multiple_of(4),
        2 => len == 8,
        3 if o.len() >= 6 => match be16(o, 4) {
            1 => len == 12,
            2 => len == 24,
            _ => len >= 8,
        },
        _ => false,
    }
}

/// An object's bytes by its len field: at least its 4-byte header.
fn object_bytes(data: &[u8]) -> Result<(&[u8], usize), Truncated> {
    let h = head(data, 4)?;
    let hlen = (be16(h, 0) as usize).max(4);
    Ok((data.get(..hlen).ok_or(Truncated)?, hlen))
}

impl Proto for IcmpExtObject {
    fn header_len(&self) -> usize {
        4 + self.data.len()
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        // As scapy, a Raw right after an object without data is its data
        // (`ICMPExtension_Object()/b'..'`).
        let raw = if self.data.is_empty() && matches!(cx.next, Some(Layer::Raw(_))) { cx.payload_len } else { 0 };
        let len = self.len.unwrap_or((hdr.len() + raw).min(0xffff) as u16);
        hdr[0..2].copy_from_slice(&len.to_be_bytes());
        hdr[2] = self.classnum;
        hdr[3] = self.classtype;
        hdr[4..].copy_from_slice(&self.data);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let (o, hlen) = object_bytes(data)?;
        let layer = IcmpExtObject { len: Some(be16(o, 0)), classnum: o[2], classtype: o[3], data: o[4..].to_vec() };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::ExtObject) })
    }

    fn summary(&self) -> String {
        let class = super::code_name(EXT_CLASSNUMS, self.classnum);
        format!("ICMP extension object {class} c-type {} ({} bytes)", self.classtype, self.header_len())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if let Some(len) = self.len.filter(|l| *l < 4) {
            out.push(format!("ICMPExtension_Object len is {len}, below its 4-byte header"));
        }
        if self.classnum == CLASS_INTERFACE_IDENTIFICATION {
            let size = self.header_len();
            let why = match self.classtype {
                1 => format!("a name object of {size} bytes, not whole 32-bit words"),
                2 => format!("an index object of {size} bytes, not 8"),
                3 => format!("an address object of {size} bytes, not the header and address its afi needs"),
                t => format!("c-type {t}, not 1 (name), 2 (index) or 3 (address)"),
            };
            out.push(format!("ICMP interface identification object is {why}: responders answer Malformed Query (RFC 8335)"));
        }
    }
}

impl IcmpExtInterfaceId {
    /// The address bytes written (c-type 3).
    fn address(&self) -> Vec<u8> {
        match self.afi {
            1 => self.ip4.octets().to_vec(),
            2 => self.ip6.octets().to_vec(),
            _ => self.addr.clone(),
        }
    }

    fn body_len(&self) -> usize {
        match self.classtype {
            1 => self.ifname.len().div_ceil(4) * 4,
            2 => 4,
            3 => 4 + self.address().len(),
            _ => 0,
        }
    }

    /// The name as text, for summaries.
    fn name_text(&self) -> String {
        String::from_utf8_lossy(&self.ifname).into_owned()
    }
}

impl Proto for IcmpExtInterfaceId {
    fn header_len(&self) -> usize {
        4 + self.body_len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        let len = self.len.unwrap_or(hdr.len().min(0xffff) as u16);
        hdr[0..2].copy_from_slice(&len.to_be_bytes());
        hdr[2] = self.classnum;
        hdr[3] = self.classtype;
        match self.classtype {
            1 => {
                hdr[4..4 + self.ifname.len()].copy_from_slice(&self.ifname);
                hdr[4 + self.ifname.len()..].fill(0);
            }
            2 => hdr[4..8].copy_from_slice(&self.ifindex.to_be_bytes()),
            3 => {
                let a = self.address();
                hdr[4..6].copy_from_slice(&self.afi.to_be_bytes());
                hdr[6] = self.addrlen.unwrap_or(a.len().min(255) as u8);
                hdr[7] = self.reserved;
                hdr[8..].copy_from_slice(&a);
            }
            _ => {}
        }
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let (o, hlen) = object_bytes(data)?;
        // Anything else is an ICMPExtension_Object (see `malformed` for the reason).
        if !ident_well_formed(o) {
            return Err(Truncated);
        }
        let mut l = IcmpExtInterfaceId { len: Some(be16(o, 0)), classnum: o[2], classtype: o[3], ..Default::default() };
        let body = &o[4..];
        match l.classtype {
            1 => {
                // Without the zeros that pad it to 32 bits (those only: a name of zeros
                // written in full keeps the ones that make up its length).
                let mut n = body.len();
                while n > 0 && body[n - 1] == 0 && (n - 1).div_ceil(4) * 4 == body.len() {
                    n -= 1;
                }
                l.ifname = body[..n].to_vec();
            }
            2 => l.ifindex = be32(head(body, 4)?, 0),
            3 => {
                let h = head(body, 4)?;
                l.afi = be16(h, 0);
                l.addrlen = Some(h[2]);
                l.reserved = h[3];
                let a = &body[4..];
                match (l.afi, a.len()) {
                    (1, 4) => l.ip4 = Ipv4Addr::new(a[0], a[1], a[2], a[3]),
                    (2, 16) => l.ip6 = super::addr(a, 0),
                    (1 | 2, _) => return Err(Truncated),
                    _ => l.addr = a.to_vec(),
                }
            }
            _ => return Err(Truncated),
        }
        Ok(Decoded { layer: l, hlen, total_len: None, next: Next::Peek(Peek::ExtObject) })
    }

    fn malformed(data: &[u8]) -> Option<String> {
        (data.len() >= 4 && data.len() >= be16(data, 0) as usize && !ident_well_formed(data)).then(|| {
            format!(
                "ICMP extension object of class {} c-type {} and {} bytes is not a well-formed interface identification (RFC 8335)",
                data[2],
                data[3],
                be16(data, 0)
            )
        })
    }

    fn summary(&self) -> String {
        match self.classtype {
            1 => format!("interface name {}", self.name_text()),
            2 => format!("interface index {}", self.ifindex),
            3 => match self.afi {
                1 => format!("interface address {}", self.ip4),
                2 => format!("interface address {}", self.ip6),
                afi => format!("interface address afi {afi} ({} bytes)", self.addr.len()),
            },
            t => format!("interface identification c-type {t}"),
        }
    }

    fn present(&self, field: &str) -> bool {
        match field {
            "ifname" => self.classtype == 1,
            "ifindex" => self.classtype == 2,
            "afi" | "addrlen" | "reserved" => self.classtype == 3,
            "ip4" => self.classtype == 3 && self.afi == 1,
            "ip6" => self.classtype == 3 && self.afi == 2,
            "addr" => self.classtype == 3 && !matches!(self.afi, 1 | 2),
            _ => Self::FIELDS.iter().any(|f| f.name == field),
        }
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if self.classnum != CLASS_INTERFACE_IDENTIFICATION {
            out.push(format!("ICMP interface identification object classnum is {}, not 3", self.classnum));
        }
        match self.classtype {
            1 if self.body_len() >= 16 => out.push(format!(
                "ICMP interface identification name '{}' takes {} bytes padded: Linux answers Malformed Query from 16 (IFNAMSIZ) on",
                self.name_text(),
                self.body_len()
            )),
            3 => {
                let size = self.address().len();
                if let Some(n) = self.addrlen.filter(|n| *n as usize != size) {
                    out.push(format!(
                        "ICMP interface identification addrlen is {n}, should be {size}: responders answer Malformed Query"
                    ));
                }
            }
            1 | 2 => {}
            t => out.push(format!("ICMP interface identification c-type {t} is not 1 (name), 2 (index) or 3 (address)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::icmpv6::test_util::{after_ipv6, hex, ipv6, kinds, problems};
    use crate::packet::{Layer, Packet};
    use LayerKind as K;

    #[test]
    fn extension_structure_matches_scapy() {
        // scapy 2.8: bytes(ICMPExtension_Header()/ICMPExtension_Object(classnum=3, classtype=1)/b'eth0')
        let p = IcmpExtHeader::new() / IcmpExtObject::new().classnum(3).classtype(1).data(b"eth0".to_vec());
        assert_eq!(p.build(), hex("20000f520008030165746830"));
        // Written as in scapy, the data a Raw payload of the object: the same bytes.
        let p = IcmpExtHeader::new() / IcmpExtObject::new().classnum(3).classtype(1) / &b"eth0"[..];
        assert_eq!(p.build(), hex("20000f520008030165746830"));
        // The identification layer builds the same bytes for the same object.
        let p = IcmpExtHeader::new() / IcmpExtInterfaceId::new().ifname(b"eth0".to_vec());
        assert_eq!(p.build(), hex("20000f520008030165746830"));
        let d = Packet::dissect(&hex("20000f520008030165746830"), K::IcmpExtHeader);
        assert_eq!(kinds(&d), [K::IcmpExtHeader, K::IcmpExtInterfaceId]);
        // Whole messages, from scapy's ICMPv6Unknown(type=160/161, msgbody=...) with the
        // structure after it (fixtures/scapy/vectors.jsonl, icmpext_*): the ICMPv6 checksum too.
        let req = ipv6() / Icmpv6ExtEchoRequest::new().id(0x1234).seq(1) / IcmpExtHeader::new() / IcmpExtInterfaceId::new().ifname(b"eth0".to_vec());
        assert_eq!(after_ipv6(req), hex("a000f1061234010120000f520008030165746830"));
        let reply = ipv6()
            / Icmpv6ExtEchoReply::new().id(0x1234).seq(1).active(1).ipv4(1).ipv6(1)
            / IcmpExtHeader::new()
            / IcmpExtObject::new().classnum(3).classtype(1).data(b"lo".to_vec());
        assert_eq!(after_ipv6(reply), hex("a100f0021234010720007089000603016c6f"));
    }

    #[test]
    fn request_bytes_by_name_index_and_address() {
        // Every field by hand from RFC 8335 figures 1 and 2 (checksums aside: the kernel and
        // tshark verify them in ext_echo_live.rs and tshark_decode.rs).
        let b = after_ipv6(ipv6() / Icmpv6ExtEchoRequest::new().id(0x1234).seq(7) / IcmpExtHeader::new() / IcmpExtInterfaceId::new().ifname(b"veth0".to_vec()));
        assert_eq!((&b[..2], &b[4..8], &b[8..10]), (&hex("a000")[..], &hex("12340701")[..], &hex("2000")[..]));
        assert_eq!(&b[12..], hex("000c03017665746830000000"));
        // The extension checksum covers the structure: summing it gives 0.
        assert_eq!(crate::checksum::checksum(&b[8..]), 0);
        let idx = ipv6() / Icmpv6ExtEchoRequest::new().local(0) / IcmpExtHeader::new() / IcmpExtInterfaceId::new().classtype(2).ifindex(3);
        let b = after_ipv6(idx);
        assert_eq!((&b[4..8], &b[12..]), (&hex("00000000")[..], &hex("0008030200000003")[..]));
        let a4 = IcmpExtInterfaceId::new().classtype(3).ip4("10.0.0.1");
        assert_eq!(Packet::from(Layer::from(a4)).build(), hex("000c0303000104000a000001"));
        let a6 = IcmpExtInterfaceId::new().classtype(3).afi(2).ip6("2001:db8::1");
        assert_eq!(Packet::from(Layer::from(a6)).build(), hex("001803030002100020010db8000000000000000000000001"));
    }

    #[test]
    fn dissects_and_rebuilds_what_it_read() {
        let req = ipv6() / Icmpv6ExtEchoRequest::new().id(9).seq(200) / IcmpExtHeader::new() / IcmpExtInterfaceId::new().classtype(3).afi(2).ip6("fe80::1");
        let b = req.build();
        let d = Packet::dissect(&b, K::Ipv6);
        assert_eq!(kinds(&d), [K::Ipv6, K::Icmpv6ExtEchoRequest, K::IcmpExtHeader, K::IcmpExtInterfaceId]);
        let Layer::IcmpExtInterfaceId(o) = &d.layers[3] else { panic!() };
        assert_eq!((o.len, o.afi, o.addrlen, o.ip6), (Some(24), 2, Some(16), "fe80::1".parse().unwrap()));
        assert_eq!(d.build(), b);
        assert_eq!(d.layers[1].summary(), "ICMPv6 ext-echo-request id 0x9 seq 200 L");
        assert_eq!(d.layers[3].summary(), "interface address fe80::1");
        assert!(crate::check::check_bytes(&b, K::Ipv6, &DissectCx::default()).is_empty());

        // A reply as Linux sends it: code 0, A, 4 and 6 set.
        let reply = hex("a100000012340107");
        let d = Packet::dissect(&reply, K::Icmpv6ExtEchoReply);
        let Layer::Icmpv6ExtEchoReply(r) = &d.layers[0] else { panic!() };
        assert_eq!((r.id, r.seq, r.state, r.active, r.ipv4, r.ipv6), (0x1234, 1, 0, 1, 1, 1));
        assert_eq!(d.layers[0].summary(), "ICMPv6 ext-echo-reply id 0x1234 seq 1 No Error [A46]");
        assert_eq!(d.build(), reply);
        let d = Packet::dissect(&hex("a102000000010541"), K::Icmpv6ExtEchoReply);
        assert_eq!(d.layers[0].summary(), "ICMPv6 ext-echo-reply id 0x1 seq 5 No Such Interface [6] state Reachable");
        // The name's padding only is dropped.
        let d = Packet::dissect(&hex("200000000008030165746830000c03016c6f000000000000"), K::IcmpExtHeader);
        let names: Vec<Vec<u8>> = d.layers.iter().filter_map(|l| match l { Layer::IcmpExtInterfaceId(o) => Some(o.ifname.clone()), _ => None }).collect();
        assert_eq!(kinds(&d), [K::IcmpExtHeader, K::IcmpExtInterfaceId, K::IcmpExtInterfaceId]);
        assert_eq!(names, [b"eth0".to_vec(), b"lo\0\0\0".to_vec()]);
    }

    #[test]
    fn malformed_objects_keep_their_bytes_and_say_why() {
        // An index object of 12 bytes, an IPv4 address object of 16: generic objects.
        let b = hex("20000000000c0302000000030000000000100303000104000a000001ffffffff");
        let d = Packet::dissect(&b, K::IcmpExtHeader);
        assert_eq!(kinds(&d), [K::IcmpExtHeader, K::IcmpExtObject, K::IcmpExtObject]);
        assert_eq!(d.build(), b);
        let found = problems(d.layers[1].clone(), &[]);
        assert!(found[0].contains("index object of 12 bytes") && found[0].contains("Malformed Query"), "{found:?}");
        // Dissected as an identification object from the start: Raw marked malformed.
        let d = Packet::dissect(&hex("000c03020000000300000000"), K::IcmpExtInterfaceId);
        assert_eq!(d.build(), hex("000c03020000000300000000"));
        let Layer::Raw(r) = &d.layers[0] else { panic!("{d:?}") };
        assert_eq!((r.malformed, r.truncated), (Some("ICMPExtension_InterfaceIdentification"), None));
        // A wrong addrlen, a long name, a request with no extension, a wrong version.
        let a = IcmpExtInterfaceId::new().classtype(3).ip4("10.0.0.1").addrlen(16);
        assert!(problems(a, &[])[0].contains("addrlen is 16, should be 4"));
        assert!(problems(IcmpExtInterfaceId::new().ifname(b"thirteen-byte".to_vec()), &[])[0].contains("takes 16 bytes padded"));
        assert!(problems(IcmpExtInterfaceId::new().ifname(b"twelve-bytes".to_vec()), &[]).is_empty());
        assert!(problems(Icmpv6ExtEchoRequest::new(), &[0; 8])[0].contains("no ICMP extension structure"));
        assert!(problems(IcmpExtHeader::new().version(1), &[])[0].contains("not 2"));
        assert!(problems(Icmpv6ExtEchoReply::new().code(9), &[])[0].contains("not defined"));
        // The generic checks: a forced extension checksum and object length.
        let bad = ipv6() / Icmpv6ExtEchoRequest::new() / IcmpExtHeader::new().chksum(1) / IcmpExtInterfaceId::new().ifname(b"lo".to_vec()).len(6);
        let found: Vec<String> = crate::check::check_packet(&bad).into_iter().map(|p| p.msg).collect();
        assert!(found.iter().any(|m| m.contains("chksum 0x1 is wrong")), "{found:?}");
        assert!(found.iter().any(|m| m.contains("name object of 6 bytes")), "{found:?}");
    }

    #[test]
    fn truncated_structures_end_in_marked_raw() {
        let full = (ipv6() / Icmpv6ExtEchoRequest::new() / IcmpExtHeader::new() / IcmpExtInterfaceId::new().ifname(b"eth0".to_vec())).build();
        for (cut, name) in [(40 + 5, "ICMPv6ExtEchoRequest"), (40 + 10, "ICMPExtension_Header"), (40 + 18, "ICMPExtension_InterfaceIdentification")] {
            let p = Packet::dissect(&full[..cut], K::Ipv6);
            let Some(Layer::Raw(raw)) = p.layers.last() else { panic!("{p:?}") };
            assert_eq!(raw.truncated, Some(name), "{:?}", kinds(&p));
            assert_eq!(p.build(), full[..cut]);
        }
        // Under 4 bytes after the header: Raw, as scapy.
        let p = Packet::dissect(&full[..40 + 14], K::Ipv6);
        let Some(Layer::Raw(raw)) = p.layers.last() else { panic!("{:?}", kinds(&p)) };
        assert_eq!((raw.load.len(), raw.truncated), (2, None));
    }

    #[test]
    fn no_panics_and_exact_round_trips_on_any_bytes() {
        crate::layers::testing::random_bytes(0x2545f4914f6cdd1d, 20000, 48, |rng, mut bytes| {
            let len = bytes.len();
            // Steer toward plausible structures: version 2, class 3, small lengths.
            if len > 13 {
                bytes[0] = [160, 161][(rng >> 61) as usize % 2];
                bytes[8] = 0x20;
                bytes[12] = 0;
                bytes[13] = [4, 8, 12, 24, 5, 0][(rng >> 58) as usize % 6];
                if len > 14 {
                    bytes[14] = 3;
                }
                if len > 15 {
                    bytes[15] = (rng >> 40) as u8 % 4;
                }
            }
            for start in [K::Icmpv6ExtEchoRequest, K::Icmpv6ExtEchoReply, K::IcmpExtInterfaceId, K::IcmpExtObject] {
                let p = crate::layers::testing::dissect_any(&bytes, start, &[]);
                assert_eq!(p.build(), bytes, "{start:?} {bytes:02x?} {:?}", kinds(&p));
            }
            // From the extension header on.
            let p = Packet::dissect(bytes.get(8..).unwrap_or_default(), K::IcmpExtHeader);
            assert_eq!(p.build(), bytes.get(8..).unwrap_or_default());
            crate::check::check_bytes(&bytes, K::Icmpv6ExtEchoReply, &DissectCx::default());
        });
    }
}
