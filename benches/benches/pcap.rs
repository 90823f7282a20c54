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
//! Throughput is in packets (elements). Issue targets: read+dissect >= 5M packets/s,
//! write >= 10M packets/s, JSON output >= 500k packets/s (#11).
//! Run: `cargo bench -p benches --bench pcap`.

use std::hint::black_box;

use craft::layer::DissectCx;
use craft::pcap::{Reader, WriteFormat, Writer, LINKTYPE_ETHERNET};
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

criterion_group!(benches, bench_pcap, bench_output);
criterion_main!(benches);
