//! Raw payload bytes and Padding (bytes past a length field).

use crate::checksum;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

layer! {
    /// Payload bytes that no layer decodes.
    Raw: "Raw", "Raw" {
        /// The bytes.
        load: Vec<u8> = Vec::new(),
    }
    metadata {
        /// Set by the dissector when these bytes are a header cut short: the layer's name.
        truncated,
        /// Set by the dissector when these bytes were announced as a layer they cannot be
        /// (an IPv4 ihl below 5, an IP version that contradicts the EtherType): the layer's
        /// name. As tshark, the bytes are not decoded; `craft check` names the cause
        /// ([`crate::packet::LayerKind::malformed`]).
        malformed,
    }
}

layer! {
    /// Bytes past the end that a length field announces (IP len, UDP len).
    Padding: "Padding", "Padding" {
        /// The bytes.
        load: Vec<u8> = Vec::new(),
    }
}

impl Raw {
    /// The rest of a packet whose `layer` header did not fit.
    pub fn truncated(load: &[u8], layer: &'static str) -> Raw {
        Raw { load: load.to_vec(), truncated: Some(layer), malformed: None }
    }

    /// The rest of a packet announced as `layer` that cannot be one (see `malformed`).
    pub fn malformed(load: &[u8], layer: &'static str) -> Raw {
        Raw { load: load.to_vec(), truncated: None, malformed: Some(layer) }
    }
}

macro_rules! bytes_proto {
    ($t:ty) => {
        impl Proto for $t {
            const WRITES_ALL: bool = true;
            #[inline]
            fn header_len(&self) -> usize {
                self.load.len()
            }
            #[inline(always)]
            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                hdr.copy_from_slice(&self.load);
            }
            /// Summed as it is copied (UDP, TCP or ICMP over Raw): the checksum reads
            /// nothing back.
            #[inline(always)]
            fn write_summed(&self, hdr: &mut [u8], cx: &WriteCx) -> Option<u64> {
                if cx.sum_wanted {
                    return Some(checksum::copy_summed(hdr, &self.load));
                }
                self.write(hdr, cx);
                None
            }
            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                Ok(Decoded {
                    layer: <$t>::new().load(data),
                    hlen: data.len(),
                    total_len: None,
                    next: Next::Raw,
                })
            }
            fn summary(&self) -> String {
                self.describe()
            }
        }
    };
}
bytes_proto!(Padding);
bytes_proto!(Raw);

impl Padding {
    fn describe(&self) -> String {
        "Padding".into()
    }
}

impl Raw {
    /// Summary part: `Raw`, or what was cut short.
    fn describe(&self) -> String {
        match (self.truncated, self.malformed) {
            (Some(l), _) => format!("Raw (truncated {l}: {} bytes)", self.load.len()),
            (None, Some(l)) => format!("Raw (malformed {l}: {} bytes)", self.load.len()),
            (None, None) => "Raw".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Layer, Packet};

    #[test]
    fn raw_builds_verbatim() {
        let p = Packet::from(Layer::from(Raw::new().load(b"abc"))) / Padding::new().load(b"\0\0");
        assert_eq!(p.build(), b"abc\0\0");
    }
}
