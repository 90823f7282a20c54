//! OpenBSD loopback, DLT_LOOP (scapy `LoopbackOpenBSD`): pcap linktype 108, LINKTYPE_LOOP.
//!
//! DLT_NULL's 4-byte address family, always in network byte order; the same families
//! bind to IP and IPv6 (see [`crate::layers::loopback`]).

use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Proto, Truncated, WriteCx};
use crate::layer;
use crate::layers::loopback::{auto_af, next_for_af, LOOPBACK_TYPES};

layer! {
    /// OpenBSD loopback (DLT_LOOP) header: 4 bytes.
    LoopbackOpenBSD: "LoopbackOpenBSD", "OpenBSD Loopback" {
        /// Address family, 4 bytes big endian. Auto: 2 (AF_INET) for IP or nothing, 24
        /// (AF_INET6) for IPv6.
        r#type("type"): Option<u32> [fmt(Fmt::Enum(LOOPBACK_TYPES))] = None,
    }
}

impl Proto for LoopbackOpenBSD {
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        4
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        hdr[0..4].copy_from_slice(&auto_af(self.r#type, cx).to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h: [u8; 4] = data.get(..4).ok_or(Truncated)?.try_into().unwrap();
        let af = u32::from_be_bytes(h);
        Ok(Decoded { layer: LoopbackOpenBSD { r#type: Some(af) }, hlen: 4, total_len: None, next: next_for_af(af) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{ip::Ip, ipv6::Ipv6};
    use crate::packet::{LayerKind, Packet};

    #[test]
    fn network_order_families() {
        let b = (LoopbackOpenBSD::new() / Ipv6::new()).build();
        assert_eq!(&b[..5], [0, 0, 0, 24, 0x60]);
        let d = Packet::dissect(&b, LayerKind::LoopbackOpenBSD);
        assert_eq!(d.layers[1].kind(), LayerKind::Ipv6);
        assert_eq!(d.build(), b);
        let v4 = (LoopbackOpenBSD::new() / Ip::new()).build();
        assert_eq!(&v4[..4], [0, 0, 0, 2]);
        assert_eq!(Packet::dissect(&v4, LayerKind::LoopbackOpenBSD).layers[1].kind(), LayerKind::Ip);
    }
}
