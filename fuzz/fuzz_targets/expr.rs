//! Any text parses or fails with an error: no panic, no hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        // Sets are made on demand: build a few, not the up to a million an input may name.
        if let Ok(set) = craft::text::parse_expr_set(s) {
            for p in set.iter().take(4) {
                let _ = p.build();
            }
        }
    }
});
