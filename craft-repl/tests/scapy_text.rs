//! craft-repl's scapy text forms against real scapy 2.8.0's
//! (`fixtures/scapy/text_vectors.jsonl`, made by `fixtures/scapy/gen_text.py`).
//!
//! Port and protocol names come from the host's /etc/services, /etc/protocols and
//! /etc/ethertypes, as in scapy: the fixtures hold the names of the host that made them.
//! Where those files are missing or differ, the name-dependent forms are skipped (see
//! `host_tables_match`).

use std::collections::BTreeMap;

use craft::packet::LayerKind;
use craft_repl::pkt::Pkt;
use craft_repl::scapy_text;
use serde_json::Value as Json;

const VECTORS: &str = include_str!("../../fixtures/scapy/text_vectors.jsonl");
const LS: &str = include_str!("../../fixtures/scapy/text_ls.jsonl");

/// (vector, format) pairs known to differ from scapy, each with the reason (also in
/// fixtures/scapy/README.md).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[];

fn hex(s: &str) -> Vec<u8> {
    craft::hex::unhex(s)
}

fn packet(v: &Json) -> Pkt {
    match v["expr"].as_str() {
        Some(expr) => scapy_text::from_expr(expr).unwrap_or_else(|e| panic!("{expr}: {e}")),
        None => {
            let kind = LayerKind::from_name(v["start"].as_str().unwrap()).unwrap();
            Pkt::dissect(&hex(v["hex"].as_str().unwrap()), kind)
        }
    }
}

/// Whether this host's name files give the names the fixtures were made with.
fn host_tables_match() -> bool {
    let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
    let protocols = std::fs::read_to_string("/etc/protocols").unwrap_or_default();
    services.contains("ftp-data") && services.contains("mdns") && protocols.contains("ipencap")
}

#[test]
fn text_forms_match_scapy() {
    let names_ok = host_tables_match();
    let mut total: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for line in VECTORS.lines() {
        let v: Json = serde_json::from_str(line).unwrap();
        let name = v["name"].as_str().unwrap();
        let p = packet(&v);
        let mut check = |format: &'static str, got: String, want: &str| {
            let known = KNOWN_DIFFERENCES.iter().any(|(n, f, _)| *n == name && *f == format);
            let e = total.entry(format).or_default();
            e.1 += 1;
            if got == want {
                e.0 += 1;
                assert!(!known, "{name} {format} now matches: drop it from KNOWN_DIFFERENCES");
            } else if !known {
                failures.push(format!("{name} {format}:\n  got:  {got:?}\n  want: {want:?}"));
            }
        };
        if names_ok {
            check("repr", scapy_text::repr(&p), v["repr"].as_str().unwrap());
            check("summary", scapy_text::summary(&p), v["summary"].as_str().unwrap());
            check("show", scapy_text::show(&p, false), v["show"].as_str().unwrap());
            check("show2", scapy_text::show2(&p, false), v["show2"].as_str().unwrap());
            for pair in v["sprintf"].as_array().unwrap() {
                let fmt = pair[0].as_str().unwrap();
                let got = scapy_text::sprintf(&p, fmt).unwrap_or_else(|e| format!("error: {e}"));
                check("sprintf", got, pair[1].as_str().unwrap());
            }
        }
        check("command", scapy_text::command(&p), v["command"].as_str().unwrap());
        check("hexdump", scapy_text::hexdump(&p.packet.build()), v["hexdump"].as_str().unwrap());
    }
    for (format, (ok, n)) in &total {
        eprintln!("{format:<8} {ok}/{n} match scapy");
    }
    assert!(failures.is_empty(), "{} differences from scapy:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ls_matches_scapy() {
    let mut failures = Vec::new();
    for line in LS.lines() {
        let v: Json = serde_json::from_str(line).unwrap();
        let layer = v["layer"].as_str().unwrap();
        let kind = LayerKind::from_name(layer).unwrap_or_else(|| panic!("craft has no {layer}"));
        let got = scapy_text::ls_layer(kind);
        // ICMP's timestamp defaults are the clock when scapy was imported.
        let keep = |s: &str| s.lines().filter(|l| !l.starts_with("ts_")).map(|l| format!("{l}\n")).collect::<String>();
        if keep(&got) != keep(v["ls"].as_str().unwrap()) {
            failures.push(format!("{layer}:\n{got}\nwant:\n{}", v["ls"].as_str().unwrap()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn flags_repr_like_scapy() {
    assert_eq!(scapy_text::flag_repr(18, craft::layers::tcp::TCP_FLAGS), "<Flag 18 (SA)>");
    assert_eq!(scapy_text::flag_repr(2, craft::layers::ip::IP_FLAGS), "<Flag 2 (DF)>");
}

#[test]
fn sprintf_errors() {
    let p = scapy_text::from_expr("IP(src='192.0.2.1', dst='198.51.100.7')/TCP()").unwrap();
    assert_eq!(scapy_text::sprintf(&p, "%IP.src").unwrap_err(), "Bad format string [%IP.src]");
    assert_eq!(
        scapy_text::sprintf(&p, "{IP}").unwrap_err(),
        "Bad condition in format string: [IP] (read sprintf doc!)"
    );
    assert_eq!(scapy_text::sprintf(&p, "%NOPE.x% %IP.nope%").unwrap(), "?? ??");
    assert_eq!(scapy_text::sprintf(&p, "%IP.ttl% %(x%)").unwrap(), "64 {x}");
}
