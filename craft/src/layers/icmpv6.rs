//! ICMPv6. STUB: being written.

use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;
use crate::packet::LayerKind;

/// How IPv6 dissects next header 58.
pub const NEXT: Next = Next::Layer(LayerKind::Icmpv6Unknown);

macro_rules! stub {
    ($S:ident, $name:literal) => {
        layer! {
            /// Stub.
            $S: $name, $name {
                /// Type.
                r#type("type"): u8 = 0,
            }
        }
        impl Proto for $S {
            fn header_len(&self) -> usize { 0 }
            fn write(&self, _hdr: &mut [u8], _cx: &WriteCx) {}
            fn dissect(_data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                Ok(Decoded { layer: Self::default(), hlen: 0, total_len: None, next: Next::Raw })
            }
        }
    };
}
stub!(Icmpv6EchoRequest, "ICMPv6EchoRequest");
stub!(Icmpv6EchoReply, "ICMPv6EchoReply");
stub!(Icmpv6DestUnreach, "ICMPv6DestUnreach");
stub!(Icmpv6PacketTooBig, "ICMPv6PacketTooBig");
stub!(Icmpv6TimeExceeded, "ICMPv6TimeExceeded");
stub!(Icmpv6ParamProblem, "ICMPv6ParamProblem");
stub!(Icmpv6NdNs, "ICMPv6ND_NS");
stub!(Icmpv6NdNa, "ICMPv6ND_NA");
stub!(Icmpv6NdOptSrcLladdr, "ICMPv6NDOptSrcLLAddr");
stub!(Icmpv6NdOptDstLladdr, "ICMPv6NDOptDstLLAddr");
stub!(Icmpv6Unknown, "ICMPv6Unknown");
