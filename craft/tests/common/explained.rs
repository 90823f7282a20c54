//! An explained send as the explain tests drive it: one test at a time, a frame sent from
//! A of a lab with an `Explainer` running and a background flood, the report checked for
//! completeness and for blaming nothing that is not craft's.

#![allow(dead_code)]

use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use craft::explain::{DropInfo, ExplainOpts, Explainer, Report};
use craft::live::SendOpts;
use craft::prelude::*;

use super::flood::Flood;
use super::lab::Lab;

pub const T: Duration = Duration::from_secs(30);

/// One test at a time: every watcher sees every drop on the host, and each test floods
/// thousands a second; side by side (in a debug build) they would starve each other's
/// watchers and lose drops.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the tests wait after the last frame.
pub fn opts() -> ExplainOpts {
    ExplainOpts { wait: Duration::from_millis(700), ..ExplainOpts::default() }
}

/// Send `pkt` from A's end of `lab` with an explainer running; the report (printed), of one
/// packet, with no drop lost.
pub fn sendp_explained(lab: &Lab, opts: ExplainOpts, pkt: Packet) -> Report {
    let ex = Explainer::start(opts).expect("Explainer::start");
    let dev = lab.veth.a.clone();
    let ex = lab.a.run(T, move || {
        let mut ex = ex;
        let r = craft::explain::send::sendp(&mut ex, &dev, &[pkt], SendOpts::default()).expect("sendp");
        assert_eq!(r.sent, 1);
        ex
    });
    let r = ex.finish(None).expect("finish");
    eprint!("{}", r.text());
    assert_eq!(r.packets.len(), 1);
    assert_eq!(r.lost, 0, "drops lost: the report may be incomplete");
    r
}

/// No drop in the report is the flood's or has a summary containing one of `foreign`
/// (e.g. the kernel's IPv6 multicast " > ff02::"), and the flood did run (its drops were
/// seen and ignored).
pub fn assert_nothing_else_blamed(r: &Report, flood: &Flood, foreign: &[&str]) {
    let not_ours = |s: &str| s.contains(&flood.marker) || foreign.iter().any(|f| s.contains(f));
    for p in &r.packets {
        assert!(!not_ours(&p.summary), "{p:?}");
        for d in &p.drops {
            assert!(!not_ours(&d.summary), "a drop not craft's blamed on packet {}: {d:#?}", p.index);
        }
    }
    for d in &r.replies_dropped {
        assert!(!not_ours(&d.summary), "a drop not craft's listed as a reply: {d:#?}");
    }
    let sent = flood.sent.load(Ordering::Relaxed);
    eprintln!("background: {sent} frames flooded; {} unrelated drops ignored in {:.2} s", r.unrelated, r.window.as_secs_f64());
    assert!(r.unrelated as f64 >= 1000.0 * r.window.as_secs_f64() * 0.5, "the background flood was not dropping ({} in {:?})", r.unrelated, r.window);
}

/// The one drop of packet 0, in B's namespace on B's end of the veth.
pub fn the_drop<'a>(lab: &Lab, r: &'a Report) -> &'a DropInfo {
    let p = &r.packets[0];
    assert_eq!(p.drops.len(), 1, "{p:#?}");
    let d = &p.drops[0];
    assert_eq!(d.netns_name.as_deref(), Some(lab.b.name.as_str()), "{d:#?}");
    assert_eq!(d.ifname, lab.veth.b);
    d
}
