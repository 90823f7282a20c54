//! IPv6 extension headers. STUB: being written.

use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

macro_rules! stub {
    ($S:ident, $name:literal) => {
        layer! {
            /// Stub.
            $S: $name, $name {
                /// Next header.
                nh: Option<u8> = None,
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
stub!(HopByHop, "IPv6ExtHdrHopByHop");
stub!(DestOpt, "IPv6ExtHdrDestOpt");
stub!(Routing, "IPv6ExtHdrRouting");
stub!(Fragment, "IPv6ExtHdrFragment");
