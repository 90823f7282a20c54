//! craft-repl's non-interactive modes, through the real binary: `-c`, scripts, piped stdin.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn repl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_craft-repl"));
    c.env("NO_COLOR", "1");
    c
}

fn piped(input: &str) -> Output {
    let mut child = repl().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn dash_c_runs_code_and_prints_what_it_prints() {
    // Offline, an unset source is 0.0.0.0 (scapy gives the same bytes with src='0.0.0.0').
    let out = repl().args(["-c", "p = IP(dst=\"10.0.0.2\")/ICMP(); print(repr(raw(p)))"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "b'E\\x00\\x00\\x1c\\x00\\x01\\x00\\x00@\\x01p\\xdf\\x00\\x00\\x00\\x00\\n\\x00\\x00\\x02\\x08\\x00\\xf7\\xff\\x00\\x00\\x00\\x00'\n"
    );
    // A program does not echo bare expressions (as python -c).
    let out = repl().args(["-c", "1 + 1"]).output().unwrap();
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), String::new()));
}

#[test]
fn errors_name_line_and_column_with_a_caret_and_a_hint() {
    let out = repl().args(["-c", "p = IP()\nprint(p.tll)"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "<string>:2:9: 'IP' object has no attribute 'tll'; did you mean 'ttl'?\n    print(p.tll)\n            ^\n"
    );
    let out = repl().args(["-c", "pkt = 1\nprint(pk)"]).output().unwrap();
    assert!(text(&out.stderr).starts_with("<string>:2:7: name 'pk' is not defined; did you mean 'pkt'?"), "{}", text(&out.stderr));
    let out = repl().args(["-c", "IP(tll=3)"]).output().unwrap();
    assert!(text(&out.stderr).starts_with("<string>:1:4: IP has no field 'tll'; did you mean 'ttl'?"), "{}", text(&out.stderr));
    let out = repl().args(["-c", "IPP()"]).output().unwrap();
    assert!(text(&out.stderr).starts_with("<string>:1:1: name 'IPP' is not defined; did you mean 'IP'?"), "{}", text(&out.stderr));
    let out = repl().args(["-c", "sorted([3, 1], revrse=True)"]).output().unwrap();
    assert!(text(&out.stderr).contains("unexpected keyword argument 'revrse'; did you mean 'reverse'?"), "{}", text(&out.stderr));
    let out = repl().args(["-c", "x = (1,"]).output().unwrap();
    assert!(text(&out.stderr).starts_with("<string>:1:8: expected an expression, found the end of the input"), "{}", text(&out.stderr));
}

#[test]
fn katran_style_values_as_scapy_takes_them() {
    // str option data (bytes on the wire, shown as written), short MACs, f-string specs.
    let out = piped(
        "t = TCP(sport=31337, dport=80, flags='A', options=[('MSS', 1460), (0xB7, '1234abcd')])\nt\nraw(t).hex()\n\
         Ether(src='0x1', dst='0x2').dst\nraw(Ether(src='0x1', dst='0x2'))[:12]\nx = 5\nf'{x!r:>5}|{x:#06x}'\n",
    );
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        text(&out.stdout),
        "<TCP  sport=31337 dport=http flags=A options=[('MSS', 1460), (183, '1234abcd')] |>\n\
         '7a69005000000000000000009010200000000000020405b4b70a31323334616263640000'\n\
         '0x2'\nb'\\x02\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00'\n'    5|0x0005'\n"
    );
}

#[test]
fn a_program_stops_at_its_first_error() {
    let out = repl().args(["-c", "print(1)\nprint(nope)\nprint(3)"]).output().unwrap();
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(1), "1\n".into()));
}

#[test]
fn scripts_run_with_blocks_and_functions() {
    let dir = std::env::temp_dir().join(format!("craft-repl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("s.py");
    std::fs::write(
        &script,
        "from scapy.all import *\n\ndef ports(pkts):\n    return [p[TCP].dport for p in pkts if TCP in p]\n\n\
         pkts = [IP(dst='10.0.0.1')/TCP(dport=d) for d in (80, 443)] + [IP()/UDP()]\n\
         for d in ports(pkts):\n    if d > 100:\n        print('high', d)\n    else:\n        print('low', d)\n",
    )
    .unwrap();
    let out = repl().arg(&script).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "low 80\nhigh 443\n");
    let out = repl().arg(dir.join("missing.py")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn piped_stdin_echoes_and_keeps_going_after_errors() {
    let out = piped("p = IP(src='10.0.0.1', dst='10.0.0.2')/TCP(dport=80, flags='SA')\np[TCP].flags\nlenn(p)\nlen(p)\nfor i in range(2):\n    i\n\n_\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "<Flag 18 (SA)>\n40\n0\n1\n1\n");
    assert_eq!(text(&out.stderr), "<stdin>:3:1: name 'lenn' is not defined; did you mean 'len'?\n    lenn(p)\n    ^\n");
    // No prompt and no colour in a pipe; multi-line brackets join.
    let out = piped("x = [1,\n     2]\nx\n");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "[1, 2]\n".into()));
    // exit() ends the session.
    let out = piped("print(1)\nexit()\nprint(2)\n");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "1\n".into()));
}

#[test]
fn packets_save_and_load_and_pcaps_round_trip() {
    let dir = std::env::temp_dir().join(format!("craft-repl-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let out = piped(&format!(
        "p = Ether(dst='02:00:00:00:00:01', src='02:00:00:00:00:02')/IP(src='10.0.0.1', dst='10.0.0.2', ttl=(1, 3))/UDP()\n\
         wrpcap('{d}/p.pcap', p)\nr = rdpcap('{d}/p.pcap')\nr\n[q.ttl for q in r]\nsave(p, '{d}/p.ron')\nlen(load('{d}/p.ron'))\n"
    ));
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), "<PacketList: TCP:0 UDP:3 ICMP:0 Other:0>\n[1, 2, 3]\n3\n");
    let out = repl().args(["-c", &format!("rdpcap('{d}/none.pcap')")]).output().unwrap();
    assert!(text(&out.stderr).contains("none.pcap: No such file or directory"), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scapy_spellings_follow_the_cli_rules() {
    // The same rules as `craft build` (craft::text::{short_mac, strs_after_names,
    // repeat_count}); the hex is scapy 2.8's for the same expressions:
    // bytes(Ether(src='0x1', dst='0x2')).hex(), bytes(TCP(options=[(0xb7, '\u20ac')])).hex(),
    // [bytes(p).hex() for p in Ether(src=['0x1', '0x2'], dst='0x3')]
    let src = "print(raw(Ether(src='0x1', dst='0x2')).hex())\nprint(raw(TCP(options=[(0xb7, '\\u20ac')])).hex())\nprint(len(b'\\x00'*10000000))\nprint([raw(p).hex() for p in Ether(src=['0x1', '0x2'], dst='0x3')])\nb'\\x00'*10000001";
    let out = repl().args(["-c", src]).output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "0200000000000100000000009000\n0014005000000000000000007002200000000000b705e282ac000000\n10000000\n['0300000000000100000000009000', '0300000000000200000000009000']\n"
    );
    assert!(
        text(&out.stderr).starts_with("<string>:5:1: repeat count 10000001 makes too large a result (more than 10000000 bytes or items)"),
        "{}",
        text(&out.stderr)
    );
}
