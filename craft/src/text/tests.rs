//! Properties across the text forms: round trips over random packets of every layer in
//! the registry, the real `ron` crate reading what `to_ron` writes, the scapy vectors,
//! and no panic on any input.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::field::{FieldInfo, Value};
use crate::packet::{Layer, LayerKind, Packet};

use super::*;

/// splitmix64: a small deterministic generator driven by proptest's seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn int_bits(f: &FieldInfo) -> Option<u32> {
    if f.bits > 0 {
        return Some(f.bits as u32);
    }
    match f.kind {
        "byte" => Some(8),
        "short" => Some(16),
        "int" => Some(32),
        _ => None,
    }
}

fn tcp_option(r: &mut Rng) -> Value {
    let pair = |n: &str, v: Value| Value::Tuple(vec![Value::Str(n.into()), v]);
    let int = |i: u64| Value::Int(i as i64);
    match r.below(9) {
        0 => pair("EOL", Value::None),
        1 => pair("NOP", Value::None),
        2 => pair("MSS", int(r.below(1 << 16))),
        3 => pair("WScale", int(r.below(256))),
        4 => pair("SAckOK", Value::Bytes(vec![])),
        5 => pair("SAck", Value::Tuple((0..r.below(4)).map(|_| int(r.below(1 << 32))).collect())),
        6 => pair("Timestamp", Value::Tuple(vec![int(r.below(1 << 32)), int(r.below(1 << 32))])),
        7 => Value::Tuple(vec![int(9 + r.below(200)), Value::Bytes(r.bytes(6))]),
        _ => Value::Bytes(r.bytes(5)),
    }
}

/// A random value of the field's type, or None for a type this test does not know yet.
fn random_value(f: &FieldInfo, r: &mut Rng) -> Option<Value> {
    if f.auto && r.below(4) == 0 {
        return Some(Value::None);
    }
    if let Some(bits) = int_bits(f) {
        return Some(Value::Int(r.below(1u64 << bits) as i64));
    }
    Some(match f.kind {
        "flags" => Value::Int(r.below(1 << 9) as i64),
        "MAC" => {
            let b = r.next().to_be_bytes();
            Value::Str(format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]))
        }
        "IPv4" => Value::Str(Ipv4Addr::from(r.next() as u32).to_string()),
        "IPv6" => Value::Str(Ipv6Addr::from(((r.next() as u128) << 64) | r.next() as u128).to_string()),
        "bytes" => Value::Bytes(r.bytes(24)),
        "list of IPv6" => Value::List(
            (0..r.below(3)).map(|_| Value::Str(Ipv6Addr::from(r.next() as u128).to_string())).collect(),
        ),
        "TCP options" => Value::List((0..r.below(5)).map(|_| tcp_option(r)).collect()),
        _ => return None,
    })
}

/// A layer of `kind` with about half of its fields set to random values.
fn random_layer(kind: LayerKind, r: &mut Rng) -> Layer {
    let mut l = kind.new_layer();
    for f in kind.fields() {
        if r.below(2) == 0 {
            if let Some(v) = random_value(f, r) {
                // A value the layer refuses is simply not used.
                let _ = l.set(f.name, &v);
            }
        }
    }
    l
}

fn random_packet(seed: u64) -> Packet {
    let mut r = Rng(seed);
    let mut p = Packet::new();
    for _ in 0..1 + r.below(5) {
        let kind = LayerKind::ALL[r.below(LayerKind::ALL.len() as u64) as usize];
        p.layers.push(random_layer(kind, &mut r));
    }
    p
}

/// The dissector's truncated mark is not part of scapy's syntax.
fn without_truncated_mark(mut p: Packet) -> Packet {
    for l in p.layers.iter_mut() {
        if let Layer::Raw(r) = l {
            r.truncated = None;
            r.malformed = None;
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn command_round_trips(seed: u64) {
        let p = random_packet(seed);
        let c = command(&p);
        prop_assert_eq!(parse_expr(&c).map_err(|e| format!("{c}\n{e}")), Ok(vec![p]));
    }

    #[test]
    fn ron_round_trips(a: u64, b: u64) {
        let packets = vec![random_packet(a), random_packet(b)];
        let text = to_ron(&packets);
        prop_assert_eq!(parse_ron(&text, "p.ron").map_err(|e| format!("{text}\n{e}")), Ok(packets));
        prop_assert!(::ron::from_str::<::ron::Value>(&text).is_ok(), "the ron crate rejects:\n{}\n{:?}", text, ::ron::from_str::<::ron::Value>(&text));
    }

    #[test]
    fn dissected_packets_round_trip(seed: u64) {
        let built = random_packet(seed).build();
        for start in [LayerKind::Ether, LayerKind::Ip, LayerKind::Ipv6] {
            let d = Packet::dissect(&built, start);
            let text = to_ron(std::slice::from_ref(&d));
            prop_assert_eq!(parse_ron(&text, "d.ron").map_err(|e| format!("{text}\n{e}")), Ok(vec![d.clone()]));
            let c = command(&d);
            prop_assert_eq!(parse_expr(&c).map_err(|e| format!("{c}\n{e}")), Ok(vec![without_truncated_mark(d)]));
        }
    }

    #[test]
    fn json_has_every_present_field(seed: u64) {
        let p = random_packet(seed);
        let j = to_json(&p);
        let layers = j.as_array().unwrap();
        prop_assert_eq!(layers.len(), p.layers.len());
        for (l, lj) in p.layers.iter().zip(layers) {
            prop_assert_eq!(lj["name"].as_str(), Some(l.kind().name()));
            let names: Vec<&str> = lj["fields"].as_object().unwrap().keys().map(String::as_str).collect();
            let want: Vec<&str> = l.kind().fields().iter().map(|f| f.name).filter(|n| l.present(n)).collect();
            prop_assert_eq!(names, want);
        }
    }
}

const SAMPLES: &[&str] = &[
    "Ether(dst='02:00:00:00:00:33')/IP(src=\"172.17.2.1\", dst=\"172.17.2.2\", len=46)/TCP(flags='S', options=[('MSS', 1460), ('NOP', None)])/Raw(load=b'\\x00\\x01')",
    "IP(dst=['1.1.1.1', '2.2.2.2'], ttl=(1, 2))/UDP(dport=0x35)/b'abc'",
    "Ether(b'\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x00E')",
    "IPv6(dst='2001:db8::/126')/(TCP(sport=+1, dport=0o17, seq=-0)/'x' 'y')",
];

const RON_SAMPLES: &[&str] = &[
    "[Ether(dst: \"02:00:00:00:00:33\"), IP(dst: \"10.0.0.2\", ttl: 3), TCP(flags: \"S\", options: [(\"MSS\", 1460), (\"NOP\", None)]), Raw(load: b\"\\x00\\x01\")]",
    "#![enable(implicit_some)]\n[[IP(ttl: Some(1..=3), dst: r#\"10.0.0.0/30\"#)], /* c /* n */ */ [TCP, UDP()]] // end",
];

/// Characters that matter to the parsers, so random text reaches deep into them.
const ALPHABET: &str = "IPTCUDEther()[]{},=:/\\'\"b r#x0123456789abcdef-+._;!*\n\t é";

fn mutate(src: &str, edits: &[(u16, u8, u8)]) -> String {
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    let mut chars: Vec<char> = src.chars().collect();
    for &(at, op, c) in edits {
        let at = at as usize % (chars.len() + 1);
        let c = alphabet[c as usize % alphabet.len()];
        match op % 4 {
            0 => chars.insert(at, c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            2 if at < chars.len() => chars[at] = c,
            _ => {
                // Duplicate a slice: grows nesting and repetition.
                let end = (at + 1 + c as usize % 8).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                for (k, x) in copy.into_iter().enumerate() {
                    chars.insert(at + k, x);
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Parses with both parsers; packets are made for small sets only, to keep cases fast.
fn parse_everything(src: &str) {
    if let Ok(set) = parse_expr_set(src) {
        let _ = set.get(set.len() - 1).map(|p| p.build());
        if set.len() <= 64 {
            let _ = parse_expr(src).unwrap();
        }
    }
    if let Ok(sets) = parse_ron_sets(src, "fuzz.ron") {
        if sets.iter().map(PacketSet::len).sum::<usize>() <= 64 {
            let _ = parse_ron(src, "fuzz.ron").unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(src in proptest::collection::vec(proptest::sample::select(ALPHABET.chars().collect::<Vec<_>>()), 0..80)) {
        parse_everything(&src.into_iter().collect::<String>());
    }

    #[test]
    fn any_string_never_panics(src in ".{0,60}") {
        parse_everything(&src);
    }

    #[test]
    fn mutated_expressions_never_panic(which in 0..SAMPLES.len() + RON_SAMPLES.len(), edits in proptest::collection::vec(any::<(u16, u8, u8)>(), 1..6)) {
        let base = SAMPLES.iter().chain(RON_SAMPLES).nth(which).unwrap();
        parse_everything(&mutate(base, &edits));
    }
}

#[test]
fn samples_parse() {
    for s in SAMPLES {
        assert!(parse_expr(s).is_ok(), "{s}: {:?}", parse_expr(s));
    }
    for s in RON_SAMPLES {
        assert!(parse_ron(s, "s.ron").is_ok(), "{s}: {:?}", parse_ron(s, "s.ron"));
    }
    assert_eq!(parse_expr(SAMPLES[1]).unwrap().len(), 4);
    assert_eq!(parse_expr(SAMPLES[3]).unwrap().len(), 4);
    assert_eq!(parse_ron(RON_SAMPLES[1], "s.ron").unwrap().len(), 13);
}

#[test]
fn hostile_inputs_are_bounded() {
    for src in [
        "[".repeat(100_000),
        "(".repeat(100_000),
        "IP(ttl=".to_string() + &"[".repeat(100_000),
        "Some(".repeat(100_000),
        "/*".repeat(100_000),
        "IP()/".repeat(20_000) + "IP()",
        format!("IP(options=b'{}')", "\\x00".repeat(100_000)),
        "IP(dst='0.0.0.0/0', ttl=(0, 255))".into(),
        "TCP(sport=(0, 65535), dport=(0, 65535))".into(),
        "TCP(seq=(0, 9223372036854775807, 1))".into(),
        "TCP(seq=(-9223372036854775808, 9223372036854775807, -1))".into(),
        "TCP(seq=(-9223372036854775808, 9223372036854775807))".into(),
    ] {
        let t = std::time::Instant::now();
        let _ = parse_expr_set(&src);
        let _ = parse_ron_sets(&src, "h.ron");
        assert!(t.elapsed().as_secs() < 5, "{}...", &src[..20]);
    }
}

#[test]
fn errors_display_with_and_without_file() {
    let e = TextError { file: None, line: 1, col: 23, msg: "IP field 'ttl': 300 is out of range 0..=255".into() };
    assert_eq!(e.to_string(), "1:23: IP field 'ttl': 300 is out of range 0..=255");
    let e = TextError { file: Some("lb.ron".into()), ..e };
    assert_eq!(e.to_string(), "lb.ron:1:23: IP field 'ttl': 300 is out of range 0..=255");
    let _: &dyn std::error::Error = &e;
}

#[test]
fn the_ron_crate_reads_every_form_we_write() {
    let p = parse_expr(SAMPLES[0]).unwrap();
    let d = Packet::dissect(&p[0].build(), LayerKind::Ether);
    let cut = Packet::dissect(&p[0].build()[..30], LayerKind::Ether);
    let text = to_ron(&[p[0].clone(), d, cut, Packet::new(), Packet::from(LayerKind::Tcp.new_layer())]);
    let v: ::ron::Value = ::ron::from_str(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
    let ::ron::Value::Seq(packets) = v else { panic!("{v:?}") };
    assert_eq!(packets.len(), 5);
}

fn vectors() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/scapy/vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("fixtures/scapy/vectors.jsonl");
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// Every scapy vector expression is accepted by the grammar. What a layer does not take
/// yet (a field being written, a value form it does not know) is reported, not failed.
#[test]
fn scapy_vector_expressions_parse() {
    let all = vectors();
    let (mut parsed, mut layer_issues, mut failures) = (0, Vec::new(), Vec::new());
    for v in &all {
        let (name, expr) = (v["name"].as_str().unwrap(), v["expr"].as_str().unwrap());
        match parse_expr(expr) {
            Ok(p) if p.len() == 1 => {
                parsed += 1;
                // And the packet survives command and RON.
                assert_eq!(parse_expr(&command(&p[0])).unwrap(), p, "{name}");
                assert_eq!(parse_ron(&to_ron(&p), "v.ron").unwrap(), p, "{name}");
            }
            // A layer that does not take the value as scapy does (a list scapy takes whole).
            Ok(p) => layer_issues.push(format!("{name}: {} packets", p.len())),
            Err(e) if e.msg.contains(" has no field ") || e.msg.contains(" field '") => layer_issues.push(format!("{name}: {e}")),
            Err(e) => failures.push(format!("{name}: {expr}\n    {e}")),
        }
    }
    eprintln!("scapy vectors: {parsed} of {} expressions parse to one packet; {} wait on their layer", all.len(), layer_issues.len());
    for m in layer_issues.iter().take(20) {
        eprintln!("    {m}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Dissections of the vectors' bytes survive RON exactly and command up to the mark.
#[test]
fn scapy_vector_dissections_round_trip() {
    for v in vectors() {
        let start = LayerKind::from_name(v["start"].as_str().unwrap()).unwrap();
        let hex = v["hex"].as_str().unwrap();
        let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let d = Packet::dissect(&bytes, start);
        let name = v["name"].as_str().unwrap();
        assert_eq!(parse_ron(&to_ron(std::slice::from_ref(&d)), "v.ron").unwrap(), vec![d.clone()], "{name}");
        assert_eq!(parse_expr(&command(&d)).unwrap(), vec![without_truncated_mark(d)], "{name}");
    }
}
