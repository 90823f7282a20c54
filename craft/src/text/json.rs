//! JSON: a list of layers `{"name": "IP", "fields": {"version": 4, ..}}`.

use serde_json::{json, Map, Value as Json};

use crate::field::Value;
use crate::packet::{Layer, Packet};

/// The packet as JSON: a list of layers, each `{"name": .., "fields": {..}}` with the
/// fields present (scapy's ConditionalField) in declaration order. Ints are numbers,
/// None (auto) is null, strings (addresses) are strings, bytes are lowercase hex strings,
/// lists and tuples are arrays. A Raw layer that is a cut-short header has
/// `"truncated": "<layer>"`; one announced as a layer it cannot be, `"malformed": "<layer>"`.
pub fn to_json(p: &Packet) -> Json {
    Json::Array(p.layers.iter().map(layer_json).collect())
}

fn layer_json(l: &Layer) -> Json {
    let mut fields = Map::new();
    for f in l.kind().fields() {
        if !l.present(f.name) {
            continue;
        }
        if let Some(v) = l.get(f.name) {
            fields.insert(f.name.to_string(), value_json(&v));
        }
    }
    let mut obj = Map::new();
    obj.insert("name".into(), json!(l.kind().name()));
    obj.insert("fields".into(), Json::Object(fields));
    for (note, name) in l.notes() {
        obj.insert(note.into(), json!(name));
    }
    Json::Object(obj)
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::None => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Str(s) => json!(s),
        Value::Bytes(b) => json!(crate::field::hex(b)),
        Value::List(items) | Value::Tuple(items) => Json::Array(items.iter().map(value_json).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Ip, Raw, Tcp, TcpOption};
    use crate::packet::LayerKind;

    #[test]
    fn layers_fields_in_order() {
        let p = Ip::new().dst("10.0.0.2") / Tcp::new().options(vec![TcpOption::Mss(1460), TcpOption::SAckOK]) / Raw::new().load(b"\x00\xAB");
        let j = to_json(&p);
        assert_eq!(
            j.to_string(),
            r#"[{"name":"IP","fields":{"version":4,"ihl":null,"tos":0,"len":null,"id":1,"flags":0,"frag":0,"ttl":64,"proto":null,"chksum":null,"src":null,"dst":"10.0.0.2","options":""}},{"name":"TCP","fields":{"sport":20,"dport":80,"seq":0,"ack":0,"dataofs":null,"reserved":0,"flags":2,"window":8192,"chksum":null,"urgptr":0,"options":[["MSS",1460],["SAckOK",""]]}},{"name":"Raw","fields":{"load":"00ab"}}]"#
        );
    }

    #[test]
    fn truncated_raw_is_marked() {
        let p = Packet::dissect(&[0x45, 0], LayerKind::Ip);
        assert_eq!(to_json(&p), json!([{"name": "Raw", "fields": {"load": "4500"}, "truncated": "IP"}]));
    }

    #[test]
    fn values() {
        assert_eq!(value_json(&Value::Bool(true)), json!(true));
        assert_eq!(value_json(&Value::Int(-3)), json!(-3));
        assert_eq!(value_json(&Value::Tuple(vec![Value::None, Value::Str("a".into())])), json!([null, "a"]));
    }
}
