//! ICMPv6 (RFC 4443) and neighbor discovery (RFC 4861), one layer per scapy class:
//! echo, the four error messages (each quoting an IPv6 packet), NS and NA with their
//! link-layer address options (`nd`), RS, RA and redirect (`router`) with the other ND
//! options (`ndopt`), MLDv1 and MLDv2 (`mld`), RFC 8335 extended echo with the RFC 4884
//! extension structure it carries (`ext_echo`: craft's own names, scapy 2.8 has no class for
//! it), and `ICMPv6Unknown` for every other type.
//!
//! The checksum (`cksum`) covers the IPv6 pseudo-header with next header 58; unlike UDP a
//! computed 0 is sent as 0, and without an enclosing IPv6 layer it stays 0 (as scapy).

use std::net::Ipv6Addr;

use crate::checksum;
use crate::layer::{Next, Truncated, WriteCx};
use crate::packet::LayerKind;

/// The part of `impl Proto` every ICMPv6 message shares: its binding (IPv6 next header 58,
/// then the type picks the layer), and the checksum over the IPv6 pseudo-header, computed
/// once the payload is written unless set.
macro_rules! icmpv6_message {
    () => {
        const BINDS: &'static [crate::bind::Bind] = super::BINDS;
        const USES_PSEUDO: bool = true;
        const USES_PAYLOAD_SUM: bool = true;

        fn finish(&self, hdr: &mut [u8], cx: &crate::layer::WriteCx) {
            super::finish_checksum(self.cksum, hdr, cx);
        }
    };
}

mod echo;
mod error;
mod ext_echo;
mod mld;
mod nd;
mod ndopt;
mod router;
mod unknown;
#[cfg(test)]
mod vectors;

pub use echo::{Icmpv6EchoReply, Icmpv6EchoRequest};
pub use ext_echo::{
    classify_ext_object, IcmpExtHeader, IcmpExtInterfaceId, IcmpExtObject, Icmpv6ExtEchoReply, Icmpv6ExtEchoRequest, AFIS,
    CLASS_INTERFACE_IDENTIFICATION, EXT_CLASSNUMS, EXT_ECHO_REPLY_CODES, EXT_ECHO_STATES, IDENT_CTYPES,
};
pub use error::{Icmpv6DestUnreach, Icmpv6PacketTooBig, Icmpv6ParamProblem, Icmpv6TimeExceeded};
pub use mld::{Icmpv6MlDone, Icmpv6MlQuery, Icmpv6MlQuery2, Icmpv6MlReport, Icmpv6MlReport2, Icmpv6MldMultAddrRec};
pub use nd::{Icmpv6NdNa, Icmpv6NdNs, Icmpv6NdOptDstLladdr, Icmpv6NdOptSrcLladdr};
pub use ndopt::{Icmpv6NdOptDnssl, Icmpv6NdOptMtu, Icmpv6NdOptPrefixInfo, Icmpv6NdOptRdnss, Icmpv6NdOptRedirectedHdr, Icmpv6NdOptRouteInfo, Icmpv6NdOptUnknown};
pub use router::{Icmpv6NdRa, Icmpv6NdRedirect, Icmpv6NdRs};
pub use unknown::Icmpv6Unknown;

/// IPv6 next header for ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// The binding of every ICMPv6 layer: `IPv6(nh=58)`, dissected by the message type
/// (scapy's `icmp6typescls`, [`NEXT`]).
pub(crate) const BINDS: &[crate::bind::Bind] = &[crate::bind::Bind::ip_proto(PROTO_ICMPV6).named("ipv6_icmp").dissect_as(NEXT)];

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
pub const NEXT: Next = Next::Peek(Peek::Message);

/// Which of ICMPv6's classifiers tells what a payload is from its own first bytes
/// ([`Next::Peek`]). An id rather than a function pointer: a [`Next`] then fits in two
/// bytes, a register through every dissect, and tells TCP from UDP with one compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peek {
    /// An ICMPv6 message: [`classify`].
    Message,
    /// A neighbor discovery option: [`classify_nd_option`].
    NdOption,
    /// An extended echo's extension object: [`ext_echo::classify_ext_object`].
    ExtObject,
    /// An MLDv2 report's next record: [`mld::classify_record`].
    MldRecord,
}

impl Peek {
    pub fn classify(self, bytes: &[u8]) -> Next {
        match self {
            Peek::Message => classify(bytes),
            Peek::NdOption => classify_nd_option(bytes),
            Peek::ExtObject => ext_echo::classify_ext_object(bytes),
            Peek::MldRecord => mld::classify_record(bytes),
        }
    }
}

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
        // RFC 3810 8.1: a query of 28 bytes or more is MLDv2.
        130 if message.len() >= 28 => LayerKind::Icmpv6MlQuery2,
        130 => LayerKind::Icmpv6MlQuery,
        131 => LayerKind::Icmpv6MlReport,
        132 => LayerKind::Icmpv6MlDone,
        133 => LayerKind::Icmpv6NdRs,
        134 => LayerKind::Icmpv6NdRa,
        135 => LayerKind::Icmpv6NdNs,
        136 => LayerKind::Icmpv6NdNa,
        137 => LayerKind::Icmpv6NdRedirect,
        143 => LayerKind::Icmpv6MlReport2,
        160 => LayerKind::Icmpv6ExtEchoRequest,
        161 => LayerKind::Icmpv6ExtEchoReply,
        _ => LayerKind::Icmpv6Unknown,
    })
}

/// The hop limit an IPv6 header directly before this layer gets unless set: 255 for
/// neighbor discovery, which receivers drop otherwise (RFC 4861), 1 for MLD (RFC 2710,
/// RFC 3810); scapy does the same.
pub fn hop_limit_for(next: LayerKind) -> Option<u8> {
    use LayerKind as K;
    match next {
        K::Icmpv6NdNs | K::Icmpv6NdNa | K::Icmpv6NdRs | K::Icmpv6NdRa | K::Icmpv6NdRedirect => Some(255),
        K::Icmpv6MlQuery | K::Icmpv6MlReport | K::Icmpv6MlDone | K::Icmpv6MlQuery2 | K::Icmpv6MlReport2 => Some(1),
        _ => None,
    }
}

/// The layer for a neighbor discovery option, from its type byte; types without a layer
/// of their own are `ICMPv6NDOptUnknown`, as in scapy.
pub fn classify_nd_option(option: &[u8]) -> Next {
    // As scapy: a single byte cannot be an option.
    if option.len() < 2 {
        return Next::Raw;
    }
    Next::Layer(match option[0] {
        1 => LayerKind::Icmpv6NdOptSrcLladdr,
        2 => LayerKind::Icmpv6NdOptDstLladdr,
        3 => LayerKind::Icmpv6NdOptPrefixInfo,
        4 => LayerKind::Icmpv6NdOptRedirectedHdr,
        5 => LayerKind::Icmpv6NdOptMtu,
        24 => LayerKind::Icmpv6NdOptRouteInfo,
        25 => LayerKind::Icmpv6NdOptRdnss,
        31 => LayerKind::Icmpv6NdOptDnssl,
        _ => LayerKind::Icmpv6NdOptUnknown,
    })
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

/// Fills in an auto checksum over the pseudo-header and the whole message: the header
/// `hdr`, and what follows it by its sum.
fn finish_checksum(cksum: Option<u16>, hdr: &mut [u8], cx: &WriteCx) {
    if cksum.is_some() {
        return;
    }
    if let Some(p) = cx.pseudo {
        let pseudo = p.sum(PROTO_ICMPV6, hdr.len() + cx.payload_len) as u64;
        let ck = checksum::fold(pseudo + checksum::partial(hdr) + cx.payload_sum);
        hdr[2..4].copy_from_slice(&ck.to_be_bytes());
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

/// Helpers shared by the tests of every file here.
#[cfg(test)]
mod test_util {
    use crate::layer::DissectCx;
    use crate::layers::ipv6::Ipv6;
    use crate::packet::{Layer, LayerKind, Packet};

    pub(super) fn hex(s: &str) -> Vec<u8> {
        crate::hex::unhex(s)
    }

    pub(super) fn ipv6() -> Ipv6 {
        Ipv6::new().src("2001:db8::1").dst("2001:db8::2")
    }

    /// The reply direction, as the quoted packets in the vectors.
    pub(super) fn quoted() -> Ipv6 {
        Ipv6::new().src("2001:db8::2").dst("2001:db8::1")
    }

    pub(super) fn after_ipv6(p: Packet) -> Vec<u8> {
        p.build()[40..].to_vec()
    }

    pub(super) fn kinds(p: &Packet) -> Vec<LayerKind> {
        p.layers.iter().map(Layer::kind).collect()
    }

    pub(super) fn problems(l: impl Into<Layer>, seg: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        l.into().check(seg, &DissectCx::default(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::{hex, ipv6, problems};
    use super::*;
    use crate::field::Value;
    use crate::layer::Fields;
    use crate::packet::{Layer, Packet};

    #[test]
    fn without_ipv6_the_checksum_stays_zero() {
        assert_eq!(Packet::from(Layer::from(Icmpv6EchoRequest::new())).build(), hex("8000000000000000"));
        assert_eq!(Packet::from(Layer::from(Icmpv6Unknown::new())).build(), hex("01000000"));
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
        crate::layers::testing::random_bytes(0x9e3779b97f4a7c15, 5000, 64, |rng, mut bytes| {
            // Favour the types that have layers.
            if let Some(first) = bytes.first_mut() {
                *first = [1, 2, 3, 4, 128, 129, 135, 136, *first][(rng >> 60) as usize % 9];
            }
            for kind in MINE {
                crate::layers::testing::dissect_any(&bytes, kind, &MINE);
            }
        });
    }
}
