//! `ICMPv6Unknown`, for every type without a layer of its own.

use super::{be16, head, write_head, ICMPV6_TYPES};
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

layer! {
    /// Any other ICMPv6 message: type, code, checksum and the body as bytes.
    Icmpv6Unknown: "ICMPv6Unknown", "Scapy6 ICMPv6 fallback class" {
        /// Message type.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 1,
        /// Code.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// The rest of the message.
        msgbody: Vec<u8> = Vec::new(),
    }
}

impl Proto for Icmpv6Unknown {
    icmpv6_message!();

    fn header_len(&self) -> usize {
        4 + self.msgbody.len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..].copy_from_slice(&self.msgbody);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 4)?;
        let layer = Icmpv6Unknown { r#type: h[0], code: h[1], cksum: Some(be16(h, 2)), msgbody: data[4..].to_vec() };
        Ok(Decoded { layer, hlen: data.len(), total_len: None, next: Next::Raw })
    }

    fn summary(&self) -> String {
        match ICMPV6_TYPES.iter().find(|(t, _)| *t == self.r#type as u64) {
            Some((_, name)) => format!("ICMPv6 {name} (type {}) code {}", self.r#type, self.code),
            None => format!("ICMPv6 type {} code {}", self.r#type, self.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::icmpv6::test_util::{hex, ipv6};
    use crate::packet::{Layer, LayerKind, Packet};

    #[test]
    fn unknown_types_keep_their_body() {
        let private = Icmpv6Unknown::new().r#type(200).msgbody(hex("00000000"));
        let b = (ipv6() / private).build();
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        let Layer::Icmpv6Unknown(u) = &d.layers[1] else { panic!("{d:?}") };
        assert_eq!((u.r#type, &u.msgbody[..]), (200, &[0u8; 4][..]));
        assert_eq!(d.layers[1].summary(), "ICMPv6 Private Experimentation (type 200) code 0");
        // RFC 8335 extended echo has craft's own layer (ext_echo.rs), though not scapy's.
        let probe = (ipv6() / Icmpv6Unknown::new().r#type(160).msgbody(hex("00010100"))).build();
        assert_eq!(Packet::dissect(&probe, LayerKind::Ipv6).layers[1].kind(), LayerKind::Icmpv6ExtEchoRequest);
        assert_eq!(d.build(), b);
    }
}
