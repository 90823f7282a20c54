//! A packet: a stack of layers, built into bytes or dissected from them.

use std::ops::Div;

use smallvec::SmallVec;

use crate::field::{FieldInfo, Value};
use crate::layer::{Decoded, DissectCx, Fields, Next, Proto, Pseudo, Truncated, WriteCx};
use crate::layers::*;

/// Layers never nest deeper than this while dissecting: a bound, so no input loops.
pub const MAX_DEPTH: usize = 32;

/// The registry of layers. Adding a layer: one file in `layers/` and one line here.
macro_rules! registry {
    ($( $V:ident($T:ty) $([$($alias:literal),*])? ),* $(,)?) => {
        /// One layer of a packet. Cache-line aligned: a layer that straddles two lines
        /// (depending on where the stack landed) made dissect and build run at two speeds.
        #[derive(Clone, Debug, PartialEq)]
        #[repr(align(64))]
        pub enum Layer { $( $V($T), )* }

        /// The kind of a layer, without its values.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum LayerKind { $( $V, )* }

        impl LayerKind {
            pub const ALL: &'static [LayerKind] = &[$(LayerKind::$V),*];

            /// scapy's class name.
            pub fn name(self) -> &'static str {
                match self { $( LayerKind::$V => <$T as Fields>::NAME, )* }
            }
            pub fn long_name(self) -> &'static str {
                match self { $( LayerKind::$V => <$T as Fields>::LONG_NAME, )* }
            }
            /// By scapy class name (or an alias such as `IPerror`).
            pub fn from_name(name: &str) -> Option<LayerKind> {
                match name {
                    $( <$T as Fields>::NAME $($(| $alias)*)? => Some(LayerKind::$V), )*
                    _ => None,
                }
            }
            pub fn fields(self) -> &'static [FieldInfo] {
                match self { $( LayerKind::$V => <$T as Fields>::FIELDS, )* }
            }
            /// The field a name stands for: itself, or the field an old alias names.
            pub fn field_name(self, name: &str) -> &str {
                match self { $( LayerKind::$V => alias::<$T>(name), )* }
            }
            /// The layer with its defaults.
            pub fn new_layer(self) -> Layer {
                match self { $( LayerKind::$V => Layer::$V(<$T>::default()), )* }
            }
            /// Dissects one header into `layers[n]`: a layer of the same kind already there is
            /// overwritten in place (no enum drop, one move), else it is replaced or pushed.
            #[inline]
            fn dissect_at(
                self, data: &[u8], cx: &DissectCx, layers: &mut SmallVec<[Layer; 4]>, n: usize,
            ) -> Result<(usize, Option<usize>, Next), Truncated> {
                match self {
                    $( LayerKind::$V => {
                        if let Some(Layer::$V(slot)) = layers.get_mut(n) {
                            let s = slot.dissect_in_place(data, cx)?;
                            return Ok((s.hlen, s.total_len, s.next));
                        }
                        let d = <$T as Proto>::dissect(data, cx)?;
                        match layers.get_mut(n) {
                            Some(other) => *other = Layer::$V(d.layer),
                            None => layers.push(Layer::$V(d.layer)),
                        }
                        Ok((d.hlen, d.total_len, d.next))
                    } )*
                }
            }
            pub fn dissect(self, data: &[u8], cx: &DissectCx) -> Result<Decoded<Layer>, Truncated> {
                match self {
                    $( LayerKind::$V => <$T as Proto>::dissect(data, cx).map(|d| Decoded {
                        layer: Layer::$V(d.layer), hlen: d.hlen, total_len: d.total_len, next: d.next,
                    }), )*
                }
            }
            /// The Ether/Dot1Q type value that announces this layer.
            pub fn ethertype(self) -> Option<u16> {
                match self { $( LayerKind::$V => <$T as Proto>::ETHERTYPE, )* }
            }
            /// The IP protocol / IPv6 next-header value that announces this layer.
            pub fn ip_proto(self) -> Option<u8> {
                match self { $( LayerKind::$V => <$T as Proto>::IP_PROTO, )* }
            }
        }

        impl Layer {
            pub fn kind(&self) -> LayerKind {
                match self { $( Layer::$V(_) => LayerKind::$V, )* }
            }
            #[inline]
            pub fn header_len(&self) -> usize {
                match self { $( Layer::$V(l) => l.header_len(), )* }
            }
            /// The pseudo-header this layer sets up for the next one (see [`Proto::pseudo`]).
            fn pseudo_after(layers: &[Layer], i: usize) -> Option<Pseudo> {
                match &layers[i] { $( Layer::$V(l) => {
                    let outer = if <$T as Proto>::EXTENDS_PSEUDO && i > 0 {
                        Layer::pseudo_after(layers, i - 1)
                    } else {
                        None
                    };
                    l.pseudo(outer)
                } )* }
            }
            /// Writes layer `i`'s header at the start of `seg`, whose payload is written.
            #[inline]
            fn emit(layers: &[Layer], i: usize, seg: &mut [u8], hlen: usize) {
                let next = layers.get(i + 1);
                match &layers[i] { $( Layer::$V(l) => {
                    // Computed only for the layers that use it: no state carried along.
                    let pseudo = if <$T as Proto>::USES_PSEUDO && i > 0 {
                        Layer::pseudo_after(layers, i - 1)
                    } else {
                        None
                    };
                    let pseudo = pseudo.as_ref();
                    let (hdr, payload) = seg.split_at_mut(hlen);
                    let cx = WriteCx { payload_len: payload.len(), payload, next, pseudo };
                    l.write(hdr, &cx);
                    l.finish(seg, pseudo);
                } )* }
            }
            /// This layer's part of the summary line.
            pub fn summary(&self) -> String {
                match self { $( Layer::$V(l) => l.summary(), )* }
            }
            /// Whether a field is present (scapy's ConditionalField).
            pub fn present(&self, field: &str) -> bool {
                match self { $( Layer::$V(l) => l.present(field), )* }
            }
            /// Problems only this layer can see (see [`Proto::check`]).
            pub fn check(&self, seg: &[u8], cx: &DissectCx, out: &mut Vec<String>) {
                match self { $( Layer::$V(l) => l.check(seg, cx, out), )* }
            }
            pub fn get(&self, name: &str) -> Option<Value> {
                match self { $( Layer::$V(l) => l.get(name), )* }
            }
            /// Names of a field's values that depend on the layer's other fields.
            pub fn names(&self, field: &str) -> Option<&'static [(u64, &'static str)]> {
                match self { $( Layer::$V(l) => l.names(field), )* }
            }
            pub fn set(&mut self, name: &str, v: &Value) -> Result<(), String> {
                let name = self.kind().field_name(name);
                if let (Value::Str(s), Some(names)) = (v, self.names(name)) {
                    if let Some((num, _)) = names.iter().find(|(_, n)| n == s) {
                        return self.set(name, &Value::Int(*num as i64));
                    }
                }
                match self { $( Layer::$V(l) => l.set(name, v), )* }
            }
        }

        $(
            impl From<$T> for Layer {
                fn from(l: $T) -> Layer { Layer::$V(l) }
            }
            impl<R: Into<Layer>> Div<R> for $T {
                type Output = Packet;
                fn div(self, rhs: R) -> Packet { Packet::from(Layer::$V(self)) / rhs }
            }
        )*
    };
}

registry! {
    Ether(Ether),
    Dot1Q(Dot1Q),
    Arp(Arp),
    Ip(Ip) ["IPerror"],
    Ipv6(Ipv6) ["IPerror6"],
    HopByHop(HopByHop),
    DestOpt(DestOpt),
    Routing(Routing),
    Fragment(Fragment),
    Icmp(Icmp) ["ICMPerror"],
    Icmpv6EchoRequest(Icmpv6EchoRequest),
    Icmpv6EchoReply(Icmpv6EchoReply),
    Icmpv6DestUnreach(Icmpv6DestUnreach),
    Icmpv6PacketTooBig(Icmpv6PacketTooBig),
    Icmpv6TimeExceeded(Icmpv6TimeExceeded),
    Icmpv6ParamProblem(Icmpv6ParamProblem),
    Icmpv6NdNs(Icmpv6NdNs),
    Icmpv6NdNa(Icmpv6NdNa),
    Icmpv6NdOptSrcLladdr(Icmpv6NdOptSrcLladdr),
    Icmpv6NdOptDstLladdr(Icmpv6NdOptDstLladdr),
    Icmpv6Unknown(Icmpv6Unknown),
    Udp(Udp) ["UDPerror"],
    Tcp(Tcp) ["TCPerror"],
    Gue(Gue),
    Raw(Raw),
    Padding(Padding),
}

/// The field an old name stands for.
fn alias<T: Proto>(name: &str) -> &str {
    T::ALIASES.iter().find(|(old, _)| *old == name).map_or(name, |(_, new)| new)
}

impl From<&[u8]> for Layer {
    fn from(b: &[u8]) -> Layer {
        Layer::Raw(Raw::new().load(b))
    }
}

impl<const N: usize> From<&[u8; N]> for Layer {
    fn from(b: &[u8; N]) -> Layer {
        Layer::Raw(Raw::new().load(b))
    }
}

impl From<Vec<u8>> for Layer {
    fn from(b: Vec<u8>) -> Layer {
        Layer::Raw(Raw::new().load(b))
    }
}

impl From<&str> for Layer {
    fn from(s: &str) -> Layer {
        Layer::Raw(Raw::new().load(s.as_bytes()))
    }
}

/// A packet: layers from the outermost in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packet {
    pub layers: SmallVec<[Layer; 4]>,
}

impl From<Layer> for Packet {
    fn from(l: Layer) -> Packet {
        let mut layers = SmallVec::new();
        layers.push(l);
        Packet { layers }
    }
}

impl<R: Into<Layer>> Div<R> for Packet {
    type Output = Packet;
    fn div(mut self, rhs: R) -> Packet {
        self.layers.push(rhs.into());
        self
    }
}

impl Div<Packet> for Packet {
    type Output = Packet;
    fn div(mut self, rhs: Packet) -> Packet {
        self.layers.extend(rhs.layers);
        self
    }
}

/// Layers built with their header lengths on the stack; deeper packets use the heap.
const STACK_LAYERS: usize = 8;

impl Packet {
    pub fn new() -> Packet {
        Packet::default()
    }

    /// The first layer of a kind.
    pub fn find(&self, kind: LayerKind) -> Option<&Layer> {
        self.layers.iter().find(|l| l.kind() == kind)
    }

    /// Builds into `out` (cleared first), reusing its allocation.
    pub fn build_into(&self, out: &mut Vec<u8>) {
        let n = self.layers.len();
        if n <= STACK_LAYERS {
            self.build_with(&mut [0; STACK_LAYERS][..n], out);
        } else {
            self.build_with(&mut vec![0; n], out);
        }
    }

    /// Measures the headers, then writes them back to front: a header is written when its
    /// payload is complete, so its lengths and checksum are computed right away.
    fn build_with(&self, hlens: &mut [usize], out: &mut Vec<u8>) {
        let layers = &self.layers[..];
        let mut total = 0;
        let mut padded = false;
        for (hlen, l) in hlens.iter_mut().zip(layers) {
            *hlen = l.header_len();
            total += *hlen;
            padded |= matches!(l, Layer::Padding(_));
        }
        out.clear();
        out.resize(total, 0);
        let mut start = total;
        // Lengths stop where the first trailing Padding after a layer starts, as in scapy.
        let mut end = total;
        for (i, &hlen) in hlens.iter().enumerate().rev() {
            start -= hlen;
            Layer::emit(layers, i, &mut out[start..end], hlen);
            if padded && matches!(layers[i], Layer::Padding(_)) {
                end = start;
            }
        }
    }

    /// Builds the packet's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.build_into(&mut out);
        out
    }

    /// Dissects bytes starting with `start` (Ether, IP, IPv6...). Never fails: what cannot
    /// be decoded ends the packet as Raw, marked truncated when a header was cut short.
    pub fn dissect(bytes: &[u8], start: LayerKind) -> Packet {
        Packet::dissect_with(bytes, start, &DissectCx::default())
    }

    pub fn dissect_with(bytes: &[u8], start: LayerKind, cx: &DissectCx) -> Packet {
        let mut p = Packet::new();
        p.dissect_into(bytes, start, cx);
        p
    }

    /// Dissects into `self`, reusing its storage: layers of the same kind as before are
    /// overwritten in place, and a Raw payload reuses the previous one's allocation.
    pub fn dissect_into(&mut self, bytes: &[u8], start: LayerKind, cx: &DissectCx) {
        // Padding after each length-limited payload, outermost first.
        let mut pads: SmallVec<[&[u8]; 2]> = SmallVec::new();
        let mut data = bytes;
        let mut kind = start;
        let mut n = 0;
        loop {
            if n >= MAX_DEPTH {
                self.put_raw(n, data, None);
                n += 1;
                break;
            }
            let (hlen, total_len, mut next) = match kind.dissect_at(data, cx, &mut self.layers, n) {
                Ok(d) => d,
                Err(Truncated) => {
                    self.put_raw(n, data, Some(kind.name()));
                    n += 1;
                    break;
                }
            };
            n += 1;
            let hlen = hlen.min(data.len());
            let end = match total_len {
                Some(t) if t >= hlen && t < data.len() => t,
                _ => data.len(),
            };
            if end < data.len() {
                pads.push(&data[end..]);
            }
            let payload = &data[hlen..end];
            while let Next::Peek(classify) = next {
                next = classify(payload);
            }
            match next {
                Next::Layer(k) if !payload.is_empty() => {
                    data = payload;
                    kind = k;
                }
                _ => {
                    if !payload.is_empty() {
                        self.put_raw(n, payload, None);
                        n += 1;
                    }
                    break;
                }
            }
        }
        if !pads.is_empty() {
            // In the frame the innermost padding comes first.
            let load: Vec<u8> = pads.iter().rev().flat_map(|p| p.iter().copied()).collect();
            self.put_layer(n, Padding::new().load(load).into());
            n += 1;
        }
        self.layers.truncate(n);
    }

    /// Raw bytes at `n`, reusing the allocation of a Raw already there.
    fn put_raw(&mut self, n: usize, data: &[u8], truncated: Option<&'static str>) {
        if let Some(Layer::Raw(r)) = self.layers.get_mut(n) {
            r.load.clear();
            r.load.extend_from_slice(data);
            r.truncated = truncated;
        } else {
            self.put_layer(n, Layer::Raw(Raw { load: data.to_vec(), truncated }));
        }
    }

    fn put_layer(&mut self, n: usize, l: Layer) {
        match self.layers.get_mut(n) {
            Some(slot) => *slot = l,
            None => self.layers.push(l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_stays_small() {
        // The layer enum is moved on every push: keep an eye on its size.
        assert!(std::mem::size_of::<Layer>() <= 128, "{}", std::mem::size_of::<Layer>());
    }
}
