//! Any text runs in craft-repl or fails with an error: no panic, no hang. In a sandbox (no
//! live I/O, no files) with a step budget, so `while True: pass` ends too.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let mut me = craft_repl::interp::Interp::new(Box::new(std::io::sink()));
        me.echo = true;
        me.sandbox = true;
        me.steps = Some(10_000);
        let _ = me.run(s);
    }
});
