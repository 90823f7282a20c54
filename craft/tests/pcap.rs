//! pcap/pcapng: round trips, hand-made big-endian files, bad input, and the real tools
//! (tcpdump, tshark, editcap) reading what craft writes and writing what craft reads.

use std::path::Path;
use std::io::Write;
use std::process::{Command, Stdio};

use craft::packet::{LayerKind, Packet};
use craft::pcap::{Notice, OwnedRecord, Reader, SliceReader, WriteFormat, Writer, LINKTYPE_ETHERNET, LINKTYPE_RAW, MAX_RECORD};
use craft::text::parse_expr;
use proptest::prelude::*;

#[path = "common/tools.rs"]
mod tools;
use tools::{have, run, tmpdir};

const TS: u64 = 1_700_000_000_123_456_789;

fn packet(expr: &str) -> Vec<u8> {
    parse_expr(expr).unwrap()[0].build()
}

fn tcp(sport: u16) -> Vec<u8> {
    packet(&format!(
        "Ether(dst='02:00:00:00:00:33', src='02:00:00:00:00:01')/IP(src='172.17.2.1', dst='172.17.2.2')/TCP(sport={sport}, dport=80, flags='S')"
    ))
}

fn write_file(format: WriteFormat, linktype: u32, snaplen: u32, pkts: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), format, linktype, snaplen).unwrap();
    for (ts, data) in pkts {
        w.write(*ts, data, data.len() as u32).unwrap();
    }
    w.into_inner().unwrap()
}

/// Everything a reader says of a file: each record with the notices taken after it, then
/// the error that ended the read (or the one that kept it from opening), then the notices.
type Transcript = (Vec<(OwnedRecord, Vec<Notice>)>, Option<String>, Vec<Notice>);

/// The transcript of either reader (they share no trait).
macro_rules! transcript {
    ($opened:expr) => {
        match $opened {
            Err(e) => (vec![], Some(e.to_string()), vec![]),
            Ok(mut r) => {
                let mut records = vec![];
                let end = loop {
                    match r.next_record() {
                        Ok(Some(rec)) => {
                            let rec = rec.to_owned();
                            records.push((rec, r.take_notices()));
                        }
                        Ok(None) => break None,
                        Err(e) => break Some(e.to_string()),
                    }
                };
                (records, end, r.take_notices())
            }
        }
    };
}

/// `SliceReader` says of `bytes` exactly what `Reader` says, or, for gzip, refuses it.
fn assert_slice_agrees(bytes: &[u8]) {
    let sliced: Transcript = transcript!(SliceReader::new(bytes));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        assert!(sliced.1.unwrap().contains("gzip-compressed capture"));
    } else {
        let streamed: Transcript = transcript!(Reader::new(bytes));
        assert_eq!(sliced, streamed);
    }
}

fn read_all(bytes: &[u8]) -> Vec<OwnedRecord> {
    assert_slice_agrees(bytes);
    Reader::new(bytes).unwrap().collect::<Result<_, _>>().unwrap()
}

fn read_err(bytes: &[u8]) -> String {
    assert_slice_agrees(bytes);
    match Reader::new(bytes) {
        Err(e) => e.to_string(),
        Ok(r) => match r.collect::<Result<Vec<_>, _>>() {
            Err(e) => e.to_string(),
            Ok(recs) => panic!("expected an error, read {} records", recs.len()),
        },
    }
}

#[test]
fn round_trips() {
    let pkts: Vec<(u64, Vec<u8>)> = (0..5).map(|i| (TS + i * 1_000_001, tcp(1000 + i as u16))).collect();
    for (format, unit) in [(WriteFormat::PcapMicros, 1000), (WriteFormat::PcapNanos, 1), (WriteFormat::PcapNg, 1)] {
        let recs = read_all(&write_file(format, LINKTYPE_ETHERNET, 65535, &pkts));
        assert_eq!(recs.len(), pkts.len(), "{format:?}");
        for (r, (ts, data)) in recs.iter().zip(&pkts) {
            assert_eq!(r.ts_ns, ts / unit * unit, "{format:?}");
            assert_eq!((&r.data, r.orig_len, r.linktype), (data, data.len() as u32, LINKTYPE_ETHERNET));
        }
    }
}

#[test]
fn borrowed_reads_and_dissect() {
    let file = write_file(WriteFormat::PcapNg, LINKTYPE_ETHERNET, 65535, &[(TS, tcp(7)), (TS, tcp(8))]);
    assert_slice_agrees(&file);
    let mut r = Reader::new(&file[..]).unwrap();
    assert!(r.is_pcapng());
    let mut p = Packet::new();
    let mut sports = vec![];
    while let Some(rec) = r.next_record().unwrap() {
        assert_eq!(rec.first_layer(), LayerKind::Ether);
        p.dissect_into(rec.data, rec.first_layer(), &Default::default());
        sports.push(p.summary());
    }
    assert_eq!(sports, ["Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 7 > 80 S", "Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 8 > 80 S"]);
    let mut buf = Vec::new();
    let mut r = Reader::new(&file[..]).unwrap();
    assert_eq!(r.next_into(&mut buf).unwrap(), Some((TS, 54, LINKTYPE_ETHERNET)));
    assert_eq!(buf, tcp(7));
}

#[test]
fn raw_linktype_picks_ip_version() {
    let v4 = packet("IP()/UDP()");
    let v6 = packet("IPv6()/TCP()");
    let recs = read_all(&write_file(WriteFormat::PcapMicros, LINKTYPE_RAW, 65535, &[(0, v4), (0, v6), (0, vec![0x12])]));
    let kinds: Vec<_> = recs.iter().map(|r| craft::pcap::first_layer(r.linktype, &r.data)).collect();
    assert_eq!(kinds, [LayerKind::Ip, LayerKind::Ipv6, LayerKind::Raw]);
    assert_eq!(craft::pcap::first_layer(228, &[]), LayerKind::Ip);
    assert_eq!(craft::pcap::first_layer(229, &[]), LayerKind::Ipv6);
    assert_eq!(craft::pcap::first_layer(147, &[0x45]), LayerKind::Raw);
}

#[test]
fn snaplen_truncation_keeps_orig_len() {
    for format in [WriteFormat::PcapMicros, WriteFormat::PcapNanos, WriteFormat::PcapNg] {
        let data = tcp(1);
        let recs = read_all(&write_file(format, LINKTYPE_ETHERNET, 33, &[(TS, data.clone())]));
        assert_eq!(recs[0].data, &data[..33], "{format:?}");
        assert_eq!(recs[0].orig_len, 54, "{format:?}");
    }
}

/// A classic pcap header and records, built field by field in either byte order.
fn pcap_by_hand(big: bool, magic: u32, linktype: u32, recs: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let w32 = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
    let w16 = |v: u16| if big { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut f = w32(magic).to_vec();
    f.extend(w16(2));
    f.extend(w16(4));
    f.extend([0; 8]);
    f.extend(w32(65535));
    f.extend(w32(linktype));
    for (sec, frac, data, orig) in recs {
        for v in [*sec, *frac, data.len() as u32, *orig] {
            f.extend(w32(v));
        }
        f.extend(*data);
    }
    f
}

#[test]
fn big_endian_pcap_micro_and_nano() {
    let data = tcp(5);
    let us = pcap_by_hand(true, 0xa1b2c3d4, 1, &[(1_700_000_000, 123_456, &data, 60)]);
    let r = &read_all(&us)[0];
    assert_eq!((r.ts_ns, &r.data, r.orig_len, r.linktype), (1_700_000_000_123_456_000, &data, 60, 1));
    let ns = pcap_by_hand(true, 0xa1b23c4d, 101, &[(1, 5, &data, 54)]);
    let r = &read_all(&ns)[0];
    assert_eq!((r.ts_ns, r.linktype), (1_000_000_005, 101));
    let le_ns = pcap_by_hand(false, 0xa1b23c4d, 1, &[(2, 7, &data, 54)]);
    assert_eq!(read_all(&le_ns)[0].ts_ns, 2_000_000_007);
}

/// pcapng blocks by hand, in either byte order.
struct Ng {
    big: bool,
    out: Vec<u8>,
}

impl Ng {
    fn w32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let padded = body.len().next_multiple_of(4);
        let total = 12 + padded as u32;
        let (k, t) = (self.w32(kind), self.w32(total));
        self.out.extend(k);
        self.out.extend(t);
        self.out.extend(body);
        self.out.extend(vec![0; padded - body.len()]);
        self.out.extend(t);
    }

    fn shb(&mut self) {
        let mut b = self.w32(0x1a2b3c4d).to_vec();
        b.extend(if self.big { [0, 1, 0, 0] } else { [1, 0, 0, 0] }); // version 1.0
        b.extend([0xff; 8]);
        self.block(0x0a0d0d0a, &b);
    }

    fn idb(&mut self, linktype: u16, tsresol: Option<u8>, snaplen: u32) {
        let w16 = |v: u16| if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut b = w16(linktype).to_vec();
        b.extend([0, 0]);
        b.extend(self.w32(snaplen));
        // An option craft ignores (if_name), then if_tsresol.
        b.extend(w16(2));
        b.extend(w16(3));
        b.extend(b"et0\0");
        if let Some(r) = tsresol {
            b.extend(w16(9));
            b.extend(w16(1));
            b.extend([r, 0, 0, 0]);
        }
        b.extend([0; 4]);
        self.block(1, &b);
    }

    /// An obsolete Packet Block (type 2): a 16-bit interface id and drops count.
    fn pb(&mut self, iface: u16, drops: u16, ticks: u64, data: &[u8], orig: u32) {
        let w16 = |v: u16| if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut b = w16(iface).to_vec();
        b.extend(w16(drops));
        for v in [(ticks >> 32) as u32, ticks as u32, data.len() as u32, orig] {
            b.extend(self.w32(v));
        }
        b.extend(data);
        b.extend(vec![0; data.len().next_multiple_of(4) - data.len()]);
        // An option (pack_flags: inbound), which the reader passes over.
        b.extend(w16(2));
        b.extend(w16(4));
        b.extend(self.w32(1));
        b.extend([0; 4]);
        self.block(2, &b);
    }

    fn epb(&mut self, iface: u32, ticks: u64, data: &[u8], orig: u32) {
        let mut b = vec![];
        for v in [iface, (ticks >> 32) as u32, ticks as u32, data.len() as u32, orig] {
            b.extend(self.w32(v));
        }
        b.extend(data);
        b.extend(vec![0; data.len().next_multiple_of(4) - data.len()]);
        self.block(6, &b);
    }
}

#[test]
fn pcapng_both_byte_orders_interfaces_and_blocks() {
    let data = tcp(9);
    let v4 = packet("IP(src='10.0.0.1')/UDP()");
    let mut ng = Ng { big: true, out: vec![] };
    ng.shb();
    ng.idb(1, Some(3), 0); // milliseconds
    ng.block(0x0bad, &[1, 2, 3, 4, 5, 6, 7, 8]); // unknown block: skipped
    ng.idb(101, Some(0x80 | 20), 0); // 2^-20 s
    ng.epb(0, 1_700_000_000_123, &data, 54);
    ng.epb(1, 3 << 20 | 1 << 19, &v4, 1000);
    let mut spb = ng.w32(54).to_vec();
    spb.extend(&data);
    spb.extend([0, 0]);
    ng.block(3, &spb);
    // A second section, little endian, with its own interfaces.
    let mut le = Ng { big: false, out: vec![] };
    le.shb();
    le.idb(229, None, 0); // no if_tsresol: microseconds
    le.epb(0, 42, b"\x60\0\0\0", 4);
    ng.out.extend(le.out);

    let recs = read_all(&ng.out);
    let got: Vec<_> = recs.iter().map(|r| (r.ts_ns, r.data.len(), r.orig_len, r.linktype)).collect();
    assert_eq!(
        got,
        [(1_700_000_000_123_000_000, 54, 54, 1), (3_500_000_000, v4.len(), 1000, 101), (0, 54, 54, 1), (42_000, 4, 4, 229)]
    );
    assert_eq!(recs[2].data, data);
}

#[test]
fn bad_inputs_say_what_and_where() {
    let good = write_file(WriteFormat::PcapMicros, 1, 65535, &[(TS, tcp(1))]);
    assert!(read_err(b"").contains("empty file"));
    assert_eq!(read_err(b"GET / HTTP/1.1\r\n"), "at byte 0: bad magic 0x47455420: not a pcap or pcapng file");
    assert!(read_err(&good[..10]).starts_with("at byte 0: truncated pcap file header"), "{}", read_err(&good[..10]));
    assert_eq!(read_err(&good[..30]), "at byte 24: truncated record header: 6 of 16 bytes");
    assert_eq!(read_err(&good[..50]), "at byte 24: truncated record data: 10 of 54 bytes");
    let mut huge = good.clone();
    huge[32..36].copy_from_slice(&(MAX_RECORD as u32 + 1).to_le_bytes());
    assert!(read_err(&huge).contains("exceeds the 262144-byte limit"), "{}", read_err(&huge));

    let ng = write_file(WriteFormat::PcapNg, 1, 65535, &[(TS, tcp(1))]);
    let mut bad_trailer = ng.clone();
    let n = bad_trailer.len();
    bad_trailer[n - 4] ^= 4;
    assert_eq!(read_err(&bad_trailer), "at byte 60: block length 88 does not match its trailing copy 92");
    let mut bad_iface = ng.clone();
    bad_iface[68] = 3; // EPB's interface id
    assert!(read_err(&bad_iface).contains("interface 3, but only 1"));
    let mut bad_bom = ng.clone();
    bad_bom[8] = 0;
    assert!(read_err(&bad_bom).starts_with("at byte 8: bad pcapng byte-order magic"));
    assert!(read_err(&ng[..70]).starts_with("at byte 60: truncated block"));
}

/// Reads to the end or the first error; bounded since every record consumes input.
fn read_any(bytes: &[u8]) -> usize {
    assert_slice_agrees(bytes);
    let Ok(mut r) = Reader::new(bytes) else { return 0 };
    let mut n = 0;
    while let Ok(Some(_)) = r.next_record() {
        n += 1;
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        read_any(&bytes);
    }

    #[test]
    fn mutated_files_never_panic(
        ng in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let format = if ng { WriteFormat::PcapNg } else { WriteFormat::PcapNanos };
        let mut file = write_file(format, 1, 65535, &[(TS, tcp(1)), (TS, tcp(2)), (TS, packet("IP()/UDP()"))]);
        for (at, byte) in edits {
            let i = at.index(file.len());
            file[i] = byte;
        }
        let keep = cut.index(file.len() + 1);
        // Only the absence of a panic (or a hang) is checked: a mutated length may split
        // the file into more, smaller records.
        read_any(&file[..keep]);
    }
}

// ---- real tools ----




fn craft(args: &[&str]) -> String {
    run(env!("CARGO_BIN_EXE_craft"), args)
}

/// Two packets, one expression per line (for `craft build -`).
const BUILD: &str = "Ether(dst='02:00:00:00:00:33', src='02:00:00:00:00:01')/IP(src='172.17.2.1', dst='172.17.2.2')/TCP(sport=49138, dport=80, flags='S')\nEther()/IP(src='10.1.1.1', dst='10.2.2.2')/UDP(sport=5353, dport=5353)/'hello'\n";

/// `craft build - -w FILE` with BUILD on stdin: returns stdout.
fn craft_build_to(file: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_craft"))
        .args(["build", "-", "-w", p(file)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(BUILD.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The packet summaries of `craft dissect --pcap -f summary`, without the frame number,
/// timestamp and length around them.
fn summaries(out: &str) -> Vec<&str> {
    out.lines()
        .map(|l| {
            let rest = l.trim_start().split_once("  ").and_then(|(_, r)| r.split_once(' '));
            let (_, rest) = rest.unwrap_or_else(|| panic!("no frame number and time: {l}"));
            rest.rsplit_once(", length ").map_or(rest, |(s, _)| s)
        })
        .collect()
}

#[test]
fn cli_build_write_and_dissect_pcap() {
    let dir = tmpdir("pcap", "cli");
    for name in ["out.pcap", "out.pcapng"] {
        let file = dir.join(name);
        assert_eq!(craft_build_to(&file), "", "-w alone prints nothing");
        let lines = craft(&["dissect", "--pcap", p(&file), "-f", "summary"]);
        assert_eq!(
            summaries(&lines),
            ["Ether / IP 172.17.2.1 > 172.17.2.2 / TCP 49138 > 80 S", "Ether / IP 10.1.1.1 > 10.2.2.2 / UDP 5353 > 5353 / Raw"]
        );
        let json = craft(&["dissect", "--pcap", p(&file), "-f", "json"]);
        assert_eq!(json.lines().count(), 2);
        assert_eq!(Reader::new(std::fs::File::open(&file).unwrap()).unwrap().is_pcapng(), name.ends_with("ng"));
    }
    let raw = dir.join("raw.pcap");
    assert_eq!(craft(&["build", "IPv6()/TCP()", "-w", p(&raw), "-f", "summary"]), "IPv6 ::1 > ::1 / TCP 20 > 80 S\n");
    assert_eq!(read_all(&std::fs::read(&raw).unwrap())[0].linktype, LINKTYPE_RAW);
    assert_eq!(summaries(&craft(&["dissect", "--pcap", p(&raw), "-f", "summary"])), ["IPv6 ::1 > ::1 / TCP 20 > 80 S"]);

    let junk = dir.join("junk.pcap");
    std::fs::write(&junk, b"not a capture").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_craft")).args(["dissect", "--pcap", p(&junk)]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at byte 0: bad magic"));
}

#[test]
fn tcpdump_reads_what_craft_writes() {
    if !have("tcpdump") {
        return;
    }
    let dir = tmpdir("pcap", "tcpdump");
    for name in ["a.pcap", "a.pcapng"] {
        let file = dir.join(name);
        craft_build_to(&file);
        let out = run("tcpdump", &["-r", p(&file), "-nn", "-tt"]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].contains("172.17.2.1.49138 > 172.17.2.2.80: Flags [S]"), "{out}");
        assert!(lines[1].contains("10.1.1.1.5353 > 10.2.2.2.5353"), "{out}");
    }
    // Nanosecond pcap, written by the library.
    let ns = dir.join("ns.pcap");
    std::fs::write(&ns, write_file(WriteFormat::PcapNanos, 1, 65535, &[(TS, tcp(1))])).unwrap();
    let out = run("tcpdump", &["-r", p(&ns), "-nn", "-tt", "--time-stamp-precision=nano"]);
    assert!(out.starts_with("1700000000.123456789 IP 172.17.2.1.1 > 172.17.2.2.80"), "{out}");
}

#[test]
fn tshark_reads_what_craft_writes() {
    if !have("tshark") {
        return;
    }
    let dir = tmpdir("pcap", "tshark");
    for name in ["a.pcap", "a.pcapng"] {
        let file = dir.join(name);
        craft_build_to(&file);
        let out = run("tshark", &["-r", p(&file)]);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.contains("172.17.2.1") && out.contains("10.2.2.2"), "{out}");
    }
}

#[test]
fn craft_reads_what_tcpdump_and_editcap_write() {
    if !have("tcpdump") || !have("editcap") {
        return;
    }
    let dir = tmpdir("pcap", "editcap");
    let (orig, dumped, ng, ns) = (dir.join("craft.pcap"), dir.join("tcpdump.pcap"), dir.join("e.pcapng"), dir.join("ns.pcap"));
    std::fs::write(&orig, write_file(WriteFormat::PcapMicros, 1, 65535, &[(TS, tcp(1)), (TS + 1000, tcp(2))])).unwrap();
    run("tcpdump", &["-r", p(&orig), "-w", p(&dumped)]);
    run("editcap", &["-F", "pcapng", p(&orig), p(&ng)]);
    run("editcap", &["-F", "nsecpcap", p(&orig), p(&ns)]);
    let want = read_all(&std::fs::read(&orig).unwrap());
    assert_eq!(want.len(), 2);
    for file in [&dumped, &ng, &ns] {
        let got = read_all(&std::fs::read(file).unwrap());
        assert_eq!(got, want, "{}", file.display());
    }
    assert!(Reader::new(std::fs::File::open(&ng).unwrap()).unwrap().is_pcapng());
    let summaries = craft(&["dissect", "--pcap", p(&ng), "-f", "summary"]);
    assert!(summaries.contains("TCP 2 > 80 S"), "{summaries}");
}

// ---- obsolete Packet Blocks, skipped blocks, link types not decoded, gzip ----

/// Two sections (big then little endian) of obsolete Packet Blocks (type 2) on two
/// interfaces, with statistics, name resolution and custom blocks between them.
/// A record as (ts_ns, data, orig_len, linktype, interface, drops).
type Rec = (u64, Vec<u8>, u32, u32, u32, Option<u64>);

fn packet_blocks_file() -> (Vec<u8>, Vec<Rec>) {
    let eth = tcp(11);
    let v6 = packet("IPv6(src='2001:db8::1', dst='2001:db8::2')/UDP(sport=1000, dport=2000)/b'pb'");
    let mut ng = Ng { big: true, out: vec![] };
    ng.shb();
    ng.idb(1, Some(9), 0); // ns
    ng.idb(101, None, 0); // µs
    ng.pb(0, 3, 1_700_000_000_000_000_001, &eth, 60);
    ng.block(5, &[0; 20]); // interface statistics
    ng.pb(1, 0xffff, 1_700_000_000_000_002, &v6, v6.len() as u32);
    ng.pb(0, 0, 1_700_000_000_000_000_003, &eth[..40], 54); // cut by the snaplen
    ng.block(4, &[0; 4]); // name resolution: end of records only
    let mut le = Ng { big: false, out: vec![] };
    le.shb();
    le.idb(113, Some(6), 0);
    let sll = packet("CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6, src=b'\x02\x00\x00\x00\x00\x01\x00\x00')/IP(src='10.0.0.1', dst='10.0.0.2')/ICMP()");
    le.pb(0, 7, 42, &sll, sll.len() as u32);
    le.block(5, &[0; 20]);
    le.block(0x4000_0bad, &[0; 8]); // custom, not to be copied
    ng.out.extend(le.out);
    let want = vec![
        (1_700_000_000_000_000_001, eth.clone(), 60, 1, 0, Some(3)),
        (1_700_000_000_000_002_000, v6.clone(), v6.len() as u32, 101, 1, None),
        (1_700_000_000_000_000_003, eth[..40].to_vec(), 54, 1, 0, Some(0)),
        (42_000, sll.clone(), sll.len() as u32, 113, 0, Some(7)),
    ];
    (ng.out, want)
}

#[test]
fn obsolete_packet_blocks_are_read_and_skipped_blocks_reported_once() {
    let (file, want) = packet_blocks_file();
    assert_slice_agrees(&file);
    let mut r = Reader::new(&file[..]).unwrap();
    let mut got = vec![];
    while let Some(rec) = r.next_record().unwrap() {
        got.push((rec.ts_ns, rec.data.to_vec(), rec.orig_len, rec.linktype, rec.interface, rec.drops));
        // Block counts are final only at the end: nothing is said before.
        assert_eq!(r.take_notices(), []);
    }
    assert_eq!(got, want);
    let notices = r.take_notices();
    let text: Vec<String> = notices.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "skipped 2 pcapng blocks of type 5 (Interface Statistics)",
            "skipped 1 pcapng block of type 4 (Name Resolution)",
            "skipped 1 pcapng block of type 0x40000bad (Custom)",
        ]
    );
    assert_eq!(notices[0], Notice::SkippedBlocks { kind: 5, count: 2 });
    assert_eq!(r.take_notices(), [], "said once");
    // The CLI says them on stderr, after every packet.
    let path = tmpdir("pcap", "pbcli").join("pb.pcapng");
    std::fs::write(&path, &file).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_craft")).args(["dissect", "--pcap", p(&path), "-f", "json"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    for line in &text {
        assert!(stderr.contains(&format!("{}: {line}", p(&path))), "{stderr}");
    }
    // Every record dissects by its link type and builds back to its bytes.
    for (_, data, _, lt, _, _) in &want {
        let p = Packet::dissect(data, craft::pcap::first_layer(*lt, data));
        assert_eq!(&p.build(), data);
    }
}

#[test]
fn tshark_reads_the_packet_blocks_as_craft_does() {
    if !have("tshark") {
        return;
    }
    let (file, want) = packet_blocks_file();
    let path = tmpdir("pcap", "pb").join("pb.pcapng");
    std::fs::write(&path, &file).unwrap();
    let fields = ["frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id", "frame.drop_count", "frame.protocols"];
    // tshark shows the custom block as a record of its own, on no interface: left out.
    let mut args = vec!["-r", p(&path), "-Y", "frame.interface_id", "-T", "fields"];
    for f in &fields {
        args.extend(["-e", f]);
    }
    let out = run("tshark", &args);
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), want.len(), "{out}");
    for (line, (ts, data, orig, lt, iface, drops)) in lines.iter().zip(&want) {
        let epoch = format!("{}.{:09}", ts / 1_000_000_000, ts % 1_000_000_000);
        let drops = drops.map(|d| d.to_string()).unwrap_or_default();
        assert_eq!(
            &line[..5],
            [epoch.as_str(), &orig.to_string(), &data.len().to_string(), &iface.to_string(), &drops],
            "{out}"
        );
        let first = craft::pcap::first_layer(*lt, data);
        // A header cut short is Raw in craft, the protocol (marked malformed) in tshark.
        let names: Vec<&str> = Packet::dissect(data, first)
            .layers
            .iter()
            .map(|l| match l {
                craft::packet::Layer::Raw(r) if r.truncated.is_some() => r.truncated.unwrap(),
                l => l.kind().name(),
            })
            .collect();
        let theirs = line[5].replace(":ethertype", "").replace("raw:", "");
        let ours: Vec<&str> = names
            .iter()
            .map(|n| match *n {
                "Ether" => "eth",
                "CookedLinux" => "sll",
                "IP" => "ip",
                "IPv6" => "ipv6",
                "TCP" => "tcp",
                "UDP" => "udp",
                "ICMP" => "icmp",
                "Raw" => "data",
                other => other,
            })
            .collect();
        assert_eq!(ours.join(":"), theirs, "{out}");
    }
}

#[test]
fn link_types_not_decoded_are_said_once_and_shown_raw() {
    let ppp = [&[0xff, 0x03, 0x00, 0x21][..], &packet("IP()/UDP()")].concat();
    let mut ng = Ng { big: false, out: vec![] };
    ng.shb();
    ng.idb(9, None, 0); // PPP
    ng.idb(1, None, 0);
    ng.idb(147, None, 0); // USER0, on no packet: not said
    ng.epb(0, 1, &ppp, ppp.len() as u32);
    ng.epb(1, 2, &tcp(1), 54);
    ng.epb(0, 3, &ppp, ppp.len() as u32);
    assert_slice_agrees(&ng.out);
    let mut r = Reader::new(&ng.out[..]).unwrap();
    let mut said = vec![];
    while let Some(rec) = r.next_record().unwrap() {
        let p = Packet::dissect(rec.data, rec.first_layer());
        if rec.linktype == 9 {
            assert!(matches!(&p.layers[..], [craft::packet::Layer::Raw(raw)] if raw.load == ppp));
        }
        said.extend(r.take_notices().iter().map(ToString::to_string));
    }
    said.extend(r.take_notices().iter().map(ToString::to_string));
    assert_eq!(said, ["link type 9 (PPP) is not decoded: packets shown as Raw"]);
    // Classic pcap: the same, and a link type without a name.
    let unnamed = pcap_by_hand(false, 0xa1b2c3d4, 4000, &[(1, 0, b"abc", 3), (2, 0, b"def", 3)]);
    assert_slice_agrees(&unnamed);
    let mut r = Reader::new(&unnamed[..]).unwrap();
    while r.next_record().unwrap().is_some() {}
    let said: Vec<String> = r.take_notices().iter().map(ToString::to_string).collect();
    assert_eq!(said, ["link type 4000 is not decoded: packets shown as Raw"]);
    for lt in [0, 1, 12, 14, 101, 108, 113, 228, 229, 276] {
        assert!(craft::pcap::is_decoded(lt), "{lt}");
        assert_ne!(craft::pcap::first_layer(lt, &[0x45]), LayerKind::Raw, "{lt}");
    }
    assert!(!craft::pcap::is_decoded(9));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn gzip_captures_are_read_by_magic() {
    let pkts: Vec<(u64, Vec<u8>)> = (0..20).map(|i| (TS + i, tcp(2000 + i as u16))).collect();
    for format in [WriteFormat::PcapMicros, WriteFormat::PcapNanos, WriteFormat::PcapNg] {
        let plain = write_file(format, LINKTYPE_ETHERNET, 65535, &pkts);
        let gz = gzip(&plain);
        let r = Reader::new(&gz[..]).unwrap();
        assert!(r.is_gzip());
        assert_eq!(r.is_pcapng(), format == WriteFormat::PcapNg);
        assert_eq!(read_all(&gz), read_all(&plain), "{format:?}");
        // Two gzip members (as `cat a.gz b.gz` makes) are one stream, even mid-record.
        let (a, b) = plain.split_at(plain.len() / 2 + 3);
        assert_eq!(read_all(&[gzip(a), gzip(b)].concat()), read_all(&plain), "{format:?}");
    }
    assert!(!Reader::new(&write_file(WriteFormat::PcapMicros, 1, 65535, &pkts)[..]).unwrap().is_gzip());
    // Bad input inside and outside the compression says what it is.
    assert_eq!(read_err(&gzip(b"")), "at byte 0: empty file (gzip-compressed): expected a pcap or pcapng header");
    assert_eq!(read_err(&gzip(b"GET / HTTP/1.1\r\n")), "at byte 0: bad magic 0x47455420: not a pcap or pcapng file");
    let gz = gzip(&write_file(WriteFormat::PcapMicros, 1, 65535, &pkts));
    let cut = read_err(&gz[..gz.len() / 2]);
    assert!(cut.contains("read error") || cut.contains("truncated"), "{cut}");
    let mut corrupt = gz.clone();
    corrupt[40] ^= 0xff;
    corrupt[41] ^= 0xff;
    let _ = read_any(&corrupt); // an error or fewer records, never a panic
    assert_eq!(read_err(&[0x1f]), "at byte 0: truncated file header: 1 of 4 magic bytes");
}

#[test]
fn cli_reads_gzip_captures_whatever_their_name() {
    let dir = tmpdir("pcap", "gzcli");
    let plain = write_file(WriteFormat::PcapNg, 1, 65535, &[(TS, tcp(7)), (TS, tcp(8))]);
    let plain_file = dir.join("plain.pcapng");
    std::fs::write(&plain_file, &plain).unwrap();
    let want = craft(&["dissect", "--pcap", p(&plain_file), "-f", "summary"]);
    assert!(want.contains("TCP 7 > 80 S") && want.contains("TCP 8 > 80 S"), "{want}");
    for name in ["a.pcapng.gz", "b.pcap"] {
        let file = dir.join(name);
        std::fs::write(&file, gzip(&plain)).unwrap();
        assert_eq!(craft(&["dissect", "--pcap", p(&file), "-f", "summary"]), want, "{name}");
    }
}

#[test]
fn gzip_tool_and_tshark_agree() {
    if !have("gzip") || !have("tshark") {
        return;
    }
    let dir = tmpdir("pcap", "gztool");
    let file = dir.join("c.pcap");
    let pkts: Vec<(u64, Vec<u8>)> = (0..5).map(|i| (TS + i * 1000, tcp(3000 + i as u16))).collect();
    std::fs::write(&file, write_file(WriteFormat::PcapMicros, 1, 65535, &pkts)).unwrap();
    run("gzip", &["-kf9", p(&file)]);
    let gz = dir.join("c.pcap.gz");
    let recs = read_all(&std::fs::read(&gz).unwrap());
    assert_eq!(recs, read_all(&std::fs::read(&file).unwrap()));
    let out = run("tshark", &["-r", p(&gz), "-T", "fields", "-e", "tcp.srcport"]);
    let theirs: Vec<&str> = out.lines().collect();
    assert_eq!(theirs, ["3000", "3001", "3002", "3003", "3004"]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Mutated gzip streams and packet-block files: an error or records, never a panic.
    #[test]
    fn mutated_gzip_and_packet_blocks_never_panic(
        gz in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let (pb, _) = packet_blocks_file();
        let mut file = if gz { gzip(&pb) } else { pb };
        for (at, byte) in edits {
            let i = at.index(file.len());
            file[i] = byte;
        }
        let keep = cut.index(file.len() + 1);
        read_any(&file[..keep]);
    }
}
