//! Capture-file throughput: an in-memory pcap of 10k Ether/IPv4/TCP packets.
//!
//! - `pcap/read`: read every record (borrowed, no per-packet allocation).
//! - `pcap/read_dissect`: read every record and dissect it into one reused `Packet`.
//! - `pcap/write` and `pcap/write_pcapng`: write 10k packets into a reused buffer.
//!
//! Throughput is in packets (elements). Issue targets: read+dissect >= 5M packets/s,
//! write >= 10M packets/s. Run: `cargo bench -p benches --bench pcap`.

use std::hint::black_box;

use craft::layer::DissectCx;
use craft::pcap::{Reader, WriteFormat, Writer, LINKTYPE_ETHERNET};
use craft::prelude::*;
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

criterion_group!(benches, bench_pcap);
criterion_main!(benches);
