//! IEEE 802.1Q VLAN tag (scapy `Dot1Q`); stack two for QinQ.
//!
//! Differs from scapy: EtherType 0x9100 (old QinQ) is read as a Dot1Q (scapy: Raw).

use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Proto, Truncated, WriteCx};
use crate::layer;
use crate::bind::Bind;
use crate::layers::ether::{auto_type, ETHER_TYPES};

layer! {
    /// 802.1Q tag: 4 bytes after the Ether header.
    Dot1Q: "Dot1Q", "802.1Q" {
        /// Priority code point.
        prio: u8 [bits(3)] = 0,
        /// Drop eligible indicator (was CFI; scapy 2.8 calls it `dei`).
        dei: u8 [bits(1)] = 0,
        /// VLAN id.
        vlan: u16 [bits(12)] = 1,
        /// EtherType of what follows. Auto: from the next layer, 0 when nothing follows.
        r#type("type"): Option<u16> [fmt(Fmt::Enum(ETHER_TYPES))] = None,
    }
}

impl Proto for Dot1Q {
    const BINDS: &'static [Bind] = &[
        Bind::ether_type(0x8100).named("n_802_1Q"),
        // QinQ's outer tag (802.1ad): read as a Dot1Q, built only when set.
        Bind::ether_type(0x88a8).named("n_802_1AD").dissect_only(),
        // The pre-802.1ad QinQ tag, read as a VLAN tag by the kernel's vlan driver (as an
        // option), Wireshark and etherparse: craft reads it as a Dot1Q, never builds it.
        // scapy 2.8 binds only 0x8100 and 0x88a8 and leaves it Raw; unnamed, as in scapy.
        Bind::ether_type(0x9100).dissect_only(),
    ];
    const ALIASES: &'static [(&'static str, &'static str)] = &[("id", "dei")];

    fn header_len(&self) -> usize {
        4
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        let tci = ((self.prio as u16 & 7) << 13) | ((self.dei as u16 & 1) << 12) | (self.vlan & 0xfff);
        hdr[0..2].copy_from_slice(&tci.to_be_bytes());
        hdr[2..4].copy_from_slice(&auto_type(self.r#type, cx, 0).to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = data.get(..4).ok_or(Truncated)?;
        let tci = u16::from_be_bytes([h[0], h[1]]);
        let ty = u16::from_be_bytes([h[2], h[3]]);
        let tag = Dot1Q { prio: (tci >> 13) as u8, dei: ((tci >> 12) & 1) as u8, vlan: tci & 0xfff, r#type: Some(ty) };
        Ok(Decoded { layer: tag, hlen: 4, total_len: None, next: crate::bind::ether_next(ty) })
    }

    fn summary(&self) -> String {
        format!("Dot1Q vlan {}", self.vlan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{ether::Ether, ip::Ip};
    use crate::packet::{LayerKind, Packet};

    #[test]
    fn qinq_types_chain() {
        let p = Ether::new() / Dot1Q::new().vlan(100).prio(5) / Dot1Q::new().vlan(200) / Ip::new();
        let b = p.build();
        assert_eq!(&b[12..14], [0x81, 0x00]);
        assert_eq!(&b[14..18], [0xa0, 100, 0x81, 0x00]);
        assert_eq!(&b[18..22], [0x00, 200, 0x08, 0x00]);
        assert_eq!(Packet::dissect(&b, LayerKind::Ether).build(), b);
    }

    #[test]
    fn old_qinq_ethertype_is_read_as_dot1q_but_never_built() {
        // Ether type 0x9100, tag vlan 5, then IPv4.
        let frame = crate::hex::unhex("ffffffffffff000000000001910000050800450000140001000040007ce70a0000017f000001");
        let p = Packet::dissect(&frame, LayerKind::Ether);
        let kinds: Vec<LayerKind> = p.layers.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, [LayerKind::Ether, LayerKind::Dot1Q, LayerKind::Ip]);
        let Some(crate::packet::Layer::Dot1Q(tag)) = p.layers.get(1) else { unreachable!() };
        assert_eq!(tag.vlan, 5);
        assert_eq!(p.build(), frame);
        // Built: the Ether type stays 0x8100.
        let b = (Ether::new() / Dot1Q::new() / Ip::new()).build();
        assert_eq!(&b[12..14], [0x81, 0x00]);
        // Unnamed, as in scapy: shown as a number.
        assert!(!crate::bind::ETHER_TYPES.iter().any(|(v, _)| *v == 0x9100));
    }
}
