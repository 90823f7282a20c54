//! Human views of packets, as scapy prints them: show, show2, summary, hexdump, ls.

use std::borrow::Cow;
use std::fmt::Write;

use crate::field::{FieldInfo, Fmt, Value};
use crate::packet::{Layer, LayerKind, Packet};

impl Packet {
    /// Fields as set; an auto field reads `None (auto: 5)` with the value it builds to.
    pub fn show(&self) -> String {
        let built = self.resolved_view();
        let mut s = String::new();
        for (depth, l) in self.layers.iter().enumerate() {
            let resolved = built.layers.get(depth).filter(|r| r.kind() == l.kind());
            show_layer(&mut s, l, depth, |f, v| match (v, resolved.and_then(|r| r.get(f.name))) {
                (Value::None, Some(r)) if r != Value::None => format!("None (auto: {})", f.show(&r)),
                (v, _) => f.show(v),
            });
        }
        s
    }

    /// Fields as built: every auto field resolved (scapy's show2).
    pub fn show2(&self) -> String {
        let mut s = String::new();
        for (depth, l) in self.resolved().layers.iter().enumerate() {
            show_layer(&mut s, l, depth, |f, v| f.show(v));
        }
        s
    }

    /// The packet as its bytes dissect: every auto field resolved.
    pub fn resolved(&self) -> Packet {
        match self.layers.first() {
            Some(first) => Packet::dissect(&self.build(), first.kind()),
            None => Packet::new(),
        }
    }

    /// Whether some auto field is unset (false for a dissected packet).
    pub fn has_unset_auto_fields(&self) -> bool {
        self.layers.iter().any(|l| {
            let kind = l.kind();
            kind.fields().iter().any(|f| f.auto && l.get(f.name) == Some(Value::None))
        })
    }

    /// `resolved()`, without the rebuild when nothing is left to resolve.
    fn resolved_view(&self) -> Cow<'_, Packet> {
        if self.has_unset_auto_fields() {
            Cow::Owned(self.resolved())
        } else {
            Cow::Borrowed(self)
        }
    }

    /// One line: `Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S`, with auto
    /// fields as they build (a UDP before GUE shows port 6080).
    pub fn summary(&self) -> String {
        let built = self.resolved_view();
        let parts: Vec<String> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match built.layers.get(i) {
                Some(b) if b.kind() == l.kind() => b.summary(),
                _ => l.summary(),
            })
            .collect();
        parts.join(" / ")
    }
}

fn show_layer(s: &mut String, l: &Layer, depth: usize, value: impl Fn(&FieldInfo, &Value) -> String) {
    let kind = l.kind();
    let indent = " ".repeat(2 + 3 * depth);
    let _ = writeln!(s, "###[ {} ]###", kind.long_name());
    for f in kind.fields().iter().filter(|f| l.present(f.name)) {
        let v = l.get(f.name).unwrap_or(Value::None);
        let f = match l.names(f.name) {
            Some(names) => &f.fmt(Fmt::Enum(names)),
            None => f,
        };
        let _ = writeln!(s, "{indent}{:<10}= {}", f.name, value(f, &v));
    }
    // The dissector's notes: "(truncated TCP header)".
    for (note, what) in l.notes() {
        let _ = writeln!(s, "{indent}({note} {what} header)");
    }
}

/// scapy's hexdump: offset, 16 bytes in hex, printable ASCII.
pub fn hexdump(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 5);
    for (i, row) in bytes.chunks(16).enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let _ = write!(s, "{:04x}  ", i * 16);
        for j in 0..16 {
            match row.get(j) {
                Some(&b) => {
                    let [hi, lo] = crate::hex::upper_pair(b);
                    s.extend([hi as char, lo as char, ' ']);
                }
                None => s.push_str("   "),
            }
        }
        s.push(' ');
        s.extend(row.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }));
    }
    s
}

/// scapy's ls(LAYER): each field with its type, default and meaning.
pub fn ls(kind: LayerKind) -> String {
    let defaults = kind.new_layer();
    let mut s = String::new();
    for f in kind.fields() {
        let ty = match f.bits {
            0 => f.kind.to_string(),
            n => format!("{} ({n} bits)", f.kind),
        };
        let default = defaults.get(f.name).map(|v| f.show(&v)).unwrap_or_default();
        let default = if f.auto && default == "None" { "None (auto)".to_string() } else { default };
        let _ = writeln!(s, "{:<10} : {:<20} = {:<18} # {}", f.name, ty, default, f.doc.trim());
    }
    s
}

/// ls without a layer: every layer's name and long name.
pub fn ls_all() -> String {
    let mut s = String::new();
    for k in LayerKind::ALL {
        let _ = writeln!(s, "{:<22}: {}", k.name(), k.long_name());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn pkt() -> Packet {
        Ether::new().dst("02:00:00:00:00:01").src("02:00:00:00:00:02")
            / Ip::new().src("1.1.1.1").dst("2.2.2.2")
            / Tcp::new().options(vec![TcpOption::Mss(1460)])
            / &b"ab"[..]
    }

    #[test]
    fn hexdump_matches_scapy() {
        let expected = "\
0000  02 00 00 00 00 01 02 00 00 00 00 02 08 00 45 00  ..............E.
0010  00 2E 00 01 00 00 40 06 74 C4 01 01 01 01 02 02  ......@.t.......
0020  02 02 00 14 00 50 00 00 00 00 00 00 00 00 60 02  .....P........`.
0030  20 00 10 59 00 00 02 04 05 B4 61 62               ..Y......ab";
        assert_eq!(hexdump(&pkt().build()), expected);
    }

    #[test]
    fn show_marks_auto_fields_and_show2_resolves_them() {
        let p = pkt();
        let show = p.show();
        assert!(show.contains("###[ IP ]###\n     version   = 4\n     ihl       = None (auto: 5)\n"), "{show}");
        assert!(show.contains("     chksum    = None (auto: 0x74c4)\n"), "{show}");
        assert!(show.contains("        flags     = S\n"), "{show}");
        let show2 = p.show2();
        assert!(show2.contains("     ihl       = 5\n"), "{show2}");
        assert!(show2.contains("        chksum    = 0x1059\n"), "{show2}");
        assert!(show2.contains("     proto     = tcp\n"), "{show2}");
    }

    #[test]
    fn icmp_code_named_per_type() {
        let mut icmp = Layer::from(Icmp::new());
        icmp.set("type", &Value::Str("dest-unreach".into())).unwrap();
        icmp.set("code", &Value::Str("port-unreachable".into())).unwrap();
        assert_eq!(icmp.get("code"), Some(Value::Int(3)));
        assert!(icmp.set("code", &Value::Str("no-such-code".into())).is_err());
        let p = Ip::new().src("10.0.0.1").dst("10.0.0.2") / icmp;
        assert!(p.show().contains("     code      = port-unreachable\n"), "{}", p.show());
    }

    #[test]
    fn summary_line() {
        let p = Ether::new() / Ip::new().src("172.17.2.1").dst("172.17.2.2") / Tcp::new().sport(49138).dport(80).flags("S");
        assert_eq!(p.summary(), "Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S");
    }

    #[test]
    fn ls_lists_fields_with_defaults() {
        let s = ls(LayerKind::Ip);
        assert!(s.contains("ttl        : byte                 = 64"), "{s}");
        assert!(s.contains("ihl        : byte (4 bits)        = None (auto)"), "{s}");
        assert!(ls_all().contains("IPv6"));
    }
}
