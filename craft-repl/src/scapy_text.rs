//! scapy's text forms of packets: repr, summary, show, command, hexdump, sprintf, ls —
//! byte for byte as scapy 2.8.0 prints them (colour off), checked against
//! `fixtures/scapy/text_vectors.jsonl` (see `fixtures/scapy/README.md` for what differs).
//!
//! scapy shows a field by its class (`XShortField` in hex, enum fields by name, port
//! names from `/etc/services`...): [`model`] maps craft's fields to those classes, and
//! [`Pkt::given`] says which fields scapy would hold in `Packet.fields`. A field neither
//! given nor overloaded by the layer above (`proto=tcp` under `IP()/TCP()`) shows scapy's
//! default.

mod format;
mod ls_table;
mod model;
mod names;

use std::fmt::Write;

use craft::field::Value;
use craft::layer::DissectCx;
use craft::packet::LayerKind;

use crate::pkt::Pkt;
use model::{Repr, Src, View};

pub use format::{py_bytes_repr, py_repr, py_str_repr};

/// ANSI colours after scapy's default theme.
struct Theme {
    on: bool,
}

impl Theme {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn layer_name(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn field_name(&self, s: &str) -> String {
        self.paint("34", s)
    }
    fn field_value(&self, s: &str) -> String {
        self.paint("35", s)
    }
    /// Punctuation is plain in scapy's default theme.
    fn punct(&self, s: &str) -> String {
        s.to_string()
    }
}

/// scapy's `repr(p)`: `<IP  frag=0 proto=tcp |<TCP  |>>`, given and overloaded fields.
pub fn repr(p: &Pkt) -> String {
    let v = View::new(p);
    let mut s = String::new();
    for i in 0..v.len() {
        s.push('<');
        s.push_str(v.class_name(i));
        s.push(' ');
        for f in v.fields(i).iter().filter(|f| f.present) {
            let val = if v.given(i, f) {
                v.value(i, f)
            } else if let Some(o) = v.overloaded(i, f.name) {
                o
            } else {
                continue;
            };
            if is_empty_list(f, &val) {
                continue;
            }
            // A field given a set of values (or a short MAC) shows what was written.
            let text = match p.sets.iter().find(|s| s.layer == i && s.field == f.name) {
                Some(set) => written_repr(&set.written),
                None => v.i2repr(i, f, &val),
            };
            let _ = write!(s, " {}={text}", f.name);
        }
        s.push_str(" |");
    }
    s.push_str(&">".repeat(v.len()));
    s
}

/// How scapy shows a value kept as written: a network as `Net("10.0.0.0/30")`, a string
/// bare (as its fields' i2repr does), anything else as Python's repr.
fn written_repr(v: &Value) -> String {
    match v {
        Value::Str(s) if s.contains('/') && s.contains(':') => format!("Net6(\"{s}\")"),
        Value::Str(s) if s.contains('/') => format!("Net(\"{s}\")"),
        Value::Str(s) => s.clone(),
        v => py_repr(v),
    }
}

/// scapy's `getfieldval` for field `name` of layer `i`: the value given, else the one the
/// layer above sets (`proto` under TCP), else scapy's default; None for unknown fields.
pub fn getfieldval(p: &Pkt, i: usize, name: &str) -> Option<Value> {
    let v = View::new(p);
    if i >= v.len() {
        return None;
    }
    let f = v.field(i, name)?;
    Some(v.getfieldval(i, &f))
}

fn is_empty_list(f: &model::SField, v: &Value) -> bool {
    match (f.repr, v) {
        (_, Value::List(l)) => l.is_empty(),
        (Repr::PktList, Value::Bytes(b)) => b.is_empty(),
        _ => false,
    }
}

/// scapy's `p.summary()`: `Ether / IP / TCP 192.0.2.1:ftp_data > 198.51.100.7:http S`.
pub fn summary(p: &Pkt) -> String {
    let v = View::new(p);
    let mut found = false;
    let mut s = String::new();
    for i in (0..v.len()).rev() {
        let mut ret = String::new();
        if !found {
            ret = v.mysummary(i);
        }
        if !ret.is_empty() {
            found = true;
        }
        if ret.is_empty() {
            ret = v.class_name(i).to_string();
        }
        s = if s.is_empty() { ret } else { format!("{ret} / {s}") };
    }
    s
}

/// scapy's `show()` text (`show(dump=True)`; scapy's `show()` prints it and one more
/// newline). `color` paints it after scapy's default theme.
pub fn show(p: &Pkt, color: bool) -> String {
    show_view(&View::new(p), &Theme { on: color })
}

/// scapy's `show2()`: `show()` of the packet as its bytes dissect, auto fields computed.
pub fn show2(p: &Pkt, color: bool) -> String {
    show2_with(p, color, &DissectCx::default())
}

/// [`show2`] with `cx`'s bindings (a session's `conf.dissect`).
pub fn show2_with(p: &Pkt, color: bool, cx: &DissectCx) -> String {
    show(&resolved_with(p, cx), color)
}

/// The packet as built and dissected back (scapy's `p.__class__(raw(p))`).
pub fn resolved(p: &Pkt) -> Pkt {
    resolved_with(p, &DissectCx::default())
}

/// [`resolved`] with `cx`'s bindings.
pub fn resolved_with(p: &Pkt, cx: &DissectCx) -> Pkt {
    match p.packet.layers.first() {
        Some(first) => Pkt::dissect_with(&p.packet.build(), first.kind(), cx),
        None => Pkt::dissected(craft::packet::Packet::new()),
    }
}

fn show_view(v: &View, t: &Theme) -> String {
    let mut s = String::new();
    for i in 0..v.len() {
        let lvl = " ".repeat(3 * i);
        let _ = writeln!(s, "{} {} {}", t.punct("###["), t.layer_name(v.long_name(i)), t.punct("]###"));
        for f in v.fields(i).iter().filter(|f| f.present) {
            let pad = " ".repeat(10usize.saturating_sub(f.name.len()));
            if f.repr == Repr::PktList {
                let _ = writeln!(s, "{lvl}  {}{}{pad}{}", t.punct("\\"), t.field_name(f.name), t.punct("\\"));
                continue;
            }
            let val = v.i2repr(i, f, &v.getfieldval(i, f));
            let _ = writeln!(s, "{lvl}  {}{pad}{} {}", t.field_name(f.name), t.punct("="), t.field_value(&val));
        }
    }
    s
}

/// scapy's `p.command()`: the given fields of each layer, values as Python literals.
pub fn command(p: &Pkt) -> String {
    let v = View::new(p);
    let mut parts = Vec::new();
    for i in 0..v.len() {
        let mut args = Vec::new();
        for f in v.fields(i).iter() {
            if !v.given(i, f) || (f.src == Src::Field && !f.present) {
                continue;
            }
            let val = v.value(i, f);
            if is_empty_list(f, &val) {
                continue;
            }
            let text = match &val {
                Value::List(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(",")),
                other => py_repr(other),
            };
            args.push(format!("{}={text}", f.name));
        }
        parts.push(format!("{}({})", v.class_name(i), args.join(", ")));
    }
    parts.join("/")
}

/// scapy's `hexdump(x, dump=True)`: `0000  45 00 ...  E...`, 16 bytes a line.
pub fn hexdump(bytes: &[u8]) -> String {
    craft::show::hexdump(bytes)
}

/// The repr of a flags value: `<Flag 18 (SA)>` for TCP flags, `<Flag 2 (DF)>` for IP's.
pub fn flag_repr(value: u64, letters: &[&str]) -> String {
    format!("<Flag {value} ({})>", craft::field::flags_str(value, letters))
}

/// scapy's `p.sprintf(fmt)` (relaxed: a missing layer or field gives `??`):
/// `%IP.src%`, `%-15s,IP.src%`, `%r,TCP.flags%`, `%IP:2.src%`, `{TCP:...}`, `{!IP:...}`,
/// `%%`, `%(`, `%)`. `%.time%` is not supported (packets here have no time).
pub fn sprintf(p: &Pkt, fmt: &str) -> Result<String, String> {
    format::sprintf(&View::new(p), fmt)
}

/// scapy's `ls(LAYER)`: each field with its scapy field class and default.
pub fn ls_layer(kind: LayerKind) -> String {
    let mut s = String::new();
    let rows = ls_table::LS.iter().find(|(name, _)| *name == kind.name());
    match rows {
        Some((_, rows)) => {
            for (name, cls, dflt) in rows.iter() {
                let dflt = if kind == LayerKind::Icmp && name.starts_with("ts_") {
                    format!("'{}'", ms_since_midnight())
                } else {
                    dflt.to_string()
                };
                let _ = writeln!(s, "{name:<10} : {cls:<35} = ({dflt})");
            }
        }
        None => {
            // Not a scapy layer (GUE): craft's fields in the same layout.
            let defaults = kind.new_layer();
            for f in kind.fields() {
                let dflt = defaults.get(f.name).unwrap_or(Value::None);
                let _ = writeln!(s, "{:<10} : {:<35} = ({})", f.name, f.kind, py_str_repr(&py_repr(&dflt)));
            }
        }
    }
    s
}

/// scapy's ICMP timestamp default: milliseconds since midnight UTC.
fn ms_since_midnight() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_millis() % 86_400_000) as u64
}

/// Evaluates a scapy expression into a [`Pkt`], as craft-repl does: the fields named in
/// it are given; a layer dissected from bytes (`IP(b'..')`) has all its fields given.
pub fn from_expr(src: &str) -> Result<Pkt, String> {
    let e = craft::text::python::parse_expression(src).map_err(|e| e.to_string())?;
    let mut me = crate::interp::Interp::new(Box::new(std::io::sink()));
    me.sandbox = true;
    match me.eval(&e) {
        Ok(crate::value::Val::Packet(p)) => Ok(p.to_pkt()),
        Ok(other) => Err(format!("the expression is a {}, not a packet", other.type_name())),
        Err(crate::interp::Flow::Error(e)) => Err(format!("{}:{}: {}", e.pos.line, e.pos.col, e.msg)),
        Err(_) => Err("the expression did not end with a value".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_reprs() {
        assert_eq!(flag_repr(18, craft::layers::tcp::TCP_FLAGS), "<Flag 18 (SA)>");
        assert_eq!(flag_repr(2, craft::layers::ip::IP_FLAGS), "<Flag 2 (DF)>");
        assert_eq!(flag_repr(0, craft::layers::ip::IP_FLAGS), "<Flag 0 ()>");
    }

    #[test]
    fn from_expr_marks_keywords() {
        let p = from_expr("IP(src='1.2.3.4', ttl=64)/TCP()/b'x'").unwrap();
        assert!(p.is_given(0, "ttl"));
        assert!(p.is_given(0, "src"));
        assert!(!p.is_given(0, "dst"));
        assert!(!p.is_given(1, "sport"));
        assert!(p.is_given(2, "load"));
        let d = from_expr("IP(b'\\x45\\x00\\x00\\x14\\x00\\x01\\x00\\x00\\x40\\x00\\x00\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08')").unwrap();
        assert!(d.is_given(0, "chksum"));
    }
}
