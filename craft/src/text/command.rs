//! scapy's `command()`: an expression that rebuilds a packet.

use crate::field::{bytes_repr, FieldInfo, Value};
use crate::packet::{Layer, Packet};

/// An expression that rebuilds the packet, listing only the fields that differ from each
/// layer's default, in declaration order: `IP(ttl=3, dst='10.0.0.1')/TCP()/Raw(load=b'x')`.
/// Enum and flag fields are written as numbers, as scapy does. `parse_expr` of it gives
/// the packet back, except for the dissector's truncated and malformed marks on Raw (see `to_ron`).
pub fn command(p: &Packet) -> String {
    p.layers.iter().map(layer_command).collect::<Vec<_>>().join("/")
}

/// One layer's part of [`command`].
pub fn layer_command(l: &Layer) -> String {
    let args: Vec<String> = changed_fields(l).iter().map(|(f, v)| format!("{}={}", f.name, py_repr(v))).collect();
    format!("{}({})", l.kind().name(), args.join(", "))
}

/// The fields whose value differs from the layer's default, in declaration order.
pub(crate) fn changed_fields(l: &Layer) -> Vec<(&'static FieldInfo, Value)> {
    let default = l.kind().new_layer();
    l.kind()
        .fields()
        .iter()
        .filter_map(|f| {
            let v = l.get(f.name)?;
            (default.get(f.name).as_ref() != Some(&v)).then_some((f, v))
        })
        .collect()
}

/// Python's repr, with every control character escaped so the result is one line.
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::Str(s) => py_str_repr(s),
        Value::Bytes(b) => bytes_repr(b),
        Value::List(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Tuple(items) if items.len() == 1 => format!("({},)", py_repr(&items[0])),
        Value::Tuple(items) => format!("({})", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        other => other.repr(),
    }
}

fn py_str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Ether, Ip, Raw, Tcp, TcpOption};
    use crate::packet::LayerKind;
    use crate::text::parse_expr;

    #[test]
    fn lists_changed_fields_like_scapy() {
        // scapy: IP(dst='10.0.0.1', ttl=3).command() == "IP(ttl=3, dst='10.0.0.1')"
        let p: Packet = Ip::new().dst("10.0.0.1").ttl(3).into_packet();
        assert_eq!(command(&p), "IP(ttl=3, dst='10.0.0.1')");
        // scapy: (IP()/TCP(flags='SA')).command() == 'IP()/TCP(flags=18)'
        assert_eq!(command(&(Ip::new() / Tcp::new().flags("SA"))), "IP()/TCP(flags=18)");
        assert_eq!(
            command(&(Ip::new() / Tcp::new().options(vec![TcpOption::Mss(1460), TcpOption::Nop]) / Raw::new().load(b"hi"))),
            "IP()/TCP(options=[('MSS', 1460), ('NOP', None)])/Raw(load=b'hi')"
        );
        assert_eq!(command(&Packet::new()), "");
    }

    #[test]
    fn dissected_packets_round_trip() {
        let p = Ether::new().dst("02:00:00:00:00:33") / Ip::new().dst("10.0.0.2") / Tcp::new().flags("S") / Raw::new().load(b"\x00'\\\n");
        let d = Packet::dissect(&p.build(), LayerKind::Ether);
        let c = command(&d);
        assert!(c.contains("chksum="), "{c}");
        assert_eq!(parse_expr(&c).unwrap(), vec![d]);
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(py_str_repr("a'b\\c\n\x01\u{85}é"), "'a\\'b\\\\c\\n\\x01\\u0085é'");
        assert_eq!(py_repr(&Value::Tuple(vec![Value::Int(1)])), "(1,)");
        assert_eq!(py_repr(&Value::List(vec![Value::None, Value::Bool(true)])), "[None, True]");
    }

    trait IntoPacket {
        fn into_packet(self) -> Packet;
    }
    impl<T: Into<Layer>> IntoPacket for T {
        fn into_packet(self) -> Packet {
            Packet::from(self.into())
        }
    }
}
