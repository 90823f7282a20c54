//! VXLAN, Virtual eXtensible LAN (RFC 7348; scapy `VXLAN`), with scapy's VXLAN-GPE and
//! Group Policy variants of the 8-byte header.
//!
//! As in scapy: the flags byte says which fields follow it. With `NextProtocol` (0x04,
//! VXLAN-GPE) they are `reserved0` and `NextProtocol`; with `G` (0x80, Group Policy)
//! `gpflags` and `gpid`; with neither, `reserved1`. Then `vni` and `reserved2`. With both
//! flags both pairs are there and the header is 11 bytes, as scapy builds and reads it.
//!
//! Bound as scapy binds it: UDP destination port 4789 (what building writes), 4790, 6633,
//! 8472 and 48879, or source port 4789, 4790, 6633 or 8472. The payload is an Ethernet
//! frame, or what `NextProtocol` says when that flag is set (1 IPv4, 2 IPv6, 0 or 3
//! Ethernet). Building a VXLAN before Ether, IP or IPv6 sets flags 0x0c and NextProtocol
//! (3, 1, 2) unless given, as scapy's `bind_top_down` lines do.
//!
//! Differences: scapy's `UDP()/VXLAN()` also sets the UDP source port to 4789; craft
//! keeps UDP's `sport` as given (53 by default). `gpflags` is shown as letters (`AD`),
//! scapy joins them with '+' (`A+D`); both forms are accepted.

use crate::bind::Bind;
use crate::field::Fmt;
use crate::layer;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::packet::{Layer, LayerKind};

/// Flag names, bit 0 first (scapy's).
pub const VXLAN_FLAGS: &[&str] = &["OAM", "R", "NextProtocol", "Instance", "V1", "V2", "R", "G"];
/// Group Policy flag names, bit 0 first (scapy's).
pub const VXLAN_GP_FLAGS: &[&str] = &["R", "R", "R", "A", "R", "R", "D", "R"];
/// VXLAN-GPE next protocol names (scapy's).
pub const VXLAN_NEXT_PROTOCOLS: &[(u64, &str)] = &[(0, "NotDefined"), (1, "IPv4"), (2, "IPv6"), (3, "Ethernet"), (4, "NSH")];

/// The `NextProtocol` flag: `reserved0` and `NextProtocol` follow.
pub const FLAG_NEXT_PROTOCOL: u8 = 0x04;
/// The `Instance` flag: the VNI is valid (RFC 7348 requires it).
pub const FLAG_INSTANCE: u8 = 0x08;
/// The `G` flag: `gpflags` and `gpid` follow.
pub const FLAG_G: u8 = 0x80;

layer! {
    /// VXLAN header: 8 bytes (11 with both the NextProtocol and G flags).
    Vxlan: "VXLAN", "VXLAN" {
        /// Flags: OAM, R, NextProtocol, Instance, V1, V2, R, G. Auto: NextProtocol+Instance
        /// (0x0c) before Ether, IP or IPv6, else Instance (0x08), as scapy.
        flags: Option<u8> [fmt(Fmt::Flags(VXLAN_FLAGS))] = None,
        /// Reserved, with the NextProtocol flag.
        reserved0: u16 = 0,
        /// VXLAN-GPE protocol of the payload, with the NextProtocol flag. Auto: 3 before
        /// Ether, 1 before IP, 2 before IPv6, else 0.
        next_protocol("NextProtocol"): Option<u8> [fmt(Fmt::Enum(VXLAN_NEXT_PROTOCOLS))] = None,
        /// Reserved, without the NextProtocol and G flags.
        reserved1: u32 [bits(24)] = 0,
        /// Group Policy flags, with the G flag.
        gpflags: u8 [fmt(Fmt::Flags(VXLAN_GP_FLAGS))] = 0,
        /// Group Policy ID, with the G flag.
        gpid: u16 = 0,
        /// VXLAN network identifier.
        vni: u32 [bits(24), fmt(Fmt::Hex)] = 0,
        /// Reserved.
        reserved2: u8 [fmt(Fmt::Hex)] = 0,
    }
}

impl Vxlan {
    /// The flags as built when nothing follows (or something other than Ether/IP/IPv6).
    fn flags_or_default(&self) -> u8 {
        self.flags.unwrap_or(FLAG_INSTANCE)
    }
}

/// The VXLAN-GPE next protocol that announces `next` (scapy's `bind_top_down` values).
fn next_protocol_for(next: Option<&Layer>) -> Option<u8> {
    match next? {
        Layer::Ether(_) => Some(3),
        Layer::Ip(_) => Some(1),
        Layer::Ipv6(_) => Some(2),
        _ => None,
    }
}

/// Whether fields `G` and `NextProtocol` bring (see the module doc) are there.
fn has(flags: u8, flag: u8) -> bool {
    flags & flag != 0
}

impl Proto for Vxlan {
    const BINDS: &'static [Bind] = &[
        Bind::udp_dport(4789),
        Bind::udp_dport(4790).dissect_only(),
        Bind::udp_dport(6633).dissect_only(),
        Bind::udp_dport(8472).dissect_only(),
        Bind::udp_dport(48879).dissect_only(),
        Bind::udp_sport(4789),
        Bind::udp_sport(4790),
        Bind::udp_sport(6633),
        Bind::udp_sport(8472),
    ];
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        let f = self.flags_or_default();
        if has(f, FLAG_G) && has(f, FLAG_NEXT_PROTOCOL) {
            11
        } else {
            8
        }
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        let auto_np = next_protocol_for(cx.next);
        let flags = self.flags.unwrap_or(if auto_np.is_some() { FLAG_NEXT_PROTOCOL | FLAG_INSTANCE } else { FLAG_INSTANCE });
        hdr[0] = flags;
        let mut at = 1;
        if has(flags, FLAG_NEXT_PROTOCOL) {
            hdr[1..3].copy_from_slice(&self.reserved0.to_be_bytes());
            hdr[3] = self.next_protocol.or(auto_np).unwrap_or(0);
            at = 4;
        }
        if has(flags, FLAG_G) {
            hdr[at] = self.gpflags;
            hdr[at + 1..at + 3].copy_from_slice(&self.gpid.to_be_bytes());
            at += 3;
        }
        if !has(flags, FLAG_G | FLAG_NEXT_PROTOCOL) {
            hdr[1..4].copy_from_slice(&self.reserved1.to_be_bytes()[1..]);
            at = 4;
        }
        hdr[at..at + 3].copy_from_slice(&self.vni.to_be_bytes()[1..]);
        hdr[at + 3] = self.reserved2;
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let flags = *data.first().ok_or(Truncated)?;
        let both = has(flags, FLAG_G) && has(flags, FLAG_NEXT_PROTOCOL);
        let hlen = if both { 11 } else { 8 };
        let h = data.get(..hlen).ok_or(Truncated)?;
        let be24 = |i: usize| u32::from_be_bytes([0, h[i], h[i + 1], h[i + 2]]);
        let mut l = Vxlan { flags: Some(flags), ..Vxlan::default() };
        let mut at = 1;
        if has(flags, FLAG_NEXT_PROTOCOL) {
            l.reserved0 = u16::from_be_bytes([h[1], h[2]]);
            l.next_protocol = Some(h[3]);
            at = 4;
        }
        if has(flags, FLAG_G) {
            l.gpflags = h[at];
            l.gpid = u16::from_be_bytes([h[at + 1], h[at + 2]]);
            at += 3;
        }
        if !has(flags, FLAG_G | FLAG_NEXT_PROTOCOL) {
            l.reserved1 = be24(1);
            at = 4;
        }
        l.vni = be24(at);
        l.reserved2 = h[at + 3];
        // scapy's bind_bottom_up lines: Ethernet unless NextProtocol says otherwise.
        let next = match l.next_protocol.filter(|_| has(flags, FLAG_NEXT_PROTOCOL)) {
            None | Some(0 | 3) => Next::Layer(LayerKind::Ether),
            Some(1) => Next::Layer(LayerKind::Ip),
            Some(2) => Next::Layer(LayerKind::Ipv6),
            Some(_) => Next::Raw,
        };
        Ok(Decoded { layer: l, hlen, total_len: None, next })
    }

    fn present(&self, field: &str) -> bool {
        let f = self.flags_or_default();
        match field {
            "reserved0" | "NextProtocol" => has(f, FLAG_NEXT_PROTOCOL),
            "reserved1" => !has(f, FLAG_G | FLAG_NEXT_PROTOCOL),
            "gpflags" | "gpid" => has(f, FLAG_G),
            _ => true,
        }
    }

    fn summary(&self) -> String {
        if has(self.flags_or_default(), FLAG_G) {
            format!("VXLAN (vni={:#x} gpid={})", self.vni, self.gpid)
        } else {
            format!("VXLAN (vni={:#x})", self.vni)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{ether::Ether, ip::Ip, udp::Udp};
    use crate::packet::Packet;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// scapy 2.8: `raw(UDP(sport=4789)/VXLAN()/Ether())` and `raw(VXLAN(vni=42)/IP())`.
    #[test]
    fn builds_as_scapy() {
        let p = Udp::new().sport(4789) / Vxlan::new() / Ether::new();
        assert_eq!(hex(&p.build()), "12b512b5001e00000c00000300000000ffffffffffff0000000000009000");
        let b = (Vxlan::new().vni(42) / Ip::new()).build();
        assert_eq!(hex(&b[..8]), "0c00000100002a00");
        assert_eq!(hex(&Packet::from(Layer::from(Vxlan::new())).build()), "0800000000000000");
    }

    /// Group Policy, and both optional pairs (11 bytes), read back field for field.
    #[test]
    fn group_policy_and_gpe_round_trip() {
        let gp = Vxlan::new().flags(0x88).gpflags(0x08).gpid(5);
        assert_eq!(hex(&Packet::from(Layer::from(gp.clone())).build()), "8808000500000000");
        let both = Vxlan::new().flags(0x8c).reserved0(0x1234).next_protocol(3).gpflags(1).gpid(5).vni(0x2a);
        let b = Packet::from(Layer::from(both)).build();
        assert_eq!(hex(&b), "8c12340301000500002a00");
        let d = Vxlan::dissect(&b, &DissectCx::default()).ok().unwrap();
        assert_eq!((d.hlen, d.layer.gpid, d.layer.vni, d.layer.reserved0), (11, 5, 0x2a, 0x1234));
        assert!(d.layer.present("gpid") && d.layer.present("NextProtocol") && !d.layer.present("reserved1"));
    }

    /// Found on any of scapy's ports, either direction; an inner frame follows.
    #[test]
    fn dissects_on_the_bound_ports() {
        let cx = DissectCx::default();
        for (sport, dport) in [(1000, 4789), (1000, 8472), (4789, 1000), (8472, 1000), (1000, 48879)] {
            let b = (Udp::new().sport(sport).dport(dport) / Vxlan::new().vni(7) / Ether::new() / Ip::new()).build();
            let p = Packet::dissect_with(&b, LayerKind::Udp, &cx);
            let kinds: Vec<LayerKind> = p.layers.iter().map(Layer::kind).collect();
            assert_eq!(kinds, [LayerKind::Udp, LayerKind::Vxlan, LayerKind::Ether, LayerKind::Ip], "{sport} > {dport}");
        }
        let b = (Udp::new().sport(1).dport(48880) / Vxlan::new()).build();
        assert_eq!(Packet::dissect(&b, LayerKind::Udp).layers[1].kind(), LayerKind::Raw);
    }

    #[test]
    fn cut_short_is_truncated_raw() {
        let b = (Udp::new().sport(1) / Vxlan::new().flags(0x8c)).build();
        let p = Packet::dissect(&b[..8 + 9], LayerKind::Udp);
        assert!(matches!(&p.layers[1], Layer::Raw(r) if r.truncated == Some("VXLAN")), "{p:?}");
        assert_eq!(Vxlan::new().summary(), "VXLAN (vni=0x0)");
    }
}
