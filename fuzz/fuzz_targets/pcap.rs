//! Any bytes, plain or gzip-compressed, read as a capture: records or an error, never a
//! panic or a hang; every record dissects by its link type and builds back to its bytes.
#![no_main]
use craft::packet::Packet;
use craft::pcap::Reader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = Reader::new(data) else { return };
    let mut p = Packet::new();
    // Bounded: every record consumes input, but a gzip stream can inflate a lot.
    for _ in 0..256 {
        let Ok(Some(rec)) = r.next_record() else { break };
        p.dissect_into(rec.data, rec.first_layer(), &Default::default());
        assert_eq!(p.build(), rec.data);
    }
    let _ = r.take_notices();
});
