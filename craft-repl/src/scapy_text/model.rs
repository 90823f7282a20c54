//! craft's layers as scapy sees them: each field's scapy class (how it is shown), scapy's
//! defaults, the fields the layer above overloads, and the error classes (`IPerror`) that
//! scapy's dissector puts inside ICMP errors.

use craft::field::{Fmt, Value};
use craft::packet::{Layer, LayerKind};

use super::format::py_repr;
use super::names;
use crate::pkt::Pkt;

/// How scapy shows a field's value (its field class's `i2repr`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Repr {
    Dec,
    Hex,
    /// Name, else the number in decimal.
    Enum(&'static [(u64, &'static str)]),
    /// Name, else the number in hex (XShortEnumField).
    XEnum(&'static [(u64, &'static str)]),
    EtherType,
    IpProto,
    Ipv6Nh,
    TcpPort,
    UdpPort,
    Flags(&'static [&'static str]),
    /// Names that depend on the layer's other fields (ICMP code).
    LayerNames,
    /// Addresses: the string as is.
    Plain,
    Bytes,
    /// A list shown with Python's repr (TCP options).
    List,
    /// A list of packets (IP options): show prints `\options   \`.
    PktList,
}

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Src {
    /// craft's field of the same name.
    Field,
    /// ICMP `unused`: a short, an int or empty bytes depending on the type.
    IcmpUnused,
    /// RFC 4884 padding of ICMP errors: always empty here.
    Extpad,
    /// RFC 4884 extension: always None here.
    Ext,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct SField {
    pub name: &'static str,
    pub repr: Repr,
    pub src: Src,
    /// Whether scapy's ConditionalField holds.
    pub present: bool,
}

/// A packet seen through scapy's eyes.
pub(super) struct View<'a> {
    pub p: &'a Pkt,
}

fn layer_repr(kind: LayerKind, name: &str, fmt: Fmt, ty: &str) -> Repr {
    use LayerKind as K;
    match (kind, name) {
        (K::Ether | K::Dot1Q, "type") | (K::Arp, "ptype") => return Repr::EtherType,
        (K::Ip, "proto") => return Repr::IpProto,
        (K::Ipv6 | K::HopByHop | K::DestOpt | K::Routing | K::Fragment, "nh") => return Repr::Ipv6Nh,
        (K::Tcp, "sport" | "dport") => return Repr::TcpPort,
        (K::Udp, "sport" | "dport") => return Repr::UdpPort,
        (K::Arp, "hwtype") => return Repr::XEnum(names::HARDWARE_TYPES),
        (K::Arp, "op") => return Repr::Enum(names::ARP_OPS),
        (K::Icmp, "code") => return Repr::LayerNames,
        (K::Ip, "options") => return Repr::PktList,
        _ => {}
    }
    match fmt {
        Fmt::Hex => Repr::Hex,
        Fmt::Enum(t) => Repr::Enum(t),
        Fmt::Flags(l) => Repr::Flags(l),
        Fmt::Dec => match ty {
            "MAC" | "IPv4" | "IPv6" => Repr::Plain,
            "bytes" => Repr::Bytes,
            "TCP options" | "list of IPv6" | "list of names" => Repr::List,
            _ => Repr::Dec,
        },
    }
}

/// scapy's default for a field craft leaves to be computed (None) but scapy does not.
fn scapy_default(kind: LayerKind, name: &str) -> Option<Value> {
    use LayerKind as K;
    let v = match (kind, name) {
        (K::Ether, "type") => 0x9000,
        (K::Dot1Q, "type") => 0,
        (K::Ip, "proto") => 0,
        (K::Ipv6, "nh") | (K::HopByHop | K::DestOpt | K::Routing | K::Fragment, "nh") => 59,
        (K::Ipv6, "hlim") => 64,
        (K::Udp, "dport") => 53,
        _ => return None,
    };
    Some(Value::Int(v))
}

fn icmp_type(l: &Layer) -> i64 {
    match l.get("type") {
        Some(Value::Int(t)) => t,
        _ => -1,
    }
}

impl<'a> View<'a> {
    pub fn new(p: &'a Pkt) -> View<'a> {
        View { p }
    }

    pub fn len(&self) -> usize {
        self.p.packet.layers.len()
    }

    pub fn layer(&self, i: usize) -> &Layer {
        &self.p.packet.layers[i]
    }

    /// Whether layer `i` came from dissection (all its fields given).
    pub fn dissected(&self, i: usize) -> bool {
        self.p.given.get(i) == Some(&u64::MAX)
    }

    /// Whether scapy's dissector would make layer `i` an error class (`IPerror`): it is
    /// inside an ICMP or ICMPv6 error message.
    fn in_error(&self, i: usize) -> bool {
        self.dissected(i) && (0..i).any(|j| self.layer(j).is_icmp_error())
    }

    /// scapy's class name of layer `i`.
    pub fn class_name(&self, i: usize) -> &'static str {
        let kind = self.layer(i).kind();
        if self.in_error(i) {
            match kind {
                LayerKind::Ip => return "IPerror",
                LayerKind::Ipv6 => return "IPerror6",
                LayerKind::Tcp => return "TCPerror",
                LayerKind::Udp => return "UDPerror",
                LayerKind::Icmp => return "ICMPerror",
                _ => {}
            }
        }
        kind.name()
    }

    /// scapy's `name` of layer `i`, as show() prints it.
    pub fn long_name(&self, i: usize) -> &'static str {
        match self.class_name(i) {
            "IPerror" => "IP in ICMP",
            "IPerror6" => "IPv6 in ICMPv6",
            "TCPerror" => "TCP in ICMP",
            "UDPerror" => "UDP in ICMP",
            "ICMPerror" => "ICMP in ICMP",
            _ => self.layer(i).kind().long_name(),
        }
    }

    /// scapy's fields of layer `i`, in order.
    pub fn fields(&self, i: usize) -> Vec<SField> {
        let l = self.layer(i);
        let kind = l.kind();
        let mut out = Vec::new();
        for f in kind.fields() {
            let fmt = match l.names(f.name) {
                Some(t) => Fmt::Enum(t),
                None => f.fmt,
            };
            let repr = layer_repr(kind, f.name, fmt, f.kind);
            if kind == LayerKind::Icmp && f.name == "unused" {
                out.push(SField { name: "unused", repr: Repr::Dec, src: Src::IcmpUnused, present: true });
                continue;
            }
            out.push(SField { name: f.name, repr, src: Src::Field, present: l.present(f.name) });
        }
        let rfc4884 = match kind {
            LayerKind::Icmp => matches!(icmp_type(l), 3 | 11 | 12),
            LayerKind::Icmpv6DestUnreach | LayerKind::Icmpv6TimeExceeded => true,
            _ => false,
        };
        if rfc4884 {
            out.push(SField { name: "extpad", repr: Repr::Bytes, src: Src::Extpad, present: true });
            out.push(SField { name: "ext", repr: Repr::Dec, src: Src::Ext, present: true });
        }
        out
    }

    /// Whether the field is in scapy's `Packet.fields`.
    pub fn given(&self, i: usize, f: &SField) -> bool {
        match f.src {
            Src::Field => self.p.is_given(i, f.name),
            Src::IcmpUnused | Src::Extpad => self.dissected(i),
            // ICMPv6 errors' dissection sets ext (to None); ICMP's leaves it out.
            Src::Ext => self.dissected(i) && self.layer(i).kind() != LayerKind::Icmp,
        }
    }

    /// The value held (craft's value for the field).
    pub fn value(&self, i: usize, f: &SField) -> Value {
        let l = self.layer(i);
        match f.src {
            Src::Field => l.get(f.name).unwrap_or(Value::None),
            Src::IcmpUnused => match icmp_type(l) {
                0 | 3 | 5 | 8 | 13..=18 => Value::Bytes(Vec::new()),
                11 | 12 => match l.get("unused") {
                    Some(Value::Int(u)) => Value::Int(u & 0xffff),
                    other => other.unwrap_or(Value::None),
                },
                _ => l.get("unused").unwrap_or(Value::None),
            },
            Src::Extpad => Value::Bytes(Vec::new()),
            Src::Ext => Value::None,
        }
    }

    /// What the layer above sets in this one when not given (scapy's overload_fields).
    pub fn overloaded(&self, i: usize, name: &str) -> Option<Value> {
        use LayerKind as K;
        let up = self.p.packet.layers.get(i + 1)?.kind();
        let kind = self.layer(i).kind();
        let v = match (kind, name) {
            (K::Ether | K::Dot1Q, "type") if matches!(up, K::Dot1Q | K::Arp | K::Ip | K::Ipv6) => up.ethertype()? as i64,
            (K::Ip, "proto") if matches!(up, K::Ip | K::Tcp | K::Udp | K::Icmp | K::Ipv6) => up.ip_proto()? as i64,
            (K::Ip, "frag") if matches!(up, K::Ip | K::Tcp | K::Udp | K::Icmp) => 0,
            (K::Ipv6 | K::HopByHop | K::DestOpt | K::Routing | K::Fragment, "nh") if up != K::Icmp && up != K::Gue => {
                up.ip_proto()? as i64
            }
            // scapy also overloads dst=ff02::1 for ND; craft builds the dst it holds.
            (K::Ipv6 | K::HopByHop | K::DestOpt | K::Routing | K::Fragment, "hlim")
                if matches!(up, K::Icmpv6NdNs | K::Icmpv6NdNa) && kind == K::Ipv6 =>
            {
                255
            }
            _ => return None,
        };
        Some(Value::Int(v))
    }

    /// scapy's `getfieldval`: given, else overloaded, else the default.
    pub fn getfieldval(&self, i: usize, f: &SField) -> Value {
        if self.given(i, f) {
            return self.value(i, f);
        }
        if let Some(v) = self.overloaded(i, f.name) {
            return v;
        }
        match self.value(i, f) {
            Value::None if f.src == Src::Field => scapy_default(self.layer(i).kind(), f.name).unwrap_or(Value::None),
            v => v,
        }
    }

    /// A field by name, present or not (scapy's `hasattr`).
    pub fn field(&self, i: usize, name: &str) -> Option<SField> {
        self.fields(i).into_iter().find(|f| f.name == name)
    }

    /// scapy's `i2repr` of the field.
    pub fn i2repr(&self, i: usize, f: &SField, v: &Value) -> String {
        let named = |t: &[(u64, &'static str)], n: i64| t.iter().find(|(k, _)| *k as i64 == n).map(|(_, s)| *s);
        match (f.repr, v) {
            (_, Value::None) => "None".into(),
            (Repr::Dec, Value::Int(n)) => n.to_string(),
            (Repr::Hex, Value::Int(n)) => format!("{n:#x}"),
            (Repr::Enum(t), Value::Int(n)) => named(t, *n).map_or_else(|| n.to_string(), str::to_string),
            (Repr::XEnum(t), Value::Int(n)) => named(t, *n).map_or_else(|| format!("{n:#x}"), str::to_string),
            (Repr::EtherType, Value::Int(n)) => names::ethertype(*n as u64).map_or_else(|| format!("{n:#x}"), str::to_string),
            (Repr::IpProto, Value::Int(n)) => names::ip_proto(*n as u64).map_or_else(|| n.to_string(), str::to_string),
            (Repr::Ipv6Nh, Value::Int(n)) => named(names::IPV6_NH, *n).map_or_else(|| n.to_string(), str::to_string),
            (Repr::TcpPort, Value::Int(n)) => names::tcp_service(*n as u64).map_or_else(|| n.to_string(), str::to_string),
            (Repr::UdpPort, Value::Int(n)) => names::udp_service(*n as u64).map_or_else(|| n.to_string(), str::to_string),
            (Repr::Flags(l), Value::Int(n)) => craft::field::flags_str(*n as u64, l),
            (Repr::LayerNames, Value::Int(n)) => match self.layer(i).names(f.name) {
                Some(t) => named(t, *n).map_or_else(|| n.to_string(), str::to_string),
                None => n.to_string(),
            },
            (_, Value::Str(s)) => s.clone(),
            (Repr::PktList, Value::Bytes(b)) if b.is_empty() => "[]".into(),
            (_, other) => py_repr(other),
        }
    }

    /// The repr of field `name` of layer `i` as sprintf's `%name%` gives it.
    pub fn repr_of(&self, i: usize, name: &str) -> String {
        match self.field(i, name) {
            Some(f) => self.i2repr(i, &f, &self.getfieldval(i, &f)),
            None => "??".into(),
        }
    }

    /// scapy's `mysummary()` of layer `i` (empty: the layer has none).
    pub fn mysummary(&self, i: usize) -> String {
        use LayerKind as K;
        let l = self.layer(i);
        if self.in_error(i) && matches!(l.kind(), K::Ip | K::Ipv6 | K::Tcp | K::Udp | K::Icmp) {
            return String::new();
        }
        let r = |name: &str| self.repr_of(i, name);
        let under = i.checked_sub(1);
        let under_kind = under.map(|u| self.layer(u).kind());
        match l.kind() {
            K::Ether => format!("{} > {} ({})", r("src"), r("dst"), r("type")),
            K::Dot1Q => match under_kind {
                Some(K::Ether) => {
                    let u = i - 1;
                    format!("802.1q {} > {} ({}) vlan {}", self.repr_of(u, "src"), self.repr_of(u, "dst"), r("type"), r("vlan"))
                }
                _ => format!("802.1q ({}) vlan {}", r("type"), r("vlan")),
            },
            K::Arp => match self.getfieldval(i, &self.field(i, "op").expect("ARP op")) {
                Value::Int(1) => format!("ARP who has {} says {}", r("pdst"), r("psrc")),
                Value::Int(2) => format!("ARP is at {} says {}", r("hwsrc"), r("psrc")),
                _ => format!("ARP {} {} > {}", r("op"), r("psrc"), r("pdst")),
            },
            K::Ip => {
                let mut s = format!("{} > {} {}", r("src"), r("dst"), r("proto"));
                if let Some(f) = self.field(i, "frag") {
                    if let Value::Int(n) = self.getfieldval(i, &f) {
                        if n != 0 {
                            s.push_str(&format!(" frag:{n}"));
                        }
                    }
                }
                s
            }
            K::Ipv6 => {
                let plain = |name: &str| match self.field(i, name).map(|f| self.getfieldval(i, &f)) {
                    Some(Value::Str(s)) => s,
                    Some(Value::Int(n)) => n.to_string(),
                    _ => "None".into(),
                };
                format!("{} > {} ({})", plain("src"), plain("dst"), plain("nh"))
            }
            K::Tcp | K::Udp => {
                let name = if l.kind() == K::Tcp { "TCP" } else { "UDP" };
                let flags = if l.kind() == K::Tcp { format!(" {}", r("flags")) } else { String::new() };
                match under_kind {
                    Some(K::Ip | K::Ipv6) => {
                        let u = i - 1;
                        format!(
                            "{name} {}:{} > {}:{}{flags}",
                            self.repr_of(u, "src"),
                            r("sport"),
                            self.repr_of(u, "dst"),
                            r("dport")
                        )
                    }
                    _ => format!("{name} {} > {}{flags}", r("sport"), r("dport")),
                }
            }
            K::Icmp => match under_kind {
                Some(K::Ip) => {
                    let u = i - 1;
                    format!("ICMP {} > {} {} {}", self.repr_of(u, "src"), self.repr_of(u, "dst"), r("type"), r("code"))
                }
                _ => format!("ICMP {} {}", r("type"), r("code")),
            },
            K::Icmpv6EchoRequest | K::Icmpv6EchoReply => format!("{} (id: {} seq: {})", l.kind().long_name(), r("id"), r("seq")),
            K::Icmpv6NdOptSrcLladdr | K::Icmpv6NdOptDstLladdr => format!("{} {}", l.kind().long_name(), r("lladdr")),
            _ => String::new(),
        }
    }
}
