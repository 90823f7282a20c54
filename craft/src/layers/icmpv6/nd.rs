//! Neighbor discovery (RFC 4861): NS and NA with their link-layer address options.

use std::net::Ipv6Addr;

use super::{Peek, 
    addr, be16, be32, check_nd_code, head, write_head, ICMPV6_TYPES,
};
use crate::field::{Fmt, Mac};
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

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
    icmpv6_message!();

    fn header_len(&self) -> usize {
        24
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..8].copy_from_slice(&self.res.to_be_bytes());
        hdr[8..24].copy_from_slice(&self.tgt.octets());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 24)?;
        let layer =
            Icmpv6NdNs { r#type: h[0], code: h[1], cksum: Some(be16(h, 2)), res: be32(h, 4), tgt: addr(h, 8) };
        Ok(Decoded { layer, hlen: 24, total_len: None, next: Next::Peek(Peek::NdOption) })
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
    icmpv6_message!();

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
        Ok(Decoded { layer, hlen: 24, total_len: None, next: Next::Peek(Peek::NdOption) })
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
                Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Peek(Peek::NdOption) })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Value;
    use crate::layer::Fields;
    use crate::layers::ether::Ether;
    use crate::layers::icmpv6::classify_nd_option;
    use crate::layers::icmpv6::test_util::{after_ipv6, hex, ipv6, kinds};
    use crate::layers::ipv6::Ipv6;
    use crate::packet::{Layer, LayerKind, Packet};

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
            / &hex("0e01000000000000")[..]
            / &hex("01")[..];
        let b = p.build();
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        use LayerKind as K;
        // Types without a layer are ICMPv6NDOptUnknown, as in scapy.
        let want = [K::Ipv6, K::Icmpv6NdNs, K::Icmpv6NdOptSrcLladdr, K::Icmpv6NdOptDstLladdr, K::Icmpv6NdOptUnknown, K::Raw];
        assert_eq!(kinds(&d), want);
        assert_eq!(d.build(), b);
        // A lone trailing byte is no option.
        assert!(matches!(classify_nd_option(&[1]), Next::Raw));
    }
}
