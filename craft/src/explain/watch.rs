//! `craft watch-drops`: every drop on the host, decoded, with a tcpdump filter run in user
//! space, as a line or a JSON record.

use std::collections::HashMap;
use std::io;

use super::matching::event_l3;
use super::netns::ns_label;
use super::{hints, DropEvent};
use crate::live;
use crate::packet::{LayerKind, Packet};


/// A tcpdump expression run over each drop in user space: compiled by
/// [`live::filter::compile`] (libpcap) for Ethernet frames and interpreted here on the
/// dropped packet with its Ethernet header (the one received, or a made-up one carrying
/// the skb's protocol when it had none).
pub struct DropFilter {
    prog: Vec<libc::sock_filter>,
}

impl DropFilter {
    pub fn new(expr: &str) -> io::Result<DropFilter> {
        Ok(DropFilter { prog: live::filter::compile(expr)? })
    }

    pub fn matches(&self, ev: &DropEvent) -> bool {
        let l3 = event_l3(ev);
        let mut frame = Vec::with_capacity(14 + l3.len());
        match ev.mac {
            Some(m) => frame.extend_from_slice(&m),
            None => {
                frame.extend_from_slice(&[0; 12]);
                frame.extend_from_slice(&ev.protocol.to_be_bytes());
            }
        }
        frame.extend_from_slice(l3);
        live::filter::run(&self.prog, &frame) != 0
    }
}

/// A drop as `craft watch-drops` prints it: namespace, interface, function, reason, packet.
pub fn event_line(ev: &DropEvent, names: &HashMap<u64, String>) -> String {
    let on = if ev.ifname.is_empty() { String::new() } else { format!(" {}", ev.ifname) };
    format!("{}{on} {}: {} — {}", ns_label(ev.netns, names.get(&ev.netns).map(String::as_str)), ev.symbol, ev.reason, event_packet(ev).summary())
}

/// The dropped packet dissected, from its Ethernet header when the kernel had one.
pub fn event_packet(ev: &DropEvent) -> Packet {
    let l3 = event_l3(ev);
    match (ev.mac, ev.protocol) {
        (Some(m), 0x0800 | 0x86dd) => {
            let mut b = m.to_vec();
            b.extend_from_slice(l3);
            Packet::dissect(&b, LayerKind::Ether)
        }
        _ => ev.packet(),
    }
}

/// A drop as `craft watch-drops --format json` prints it.
pub fn event_json(ev: &DropEvent, names: &HashMap<u64, String>) -> serde_json::Value {
    serde_json::json!({
        "reason": ev.reason,
        "reason_code": ev.reason_code,
        "time_ns": ev.time_ns,
        "function": ev.function(),
        "symbol": ev.symbol,
        "ifname": ev.ifname,
        "ifindex": ev.ifindex,
        "netns": ev.netns,
        "netns_name": names.get(&ev.netns),
        "len": ev.len,
        "packet": crate::text::to_json(&event_packet(ev)),
        "summary": event_packet(ev).summary(),
        "hint": hints::generic(&ev.reason),
    })
}

