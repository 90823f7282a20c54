//! ICMP. STUB: being written.

use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

layer! {
    /// Stub.
    Icmp: "ICMP", "ICMP" {
        /// Type.
        r#type("type"): u8 = 8,
    }
}
impl Proto for Icmp {
    fn header_len(&self) -> usize { 0 }
    fn write(&self, _hdr: &mut [u8], _cx: &WriteCx) {}
    fn dissect(_data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        Ok(Decoded { layer: Self::default(), hlen: 0, total_len: None, next: Next::Raw })
    }
}
