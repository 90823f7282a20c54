//! Ethernet II (scapy `Ether`).

use crate::field::{Fmt, Mac};
use crate::bind::Bind;
use crate::layer::{Decoded, DissectCx, Proto, Span, Truncated, WriteCx};
use crate::layer;

/// EtherType names, as scapy shows them: from the layers' bindings (see [`crate::bind`]).
pub const ETHER_TYPES: &[(u64, &str)] = crate::bind::ETHER_TYPES;

/// EtherType names scapy shows for which craft has no layer.
pub const UNBOUND: &[Bind] = &[Bind::ether_type(0x9000).named("LOOP").name_only()];

/// scapy's Ether type when nothing follows: 0x9000 (LOOP).
pub const DEFAULT_TYPE: u16 = 0x9000;

layer! {
    /// Ethernet II header: 14 bytes.
    Ether: "Ether", "Ethernet" {
        /// Destination MAC. Auto: broadcast offline; the live layer resolves the next hop.
        dst: Option<Mac> = None,
        /// Source MAC. Auto: 00:00:00:00:00:00 offline; the live layer uses the interface's.
        src: Option<Mac> = None,
        /// EtherType. Auto: announces the next layer (0x0800 for IP), 0x9000 otherwise.
        r#type("type"): Option<u16> [fmt(Fmt::Enum(ETHER_TYPES))] = None,
    }
}

/// The EtherType for what follows: the user's value, else the next layer's.
#[inline]
pub fn auto_type(set: Option<u16>, cx: &WriteCx, default: u16) -> u16 {
    set.or_else(|| cx.next.and_then(|n| n.kind().ethertype())).unwrap_or(default)
}

impl Proto for Ether {
    const WRITES_ALL: bool = true;
    #[inline]
    fn header_len(&self) -> usize {
        14
    }

    // Inlined into the per-layer build step (`packet::build_layer`).
    #[inline(always)]
    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        // Copied from where they are held (by reference): an unwrapped `Mac` value went
        // through the stack.
        hdr[0..6].copy_from_slice(&self.dst.as_ref().unwrap_or(&Mac::BROADCAST).0);
        hdr[6..12].copy_from_slice(&self.src.as_ref().unwrap_or(&Mac::ZERO).0);
        hdr[12..14].copy_from_slice(&auto_type(self.r#type, cx, DEFAULT_TYPE).to_be_bytes());
    }

    #[inline]
    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut ether = Ether::default();
        Ok(ether.dissect_in_place(data, cx)?.with(ether))
    }

    // Inlined into the dissect steps: the fields stored in place, no `Decoded` moved in.
    #[inline(always)]
    fn dissect_in_place(&mut self, data: &[u8], _cx: &DissectCx) -> Result<Span, Truncated> {
        let Some(h) = data.first_chunk::<14>() else { return Err(Truncated) };
        let ty = u16::from_be_bytes([h[12], h[13]]);
        self.dst = Some(Mac(h[0..6].try_into().unwrap()));
        self.src = Some(Mac(h[6..12].try_into().unwrap()));
        self.r#type = Some(ty);
        Ok(Span { hlen: 14, total_len: None, next: crate::bind::ether_next(ty) })
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if let Some(src) = self.src {
            if src.is_multicast() {
                out.push(format!("Ether src {src} is a multicast address"));
            }
            if src.is_zero() {
                out.push("Ether src is 00:00:00:00:00:00".into());
            }
        }
        if self.dst.is_some_and(|d| d.is_zero()) {
            out.push("Ether dst is 00:00:00:00:00:00".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Layer, LayerKind, Packet};

    #[test]
    fn defaults_match_scapy() {
        let b = Packet::from(Layer::from(Ether::new())).build();
        assert_eq!(b, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x90, 0x00]);
    }

    #[test]
    fn forced_type_is_verbatim_and_dissects_back() {
        let e = Ether::new().dst("02:00:00:00:00:01").src([2, 0, 0, 0, 0, 2]).r#type(0x1234);
        let b = Packet::from(Layer::from(e.clone())).build();
        assert_eq!(&b[12..], [0x12, 0x34]);
        let p = Packet::dissect(&b, LayerKind::Ether);
        assert_eq!(p.layers[0], Layer::Ether(e));
    }

    #[test]
    fn short_input_is_truncated_raw() {
        let p = Packet::dissect(&[1, 2, 3], LayerKind::Ether);
        assert_eq!(p.layers.len(), 1);
        assert!(matches!(&p.layers[0], Layer::Raw(r) if r.truncated == Some("Ether")));
    }
}
