//! Any bytes dissect without panicking, and building the result gives them back.
#![no_main]
use craft::check::check_bytes;
use craft::layer::DissectCx;
use craft::packet::{LayerKind, Packet};
use libfuzzer_sys::fuzz_target;

/// An Ether/IPv4/TCP SYN: the layers a reused packet holds before the input is dissected.
const COMMON: [u8; 54] = [
    2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0x66, 0xcd, 10, 0, 0, 1, 10,
    0, 0, 2, 0, 20, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 2, 0x20, 0, 0x7c, 0x3e, 0, 0,
];

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
    // Into a packet that held another (the same bytes as Ether/IPv4/TCP when they are not):
    // what a fresh dissect gives.
    let mut reused = Packet::dissect(&COMMON, LayerKind::Ether);
    reused.dissect_into(bytes, start, &DissectCx::default());
    assert_eq!(reused, p);
    let _ = p.show();
    let _ = check_bytes(bytes, start, &DissectCx::default());
});
