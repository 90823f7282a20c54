//! UDP (scapy `UDP`).

use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Proto, Span, Truncated, WriteCx};
use crate::layer;
use crate::packet::Layer;

/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

layer! {
    /// UDP header: 8 bytes.
    Udp: "UDP", "UDP" {
        /// Source port.
        sport: u16 = 53,
        /// Destination port. Auto: the port bound to the next layer (6080 for GUE), else 53
        /// (scapy's default).
        dport: Option<u16> = None,
        /// Length of header and payload. Auto: computed; 0 over 65535 bytes (RFC 2675 jumbograms).
        len: Option<u16> = None,
        /// Checksum over the IP pseudo-header. Auto: computed, 0 sent as 0xffff; 0 when no
        /// IP layer encloses it (as scapy).
        chksum: Option<u16> [fmt(Fmt::Hex)] = None,
    }
}

impl Udp {
    /// The destination port as built.
    pub fn dport_for(&self, next: Option<&Layer>) -> u16 {
        self.dport.unwrap_or_else(|| next.and_then(|n| n.kind().udp_dport()).unwrap_or(53))
    }
}

impl Proto for Udp {
    const BINDS: &'static [crate::bind::Bind] = &[crate::bind::Bind::ip_proto(PROTO_UDP).named("udp")];
    const USES_PSEUDO: bool = true;
    const USES_PAYLOAD_SUM: bool = true;
    const WRITES_ALL: bool = true;

    #[inline]
    fn header_len(&self) -> usize {
        8
    }

    #[inline(always)]
    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        self.write_summed(hdr, cx);
    }

    // Inlined into the per-layer build step (`packet::build_layer`).
    #[inline(always)]
    fn write_summed(&self, hdr: &mut [u8], cx: &WriteCx) -> Option<u64> {
        let h: &mut [u8; 8] = hdr.try_into().expect("header_len is 8");
        let dport = self.dport_for(cx.next);
        // Over 65535 bytes (an IPv6 jumbogram) the length is 0, as RFC 2675 says.
        let len = self.len.unwrap_or(if cx.payload_len > 0xffff - 8 { 0 } else { (8 + cx.payload_len) as u16 });
        // The header as one big-endian word (checksum field zero), stored whole and summed
        // whole, as TCP's: the checksum comes from the values held.
        let w = (self.sport as u64) << 48 | (dport as u64) << 32 | (len as u64) << 16;
        let ck = match (self.chksum, cx.pseudo) {
            (Some(ck), _) => ck,
            (None, None) => 0,
            (None, Some(p)) => {
                let pseudo = p.sum(PROTO_UDP, 8 + cx.payload_len) as u64;
                // 0 means "no checksum": a computed 0 is sent as 0xffff.
                match checksum::fold(checksum::word64(w) + cx.payload_sum + pseudo) {
                    0 => 0xffff,
                    ck => ck,
                }
            }
        };
        h.copy_from_slice(&(w | ck as u64).to_be_bytes());
        Some(checksum::word64(w) + ck as u64)
    }

    #[inline]
    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut udp = Udp::default();
        Ok(udp.dissect_in_place(data, cx)?.with(udp))
    }

    // Inlined into the dissect step (`packet::dissect_layer`): the fields are stored in
    // place, with no `Decoded<Udp>` moved in, and the span comes back in registers. No
    // call but the (rare) port-binding lookup, so no quick path is needed apart.
    #[inline(always)]
    fn dissect_in_place(&mut self, data: &[u8], cx: &DissectCx) -> Result<Span, Truncated> {
        let Some(h) = data.first_chunk::<8>() else { return Err(Truncated) };
        let w = u64::from_be_bytes(*h);
        let (sport, dport, len, ck) = ((w >> 48) as u16, (w >> 32) as u16, (w >> 16) as u16, w as u16);
        self.sport = sport;
        self.dport = Some(dport);
        self.len = Some(len);
        self.chksum = Some(ck);
        Ok(Span { hlen: 8, total_len: Some(len as usize), next: cx.udp_next(sport, dport) })
    }

    fn summary(&self) -> String {
        format!("UDP {} > {}", self.sport, self.dport.unwrap_or(53))
    }

    fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        // Length 0 over 65535 bytes is a jumbogram's UDP (RFC 2675).
        if let Some(len) = self.len.filter(|&l| l < 8 && !(l == 0 && seg.len() > 0xffff)) {
            out.push(format!("UDP len {len} is below the 8-byte header"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::ip::Ip;
    use crate::packet::Packet;

    #[test]
    fn checksum_verifies_with_pseudo_header() {
        let p = Ip::new().src("10.0.0.1").dst("10.0.0.2") / Udp::new().sport(1000).dport(2000) / &b"hello"[..];
        let b = p.build();
        assert_eq!(&b[24..26], [0, 13]);
        // Sum over pseudo-header + segment must fold to zero.
        let seg = &b[20..];
        let pseudo = checksum::partial(&b[12..20]) + 17 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0);
    }

    #[test]
    fn no_ip_leaves_checksum_zero() {
        let b = Packet::from(Layer::from(Udp::new())).build();
        assert_eq!(b, [0, 53, 0, 53, 0, 8, 0, 0]);
    }
}
