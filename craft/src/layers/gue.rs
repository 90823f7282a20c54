//! GUE, Generic UDP Encapsulation (draft-ietf-intarea-gue). scapy has no GUE layer.
//!
//! Variant 0 is a 4-byte header (ver, C, hlen, proto/ctype, flags) followed by `hlen`
//! 32-bit words of extension fields and private data. Variant 1 has no header at all: the
//! UDP payload is an IPv4 or IPv6 packet, recognised by its first nibble; `GUE(ver=1)`
//! stands for it in a packet and builds to zero bytes.

use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Span, Truncated, WriteCx};
use crate::layer;
use crate::bind::Bind;
use crate::layers::ip::{auto_proto, IP_PROTOS};
use crate::packet::LayerKind;

/// The UDP port that announces GUE unless configured otherwise.
pub const GUE_PORT: u16 = 6080;

layer! {
    /// GUE header (variant 0), or the headerless variant 1.
    Gue: "GUE", "GUE" {
        /// Variant: 0 (header), 1 (IP directly in UDP: no header bytes at all).
        ver: u8 [bits(2)] = 0,
        /// Control bit: 1 means `proto` is a control type and the payload is a control message.
        c: u8 [bits(1)] = 0,
        /// Length of extension fields and private data in 32-bit words. Auto: from `data`.
        hlen: Option<u8> [bits(5)] = None,
        /// Protocol of the payload (IP numbers) or control type. Auto: from the next layer.
        proto: Option<u8> [fmt(Fmt::Enum(IP_PROTOS))] = None,
        /// Flags.
        flags: u16 [fmt(Fmt::Hex)] = 0,
        /// Extension fields and private data, written as given.
        data: Vec<u8> = Vec::new(),
    }
}

impl Gue {
    fn headerless(&self) -> bool {
        self.ver == 1
    }
}

/// `data` holds `bytes`, reusing its allocation. Out of line: the common header has none.
#[cold]
#[inline(never)]
fn set_data(data: &mut Vec<u8>, bytes: &[u8]) {
    data.clear();
    data.extend_from_slice(bytes);
}

impl Proto for Gue {
    const BINDS: &'static [Bind] = &[Bind::udp_dport(GUE_PORT)];
    const WRITES_ALL: bool = true;

    #[inline]
    fn header_len(&self) -> usize {
        if self.headerless() {
            0
        } else {
            4 + self.data.len()
        }
    }

    // Inlined into the per-layer build step (`packet::build_layer`). Every byte of `hdr`
    // is written (the fixed 4 and `data`), so it is not zeroed first.
    #[inline(always)]
    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        self.write_summed(hdr, cx);
    }

    #[inline(always)]
    fn write_summed(&self, hdr: &mut [u8], cx: &WriteCx) -> Option<u64> {
        if self.headerless() {
            return Some(0);
        }
        let hlen = self.hlen.unwrap_or((self.data.len() / 4) as u8);
        let (fixed, data) = hdr.split_at_mut(4);
        let first = (self.ver << 6) | ((self.c & 1) << 5) | (hlen & 0x1f);
        let word = u32::from_be_bytes([first, auto_proto(self.proto, cx, 0), 0, 0]) | self.flags as u32;
        fixed.copy_from_slice(&word.to_be_bytes());
        if data.is_empty() {
            return Some(checksum::word32(word));
        }
        data.copy_from_slice(&self.data);
        Some(checksum::word32(word) + if cx.sum_wanted { checksum::partial(&self.data) } else { 0 })
    }

    #[inline]
    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut gue = Gue::default();
        Ok(gue.dissect_in_place(data, cx)?.with(gue))
    }

    // In place (the data Vec reused, no `Decoded<Gue>` moved in), inlined into the dissect
    // step; the data copy is a call made only when either side has some.
    #[inline(always)]
    fn dissect_in_place(&mut self, data: &[u8], _cx: &DissectCx) -> Result<Span, Truncated> {
        let first = *data.first().ok_or(Truncated)?;
        if first >> 6 == 1 {
            let next = match first >> 4 {
                4 => Next::Layer(LayerKind::Ip),
                6 => Next::Layer(LayerKind::Ipv6),
                _ => Next::Raw,
            };
            *self = Gue { ver: 1, hlen: Some(0), proto: Some(0), data: std::mem::take(&mut self.data), ..Gue::default() };
            self.data.clear();
            return Ok(Span { hlen: 0, total_len: None, next });
        }
        let h = data.first_chunk::<4>().ok_or(Truncated)?;
        let hlen = h[0] & 0x1f;
        let end = 4 + 4 * hlen as usize;
        let ext = data.get(4..end).ok_or(Truncated)?;
        self.ver = first >> 6;
        self.c = (first >> 5) & 1;
        self.hlen = Some(hlen);
        self.proto = Some(h[1]);
        self.flags = u16::from_be_bytes([h[2], h[3]]);
        if !ext.is_empty() || !self.data.is_empty() {
            set_data(&mut self.data, ext);
        }
        let next = if self.ver == 0 && self.c == 0 { crate::bind::ip_next(h[1]) } else { Next::Raw };
        Ok(Span { hlen: end, total_len: None, next })
    }

    fn summary(&self) -> String {
        if self.headerless() {
            "GUE v1".into()
        } else {
            format!("GUE proto {}", self.proto.unwrap_or(0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{ip::Ip, tcp::Tcp, udp::Udp};
    use crate::packet::{Layer, Packet};

    fn inner() -> Packet {
        Ip::new().src("10.0.0.1").dst("10.0.0.2") / Tcp::new()
    }

    #[test]
    fn udp_dport_6080_and_proto_auto() {
        let p = Ip::new().src("1.1.1.1").dst("2.2.2.2") / Udp::new() / Gue::new() / inner();
        let b = p.build();
        assert_eq!(&b[22..24], 6080u16.to_be_bytes());
        assert_eq!(&b[28..32], [0, 4, 0, 0]);
        let d = Packet::dissect(&b, LayerKind::Ip);
        let kinds: Vec<_> = d.layers.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, [LayerKind::Ip, LayerKind::Udp, LayerKind::Gue, LayerKind::Ip, LayerKind::Tcp]);
        assert_eq!(d.build(), b);
    }

    #[test]
    fn variant1_is_headerless() {
        let p = Ip::new().src("1.1.1.1").dst("2.2.2.2") / Udp::new() / Gue::new().ver(1) / inner();
        let b = p.build();
        assert_eq!(b.len(), 20 + 8 + 40);
        let d = Packet::dissect(&b, LayerKind::Ip);
        assert!(matches!(&d.layers[2], Layer::Gue(g) if g.ver == 1));
        assert_eq!(d.build(), b);
    }

    #[test]
    fn hlen_past_payload_is_truncated() {
        let b = [0x1f, 4, 0, 0, 1, 2];
        let d = Packet::dissect_with(&b, LayerKind::Gue, &DissectCx::default());
        assert!(matches!(&d.layers[0], Layer::Raw(r) if r.truncated == Some("GUE")));
    }
}
