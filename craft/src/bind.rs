//! Bindings between layers, scapy's `bind_layers`: which value of a lower layer's field
//! (an EtherType, an IP protocol number, a UDP port, a BSD loopback address family)
//! announces a layer.
//!
//! Each layer declares the bindings that announce it, once, in its own file
//! ([`Proto::BINDS`](crate::layer::Proto::BINDS)); the registry in `packet.rs` gathers them
//! all, and from that one list come, at compile time:
//! - the value written when building (`Ether(type)` before `IP`: the first binding of the
//!   layer marked for building, [`crate::packet::LayerKind::ethertype`] and siblings);
//! - the dissect dispatch ([`ether_next`], [`ip_next`], [`loopback_next`], and the UDP
//!   ports of [`crate::layer::DissectCx`], to which run-time bindings can be added);
//! - the names shown for the lower layer's field ([`ETHER_TYPES`], [`IP_PROTOS`],
//!   [`LOOPBACK_TYPES`]), with the names scapy shows for values no craft layer has yet
//!   (the `UNBOUND` lists of the lower layers' files).

use crate::layer::Next;
use crate::packet::{LayerKind, LAYER_BINDS};

/// The field of the lower layer a binding sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Lower {
    /// Ether/Dot1Q `type`, CookedLinux `proto`.
    EtherType,
    /// IP `proto`, IPv6 and extension headers' `nh`, GUE `proto`.
    IpProto,
    /// UDP `dport`.
    UdpDport,
    /// UDP `sport` (dissect only: scapy checks it after `dport`).
    UdpSport,
    /// Loopback/LoopbackOpenBSD `type` (an address family).
    LoopbackAf,
}

/// How a dissect goes on when the lower layer's field holds the binding's value.
#[derive(Clone, Copy, Debug)]
pub enum Dissect {
    /// As the layer declaring the binding.
    Layer,
    /// As this says (ICMPv6: by the message type, scapy's `icmp6typescls`).
    Next(Next),
    /// Not at all: a binding for building, or a name only.
    No,
}

/// One binding: `lower`'s field holding `value` announces the declaring layer.
#[derive(Clone, Copy, Debug)]
pub struct Bind {
    /// The lower layer's field.
    pub lower: Lower,
    /// Its value (an EtherType, a protocol number, a port, an address family).
    pub value: u32,
    /// scapy's name for the value in the lower layer's field; "" for none.
    pub name: &'static str,
    /// Whether building writes it (the layer's first such binding for `lower` counts).
    pub build: bool,
    /// How dissect goes on after the lower layer.
    pub dissect: Dissect,
}

impl Bind {
    const fn new(lower: Lower, value: u32) -> Bind {
        Bind { lower, value, name: "", build: true, dissect: Dissect::Layer }
    }
    /// `Ether(type=value)` (and Dot1Q, CookedLinux) announces the layer.
    pub const fn ether_type(value: u16) -> Bind {
        Bind::new(Lower::EtherType, value as u32)
    }
    /// `IP(proto=value)` (IPv6 `nh`, GUE `proto`) announces the layer.
    pub const fn ip_proto(value: u8) -> Bind {
        Bind::new(Lower::IpProto, value as u32)
    }
    /// `UDP(dport=value)` announces the layer.
    pub const fn udp_dport(value: u16) -> Bind {
        Bind::new(Lower::UdpDport, value as u32)
    }
    /// `UDP(sport=value)` announces the layer when dissecting (after every dport binding).
    pub const fn udp_sport(value: u16) -> Bind {
        Bind::new(Lower::UdpSport, value as u32).dissect_only()
    }
    /// `Loopback(type=value)` announces the layer.
    pub const fn loopback_af(value: u32) -> Bind {
        Bind::new(Lower::LoopbackAf, value)
    }
    /// With scapy's display name of the value.
    pub const fn named(mut self, name: &'static str) -> Bind {
        self.name = name;
        self
    }
    /// Only read when dissecting: building writes another binding's value.
    pub const fn dissect_only(mut self) -> Bind {
        self.build = false;
        self
    }
    /// Dissected as `next` says rather than as the declaring layer.
    pub const fn dissect_as(mut self, next: Next) -> Bind {
        self.dissect = Dissect::Next(next);
        self
    }
    /// A name only: neither built nor dissected (a protocol craft has no layer for).
    pub const fn name_only(mut self) -> Bind {
        self.build = false;
        self.dissect = Dissect::No;
        self
    }
}

/// The value building writes in `lower`'s field before a layer with these bindings.
pub const fn build_value(binds: &[Bind], lower: Lower) -> Option<u32> {
    let mut i = 0;
    while i < binds.len() {
        if binds[i].lower as u8 == lower as u8 && binds[i].build {
            return Some(binds[i].value);
        }
        i += 1;
    }
    None
}

/// Every binding of `lower` in the registry then in `unbound`, in that order: the first
/// for a value wins (registry order).
const fn for_each<const N: usize>(lower: Lower, unbound: &[Bind]) -> ([(Bind, LayerKind); N], usize) {
    let mut out = [(Bind::ether_type(0), LayerKind::Raw); N];
    let mut n = 0;
    let mut l = 0;
    while l < LAYER_BINDS.len() {
        let (kind, binds) = LAYER_BINDS[l];
        let mut i = 0;
        while i < binds.len() {
            if binds[i].lower as u8 == lower as u8 {
                out[n] = (binds[i], kind);
                n += 1;
            }
            i += 1;
        }
        l += 1;
    }
    let mut i = 0;
    while i < unbound.len() {
        out[n] = (unbound[i], LayerKind::Raw);
        n += 1;
        i += 1;
    }
    (out, n)
}

/// How many bindings of `lower` there are, `unbound` included: sizes the arrays.
const fn count(lower: Lower, unbound: &[Bind]) -> usize {
    let mut n = unbound.len();
    let mut l = 0;
    while l < LAYER_BINDS.len() {
        let binds = LAYER_BINDS[l].1;
        let mut i = 0;
        while i < binds.len() {
            if binds[i].lower as u8 == lower as u8 {
                n += 1;
            }
            i += 1;
        }
        l += 1;
    }
    n
}

/// The names of `lower`'s values, one per value (the first binding's), by value: an
/// `Fmt::Enum` table. `N` is the number of bindings, `M` the number of names
/// ([`count_distinct`]).
const fn names<const N: usize, const M: usize>(lower: Lower, unbound: &[Bind]) -> [(u64, &'static str); M] {
    let (all, n) = for_each::<N>(lower, unbound);
    let mut out: [(u64, &'static str); M] = [(0, ""); M];
    let mut m = 0;
    let mut i = 0;
    while i < n {
        let b = all[i].0;
        if !b.name.is_empty() && !has_value(&out, m, b.value as u64) {
            // Insertion sort by value.
            let mut j = m;
            while j > 0 && out[j - 1].0 > b.value as u64 {
                out[j] = out[j - 1];
                j -= 1;
            }
            out[j] = (b.value as u64, b.name);
            m += 1;
        }
        i += 1;
    }
    out
}

const fn has_value(names: &[(u64, &str)], n: usize, value: u64) -> bool {
    let mut i = 0;
    while i < n {
        if names[i].0 == value {
            return true;
        }
        i += 1;
    }
    false
}

/// The layer-announcing bindings of `lower` as (value, next), sorted by value (so the
/// common ones, the smallest, are compared first); `M` from [`count_distinct`].
const fn dispatch<const N: usize, const M: usize>(lower: Lower, unbound: &[Bind]) -> [(u32, Next); M] {
    let (all, n) = for_each::<N>(lower, unbound);
    let mut out = [(0u32, Next::Raw); M];
    let mut m = 0;
    let mut i = 0;
    while i < n {
        let (b, kind) = all[i];
        let next = match b.dissect {
            Dissect::Layer => Some(Next::Layer(kind)),
            Dissect::Next(next) => Some(next),
            Dissect::No => None,
        };
        let mut dup = false;
        let mut j = 0;
        while j < m {
            dup |= out[j].0 == b.value;
            j += 1;
        }
        if let (Some(next), false) = (next, dup) {
            let mut j = m;
            while j > 0 && out[j - 1].0 > b.value {
                out[j] = out[j - 1];
                j -= 1;
            }
            out[j] = (b.value, next);
            m += 1;
        }
        i += 1;
    }
    out
}

/// Which of `lower`'s bindings a table takes: the named ones (display names) or those that
/// announce a layer (dissect dispatch).
#[derive(Clone, Copy)]
enum Keep {
    Named,
    Dissected,
}

/// The number of distinct values among `lower`'s bindings that `keep` takes.
const fn count_distinct<const N: usize>(lower: Lower, unbound: &[Bind], keep: Keep) -> usize {
    let (all, n) = for_each::<N>(lower, unbound);
    let mut seen = [0u32; N];
    let mut m = 0;
    let mut i = 0;
    while i < n {
        let b = all[i].0;
        let taken = match keep {
            Keep::Named => !b.name.is_empty(),
            Keep::Dissected => !matches!(b.dissect, Dissect::No),
        };
        let mut dup = false;
        let mut j = 0;
        while j < m {
            dup |= seen[j] == b.value;
            j += 1;
        }
        if taken && !dup {
            seen[m] = b.value;
            m += 1;
        }
        i += 1;
    }
    m
}

/// The display names of `lower`'s values (an `Fmt::Enum` table), by value.
macro_rules! names {
    ($lower:expr, $unbound:expr) => {
        &{
            const N: usize = count($lower, $unbound);
            const M: usize = count_distinct::<N>($lower, $unbound, Keep::Named);
            names::<N, M>($lower, $unbound)
        }
    };
}

/// The values of `lower` that announce a layer when dissecting, with what they announce,
/// by value.
macro_rules! dispatch {
    ($lower:expr, $unbound:expr) => {
        &{
            const N: usize = count($lower, $unbound);
            const M: usize = count_distinct::<N>($lower, $unbound, Keep::Dissected);
            dispatch::<N, M>($lower, $unbound)
        }
    };
}

/// EtherType names, as scapy shows them (Ether/Dot1Q `type`, CookedLinux `proto`).
pub const ETHER_TYPES: &[(u64, &str)] = names!(Lower::EtherType, crate::layers::ether::UNBOUND);
/// IP protocol names, as scapy shows them (IP `proto`, IPv6 `nh`, GUE `proto`).
pub const IP_PROTOS: &[(u64, &str)] = names!(Lower::IpProto, crate::layers::ip::UNBOUND);
/// BSD loopback address family names, as scapy shows them.
pub const LOOPBACK_TYPES: &[(u64, &str)] = names!(Lower::LoopbackAf, crate::layers::loopback::UNBOUND);

const ETHER_NEXT: &[(u32, Next)] = dispatch!(Lower::EtherType, &[]);
const IP_NEXT_LIST: &[(u32, Next)] = dispatch!(Lower::IpProto, &[]);
const LOOPBACK_NEXT: &[(u32, Next)] = dispatch!(Lower::LoopbackAf, &[]);
const UDP_DPORT_NEXT: &[(u32, Next)] = dispatch!(Lower::UdpDport, &[]);
const UDP_SPORT_NEXT: &[(u32, Next)] = dispatch!(Lower::UdpSport, &[]);

/// IP protocol → next, all 256 values: one load per header. A `const`, so that each crate
/// inlining [`ip_next`] reads its own copy at a fixed offset, not through the GOT.
const IP_NEXT: [Next; 256] = {
    let mut t = [Next::Raw; 256];
    let mut i = 0;
    while i < IP_NEXT_LIST.len() {
        t[IP_NEXT_LIST[i].0 as usize] = IP_NEXT_LIST[i].1;
        i += 1;
    }
    t
};

/// Finds `value` in a dispatch list.
#[inline(always)]
const fn find(list: &[(u32, Next)], value: u32) -> Next {
    let mut i = 0;
    while i < list.len() {
        if list[i].0 == value {
            return list[i].1;
        }
        i += 1;
    }
    Next::Raw
}

/// What an EtherType announces. IPv4 and IPv6, most frames, are tried first, each answer
/// found at compile time: one compare, and the dissect's fast path knows the layer.
#[inline(always)]
pub fn ether_next(t: u16) -> Next {
    const IPV4: Next = find(ETHER_NEXT, 0x0800);
    const IPV6: Next = find(ETHER_NEXT, 0x86dd);
    match t {
        0x0800 => IPV4,
        0x86dd => IPV6,
        _ => find(ETHER_NEXT, t as u32),
    }
}

/// What an IP protocol number (IPv6 next header) announces.
#[inline(always)]
pub fn ip_next(p: u8) -> Next {
    IP_NEXT[p as usize]
}

/// What a BSD loopback address family announces.
#[inline(always)]
pub fn loopback_next(af: u32) -> Next {
    find(LOOPBACK_NEXT, af)
}

/// The UDP port bindings of the registry, as [`crate::layer::DissectCx`] starts with them,
/// destination ports first. Made at compile time: a default `DissectCx` allocates nothing.
pub const UDP_DEFAULTS: &[UdpBind] = &{
    const N: usize = UDP_DPORT_NEXT.len() + UDP_SPORT_NEXT.len();
    udp_defaults::<N>()
};

const fn udp_defaults<const N: usize>() -> [UdpBind; N] {
    let mut out = [UdpBind { port: 0, sport: false, kind: LayerKind::Raw }; N];
    let mut i = 0;
    while i < N {
        let (list, j, sport) = if i < UDP_DPORT_NEXT.len() {
            (UDP_DPORT_NEXT, i, false)
        } else {
            (UDP_SPORT_NEXT, i - UDP_DPORT_NEXT.len(), true)
        };
        let kind = match list[j].1 {
            Next::Layer(kind) => kind,
            _ => panic!("a UDP port binding dissects as its layer (no dissect_as)"),
        };
        out[i] = UdpBind { port: list[j].0 as u16, sport, kind };
        i += 1;
    }
    out
}

/// The [`crate::layer::DissectCx`] filter of these ports: bit `port % 1024` set for each.
pub const fn udp_filter(binds: &[UdpBind]) -> [u64; 16] {
    let mut f = [0u64; 16];
    let mut i = 0;
    while i < binds.len() {
        let p = binds[i].port as usize % 1024;
        f[p / 64] |= 1 << (p % 64);
        i += 1;
    }
    f
}

/// A UDP port binding as dissect uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpBind {
    /// The port.
    pub port: u16,
    /// The source port rather than the destination port.
    pub sport: bool,
    /// The layer the datagram's payload is dissected as.
    pub kind: LayerKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(n: Next) -> Option<LayerKind> {
        match n {
            Next::Layer(k) => Some(k),
            _ => None,
        }
    }

    /// scapy's names, each value once and sorted, the name-only ones included.
    #[test]
    fn names_come_from_the_bindings() {
        assert_eq!(
            ETHER_TYPES,
            [(0x0800, "IPv4"), (0x0806, "ARP"), (0x8100, "n_802_1Q"), (0x86dd, "IPv6"), (0x88a8, "n_802_1AD"), (0x9000, "LOOP")]
        );
        // The table the layers' bindings replaced, value for value.
        assert_eq!(
            IP_PROTOS,
            [
                (0, "hopopt"),
                (1, "icmp"),
                (2, "igmp"),
                (4, "ipencap"),
                (6, "tcp"),
                (17, "udp"),
                (41, "ipv6"),
                (43, "ipv6_route"),
                (44, "ipv6_frag"),
                (47, "gre"),
                (50, "esp"),
                (51, "ah"),
                (58, "ipv6_icmp"),
                (59, "ipv6_nonxt"),
                (60, "ipv6_opts"),
                (132, "sctp"),
            ]
        );
        assert_eq!(LOOPBACK_TYPES.iter().filter(|(_, n)| *n == "IPv6").count(), 3);
    }

    #[test]
    fn dissect_dispatch_comes_from_the_bindings() {
        assert_eq!(kind(ether_next(0x0800)), Some(LayerKind::Ip));
        assert_eq!(kind(ether_next(0x88a8)), Some(LayerKind::Dot1Q));
        assert_eq!(kind(ether_next(0x9000)), None);
        assert_eq!(kind(ip_next(6)), Some(LayerKind::Tcp));
        assert_eq!(kind(ip_next(41)), Some(LayerKind::Ipv6));
        assert!(matches!(ip_next(58), Next::Peek(_)));
        assert!(matches!(ip_next(47), Next::Raw));
        assert_eq!(kind(loopback_next(30)), Some(LayerKind::Ipv6));
        assert_eq!(kind(loopback_next(7)), None);
    }

    /// The registry's UDP ports, run-time ones before them; dport before sport.
    #[test]
    fn udp_port_bindings() {
        use crate::layer::DissectCx;
        let mut cx = DissectCx::default();
        assert_eq!(kind(cx.udp_next(1000, 6080)), Some(LayerKind::Gue));
        assert_eq!(kind(cx.udp_next(1000, 4789)), Some(LayerKind::Vxlan));
        assert_eq!(kind(cx.udp_next(4789, 1000)), Some(LayerKind::Vxlan));
        // 6080 only as the destination, as scapy's bind_layers(UDP, GUE, dport=6080).
        assert_eq!(kind(cx.udp_next(6080, 1000)), None);
        // Same filter bit as 4789 (4789 % 1024 == 693), no binding.
        assert_eq!(kind(cx.udp_next(1000, 693)), None);
        cx.gue_port(4789);
        cx.gue_port(4789);
        assert_eq!(kind(cx.udp_next(1000, 4789)), Some(LayerKind::Gue));
        assert_eq!(cx.udp_ports(LayerKind::Gue).collect::<Vec<_>>(), [4789, 6080]);
        // The source port binding still names VXLAN when the destination is not bound.
        assert_eq!(kind(cx.udp_next(4789, 1000)), Some(LayerKind::Vxlan));
        cx.bind_udp_port(9, LayerKind::Vxlan);
        assert_eq!(kind(cx.udp_next(1000, 9)), Some(LayerKind::Vxlan));
    }

    /// scapy's bind_layers/split_layers order: appended after the bindings there, removed
    /// wherever they are, the registry's too.
    #[test]
    fn udp_bindings_appended_and_removed() {
        use crate::layer::DissectCx;
        let mut cx = DissectCx::default();
        let gue = |port, sport| UdpBind { port, sport, kind: LayerKind::Gue };
        assert!(cx.append_udp_bind(gue(9886, false)));
        assert!(!cx.append_udp_bind(gue(9886, false)));
        assert!(cx.append_udp_bind(gue(7000, true)));
        assert_eq!(kind(cx.udp_next(1000, 9886)), Some(LayerKind::Gue));
        assert_eq!(kind(cx.udp_next(7000, 1000)), Some(LayerKind::Gue));
        assert_eq!(kind(cx.udp_next(1000, 7000)), None);
        // Appended: VXLAN's registry binding of 4789 is tried first.
        assert!(cx.append_udp_bind(gue(4789, false)));
        assert_eq!(kind(cx.udp_next(1000, 4789)), Some(LayerKind::Vxlan));
        assert_eq!(cx.remove_udp_bind(4789, false, LayerKind::Vxlan), 1);
        assert_eq!(kind(cx.udp_next(1000, 4789)), Some(LayerKind::Gue));
        assert_eq!(cx.remove_udp_bind(4789, false, LayerKind::Vxlan), 0);
        assert_eq!(cx.remove_udp_bind(9886, false, LayerKind::Gue), 1);
        assert_eq!(cx.remove_udp_bind(7000, true, LayerKind::Gue), 1);
        assert_eq!(kind(cx.udp_next(1000, 9886)), None);
        assert_eq!(kind(cx.udp_next(7000, 1000)), None);
        // The default ones are untouched.
        assert_eq!(kind(cx.udp_next(1000, 6080)), Some(LayerKind::Gue));
        assert_eq!(DissectCx::default().udp_binds().len(), crate::bind::UDP_DEFAULTS.len());
    }

    #[test]
    fn build_values_come_from_the_bindings() {
        assert_eq!(LayerKind::Ip.ethertype(), Some(0x0800));
        assert_eq!(LayerKind::Dot1Q.ethertype(), Some(0x8100));
        assert_eq!(LayerKind::Icmpv6EchoRequest.ip_proto(), Some(58));
        assert_eq!(LayerKind::Gue.udp_dport(), Some(6080));
        assert_eq!(LayerKind::Ipv6.loopback_af(), Some(24));
        assert_eq!(LayerKind::Tcp.ethertype(), None);
    }
}
