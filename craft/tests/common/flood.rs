//! Background drops for the explain tests: bad-MAC frames sent from A to B of a lab of their
//! own, each an OTHERHOST drop in B, until dropped. Every drop seen in a test's window that
//! is a flood frame must be counted as unrelated, never blamed on craft.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use craft::live::SendOpts;
use craft::prelude::*;

use super::lab::{lab, Lab};

pub struct Flood {
    stop: Arc<AtomicBool>,
    /// Frames sent so far.
    pub sent: Arc<AtomicUsize>,
    /// What every flood frame's summary contains (its address prefix).
    pub marker: String,
    thread: Option<JoinHandle<()>>,
    // After the thread: the lab goes once nothing sends into it.
    pub lab: Lab,
}

impl Flood {
    /// IPv4 frames 10.216.n.1 > 10.216.n.2 (UDP port 9), `per_tick` every 5 ms (25: about
    /// 5,000 drops a second).
    pub fn v4(n: u8, per_tick: usize) -> Flood {
        let (a, b) = (format!("10.216.{n}.1"), format!("10.216.{n}.2"));
        let lab = lab("cxfl", (&a, &b), None);
        let pkt = Ether::new().dst("02:00:00:00:00:77") / Ip::new().src(a.as_str()).dst(b.as_str()) / Udp::new().dport(9) / b"background".to_vec();
        Flood::run(lab, pkt, "10.216.".into(), per_tick)
    }

    /// IPv6 frames fd00:216:n::1 > fd00:216:n::2 (UDP port 9), IPv6 on in both namespaces
    /// (so the kernel's own NDP and MLD chatter runs there too).
    pub fn v6(n: u8, per_tick: usize) -> Flood {
        let (a6, b6) = (format!("fd00:216:{n}::1"), format!("fd00:216:{n}::2"));
        let lab = lab("cxfl6", (&format!("10.216.{n}.1"), &format!("10.216.{n}.2")), Some((&a6, &b6)));
        let pkt = Ether::new().dst("02:00:00:00:00:77") / Ipv6::new().src(a6.as_str()).dst(b6.as_str()) / Udp::new().dport(9) / b"background".to_vec();
        Flood::run(lab, pkt, "fd00:216:".into(), per_tick)
    }

    fn run(lab: Lab, pkt: Packet, marker: String, per_tick: usize) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let dev = lab.veth.a.clone();
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let thread = lab.a.spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let r = craft::live::sendp(&dev, std::slice::from_ref(&pkt), SendOpts { count: per_tick, ..SendOpts::default() }).expect("flood sendp");
                sent2.fetch_add(r.sent, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        // Running before the test starts.
        std::thread::sleep(Duration::from_millis(100));
        Flood { stop, sent, marker, thread: Some(thread), lab }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
