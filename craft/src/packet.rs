//! A packet: a stack of layers, built into bytes or dissected from them.

use std::any::TypeId;
use std::convert::Infallible;
use std::ops::{ControlFlow, Div};

use smallvec::SmallVec;

use crate::bind::{Bind, Lower};
use crate::checksum;
use crate::field::{FieldInfo, Value};
use crate::layer::{Decoded, DissectCx, Fields, Next, Proto, Pseudo, Span, Truncated, WriteCx};
use crate::layers::*;
use crate::layers::icmpv6::Peek;

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
            /// The metadata fields (see [`FieldInfo::metadata`]): none but Raw's.
            pub fn metadata_fields(self) -> &'static [FieldInfo] {
                match self { $( LayerKind::$V => <$T as Fields>::METADATA, )* }
            }
            /// The field a name stands for: itself, or the field an old alias names.
            pub fn field_name(self, name: &str) -> &str {
                match self { $( LayerKind::$V => alias::<$T>(name), )* }
            }
            /// The layer with its defaults.
            pub fn new_layer(self) -> Layer {
                match self { $( LayerKind::$V => Layer::$V(<$T>::default()), )* }
            }
            /// Dissects `data` as this kind into `layers[n]` and what follows into the
            /// layers after it (see [`dissect_layer`]); returns the number of layers used.
            /// `Outer` is the layer type handing on (if any): a layer in a layer of its own
            /// type (IP in IP) goes through [`dissect_nested`].
            #[inline(always)]
            fn dissect_from<'b, Outer: 'static>(
                self, layers: &mut [Layer], n: usize, data: &'b [u8], walk: &mut Walk<'_, 'b>,
            ) -> usize {
                match self {
                    $( LayerKind::$V if TypeId::of::<Outer>() == TypeId::of::<$T>() => {
                        dissect_nested::<$T>(layers, n, data, walk)
                    }
                    LayerKind::$V => dissect_layer::<$T>(layers, n, data, walk), )*
                }
            }
            pub fn dissect(self, data: &[u8], cx: &DissectCx) -> Result<Decoded<Layer>, Truncated> {
                match self {
                    $( LayerKind::$V => <$T as Proto>::dissect(data, cx).map(|d| Decoded {
                        layer: Layer::$V(d.layer), hlen: d.hlen, total_len: d.total_len, next: d.next,
                    }), )*
                }
            }
            /// Why `data` cannot be this layer at all, if it cannot (see [`Proto::malformed`]).
            pub fn malformed(self, data: &[u8]) -> Option<String> {
                match self { $( LayerKind::$V => <$T as Proto>::malformed(data), )* }
            }
            /// The Ether/Dot1Q type value that announces this layer when building.
            // This and the three below index a table made at compile time, inlined into
            // the builds that ask (as a `match`, each was a jump table).
            #[inline]
            pub fn ethertype(self) -> Option<u16> {
                const BY_KIND: &[Option<u16>] = &[$( narrow16(build_value::<$T>(Lower::EtherType)), )*];
                BY_KIND[self as usize]
            }
            /// The IP protocol / IPv6 next-header value that announces this layer when building.
            #[inline]
            pub fn ip_proto(self) -> Option<u8> {
                const BY_KIND: &[Option<u8>] = &[$( narrow8(build_value::<$T>(Lower::IpProto)), )*];
                BY_KIND[self as usize]
            }
            /// The UDP destination port that announces this layer when building.
            #[inline]
            pub fn udp_dport(self) -> Option<u16> {
                const BY_KIND: &[Option<u16>] = &[$( narrow16(build_value::<$T>(Lower::UdpDport)), )*];
                BY_KIND[self as usize]
            }
            /// The BSD loopback address family that announces this layer when building.
            #[inline]
            pub fn loopback_af(self) -> Option<u32> {
                const BY_KIND: &[Option<u32>] = &[$( build_value::<$T>(Lower::LoopbackAf), )*];
                BY_KIND[self as usize]
            }
        }

        /// Every layer's bindings (see [`crate::bind`]), in registry order.
        pub(crate) const LAYER_BINDS: &[(LayerKind, &[Bind])] = &[$( (LayerKind::$V, <$T as Proto>::BINDS), )*];

        impl Layer {
            #[inline]
            pub fn kind(&self) -> LayerKind {
                match self { $( Layer::$V(_) => LayerKind::$V, )* }
            }
            #[inline]
            pub fn header_len(&self) -> usize {
                match self { $( Layer::$V(l) => l.header_len(), )* }
            }
            /// The pseudo-header this layer sets up for the next one, given `outer`, the one
            /// set up for it (see [`Proto::pseudo`]).
            #[inline(always)]
            fn pseudo_for_next(&self, outer: Option<&Pseudo>) -> Option<Pseudo> {
                match self { $( Layer::$V(l) => pseudo_for_next(l, outer), )* }
            }
            /// Builds `layers` into `out`, the first one's header at `start`: see
            /// [`build_layer`]. Returns where the lengths of the layers before end, and
            /// with `WANT_SUM` the partial sum of the bytes from `start` to there.
            #[inline(always)]
            fn build_from<const WANT_SUM: bool>(layers: &[Layer], start: usize, outer: Option<&Pseudo>, out: &mut Vec<u8>) -> Built {
                match layers.split_first() {
                    // The innermost layer: a step of its own with no recursion to keep
                    // registers around for.
                    Some((last, [])) => match last {
                        $( Layer::$V(l) => {
                            build_last::<$T, { matches!(LayerKind::$V, LayerKind::Padding) }, WANT_SUM>(l, start, outer, out)
                        } )*
                    },
                    $( Some((Layer::$V(l), rest)) => {
                        build_layer::<$T, { matches!(LayerKind::$V, LayerKind::Padding) }, WANT_SUM>(l, rest, start, outer, out)
                    } )*
                    None => {
                        // All headers measured: the packet is `start` bytes long.
                        size_buffer(out, start);
                        Built { end: start, sum: 0 }
                    }
                }
            }
            /// Writes layer `i`'s header at the start of `seg`, whose payload is written.
            fn emit(layers: &[Layer], i: usize, seg: &mut [u8], hlen: usize, pseudo: Option<&Pseudo>) {
                match &layers[i] { $( Layer::$V(l) => emit_layer(l, seg, hlen, layers.get(i + 1), pseudo), )* }
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
            /// A metadata field's value (see [`FieldInfo::metadata`]).
            pub fn metadata(&self, name: &str) -> Option<&'static str> {
                match self { $( Layer::$V(l) => l.metadata(name), )* }
            }
            /// Sets a metadata field; false when the layer has none of that name.
            pub fn set_metadata(&mut self, name: &str, value: Option<&'static str>) -> bool {
                match self { $( Layer::$V(l) => l.set_metadata(name, value), )* }
            }
            /// The present fields as JSON object members (see [`Fields::write_json_fields`]).
            pub fn write_json_fields(&self, out: &mut Vec<u8>) {
                match self { $( Layer::$V(l) => l.write_json_fields(out, &|f| l.present(f)), )* }
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
            impl Slot for $T {
                #[inline(always)]
                fn slot(l: &mut Layer) -> Option<&mut $T> {
                    match l { Layer::$V(l) => Some(l), _ => None }
                }
                #[inline(always)]
                fn wrap(self) -> Layer {
                    Layer::$V(self)
                }
            }
            impl From<$T> for Layer {
                #[inline]
                fn from(l: $T) -> Layer { Layer::$V(l) }
            }
            impl<R: Into<Layer>> Div<R> for $T {
                type Output = Packet;
                // Inlined with the rest of the `/` chain, the layers are written into the
                // packet's inline storage where they are made, not moved through calls.
                #[inline]
                fn div(self, rhs: R) -> Packet {
                    let mut layers = SmallVec::new();
                    layers.push(Layer::$V(self));
                    layers.push(rhs.into());
                    Packet { layers }
                }
            }
        )*
    };
}

registry! {
    Ether(Ether),
    CookedLinux(CookedLinux),
    CookedLinuxV2(CookedLinuxV2),
    Loopback(Loopback),
    LoopbackOpenBSD(LoopbackOpenBSD),
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
    Icmpv6NdRs(Icmpv6NdRs),
    Icmpv6NdRa(Icmpv6NdRa),
    Icmpv6NdRedirect(Icmpv6NdRedirect),
    Icmpv6NdOptPrefixInfo(Icmpv6NdOptPrefixInfo),
    Icmpv6NdOptRedirectedHdr(Icmpv6NdOptRedirectedHdr),
    Icmpv6NdOptMtu(Icmpv6NdOptMtu),
    Icmpv6NdOptRouteInfo(Icmpv6NdOptRouteInfo),
    Icmpv6NdOptRdnss(Icmpv6NdOptRdnss),
    Icmpv6NdOptDnssl(Icmpv6NdOptDnssl),
    Icmpv6NdOptUnknown(Icmpv6NdOptUnknown),
    Icmpv6MlQuery(Icmpv6MlQuery),
    Icmpv6MlReport(Icmpv6MlReport),
    Icmpv6MlDone(Icmpv6MlDone),
    Icmpv6MlQuery2(Icmpv6MlQuery2),
    Icmpv6MlReport2(Icmpv6MlReport2),
    Icmpv6MldMultAddrRec(Icmpv6MldMultAddrRec),
    Icmpv6ExtEchoRequest(Icmpv6ExtEchoRequest),
    Icmpv6ExtEchoReply(Icmpv6ExtEchoReply),
    IcmpExtHeader(IcmpExtHeader),
    IcmpExtObject(IcmpExtObject),
    IcmpExtInterfaceId(IcmpExtInterfaceId),
    Icmpv6Unknown(Icmpv6Unknown),
    Udp(Udp) ["UDPerror"],
    Tcp(Tcp) ["TCPerror"],
    Gue(Gue),
    Vxlan(Vxlan),
    Raw(Raw),
    Padding(Padding),
}

/// Between a layer type and its [`Layer`] variant, for the dissect steps.
trait Slot: Proto + 'static {
    fn slot(l: &mut Layer) -> Option<&mut Self>;
    fn wrap(self) -> Layer;
}

/// See [`Layer::pseudo_for_next`].
#[inline(always)]
fn pseudo_for_next<T: Proto>(l: &T, outer: Option<&Pseudo>) -> Option<Pseudo> {
    l.pseudo(if T::EXTENDS_PSEUDO { outer.copied() } else { None })
}

/// What a build step hands back to the one before it.
struct Built {
    /// Where the lengths of the layers before end: at the first trailing Padding, as in
    /// scapy.
    end: usize,
    /// The partial sum of the bytes from the step's start to `end`, when it was asked for
    /// (`WANT_SUM`; meaningless otherwise): a checksum around them adds it rather than
    /// reading them back.
    sum: u64,
}

/// Builds layer `l`, its header at `start`, and the layers after it (`rest`), recursively:
/// measures this header, builds the rest behind it (the innermost call sizes `out`), then
/// writes this header over its complete payload, so its lengths and checksums come right
/// away. One dispatch per layer; each layer's code is its own function with its own
/// registers. `outer` is the pseudo-header set up for this layer by the ones before;
/// `WANT_SUM`: a layer before sums this one into its checksum (a parameter of the type, so
/// that the steps nobody asks a sum of carry no code for it). A `PADDING` layer ends the
/// lengths (and sums) of the layers before at its start.
#[inline(never)]
fn build_layer<T: Proto, const PADDING: bool, const WANT_SUM: bool>(
    l: &T, rest: &[Layer], start: usize, outer: Option<&Pseudo>, out: &mut Vec<u8>,
) -> Built {
    let hlen = l.header_len();
    let pseudo = pseudo_for_next(l, outer);
    // Checked, so that the bound below holds whatever lengths the layers report.
    let payload_start = start.checked_add(hlen).expect("packet longer than memory");
    let inner = if WANT_SUM || T::USES_PAYLOAD_SUM {
        Layer::build_from::<true>(rest, payload_start, pseudo.as_ref(), out)
    } else {
        Layer::build_from::<false>(rest, payload_start, pseudo.as_ref(), out)
    };
    let end = inner.end;
    debug_assert!(payload_start <= end && end <= out.len());
    // SAFETY: `start + hlen <= end <= out.len()`, so the range is in bounds. The innermost
    // step sizes `out` to the (checked) sum of all header lengths and returns that sum;
    // every other step returns its own `start` or what the step after it returned; so the
    // steps after this one, which start at `payload_start`, return an `end` between that
    // and `out.len()`. Nothing but the innermost step changes `out`'s length.
    let seg = unsafe { out.get_unchecked_mut(start..end) };
    let header_sum = write_layer(l, seg, hlen, rest.first(), outer, inner.sum, WANT_SUM);
    if PADDING {
        return Built { end: start, sum: 0 };
    }
    if !WANT_SUM {
        return Built { end, sum: 0 };
    }
    let payload_sum = if hlen % 2 == 1 { checksum::at_odd_offset(inner.sum) } else { inner.sum };
    Built { end, sum: header_sum + payload_sum }
}

/// [`build_layer`] for the innermost layer: sizes `out` and writes the header.
#[inline(never)]
fn build_last<T: Proto, const PADDING: bool, const WANT_SUM: bool>(
    l: &T, start: usize, outer: Option<&Pseudo>, out: &mut Vec<u8>,
) -> Built {
    let hlen = l.header_len();
    let end = start.checked_add(hlen).expect("packet longer than memory");
    size_buffer(out, end);
    let sum = write_layer(l, &mut out[start..], hlen, None, outer, 0, WANT_SUM);
    if PADDING {
        Built { end: start, sum: 0 }
    } else {
        Built { end, sum }
    }
}

/// Makes `out` `len` bytes long, reusing its allocation. What it held is left in place
/// rather than zeroed: every header is written whole over it (see [`Proto::WRITES_ALL`]).
#[inline(always)]
fn size_buffer(out: &mut Vec<u8>, len: usize) {
    out.resize(len, 0);
}

/// Writes one header at the start of `seg`, whose payload is already written and sums to
/// `payload_sum` (when `T::USES_PAYLOAD_SUM`). `seg` must be at least `hlen` bytes long
/// (its callers make sure of it). Returns the header's partial sum when `want_sum`.
#[inline(always)]
fn write_layer<T: Proto>(
    l: &T, seg: &mut [u8], hlen: usize, next: Option<&Layer>, pseudo: Option<&Pseudo>, payload_sum: u64, want_sum: bool,
) -> u64 {
    // Passed only to the layers that use it.
    let pseudo = if T::USES_PSEUDO { pseudo } else { None };
    let payload_sum = if T::USES_PAYLOAD_SUM { payload_sum } else { 0 };
    debug_assert!(hlen <= seg.len());
    // SAFETY: both callers pass a `seg` that starts with this header, so
    // `hlen <= seg.len()`: `build_layer` slices `start..end` with `start + hlen <= end`
    // (see there); `Packet::build_deep` slices from `start` to the total length or to a
    // later layer's start, both at least `start + hlen`.
    let (hdr, payload) = unsafe { seg.split_at_mut_unchecked(hlen) };
    debug_assert!(
        !T::USES_PAYLOAD_SUM || payload_sum % 0xffff == checksum::partial(payload) % 0xffff,
        "{}: the layers inside summed their bytes wrong",
        T::NAME
    );
    if !T::WRITES_ALL {
        hdr.fill(0);
    }
    let cx = WriteCx { payload_len: payload.len(), payload, payload_sum, next, pseudo, sum_wanted: want_sum };
    let header_sum = l.write_summed(hdr, &cx);
    l.finish(hdr, &cx);
    match header_sum {
        Some(sum) => sum,
        None if want_sum => checksum::partial(hdr),
        None => 0,
    }
}

/// [`write_layer`] in [`Packet::build_deep`], which has no sums at hand: the payload is
/// read back when the layer needs its sum.
fn emit_layer<T: Proto>(l: &T, seg: &mut [u8], hlen: usize, next: Option<&Layer>, pseudo: Option<&Pseudo>) {
    let payload_sum = if T::USES_PAYLOAD_SUM { checksum::partial(&seg[hlen..]) } else { 0 };
    write_layer(l, seg, hlen, next, pseudo, payload_sum, false);
}

/// The value a layer's bindings build into `lower`'s field.
const fn build_value<T: Proto>(lower: Lower) -> Option<u32> {
    crate::bind::build_value(T::BINDS, lower)
}

/// A 16-bit binding value, at compile time: each `LayerKind` method is then a table of
/// `Option<u16>` (the values were declared with their width, see [`Bind`]).
const fn narrow16(v: Option<u32>) -> Option<u16> {
    match v {
        Some(v) => Some(v as u16),
        None => None,
    }
}

/// [`narrow16`] for 8-bit values.
const fn narrow8(v: Option<u32>) -> Option<u8> {
    match v {
        Some(v) => Some(v as u8),
        None => None,
    }
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

impl Layer {
    /// The metadata fields that are set, in declaration order: (field, layer name).
    pub fn notes(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.kind().metadata_fields().iter().filter_map(|f| Some((f.name, self.metadata(f.name)?)))
    }
}

/// Layers held inline: up to [`INLINE_LAYERS`] without allocating.
type Layers = SmallVec<[Layer; INLINE_LAYERS]>;

/// Layers a packet holds without a heap allocation: 8 covers GUE and VXLAN encapsulations
/// (Ether/IP/UDP/GUE/IP/TCP/Raw is 7), whose composition otherwise paid a 64-byte-aligned
/// allocation (`posix_memalign`) and its free per packet: compose + build of the GUE bench
/// packet 2443 -> 1369 instructions. The price: a `Packet` is 1088 bytes (8 layers of 128
/// and the length), 576 with 4.
pub const INLINE_LAYERS: usize = 8;

/// A packet: layers from the outermost in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packet {
    pub layers: SmallVec<[Layer; INLINE_LAYERS]>,
}

impl From<Layer> for Packet {
    #[inline]
    fn from(l: Layer) -> Packet {
        let mut layers = SmallVec::new();
        layers.push(l);
        Packet { layers }
    }
}

impl<R: Into<Layer>> Div<R> for Packet {
    type Output = Packet;
    #[inline]
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

/// Packets up to this many layers are built by recursion ([`build_layer`]), one stack frame
/// per layer; deeper ones by a loop with the same results.
const RECURSE_LAYERS: usize = 64;

impl Packet {
    pub fn new() -> Packet {
        Packet::default()
    }

    /// The first layer of a kind.
    pub fn find(&self, kind: LayerKind) -> Option<&Layer> {
        self.layers.iter().find(|l| l.kind() == kind)
    }

    /// Builds into `out`, replacing what it held and reusing its allocation.
    pub fn build_into(&self, out: &mut Vec<u8>) {
        if self.layers.len() <= RECURSE_LAYERS {
            Layer::build_from::<false>(&self.layers, 0, None, out);
        } else {
            self.build_deep(out);
        }
    }

    /// [`build_into`](Self::build_into) for deep packets, without recursion: measures the
    /// headers and sets up the pseudo-headers, then writes the headers back to front.
    #[cold]
    fn build_deep(&self, out: &mut Vec<u8>) {
        let layers = &self.layers[..];
        let mut hlens = Vec::with_capacity(layers.len());
        // pseudos[i]: the pseudo-header layer i sets up for layer i + 1.
        let mut pseudos: Vec<Option<Pseudo>> = Vec::with_capacity(layers.len());
        let mut total = 0;
        for l in layers {
            let hlen = l.header_len();
            hlens.push(hlen);
            // Checked: `write_layer` relies on each header fitting its segment.
            total = usize::checked_add(total, hlen).expect("packet longer than memory");
            pseudos.push(l.pseudo_for_next(pseudos.last().and_then(Option::as_ref)));
        }
        size_buffer(out, total);
        let mut start = total;
        // Lengths stop where the first trailing Padding after a layer starts, as in scapy.
        let mut end = total;
        for (i, &hlen) in hlens.iter().enumerate().rev() {
            start -= hlen;
            let outer = if i > 0 { pseudos[i - 1].as_ref() } else { None };
            Layer::emit(layers, i, &mut out[start..end], hlen, outer);
            if matches!(layers[i], Layer::Padding(_)) {
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
    /// Inline, so that a caller's loop keeps its registers instead of this saving its own.
    #[inline]
    pub fn dissect_into(&mut self, bytes: &[u8], start: LayerKind, cx: &DissectCx) {
        match start {
            LayerKind::Ether => self.dissect_ether(bytes, cx),
            _ => {
                let mut walk = Walk { cx, pad: 0, grow: None };
                let n = start.dissect_from::<Packet>(self.slots(), 0, bytes, &mut walk);
                self.end_walk(n, bytes, &mut walk);
            }
        }
    }

    /// [`Packet::dissect_into`] from Ether, with the fast path for the common stacks (see
    /// [`dissect_common`]) in the same function as the rest.
    #[inline]
    fn dissect_ether(&mut self, bytes: &[u8], cx: &DissectCx) {
        let mut walk = Walk { cx, pad: 0, grow: None };
        match dissect_common(self.slots(), bytes, &mut walk) {
            ControlFlow::Break(Ended::Fast(n)) => self.keep(n),
            ControlFlow::Break(Ended::Walk(n)) => self.end_walk(n, bytes, &mut walk),
        }
    }

    /// Ends a dissect whose steps used `n` layers: the layers past the slots, the padding,
    /// the end of the packet.
    #[inline(always)]
    fn end_walk<'b>(&mut self, mut n: usize, bytes: &'b [u8], walk: &mut Walk<'_, 'b>) {
        while walk.grow.is_some() {
            n = self.grow(n, walk);
        }
        if walk.pad != 0 {
            put_padding(&mut self.layers, n, &bytes[bytes.len() - walk.pad..]);
            n += 1;
        }
        self.keep(n);
    }

    /// Drops the layers past the `n` a dissect used.
    #[inline(always)]
    fn keep(&mut self, n: usize) {
        // Most packets use as many layers as the one before (a flow): no drop loop then.
        if n != self.layers.len() {
            self.layers.truncate(n);
        }
    }

    /// The layers a dissect may overwrite in place: the ones there, at most [`MAX_DEPTH`].
    /// A slice, so each step finds its slot without asking the SmallVec where it keeps them.
    #[inline(always)]
    fn slots(&mut self) -> &mut [Layer] {
        let len = self.layers.len().min(MAX_DEPTH);
        &mut self.layers[..len]
    }

    /// Goes on with a dissect that stopped at `n`, past the slots: adds the layer there
    /// and dissects on, or, at [`MAX_DEPTH`], ends the packet with the bytes left as Raw.
    #[cold]
    #[inline(never)]
    fn grow<'b>(&mut self, n: usize, walk: &mut Walk<'_, 'b>) -> usize {
        match walk.grow.take().expect("a layer to grow") {
            Grow::Layer(kind, data) if n < MAX_DEPTH => {
                put_layer(&mut self.layers, n, kind.new_layer());
                kind.dissect_from::<Packet>(self.slots(), n, data, walk)
            }
            Grow::Layer(_, data) => put_raw_grown(&mut self.layers, n, data, Mark::NONE),
            Grow::Raw(data, mark) => put_raw_grown(&mut self.layers, n, data, mark),
        }
    }
}

/// What each step of a dissect carries besides its layers and bytes, behind one pointer: the
/// steps then keep to the argument registers and reach each other by tail calls.
struct Walk<'c, 'b> {
    cx: &'c DissectCx,
    /// The bytes past each length-limited payload, in all (see [`dissect_layer`]).
    pad: usize,
    /// Set when a step needs a layer past the slots: the dissect returns to
    /// [`Packet::dissect_into`], which adds it and goes on ([`Packet::grow`]).
    grow: Option<Grow<'b>>,
}

/// What goes at the first layer past the slots, and the bytes it is dissected from.
enum Grow<'b> {
    /// A layer of this kind.
    Layer(LayerKind, &'b [u8]),
    /// Raw bytes, marked or not (see [`put_raw`]).
    Raw(&'b [u8], Mark),
}

/// Dissects one header of type `T` into `layers[n]`, then its payload into the layers after
/// it, recursively (at most [`MAX_DEPTH`] deep: `layers` are the slots, see
/// [`Packet::slots`], and past them the dissect returns to grow): one dispatch per layer, and the code for
/// each type is its own function, where what the type's header can say (a length field or
/// not, a fixed next layer) folds away. A layer of the same kind already at `n` (from an
/// earlier packet) is overwritten in place: no enum drop, allocations reused. Returns the
/// number of layers used.
///
/// Padding: the bytes past a length field's end are added to `pad` before the payload is
/// dissected, so the next layer is a tail call (no frame kept, no registers saved for it).
/// A payload ends where its layer's padding starts, so an inner layer's padding ends where
/// the outer one's starts: all of it is the last `walk.pad` bytes of the packet, innermost
/// first, as scapy joins them.
#[inline(never)]
fn dissect_layer<'b, T: Slot>(
    layers: &mut [Layer],
    n: usize,
    data: &'b [u8],
    walk: &mut Walk<'_, 'b>,
) -> usize {
    let Some(l) = layers.get_mut(n).and_then(T::slot) else {
        return dissect_fresh::<T>(layers, n, data, walk);
    };
    let Some(span) = l.dissect_quick(data, walk.cx) else {
        return dissect_slow::<T>(layers, n, data, walk);
    };
    hand_on::<T>(layers, n, data, span, walk)
}

/// The rest of [`dissect_layer`] once the header is in: the payload to the next layer.
#[inline(always)]
fn hand_on<'b, T: Slot>(
    layers: &mut [Layer],
    n: usize,
    data: &'b [u8],
    span: Result<Span, Truncated>,
    walk: &mut Walk<'_, 'b>,
) -> usize {
    let Ok(span) = span else {
        return put_truncated::<T>(layers, n, data, walk);
    };
    let n = n + 1;
    let hlen = span.hlen.min(data.len());
    let end = match span.total_len {
        Some(t) if t >= hlen && t < data.len() => t,
        _ => data.len(),
    };
    let payload = &data[hlen..end];
    if end < data.len() {
        walk.pad += data.len() - end;
    }
    if payload.is_empty() {
        return n;
    }
    dissect_next::<T>(layers, n, payload, span.next, walk)
}

/// Dissects a payload (not empty) into `layers[n]` and on, as `next` says. `Outer` is the
/// layer type handing on (see [`LayerKind::dissect_from`]).
#[inline(always)]
fn dissect_next<'b, Outer: 'static>(
    layers: &mut [Layer],
    n: usize,
    payload: &'b [u8],
    next: Next,
    walk: &mut Walk<'_, 'b>,
) -> usize {
    match next {
        Next::Layer(k) => k.dissect_from::<Outer>(layers, n, payload, walk),
        Next::Raw => put_raw(layers, n, payload, walk),
        Next::Peek(peek) => dissect_peeked(layers, n, payload, walk, peek),
    }
}

/// A dissect from Ether. The stacks most traffic has, Ether / IPv4 or IPv6 / TCP or UDP /
/// payload, dissected into a packet that held the same kinds (a sniffer's or a reader's
/// reused one) take one function with every step's type known: no dispatch and no frame
/// per layer. Anything else (another kind at a slot, a header the quick path declines,
/// padding, another layer next) goes on with the general walk from the layer where it
/// starts, which gives the same packet. It ends in `Break` with the number of layers used.
#[inline(always)]
fn dissect_common<'b>(layers: &mut [Layer], data: &'b [u8], walk: &mut Walk<'_, 'b>) -> ControlFlow<Ended, Infallible> {
    let (n, payload, next) = common_step::<Ether>(layers, 0, data, walk)?;
    let (n, payload, next) = match next {
        Next::Layer(LayerKind::Ip) => common_step::<Ip>(layers, n, payload, walk)?,
        Next::Layer(LayerKind::Ipv6) => common_step::<Ipv6>(layers, n, payload, walk)?,
        next => return ControlFlow::Break(Ended::Walk(dissect_other::<Ether>(layers, n, payload, next, walk))),
    };
    let (n, payload, next) = match next {
        Next::Layer(LayerKind::Tcp) => common_step::<Tcp>(layers, n, payload, walk)?,
        Next::Layer(LayerKind::Udp) => common_step::<Udp>(layers, n, payload, walk)?,
        next => return ControlFlow::Break(Ended::Walk(dissect_other::<Packet>(layers, n, payload, next, walk))),
    };
    ControlFlow::Break(match next {
        Next::Raw if raw_in_place(layers, n, payload, Mark::NONE) => Ended::Fast(n + 1),
        Next::Raw => Ended::Walk(put_raw_resized(layers, n, payload, Mark::NONE, walk)),
        next => Ended::Walk(dissect_next::<Packet>(layers, n, payload, next, walk)),
    })
}

/// [`dissect_next`] out of line, for [`dissect_common`]'s layers past the stacks it knows:
/// its dispatch on every kind then stays out of the known steps, which tell their next
/// layer with a compare or two and keep their values in registers.
#[inline(never)]
fn dissect_other<'b, Outer: 'static>(
    layers: &mut [Layer],
    n: usize,
    payload: &'b [u8],
    next: Next,
    walk: &mut Walk<'_, 'b>,
) -> usize {
    dissect_next::<Outer>(layers, n, payload, next, walk)
}

/// Where [`dissect_common`] ended, with the number of layers used.
enum Ended {
    /// In its own steps: no padding, no layer past the slots, so nothing for
    /// [`Packet::end_walk`] to add.
    Fast(usize),
    /// In the general walk.
    Walk(usize),
}

/// One step of [`dissect_common`]: a `T` already at `layers[n]`, filled by its quick path,
/// with no padding past its length: `Continue` with the next slot, the payload (not empty)
/// and what it is. Otherwise the general walk finishes the packet from this layer
/// (`Break`), or there is no payload (`Break` too).
#[inline(always)]
fn common_step<'b, T: Slot>(
    layers: &mut [Layer],
    n: usize,
    data: &'b [u8],
    walk: &mut Walk<'_, 'b>,
) -> ControlFlow<Ended, (usize, &'b [u8], Next)> {
    let Some(l) = layers.get_mut(n).and_then(T::slot) else {
        return ControlFlow::Break(Ended::Walk(dissect_fresh::<T>(layers, n, data, walk)));
    };
    let span = match l.dissect_quick(data, walk.cx) {
        // No padding: no length field, or one short of the header or at or past the end
        // (`hand_on` ignores both), so that `t - hlen`, wrapping, is at least the bytes
        // past the header: one compare.
        Some(Ok(span)) if span.hlen <= data.len() && span.total_len.is_none_or(|t| t.wrapping_sub(span.hlen) >= data.len() - span.hlen) => span,
        Some(span) => return ControlFlow::Break(Ended::Walk(hand_on::<T>(layers, n, data, span, walk))),
        None => return ControlFlow::Break(Ended::Walk(dissect_slow::<T>(layers, n, data, walk))),
    };
    let payload = &data[span.hlen..];
    if payload.is_empty() {
        return ControlFlow::Break(Ended::Fast(n + 1));
    }
    ControlFlow::Continue((n + 1, payload, span.next))
}

/// [`dissect_layer`] when `layers[n]` is not a `T` to overwrite: a default one there, which
/// `dissect_in_place` then fills like a fresh dissect would (past the slots: see [`Grow`]).
/// Out of line and reached by a
/// tail call, so that the in-place path makes no call that returns into it (a layer that
/// only hands on to the next, as Ether, then saves fewer registers) and carries no
/// layer-sized temporary.
#[cold]
#[inline(never)]
fn dissect_fresh<'b, T: Slot>(
    layers: &mut [Layer],
    n: usize,
    data: &'b [u8],
    walk: &mut Walk<'_, 'b>,
) -> usize {
    let Some(at) = layers.get_mut(n) else {
        walk.grow = Some(Grow::Layer(T::default().wrap().kind(), data));
        return n;
    };
    *at = T::default().wrap();
    dissect_layer::<T>(layers, n, data, walk)
}

/// [`dissect_layer`] for a layer inside one of its own type. A call of its own, so that the
/// step's tail call to itself is not turned into a loop (whose registers it would then
/// save on every packet).
#[inline(never)]
fn dissect_nested<'b, T: Slot>(
    layers: &mut [Layer],
    n: usize,
    data: &'b [u8],
    walk: &mut Walk<'_, 'b>,
) -> usize {
    dissect_layer::<T>(layers, n, data, walk)
}

/// [`dissect_layer`] when the header's quick path declined (see [`Proto::dissect_quick`]).
#[cold]
#[inline(never)]
fn dissect_slow<'b, T: Slot>(
    layers: &mut [Layer],
    n: usize,
    data: &'b [u8],
    walk: &mut Walk<'_, 'b>,
) -> usize {
    let span = match layers.get_mut(n).and_then(T::slot) {
        Some(l) => l.dissect_in_place(data, walk.cx),
        None => unreachable!("dissect_layer found a {} at {n}", T::NAME),
    };
    hand_on::<T>(layers, n, data, span, walk)
}

/// Dissects `payload` into `layers[n]` and on, as the layer its own first bytes announce (see
/// [`Next::Peek`]). Out of line and reached by a tail call, like [`dissect_fresh`].
#[inline(never)]
fn dissect_peeked<'b>(
    layers: &mut [Layer], n: usize, payload: &'b [u8], walk: &mut Walk<'_, 'b>, mut peek: Peek,
) -> usize {
    loop {
        match peek.classify(payload) {
            Next::Peek(p) => peek = p,
            Next::Layer(k) => return k.dissect_from::<Packet>(layers, n, payload, walk),
            Next::Raw => return put_raw(layers, n, payload, walk),
        }
    }
}

/// The Padding layer at `n`.
#[cold]
fn put_padding(layers: &mut Layers, n: usize, pad: &[u8]) {
    put_layer(layers, n, Padding::new().load(pad).into());
}

/// Raw bytes at `n`, reusing the allocation of a Raw already there. Returns the number of
/// layers used (`n + 1`), so that callers end with it as a tail call (six arguments at
/// most: no stack); past the slots, `n` with the bytes left in `walk.grow`.
#[inline(never)]
fn put_raw<'b>(layers: &mut [Layer], n: usize, data: &'b [u8], walk: &mut Walk<'_, 'b>) -> usize {
    put_raw_as(layers, n, data, Mark::NONE, walk)
}

/// [`put_raw`] for a `T` header that could not be decoded: cut short, or malformed when
/// [`Proto::malformed`] says these bytes cannot be a `T` at all.
#[cold]
#[inline(never)]
fn put_truncated<'b, T: Proto>(layers: &mut [Layer], n: usize, data: &'b [u8], walk: &mut Walk<'_, 'b>) -> usize {
    let mark = if T::malformed(data).is_some() {
        Mark { truncated: None, malformed: Some(T::NAME) }
    } else {
        Mark { truncated: Some(T::NAME), malformed: None }
    };
    put_raw_as(layers, n, data, mark, walk)
}

/// The dissector's marks on a Raw layer (see [`Raw`]).
#[derive(Clone, Copy)]
struct Mark {
    truncated: Option<&'static str>,
    malformed: Option<&'static str>,
}

impl Mark {
    const NONE: Mark = Mark { truncated: None, malformed: None };
}

#[inline(always)]
fn put_raw_as<'b>(layers: &mut [Layer], n: usize, data: &'b [u8], mark: Mark, walk: &mut Walk<'_, 'b>) -> usize {
    if raw_in_place(layers, n, data, mark) {
        return n + 1;
    }
    put_raw_resized(layers, n, data, mark, walk)
}

/// [`put_raw_as`] when a Raw of `data`'s length is at `n` (the common case on a flow): one
/// copy, no length reset, no capacity check; false (nothing done) otherwise, and the rest
/// goes out of line, so that this saves few registers.
#[inline(always)]
fn raw_in_place(layers: &mut [Layer], n: usize, data: &[u8], mark: Mark) -> bool {
    match layers.get_mut(n) {
        Some(Layer::Raw(r)) if r.load.len() == data.len() => {
            r.load.copy_from_slice(data);
            r.truncated = mark.truncated;
            r.malformed = mark.malformed;
            true
        }
        _ => false,
    }
}

/// [`put_raw_as`] when the Raw there, if any, holds a payload of another length.
#[inline(never)]
fn put_raw_resized<'b>(layers: &mut [Layer], n: usize, data: &'b [u8], mark: Mark, walk: &mut Walk<'_, 'b>) -> usize {
    match layers.get_mut(n) {
        Some(Layer::Raw(r)) => {
            r.load.clear();
            r.load.extend_from_slice(data);
            r.truncated = mark.truncated;
            r.malformed = mark.malformed;
        }
        Some(l) => *l = Layer::Raw(Raw { load: data.to_vec(), truncated: mark.truncated, malformed: mark.malformed }),
        None => {
            walk.grow = Some(Grow::Raw(data, mark));
            return n;
        }
    }
    n + 1
}

/// [`put_raw`] past the slots.
fn put_raw_grown(layers: &mut Layers, n: usize, data: &[u8], mark: Mark) -> usize {
    let raw = Raw { load: data.to_vec(), truncated: mark.truncated, malformed: mark.malformed };
    put_layer(layers, n, Layer::Raw(raw));
    n + 1
}

fn put_layer(layers: &mut Layers, n: usize, l: Layer) {
    match layers.get_mut(n) {
        Some(slot) => *slot = l,
        None => layers.push(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loop for deep packets gives the recursion's bytes.
    #[test]
    fn deep_build_matches_recursive_build() {
        let ip = || Ip::new().src("10.0.0.1").dst("10.0.0.2");
        let mut packets = vec![
            Ether::new() / ip() / Udp::new() / Gue::new() / ip().len(60) / Tcp::new() / &b"ab"[..] / Padding::new().load(b"xy"),
            Ether::new() / Ipv6::new() / HopByHop::new() / Routing::new() / Udp::new() / &b"payload"[..],
        ];
        let mut deep = Packet::from(Layer::from(Ether::new()));
        for _ in 0..RECURSE_LAYERS {
            deep = deep / ip();
        }
        packets.push(deep / Tcp::new() / Padding::new().load(b"pad") / &b"raw"[..]);
        for p in packets {
            let (mut rec, mut looped) = (Vec::new(), Vec::new());
            Layer::build_from::<false>(&p.layers, 0, None, &mut rec);
            p.build_deep(&mut looped);
            assert_eq!(rec, looped, "{p:?}");
        }
    }

    /// Padding past an inner length (UDP) comes before padding past an outer one (IP).
    #[test]
    fn nested_padding_is_one_layer_innermost_first() {
        let mut b = (Ether::new() / Ip::new().dst("10.0.0.2") / Udp::new() / &b"data"[..]).build();
        b[14 + 20 + 5] -= 2; // UDP len 12 -> 10: "ta" is UDP padding
        b.extend_from_slice(b"zz"); // past the IP length
        let p = Packet::dissect(&b, LayerKind::Ether);
        let Some(Layer::Padding(pad)) = p.layers.last() else { panic!("{p:?}") };
        assert_eq!(pad.load, b"tazz");
        assert_eq!(p.build(), b);
        // And again into the same tree, in place.
        let mut q = p.clone();
        q.dissect_into(&b, LayerKind::Ether, &DissectCx::default());
        assert_eq!(q, p);
    }

    /// Past MAX_DEPTH layers the rest is Raw, dissected fresh or into any earlier packet.
    #[test]
    fn deep_dissect_ends_in_raw_whatever_was_there() {
        let ip = || Ip::new().src("10.0.0.1").dst("10.0.0.2");
        let mut deep = Packet::from(Layer::from(Ether::new()));
        for _ in 0..MAX_DEPTH + 8 {
            deep = deep / ip();
        }
        let b = (deep / Tcp::new()).build();
        let p = Packet::dissect(&b, LayerKind::Ether);
        assert_eq!(p.layers.len(), MAX_DEPTH + 1);
        let Some(Layer::Raw(r)) = p.layers.last() else { panic!("{p:?}") };
        assert_eq!((&r.load[..], r.truncated), (&b[14 + 20 * (MAX_DEPTH - 1)..], None));
        let short = (Ether::new() / ip() / Udp::new() / &b"x"[..]).build();
        let cx = DissectCx::default();
        for before in [Packet::new(), Packet::dissect(&short, LayerKind::Ether), p.clone()] {
            let mut q = before;
            q.dissect_into(&b, LayerKind::Ether, &cx);
            assert_eq!(q, p);
            q.dissect_into(&short, LayerKind::Ether, &cx);
            assert_eq!(q, Packet::dissect(&short, LayerKind::Ether));
        }
    }

    #[test]
    fn layer_stays_small() {
        // The layer enum is moved on every push: keep an eye on its size.
        assert!(std::mem::size_of::<Layer>() <= 128, "{}", std::mem::size_of::<Layer>());
        // And the packet, which holds INLINE_LAYERS of them (see there).
        assert!(std::mem::size_of::<Packet>() <= 1088, "{}", std::mem::size_of::<Packet>());
    }
}
