//! IPv6 (scapy `IPv6`).
//!
//! Payload length 0 (RFC 2675 jumbograms, Linux BIG TCP captures): with a Hop-by-Hop
//! Jumbo option right after the header, the payload is as long as the option says (from
//! the end of this header); without one, it runs to the end of the bytes, as tshark and
//! tcpdump read it. An auto `plen` is 0 when the payload is over 65535 bytes. scapy differs:
//! it cannot build such a packet (struct.error on plen), reads the Jumbo option in host byte
//! order, and puts a payload behind plen 0 without a Jumbo option into Padding.

use std::net::Ipv6Addr;

use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Proto, Pseudo, Truncated, WriteCx};
use crate::layer;
use crate::bind::Bind;
use crate::layers::ip::{auto_proto, IP_PROTOS};

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
        /// Payload length. Auto: everything after this header; 0 when that is over 65535
        /// bytes (a jumbogram, RFC 2675, or a BIG TCP segment).
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

/// The Jumbo payload length and the Hop-by-Hop header's length, when `after` (the bytes
/// after an IPv6 header whose next header is `nh`) starts with a Hop-by-Hop header
/// carrying a Jumbo option.
pub fn jumbo(nh: u8, after: &[u8]) -> Option<(u32, usize)> {
    if nh != crate::layers::ipv6ext::PROTO_HOP_BY_HOP {
        return None;
    }
    let hbh_len = 8 * (*after.get(1)? as usize + 1);
    let options = after.get(2..hbh_len)?;
    Some((crate::layers::ipv6ext::opt::jumbo_of(options)?, hbh_len))
}

/// Header + payload length of an IPv6 packet whose plen is 0: 40 + the Jumbo option's
/// length when there is one that covers at least its own header; otherwise None, the
/// payload running to the end of the bytes.
#[cold]
fn zero_plen_total(nh: u8, after: &[u8]) -> Option<usize> {
    let (len, hbh_len) = jumbo(nh, after)?;
    (len as usize >= hbh_len).then(|| 40 + len as usize)
}

impl Ipv6 {
    /// What `craft check` says about plen 0 (a jumbogram, or a BIG TCP/GSO capture) or a
    /// Jumbo option with a nonzero plen; `seg` is this header and the bytes after it.
    fn plen_problem(&self, seg: &[u8]) -> Option<String> {
        let plen = self.plen?;
        let after = seg.get(40..)?;
        let jumbo = jumbo(self.nh?, after);
        if plen != 0 {
            let (len, _) = jumbo?;
            return Some(format!(
                "IPv6 plen is {plen} but a Hop-by-Hop Jumbo option ({len} bytes) follows: RFC 2675 wants plen 0 with it \
                 (receivers send a parameter problem)"
            ));
        }
        if after.is_empty() {
            return None;
        }
        let present = after.len();
        Some(match jumbo {
            None => format!(
                "IPv6 plen is 0 and no Hop-by-Hop Jumbo option follows: the payload is taken to run to the end of \
                 the bytes ({present}), as in a Linux BIG TCP (GSO) capture; on the wire receivers drop it"
            ),
            Some((len, _)) => {
                let mut s = format!("IPv6 plen is 0: a jumbogram (RFC 2675) of {len} bytes by its Hop-by-Hop Jumbo option");
                if len <= 0xffff {
                    s.push_str(", but a jumbogram must be over 65535 (receivers send a parameter problem)");
                } else {
                    s.push_str(", which only links with an MTU over 65575 carry");
                }
                if len as usize != present {
                    s.push_str(&format!("; {present} bytes follow the IPv6 header"));
                }
                s
            }
        })
    }

    /// The source address as built.
    pub fn src_or_default(&self) -> Ipv6Addr {
        self.src.unwrap_or(if self.dst.is_loopback() { Ipv6Addr::LOCALHOST } else { Ipv6Addr::UNSPECIFIED })
    }
}

impl Proto for Ipv6 {
    const BINDS: &'static [Bind] = &[
        Bind::ether_type(0x86dd).named("IPv6"),
        Bind::ip_proto(41).named("ipv6"),
        // AF_INET6 is 24 on NetBSD/OpenBSD (what craft writes), 28 FreeBSD, 30 macOS.
        Bind::loopback_af(crate::layers::loopback::AF_INET6_BSD).named("IPv6"),
        Bind::loopback_af(28).named("IPv6").dissect_only(),
        Bind::loopback_af(30).named("IPv6").dissect_only(),
    ];

    fn header_len(&self) -> usize {
        40
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        let word = ((self.version as u32 & 0xf) << 28) | ((self.tc as u32) << 20) | (self.fl & 0xfffff);
        hdr[0..4].copy_from_slice(&word.to_be_bytes());
        let plen = self.plen.unwrap_or(if cx.payload_len > 0xffff { 0 } else { cx.payload_len as u16 });
        hdr[4..6].copy_from_slice(&plen.to_be_bytes());
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
        if word >> 28 != 6 {
            return Err(Truncated);
        }
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
        let total_len = if plen == 0 { zero_plen_total(h[6], &data[40..]) } else { Some(40 + plen as usize) };
        Ok(Decoded { layer: ip, hlen: 40, total_len, next: crate::bind::ip_next(h[6]) })
    }

    fn summary(&self) -> String {
        format!("IPv6 {} > {}", self.src_or_default(), self.dst)
    }

    /// Bytes whose version nibble is not 6.
    fn malformed(data: &[u8]) -> Option<String> {
        let version = data.first()? >> 4;
        let what = if version == 4 { ": an IPv4 header" } else { "" };
        (version != 6).then(|| format!("IPv6 version is {version}, not 6{what}"))
    }

    fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if let Some(why) = self.plen_problem(seg) {
            out.push(why);
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
    fn plen_0_runs_to_the_end_or_the_jumbo_length() {
        use crate::layers::ipv6ext::{opt, HopByHop};
        use crate::packet::Layer;
        let ip = || Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
        // BIG TCP: no Jumbo option, the payload is every byte after the header.
        let b = (ip().plen(0) / Udp::new() / &b"abcd"[..]).build();
        let p = Packet::dissect(&b, LayerKind::Ipv6);
        assert_eq!(p.layers.iter().map(Layer::kind).collect::<Vec<_>>(), [LayerKind::Ipv6, LayerKind::Udp, LayerKind::Raw]);
        // A Jumbo option bounds the payload: 16 bytes are the HopByHop and UDP headers.
        let b = (ip().plen(0) / HopByHop::new().options(opt::jumbo(16)) / Udp::new() / &b"abcd"[..]).build();
        let p = Packet::dissect(&b, LayerKind::Ipv6);
        assert!(matches!(p.layers.last(), Some(Layer::Padding(pad)) if pad.load == b"abcd"), "{p:?}");
        // One shorter than its own header is ignored: to the end.
        let b = (ip().plen(0) / HopByHop::new().options(opt::jumbo(7)) / Udp::new() / &b"abcd"[..]).build();
        assert!(matches!(Packet::dissect(&b, LayerKind::Ipv6).layers.last(), Some(Layer::Raw(_))));
        assert_eq!(jumbo(0, &b[40..]), Some((7, 8)));
        assert_eq!(jumbo(17, &b[40..]), None);
        assert_eq!(jumbo(0, &b[40..45]), None);
    }

    #[test]
    fn jumbograms_build_with_plen_0_and_their_length() {
        use crate::layers::ipv6ext::{opt, HopByHop};
        let ip = Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
        let b = (ip / HopByHop::new().options(opt::jumbo(0)) / Udp::new() / vec![7u8; 70_000]).build();
        assert_eq!(&b[4..6], [0, 0]);
        assert_eq!(&b[44..48], 70_016u32.to_be_bytes());
        assert_eq!(&b[52..54], [0, 0], "UDP len 0 (RFC 2675)");
        let seg = &b[48..];
        let pseudo = checksum::partial(&b[8..40]) + 17 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0, "UDP checksum over the 32-bit length");
        assert_eq!(Packet::dissect(&b, LayerKind::Ipv6).build(), b);
        // Below 65536 bytes the Jumbo length stays as given, plen is set: as scapy.
        let small = (Ipv6::new() / HopByHop::new().options(opt::jumbo(0)) / Udp::new()).build();
        assert_eq!((&small[4..6], &small[44..48]), (&[0, 16][..], &[0, 0, 0, 0][..]));
    }

    #[test]
    fn a_version_that_is_not_6_ends_in_marked_raw() {
        let mut b = (Ipv6::new() / Udp::new()).build();
        b[0] = 0x45;
        let p = Packet::dissect(&b, LayerKind::Ipv6);
        assert!(matches!(&p.layers[..], [crate::packet::Layer::Raw(r)] if r.malformed == Some("IPv6")), "{p:?}");
        assert_eq!(LayerKind::Ipv6.malformed(&b).as_deref(), Some("IPv6 version is 4, not 6: an IPv4 header"));
        assert_eq!(p.build(), b);
    }

    #[test]
    fn nothing_after_is_nh_59() {
        let b = Packet::from(crate::packet::Layer::from(Ipv6::new())).build();
        assert_eq!(b[6], 59);
        assert_eq!(&b[8..24], Ipv6Addr::LOCALHOST.octets());
    }
}
