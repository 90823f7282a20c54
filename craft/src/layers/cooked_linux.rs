//! Linux cooked capture, version 1 (scapy `CookedLinux`): the link layer of
//! `tcpdump -i any` captures (pcap linktype 113, LINKTYPE_LINUX_SLL).
//!
//! The header stands for whatever link layer the packet crossed: who it was for, the
//! sender's link-layer address in 8 bytes, and the protocol as an EtherType, bound to what
//! follows as Ether's type is (IPv4, IPv6, ARP, 802.1Q).

use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Span, Truncated, WriteCx};
use crate::layer;
use crate::layers::ether::{auto_type, ETHER_TYPES};

/// Packet types (the kernel's PACKET_* values), as scapy names them.
pub const COOKED_LINUX_PACKET_TYPES: &[(u64, &str)] = &[
    (0, "unicast"),
    (1, "broadcast"),
    (2, "multicast"),
    (3, "unicast-to-another-host"),
    (4, "sent-by-us"),
];

/// ARPHRD_NETLINK: the protocol field holds a netlink family, not an EtherType.
pub const ARPHRD_NETLINK: u16 = 824;

/// scapy's protocol when nothing follows: IPv4.
pub const DEFAULT_PROTO: u16 = 0x0800;

/// Bytes of link-layer address room in the header (SLL and SLL2 alike).
pub const ADDR_LEN: usize = 8;

layer! {
    /// Linux cooked capture (SLL) header: 16 bytes.
    CookedLinux: "CookedLinux", "cooked linux" {
        /// Packet type: unicast to us (0), broadcast (1), multicast (2), unicast to another
        /// host (3), sent by us (4).
        pkttype: u16 [fmt(Fmt::Enum(COOKED_LINUX_PACKET_TYPES))] = 0,
        /// ARPHRD_ type of the link the packet crossed (1: Ethernet, 772: loopback); scapy's
        /// default is 512. 824 (netlink) makes `proto` a netlink family, left undecoded.
        lladdrtype: u16 [fmt(Fmt::Hex)] = 512,
        /// How many bytes of `src` are the sender's address (6 for Ethernet).
        lladdrlen: u16 = 0,
        /// Sender's link-layer address: 8 bytes on the wire, zero-padded (longer values are
        /// cut to 8).
        src: Vec<u8> = Vec::new(),
        /// Protocol, an EtherType. Auto: announces the next layer (0x0800 for IP), 0x0800
        /// when nothing follows (scapy's default).
        proto: Option<u16> [fmt(Fmt::Enum(ETHER_TYPES))] = None,
    }
}

/// Writes `src` into the 8 address bytes: zero-padded, cut at 8.
pub fn write_addr(out: &mut [u8], src: &[u8]) {
    let n = src.len().min(ADDR_LEN);
    out[..n].copy_from_slice(&src[..n]);
    out[n..ADDR_LEN].fill(0);
}

/// Reads the 8 address bytes into `src`, reusing its allocation.
pub fn read_addr(src: &mut Vec<u8>, bytes: &[u8]) {
    src.clear();
    src.extend_from_slice(&bytes[..ADDR_LEN]);
}

/// What an SLL/SLL2 protocol field announces on a link of ARPHRD type `lladdrtype`.
pub fn next_for_proto(proto: u16, lladdrtype: u16) -> Next {
    if lladdrtype == ARPHRD_NETLINK {
        Next::Raw
    } else {
        crate::bind::ether_next(proto)
    }
}

/// A problem common to SLL and SLL2: an address length the 8 bytes cannot hold.
pub fn check_addr(layer: &str, lladdrlen: u16, out: &mut Vec<String>) {
    if usize::from(lladdrlen) > ADDR_LEN {
        out.push(format!("{layer} lladdrlen {lladdrlen} is more than the {ADDR_LEN} address bytes of src"));
    }
}

impl Proto for CookedLinux {
    const WRITES_ALL: bool = true;

    fn header_len(&self) -> usize {
        16
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        hdr[0..2].copy_from_slice(&self.pkttype.to_be_bytes());
        hdr[2..4].copy_from_slice(&self.lladdrtype.to_be_bytes());
        hdr[4..6].copy_from_slice(&self.lladdrlen.to_be_bytes());
        write_addr(&mut hdr[6..14], &self.src);
        hdr[14..16].copy_from_slice(&auto_type(self.proto, cx, DEFAULT_PROTO).to_be_bytes());
    }

    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut l = CookedLinux::default();
        let span = l.dissect_in_place(data, cx)?;
        Ok(span.with(l))
    }

    fn dissect_in_place(&mut self, data: &[u8], _cx: &DissectCx) -> Result<Span, Truncated> {
        let h = data.get(..16).ok_or(Truncated)?;
        let be = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        self.pkttype = be(0);
        self.lladdrtype = be(2);
        self.lladdrlen = be(4);
        read_addr(&mut self.src, &h[6..14]);
        let proto = be(14);
        self.proto = Some(proto);
        Ok(Span { hlen: 16, total_len: None, next: next_for_proto(proto, self.lladdrtype) })
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_addr("CookedLinux", self.lladdrlen, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{dot1q::Dot1Q, ip::Ip, raw::Raw};
    use crate::packet::{Layer, LayerKind, Packet};

    /// scapy 2.8: bytes(CookedLinux()/IP(src='1.1.1.1', dst='2.2.2.2')).
    #[test]
    fn defaults_and_auto_proto_match_scapy() {
        let b = (CookedLinux::new() / Ip::new().src("1.1.1.1").dst("2.2.2.2")).build();
        assert_eq!(&b[..16], [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0]);
        assert_eq!(Packet::from(Layer::from(CookedLinux::new())).build()[14..], [8, 0]);
        let vlan = (CookedLinux::new() / Dot1Q::new().vlan(5) / Ip::new()).build();
        assert_eq!(&vlan[14..20], [0x81, 0, 0, 5, 8, 0]);
        let d = Packet::dissect(&vlan, LayerKind::CookedLinux);
        let kinds: Vec<_> = d.layers.iter().map(Layer::kind).collect();
        assert_eq!(kinds, [LayerKind::CookedLinux, LayerKind::Dot1Q, LayerKind::Ip]);
        assert_eq!(d.build(), vlan);
    }

    #[test]
    fn src_is_padded_and_cut_to_eight_bytes() {
        let short = Packet::from(Layer::from(CookedLinux::new().src(vec![1, 2]))).build();
        assert_eq!(&short[6..14], [1, 2, 0, 0, 0, 0, 0, 0]);
        let long = Packet::from(Layer::from(CookedLinux::new().src(b"123456789a".to_vec()))).build();
        assert_eq!(&long[6..14], b"12345678");
    }

    #[test]
    fn netlink_protocol_is_not_an_ethertype() {
        let b = (CookedLinux::new().lladdrtype(ARPHRD_NETLINK).proto(0x0800) / Raw::new().load(&b"\x45abc"[..])).build();
        let d = Packet::dissect(&b, LayerKind::CookedLinux);
        assert!(matches!(&d.layers[1], Layer::Raw(r) if r.load == b"\x45abc"), "{d:?}");
        assert_eq!(d.build(), b);
    }

    #[test]
    fn short_header_is_truncated_raw_and_checks_name_lladdrlen() {
        let p = Packet::dissect(&[0; 15], LayerKind::CookedLinux);
        assert!(matches!(&p.layers[..], [Layer::Raw(r)] if r.truncated == Some("CookedLinux")));
        let mut out = Vec::new();
        CookedLinux::new().lladdrlen(9).check(&[], &DissectCx::default(), &mut out);
        assert_eq!(out, ["CookedLinux lladdrlen 9 is more than the 8 address bytes of src"]);
    }
}
