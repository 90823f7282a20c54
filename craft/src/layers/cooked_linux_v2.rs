//! Linux cooked capture, version 2 (scapy `CookedLinuxV2`): the link layer of
//! `tcpdump -i any -y LINUX_SLL2` captures (pcap linktype 276, LINKTYPE_LINUX_SLL2).
//!
//! SLL's fields, reordered with the protocol first, plus the interface index; the
//! protocol binds to what follows as Ether's type does.

use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Proto, Span, Truncated, WriteCx};
use crate::layer;
use crate::layers::cooked_linux::{check_addr, next_for_proto, read_addr, write_addr, COOKED_LINUX_PACKET_TYPES, DEFAULT_PROTO};
use crate::layers::ether::{auto_type, ETHER_TYPES};

layer! {
    /// Linux cooked capture v2 (SLL2) header: 20 bytes.
    CookedLinuxV2: "CookedLinuxV2", "cooked linux v2" {
        /// Protocol, an EtherType. Auto: announces the next layer (0x0800 for IP), 0x0800
        /// when nothing follows (scapy's default).
        proto: Option<u16> [fmt(Fmt::Enum(ETHER_TYPES))] = None,
        /// Reserved, 0 (mbz).
        reserved: u16 = 0,
        /// Index of the interface the packet was captured on (`ip link` shows it).
        ifindex: u32 = 0,
        /// ARPHRD_ type of the link the packet crossed (1: Ethernet, 772: loopback); scapy's
        /// default is 512. 824 (netlink) makes `proto` a netlink family, left undecoded.
        lladdrtype: u16 [fmt(Fmt::Hex)] = 512,
        /// Packet type: unicast to us (0), broadcast (1), multicast (2), unicast to another
        /// host (3), sent by us (4).
        pkttype: u8 [fmt(Fmt::Enum(COOKED_LINUX_PACKET_TYPES))] = 0,
        /// How many bytes of `src` are the sender's address (6 for Ethernet).
        lladdrlen: u8 = 0,
        /// Sender's link-layer address: 8 bytes on the wire, zero-padded (longer values are
        /// cut to 8).
        src: Vec<u8> = Vec::new(),
    }
}

impl Proto for CookedLinuxV2 {
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        20
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        hdr[0..2].copy_from_slice(&auto_type(self.proto, cx, DEFAULT_PROTO).to_be_bytes());
        hdr[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        hdr[4..8].copy_from_slice(&self.ifindex.to_be_bytes());
        hdr[8..10].copy_from_slice(&self.lladdrtype.to_be_bytes());
        hdr[10] = self.pkttype;
        hdr[11] = self.lladdrlen;
        write_addr(&mut hdr[12..20], &self.src);
    }

    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut l = CookedLinuxV2::default();
        let span = l.dissect_in_place(data, cx)?;
        Ok(span.with(l))
    }

    fn dissect_in_place(&mut self, data: &[u8], _cx: &DissectCx) -> Result<Span, Truncated> {
        let h = data.get(..20).ok_or(Truncated)?;
        let proto = u16::from_be_bytes([h[0], h[1]]);
        self.proto = Some(proto);
        self.reserved = u16::from_be_bytes([h[2], h[3]]);
        self.ifindex = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        self.lladdrtype = u16::from_be_bytes([h[8], h[9]]);
        self.pkttype = h[10];
        self.lladdrlen = h[11];
        read_addr(&mut self.src, &h[12..20]);
        Ok(Span { hlen: 20, total_len: None, next: next_for_proto(proto, self.lladdrtype) })
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_addr("CookedLinuxV2", u16::from(self.lladdrlen), out);
        if self.reserved != 0 {
            out.push(format!("CookedLinuxV2 reserved is {:#x}, should be 0", self.reserved));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::ipv6::Ipv6;
    use crate::packet::{Layer, LayerKind, Packet};

    /// scapy 2.8: bytes(CookedLinuxV2(src=b'\x01\x02')/IPv6(src='::1', dst='::2')).
    #[test]
    fn matches_scapy_and_round_trips() {
        let p = CookedLinuxV2::new().src(vec![1, 2]) / Ipv6::new().src("::1").dst("::2");
        let b = p.build();
        assert_eq!(&b[..20], [0x86, 0xdd, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
        let d = Packet::dissect(&b, LayerKind::CookedLinuxV2);
        assert_eq!(d.layers[1].kind(), LayerKind::Ipv6);
        let Layer::CookedLinuxV2(h) = &d.layers[0] else { panic!("{d:?}") };
        assert_eq!((h.proto, &h.src[..]), (Some(0x86dd), &[1, 2, 0, 0, 0, 0, 0, 0][..]));
        assert_eq!(d.build(), b);
    }

    #[test]
    fn short_header_is_truncated_raw() {
        let p = Packet::dissect(&[0x08, 0, 0, 0], LayerKind::CookedLinuxV2);
        assert!(matches!(&p.layers[..], [Layer::Raw(r)] if r.truncated == Some("CookedLinuxV2")));
    }
}
