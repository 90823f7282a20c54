//! Any RON text parses or fails with a positioned error: no panic, no hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(sets) = craft::text::parse_ron_sets(s, "fuzz.ron") {
            for p in sets.iter().flat_map(|set| set.iter().take(4)).take(16) {
                let _ = p.build();
            }
        }
    }
});
