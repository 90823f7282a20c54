//! Every `ipv6ext_` and `icmpv6_` scapy vector: dissected into scapy's layers and field
//! values, then rebuilt into the same bytes.

use crate::field::Value;
use crate::packet::{LayerKind, Packet};

fn hex(s: &str) -> Vec<u8> {
    crate::hex::unhex(s)
}

/// A vector's JSON field value in craft's dynamic form.
fn value_of(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap_or(-1)),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(value_of).collect()),
        serde_json::Value::Object(o) => match o.get("bytes").and_then(|b| b.as_str()) {
            Some(h) => Value::Bytes(hex(h)),
            None => Value::None,
        },
    }
}

/// scapy fields craft leaves out (RFC 4884 extensions of the error messages).
const SKIPPED_FIELDS: &[&str] = &["extpad", "ext"];

/// Vectors craft dissects otherwise on purpose: an MLDv2 record's aux data length counts
/// 32-bit words (RFC 3810), scapy counts bytes (see mld.rs).
const DIFFERENT_ON_PURPOSE: &[&str] = &["icmpv6_mldv2_record_auxdata"];

#[test]
fn scapy_vectors_dissect_and_rebuild() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scapy/vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("scapy vectors");
    let mut seen = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = v["name"].as_str().unwrap();
        if !name.starts_with("ipv6ext_") && !name.starts_with("icmpv6_") {
            continue;
        }
        seen += 1;
        let bytes = hex(v["hex"].as_str().unwrap());
        let start = LayerKind::from_name(v["start"].as_str().unwrap()).unwrap();
        let p = Packet::dissect(&bytes, start);
        assert_eq!(p.build(), bytes, "{name}: rebuild differs");
        let Some(layers) = v["layers"].as_array().filter(|_| !DIFFERENT_ON_PURPOSE.contains(&name)) else { continue };
        let got: Vec<&str> = p.layers.iter().map(|l| l.kind().name()).collect();
        let want: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
        assert_eq!(got, want, "{name}: layers");
        for (layer, spec) in p.layers.iter().zip(layers) {
            for (field, value) in spec["fields"].as_object().unwrap() {
                if SKIPPED_FIELDS.contains(&field.as_str()) {
                    continue;
                }
                let ours = layer.get(field).unwrap_or_else(|| panic!("{name}: no field {field}"));
                assert_eq!(ours, value_of(value), "{name}: {} {field}", spec["name"]);
            }
        }
    }
    assert!(seen > 80, "only {seen} vectors");
}
