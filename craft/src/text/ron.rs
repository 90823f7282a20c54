//! RON packet files: `[Ether(dst: "02:00:00:00:00:33"), IP(ttl: 3), TCP(flags: "S")]`, or
//! a list of such packets.

use crate::field::{FieldInfo, Fmt, Value};
use crate::packet::{Layer, Packet};

use super::command::changed_fields;
use super::lexer::{tokenize, Depth, Dialect, Tok, Tokens};
use super::spec::{layer_kind, FieldArg, LayerSpec, Lit};
use super::values::value;
use super::TextError;

const EXPECTED_TOP: &str = "'[' to start a packet [Ether(..), IP(..)] or a list of packets [[..], [..]]";

/// Parses a RON file into packets, each a list of layers as written.
pub(crate) fn parse(src: &str) -> Result<Vec<Vec<LayerSpec>>, TextError> {
    let mut p = Parser { t: Tokens::new(tokenize(src, Dialect::Ron)?), depth: Depth::new() };
    p.skip_extensions()?;
    if p.t.peek().tok == Tok::Eof {
        return Err(TextError::at(p.t.peek().pos, format!("empty file: expected {EXPECTED_TOP}")));
    }
    let open = p.t.expect("[", EXPECTED_TOP)?;
    p.depth.enter(open)?;
    let mut packets = Vec::new();
    if p.t.is("[") {
        loop {
            if p.t.eat("]") {
                break;
            }
            let open = p.t.expect("[", "'[' to start a packet (a list of layers)")?;
            p.depth.enter(open)?;
            packets.push(p.layers()?);
            p.depth.leave();
            if p.t.eat(",") {
                continue;
            }
            p.t.expect("]", "',' or ']' after a packet")?;
            break;
        }
    } else if !p.t.eat("]") {
        packets.push(p.layers()?);
    }
    if p.t.peek().tok != Tok::Eof {
        return Err(p.t.unexpected("the end of the file"));
    }
    Ok(packets)
}

struct Parser {
    t: Tokens,
    depth: Depth,
}

impl Parser {
    /// `#![enable(implicit_some, ..)]`: RON's extension attributes; every value here is
    /// read the same with or without them.
    fn skip_extensions(&mut self) -> Result<(), TextError> {
        while self.t.eat("#") {
            self.t.expect("!", "'!' in #![enable(...)]")?;
            self.t.expect("[", "'[' in #![enable(...)]")?;
            loop {
                match self.t.next().tok {
                    Tok::Punct("]") => break,
                    Tok::Eof => return Err(self.t.unexpected("']' to close #![enable(...)]")),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Layers up to and with the closing ']'.
    fn layers(&mut self) -> Result<Vec<LayerSpec>, TextError> {
        let mut layers = Vec::new();
        loop {
            if self.t.eat("]") {
                return Ok(layers);
            }
            layers.push(self.layer()?);
            if self.t.eat(",") {
                continue;
            }
            self.t.expect("]", "',' or ']' after a layer")?;
            return Ok(layers);
        }
    }

    /// `IP(ttl: 3)`, `IP()`, `IP`, `IP(b"..")`, or a bytes or string literal (Raw).
    fn layer(&mut self) -> Result<LayerSpec, TextError> {
        let token = self.t.next();
        let name = match token.tok {
            Tok::Ident(name) => name,
            Tok::Bytes(b) => return Ok(LayerSpec::Raw(b)),
            Tok::Str(s) => return Ok(LayerSpec::Raw(s.into_bytes())),
            Tok::Punct("[") => {
                let msg = "expected a layer such as IP(ttl: 3), found '[': a file holds one packet or a list of packets, not both";
                return Err(TextError::at(token.pos, msg));
            }
            other => {
                let msg = format!("expected a layer such as IP(ttl: 3), found {}", other.describe());
                return Err(TextError::at(token.pos, msg));
            }
        };
        let kind = layer_kind(&name, token.pos)?;
        let mut dissect = None;
        let mut fields = Vec::new();
        if !self.t.eat("(") {
            return Ok(LayerSpec::Call { kind, pos: token.pos, dissect, fields });
        }
        let layer = kind.name();
        loop {
            if self.t.eat(")") {
                break;
            }
            let next = self.t.peek().clone();
            match (&next.tok, &self.t.nth(1).tok) {
                (Tok::Ident(field), Tok::Punct(":")) => {
                    self.t.next();
                    self.t.next();
                    let value = value(&mut self.t, &mut self.depth)?;
                    fields.push(FieldArg { name: field.clone(), name_pos: next.pos, value });
                }
                (Tok::Ident(field), Tok::Punct("=")) => {
                    let msg = format!("RON fields are written {field}: value, not {field}=value");
                    return Err(TextError::at(self.t.nth(1).pos, msg));
                }
                (Tok::Ident(field), after) if !is_value_name(field) && *after != Tok::Punct("(") => {
                    let msg = format!("expected ':' after {field}, as in {field}: value, found {}", after.describe());
                    return Err(TextError::at(self.t.nth(1).pos, msg));
                }
                _ if !fields.is_empty() || dissect.is_some() => {
                    return Err(self.t.unexpected(&format!("a field name, as in {layer}(ttl: 3)")));
                }
                _ => {
                    let v = value(&mut self.t, &mut self.depth)?;
                    dissect = Some(match &v.lit {
                        Lit::Bytes(b) => b.clone(),
                        Lit::Str(s) => s.clone().into_bytes(),
                        _ => {
                            let msg = format!(
                                "{layer}(..) takes bytes to dissect, found {}; set fields by name: {layer}(field: value)",
                                v.value().kind()
                            );
                            return Err(TextError::at(v.pos, msg));
                        }
                    });
                }
            }
            if self.t.eat(",") {
                continue;
            }
            self.t.expect(")", &format!("',' or ')' to close {layer}("))?;
            break;
        }
        Ok(LayerSpec::Call { kind, pos: token.pos, dissect, fields })
    }
}

/// Names that are values rather than field names.
fn is_value_name(name: &str) -> bool {
    matches!(name, "None" | "Some" | "true" | "false" | "True" | "False")
}

/// Writes packets as a RON list of packets, one group of lines per packet; only the
/// fields that differ from the default, enum and flag fields by name. A Raw layer that
/// the dissector marked as a cut-short header keeps the mark: `truncated: "TCP"` (and
/// `malformed: "IP"` for bytes that cannot be the layer announced).
pub fn to_ron(packets: &[Packet]) -> String {
    let mut out = String::from("[\n");
    for p in packets {
        out.push_str(&to_ron_item(p));
    }
    out.push_str("]\n");
    out
}

/// One packet of [`to_ron`]'s list, with its trailing comma: written between a `[` line
/// and a `]` line by whoever streams many packets into one document.
pub fn to_ron_item(p: &Packet) -> String {
    let mut out = String::from("    [\n");
    for l in &p.layers {
        out.push_str("        ");
        out.push_str(&ron_layer(l));
        out.push_str(",\n");
    }
    out.push_str("    ],\n");
    out
}

fn ron_layer(l: &Layer) -> String {
    let mut args: Vec<String> =
        changed_fields(l).iter().map(|(f, v)| format!("{}: {}", f.name, ron_field_value(f, v))).collect();
    for (note, name) in l.notes() {
        args.push(format!("{note}: {}", ron_str(name)));
    }
    format!("{}({})", l.kind().name(), args.join(", "))
}

/// Enum and flag values by name when the name reads back as the same number.
fn ron_field_value(f: &FieldInfo, v: &Value) -> String {
    if let (Fmt::Enum(_) | Fmt::Flags(_), Value::Int(i)) = (f.fmt, v) {
        let name = f.show(v);
        if !name.is_empty() && f.normalize(&Value::Str(name.clone())) == Ok(Value::Int(*i)) {
            return ron_str(&name);
        }
    }
    ron_value(v)
}

pub(crate) fn ron_value(v: &Value) -> String {
    let join = |items: &[Value]| items.iter().map(ron_value).collect::<Vec<_>>().join(", ");
    match v {
        Value::None => "None".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => ron_str(s),
        Value::Bytes(b) => ron_bytes(b),
        Value::List(items) => format!("[{}]", join(items)),
        Value::Tuple(items) if items.len() == 1 => format!("({},)", ron_value(&items[0])),
        Value::Tuple(items) => format!("({})", join(items)),
    }
}

fn ron_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ron_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 3);
    out.push_str("b\"");
    for &c in b {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Ether, Ip, Raw, Tcp, TcpOption};
    use crate::packet::LayerKind;
    use crate::text::parse_ron;

    fn err(src: &str) -> String {
        parse_ron(src, "lb.ron").unwrap_err().to_string()
    }

    fn one(src: &str) -> Packet {
        let mut p = parse_ron(src, "t.ron").unwrap();
        assert_eq!(p.len(), 1, "{src}");
        p.remove(0)
    }

    #[test]
    fn the_documented_example() {
        let p = one(r#"[Ether(dst: "02:00:00:00:00:33"), IP(dst: "10.0.0.2", ttl: 3), TCP(flags: "S", options: [("MSS", 1460), ("NOP", None)]), Raw(load: b"\x00\x01")]"#);
        let want = Ether::new().dst("02:00:00:00:00:33")
            / Ip::new().dst("10.0.0.2").ttl(3)
            / Tcp::new().flags("S").options(vec![TcpOption::Mss(1460), TcpOption::Nop])
            / Raw::new().load(b"\x00\x01");
        assert_eq!(p, want);
    }

    #[test]
    fn layer_forms_comments_and_literals() {
        let src = r##"
            #![enable(implicit_some)]
            // one packet, every way of writing a layer
            [
                Ether, /* unit */
                IP(), // empty
                IP(ttl: Some(3), src: r"10.0.0.1", dst: r#"10.0.0.2"#, id: 0x10, tos: 0b11, frag: 0o7, flags: "DF",),
                UDP(sport: 1_000, len: None, chksum: None),
                b"raw\x00",
                "text",
                Raw(b"dissected"),
            ]
        "##;
        let p = one(src);
        let kinds: Vec<LayerKind> = p.layers.iter().map(Layer::kind).collect();
        use LayerKind::*;
        assert_eq!(kinds, [Ether, Ip, Ip, Udp, Raw, Raw, Raw]);
        let ip = &p.layers[2];
        assert_eq!(ip.get("ttl"), Some(Value::Int(3)));
        assert_eq!(ip.get("src"), Some(Value::Str("10.0.0.1".into())));
        assert_eq!(ip.get("dst"), Some(Value::Str("10.0.0.2".into())));
        assert_eq!((ip.get("id"), ip.get("tos"), ip.get("frag")), (Some(Value::Int(16)), Some(Value::Int(3)), Some(Value::Int(7))));
        assert_eq!(ip.get("flags"), Some(Value::Int(2)));
        assert_eq!(p.layers[3].get("sport"), Some(Value::Int(1000)));
        assert_eq!(p.layers[4].get("load"), Some(Value::Bytes(b"raw\0".to_vec())));
        assert_eq!(p.layers[5].get("load"), Some(Value::Bytes(b"text".to_vec())));
        assert_eq!(p.layers[6].get("load"), Some(Value::Bytes(b"dissected".to_vec())));
    }

    #[test]
    fn lists_of_packets_and_sets() {
        let p = parse_ron("[[IP(ttl: 1)], [IP(ttl: 2), TCP], []]", "f").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].layers.len(), 2);
        assert!(p[2].layers.is_empty());
        assert_eq!(parse_ron("[]", "f").unwrap(), vec![]);
        assert_eq!(parse_ron("[ ]  // nothing", "f").unwrap(), vec![]);
        let p = parse_ron("[[IP(ttl: 1..=3)], [IP(dst: \"10.0.0.0/31\")], [TCP(dport: [1, 2])]]", "f").unwrap();
        assert_eq!(p.len(), 7);
        assert_eq!(p[2].layers[0].get("ttl"), Some(Value::Int(3)));
        assert_eq!(p[4].layers[0].get("dst"), Some(Value::Str("10.0.0.1".into())));
        let p = parse_ron("[IP(ttl: 1..4, id: (7, 8))]", "f").unwrap();
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn the_limit_counts_every_packet_of_the_file() {
        let src = "[[IP(dst: \"10.0.0.0/13\")], [IP(dst: \"10.0.0.0/13\")]]";
        assert_eq!(
            err(src),
            "lb.ron:1:37: too many packets: the network 10.0.0.0/13 (524288 addresses) makes more than 1000000 in all (the limit)"
        );
    }

    #[test]
    fn errors_have_file_line_and_column() {
        assert_eq!(err("[\n  IP(\n    ttl: 3,\n    tll: 4)]"), "lb.ron:4:5: IP has no field 'tll'; did you mean 'ttl'?");
        assert_eq!(err("[IP(ttl: 300)]"), "lb.ron:1:10: IP field 'ttl': 300 is out of range 0..=255");
        assert_eq!(err(""), format!("lb.ron:1:1: empty file: expected {EXPECTED_TOP}"));
        assert_eq!(err(" // just a comment\n"), format!("lb.ron:2:1: empty file: expected {EXPECTED_TOP}"));
        assert_eq!(err("IP()"), format!("lb.ron:1:1: expected {EXPECTED_TOP}, found 'IP'"));
        assert_eq!(err("[IP(), [TCP]]"), "lb.ron:1:8: expected a layer such as IP(ttl: 3), found '[': a file holds one packet or a list of packets, not both");
        assert_eq!(err("[[IP()], TCP]"), "lb.ron:1:10: expected '[' to start a packet (a list of layers), found 'TCP'");
        assert_eq!(err("[IP() TCP()]"), "lb.ron:1:7: expected ',' or ']' after a layer, found 'TCP'");
        assert_eq!(err("[[IP()] [TCP()]]"), "lb.ron:1:9: expected ',' or ']' after a packet, found '['");
        assert_eq!(err("[IP(ttl=3)]"), "lb.ron:1:8: RON fields are written ttl: value, not ttl=value");
        assert_eq!(err("[IP(ttl: 3 id: 4)]"), "lb.ron:1:12: expected ',' or ')' to close IP(, found 'id'");
        assert_eq!(err("[IP(ttl: 3, 4)]"), "lb.ron:1:13: expected a field name, as in IP(ttl: 3), found the integer 4");
        assert_eq!(err("[IP(ttl 3)]"), "lb.ron:1:9: expected ':' after ttl, as in ttl: value, found the integer 3");
        assert_eq!(err("[IP(ttl)]"), "lb.ron:1:8: expected ':' after ttl, as in ttl: value, found ')'");
        assert_eq!(err("[IP(4)]"), "lb.ron:1:5: IP(..) takes bytes to dissect, found an integer; set fields by name: IP(field: value)");
        assert_eq!(err("[IPP()]"), "lb.ron:1:2: unknown layer 'IPP'; did you mean 'IP'?");
        assert_eq!(err("[3]"), "lb.ron:1:2: expected a layer such as IP(ttl: 3), found the integer 3");
        assert_eq!(err("[IP()] x"), "lb.ron:1:8: expected the end of the file, found 'x'");
        assert_eq!(err("[IP(flags: S)]"), "lb.ron:1:12: unknown name 'S': a value is a literal such as 3, \"text\", b\"\\x00\", None, true, [..] or (..); strings take quotes: \"S\"");
        assert_eq!(err("#![enable(x)"), "lb.ron:1:13: expected ']' to close #![enable(...)], found the end of the input");
        assert_eq!(err("[IP(ttl: 3, ttl: 4)]"), "lb.ron:1:13: IP field 'ttl' is given twice");
        let deep = "[".repeat(200);
        assert_eq!(err(&deep), "lb.ron:1:3: expected a layer such as IP(ttl: 3), found '[': a file holds one packet or a list of packets, not both");
        let deep = format!("[IP(options: {})]", "[".repeat(200));
        assert_eq!(err(&deep), "lb.ron:1:77: nesting is deeper than 64 levels");
    }

    #[test]
    fn writes_changed_fields_by_name() {
        let p = Ether::new().dst("02:00:00:00:00:33")
            / Ip::new().dst("10.0.0.2").ttl(3).proto(6).flags(0)
            / Tcp::new().flags("SA").options(vec![TcpOption::Mss(1460), TcpOption::Nop])
            / Raw::new().load(b"\x00\"\\a");
        let want = r#"[
    [
        Ether(dst: "02:00:00:00:00:33"),
        IP(ttl: 3, proto: "tcp", dst: "10.0.0.2"),
        TCP(flags: "SA", options: [("MSS", 1460), ("NOP", None)]),
        Raw(load: b"\x00\"\\a"),
    ],
]
"#;
        assert_eq!(to_ron(std::slice::from_ref(&p)), want);
        assert_eq!(parse_ron(want, "t").unwrap(), vec![p]);
        assert_eq!(to_ron(&[]), "[\n]\n");
        assert_eq!(parse_ron(&to_ron(&[]), "t").unwrap(), vec![]);
    }

    #[test]
    fn numbers_without_a_name_stay_numbers() {
        let f = LayerKind::Tcp.fields().iter().find(|f| f.name == "flags").unwrap();
        assert_eq!(ron_field_value(f, &Value::Int(0)), "0");
        assert_eq!(ron_field_value(f, &Value::Int(0x12)), "\"SA\"");
        let f = LayerKind::Ip.fields().iter().find(|f| f.name == "proto").unwrap();
        assert_eq!(ron_field_value(f, &Value::Int(200)), "200");
        assert_eq!(ron_field_value(f, &Value::None), "None");
    }

    #[test]
    fn truncated_raw_survives_save_and_load() {
        let p = Packet::dissect(&[0x45, 0, 0], LayerKind::Ip);
        let Layer::Raw(r) = &p.layers[0] else { panic!("{p:?}") };
        assert_eq!(r.truncated, Some("IP"));
        let text = to_ron(std::slice::from_ref(&p));
        assert!(text.contains("Raw(load: b\"E\\x00\\x00\", truncated: \"IP\")"), "{text}");
        assert_eq!(parse_ron(&text, "t").unwrap(), vec![p]);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(ron_str("a\"b\\c\n\t\r\0é"), "\"a\\\"b\\\\c\\n\\t\\r\\u{0}é\"");
        assert_eq!(ron_bytes(b"\x00\xff a"), "b\"\\x00\\xff a\"");
        assert_eq!(ron_value(&Value::Tuple(vec![Value::Int(-1)])), "(-1,)");
        assert_eq!(ron_value(&Value::Tuple(vec![])), "()");
        assert_eq!(ron_value(&Value::Bool(false)), "false");
    }
}
