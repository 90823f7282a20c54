//! ARP for IPv4 over Ethernet (scapy `ARP`).

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
    }
}

impl Proto for Arp {
    const BINDS: &'static [crate::bind::Bind] = &[crate::bind::Bind::ether_type(0x0806).named("ARP")];

    fn header_len(&self) -> usize {
        28
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0..2].copy_from_slice(&self.hwtype.to_be_bytes());
        hdr[2..4].copy_from_slice(&self.ptype.to_be_bytes());
        hdr[4] = self.hwlen.unwrap_or(6);
        hdr[5] = self.plen.unwrap_or(4);
        hdr[6..8].copy_from_slice(&self.op.to_be_bytes());
        hdr[8..14].copy_from_slice(&self.hwsrc.unwrap_or(Mac::ZERO).0);
        hdr[14..18].copy_from_slice(&self.psrc.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
        hdr[18..24].copy_from_slice(&self.hwdst.0);
        hdr[24..28].copy_from_slice(&self.pdst.octets());
    }

    /// Only the Ethernet/IPv4 form is decoded; other address lengths end in Raw.
    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
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
        };
        // Bytes after the 28 of the message are frame padding.
        Ok(Decoded { layer: arp, hlen: 28, total_len: Some(28), next: Next::Raw })
    }

    fn summary(&self) -> String {
        let psrc = self.psrc.unwrap_or(Ipv4Addr::UNSPECIFIED);
        match self.op {
            1 => format!("ARP who has {} says {}", self.pdst, psrc),
            2 => format!("ARP is at {} says {}", self.hwsrc.unwrap_or(Mac::ZERO), psrc),
            op => format!("ARP op {op} {} > {}", psrc, self.pdst),
        }
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if self.hwlen.is_some_and(|l| l != 6) || self.plen.is_some_and(|l| l != 4) {
            out.push("ARP hwlen/plen are not 6/4: addresses are not Ethernet/IPv4".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::ether::Ether;
    use crate::packet::{LayerKind, Packet};

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
}
