//! Neighbor discovery between hosts and routers (RFC 4861): router solicitation, router
//! advertisement and redirect, each followed by ND options as layers of their own.

use std::net::Ipv6Addr;

use super::{Peek, addr, be16, be32, check_nd_code, head, write_head, ICMPV6_TYPES};
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

/// Default router preference names (RFC 4191), scapy's `icmp6ndraprefs`.
pub const RA_PREFERENCES: &[(u64, &str)] = &[(0, "Medium (default)"), (1, "High"), (2, "Reserved"), (3, "Low")];

layer! {
    /// ICMPv6 router solicitation: 8 bytes, then ND options (a source link-layer address).
    Icmpv6NdRs: "ICMPv6ND_RS", "ICMPv6 Neighbor Discovery - Router Solicitation" {
        /// Message type: 133.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 133,
        /// Code: 0 (receivers drop anything else).
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Reserved word.
        res: u32 = 0,
    }
}

layer! {
    /// ICMPv6 router advertisement: 16 bytes, then ND options (prefixes, MTU, the router's
    /// link-layer address, DNS servers).
    Icmpv6NdRa: "ICMPv6ND_RA", "ICMPv6 Neighbor Discovery - Router Advertisement" {
        /// Message type: 134.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 134,
        /// Code: 0 (receivers drop anything else).
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Current hop limit hosts should use; 0: unspecified.
        chlim: u8 = 0,
        /// M flag: addresses come from DHCPv6 (managed).
        managed_flag("M"): u8 [bits(1)] = 0,
        /// O flag: other configuration (DNS...) comes from DHCPv6.
        other_flag("O"): u8 [bits(1)] = 0,
        /// H flag: the router is a mobile IPv6 home agent (RFC 6275).
        home_flag("H"): u8 [bits(1)] = 0,
        /// Default router preference (RFC 4191): 0 medium, 1 high, 3 low.
        prf: u8 [bits(2), fmt(Fmt::Enum(RA_PREFERENCES))] = 1,
        /// P flag: neighbor discovery proxy (RFC 4389).
        proxy_flag("P"): u8 [bits(1)] = 0,
        /// Reserved bits after the flags.
        res: u8 [bits(2)] = 0,
        /// How long the router is a default router, in seconds; 0: not a default router.
        routerlifetime: u16 = 1800,
        /// How long a neighbor stays reachable after a confirmation, in ms; 0: unspecified.
        reachabletime: u32 = 0,
        /// Time between retransmitted neighbor solicitations, in ms; 0: unspecified.
        retranstimer: u32 = 0,
    }
}

layer! {
    /// ICMPv6 redirect: 40 bytes, then ND options (the target's link-layer address, the
    /// redirected packet).
    Icmpv6NdRedirect: "ICMPv6ND_Redirect", "ICMPv6 Neighbor Discovery - Redirect" {
        /// Message type: 137.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 137,
        /// Code: 0 (receivers drop anything else).
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Reserved word.
        res: u32 [fmt(Fmt::Hex)] = 0,
        /// The better first hop: a router's link-local address, or `dst` itself when the
        /// destination is a neighbor.
        tgt: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
        /// The destination that is redirected.
        dst: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
    }
}

impl Icmpv6NdRa {
    fn flag_bits(&self) -> u8 {
        (self.managed_flag & 1) << 7
            | (self.other_flag & 1) << 6
            | (self.home_flag & 1) << 5
            | (self.prf & 3) << 3
            | (self.proxy_flag & 1) << 2
            | (self.res & 3)
    }

    /// Letters of the flags set, as in `MO`.
    fn flag_letters(&self) -> String {
        let flags = [(self.managed_flag, 'M'), (self.other_flag, 'O'), (self.home_flag, 'H'), (self.proxy_flag, 'P')];
        flags.iter().filter(|(bit, _)| bit & 1 != 0).map(|(_, c)| *c).collect()
    }
}

impl Proto for Icmpv6NdRs {
    icmpv6_message!();

    fn header_len(&self) -> usize {
        8
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..8].copy_from_slice(&self.res.to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let layer = Icmpv6NdRs { r#type: h[0], code: h[1], cksum: Some(be16(h, 2)), res: be32(h, 4) };
        Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        "ICMPv6 ND_RS".into()
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_nd_code("ND_RS", self.code, out);
    }
}

impl Proto for Icmpv6NdRa {
    icmpv6_message!();

    fn header_len(&self) -> usize {
        16
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4] = self.chlim;
        hdr[5] = self.flag_bits();
        hdr[6..8].copy_from_slice(&self.routerlifetime.to_be_bytes());
        hdr[8..12].copy_from_slice(&self.reachabletime.to_be_bytes());
        hdr[12..16].copy_from_slice(&self.retranstimer.to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 16)?;
        let f = h[5];
        let layer = Icmpv6NdRa {
            r#type: h[0],
            code: h[1],
            cksum: Some(be16(h, 2)),
            chlim: h[4],
            managed_flag: f >> 7,
            other_flag: (f >> 6) & 1,
            home_flag: (f >> 5) & 1,
            prf: (f >> 3) & 3,
            proxy_flag: (f >> 2) & 1,
            res: f & 3,
            routerlifetime: be16(h, 6),
            reachabletime: be32(h, 8),
            retranstimer: be32(h, 12),
        };
        Ok(Decoded { layer, hlen: 16, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        let prf = super::code_name(RA_PREFERENCES, self.prf);
        let mut s = format!("ICMPv6 ND_RA lifetime {} chlim {} prf {prf}", self.routerlifetime, self.chlim);
        let flags = self.flag_letters();
        if !flags.is_empty() {
            s.push_str(&format!(" [{flags}]"));
        }
        s
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_nd_code("ND_RA", self.code, out);
        if self.prf == 2 {
            out.push("ICMPv6 ND_RA prf is 2 (reserved): receivers take it as medium (RFC 4191)".into());
        }
    }
}

impl Proto for Icmpv6NdRedirect {
    icmpv6_message!();

    fn header_len(&self) -> usize {
        40
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..8].copy_from_slice(&self.res.to_be_bytes());
        hdr[8..24].copy_from_slice(&self.tgt.octets());
        hdr[24..40].copy_from_slice(&self.dst.octets());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 40)?;
        let layer = Icmpv6NdRedirect {
            r#type: h[0],
            code: h[1],
            cksum: Some(be16(h, 2)),
            res: be32(h, 4),
            tgt: addr(h, 8),
            dst: addr(h, 24),
        };
        Ok(Decoded { layer, hlen: 40, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        format!("ICMPv6 ND_Redirect {} via {}", self.dst, self.tgt)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_nd_code("ND_Redirect", self.code, out);
        if self.dst.is_multicast() {
            out.push(format!("ICMPv6 ND_Redirect dst {} is multicast: receivers drop it", self.dst));
        }
        // RFC 4861 8.1: the target is a link-local router address or the destination.
        if self.tgt != self.dst && !is_link_local(&self.tgt) {
            out.push(format!(
                "ICMPv6 ND_Redirect tgt {} is neither link-local nor the dst: receivers drop it",
                self.tgt
            ));
        }
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Value;
    use crate::layer::Fields;
    use crate::layers::icmpv6::test_util::{after_ipv6, hex, ipv6, kinds, problems};
    use crate::layers::icmpv6::{Icmpv6NdOptMtu, Icmpv6NdOptPrefixInfo, Icmpv6NdOptSrcLladdr};
    use crate::packet::{Layer, LayerKind, Packet};

    #[test]
    fn router_solicitation_matches_scapy() {
        // icmpv6_nd_rs_srclladdr: hlim 255 is automatic, as scapy's overload.
        let p = ipv6().dst("ff02::2") / Icmpv6NdRs::new() / Icmpv6NdOptSrcLladdr::new().lladdr("00:11:22:33:44:55");
        let b = p.build();
        assert_eq!(b[7], 255);
        assert_eq!(&b[40..], hex("8500e65b000000000101001122334455"));
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        assert_eq!(kinds(&d), [LayerKind::Ipv6, LayerKind::Icmpv6NdRs, LayerKind::Icmpv6NdOptSrcLladdr]);
        assert_eq!(d.build(), b);
    }

    #[test]
    fn router_advertisement_flags_and_options() {
        let ra = Icmpv6NdRa::new().chlim(64).managed_flag(1).other_flag(1).prf(3).routerlifetime(600);
        let p = ipv6().dst("ff02::1")
            / ra
            / Icmpv6NdOptSrcLladdr::new().lladdr("00:11:22:33:44:55")
            / Icmpv6NdOptMtu::new().mtu(1500)
            / Icmpv6NdOptPrefixInfo::new().prefix("2001:db8:1::");
        let b = p.build();
        // scapy: chlim 64, M O, prf 3 -> 0xd8.
        assert_eq!(&b[44..48], hex("40d80258"));
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        use LayerKind as K;
        assert_eq!(
            kinds(&d),
            [K::Ipv6, K::Icmpv6NdRa, K::Icmpv6NdOptSrcLladdr, K::Icmpv6NdOptMtu, K::Icmpv6NdOptPrefixInfo]
        );
        assert_eq!(d.build(), b);
        assert_eq!(d.layers[1].summary(), "ICMPv6 ND_RA lifetime 600 chlim 64 prf Low [MO]");
        let mut ra = Icmpv6NdRa::new();
        ra.set("prf", &Value::Str("High".into())).unwrap();
        ra.set("M", &Value::Int(1)).unwrap();
        assert_eq!((ra.prf, ra.managed_flag), (1, 1));
        assert!(ra.set("prf", &Value::Int(4)).is_err());
        assert_eq!(after_ipv6(ipv6() / Icmpv6NdRa::new())[4..8], hex("00080708"));
    }

    #[test]
    fn redirect_layout_and_checks() {
        let r = Icmpv6NdRedirect::new().tgt("fe80::1").dst("2001:db8::99");
        let b = after_ipv6(ipv6() / r.clone());
        assert_eq!(b.len(), 40);
        assert_eq!(&b[8..24], "fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        assert!(problems(r.clone(), &b).is_empty());
        assert!(problems(r.clone().dst("ff02::1"), &b)[0].contains("multicast"));
        assert!(problems(r.tgt("2001:db8::5"), &b)[0].contains("neither link-local"));
        assert_eq!(Layer::from(Icmpv6NdRedirect::new().tgt("fe80::1").dst("2001:db8::9")).summary(), "ICMPv6 ND_Redirect 2001:db8::9 via fe80::1");
    }
}
