//! One module per protocol.
//!
//! # Adding a layer
//!
//! A layer is one file here plus one line in the registry; [`vxlan`] is an example.
//!
//! 1. The file, `layers/NAME.rs`:
//!    - a [`layer!`](crate::layer!) declaration: scapy's class name and long name, then
//!      each field in scapy's order with its scapy name, type, default and doc. An
//!      `Option` field is auto (computed when building unless set); lengths, checksums and
//!      counts named as scapy names them are *derived* (`craft check` recomputes them, see
//!      [`FieldInfo::derived`](crate::field::FieldInfo::derived)); `[bits(N)]`,
//!      `[fmt(Fmt::Hex | Fmt::Enum(..) | Fmt::Flags(..))]` as scapy shows them;
//!    - `impl Proto`: its bindings (`const BINDS`, scapy's `bind_layers` lines with this
//!      layer on top: `Bind::ether_type(0x0800).named("IPv4")`, `Bind::ip_proto(..)`,
//!      `Bind::udp_dport(..)`, see [`crate::bind`]): they give the value written into
//!      the layer below when building, the dissect dispatch to this layer and the name
//!      shown; then `header_len`, `write`, `dissect` (cut-short input is `Err(Truncated)`,
//!      never a panic), and where needed `summary`, `present` (scapy's
//!      ConditionalField), `check`;
//!    - its tests, beside the code: bytes as scapy 2.8 builds them, a round trip,
//!      cut-short input.
//! 2. `pub mod NAME;` and `pub use` below, and one line `Kind(Type)` in the registry
//!    (`registry!` in `packet.rs`).
//! 3. scapy vectors: a `gen_NAME` section in `fixtures/scapy/gen_vectors.py` (build and
//!    dissect, at least each binding and each conditional field), regenerated with
//!    `python3 fixtures/scapy/gen_vectors.py`; `craft/tests/scapy_vectors.rs` checks them.
//! 4. Where tshark decodes the protocol, a comparison in `craft/tests/tshark_decode.rs`
//!    (frames craft builds, the same fields as tshark reads them).
//! 5. The layer's doc says where it differs from scapy (and README's "Differences from
//!    scapy" when a user would notice).

pub mod arp;
pub mod cooked_linux;
pub mod cooked_linux_v2;
pub mod dot1q;
pub mod ether;
pub mod gue;
pub mod icmp;
pub mod icmpv6;
pub mod ip;
pub mod ipv6;
pub mod ipv6ext;
pub mod loopback;
pub mod loopback_openbsd;
pub mod raw;
pub mod tcp;
pub mod udp;
pub mod vxlan;

pub use arp::Arp;
pub use cooked_linux::CookedLinux;
pub use cooked_linux_v2::CookedLinuxV2;
pub use dot1q::Dot1Q;
pub use ether::Ether;
pub use gue::Gue;
pub use icmp::Icmp;
pub use icmpv6::{
    Icmpv6DestUnreach, Icmpv6EchoReply, Icmpv6EchoRequest, Icmpv6NdNa, Icmpv6NdNs, Icmpv6NdOptDstLladdr,
    Icmpv6NdOptSrcLladdr, Icmpv6PacketTooBig, Icmpv6ParamProblem, Icmpv6TimeExceeded, Icmpv6Unknown,
};
pub use icmpv6::{
    Icmpv6MlDone, Icmpv6MlQuery, Icmpv6MlQuery2, Icmpv6MlReport, Icmpv6MlReport2, Icmpv6MldMultAddrRec, Icmpv6NdOptDnssl, Icmpv6NdOptMtu,
    Icmpv6NdOptPrefixInfo, Icmpv6NdOptRdnss, Icmpv6NdOptRedirectedHdr, Icmpv6NdOptRouteInfo, Icmpv6NdOptUnknown, Icmpv6NdRa,
    Icmpv6NdRedirect, Icmpv6NdRs,
};
pub use icmpv6::{IcmpExtHeader, IcmpExtInterfaceId, IcmpExtObject, Icmpv6ExtEchoReply, Icmpv6ExtEchoRequest};
pub use ip::Ip;
pub use ipv6::Ipv6;
pub use ipv6ext::{DestOpt, Fragment, HopByHop, Routing};
pub use loopback::Loopback;
pub use loopback_openbsd::LoopbackOpenBSD;
pub use raw::{Padding, Raw};
pub use tcp::{Tcp, TcpFlags, TcpOption, TcpOptions};
pub use udp::Udp;
pub use vxlan::Vxlan;

/// What the layers' tests share: random bytes, and dissecting them without panics.
#[cfg(test)]
pub(crate) mod testing {
    use crate::layer::DissectCx;
    use crate::packet::{LayerKind, Packet};

    /// Calls `f` `n` times with a pseudo-random state and up to `max_len - 1` bytes made
    /// from it (xorshift64 from `seed`: the same bytes on every run).
    pub fn random_bytes(seed: u64, n: usize, max_len: u64, mut f: impl FnMut(u64, Vec<u8>)) {
        let mut rng = seed;
        for _ in 0..n {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let len = (rng % max_len) as usize;
            f(rng, (0..len).map(|i| (rng >> (i % 56)) as u8 ^ (i as u8).wrapping_mul(37)).collect());
        }
    }

    /// Dissects `bytes` as `start` and runs summary and check on every layer (none may
    /// panic); when every layer is one of `mine` or Raw, building gives the bytes back
    /// (other layers' round trips are their own tests' business).
    pub fn dissect_any(bytes: &[u8], start: LayerKind, mine: &[LayerKind]) -> Packet {
        let p = Packet::dissect(bytes, start);
        if p.layers.iter().all(|l| mine.contains(&l.kind()) || l.kind() == LayerKind::Raw) {
            assert_eq!(p.build(), bytes, "{start:?} {bytes:02x?}");
        }
        for l in &p.layers {
            l.summary();
            l.check(bytes, &DissectCx::default(), &mut Vec::new());
        }
        p
    }
}

