//! The `craft` binary on capture files the tests write (issue #11): frame number, timestamp
//! and lengths in every format of `dissect --pcap`, compared with tcpdump's and tshark's
//! reading of the same files; `check --pcap`; `--format ron` as one list that `build`
//! reads back byte for byte; `--gue-port`; `build -` going on after a bad line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use craft::pcap::{Reader, WriteFormat, Writer, LINKTYPE_ETHERNET};
use craft::text::parse_expr;

#[path = "common/craft_run.rs"]
mod craft_run;
#[path = "common/tools.rs"]
mod tools;
use craft_run::craft_with;
use tools::{have, run};

const CRAFT: &str = env!("CARGO_BIN_EXE_craft");
/// A timestamp with every digit used (ns); files in µs keep its microseconds.
const TS: u64 = 1_700_000_000_123_456_789;

/// craft's stdout; it must exit with `code`.
fn craft_code(args: &[&str], code: i32) -> String {
    let out = craft_with(args, b"");
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn craft(args: &[&str]) -> String {
    craft_code(args, 0)
}



struct TmpDir(PathBuf);

impl TmpDir {
    fn new(name: &str) -> TmpDir {
        let dir = std::env::temp_dir().join(format!("craft-cli-capture-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TmpDir(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn built(expr: &str) -> Vec<u8> {
    let p = parse_expr(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    p[0].build()
}

/// Frames of many kinds: TCP with options and with payload, UDP, ICMP (and an error
/// quoting a packet), IPv6 with an extension header, ARP (padded), GUE, 802.1Q.
fn frames() -> Vec<Vec<u8>> {
    let e = "Ether(dst='02:00:00:00:00:33', src='02:00:00:00:00:01')";
    let ip = "IP(src='172.17.2.1', dst='172.17.2.2')";
    [
        format!("{e}/{ip}/TCP(sport=49138, dport=80, flags='S', options=[('MSS', 1460), ('SAckOK', b''), ('WScale', 7)])"),
        format!("{e}/{ip}/TCP(sport=80, dport=49138, flags='PA', seq=7)/Raw(load=b'{}')", "x".repeat(200)),
        format!("{e}/{ip}/UDP(sport=5353, dport=53)/Raw(load=b'hello')"),
        format!("{e}/{ip}/ICMP(id=7, seq=1)/Raw(load=b'ping')"),
        format!("{e}/IPv6(src='fd00::1', dst='fd00::2')/IPv6ExtHdrHopByHop()/UDP(sport=1, dport=2)"),
        format!("{e}/ARP(psrc='172.17.2.1', pdst='172.17.2.2')/Padding(load=b'{}')", "\\x00".repeat(18)),
        format!("{e}/{ip}/UDP(sport=40000)/GUE()/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1, flags='S')"),
        format!("{e}/Dot1Q(vlan=100)/{ip}/UDP(sport=7, dport=7)"),
        format!("{e}/IP(src='172.17.2.2', dst='172.17.2.1')/ICMP(type=3, code=3)/IP(src='172.17.2.1', dst='172.17.2.2')/UDP(sport=5353, dport=53)"),
    ]
    .iter()
    .map(|x| built(x))
    .collect()
}

/// A record: timestamp (ns), captured bytes, length on the wire.
type Rec = (u64, Vec<u8>, u32);

/// The frames 1.5 ms apart (a second apart after the fourth), and then the second one
/// again cut to 60 bytes by a snaplen.
fn records(micros: bool) -> Vec<Rec> {
    let mut recs: Vec<Rec> = frames()
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let ts = TS + i as u64 * 1_500_000 + if i > 3 { 1_000_000_000 } else { 0 };
            let ts = if micros { ts / 1000 * 1000 } else { ts };
            let len = f.len() as u32;
            (ts, f, len)
        })
        .collect();
    let long = recs[1].1.clone();
    recs.push((recs.last().unwrap().0 + 7_000, long[..60].to_vec(), long.len() as u32));
    recs
}

fn write_capture(path: &str, format: WriteFormat, recs: &[Rec]) {
    let mut w = Writer::new(Vec::new(), format, LINKTYPE_ETHERNET, 65535).unwrap();
    for (ts, data, len) in recs {
        w.write(*ts, data, *len).unwrap();
    }
    std::fs::write(path, w.into_inner().unwrap()).unwrap();
}

/// "1700000000.123456" or "1700000000.123456789" as ns.
fn ns(ts: &str) -> u64 {
    let (s, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let frac = format!("{frac:0<9}");
    s.parse::<u64>().unwrap() * 1_000_000_000 + frac[..9].parse::<u64>().unwrap()
}

/// (number, timestamp text, rest of the line) of a summary line: `    1  TS rest`.
fn frame_of(line: &str) -> (u64, &str, &str) {
    let (n, rest) = line.trim_start().split_once("  ").unwrap_or_else(|| panic!("{line}"));
    let (ts, rest) = rest.split_once(' ').unwrap();
    (n.parse().unwrap(), ts, rest)
}

const FILES: [(&str, WriteFormat); 3] =
    [("us.pcap", WriteFormat::PcapMicros), ("ns.pcap", WriteFormat::PcapNanos), ("a.pcapng", WriteFormat::PcapNg)];

#[test]
fn dissect_pcap_shows_number_time_and_length_in_every_format() {
    let dir = TmpDir::new("formats");
    for (name, format) in FILES {
        let recs = records(format == WriteFormat::PcapMicros);
        let file = dir.file(name);
        write_capture(&file, format, &recs);
        let last = recs.len();

        // summary: tcpdump's layout, its precision for a µs pcap.
        let summary = craft(&["dissect", "--pcap", &file, "-f", "summary"]);
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines.len(), recs.len(), "{summary}");
        for (i, (line, (ts, data, len))) in lines.iter().zip(&recs).enumerate() {
            let (n, t, rest) = frame_of(line);
            assert_eq!((n, ns(t)), (i as u64 + 1, *ts), "{name}: {line}");
            assert_eq!(t.len() - t.find('.').unwrap() - 1, if format == WriteFormat::PcapMicros { 6 } else { 9 }, "{line}");
            let cut = format!(", length {len} [truncated: {} of {len} bytes captured]", data.len());
            match i + 1 {
                n if n == last => assert!(rest.ends_with(&cut), "{line}"),
                _ => assert!(rest.ends_with(&format!(", length {len}")) && !rest.contains("truncated"), "{line}"),
            }
        }
        assert!(lines[0].contains("Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S, length 66"), "{summary}");

        // JSON: the fields, and the packet as before.
        let json = craft(&["dissect", "--pcap", &file, "-f", "json"]);
        for (i, (line, (ts, data, len))) in json.lines().zip(&recs).enumerate() {
            let j: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(j["frame"], i as u64 + 1);
            assert_eq!((j["ts_ns"].as_u64(), j["len"].as_u64(), j["caplen"].as_u64()), (Some(*ts), Some(*len as u64), Some(data.len() as u64)));
            assert_eq!(j["truncated"], i + 1 == last, "{line}");
            assert_eq!(j["packet"][0]["name"], "Ether");
        }

        // The other text forms: a `# frame` line before each packet.
        for f in ["hex", "show", "show2", "hexdump", "command"] {
            let text = craft(&["dissect", "--pcap", &file, "-f", f]);
            let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("# frame ")).collect();
            assert_eq!(heads.len(), recs.len(), "{f}: {text}");
            assert!(heads[0].starts_with("# frame 1: ") && heads[0].ends_with(", length 66"), "{f}: {}", heads[0]);
            assert!(heads[last - 1].ends_with("[truncated: 60 of 254 bytes captured]"), "{f}: {}", heads[last - 1]);
        }
        let ron = craft(&["dissect", "--pcap", &file, "-f", "ron"]);
        assert_eq!(ron.lines().filter(|l| l.trim_start().starts_with("// frame ")).count(), recs.len(), "{ron}");
    }
}

#[test]
fn frame_numbers_times_and_lengths_agree_with_tcpdump_and_tshark() {
    let dir = TmpDir::new("tools");
    for (name, format) in FILES {
        let recs = records(format == WriteFormat::PcapMicros);
        let file = dir.file(name);
        write_capture(&file, format, &recs);
        let ours: Vec<(u64, u64)> = craft(&["dissect", "--pcap", &file, "-f", "summary"]).lines().map(|l| {
            let (n, t, _) = frame_of(l);
            (n, ns(t))
        }).collect();
        let json: Vec<serde_json::Value> = craft(&["dissect", "--pcap", &file, "-f", "json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if have("tcpdump") {
            let nano = if format == WriteFormat::PcapMicros { "micro" } else { "nano" };
            let out = run("tcpdump", &["-#", "-tt", "-nn", "-r", &file, &format!("--time-stamp-precision={nano}")]);
            let theirs: Vec<(u64, u64)> = out.lines().map(|l| {
                let (n, t, _) = frame_of(l);
                (n, ns(t))
            }).collect();
            assert_eq!(ours, theirs, "{name}: tcpdump says\n{out}");
        }
        if have("tshark") {
            let out = run("tshark", &["-r", &file, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"]);
            let theirs: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
            assert_eq!(theirs.len(), json.len(), "{out}");
            for (t, j) in theirs.iter().zip(&json) {
                assert_eq!(t[0].parse::<u64>().unwrap(), j["frame"].as_u64().unwrap());
                assert_eq!(ns(t[1]), j["ts_ns"].as_u64().unwrap(), "{name}: {t:?}");
                assert_eq!(t[2].parse::<u64>().unwrap(), j["len"].as_u64().unwrap());
                assert_eq!(t[3].parse::<u64>().unwrap(), j["caplen"].as_u64().unwrap());
            }
        }
    }
}

/// Every record's bytes.
fn record_bytes(path: &str) -> Vec<Vec<u8>> {
    let mut r = Reader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut all = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        all.push(rec.data.to_vec());
    }
    all
}

#[test]
fn ron_of_a_capture_is_one_list_that_build_reads_back_byte_for_byte() {
    let dir = TmpDir::new("ron");
    let file = dir.file("in.pcap");
    let recs = records(true);
    write_capture(&file, WriteFormat::PcapMicros, &recs);
    let ron = craft(&["dissect", "--pcap", &file, "-f", "ron"]);
    assert!(ron.starts_with("[\n") && ron.ends_with("]\n"), "{ron}");
    assert_eq!(ron.matches("\n    [\n").count(), recs.len(), "one list of packets: {ron}");
    let want: Vec<Vec<u8>> = recs.iter().map(|r| r.1.clone()).collect();

    // Through a file, and piped into `build -`.
    let ron_file = dir.file("in.ron");
    std::fs::write(&ron_file, &ron).unwrap();
    let back = dir.file("back.pcap");
    craft(&["build", &ron_file, "-w", &back]);
    assert_eq!(record_bytes(&back), want);
    let out = craft_with(&["build", "-", "-f", "hex"], ron.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hex: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    let want_hex: Vec<String> = want.iter().map(|b| craft::field::hex(b)).collect();
    assert_eq!(hex, want_hex);

    // Hex reads back too: `dissect -` skips the `# frame` lines.
    let hex_out = craft(&["dissect", "--pcap", &file, "-f", "hex"]);
    let out = craft_with(&["dissect", "-", "-f", "hex"], hex_out.as_bytes());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().collect::<Vec<_>>(), want_hex);

    // No packet: an empty list.
    let empty = dir.file("empty.pcap");
    write_capture(&empty, WriteFormat::PcapMicros, &[]);
    assert_eq!(craft(&["dissect", "--pcap", &empty, "-f", "ron"]), "[]\n");
    // Several hex arguments: one list as well.
    let two = craft(&["dissect", &craft::field::hex(&want[0]), &craft::field::hex(&want[2]), "-f", "ron"]);
    let out = craft_with(&["build", "-", "-f", "hex"], two.as_bytes());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().collect::<Vec<_>>(), [&want_hex[0], &want_hex[2]]);
}

#[test]
fn check_pcap_one_line_per_packet_with_problems_and_a_count() {
    let dir = TmpDir::new("check");
    let file = dir.file("c.pcap");
    let e = "Ether(dst='02:00:00:00:00:33', src='02:00:00:00:00:01')";
    let good = built(&format!("{e}/IP(src='10.0.0.1', dst='10.0.0.2')/TCP()/Raw(load=b'{}')", "y".repeat(100)));
    let bad_ip = built(&format!("{e}/IP(src='10.0.0.1', dst='10.0.0.2', chksum=0x1234)/UDP()"));
    let bad_tcp = built(&format!("{e}/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(chksum=0x4321)"));
    let recs: Vec<Rec> = vec![
        (TS, good.clone(), good.len() as u32),
        (TS + 1000, bad_ip.clone(), bad_ip.len() as u32),
        // Cut by the snaplen: lengths and the TCP checksum cannot be judged, nothing to say.
        (TS + 2000, good[..70].to_vec(), good.len() as u32),
        (TS + 3000, bad_tcp.clone(), bad_tcp.len() as u32),
    ];
    write_capture(&file, WriteFormat::PcapNanos, &recs);
    let out = craft_code(&["check", "--pcap", &file], 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let (n, t, rest) = frame_of(lines[0]);
    assert_eq!((n, ns(t)), (2, TS + 1000));
    assert!(rest.starts_with("Ether / IP 10.0.0.1 > 10.0.0.2 / UDP 53 > 53, length 42: layer 1: IP chksum 0x1234 is wrong, should be 0x"), "{out}");
    assert!(lines[1].trim_start().starts_with("4  ") && lines[1].contains("layer 2: TCP chksum 0x4321 is wrong"), "{out}");
    assert_eq!(lines[2], "2 of 4 packets with problems");

    let clean = dir.file("clean.pcap");
    write_capture(&clean, WriteFormat::PcapMicros, &recs[..1]);
    assert_eq!(craft(&["check", "--pcap", &clean]), "0 of 1 packets with problems\n");
}

#[test]
fn gue_port_decodes_gue_on_other_udp_ports() {
    let dir = TmpDir::new("gue");
    let inner = "IP(src='10.0.0.1', dst='10.0.0.2', chksum=0x1111)/TCP(sport=1, flags='S')";
    let on = |port: u16| built(&format!("Ether(src='02:00:00:00:00:01')/IP(src='172.17.2.1', dst='172.17.2.2')/UDP(sport=40000, dport={port})/GUE()/{inner}"));
    let (p9886, p19523) = (craft::field::hex(&on(9886)), craft::field::hex(&on(19523)));
    let summary = |args: &[&str]| craft(args).trim_end().to_string();
    assert!(summary(&["dissect", &p9886, "-f", "summary"]).ends_with("UDP 40000 > 9886 / Raw"));
    let both = ["--gue-port", "9886", "--gue-port", "19523"];
    for hex in [&p9886, &p19523] {
        let mut args = vec!["dissect", hex.as_str(), "-f", "summary"];
        args.extend(both);
        assert!(summary(&args).ends_with("/ GUE proto 4 / IP 10.0.0.1 > 10.0.0.2 / TCP 1 > 80 S"), "{}", summary(&args));
    }
    // 6080 still is GUE.
    let hex6080 = craft::field::hex(&on(6080));
    assert!(summary(&["dissect", &hex6080, "--gue-port", "9886", "-f", "summary"]).contains("/ GUE proto 4 /"));

    // check: the inner header's bad checksum is seen only inside GUE.
    let file = dir.file("g.pcap");
    let f = on(9886);
    write_capture(&file, WriteFormat::PcapMicros, &[(TS, f.clone(), f.len() as u32)]);
    assert_eq!(craft(&["check", "--pcap", &file]), "0 of 1 packets with problems\n");
    let out = craft_code(&["check", "--pcap", &file, "--gue-port", "9886"], 1);
    assert!(out.contains("layer 4: IP chksum 0x1111 is wrong"), "{out}");
    let out = craft_code(&["check", "--hex", &p9886, "--gue-port", "9886"], 1);
    assert!(out.contains("IP chksum 0x1111 is wrong"), "{out}");
    let json = craft(&["dissect", "--pcap", &file, "--gue-port", "9886", "-f", "json"]);
    let j: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(j["packet"][3]["name"], "GUE");
}

#[test]
fn build_stdin_reports_every_bad_line_and_goes_on() {
    let input = "IP(dst='10.0.0.1')/UDP()\nTCP(flags='SX')\n\n# a comment\nIPv6()/TCP()\nIP(ttl=300)\nUDP(dport=7)\n";
    let out = craft_with(&["build", "-", "-f", "summary"], input.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "IP 0.0.0.0 > 10.0.0.1 / UDP 53 > 53\nIPv6 ::1 > ::1 / TCP 20 > 80 S\nUDP 53 > 7\n"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("craft: error: stdin:2:") && lines[0].contains("unknown flag 'X'"), "{err}");
    assert_eq!(lines[1], "craft: error: stdin:6:8: IP field 'ttl': 300 is out of range 0..=255");
    assert_eq!(lines[2], "craft: error: 2 of 5 stdin lines failed");

    // -w gets the good ones too.
    let dir = TmpDir::new("buildw");
    let file = dir.file("w.pcap");
    let out = craft_with(&["build", "-", "-w", &file], input.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(record_bytes(&file).len(), 3);
}

#[test]
fn dissect_pcap_into_a_closed_pipe_stops_quietly() {
    let dir = TmpDir::new("pipe");
    let file = dir.file("many.pcap");
    let f = frames().swap_remove(1);
    let recs: Vec<Rec> = (0..20_000).map(|i| (TS + i * 1000, f.clone(), f.len() as u32)).collect();
    write_capture(&file, WriteFormat::PcapMicros, &recs);
    let mut child = Command::new(CRAFT)
        .args(["dissect", "--pcap", &file, "-f", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    // As a process SIGPIPE ended (tcpdump | head), without a message.
    assert_eq!(out.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
