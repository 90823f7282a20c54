//! BSD loopback, DLT_NULL (scapy `Loopback`): the link layer of captures on a BSD or
//! macOS `lo0` (pcap linktype 0, LINKTYPE_NULL).
//!
//! 4 bytes: the address family of the packet, in the byte order of the host that captured
//! it. craft reads them little endian, as scapy does: a little-endian host's AF_INET is 2.
//! A big-endian host's reads as 0x2000000 and is still decoded (as tshark, a value above
//! 0xffff is taken byte-swapped). AF_INET (2) binds to IP; AF_INET6, which each BSD numbers
//! differently (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS), to IPv6.

use crate::bind::Bind;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

/// Address families, as scapy names them: from the layers' bindings (see [`crate::bind`]).
pub const LOOPBACK_TYPES: &[(u64, &str)] = crate::bind::LOOPBACK_TYPES;

/// Address family names scapy shows for which craft has no layer.
pub const UNBOUND: &[Bind] = &[
    Bind::loopback_af(7).named("OSI").name_only(),
    Bind::loopback_af(0x10).named("Appletalk").name_only(),
    Bind::loopback_af(0x17).named("Netware IPX/SPX").name_only(),
];

/// AF_INET, the same on every BSD.
pub const AF_INET: u32 = 2;
/// AF_INET6 as NetBSD, OpenBSD (and Windows' loopback captures) number it: what craft
/// writes for IPv6. FreeBSD uses 28, macOS 30; all three are read as IPv6.
pub const AF_INET6_BSD: u32 = 24;

/// The layer an address family announces.
pub fn next_for_af(af: u32) -> Next {
    crate::bind::loopback_next(af)
}

/// The address family for what follows: the user's value, else the next layer's.
pub fn auto_af(set: Option<u32>, cx: &WriteCx) -> u32 {
    set.unwrap_or_else(|| cx.next.and_then(|n| n.kind().loopback_af()).unwrap_or(AF_INET))
}

layer! {
    /// BSD loopback (DLT_NULL) header: 4 bytes.
    Loopback: "Loopback", "Loopback" {
        /// Address family, 4 bytes in the capturing host's order (read and written little
        /// endian). Auto: 2 (AF_INET) for IP or nothing, 24 (AF_INET6) for IPv6.
        r#type("type"): Option<u32> [fmt(Fmt::Enum(LOOPBACK_TYPES))] = None,
    }
}

impl Proto for Loopback {
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        4
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        hdr[0..4].copy_from_slice(&auto_af(self.r#type, cx).to_le_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h: [u8; 4] = data.get(..4).ok_or(Truncated)?.try_into().unwrap();
        let t = u32::from_le_bytes(h);
        // Written by a big-endian host: every family fits in 16 bits.
        let af = if t > 0xffff { t.swap_bytes() } else { t };
        Ok(Decoded { layer: Loopback { r#type: Some(t) }, hlen: 4, total_len: None, next: next_for_af(af) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{ip::Ip, ipv6::Ipv6};
    use crate::packet::{Layer, LayerKind, Packet};

    /// scapy 2.8: bytes(Loopback()/IP(src='1.1.1.1', dst='2.2.2.2')) starts 02000000.
    #[test]
    fn little_endian_families_and_auto_type() {
        let b = (Loopback::new() / Ip::new().src("1.1.1.1").dst("2.2.2.2")).build();
        assert_eq!(&b[..5], [2, 0, 0, 0, 0x45]);
        let v6 = (Loopback::new() / Ipv6::new()).build();
        assert_eq!(&v6[..4], [24, 0, 0, 0]);
        for af in [24u8, 28, 30] {
            let mut b = v6.clone();
            b[0] = af;
            let d = Packet::dissect(&b, LayerKind::Loopback);
            assert_eq!(d.layers[1].kind(), LayerKind::Ipv6, "AF {af}");
            assert_eq!(d.build(), b);
        }
    }

    #[test]
    fn big_endian_host_is_decoded_and_kept() {
        let mut b = (Loopback::new() / Ip::new()).build();
        b[..4].copy_from_slice(&[0, 0, 0, 2]);
        let d = Packet::dissect(&b, LayerKind::Loopback);
        assert_eq!(d.layers[0], Layer::Loopback(Loopback::new().r#type(0x0200_0000)));
        assert_eq!(d.layers[1].kind(), LayerKind::Ip);
        assert_eq!(d.build(), b);
        let odd = Packet::dissect(&[9, 0, 0, 0, 0x45], LayerKind::Loopback);
        assert_eq!(odd.layers[1].kind(), LayerKind::Raw);
        assert_eq!(Packet::dissect(&[2, 0, 0], LayerKind::Loopback).layers[0].kind(), LayerKind::Raw);
    }
}
