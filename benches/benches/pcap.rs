//! Capture-file throughput: an in-memory pcap of 10k Ether/IPv4/TCP packets.
//!
//! - `pcap/read`: read every record (borrowed, no per-packet allocation).
//! - `pcap/read_dissect`: read every record and dissect it into one reused `Packet`.
//! - `pcap/write` and `pcap/write_pcapng`: write 10k packets into a reused buffer.
//!
//! - `pcap_out/json`, `pcap_out/hex`, `pcap_out/summary`: what `craft dissect --pcap F
//!   --format json|hex|summary` does per packet (read, dissect, print with the frame's
//!   number, timestamp and lengths into a 64 KiB buffer, written out when full) over a
//!   48k-packet capture of eight kinds of frame (TCP SYN with options, TCP with 1448 bytes
//!   of payload, UDP, ICMP, IPv6/TCP, ARP, GUE, 802.1Q/UDP; 290 bytes a frame on average).
//!
//! - `pcap_peers/*`: the same files read and written by craft::pcap and by the pcap-file
//!   crate, 2.0 (stable) and 3.0.0-rc1: `read_pcap` (10k records, µs pcap, each record's
//!   bytes summed), `read_pcapng` (the same packets as pcapng, ns), `write_pcap`,
//!   `write_pcapng` (10k packets into a reused buffer). Both sides' readers are timed two
//!   ways: streaming over `&[u8]` as a `Read` (craft's `Reader`: `craft_reader`; pcap-file's
//!   `PcapReader`) and zero-copy on the slice (craft's `SliceReader`: `craft_slice`;
//!   pcap-file's `PcapParser`); its pcap writer is given a little-endian header (its default is big
//!   endian, which would cost it a byte swap per field). Before timing, correctness on the
//!   cases craft's tests cover (printed, one line per reader and case): a snaplen below the
//!   packet length (orig_len > caplen), pcapng `if_tsresol` in milliseconds and in 2^-20 s,
//!   an Enhanced Packet Block with orig_len 1000 > its 54 captured bytes, a Simple Packet
//!   Block and an obsolete Packet Block; craft must read all of them right (asserted).
//!
//! Throughput is in packets (elements). Issue targets: read+dissect >= 5M packets/s,
//! write >= 10M packets/s, JSON output >= 500k packets/s (#11).
//! Run: `cargo bench -p benches --bench pcap`.

use std::hint::black_box;

use craft::layer::DissectCx;
use craft::pcap::{Reader, SliceReader, WriteFormat, Writer, LINKTYPE_ETHERNET};
use craft::prelude::*;
use craft::text::Frame;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const PACKETS: usize = 10_000;
const TS: u64 = 1_700_000_000_000_000_000;

fn syn(i: usize) -> Vec<u8> {
    let pkt = Ether::new().dst("02:00:00:00:00:33").src("02:00:00:00:00:01")
        / Ip::new().src("172.17.2.1").dst("172.17.2.2")
        / Tcp::new().sport(1024 + (i % 60_000) as u16).dport(80).flags("S");
    pkt.build()
}

fn capture(format: WriteFormat, pkts: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new(Vec::with_capacity(PACKETS * 80 + 64), format, LINKTYPE_ETHERNET, 65535).unwrap();
    for (i, p) in pkts.iter().enumerate() {
        w.write(TS + i as u64 * 1000, p, p.len() as u32).unwrap();
    }
    w.into_inner().unwrap()
}

fn bench_pcap(c: &mut Criterion) {
    let pkts: Vec<Vec<u8>> = (0..PACKETS).map(syn).collect();
    let file = capture(WriteFormat::PcapMicros, &pkts);
    let cx = DissectCx::default();

    let mut g = c.benchmark_group("pcap");
    g.throughput(Throughput::Elements(PACKETS as u64));
    g.bench_function("read", |b| {
        b.iter(|| {
            let mut r = Reader::new(black_box(&file[..])).unwrap();
            let mut bytes = 0;
            while let Some(rec) = r.next_record().unwrap() {
                bytes += rec.data.len();
            }
            assert_eq!(bytes, PACKETS * 54);
        })
    });
    g.bench_function("read_dissect", |b| {
        let mut p = Packet::new();
        b.iter(|| {
            let mut r = Reader::new(black_box(&file[..])).unwrap();
            let mut n = 0;
            while let Some(rec) = r.next_record().unwrap() {
                p.dissect_into(rec.data, rec.first_layer(), &cx);
                n += p.layers.len();
            }
            assert_eq!(n, PACKETS * 3);
        })
    });
    for (name, format) in [("write", WriteFormat::PcapMicros), ("write_pcapng", WriteFormat::PcapNg)] {
        let mut out = Vec::with_capacity(PACKETS * 100);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut w = Writer::new(&mut out, format, LINKTYPE_ETHERNET, 65535).unwrap();
                for (i, p) in pkts.iter().enumerate() {
                    w.write(TS + i as u64, black_box(p), p.len() as u32).unwrap();
                }
            })
        });
    }
    g.finish();
}

/// The 48k-packet capture of the output benches: 8 kinds of frame, 6144 of each, in turn.
fn mixed_frames() -> Vec<Vec<u8>> {
    let eth = || Ether::new().dst("02:00:00:00:00:33").src("02:00:00:00:00:01");
    let ip = |i: usize| Ip::new().src("172.17.2.1").dst(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32)).id(i as u16);
    let payload = |n: usize| (0..n).map(|i| (i * 7) as u8).collect::<Vec<u8>>();
    (0..MIXED)
        .map(|i| {
            let sport = 1024 + (i % 60_000) as u16;
            let p = match i % 8 {
                0 => eth() / ip(i) / Tcp::new().sport(sport).dport(80).flags("S").options(vec![TcpOption::Mss(1460), TcpOption::SAckOK, TcpOption::WScale(7)]),
                1 => eth() / ip(i) / Tcp::new().sport(80).dport(sport).flags("A").seq(i as u32) / Raw::new().load(payload(1448)),
                2 => eth() / ip(i) / Udp::new().sport(sport).dport(53) / Raw::new().load(payload(64)),
                3 => eth() / ip(i) / Icmp::new().id(i as u16) / Raw::new().load(payload(56)),
                4 => eth() / Ipv6::new().src("fd00::1").dst("fd00::2") / Tcp::new().sport(sport).dport(443).flags("PA") / Raw::new().load(payload(100)),
                5 => eth().dst("ff:ff:ff:ff:ff:ff") / Arp::new().psrc("10.0.0.1").pdst(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32)),
                6 => eth() / ip(i) / Udp::new().sport(sport) / Gue::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2") / Tcp::new().sport(sport).flags("S"),
                _ => eth() / Dot1Q::new().vlan(100) / ip(i) / Udp::new().sport(sport).dport(4789) / Raw::new().load(payload(200)),
            };
            p.build()
        })
        .collect()
}

const MIXED: usize = 48 * 1024;

/// `craft dissect --pcap` output: see the module doc.
fn bench_output(c: &mut Criterion) {
    let frames = mixed_frames();
    let file = {
        let mut w = Writer::new(Vec::new(), WriteFormat::PcapMicros, LINKTYPE_ETHERNET, 65535).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write(TS + i as u64 * 1000, f, f.len() as u32).unwrap();
        }
        w.into_inner().unwrap()
    };
    let cx = DissectCx::default();
    let mut g = c.benchmark_group("pcap_out");
    g.throughput(Throughput::Elements(MIXED as u64));
    g.sample_size(20);
    for format in ["json", "hex", "summary"] {
        let mut sink: Vec<u8> = Vec::with_capacity(1 << 17);
        let mut p = Packet::new();
        g.bench_function(format, |b| {
            b.iter(|| {
                let mut r = Reader::new(black_box(&file[..])).unwrap();
                let mut number = 0;
                while let Some(rec) = r.next_record().unwrap() {
                    number += 1;
                    let frame = Frame { number, ts_ns: rec.ts_ns, caplen: rec.data.len(), len: rec.orig_len, digits: 6 };
                    match format {
                        "json" => {
                            p.dissect_into(rec.data, rec.first_layer(), &cx);
                            frame.write_json(&p, &mut sink);
                        }
                        // The CLI prints the bytes as captured: no dissect.
                        "hex" => frame.write_hex(rec.data, &mut sink),
                        _ => {
                            p.dissect_into(rec.data, rec.first_layer(), &cx);
                            frame.write_summary_line(&p.summary(), &mut sink);
                        }
                    }
                    if sink.len() >= 1 << 16 {
                        black_box(&sink);
                        sink.clear();
                    }
                }
                assert_eq!(number as usize, MIXED);
            })
        });
    }
    g.finish();
}

/// pcap-file's side, the same code for 2.0 and 3.0.0-rc1 (their APIs are the same here).
macro_rules! pcap_file_side {
    ($m:ident, $krate:ident) => {
        mod $m {
            use std::borrow::Cow;
            use std::time::Duration;

            use $krate::pcap::{PcapHeader, PcapPacket, PcapParser, PcapReader, PcapWriter};
                        use $krate::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
            use $krate::pcapng::{Block, PcapNgParser, PcapNgReader, PcapNgWriter};
            use $krate::{DataLink, Endianness};

            /// Every packet of a pcap file as (ts_ns, data, orig_len), or the first error.
            pub fn read_pcap(file: &[u8]) -> Result<Vec<(u64, Vec<u8>, u32)>, String> {
                let mut r = PcapReader::new(file).map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                while let Some(p) = r.next_packet() {
                    let p = p.map_err(|e| e.to_string())?;
                    out.push((p.timestamp.as_nanos() as u64, p.data.to_vec(), p.orig_len));
                }
                Ok(out)
            }

            /// Every packet of a pcapng file (EPB, SPB, PB) as (ts_ns, data, orig_len).
            pub fn read_pcapng(file: &[u8]) -> Result<Vec<(u64, Vec<u8>, u32)>, String> {
                let mut r = PcapNgReader::new(file).map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                while let Some(b) = r.next_block() {
                    match b.map_err(|e| e.to_string())? {
                        Block::EnhancedPacket(p) => out.push((p.timestamp.as_nanos() as u64, p.data.to_vec(), p.original_len)),
                        Block::SimplePacket(p) => out.push((0, p.data.to_vec(), p.original_len)),
                        Block::Packet(p) => out.push((p.timestamp, p.data.to_vec(), p.original_len)),
                        _ => {}
                    }
                }
                Ok(out)
            }

            /// Bytes of every record, `PcapReader` over the slice.
            pub fn sum_reader(file: &[u8]) -> usize {
                let mut r = PcapReader::new(file).unwrap();
                let mut n = 0;
                while let Some(p) = r.next_packet() {
                    n += p.unwrap().data.len();
                }
                n
            }

            /// Bytes of every record, `PcapParser` on the slice (zero-copy).
            pub fn sum_parser(file: &[u8]) -> usize {
                let (mut rest, parser) = PcapParser::new(file).unwrap();
                let mut n = 0;
                while !rest.is_empty() {
                    let (r, p) = parser.next_packet(rest).unwrap();
                    n += p.data.len();
                    rest = r;
                }
                n
            }

            /// Bytes of every Enhanced Packet Block, `PcapNgReader` over the slice.
            pub fn sum_ng_reader(file: &[u8]) -> usize {
                let mut r = PcapNgReader::new(file).unwrap();
                let mut n = 0;
                while let Some(b) = r.next_block() {
                    if let Block::EnhancedPacket(p) = b.unwrap() {
                        n += p.data.len();
                    }
                }
                n
            }

            /// Bytes of every Enhanced Packet Block, `PcapNgParser` on the slice.
            pub fn sum_ng_parser(file: &[u8]) -> usize {
                let (mut rest, mut parser) = PcapNgParser::new(file).unwrap();
                let mut n = 0;
                while !rest.is_empty() {
                    let (r, b) = parser.next_block(rest).unwrap();
                    if let Block::EnhancedPacket(p) = b {
                        n += p.data.len();
                    }
                    rest = r;
                }
                n
            }

            /// A µs pcap, little endian, Ethernet, snaplen 65535.
            pub fn write_pcap(out: &mut Vec<u8>, pkts: &[Vec<u8>], ts_ns: u64) {
                let header = PcapHeader { endianness: Endianness::Little, ..PcapHeader::default() };
                let mut w = PcapWriter::with_header(out, header).unwrap();
                for (i, p) in pkts.iter().enumerate() {
                    let ts = Duration::from_nanos(ts_ns + i as u64 * 1000);
                    w.write_packet(&PcapPacket::new(ts, p.len() as u32, std::hint::black_box(p))).unwrap();
                }
            }

            /// A pcapng with one Ethernet interface (no options) and one EPB per packet.
            /// 3.0.0-rc1's block has a private field and no constructor, so each block is a
            /// copy of one read from a file (with no data and no options: copied for nothing).
            pub fn write_pcapng(out: &mut Vec<u8>, pkts: &[Vec<u8>], ts_ns: u64) {
                let template_file = super::capture(super::WriteFormat::PcapNg, &[vec![]]);
                let mut r = PcapNgParser::new(&template_file).unwrap();
                let template = loop {
                    let (rest, b) = r.1.next_block(r.0).unwrap();
                    r.0 = rest;
                    if let Block::EnhancedPacket(e) = b {
                        break e;
                    }
                };
                let mut w = PcapNgWriter::with_endianness(out, Endianness::Little).unwrap();
                let idb = InterfaceDescriptionBlock { linktype: DataLink::ETHERNET, snaplen: 65535, options: vec![] };
                w.write_pcapng_block(idb).unwrap();
                for (i, p) in pkts.iter().enumerate() {
                    let mut epb = template.clone();
                    epb.timestamp = Duration::from_nanos(ts_ns + i as u64 * 1000);
                    epb.original_len = p.len() as u32;
                    epb.data = Cow::Borrowed(std::hint::black_box(p));
                    w.write_pcapng_block(epb).unwrap();
                }
            }
        }
    };
}

pcap_file_side!(pf2, pcap_file);
pcap_file_side!(pf3, pcap_file_3);

/// pcapng blocks by hand, little endian (as craft's tests/pcap.rs builds them).
#[derive(Default)]
struct Ng(Vec<u8>);

impl Ng {
    fn block(&mut self, kind: u32, body: &[u8]) {
        let padded = body.len().next_multiple_of(4);
        let total = (12 + padded) as u32;
        self.0.extend(kind.to_le_bytes());
        self.0.extend(total.to_le_bytes());
        self.0.extend(body);
        self.0.extend(vec![0; padded - body.len()]);
        self.0.extend(total.to_le_bytes());
    }
    fn shb(&mut self) {
        let mut b = 0x1a2b3c4du32.to_le_bytes().to_vec();
        b.extend([1, 0, 0, 0]);
        b.extend([0xff; 8]);
        self.block(0x0a0d0d0a, &b);
    }
    fn idb(&mut self, linktype: u16, tsresol: Option<u8>) {
        let mut b = linktype.to_le_bytes().to_vec();
        b.extend([0, 0, 0, 0, 0, 0]); // reserved, snaplen 0 (no limit)
        if let Some(r) = tsresol {
            b.extend(9u16.to_le_bytes());
            b.extend(1u16.to_le_bytes());
            b.extend([r, 0, 0, 0]);
        }
        b.extend([0; 4]);
        self.block(1, &b);
    }
    fn epb(&mut self, iface: u32, ticks: u64, data: &[u8], orig: u32) {
        let mut b = vec![];
        for v in [iface, (ticks >> 32) as u32, ticks as u32, data.len() as u32, orig] {
            b.extend(v.to_le_bytes());
        }
        b.extend(data);
        b.extend(vec![0; data.len().next_multiple_of(4) - data.len()]);
        self.block(6, &b);
    }
}

/// (ts_ns, data, orig_len) of each record of a file.
type Records = Vec<(u64, Vec<u8>, u32)>;

/// Every record, as craft reads it (both readers, asserted to agree).
fn craft_records(file: &[u8]) -> Records {
    let mut r = Reader::new(file).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push((rec.ts_ns, rec.data.to_vec(), rec.orig_len));
    }
    let sliced: Records = SliceReader::new(file).unwrap().map(|r| r.map(|r| (r.ts_ns, r.data.to_vec(), r.orig_len)).unwrap()).collect();
    assert_eq!(sliced, out, "craft's SliceReader and Reader disagree");
    out
}

/// Reads each case with craft (asserted right) and with both pcap-file versions (printed).
fn check_pcap_file(pkts: &[Vec<u8>]) {
    let data = pkts[0].clone();
    type ReadFn = fn(&[u8]) -> Result<Records, String>;
    let mut cases: Vec<(&str, Vec<u8>, Records, [ReadFn; 2])> = Vec::new();
    // craft's own files: the bench's, then one with snaplen 33 (orig_len 54 > caplen 33).
    let first: Vec<Vec<u8>> = pkts[..100].to_vec();
    let want: Vec<_> = first.iter().enumerate().map(|(i, p)| (TS + i as u64 * 1000, p.clone(), p.len() as u32)).collect();
    cases.push(("pcap µs, 100 records", capture(WriteFormat::PcapMicros, &first), want.clone(), [pf2::read_pcap, pf3::read_pcap]));
    cases.push(("pcapng ns (craft's writer)", capture(WriteFormat::PcapNg, &first), want, [pf2::read_pcapng, pf3::read_pcapng]));
    for (name, format) in [("pcap µs, snaplen 33 < 54 (orig_len > caplen)", WriteFormat::PcapMicros), ("pcapng, snaplen 33 < 54", WriteFormat::PcapNg)] {
        let mut w = Writer::new(Vec::new(), format, LINKTYPE_ETHERNET, 33).unwrap();
        w.write(TS, &data, data.len() as u32).unwrap();
        let f = w.into_inner().unwrap();
        let read: [ReadFn; 2] = if format == WriteFormat::PcapNg { [pf2::read_pcapng, pf3::read_pcapng] } else { [pf2::read_pcap, pf3::read_pcap] };
        cases.push((name, f, vec![(TS, data[..33].to_vec(), 54)], read));
    }
    let ng = |tsresol: Option<u8>, ticks: u64, orig: u32| {
        let mut ng = Ng::default();
        ng.shb();
        ng.idb(1, tsresol);
        ng.epb(0, ticks, &data, orig);
        ng.0
    };
    cases.push(("pcapng if_tsresol 3 (ms), 1 700 000 000 123 ticks", ng(Some(3), 1_700_000_000_123, 54), vec![(1_700_000_000_123_000_000, data.clone(), 54)], [pf2::read_pcapng, pf3::read_pcapng]));
    cases.push(("pcapng if_tsresol 2^-20 s, 3.5 s", ng(Some(0x80 | 20), 3 << 20 | 1 << 19, 54), vec![(3_500_000_000, data.clone(), 54)], [pf2::read_pcapng, pf3::read_pcapng]));
    cases.push(("pcapng no if_tsresol (µs), 42 ticks", ng(None, 42, 54), vec![(42_000, data.clone(), 54)], [pf2::read_pcapng, pf3::read_pcapng]));
    cases.push(("pcapng EPB orig_len 1000 > caplen 54", ng(Some(9), 7, 1000), vec![(7, data.clone(), 1000)], [pf2::read_pcapng, pf3::read_pcapng]));
    {
        let mut f = Ng::default();
        f.shb();
        f.idb(1, Some(9));
        let mut spb = 54u32.to_le_bytes().to_vec();
        spb.extend(&data);
        f.block(3, &spb);
        let mut pb = vec![0, 0, 0, 0]; // interface 0, drops 0
        for v in [0u32, 5, data.len() as u32, 54] {
            pb.extend(v.to_le_bytes());
        }
        pb.extend(&data);
        pb.extend([0, 0]);
        f.block(2, &pb);
        cases.push(("pcapng Simple Packet Block + obsolete Packet Block (ns)", f.0, vec![(0, data.clone(), 54), (5, data.clone(), 54)], [pf2::read_pcapng, pf3::read_pcapng]));
    }
    println!("pcap-file correctness (each case: craft, pcap-file 2.0, pcap-file 3.0.0-rc1):");
    for (name, file, want, [v2, v3]) in &cases {
        let ours = craft_records(file);
        assert_eq!(&ours, want, "craft misreads: {name}");
        let judge = |got: Result<Records, String>| match got {
            Ok(got) if &got == want => "ok".to_string(),
            Ok(got) => format!(
                "WRONG: (ts_ns, caplen, orig_len) {:?}, should be {:?}",
                got.iter().map(|(t, d, o)| (*t, d.len(), *o)).collect::<Vec<_>>(),
                want.iter().map(|(t, d, o)| (*t, d.len(), *o)).collect::<Vec<_>>()
            ),
            Err(e) => format!("REFUSED: {e}"),
        };
        println!("  {name}: craft ok; pcap-file 2.0 {}; 3.0.0-rc1 {}", judge(v2(file)), judge(v3(file)));
    }
}

/// craft::pcap and pcap-file side by side: see the module doc.
fn bench_peers(c: &mut Criterion) {
    let pkts: Vec<Vec<u8>> = (0..PACKETS).map(syn).collect();
    check_pcap_file(&pkts);
    let pcap = capture(WriteFormat::PcapMicros, &pkts);
    let pcapng = capture(WriteFormat::PcapNg, &pkts);
    let bytes = PACKETS * 54;
    // Every reader reads the same bytes before anything is timed.
    for sum in [pf2::sum_reader, pf2::sum_parser, pf3::sum_reader, pf3::sum_parser] {
        assert_eq!(sum(&pcap), bytes);
    }
    for sum in [pf2::sum_ng_reader, pf2::sum_ng_parser, pf3::sum_ng_reader, pf3::sum_ng_parser] {
        assert_eq!(sum(&pcapng), bytes);
    }
    let craft_sum = |file: &[u8]| {
        let mut r = Reader::new(file).unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            n += rec.data.len();
        }
        n
    };
    let craft_slice_sum = |file: &[u8]| {
        let mut r = SliceReader::new(file).unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            n += rec.data.len();
        }
        n
    };
    let mut g = c.benchmark_group("pcap_peers");
    g.throughput(Throughput::Elements(PACKETS as u64));
    type SumFn = fn(&[u8]) -> usize;
    for (file, group) in [(&pcap, "read_pcap"), (&pcapng, "read_pcapng")] {
        g.bench_function(format!("{group}/craft_slice"), |b| b.iter(|| assert_eq!(craft_slice_sum(black_box(file)), bytes)));
        g.bench_function(format!("{group}/craft_reader"), |b| b.iter(|| assert_eq!(craft_sum(black_box(file)), bytes)));
        let peers: [(&str, SumFn); 4] = if group == "read_pcap" {
            [("pcap_file2_reader", pf2::sum_reader), ("pcap_file2_parser", pf2::sum_parser), ("pcap_file3rc_reader", pf3::sum_reader), ("pcap_file3rc_parser", pf3::sum_parser)]
        } else {
            [("pcap_file2_reader", pf2::sum_ng_reader), ("pcap_file2_parser", pf2::sum_ng_parser), ("pcap_file3rc_reader", pf3::sum_ng_reader), ("pcap_file3rc_parser", pf3::sum_ng_parser)]
        };
        for (name, sum) in peers {
            g.bench_function(format!("{group}/{name}"), |b| b.iter(|| assert_eq!(sum(black_box(file)), bytes)));
        }
    }
    // Writers: the same bytes on the wire for the pcap (pcap-file's pcapng writer puts no
    // if_tsresol option, so its bytes differ from craft's; both are read back above).
    let mut out = Vec::with_capacity(PACKETS * 100);
    pf2::write_pcap(&mut out, &pkts, TS);
    assert_eq!(out, capture(WriteFormat::PcapMicros, &pkts), "pcap-file 2.0 writes other bytes than craft");
    type WriteFn = fn(&mut Vec<u8>, &[Vec<u8>], u64);
    for (group, format, peers) in [
        ("write_pcap", WriteFormat::PcapMicros, [("pcap_file2", pf2::write_pcap as WriteFn), ("pcap_file3rc", pf3::write_pcap as WriteFn)]),
        ("write_pcapng", WriteFormat::PcapNg, [("pcap_file2", pf2::write_pcapng as WriteFn), ("pcap_file3rc", pf3::write_pcapng as WriteFn)]),
    ] {
        g.bench_function(format!("{group}/craft"), |b| {
            b.iter(|| {
                out.clear();
                let mut w = Writer::new(&mut out, format, LINKTYPE_ETHERNET, 65535).unwrap();
                for (i, p) in pkts.iter().enumerate() {
                    w.write(TS + i as u64 * 1000, black_box(p), p.len() as u32).unwrap();
                }
            })
        });
        for (name, write) in peers {
            g.bench_function(format!("{group}/{name}"), |b| {
                b.iter(|| {
                    out.clear();
                    write(&mut out, &pkts, TS);
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_pcap, bench_output, bench_peers);
criterion_main!(benches);
