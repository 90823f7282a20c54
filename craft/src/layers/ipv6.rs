//! IPv6 (scapy `IPv6`).

use std::net::Ipv6Addr;

use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Proto, Pseudo, Truncated, WriteCx};
use crate::layer;
use crate::layers::ip::{auto_proto, next_for_ip_proto, IP_PROTOS};

/// scapy's hop limit when nothing asks for another.
pub const DEFAULT_HOP_LIMIT: u8 = 64;

/// IPv6 "no next header": what scapy puts in nh when nothing follows.
pub const NO_NEXT_HEADER: u8 = 59;

layer! {
    /// IPv6 header: 40 bytes; extension headers are layers of their own.
    Ipv6: "IPv6", "IPv6" {
        /// Version; 6. Written verbatim when set.
        version: u8 [bits(4)] = 6,
        /// Traffic class.
        tc: u8 = 0,
        /// Flow label.
        fl: u32 [bits(20)] = 0,
        /// Payload length. Auto: everything after this header.
        plen: Option<u16> = None,
        /// Next header. Auto: announces the next layer, 59 (none) otherwise.
        nh: Option<u8> [fmt(Fmt::Enum(IP_PROTOS))] = None,
        /// Hop limit. Auto: 255 right before neighbor discovery (as scapy), else 64.
        hlim: Option<u8> = None,
        /// Source address. Auto: ::1 towards ::1, else :: offline; the live layer takes it
        /// from the route.
        src: Option<Ipv6Addr> = None,
        /// Destination address.
        dst: Ipv6Addr = Ipv6Addr::LOCALHOST,
    }
}

impl Ipv6 {
    /// The source address as built.
    pub fn src_or_default(&self) -> Ipv6Addr {
        self.src.unwrap_or(if self.dst.is_loopback() { Ipv6Addr::LOCALHOST } else { Ipv6Addr::UNSPECIFIED })
    }
}

impl Proto for Ipv6 {
    const ETHERTYPE: Option<u16> = Some(0x86dd);
    const IP_PROTO: Option<u8> = Some(41);

    fn header_len(&self) -> usize {
        40
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        let word = ((self.version as u32 & 0xf) << 28) | ((self.tc as u32) << 20) | (self.fl & 0xfffff);
        hdr[0..4].copy_from_slice(&word.to_be_bytes());
        hdr[4..6].copy_from_slice(&self.plen.unwrap_or(cx.payload_len as u16).to_be_bytes());
        hdr[6] = auto_proto(self.nh, cx, NO_NEXT_HEADER);
        hdr[7] = self.hlim.unwrap_or_else(|| {
            cx.next.and_then(|n| crate::layers::icmpv6::hop_limit_for(n.kind())).unwrap_or(DEFAULT_HOP_LIMIT)
        });
        hdr[8..24].copy_from_slice(&self.src_or_default().octets());
        hdr[24..40].copy_from_slice(&self.dst.octets());
    }

    fn pseudo(&self, _outer: Option<Pseudo>) -> Option<Pseudo> {
        Some(Pseudo {
            src_sum: checksum::addr_sum(&self.src_or_default().octets()),
            dst_sum: checksum::addr_sum(&self.dst.octets()),
            forced_len: None,
        })
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = data.get(..40).ok_or(Truncated)?;
        let word = u32::from_be_bytes(h[0..4].try_into().unwrap());
        let plen = u16::from_be_bytes([h[4], h[5]]);
        let ip = Ipv6 {
            version: (word >> 28) as u8,
            tc: (word >> 20) as u8,
            fl: word & 0xfffff,
            plen: Some(plen),
            nh: Some(h[6]),
            hlim: Some(h[7]),
            src: Some(<[u8; 16]>::try_from(&h[8..24]).unwrap().into()),
            dst: <[u8; 16]>::try_from(&h[24..40]).unwrap().into(),
        };
        Ok(Decoded { layer: ip, hlen: 40, total_len: Some(40 + plen as usize), next: next_for_ip_proto(h[6]) })
    }

    fn summary(&self) -> String {
        format!("IPv6 {} > {}", self.src_or_default(), self.dst)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if self.version != 6 {
            out.push(format!("IPv6 version is {}, not 6", self.version));
        }
        if self.src == Some(self.dst) {
            out.push(format!("IPv6 src == dst ({})", self.dst));
        }
        if self.hlim == Some(0) {
            out.push("IPv6 hlim is 0: the first router drops it".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::udp::Udp;
    use crate::packet::{LayerKind, Packet};

    #[test]
    fn udp_over_ipv6_checksum() {
        let p = Ipv6::new().src("2001:db8::1").dst("2001:db8::2") / Udp::new().sport(1) / &b"x"[..];
        let b = p.build();
        assert_eq!(&b[4..7], [0, 9, 17]);
        let seg = &b[40..];
        let pseudo = checksum::partial(&b[8..40]) + 17 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0);
        assert_eq!(Packet::dissect(&b, LayerKind::Ipv6).build(), b);
    }

    #[test]
    fn nothing_after_is_nh_59() {
        let b = Packet::from(crate::packet::Layer::from(Ipv6::new())).build();
        assert_eq!(b[6], 59);
        assert_eq!(&b[8..24], Ipv6Addr::LOCALHOST.octets());
    }
}
