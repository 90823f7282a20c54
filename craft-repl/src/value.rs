//! The REPL's values: Python's (ints, strings, bytes, lists...) and scapy's (packets,
//! layer classes, flag values, packet lists, conf), with Python's repr and str.

use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;

use craft::field::{Fmt, Value};
use craft::packet::LayerKind;
use craft::text::python::{Expr, Param, Stmt};

use crate::pkt::Pkt;
pub use crate::scapy_text::{py_bytes_repr as bytes_repr, py_str_repr as str_repr};

/// A value.
#[derive(Clone, Debug)]
pub enum Val {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<RefCell<Vec<Val>>>),
    Tuple(Rc<[Val]>),
    Dict(Rc<RefCell<Vec<(Val, Val)>>>),
    Set(Rc<RefCell<Vec<Val>>>),
    /// A packet from one of its layers on: `p[IP]` is a view of `p` (scapy's layers are
    /// objects in a chain, so changing `p[IP].ttl` changes `p`).
    Packet(PktRef),
    /// A layer class: `IP`, called to make a layer or dissect bytes.
    Class(LayerKind),
    /// A flags field's value: `<Flag 18 (SA)>`.
    Flags(FlagVal),
    /// A built-in function, by name.
    Builtin(&'static str),
    /// A method bound to its receiver, by name.
    Method(Box<Val>, &'static str),
    /// A function made by `def` or `lambda`.
    Func(Rc<Func>),
    /// A list of packets (or of (sent, received) pairs) with scapy's name for it.
    Packets(Rc<PacketList>),
    /// `range(start, stop, step)`.
    Range(i128, i128, i128),
    /// A type used as a function or a namespace: `int`, `str`, `bytes`...
    Type(&'static str),
    /// scapy's `conf`.
    Conf,
    /// scapy's AsyncSniffer: a capture running while the session goes on.
    Sniffer(Rc<crate::sniffer::AsyncSniffer>),
}

/// A packet from layer `start` on.
#[derive(Clone, Debug)]
pub struct PktRef {
    pub pkt: Rc<RefCell<Pkt>>,
    pub start: usize,
}

impl PktRef {
    pub fn new(p: Pkt) -> PktRef {
        PktRef { pkt: Rc::new(RefCell::new(p)), start: 0 }
    }

    /// A copy of the layers from `start` on, as a packet of its own.
    pub fn to_pkt(&self) -> Pkt {
        let p = self.pkt.borrow();
        if self.start == 0 {
            return p.clone();
        }
        p.tail(self.start)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlagVal {
    pub bits: u64,
    pub letters: &'static [&'static str],
}

impl FlagVal {
    /// The letters (`SA`) or names (`DF+MF`) of the bits set.
    pub fn names(&self) -> String {
        craft::field::flags_str(self.bits, self.letters)
    }
}

#[derive(Debug)]
pub struct Func {
    pub name: String,
    pub params: Vec<Param>,
    /// Default values, evaluated when the function was defined.
    pub defaults: Vec<Option<Val>>,
    pub body: FuncBody,
}

#[derive(Debug)]
pub enum FuncBody {
    Lambda(Expr),
    Block(Vec<Stmt>),
}

/// scapy's PacketList, SndRcvList and friends: what `sniff`, `sr`, `rdpcap` return.
#[derive(Debug)]
pub struct PacketList {
    /// `PacketList`, `Sniffed`, `Results`, `Unanswered`.
    pub name: &'static str,
    /// Packets, or (sent, received) tuples for `Results`.
    pub items: RefCell<Vec<Val>>,
}

impl Val {
    pub fn str(s: impl Into<Rc<str>>) -> Val {
        Val::Str(s.into())
    }

    pub fn bytes(b: impl Into<Rc<[u8]>>) -> Val {
        Val::Bytes(b.into())
    }

    pub fn list(items: Vec<Val>) -> Val {
        Val::List(Rc::new(RefCell::new(items)))
    }

    pub fn tuple(items: Vec<Val>) -> Val {
        Val::Tuple(items.into())
    }

    pub fn packet(p: Pkt) -> Val {
        Val::Packet(PktRef::new(p))
    }

    /// Python's type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::None => "NoneType",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Str(_) => "str",
            Val::Bytes(_) => "bytes",
            Val::List(_) => "list",
            Val::Tuple(_) => "tuple",
            Val::Dict(_) => "dict",
            Val::Set(_) => "set",
            Val::Packet(_) => "Packet",
            Val::Class(_) => "type",
            Val::Flags(_) => "FlagValue",
            Val::Builtin(_) | Val::Method(..) | Val::Func(_) => "function",
            Val::Packets(_) => "PacketList",
            Val::Range(..) => "range",
            Val::Type(_) => "type",
            Val::Conf => "Conf",
            Val::Sniffer(_) => "AsyncSniffer",
        }
    }

    /// Python's truth value.
    pub fn truthy(&self) -> bool {
        match self {
            Val::None => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Bytes(b) => !b.is_empty(),
            Val::List(l) | Val::Set(l) => !l.borrow().is_empty(),
            Val::Tuple(t) => !t.is_empty(),
            Val::Dict(d) => !d.borrow().is_empty(),
            Val::Flags(f) => f.bits != 0,
            Val::Packets(p) => !p.items.borrow().is_empty(),
            Val::Packet(p) => p.start < p.pkt.borrow().packet.layers.len(),
            Val::Range(a, b, s) => range_len(*a, *b, *s) > 0,
            _ => true,
        }
    }

    /// The value as an int, for ints, bools and flag values.
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Bool(b) => Some(*b as i128),
            Val::Flags(f) => Some(f.bits as i128),
            _ => None,
        }
    }

    /// Python's `==`.
    pub fn py_eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::None, Val::None) => true,
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Bytes(a), Val::Bytes(b)) => a == b,
            (Val::Float(a), b) => b.as_float().is_some_and(|b| *a == b),
            (a, Val::Float(b)) => a.as_float().is_some_and(|a| a == *b),
            // scapy's FlagValue equals its letters too: flags == "SA".
            (Val::Flags(f), Val::Str(s)) | (Val::Str(s), Val::Flags(f)) => {
                craft::field::parse_flags(s, f.letters).is_ok_and(|b| b == f.bits)
            }
            (a, b) if a.as_int().is_some() && b.as_int().is_some() => a.as_int() == b.as_int(),
            (Val::List(a), Val::List(b)) | (Val::Set(a), Val::Set(b)) => seq_eq(&a.borrow(), &b.borrow()),
            (Val::Tuple(a), Val::Tuple(b)) => seq_eq(a, b),
            (Val::Dict(a), Val::Dict(b)) => {
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len() && a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k.py_eq(k2) && v.py_eq(v2)))
            }
            (Val::Packet(a), Val::Packet(b)) => a.to_pkt() == b.to_pkt(),
            (Val::Class(a), Val::Class(b)) => a == b,
            (Val::Builtin(a), Val::Builtin(b)) | (Val::Type(a), Val::Type(b)) => a == b,
            (Val::Func(a), Val::Func(b)) => Rc::ptr_eq(a, b),
            (Val::Packets(a), Val::Packets(b)) => seq_eq(&a.items.borrow(), &b.items.borrow()),
            (Val::Range(a, b, c), Val::Range(d, e, f)) => (a, b, c) == (d, e, f),
            (Val::Conf, Val::Conf) => true,
            (Val::Sniffer(a), Val::Sniffer(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Val::Float(f) => Some(*f),
            other => other.as_int().map(|i| i as f64),
        }
    }

    /// Python's `repr()`; packets as scapy prints them.
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.write_repr(&mut s, 0);
        s
    }

    fn write_repr(&self, s: &mut String, depth: usize) {
        if depth > 64 {
            s.push_str("...");
            return;
        }
        let seq = |s: &mut String, items: &[Val], open: &str, close: &str| {
            s.push_str(open);
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                v.write_repr(s, depth + 1);
            }
            s.push_str(close);
        };
        match self {
            Val::None => s.push_str("None"),
            Val::Bool(b) => s.push_str(if *b { "True" } else { "False" }),
            Val::Int(i) => {
                let _ = write!(s, "{i}");
            }
            Val::Float(f) => s.push_str(&float_repr(*f)),
            Val::Str(t) => s.push_str(&str_repr(t)),
            Val::Bytes(b) => s.push_str(&bytes_repr(b)),
            Val::List(l) => seq(s, &l.borrow(), "[", "]"),
            Val::Tuple(t) if t.len() == 1 => seq(s, t, "(", ",)"),
            Val::Tuple(t) => seq(s, t, "(", ")"),
            Val::Set(l) if l.borrow().is_empty() => s.push_str("set()"),
            Val::Set(l) => seq(s, &l.borrow(), "{", "}"),
            Val::Dict(d) => {
                s.push('{');
                for (i, (k, v)) in d.borrow().iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    k.write_repr(s, depth + 1);
                    s.push_str(": ");
                    v.write_repr(s, depth + 1);
                }
                s.push('}');
            }
            Val::Packet(p) => s.push_str(&crate::scapy_text::repr(&p.to_pkt())),
            Val::Class(k) => {
                let _ = write!(s, "<class '{}.{}'>", class_module(*k), k.name());
            }
            Val::Flags(f) => {
                let _ = write!(s, "<Flag {} ({})>", f.bits, f.names());
            }
            Val::Builtin(name) => {
                let _ = write!(s, "<function {name}>");
            }
            Val::Method(recv, name) => {
                let _ = write!(s, "<bound method {}.{name}>", recv.type_name());
            }
            Val::Func(f) => {
                let _ = write!(s, "<function {}>", f.name);
            }
            Val::Packets(l) => {
                let _ = write!(s, "<{}: {}>", l.name, stats(&l.items.borrow()));
            }
            Val::Range(a, b, c) if *c == 1 => {
                let _ = write!(s, "range({a}, {b})");
            }
            Val::Range(a, b, c) => {
                let _ = write!(s, "range({a}, {b}, {c})");
            }
            Val::Type(name) => {
                let _ = write!(s, "<class '{name}'>");
            }
            Val::Conf => s.push_str("<Conf>"),
            Val::Sniffer(t) => s.push_str(&t.repr()),
        }
    }

    /// Python's `str()`: strings bare, flag values by their letters, the rest as repr.
    pub fn to_str(&self) -> String {
        match self {
            Val::Str(s) => s.to_string(),
            Val::Flags(f) => f.names(),
            // scapy's str() of a packet is its summary.
            Val::Packet(p) => crate::scapy_text::summary(&p.to_pkt()),
            other => other.repr(),
        }
    }

    /// The craft value a field is set from; None for values no field takes.
    pub fn to_field(&self) -> Option<Value> {
        Some(match self {
            Val::None => Value::None,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::Int(i64::try_from(*i).ok()?),
            Val::Flags(f) => Value::Int(f.bits as i64),
            Val::Str(s) => Value::Str(s.to_string()),
            Val::Bytes(b) => Value::Bytes(b.to_vec()),
            Val::List(l) => Value::List(l.borrow().iter().map(Val::to_field).collect::<Option<_>>()?),
            Val::Tuple(t) => Value::Tuple(t.iter().map(Val::to_field).collect::<Option<_>>()?),
            Val::Range(a, b, c) => {
                let items = range_items(*a, *b, *c).into_iter().map(|i| i64::try_from(i).ok().map(Value::Int));
                Value::List(items.collect::<Option<_>>()?)
            }
            _ => return None,
        })
    }

    /// A field's value as Python sees it: flags as flag values, the rest as is.
    pub fn from_field(v: &Value, fmt: Fmt) -> Val {
        match (v, fmt) {
            (Value::Int(i), Fmt::Flags(letters)) => Val::Flags(FlagVal { bits: *i as u64, letters }),
            (Value::None, _) => Val::None,
            (Value::Bool(b), _) => Val::Bool(*b),
            (Value::Int(i), _) => Val::Int(*i as i128),
            (Value::Str(s), _) => Val::str(s.as_str()),
            (Value::Bytes(b), _) => Val::bytes(b.as_slice()),
            (Value::List(items), _) => Val::list(items.iter().map(|v| Val::from_field(v, Fmt::Dec)).collect()),
            (Value::Tuple(items), _) => Val::tuple(items.iter().map(|v| Val::from_field(v, Fmt::Dec)).collect()),
        }
    }
}

fn seq_eq(a: &[Val], b: &[Val]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
}

/// The module scapy defines a layer class in, for `<class 'scapy.layers.inet.IP'>`.
fn class_module(k: LayerKind) -> &'static str {
    match k.name() {
        "Raw" | "Padding" => "scapy.packet",
        "Ether" | "Dot1Q" | "ARP" | "GUE" => "scapy.layers.l2",
        n if n.starts_with("IPv6") || n.starts_with("ICMPv6") => "scapy.layers.inet6",
        _ => "scapy.layers.inet",
    }
}

/// scapy's `TCP:1 UDP:0 ICMP:0 Other:2` of a packet list (answers count for pairs).
pub fn stats(items: &[Val]) -> String {
    let mut counts = [0usize; 4];
    for v in items {
        let p = match v {
            Val::Tuple(pair) if pair.len() == 2 => &pair[1],
            v => v,
        };
        let slot = match p {
            Val::Packet(r) => {
                let pkt = r.pkt.borrow();
                let has = |k: LayerKind| pkt.packet.layers[r.start.min(pkt.packet.layers.len())..].iter().any(|l| l.kind() == k);
                if has(LayerKind::Tcp) {
                    0
                } else if has(LayerKind::Udp) {
                    1
                } else if has(LayerKind::Icmp) {
                    2
                } else {
                    3
                }
            }
            _ => 3,
        };
        counts[slot] += 1;
    }
    format!("TCP:{} UDP:{} ICMP:{} Other:{}", counts[0], counts[1], counts[2], counts[3])
}

/// How many ints `range(start, stop, step)` has (saturating: ranges near the i128 limits
/// only need to be counted, never listed).
pub fn range_len(start: i128, stop: i128, step: i128) -> i128 {
    // ceil(span / step) for span >= 0 and step > 0, without overflow.
    let count = |span: i128, step: i128| if span <= 0 { 0 } else { (span - 1) / step + 1 };
    if step > 0 {
        count(stop.saturating_sub(start), step)
    } else if step < 0 {
        count(start.saturating_sub(stop), step.saturating_neg())
    } else {
        0
    }
}

/// The ints of a range, at most [`MAX_ITEMS`] (an error past that is the caller's).
pub fn range_items(start: i128, stop: i128, step: i128) -> Vec<i128> {
    (0..range_len(start, stop, step).min(MAX_ITEMS as i128)).map(|k| start + k * step).collect()
}

/// The most items one list, range or repetition may have: 10 million (a list of them
/// takes some 300 MB).
pub const MAX_ITEMS: usize = 10_000_000;

/// Python's float repr: the shortest form that reads back, `1e+16` past 16 digits.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        assert_eq!(float_repr(1.5), "1.5");
        assert_eq!(float_repr(2.0), "2.0");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-7), "1.5e-07");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'b\"c\n"), "'a\\'b\"c\\n'");
        assert_eq!(bytes_repr(b"E\x00'"), "b\"E\\x00'\"");
        assert_eq!(bytes_repr(b"\x7f\xff\\"), "b'\\x7f\\xff\\\\'");
        let v = Val::tuple(vec![Val::Int(1)]);
        assert_eq!(v.repr(), "(1,)");
        let d = Val::Dict(Rc::new(RefCell::new(vec![(Val::str("a"), Val::list(vec![Val::None, Val::Bool(true)]))])));
        assert_eq!(d.repr(), "{'a': [None, True]}");
        assert_eq!(Val::Flags(FlagVal { bits: 18, letters: craft::layers::tcp::TCP_FLAGS }).repr(), "<Flag 18 (SA)>");
    }
}
