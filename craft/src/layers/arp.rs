//! ARP (scapy `ARP`): Ethernet/IPv4 addresses as typed fields, other sizes as bytes.
//!
//! Differs from scapy: scapy's address fields change type with `hwlen`/`plen`
//! (MultipleTypeField: MAC and IPv4 for 6/4, bytes of `hwlen`/`plen` otherwise). craft's
//! fields have one type each, so a message whose `hwlen`/`plen` are not 6/4 keeps its four
//! addresses, as on the wire, in the `addrs` field (shown only then), and `hwsrc`, `psrc`,
//! `hwdst`, `pdst` are not shown.

use std::net::Ipv4Addr;

use crate::field::{Fmt, Mac};
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

/// ARP operation names, as scapy shows them.
pub const ARP_OPS: &[(u64, &str)] = &[(1, "who-has"), (2, "is-at"), (3, "RARP-req"), (4, "RARP-rep")];

layer! {
    /// ARP message; addresses as Ethernet MACs and IPv4.
    Arp: "ARP", "ARP" {
        /// Hardware type (1: Ethernet).
        hwtype: u16 [fmt(Fmt::Hex)] = 1,
        /// Protocol type (0x0800: IPv4).
        ptype: u16 [fmt(Fmt::Hex)] = 0x0800,
        /// Hardware address length. Auto: 6.
        hwlen: Option<u8> = None,
        /// Protocol address length. Auto: 4.
        plen: Option<u8> = None,
        /// Operation: who-has (1) or is-at (2).
        op: u16 [fmt(Fmt::Enum(ARP_OPS))] = 1,
        /// Sender MAC. Auto offline: 00:00:00:00:00:00; the live layer uses the interface's.
        hwsrc: Option<Mac> = None,
        /// Sender IPv4. Auto offline: 0.0.0.0.
        psrc: Option<Ipv4Addr> = None,
        /// Target MAC.
        hwdst: Mac = Mac::ZERO,
        /// Target IPv4.
        pdst: Ipv4Addr = Ipv4Addr::UNSPECIFIED,
        /// The four addresses as on the wire (sender hardware, sender protocol, target
        /// hardware, target protocol: `2 * (hwlen + plen)` bytes) when `hwlen`/`plen` are
        /// not 6/4; written as given in place of `hwsrc`..`pdst` when not empty. Not a
        /// scapy field (see the module's doc).
        addrs: Vec<u8> = Vec::new(),
    }
}

impl Arp {
    /// The addresses of a message whose `hwlen`/`plen` are not 6/4, split as scapy's
    /// byte fields are: (hwsrc, psrc, hwdst, pdst); None for the Ethernet/IPv4 form or
    /// when `addrs` is not `2 * (hwlen + plen)` bytes.
    pub fn other_addrs(&self) -> Option<[&[u8]; 4]> {
        let (hl, pl) = (self.hwlen? as usize, self.plen? as usize);
        if self.addrs.is_empty() || self.addrs.len() != 2 * (hl + pl) {
            return None;
        }
        let (hwsrc, rest) = self.addrs.split_at(hl);
        let (psrc, rest) = rest.split_at(pl);
        let (hwdst, pdst) = rest.split_at(hl);
        Some([hwsrc, psrc, hwdst, pdst])
    }
}

impl Proto for Arp {
    const BINDS: &'static [crate::bind::Bind] = &[crate::bind::Bind::ether_type(0x0806).named("ARP")];

    fn header_len(&self) -> usize {
        if self.addrs.is_empty() { 28 } else { 8 + self.addrs.len() }
    }

    fn present(&self, field: &str) -> bool {
        match field {
            "addrs" => !self.addrs.is_empty(),
            "hwsrc" | "psrc" | "hwdst" | "pdst" => self.addrs.is_empty(),
            _ => true,
        }
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0..2].copy_from_slice(&self.hwtype.to_be_bytes());
        hdr[2..4].copy_from_slice(&self.ptype.to_be_bytes());
        hdr[4] = self.hwlen.unwrap_or(6);
        hdr[5] = self.plen.unwrap_or(4);
        hdr[6..8].copy_from_slice(&self.op.to_be_bytes());
        if !self.addrs.is_empty() {
            hdr[8..].copy_from_slice(&self.addrs);
            return;
        }
        hdr[8..14].copy_from_slice(&self.hwsrc.unwrap_or(Mac::ZERO).0);
        hdr[14..18].copy_from_slice(&self.psrc.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
        hdr[18..24].copy_from_slice(&self.hwdst.0);
        hdr[24..28].copy_from_slice(&self.pdst.octets());
    }

    /// The addresses are `hwlen`/`plen` bytes each, as scapy reads them: 6/4 into the
    /// typed fields, other sizes into `addrs`.
    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let fixed = data.get(..8).ok_or(Truncated)?;
        let (hwlen, plen) = (fixed[4], fixed[5]);
        if (hwlen, plen) != (6, 4) {
            let len = 8 + 2 * (hwlen as usize + plen as usize);
            let h = data.get(..len).ok_or(Truncated)?;
            let arp = Arp {
                hwtype: u16::from_be_bytes([h[0], h[1]]),
                ptype: u16::from_be_bytes([h[2], h[3]]),
                hwlen: Some(hwlen),
                plen: Some(plen),
                op: u16::from_be_bytes([h[6], h[7]]),
                addrs: h[8..].to_vec(),
                ..Arp::new()
            };
            return Ok(Decoded { layer: arp, hlen: len, total_len: Some(len), next: Next::Raw });
        }
        let h = data.get(..28).ok_or(Truncated)?;
        let arp = Arp {
            hwtype: u16::from_be_bytes([h[0], h[1]]),
            ptype: u16::from_be_bytes([h[2], h[3]]),
            hwlen: Some(h[4]),
            plen: Some(h[5]),
            op: u16::from_be_bytes([h[6], h[7]]),
            hwsrc: Some(Mac(h[8..14].try_into().unwrap())),
            psrc: Some(Ipv4Addr::new(h[14], h[15], h[16], h[17])),
            hwdst: Mac(h[18..24].try_into().unwrap()),
            pdst: Ipv4Addr::new(h[24], h[25], h[26], h[27]),
            addrs: Vec::new(),
        };
        // Bytes after the 28 of the message are frame padding.
        Ok(Decoded { layer: arp, hlen: 28, total_len: Some(28), next: Next::Raw })
    }

    fn summary(&self) -> String {
        if let Some([_, psrc, _, pdst]) = self.other_addrs() {
            let (psrc, pdst) = (crate::hex::encode(psrc), crate::hex::encode(pdst));
            return format!("ARP op {} {psrc} > {pdst} (hwlen {}, plen {})", self.op, self.hwlen.unwrap_or(6), self.plen.unwrap_or(4));
        }
        let psrc = self.psrc.unwrap_or(Ipv4Addr::UNSPECIFIED);
        match self.op {
            1 => format!("ARP who has {} says {}", self.pdst, psrc),
            2 => format!("ARP is at {} says {}", self.hwsrc.unwrap_or(Mac::ZERO), psrc),
            op => format!("ARP op {op} {} > {}", psrc, self.pdst),
        }
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        let (hwlen, plen) = (self.hwlen.unwrap_or(6), self.plen.unwrap_or(4));
        if (hwlen, plen) != (6, 4) {
            out.push(format!("ARP hwlen/plen are {hwlen}/{plen}, not 6/4: addresses are not Ethernet/IPv4"));
        }
        let want = 2 * (hwlen as usize + plen as usize);
        if !self.addrs.is_empty() && self.addrs.len() != want {
            out.push(format!(
                "ARP addrs is {} bytes where hwlen/plen {hwlen}/{plen} announce {want}",
                self.addrs.len()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::ether::Ether;
    use crate::packet::{Layer, LayerKind, Packet};

    #[test]
    fn who_has_round_trip() {
        let p = Ether::new().src("02:00:00:00:00:01") / Arp::new().hwsrc("02:00:00:00:00:01").psrc("10.0.0.1").pdst("10.0.0.2");
        let b = p.build();
        assert_eq!(&b[12..14], [0x08, 0x06]);
        assert_eq!(&b[14..22], [0, 1, 8, 0, 6, 4, 0, 1]);
        let d = Packet::dissect(&b, LayerKind::Ether);
        assert_eq!(d.build(), b);
        assert_eq!(d.layers[1].summary(), "ARP who has 10.0.0.2 says 10.0.0.1");
    }

    #[test]
    fn other_address_sizes_are_read_by_hwlen_and_plen() {
        // The etherparse oracle's reproducer: hwlen 6, plen 1. scapy 2.8 shows hwsrc
        // a8:05:5b:5a:df:fc, psrc b'\x83', hwdst 80:f3:11:3d:18:17, pdst b'8', then Padding b'?'.
        let frame = crate::hex::unhex("7219684b092b323331e150b908060001080006010002a8055b5adffc8380f3113d1817383f");
        let p = Packet::dissect(&frame, LayerKind::Ether);
        let kinds: Vec<LayerKind> = p.layers.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, [LayerKind::Ether, LayerKind::Arp, LayerKind::Padding]);
        let Layer::Arp(a) = &p.layers[1] else { unreachable!() };
        assert_eq!((a.hwlen, a.plen, a.op), (Some(6), Some(1), 2));
        let [hwsrc, psrc, hwdst, pdst] = a.other_addrs().unwrap();
        assert_eq!(hwsrc, [0xa8, 0x05, 0x5b, 0x5a, 0xdf, 0xfc]);
        assert_eq!((psrc, pdst), (&[0x83][..], &[0x38][..]));
        assert_eq!(hwdst, [0x80, 0xf3, 0x11, 0x3d, 0x18, 0x17]);
        assert_eq!(p.build(), frame);
        assert!(p.layers[1].present("addrs") && !p.layers[1].present("psrc"));
        let mut out = Vec::new();
        a.check(&[], &DissectCx::default(), &mut out);
        assert_eq!(out, ["ARP hwlen/plen are 6/1, not 6/4: addresses are not Ethernet/IPv4"]);
        assert_eq!(a.clone().addrs(vec![1, 2]).header_len(), 10);

        // hwlen 0, plen 4 (16 bytes), and cut short inside the addresses.
        let short = crate::hex::unhex("000108000004000a0a0000010a000002");
        let d = Arp::dissect(&short, &DissectCx::default()).unwrap();
        assert_eq!((d.hlen, d.layer.addrs.len()), (16, 8));
        assert_eq!(d.layer.summary(), "ARP op 10 0a000001 > 0a000002 (hwlen 0, plen 4)");
        assert!(Arp::dissect(&short[..15], &DissectCx::default()).is_err());
        // Ethernet/IPv4 stays typed and does not show addrs.
        let d = Arp::dissect(&Packet::from(Layer::from(Arp::new())).build(), &DissectCx::default()).unwrap();
        assert!(d.layer.addrs.is_empty() && !Layer::from(d.layer).present("addrs"));
    }

    #[test]
    fn no_panics_on_any_bytes() {
        crate::layers::testing::random_bytes(0x9e37_79b9_7f4a_7c15, 3000, 60, |_, mut bytes| {
            if bytes.len() > 5 {
                bytes[4] %= 8;
                bytes[5] %= 8;
            }
            let p = crate::layers::testing::dissect_any(&bytes, LayerKind::Arp, &[LayerKind::Arp, LayerKind::Padding]);
            assert_eq!(p.build(), bytes, "{bytes:02x?}");
        });
    }
}
