//! Expressions as scapy users write them (issue #11), end to end through `craft build` and
//! `craft check`: short MACs, str/bytes repetition, str where bytes are expected. Each
//! expected hex is what scapy 2.8.0 builds for the same expression (the scapy line is in
//! the comment above it).

use std::process::Output;

#[path = "common/craft_run.rs"]
mod craft_run;

fn craft(args: &[&str], stdin: &str) -> Output {
    craft_run::craft_with(args, stdin.as_bytes())
}

fn build(expr: &str) -> String {
    let out = craft(&["build", expr], "");
    assert!(out.status.success(), "{expr}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

fn fails(args: &[&str], stdin: &str) -> (i32, String) {
    let out = craft(args, stdin);
    (out.status.code().unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn short_macs_are_padded_as_scapy_does() {
    // bytes(Ether(src='0x1', dst='0x2')).hex()  (scapy: src 01:00:00:00:00:00)
    assert_eq!(build("Ether(src=\"0x1\", dst=\"0x2\")"), "0200000000000100000000009000");
    // bytes(Ether(src='0x1:0x2', dst='01:02')).hex()
    assert_eq!(build("Ether(src='0x1:0x2', dst='01:02')"), "0102000000000102000000009000");
    // [bytes(p).hex() for p in Ether(src=['0x1', '0x2'], dst='0x3')]
    assert_eq!(build("Ether(src=['0x1', '0x2'], dst='0x3')"), "0300000000000100000000009000\n0300000000000200000000009000");
    let (code, err) = fails(&["build", "Ether(src='zz')"], "");
    assert_eq!(code, 2);
    assert!(err.contains("expression:1:11: Ether field 'src': 'zz' is not a MAC address"), "{err}");
}

#[test]
fn str_and_bytes_repeat() {
    // bytes(Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='10.0.0.1', dst='10.0.0.2')
    //       /UDP(sport=31337, dport=80)/('katran test pkt'*100)).hex()
    let head = "0200000000020200000000010800450005f800010000401160f20a0000010a0000027a69005005e4a1a6";
    let expr = "Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='10.0.0.1', dst='10.0.0.2')/UDP(sport=31337, dport=80)/(\"katran test pkt\"*100)";
    assert_eq!(build(expr), format!("{head}{}", "6b617472616e207465737420706b74".repeat(100)));
    // bytes(IP(src='10.0.0.1', dst='10.0.0.2')/UDP()/(b'\x00'*20)).hex()
    assert_eq!(
        build("IP(src='10.0.0.1', dst='10.0.0.2')/UDP()/(b\"\\x00\"*20)"),
        "4500003000010000401166ba0a0000010a00000200350035001ceb490000000000000000000000000000000000000000"
    );
    // bytes(IP(src='10.0.0.1', dst='10.0.0.2')/UDP()/(3*'x')).hex()
    assert_eq!(
        build("IP(src='10.0.0.1', dst='10.0.0.2')/UDP()/(3*'x')"),
        "4500001f00010000401166cb0a0000010a00000200350035000bfaf2787878"
    );
    // `craft check` takes the same expressions.
    let out = craft(&["check", expr], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn repetition_is_bounded_with_line_and_column() {
    let (code, err) = fails(&["build", "Raw(load=b'\\x00'*10000001)"], "");
    assert_eq!(code, 2);
    assert_eq!(err, "craft: error: expression:1:10: repeat count 10000001 makes too large a result (more than 10000000 bytes or items)\n");
    let (code, err) = fails(&["build", "-"], "IP()/UDP()\nIP()/('x'*99999999)\n");
    assert_eq!(code, 2);
    assert!(err.contains("stdin:2:7: repeat count 99999999 makes too large a result"), "{err}");
    let (_, err) = fails(&["build", "IP()/'x'*2"], "");
    assert!(err.contains("expression:1:1: '*' repeats the whole packet on its left"), "{err}");
}

#[test]
fn str_as_bytes_is_utf8_in_options_and_payloads() {
    // bytes(IP(src='10.0.0.1', dst='10.0.0.2')/TCP(options=[(0xb7, '\x01\x04\x00\x00')])/Raw(load='\xe9')).hex()
    assert_eq!(
        build("IP(src='10.0.0.1', dst='10.0.0.2')/TCP(options=[(0xb7, '\\x01\\x04\\x00\\x00')])/Raw(load='\\xe9')"),
        "4500003200010000400666c30a0000010a00000200140050000000000000000070022000dfbd0000b706010400000000c3a9"
    );
    // bytes(IP(src='10.0.0.1', dst='10.0.0.2')/TCP(options=[('NOP', None), (0xb7, '\u20ac')])/'\u20ac').hex()
    assert_eq!(
        build("IP(src='10.0.0.1', dst='10.0.0.2')/TCP(options=[('NOP', None), (0xb7, '\\u20ac')])/'\\u20ac'"),
        "4500003300010000400666c20a0000010a0000020014005000000000000000007002200042a8000001b705e282ac0000e282ac"
    );
}
