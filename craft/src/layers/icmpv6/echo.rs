//! Echo request and reply.

use super::{be16, head, write_head, ICMPV6_TYPES};
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

layer! {
    /// ICMPv6 echo request: 8 bytes and the data.
    Icmpv6EchoRequest: "ICMPv6EchoRequest", "ICMPv6 Echo Request" {
        /// Message type: 128.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 128,
        /// Code: 0.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier, to match replies.
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number.
        seq: u16 [fmt(Fmt::Hex)] = 0,
        /// Data, echoed back in the reply.
        data: Vec<u8> = Vec::new(),
    }
}

layer! {
    /// ICMPv6 echo reply: 8 bytes and the data.
    Icmpv6EchoReply: "ICMPv6EchoReply", "ICMPv6 Echo Reply" {
        /// Message type: 129.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 129,
        /// Code: 0.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Identifier of the request answered.
        id: u16 [fmt(Fmt::Hex)] = 0,
        /// Sequence number of the request answered.
        seq: u16 [fmt(Fmt::Hex)] = 0,
        /// Data of the request.
        data: Vec<u8> = Vec::new(),
    }
}

/// Echo request and reply share their layout.
macro_rules! echo_proto {
    ($S:ident, $what:literal) => {
        impl Proto for $S {
            icmpv6_message!();

            fn header_len(&self) -> usize {
                8 + self.data.len()
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                hdr[4..6].copy_from_slice(&self.id.to_be_bytes());
                hdr[6..8].copy_from_slice(&self.seq.to_be_bytes());
                hdr[8..].copy_from_slice(&self.data);
            }

            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                let h = head(data, 8)?;
                let layer = $S {
                    r#type: h[0],
                    code: h[1],
                    cksum: Some(be16(h, 2)),
                    id: be16(h, 4),
                    seq: be16(h, 6),
                    data: data[8..].to_vec(),
                };
                Ok(Decoded { layer, hlen: data.len(), total_len: None, next: Next::Raw })
            }

            fn summary(&self) -> String {
                format!("ICMPv6 {} id {:#x} seq {}", $what, self.id, self.seq)
            }
        }
    };
}
echo_proto!(Icmpv6EchoRequest, "echo-request");
echo_proto!(Icmpv6EchoReply, "echo-reply");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::icmpv6::test_util::{after_ipv6, hex, ipv6};

    #[test]
    fn echo_matches_scapy() {
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().id(1).seq(2).data(b"abcdefgh"));
        assert_eq!(b, hex("800092a7000100026162636465666768"));
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().id(1).seq(2).data(b"abc"));
        assert_eq!(b, hex("80005fdf00010002616263"));
        let b = after_ipv6(ipv6() / Icmpv6EchoReply::new().id(7).seq(8).data(b"pong"));
        assert_eq!(b, hex("8100445e00070008706f6e67"));
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().code(3));
        assert_eq!(b, hex("8003244500000000"));
    }

    #[test]
    fn forced_checksum_is_verbatim_even_zero() {
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().cksum(0).id(1));
        assert_eq!(b, hex("8000000000010000"));
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().cksum(0x1234).id(1));
        assert_eq!(b, hex("8000123400010000"));
    }

    #[test]
    fn computed_zero_checksum_stays_zero() {
        // Pick id so the message sums to 0xffff with the pseudo-header: checksum 0.
        let base = after_ipv6(ipv6() / Icmpv6EchoRequest::new());
        let ck = u16::from_be_bytes([base[2], base[3]]);
        let b = after_ipv6(ipv6() / Icmpv6EchoRequest::new().id(ck));
        assert_eq!(&b[2..4], [0, 0]);
    }
}
