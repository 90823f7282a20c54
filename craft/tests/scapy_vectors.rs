//! craft against real scapy 2.8: fixtures/scapy/vectors.jsonl was made by
//! fixtures/scapy/gen_vectors.py. Every expression must build the same bytes, and
//! dissecting those bytes must give the same layers and field values.

use craft::field::Value;
use craft::packet::{LayerKind, Packet};
use serde_json::Value as Json;

/// Fields scapy has that craft deliberately does not model (see the layer docs).
const NOT_MODELLED: &[(&str, &str)] = &[
    // RFC 4884 extension structures: craft keeps them in the payload.
    ("ICMP", "extpad"),
    ("ICMP", "ext"),
    ("ICMPv6DestUnreach", "extpad"),
    ("ICMPv6DestUnreach", "ext"),
    ("ICMPv6TimeExceeded", "extpad"),
    ("ICMPv6TimeExceeded", "ext"),
];

fn vectors() -> Vec<Json> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scapy/vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("fixtures/scapy/vectors.jsonl");
    text.lines().map(|l| serde_json::from_str(l).expect("valid JSON line")).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// scapy's JSON form of a field value, as the generator wrote it.
fn same(ours: &Value, theirs: &Json) -> bool {
    match (ours, theirs) {
        (Value::None, Json::Null) => true,
        (Value::Int(a), Json::Number(b)) => b.as_i64() == Some(*a),
        (Value::Bool(a), Json::Number(b)) => b.as_i64() == Some(*a as i64),
        (Value::Str(a), Json::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Bytes(a), Json::Object(o)) => o.get("bytes").and_then(Json::as_str) == Some(&hex(a)),
        // Empty bytes and a missing value are the same thing on the wire.
        (Value::Bytes(a), Json::Null) => a.is_empty(),
        (Value::List(a) | Value::Tuple(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        // A one-element tuple is shown by scapy as its single value.
        (Value::Tuple(a), b) if a.len() == 1 => same(&a[0], b),
        _ => false,
    }
}

#[test]
fn every_expression_builds_scapys_bytes() {
    let mut failures = Vec::new();
    let all = vectors();
    for v in &all {
        let (name, expr, want) = (v["name"].as_str().unwrap(), v["expr"].as_str().unwrap(), v["hex"].as_str().unwrap());
        match craft::text::parse_expr(expr) {
            Err(e) => failures.push(format!("{name}: {expr}\n    parse error {e}")),
            Ok(pkts) if pkts.len() != 1 => failures.push(format!("{name}: {} packets", pkts.len())),
            Ok(pkts) => {
                let got = hex(&pkts[0].build());
                if got != want {
                    failures.push(format!("{name}: {expr}\n    scapy {want}\n    craft {got}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors differ:\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn every_vector_dissects_to_scapys_fields() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for v in vectors() {
        let Some(layers) = v["layers"].as_array() else { continue };
        let name = v["name"].as_str().unwrap();
        let start = LayerKind::from_name(v["start"].as_str().unwrap()).unwrap();
        let bytes = unhex(v["hex"].as_str().unwrap());
        let pkt = Packet::dissect(&bytes, start);
        let ours: Vec<&str> = pkt.layers.iter().map(|l| l.kind().name()).collect();
        let theirs: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
        if ours != theirs {
            failures.push(format!("{name}: layers craft {ours:?} scapy {theirs:?}"));
            continue;
        }
        for (layer, want) in pkt.layers.iter().zip(layers) {
            let lname = layer.kind().name();
            for (field, value) in want["fields"].as_object().unwrap() {
                if NOT_MODELLED.contains(&(lname, field.as_str())) {
                    continue;
                }
                match layer.get(field) {
                    None => failures.push(format!("{name}: {lname} has no field '{field}'")),
                    Some(got) if !same(&got, value) => {
                        failures.push(format!("{name}: {lname}.{field} craft {got:?} scapy {value}"))
                    }
                    Some(_) => checked += 1,
                }
            }
        }
        if pkt.build() != bytes {
            failures.push(format!("{name}: dissect then build does not give the bytes back"));
        }
    }
    assert!(failures.is_empty(), "{} mismatches ({checked} fields agree):\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 3000, "only {checked} field values compared");
}
