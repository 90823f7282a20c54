//! The error messages, each quoting the offending IPv6 packet: destination unreachable,
//! packet too big, time exceeded and parameter problem.

use super::{
    be16, be32, check_quote, code_name, head, write_head, DEST_UNREACH_CODES, ICMPV6_TYPES,
    IPV6_MIN_MTU, PARAM_PROBLEM_CODES, TIME_EXCEEDED_CODES,
};
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;
use crate::packet::LayerKind;

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
            icmpv6_message!();

            fn header_len(&self) -> usize {
                8
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                let word = ((self.length as u32) << 24) | (self.unused & 0xff_ffff);
                hdr[4..8].copy_from_slice(&word.to_be_bytes());
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
            icmpv6_message!();

            fn header_len(&self) -> usize {
                8
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                hdr[4..8].copy_from_slice(&self.$field.to_be_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::icmpv6::test_util::{after_ipv6, hex, ipv6, kinds, quoted};
    use crate::layers::ipv6ext::Fragment;
    use crate::layers::udp::Udp;
    use crate::packet::Packet;

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
}
