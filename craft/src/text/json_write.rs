//! JSON written straight into a byte buffer: the same text as [`super::to_json`] rendered
//! by serde_json (compact, members in declaration order), without building a
//! `serde_json::Value` or a [`Value`] per field. `craft dissect --format json` writes every
//! packet of a capture through here.

use std::io::Write;
use std::net::Ipv4Addr;

use crate::field::Value;
use crate::packet::{Layer, Packet};

use crate::hex::PAIRS;

/// Appends the packet as [`super::to_json`] gives it, serialized: a list of layers
/// `{"name":..,"fields":{..}}`, with `"truncated"` / `"malformed"` on a Raw so marked.
pub fn write_json(p: &Packet, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, l) in p.layers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        layer(l, out);
    }
    out.push(b']');
}

fn layer(l: &Layer, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"name\":");
    string(l.kind().name(), out);
    out.extend_from_slice(b",\"fields\":{");
    l.write_json_fields(out);
    out.push(b'}');
    for (note, name) in l.notes() {
        out.push(b',');
        key(note, out);
        string(name, out);
    }
    out.push(b'}');
}

/// `"name":`
pub fn key(name: &str, out: &mut Vec<u8>) {
    string(name, out);
    out.push(b':');
}

/// A JSON string, escaped as serde_json does: `"` and `\`, and control characters as
/// `\b \f \n \r \t` or `\u00XX`; everything else (non-ASCII included) as it is.
pub fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if bytes.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\') {
        // Names, addresses: nothing to escape.
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&PAIRS[b as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Decimal digits of an unsigned integer.
pub fn uint(n: u64, out: &mut Vec<u8>) {
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    while n > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&buf[i..]);
}

fn int(n: i64, out: &mut Vec<u8>) {
    if n < 0 {
        out.push(b'-');
    }
    uint(n.unsigned_abs(), out);
}

/// Lowercase hex of `b`, two digits a byte (as [`crate::field::hex`]), unquoted.
pub fn hex(b: &[u8], out: &mut Vec<u8>) {
    crate::hex::encode_into(b, out);
}

/// Bytes as a JSON string of lowercase hex.
pub fn hex_str(b: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    hex(b, out);
    out.push(b'"');
}

/// `"02:00:00:00:00:01"`
pub fn mac(m: &[u8; 6], out: &mut Vec<u8>) {
    out.push(b'"');
    for (i, &x) in m.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.extend_from_slice(&PAIRS[x as usize]);
    }
    out.push(b'"');
}

/// `"10.0.0.1"`
pub fn ipv4(a: &Ipv4Addr, out: &mut Vec<u8>) {
    out.push(b'"');
    for (i, &x) in a.octets().iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        uint(x as u64, out);
    }
    out.push(b'"');
}

/// A value whose Display form needs no JSON escaping (an IPv6 address), as a string.
pub fn display_str(v: &impl std::fmt::Display, out: &mut Vec<u8>) {
    out.push(b'"');
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{v}");
    out.push(b'"');
}

/// A dynamic value, as [`super::to_json`] shows it.
pub fn value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::None => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => int(*i, out),
        Value::Str(s) => string(s, out),
        Value::Bytes(b) => hex_str(b, out),
        Value::List(items) | Value::Tuple(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(item, out);
            }
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::ip::IpOptions;
    use crate::layers::*;
    use crate::packet::LayerKind;
    use crate::text::to_json;

    fn written(p: &Packet) -> String {
        let mut out = Vec::new();
        write_json(p, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_text_as_serde_for_every_layer_kind() {
        // Every layer with its defaults, alone and as built (auto fields resolved).
        for kind in LayerKind::ALL {
            let p = Packet { layers: std::iter::once(kind.new_layer()).collect() };
            assert_eq!(written(&p), to_json(&p).to_string(), "{}", kind.name());
            let r = p.resolved();
            assert_eq!(written(&r), to_json(&r).to_string(), "{} resolved", kind.name());
        }
        let p = Ether::new() / Ip::new().dst("10.0.0.2").options(IpOptions(vec![1, 1, 1, 0])) / Tcp::new().options(vec![TcpOption::Mss(1460), TcpOption::SAckOK]) / Raw::new().load(b"\x00\xAB");
        assert_eq!(written(&p), to_json(&p).to_string());
        let p = Ether::new() / Ipv6::new() / Udp::new() / Gue::new() / Ip::new() / Icmp::dest_unreach(3) / Ip::new() / Udp::new();
        let d = Packet::dissect(&p.build(), LayerKind::Ether);
        assert_eq!(written(&d), to_json(&d).to_string());
        // A cut header keeps its mark.
        let cut = Packet::dissect(&[0x45, 0], LayerKind::Ip);
        assert_eq!(written(&cut), to_json(&cut).to_string());
    }

    proptest::proptest! {
        /// Whatever bytes dissect to, from any first layer: the same text as serde's.
        #[test]
        fn same_text_as_serde_for_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), start in 0..LayerKind::ALL.len()) {
            let p = Packet::dissect(&bytes, LayerKind::ALL[start]);
            proptest::prop_assert_eq!(written(&p), to_json(&p).to_string());
        }
    }

    #[test]
    fn same_text_for_random_looking_frames() {
        // Real headers with random-looking payloads: every layer kind gets decoded somewhere.
        let mut seed = 0x1234_5678_u32;
        for _ in 0..2000 {
            let mut b = (Ether::new() / Ip::new() / Udp::new().dport(6080) / Gue::new() / Ipv6::new() / Tcp::new()).build();
            for x in b.iter_mut().skip(14) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if seed >> 28 == 0 {
                    *x = (seed >> 16) as u8;
                }
            }
            let p = Packet::dissect(&b, LayerKind::Ether);
            assert_eq!(written(&p), to_json(&p).to_string());
        }
    }

    #[test]
    fn strings_escape_as_serde() {
        let s: String = (0u8..0x80).map(char::from).chain("é→\u{2028}".chars()).collect();
        let mut out = Vec::new();
        string(&s, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::Value::String(s).to_string());
    }

    #[test]
    fn values_and_numbers() {
        for (v, want) in [
            (Value::Int(i64::MIN), "-9223372036854775808"),
            (Value::Int(-3), "-3"),
            (Value::Int(0), "0"),
            (Value::Int(i64::MAX), "9223372036854775807"),
            (Value::Bool(true), "true"),
            (Value::Tuple(vec![Value::None, Value::Str("a\"b".into()), Value::Bytes(vec![0, 255])]), r#"[null,"a\"b","00ff"]"#),
            (Value::List(vec![]), "[]"),
        ] {
            let mut out = Vec::new();
            value(&v, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{v:?}");
        }
        let mut out = Vec::new();
        uint(u64::MAX, &mut out);
        assert_eq!(out, u64::MAX.to_string().as_bytes());
    }
}
