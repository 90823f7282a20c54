//! The `craft` binary end to end: outputs, stdin mode, exit codes, error messages.

use std::process::Output;

#[path = "common/craft_run.rs"]
mod craft_run;

fn craft(args: &[&str], stdin: &str) -> Output {
    craft_run::craft_with(args, stdin.as_bytes())
}

fn ok(args: &[&str]) -> String {
    let out = craft(args, "");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], stdin: &str) -> (i32, String) {
    let out = craft(args, stdin);
    (out.status.code().unwrap(), String::from_utf8(out.stderr).unwrap())
}

const SYN: &str = "Ether(dst='02:00:00:00:00:33', src='02:00:00:00:00:01')/IP(src='172.17.2.1', dst='172.17.2.2')/TCP(sport=49138, dport=80, flags='S')";
/// scapy 2.8 builds SYN to these bytes.
const SYN_HEX: &str = "0200000000330200000000010800450000280001000040061eaaac110201ac110202bff20050000000000000000050022000737a0000";

#[test]
fn build_formats() {
    assert_eq!(ok(&["build", SYN]), format!("{SYN_HEX}\n"));
    assert_eq!(ok(&["build", SYN, "-f", "summary"]), "Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S\n");
    let json: serde_json::Value = serde_json::from_str(&ok(&["build", SYN, "--format", "json"])).unwrap();
    assert_eq!(json[1]["fields"]["len"], 40);
    assert!(ok(&["build", SYN, "-f", "show"]).contains("ihl       = None (auto: 5)"));
    assert!(ok(&["build", SYN, "-f", "hexdump"]).starts_with("0000  02 00 00 00 00 33"));
    assert!(ok(&["build", SYN, "-f", "command"]).starts_with("Ether(dst='02:00:00:00:00:33'"));
}

#[test]
fn build_stdin_one_line_per_packet() {
    let out = craft(&["build", "-", "-f", "summary"], "IP()/UDP()\n\n# comment\nIPv6()/TCP()\n");
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "IP 127.0.0.1 > 127.0.0.1 / UDP 53 > 53\nIPv6 ::1 > ::1 / TCP 20 > 80 S\n");
}

#[test]
fn ron_file_round_trip() {
    let dir = std::env::temp_dir().join(format!("craft-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("syn.ron");
    std::fs::write(&file, ok(&["build", SYN, "-f", "ron"])).unwrap();
    assert_eq!(ok(&["build", file.to_str().unwrap()]), format!("{SYN_HEX}\n"));

    std::fs::write(&file, "[\n  IP(\n    tll: 3)]\n").unwrap();
    let (code, err) = fails(&["build", file.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("syn.ron:3:5: IP has no field 'tll'; did you mean 'ttl'?"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dissect_hex_and_stdin() {
    assert_eq!(ok(&["dissect", SYN_HEX, "-f", "summary"]), "Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S\n");
    let ip_only = &SYN_HEX[28..];
    let out = craft(&["dissect", "-", "--as", "ip", "-f", "json"], &format!("{ip_only}\n{ip_only}\n"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v[0]["name"], "IP");
    }
}

#[test]
fn check_exit_codes() {
    assert_eq!(ok(&["check", SYN]), format!("ok: {}\n", "Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S"));
    let out = craft(&["check", "IP(src='10.0.0.1', dst='10.0.0.2', chksum=0x1234)/UDP()"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("IP chksum 0x1234 is wrong, should be 0x"));
    let truncated = &SYN_HEX[..SYN_HEX.len() - 8];
    let out = craft(&["check", "--hex", truncated], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("TCP header cut short: only 16 bytes present"));
}

#[test]
fn bad_input_says_what_and_where() {
    let (code, err) = fails(&["build", "IP(ttl=300)"], "");
    assert_eq!((code, err.trim()), (2, "craft: error: expression:1:8: IP field 'ttl': 300 is out of range 0..=255"));
    let (code, err) = fails(&["build", "-"], "IP()\nTCP(flags='SX')\n");
    assert_eq!(code, 2);
    assert!(err.contains("stdin:2:"), "{err}");
    assert!(err.contains("unknown flag 'X'"), "{err}");
    let (code, err) = fails(&["dissect", "4500zz"], "");
    assert_eq!((code, err.trim()), (2, "craft: error: argument 1:5: 'z' is not a hex digit"));
    let (code, err) = fails(&["dissect", "450"], "");
    assert_eq!(code, 2);
    assert!(err.contains("odd number of hex digits"), "{err}");
    let (code, err) = fails(&["ls", "TPC"], "");
    assert_eq!((code, err.trim()), (2, "craft: error: no layer named 'TPC'; did you mean 'TCP'?"));
}

#[test]
fn ls_lists_layers_and_fields() {
    assert!(ok(&["ls"]).contains("GUE"));
    assert!(ok(&["ls", "TCP"]).contains("dataofs    : byte (4 bits)"));
}
