//! Any bytes, plain or gzip-compressed, read as a capture: records or an error, never a
//! panic or a hang; every record dissects by its link type and builds back to its bytes.
//! The same bytes read in memory by `SliceReader` give exactly what `Reader` gives
//! (records, notices, the error and its offset), or, for gzip, a refusal.
#![no_main]
use craft::packet::Packet;
use craft::pcap::{Reader, SliceReader};
use libfuzzer_sys::fuzz_target;

/// Records (owned), the notices after each, the error that ended the read, the notices at
/// the end: everything a reader says.
type Said = (Vec<(craft::pcap::OwnedRecord, Vec<craft::pcap::Notice>)>, Option<String>, Vec<craft::pcap::Notice>);

/// Records read by `next_record`, at most `limit`.
macro_rules! said {
    ($opened:expr, $limit:expr, $each:expr) => {
        match $opened {
            Err(e) => (vec![], Some(e.to_string()), vec![]),
            Ok(mut r) => {
                let mut records = vec![];
                let mut end = None;
                for _ in 0..$limit {
                    match r.next_record() {
                        Ok(Some(rec)) => {
                            $each(&rec);
                            let rec = rec.to_owned();
                            records.push((rec, r.take_notices()));
                        }
                        Ok(None) => break,
                        Err(e) => {
                            end = Some(e.to_string());
                            break;
                        }
                    }
                }
                (records, end, r.take_notices())
            }
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let mut p = Packet::new();
    // Bounded: every record consumes input, but a gzip stream can inflate a lot.
    let streamed: Said = said!(Reader::new(data), 256, |rec: &craft::pcap::Record| {
        p.dissect_into(rec.data, rec.first_layer(), &Default::default());
        assert_eq!(p.build(), rec.data);
    });
    let sliced: Said = said!(SliceReader::new(data), 256, |_: &craft::pcap::Record| {});
    if data.starts_with(&[0x1f, 0x8b]) {
        assert!(sliced.1.unwrap().contains("gzip-compressed capture"));
    } else {
        assert_eq!(sliced, streamed);
    }
});
