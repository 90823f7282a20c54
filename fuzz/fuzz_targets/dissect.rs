//! Any bytes dissect without panicking, and building the result gives them back.
#![no_main]
use craft::check::check_bytes;
use craft::layer::DissectCx;
use craft::packet::{LayerKind, Packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let starts = [
        LayerKind::Ether,
        LayerKind::Ip,
        LayerKind::Ipv6,
        LayerKind::CookedLinux,
        LayerKind::CookedLinuxV2,
        LayerKind::Loopback,
        LayerKind::LoopbackOpenBSD,
    ];
    let start = starts[sel as usize % starts.len()];
    let p = Packet::dissect(bytes, start);
    assert_eq!(p.build(), bytes);
    let _ = p.show();
    let _ = check_bytes(bytes, start, &DissectCx::default());
});
