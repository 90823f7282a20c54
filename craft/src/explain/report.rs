//! Explain what happened to the packets craft sent: an [`Explainer`] watches the kernel's
//! drops ([`DropWatch`], on a thread of its own that polls the ring buffer continuously, so
//! long sends do not overflow it) while craft sends, is told each packet sent (its bytes as
//! built, its position, the interface and namespace it left by), and after the call plus a
//! grace period gives a [`Report`]: per packet sent, dropped or not and, if dropped, where
//! (function+offset, interface, network namespace) and why (the kernel's reason name and a
//! one-line hint, [`super::hints`]); drops of the answers to craft's packets ("reply
//! dropped"), listed apart; counter deltas.
//!
//! Drops are matched to packets by their headers, never by timing:
//! * IPv4: id, source, destination, protocol, and the ports (UDP, TCP), TCP sequence
//!   number, ICMP echo id and sequence; IPv6: addresses, next header, flow label and the
//!   same L4 fields. The inner packet of IP-in-IP (proto 4 / 41) and of GUE (UDP port 6080,
//!   variant 0 and 1) counts too, on either side: a packet dropped after encapsulation or
//!   decapsulation is still craft's.
//! * Replies: a drop whose headers are a sent packet's reversed (addresses and ports
//!   swapped, ICMP echo reply with the same id and sequence) or an ICMP / ICMPv6 error
//!   quoting a sent packet is listed as "reply to packet N dropped", never as the sent
//!   packet's fate.
//! * Everything else in the window (other namespaces, the host's own traffic, IPv6
//!   multicast noise) is counted as unrelated and never blamed on craft.
//! * The same headers sent several times (count=N): each drop goes to the next send of
//!   those headers not yet given one; more drops than sends are added to the last.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::hints::{self, HintCx};
use super::trace::{build_path_of, HopEvent, PacketKey, Path};
use super::{DropEvent, DropWatch};
use crate::field::Mac;
use crate::live::{self, CancelFlag, Iface, L3SendReport, Observer, SendOpts, SendReport, SrOpts, SrResult};
use crate::packet::{Layer, LayerKind, Packet};

// ---------------------------------------------------------------------------------------
// Keys: the headers a drop is matched by.

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Addrs {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

impl Addrs {
    fn swapped(self) -> Addrs {
        match self {
            Addrs::V4(a, b) => Addrs::V4(b, a),
            Addrs::V6(a, b) => Addrs::V6(b, a),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum L4 {
    None,
    Ports(u16, u16),
    Tcp(u16, u16, u32),
    Echo(u16, u16),
    Icmp(u8, u8),
}

/// A packet's identity in one direction: what a drop of that very packet carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct FwdKey {
    addrs: Addrs,
    proto: u8,
    /// IPv4 id, IPv6 flow label.
    tag: u32,
    l4: L4,
}

/// The flow of an answer: addresses, protocol, ports or echo id+seq (no IP id: the
/// answerer picks its own).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct RevKey {
    addrs: Addrs,
    proto: u8,
    l4: L4,
}

struct IpHdr<'a> {
    addrs: Addrs,
    proto: u8,
    tag: u32,
    /// Whether the L4 header is here (not a later fragment).
    first: bool,
    payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_ip(b: &[u8]) -> Option<IpHdr<'_>> {
    match b.first()? >> 4 {
        4 if b.len() >= 20 => {
            let hl = ((b[0] & 0x0f) as usize) * 4;
            let frag = be16(b, 6)? & 0x1fff;
            let payload = if hl >= 20 { b.get(hl..).unwrap_or(&[]) } else { &[] };
            Some(IpHdr {
                addrs: Addrs::V4(b[12..16].try_into().ok()?, b[16..20].try_into().ok()?),
                proto: b[9],
                tag: be16(b, 4)? as u32,
                first: frag == 0 && hl >= 20,
                payload,
            })
        }
        6 if b.len() >= 40 => {
            let flow = be32(b, 0)? & 0x000f_ffff;
            let (mut nh, mut at, mut first) = (b[6], 40usize, true);
            // Extension headers: hop-by-hop, routing, fragment, destination options.
            for _ in 0..4 {
                match nh {
                    0 | 43 | 60 => {
                        let Some(h) = b.get(at..at + 2) else { break };
                        nh = h[0];
                        at += (h[1] as usize + 1) * 8;
                    }
                    44 => {
                        let Some(h) = b.get(at..at + 8) else { break };
                        nh = h[0];
                        first = u16::from_be_bytes([h[2], h[3]]) >> 3 == 0;
                        at += 8;
                    }
                    _ => break,
                }
            }
            Some(IpHdr {
                addrs: Addrs::V6(b[8..24].try_into().ok()?, b[24..40].try_into().ok()?),
                proto: nh,
                tag: flow,
                first,
                payload: b.get(at..).unwrap_or(&[]),
            })
        }
        _ => None,
    }
}

fn l4_of(h: &IpHdr) -> L4 {
    if !h.first {
        return L4::None;
    }
    let p = h.payload;
    match h.proto {
        6 => match (be16(p, 0), be16(p, 2), be32(p, 4)) {
            (Some(s), Some(d), Some(seq)) => L4::Tcp(s, d, seq),
            (Some(s), Some(d), None) => L4::Ports(s, d),
            _ => L4::None,
        },
        17 | 136 => match (be16(p, 0), be16(p, 2)) {
            (Some(s), Some(d)) => L4::Ports(s, d),
            _ => L4::None,
        },
        1 | 58 => match (p.first(), p.get(1), be16(p, 4), be16(p, 6)) {
            (Some(0 | 8 | 128 | 129), _, Some(id), Some(seq)) => L4::Echo(id, seq),
            (Some(&t), Some(&c), _, _) => L4::Icmp(t, c),
            _ => L4::None,
        },
        _ => L4::None,
    }
}

/// The packet inside an IP-in-IP or GUE packet, if any.
fn inner_of<'a>(h: &IpHdr<'a>) -> Option<&'a [u8]> {
    if !h.first {
        return None;
    }
    match h.proto {
        4 | 41 => Some(h.payload),
        17 if be16(h.payload, 2) == Some(crate::layers::gue::GUE_PORT) => {
            let g = h.payload.get(8..)?;
            match g.first()? >> 6 {
                // Variant 1: the IP header follows the UDP header directly.
                1 => Some(g),
                0 if g[0] & 0x20 == 0 => {
                    let hlen = (g[0] & 0x1f) as usize;
                    matches!(*g.get(1)?, 4 | 41).then(|| g.get(4 + 4 * hlen..)).flatten()
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The keys of a packet (from its network header): its own and those of the packets it
/// encapsulates.
fn fwd_keys(b: &[u8]) -> Vec<FwdKey> {
    let mut out = Vec::new();
    let mut cur = Some(b);
    for _ in 0..4 {
        let Some(h) = cur.and_then(parse_ip) else { break };
        out.push(FwdKey { addrs: h.addrs, proto: h.proto, tag: h.tag, l4: l4_of(&h) });
        cur = inner_of(&h);
    }
    out
}

/// The reply flow of a sent packet (from its network header).
fn reply_key_of_sent(b: &[u8]) -> Option<RevKey> {
    let h = parse_ip(b)?;
    let l4 = match l4_of(&h) {
        L4::Ports(s, d) | L4::Tcp(s, d, _) => L4::Ports(d, s),
        L4::Echo(id, seq) => L4::Echo(id, seq),
        _ => return None,
    };
    Some(RevKey { addrs: h.addrs.swapped(), proto: h.proto, l4 })
}

/// The flow of a dropped packet, in the form [`reply_key_of_sent`] gives.
fn flow_key(h: &IpHdr) -> Option<RevKey> {
    let l4 = match l4_of(h) {
        L4::Ports(s, d) | L4::Tcp(s, d, _) => L4::Ports(s, d),
        L4::Echo(id, seq) => L4::Echo(id, seq),
        _ => return None,
    };
    Some(RevKey { addrs: h.addrs, proto: h.proto, l4 })
}

/// The packet an ICMP / ICMPv6 error quotes.
fn quoted_by(h: &IpHdr<'_>) -> Option<Vec<FwdKey>> {
    let t = *h.payload.first()?;
    let error = match h.proto {
        1 => matches!(t, 3 | 4 | 5 | 11 | 12),
        58 => (1..=4).contains(&t),
        _ => false,
    };
    (error && h.first).then(|| fwd_keys(h.payload.get(8..).unwrap_or(&[])))
}

/// The network-layer bytes of a drop event: from its network header (or past an Ethernet
/// header when the skb's network header was not set yet).
fn event_l3(ev: &DropEvent) -> &[u8] {
    let d = &ev.data;
    let want = match ev.protocol {
        0x0800 => 4,
        0x86dd => 6,
        _ => return d,
    };
    if d.first().map(|b| b >> 4) == Some(want) {
        return d;
    }
    match d.get(12..14) {
        Some(t) if u16::from_be_bytes([t[0], t[1]]) == ev.protocol => &d[14..],
        _ => d,
    }
}

// ---------------------------------------------------------------------------------------
// Network namespaces

/// The calling thread's network namespace (inode of /proc/thread-self/ns/net).
pub fn current_netns() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()).unwrap_or(0)
}

/// Named network namespaces (/var/run/netns): inode → name.
pub fn netns_names() -> HashMap<u64, String> {
    let mut out = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/var/run/netns") {
        for e in dir.flatten() {
            if let Ok(m) = std::fs::metadata(e.path()) {
                out.insert(m.ino(), e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The inode of named namespace `name`.
pub fn netns_inode(name: &str) -> io::Result<u64> {
    std::fs::metadata(format!("/var/run/netns/{name}"))
        .map(|m| m.ino())
        .map_err(|e| io::Error::new(e.kind(), format!("network namespace {name}: {e}")))
}

/// A path to a namespace file of inode `netns`: /var/run/netns/NAME, else some process's.
fn netns_path(netns: u64, names: &HashMap<u64, String>) -> Option<String> {
    if let Some(n) = names.get(&netns) {
        return Some(format!("/var/run/netns/{n}"));
    }
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let p = e.path().join("ns/net");
        if std::fs::metadata(&p).is_ok_and(|m| m.ino() == netns) {
            return Some(p.to_string_lossy().into_owned());
        }
    }
    None
}

/// The MAC of interface `ifname` of namespace `netns`, looked up inside it.
fn iface_mac_in(netns: u64, ifname: &str, names: &HashMap<u64, String>) -> Option<Mac> {
    if ifname.is_empty() {
        return None;
    }
    if netns == current_netns() {
        return Iface::lookup(ifname).ok().map(|i| i.mac);
    }
    let file = std::fs::File::open(netns_path(netns, names)?).ok()?;
    let name = ifname.to_string();
    std::thread::spawn(move || {
        // SAFETY: file is an open namespace file; setns only changes this thread's netns.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        Iface::lookup(&name).ok().map(|i| i.mac)
    })
    .join()
    .ok()
    .flatten()
}

fn ns_label(netns: u64, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} ({netns})"),
        None => format!("netns {netns}"),
    }
}

// ---------------------------------------------------------------------------------------
// Counters (craft::explain::counters, written apart): kept behind this small seam.

/// Counter snapshots around the call ([`super::counters`]): the caller's namespace and
/// every named one at the start; at the end, the namespaces involved (where craft's
/// packets left or were dropped), their counters that point at a problem.
struct CounterWatch {
    before: super::counters::Snapshot,
}

impl CounterWatch {
    fn start() -> Option<CounterWatch> {
        use super::counters::{named_netns, snapshot, Netns};
        let mut before = snapshot(&[Netns::Current]).ok()?;
        // One at a time: a namespace deleted meanwhile costs only itself.
        for n in named_netns() {
            if let Ok(s) = snapshot(&[Netns::Named(n)]) {
                for c in s.netns {
                    if before.get(c.inode).is_none() {
                        before.netns.push(c);
                    }
                }
            }
        }
        Some(CounterWatch { before })
    }

    /// The counters that moved in these namespaces and name a problem, one line each.
    fn deltas(self, netns: &[u64]) -> Vec<String> {
        use super::counters::{snapshot, Netns};
        let names = netns_names();
        let here = current_netns();
        let mut out = Vec::new();
        for &ino in netns {
            let ns = if ino == here {
                Netns::Current
            } else if let Some(n) = names.get(&ino) {
                Netns::Named(n.clone())
            } else {
                continue;
            };
            let Ok(after) = snapshot(&[ns]) else { continue };
            out.extend(self.before.delta(&after).into_iter().filter(|d| d.is_problem()).map(|d| d.to_string()));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// The Explainer

/// How an [`Explainer`] watches.
#[derive(Debug, Clone)]
pub struct ExplainOpts {
    /// How long to keep watching after the last packet sent (1 s by default).
    pub wait: Duration,
    /// The drop watcher's ring buffer (bytes, a power of two).
    pub ring_size: usize,
    /// How long the watcher thread waits for drops before looking at its stop flag.
    pub poll: Duration,
    /// Also trace each packet's path ([`super::trace::PathWatch`]): every interface and
    /// namespace where the kernel saw it, and how it changed between hops (off by default).
    pub trace: bool,
    /// The path watcher's ring buffer (bytes, a power of two). Both rings count against
    /// RLIMIT_MEMLOCK: with `trace`, the drop watcher's ring is cut to
    /// [`MEMLOCK_BUDGET`] minus this one.
    pub trace_ring_size: usize,
}

/// The ring buffer bytes the drop and path watchers take together at most when tracing
/// (RLIMIT_MEMLOCK is often 8 MiB where it cannot be raised).
pub const MEMLOCK_BUDGET: usize = 8 << 20;

/// With `trace`, paths are kept for every packet up to this many sent; past it, for the
/// dropped ones and the first [`PATH_DELIVERED_MAX`] delivered.
pub const PATH_ALL_MAX: usize = TEXT_LIST_MAX;
/// See [`PATH_ALL_MAX`].
pub const PATH_DELIVERED_MAX: usize = 10;
/// Hop events kept at most (the host's other traffic included); past it, later hops are
/// counted as lost.
const HOPS_KEPT_MAX: usize = 1 << 20;

impl Default for ExplainOpts {
    fn default() -> ExplainOpts {
        ExplainOpts { wait: Duration::from_secs(1), ring_size: 8 << 20, poll: Duration::from_millis(20), trace: false, trace_ring_size: 4 << 20 }
    }
}

impl ExplainOpts {
    /// The drop watcher's and the path watcher's ring sizes: within [`MEMLOCK_BUDGET`]
    /// together when tracing.
    fn rings(&self) -> (usize, usize) {
        if !self.trace {
            return (self.ring_size, 0);
        }
        let pow2_below = |n: usize| if n.is_power_of_two() { n } else { n.next_power_of_two() / 2 };
        let trace = pow2_below(self.trace_ring_size.clamp(64 << 10, MEMLOCK_BUDGET / 2));
        (pow2_below(self.ring_size).min(pow2_below(MEMLOCK_BUDGET - trace)).max(4096), trace)
    }
}

/// The path watcher's thread: the hops it read, how many it could not keep.
struct HopWatch {
    hops: Arc<Mutex<Vec<super::trace::HopEvent>>>,
    thread: Option<std::thread::JoinHandle<io::Result<u64>>>,
    missing: Vec<String>,
}

impl HopWatch {
    fn start(ring: usize, poll: Duration, stop: Arc<AtomicBool>) -> io::Result<HopWatch> {
        let hops = Arc::new(Mutex::new(Vec::new()));
        let (ready, started) = mpsc::channel();
        let h2 = hops.clone();
        let thread = std::thread::Builder::new().name("craft-trace".into()).spawn(move || -> io::Result<u64> {
            let mut watch = match super::trace::PathWatch::with_ring_size(ring) {
                Ok(w) => {
                    let _ = ready.send(Ok(w.missing().to_vec()));
                    w
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return Ok(0);
                }
            };
            let mut dropped = 0u64;
            loop {
                let done = stop.load(Ordering::Relaxed);
                let evs = watch.poll(if done { Duration::ZERO } else { poll })?;
                if !evs.is_empty() {
                    let mut h = h2.lock().expect("hops");
                    let room = HOPS_KEPT_MAX.saturating_sub(h.len());
                    dropped += evs.len().saturating_sub(room) as u64;
                    h.extend(evs.into_iter().take(room));
                } else if done {
                    return Ok(watch.lost()? + dropped);
                }
            }
        })?;
        match started.recv() {
            Ok(Ok(missing)) => Ok(HopWatch { hops, thread: Some(thread), missing }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(io::Error::other("the path watcher thread died")),
        }
    }

    /// Stop (the stop flag is set) and give the hops read and the hops lost.
    fn finish(&mut self) -> (Vec<super::trace::HopEvent>, u64) {
        let lost = match self.thread.take().map(|t| t.join()) {
            Some(Ok(Ok(n))) => n,
            _ => 0,
        };
        (std::mem::take(&mut *self.hops.lock().expect("hops")), lost)
    }
}

/// One packet sent, as the explainer was told.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Position in the list of packets given.
    pub index: usize,
    /// Which time over (count=N, retries): 0 for the first.
    pub round: usize,
    /// The bytes as sent (shared between the rounds).
    pub bytes: Arc<Vec<u8>>,
    /// The first layer of `bytes` (Ether, IP or IPv6).
    pub first: LayerKind,
    /// The interface it left by, and that interface's namespace.
    pub iface: String,
    pub netns: u64,
    /// When it was sent (CLOCK_REALTIME ns; 0 when unknown).
    pub time_ns: u64,
}

impl Sent {
    /// Its bytes from the network header on.
    fn l3(&self) -> (&[u8], LayerKind) {
        if self.first == LayerKind::Ether {
            let b = &self.bytes[..];
            // Past VLAN tags too.
            let mut at = 12;
            while matches!(be16(b, at), Some(0x8100 | 0x88a8)) {
                at += 4;
            }
            let kind = match be16(b, at) {
                Some(0x86dd) => LayerKind::Ipv6,
                Some(0x0800) => LayerKind::Ip,
                _ => LayerKind::Raw,
            };
            (b.get(at + 2..).unwrap_or(&[]), kind)
        } else {
            (&self.bytes[..], self.first)
        }
    }
}

struct Seen {
    ev: DropEvent,
    at: Instant,
}

/// Watches the kernel's drops while craft sends; see the module doc.
pub struct Explainer {
    opts: ExplainOpts,
    sent: Vec<Sent>,
    fwd: HashMap<FwdKey, (Vec<usize>, usize)>,
    rev: HashMap<RevKey, usize>,
    last_sent: Instant,
    events: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<io::Result<u64>>>,
    counters: Option<CounterWatch>,
    started: Instant,
    /// With `trace`: the path watcher, or why it could not start.
    hops: Option<HopWatch>,
    trace_error: Option<String>,
}

impl Explainer {
    /// Start watching (root: CAP_BPF + CAP_PERFMON); the error says what is missing.
    pub fn start(opts: ExplainOpts) -> io::Result<Explainer> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, started) = mpsc::channel();
        let (ring, trace_ring) = opts.rings();
        let (ev2, stop2, poll) = (events.clone(), stop.clone(), opts.poll);
        let thread = std::thread::Builder::new().name("craft-explain".into()).spawn(move || -> io::Result<u64> {
            let mut watch = match DropWatch::with_ring_size(ring) {
                Ok(w) => {
                    let _ = ready.send(Ok(()));
                    w
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return Ok(0);
                }
            };
            loop {
                let done = stop2.load(Ordering::Relaxed);
                let evs = watch.poll(if done { Duration::ZERO } else { poll })?;
                if !evs.is_empty() {
                    let at = Instant::now();
                    ev2.lock().expect("events").extend(evs.into_iter().map(|ev| Seen { ev, at }));
                } else if done {
                    return watch.lost();
                }
            }
        })?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => return Err(io::Error::other("the drop watcher thread died")),
        }
        let (hops, trace_error) = if opts.trace {
            match HopWatch::start(trace_ring, opts.poll, stop.clone()) {
                Ok(h) => (Some(h), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        let now = Instant::now();
        Ok(Explainer {
            opts,
            sent: Vec::new(),
            fwd: HashMap::new(),
            rev: HashMap::new(),
            last_sent: now,
            events,
            stop,
            thread: Some(thread),
            counters: CounterWatch::start(),
            started: now,
            hops,
            trace_error,
        })
    }

    /// The packets recorded as sent so far.
    pub fn sent(&self) -> &[Sent] {
        &self.sent
    }

    /// Tell the explainer a packet was sent: `bytes` as they left (first layer `first`),
    /// the `index` of the packet in the caller's list and which `round`, the interface
    /// (the calling thread's namespace is taken as the interface's).
    pub fn record(&mut self, index: usize, round: usize, bytes: Arc<Vec<u8>>, first: LayerKind, iface: &str, time_ns: u64) {
        self.record_in(current_netns(), index, round, bytes, first, iface, time_ns);
    }

    /// [`record`](Self::record) with the interface's namespace known: looking it up is
    /// three syscalls, too many per frame of a batch.
    #[allow(clippy::too_many_arguments)]
    fn record_in(&mut self, netns: u64, index: usize, round: usize, bytes: Arc<Vec<u8>>, first: LayerKind, iface: &str, time_ns: u64) {
        let s = Sent { index, round, bytes, first, iface: iface.to_string(), netns, time_ns };
        let pos = self.sent.len();
        let (l3, _) = s.l3();
        let mut keys = fwd_keys(l3);
        keys.dedup();
        for k in keys {
            self.fwd.entry(k).or_default().0.push(pos);
        }
        if let Some(r) = reply_key_of_sent(l3) {
            self.rev.entry(r).or_insert(pos);
        }
        self.sent.push(s);
        self.last_sent = Instant::now();
    }

    /// Forget the sends recorded from position `len` on (they did not happen: the send was
    /// stopped early).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.sent.len() {
            return;
        }
        self.sent.truncate(len);
        self.fwd.retain(|_, (v, _)| {
            v.retain(|&p| p < len);
            !v.is_empty()
        });
        self.rev.retain(|_, p| *p < len);
    }

    /// Wait out the grace period (from the last packet recorded; `cancel` cuts it short),
    /// stop watching and match what was seen.
    pub fn finish(mut self, cancel: Option<&CancelFlag>) -> io::Result<Report> {
        let until = self.last_sent + self.opts.wait;
        while Instant::now() < until && !cancel.is_some_and(CancelFlag::is_cancelled) {
            std::thread::sleep(Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())));
        }
        self.stop.store(true, Ordering::Relaxed);
        let lost = match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => return Err(io::Error::other("the drop watcher thread panicked")),
            None => 0,
        };
        let events = std::mem::take(&mut *self.events.lock().expect("events"));
        let traced = self.hops.as_mut().map(|h| h.finish());
        let mut report = self.assemble(events, lost, traced);
        report.window = self.started.elapsed();
        Ok(report)
    }

    fn assemble(&mut self, events: Vec<Seen>, lost: u64, traced: Option<(Vec<super::trace::HopEvent>, u64)>) -> Report {
        let drop_events: Vec<DropEvent> = if traced.is_some() { events.iter().map(|s| s.ev.clone()).collect() } else { Vec::new() };
        let names = netns_names();
        let mut macs: HashMap<(u64, String), Option<Mac>> = HashMap::new();
        let mut fates: Vec<Vec<DropInfo>> = vec![Vec::new(); self.sent.len()];
        let mut replies = Vec::new();
        let mut unrelated = 0usize;
        let mut last_drop: Option<Instant> = None;
        for Seen { ev, at } in events {
            let l3 = event_l3(&ev);
            let keys = fwd_keys(l3);
            // A drop of a sent packet (or of what encapsulates it / it encapsulates).
            let hit = keys.iter().find_map(|k| {
                let (list, next) = self.fwd.get_mut(k)?;
                let pos = list[(*next).min(list.len() - 1)];
                *next += 1;
                Some(pos)
            });
            if let Some(pos) = hit {
                let s = &self.sent[pos];
                let (sent_l3, sent_kind) = s.l3();
                let frame_mac = ev.mac.or_else(|| (s.first == LayerKind::Ether).then(|| s.bytes.get(..14)?.try_into().ok()).flatten());
                let iface_mac = if ev.reason == "OTHERHOST" {
                    *macs.entry((ev.netns, ev.ifname.clone())).or_insert_with(|| iface_mac_in(ev.netns, &ev.ifname, &names))
                } else {
                    None
                };
                let cx = HintCx { sent_l3: Some(sent_l3), sent_kind: Some(sent_kind), frame_mac, iface_mac, ifname: &ev.ifname };
                let hint = hints::hint(&ev.reason, &cx);
                fates[pos].push(DropInfo::new(&ev, &names, hint, None));
                last_drop = Some(at);
                continue;
            }
            // A drop of an answer: the reverse flow, or an ICMP error quoting a sent packet.
            let answered = parse_ip(l3).and_then(|h| {
                if let Some(quoted) = quoted_by(&h) {
                    if let Some(pos) = quoted.iter().find_map(|k| self.fwd.get(k).map(|(l, _)| l[0])) {
                        return Some(pos);
                    }
                }
                flow_key(&h).and_then(|k| self.rev.get(&k).copied())
            });
            match answered {
                Some(pos) => {
                    let hint = hints::hint(&ev.reason, &HintCx { frame_mac: ev.mac, ifname: &ev.ifname, ..HintCx::default() });
                    replies.push(DropInfo::new(&ev, &names, hint, Some(self.sent[pos].index)));
                    last_drop = Some(at);
                }
                None => unrelated += 1,
            }
        }
        let mut involved: Vec<u64> = self.sent.iter().map(|s| s.netns).collect();
        involved.extend(fates.iter().flatten().chain(&replies).map(|d| d.netns));
        involved.sort_unstable();
        involved.dedup();
        let counters = self.counters.take().map(|c| c.deltas(&involved)).unwrap_or_default();
        let mut packets: Vec<PacketFate> = self
            .sent
            .iter()
            .zip(fates)
            .map(|(s, drops)| PacketFate {
                index: s.index,
                round: s.round,
                summary: Packet::dissect(&s.bytes, s.first).summary(),
                iface: s.iface.clone(),
                netns: s.netns,
                netns_name: names.get(&s.netns).cloned(),
                drops,
                path: None,
            })
            .collect();
        let mut trace = self.opts.trace.then(TraceInfo::default);
        if let Some(t) = trace.as_mut() {
            t.error = self.trace_error.clone();
            t.missing = self.hops.as_ref().map(|h| h.missing.clone()).unwrap_or_default();
            t.names = super::trace::netns_names();
        }
        if let (Some((hops, hops_lost)), Some(t)) = (traced, trace.as_mut()) {
            t.lost = hops_lost;
            let paths = PathIndex::new(&hops, &drop_events);
            let all = packets.len() <= PATH_ALL_MAX;
            let mut delivered = 0;
            for (p, s) in packets.iter_mut().zip(&self.sent) {
                if !all && !p.dropped() {
                    if delivered >= PATH_DELIVERED_MAX {
                        continue;
                    }
                    delivered += 1;
                }
                p.path = Some(paths.path(&Packet::dissect(&s.bytes, s.first)));
            }
        }
        Report {
            trace,
            packets,
            replies_dropped: replies,
            counters,
            unrelated,
            lost,
            window: Duration::ZERO,
            since_last_drop: last_drop.map(|t| t.elapsed()),
        }
    }
}

impl Drop for Explainer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The report

/// One drop: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropInfo {
    /// The kernel's reason name ("OTHERHOST").
    pub reason: String,
    pub reason_code: u32,
    /// `function+0xoffset`.
    pub symbol: String,
    pub location: u64,
    pub ifname: String,
    pub ifindex: u32,
    pub netns: u64,
    /// The namespace's name when it is one of /var/run/netns.
    pub netns_name: Option<String>,
    /// The packet dropped, as the kernel had it (from its network header).
    pub summary: String,
    pub hint: String,
    /// For a reply dropped: the index of the sent packet it answers.
    pub answers: Option<usize>,
}

impl DropInfo {
    fn new(ev: &DropEvent, names: &HashMap<u64, String>, hint: String, answers: Option<usize>) -> DropInfo {
        DropInfo {
            reason: ev.reason.clone(),
            reason_code: ev.reason_code,
            symbol: ev.symbol.clone(),
            location: ev.location,
            ifname: ev.ifname.clone(),
            ifindex: ev.ifindex,
            netns: ev.netns,
            netns_name: names.get(&ev.netns).cloned(),
            summary: ev.packet().summary(),
            hint,
            answers,
        }
    }

    /// The dropping function without its offset.
    pub fn function(&self) -> &str {
        self.symbol.split('+').next().unwrap_or(&self.symbol)
    }

    fn place(&self) -> String {
        let on = if self.ifname.is_empty() { String::new() } else { format!(" on {}", self.ifname) };
        format!("in namespace {}{on} at {}: {}", ns_label(self.netns, self.netns_name.as_deref()), self.symbol, self.reason)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "reason": self.reason,
            "reason_code": self.reason_code,
            "function": self.function(),
            "symbol": self.symbol,
            "ifname": self.ifname,
            "ifindex": self.ifindex,
            "netns": self.netns,
            "netns_name": self.netns_name,
            "packet": self.summary,
            "hint": self.hint,
        })
    }
}

/// What happened to one packet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFate {
    pub index: usize,
    pub round: usize,
    pub summary: String,
    pub iface: String,
    pub netns: u64,
    pub netns_name: Option<String>,
    /// Empty: not dropped (as far as the kernel's drop events tell; see [`Report::lost`]).
    pub drops: Vec<DropInfo>,
    /// With [`ExplainOpts::trace`]: where the kernel saw it (see [`PATH_ALL_MAX`] for
    /// which packets have one).
    pub path: Option<Path>,
}

impl PacketFate {
    pub fn dropped(&self) -> bool {
        !self.drops.is_empty()
    }

    fn label(&self, rounds: bool) -> String {
        if rounds {
            format!("packet {} (send {})", self.index, self.round + 1)
        } else {
            format!("packet {}", self.index)
        }
    }
}

/// What the path tracing of [`ExplainOpts::trace`] could see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceInfo {
    /// Why the path watcher did not start at all (no path then).
    pub error: Option<String>,
    /// The hops it cannot see (XDP tracepoints this kernel would not let it watch), with why.
    pub missing: Vec<String>,
    /// Hop events lost (ring buffer full): a path may miss hops.
    pub lost: u64,
    /// Namespace names by inode, for the path lines.
    pub names: HashMap<u64, String>,
}

/// Hop and drop events indexed by packet identity, so that a path is built from the few
/// events of its packet (and the XDP events, which carry none), not from every event.
struct PathIndex<'a> {
    by_key: HashMap<PathKey, (Vec<&'a HopEvent>, Vec<&'a DropEvent>)>,
    xdp: Vec<&'a HopEvent>,
}

type PathKey = (Option<u16>, std::net::IpAddr, u8, Option<(u32, u32)>);

fn path_key(k: &PacketKey) -> PathKey {
    (k.id, k.dst, k.proto, k.l4)
}

impl<'a> PathIndex<'a> {
    fn new(hops: &'a [HopEvent], drops: &'a [DropEvent]) -> PathIndex<'a> {
        let mut by_key: HashMap<PathKey, (Vec<&HopEvent>, Vec<&DropEvent>)> = HashMap::new();
        let mut xdp = Vec::new();
        for h in hops {
            if !h.kind.has_packet() {
                xdp.push(h);
            } else if let Some(k) = PacketKey::of_dissected(&super::trace::path::l3_packet(h.protocol, &h.data)) {
                by_key.entry(path_key(&k)).or_default().0.push(h);
            }
        }
        for d in drops {
            if let Some(k) = PacketKey::of_dissected(&super::trace::path::l3_packet(d.protocol, &d.data)) {
                by_key.entry(path_key(&k)).or_default().1.push(d);
            }
        }
        PathIndex { by_key, xdp }
    }

    fn path(&self, sent: &Packet) -> Path {
        let Some(key) = PacketKey::of_sent(sent) else { return Path::default() };
        let Some((hops, drops)) = self.by_key.get(&path_key(&key)) else { return Path::default() };
        let mut all = hops.clone();
        all.extend(self.xdp.iter().copied());
        build_path_of(&key, &all, drops)
    }
}

/// A path as `--format json` gives it: one record per step.
fn path_json(path: &Path, names: &HashMap<u64, String>) -> serde_json::Value {
    let t0 = path.hops().next().map_or(0, |h| h.ts);
    let steps: Vec<serde_json::Value> = path
        .steps
        .iter()
        .map(|s| {
            let mut j = match (&s.hop, &s.drop) {
                (Some(h), _) => {
                    let mut j = serde_json::json!({
                        "kind": h.kind.name(),
                        "ifname": h.ifname,
                        "ifindex": h.ifindex,
                        "netns": h.netns,
                        "netns_name": names.get(&h.netns),
                        "t_ns": h.ts.saturating_sub(t0),
                    });
                    if let Some(x) = &h.xdp {
                        j["xdp"] = serde_json::json!({
                            "prog_id": x.prog_id,
                            "action": super::trace::xdp_action_name(x.act),
                            "err": x.err,
                            "to_ifindex": x.to_ifindex,
                            "to_ifname": x.to_ifname,
                            "sent": x.sent,
                            "drops": x.drops,
                        });
                    }
                    j
                }
                (None, Some(d)) => serde_json::json!({
                    "kind": "drop",
                    "ifname": d.ifname,
                    "ifindex": d.ifindex,
                    "netns": d.netns,
                    "netns_name": names.get(&d.netns),
                    "function": d.symbol.split('+').next().unwrap_or(""),
                    "reason": d.reason,
                }),
                (None, None) => serde_json::json!({}),
            };
            j["label"] = Path::step_label(s, names).into();
            j["changes"] = s.changes.clone().into();
            j
        })
        .collect();
    steps.into()
}

/// What [`Explainer::finish`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// With [`ExplainOpts::trace`]: what the path watcher could see.
    pub trace: Option<TraceInfo>,
    /// Every packet sent, in the order sent.
    pub packets: Vec<PacketFate>,
    /// Drops of answers to craft's packets (never a sent packet's fate).
    pub replies_dropped: Vec<DropInfo>,
    /// Counter deltas of the namespaces involved, one line each.
    pub counters: Vec<String>,
    /// Drops in the window that were not craft's packets nor their answers.
    pub unrelated: usize,
    /// Drops the kernel reported while the ring buffer was full (never seen): nonzero
    /// means a drop may have gone unexplained.
    pub lost: u64,
    /// How long the watcher ran.
    pub window: Duration,
    /// From the last of craft's drops (or their answers') read to the report being ready.
    pub since_last_drop: Option<Duration>,
}

/// Past this many packets, the text report lists only the dropped ones and counts the rest.
pub const TEXT_LIST_MAX: usize = 50;

impl Report {
    pub fn dropped(&self) -> impl Iterator<Item = &PacketFate> {
        self.packets.iter().filter(|p| p.dropped())
    }

    /// The text report: one line per packet (only the dropped ones past
    /// [`TEXT_LIST_MAX`] packets), the replies dropped, the counters, what was ignored.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let rounds = self.packets.iter().any(|p| p.round > 0);
        let all = self.packets.len() <= TEXT_LIST_MAX;
        if let Some(t) = &self.trace {
            if let Some(e) = &t.error {
                s.push_str(&format!("trace: the path watcher did not start ({e}): no paths\n"));
            }
            for m in &t.missing {
                s.push_str(&format!("trace: cannot see {m}\n"));
            }
        }
        let names = self.trace.as_ref().map(|t| t.names.clone()).unwrap_or_default();
        for p in &self.packets {
            let shown = match p.drops.as_slice() {
                [] if all => {
                    s.push_str(&format!("{} ({}): not dropped\n", p.label(rounds), p.summary));
                    true
                }
                [] => false,
                drops => {
                    for (i, d) in drops.iter().enumerate() {
                        let again = if i > 0 { " again" } else { "" };
                        s.push_str(&format!("{} ({}) was dropped{again} {} — {}\n", p.label(rounds), p.summary, d.place(), d.hint));
                    }
                    true
                }
            };
            if let (true, Some(path)) = (shown, &p.path) {
                for (i, line) in path.render(&names).lines().enumerate() {
                    let lead = if i == 0 { "  path: " } else { "  " };
                    s.push_str(&format!("{lead}{line}\n"));
                }
            }
        }
        let n_dropped = self.dropped().count();
        if !all {
            s.push_str(&format!("{} of {} packets not dropped\n", self.packets.len() - n_dropped, self.packets.len()));
        }
        for d in &self.replies_dropped {
            let to = d.answers.map_or(String::new(), |i| format!(" to packet {i}"));
            s.push_str(&format!("reply{to} ({}) dropped {} — {}\n", d.summary, d.place(), d.hint));
        }
        for c in &self.counters {
            s.push_str(&format!("counter {c}\n"));
        }
        s.push_str(&format!(
            "{n_dropped} of {} packets dropped, {} replies dropped; {} other drops in the {:.1} s window were not craft's (ignored)\n",
            self.packets.len(),
            self.replies_dropped.len(),
            self.unrelated,
            self.window.as_secs_f64()
        ));
        if self.lost > 0 {
            s.push_str(&format!(
                "warning: {} drops were lost (the watcher's ring buffer was full): a packet reported not dropped may have been\n",
                self.lost
            ));
        }
        if let Some(t) = self.trace.as_ref().filter(|t| t.lost > 0) {
            s.push_str(&format!("warning: {} hop events were lost (the path watcher's ring buffer was full): a path may miss hops\n", t.lost));
        }
        s
    }

    /// One JSON record per packet sent (`"type": "packet"`), then one per reply dropped
    /// (`"reply"`), then a `"summary"` record (counters, unrelated and lost drops).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::with_capacity(self.packets.len() + self.replies_dropped.len() + 1);
        let names = self.trace.as_ref().map(|t| t.names.clone()).unwrap_or_default();
        for p in &self.packets {
            let mut j = serde_json::json!({
                "type": "packet",
                "index": p.index,
                "round": p.round,
                "packet": p.summary,
                "iface": p.iface,
                "netns": p.netns,
                "netns_name": p.netns_name,
                "dropped": p.dropped(),
                "drops": p.drops.iter().map(DropInfo::json).collect::<Vec<_>>(),
            });
            if let Some(path) = &p.path {
                j["path"] = path_json(path, &names);
                j["path_line"] = path.line(&names).into();
            }
            out.push(j);
        }
        for d in &self.replies_dropped {
            let mut j = d.json();
            j["type"] = "reply".into();
            j["answers"] = d.answers.into();
            out.push(j);
        }
        out.push(serde_json::json!({
            "type": "summary",
            "sent": self.packets.len(),
            "dropped": self.dropped().count(),
            "replies_dropped": self.replies_dropped.len(),
            "counters": self.counters,
            "unrelated": self.unrelated,
            "lost": self.lost,
        }));
        if let Some(t) = &self.trace {
            let last = out.last_mut().expect("summary");
            last["trace"] = serde_json::json!({ "error": t.error, "missing": t.missing, "lost": t.lost });
        }
        out
    }

    /// [`Report::json_lines`], one per line.
    pub fn json(&self) -> String {
        self.json_lines().iter().map(|j| format!("{j}\n")).collect()
    }
}

// ---------------------------------------------------------------------------------------
// craft::live's calls, explained

fn realtime_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// The frame [`live::sendp`] sends for `p` on an interface of MAC `mac`: an unset Ether
/// source filled in.
fn as_sendp_builds(p: &Packet, mac: Mac) -> Vec<u8> {
    if let Some(Layer::Ether(e)) = p.layers.first() {
        if e.src.is_none() {
            let mut p = p.clone();
            if let Some(Layer::Ether(e)) = p.layers.first_mut() {
                e.src = Some(mac);
            }
            return p.build();
        }
    }
    p.build()
}

/// [`live::sendp`], each frame recorded in `ex` (before it leaves).
pub fn sendp(ex: &mut Explainer, iface: &str, pkts: &[Packet], opts: SendOpts) -> io::Result<SendReport> {
    let mac = Iface::lookup(iface)?.mac;
    let frames: Vec<Arc<Vec<u8>>> = pkts.iter().map(|p| Arc::new(as_sendp_builds(p, mac))).collect();
    let start = ex.sent.len();
    let now = realtime_ns();
    let netns = current_netns();
    for round in 0..opts.count {
        for (i, f) in frames.iter().enumerate() {
            ex.record_in(netns, i, round, f.clone(), LayerKind::Ether, iface, now);
        }
    }
    let r = live::sendp(iface, pkts, opts)?;
    ex.truncate(start + r.sent);
    Ok(r)
}

/// Route each packet as [`live::send`] will (the source address filled in), recording them
/// in the order it sends them: by egress interface, `count` times over.
fn record_l3(ex: &mut Explainer, iface: Option<&str>, pkts: &[Packet], count: usize) -> io::Result<()> {
    type Group = (String, Vec<(usize, Arc<Vec<u8>>)>);
    let mut groups: Vec<Group> = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        let f = live::fill_l3(p, iface, Duration::from_secs(1)).map_err(|e| io::Error::new(e.kind(), format!("packet {i}: {e}")))?;
        let bytes = Arc::new(f.frame.build());
        match groups.iter_mut().find(|(n, _)| *n == f.iface.name) {
            Some((_, g)) => g.push((i, bytes)),
            None => groups.push((f.iface.name.clone(), vec![(i, bytes)])),
        }
    }
    let now = realtime_ns();
    let netns = current_netns();
    for (name, g) in &groups {
        for round in 0..count {
            for (i, b) in g {
                ex.record_in(netns, *i, round, b.clone(), LayerKind::Ether, name, now);
            }
        }
    }
    Ok(())
}

/// [`live::send`] (IP / IPv6 packets, routed), each packet recorded in `ex`.
pub fn send(ex: &mut Explainer, iface: Option<&str>, pkts: &[Packet], opts: SendOpts) -> io::Result<L3SendReport> {
    let start = ex.sent.len();
    record_l3(ex, iface, pkts, opts.count)?;
    let r = live::send(iface, pkts, opts)?;
    ex.truncate(start + r.sent);
    Ok(r)
}

struct Recorder<'a> {
    ex: &'a mut Explainer,
    iface: &'a str,
    netns: u64,
}

impl Observer for Recorder<'_> {
    fn on_send(&mut self, index: usize, round: u32, frame: &[u8], sent_ns: u64) {
        self.ex.record_in(self.netns, index, round as usize, Arc::new(frame.to_vec()), LayerKind::Ether, self.iface, sent_ns);
    }
}

/// [`live::srp`], each frame recorded in `ex` as it leaves.
pub fn srp(ex: &mut Explainer, iface: &str, pkts: &[Packet], opts: &SrOpts) -> io::Result<SrResult> {
    live::srp_observed(iface, pkts, opts, &mut Recorder { ex, iface, netns: current_netns() })
}

/// [`live::sr`] (IP / IPv6 packets, routed), each packet recorded in `ex` (once; resends
/// of the unanswered carry the same headers).
pub fn sr(ex: &mut Explainer, iface: Option<&str>, pkts: &[Packet], opts: &SrOpts) -> io::Result<live::L3SrResult> {
    record_l3(ex, iface, pkts, 1)?;
    live::sr(iface, pkts, opts)
}

// ---------------------------------------------------------------------------------------
// watch-drops: every drop, decoded, with a userspace filter

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
        bpf_run(&self.prog, &frame) != 0
    }
}

/// A classic BPF interpreter (what the kernel runs for SO_ATTACH_FILTER); 0 is "reject".
/// A load past the end of the packet rejects, as in the kernel.
pub fn bpf_run(prog: &[libc::sock_filter], pkt: &[u8]) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let load = |off: u32, size: u16| -> Option<u32> {
        let o = off as usize;
        match size {
            0x00 => be32(pkt, o),
            0x08 => be16(pkt, o).map(u32::from),
            0x10 => pkt.get(o).map(|&b| b as u32),
            _ => None,
        }
    };
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let k = i.k;
        match i.code & 0x07 {
            class @ (0x00 | 0x01) => {
                let size = i.code & 0x18;
                let v = match i.code & 0xe0 {
                    0x00 => Some(k),
                    0x20 => load(k, size),
                    0x40 => load(x.wrapping_add(k), size),
                    0x60 => Some(mem[(k & 15) as usize]),
                    0x80 => Some(pkt.len() as u32),
                    0xa0 => pkt.get(k as usize).map(|&b| ((b & 0x0f) as u32) * 4),
                    _ => None,
                };
                let Some(v) = v else { return 0 };
                if class == 0 {
                    a = v;
                } else {
                    x = v;
                }
            }
            0x02 => mem[(k & 15) as usize] = a,
            0x03 => mem[(k & 15) as usize] = x,
            0x04 => {
                let s = if i.code & 0x08 != 0 { x } else { k };
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(s),
                    0x10 => a.wrapping_sub(s),
                    0x20 => a.wrapping_mul(s),
                    0x30 if s == 0 => return 0,
                    0x30 => a / s,
                    0x40 => a | s,
                    0x50 => a & s,
                    0x60 => a.checked_shl(s).unwrap_or(0),
                    0x70 => a.checked_shr(s).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 if s == 0 => return 0,
                    0x90 => a % s,
                    0xa0 => a ^ s,
                    _ => return 0,
                };
            }
            0x05 => {
                let op = i.code & 0xf0;
                if op == 0x00 {
                    pc += k as usize;
                    continue;
                }
                let s = if i.code & 0x08 != 0 { x } else { k };
                let cond = match op {
                    0x10 => a == s,
                    0x20 => a > s,
                    0x30 => a >= s,
                    0x40 => a & s != 0,
                    _ => return 0,
                };
                pc += if cond { i.jt } else { i.jf } as usize;
            }
            0x06 => return if i.code & 0x18 == 0x10 { a } else { k },
            _ => {
                if i.code & 0xf8 == 0x00 {
                    x = a;
                } else {
                    a = x;
                }
            }
        }
    }
    0
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
        "function": ev.symbol.split('+').next().unwrap_or(""),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn l3(p: Packet) -> Vec<u8> {
        p.build()
    }

    #[test]
    fn keys_see_ports_ids_and_inner_packets() {
        let inner = Ip::new().src("10.0.0.1").dst("10.0.0.2").id(7) / Udp::new().sport(1).dport(2);
        let plain = fwd_keys(&l3(inner));
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].l4, L4::Ports(1, 2));
        assert_eq!(plain[0].tag, 7);
        let gue = Ip::new().src("10.9.0.1").dst("10.9.0.2") / Udp::new().dport(6080) / Gue::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2").id(7) / Udp::new().sport(1).dport(2);
        let k = fwd_keys(&l3(gue));
        assert_eq!(k.len(), 2, "{k:?}");
        assert_eq!(k[1], plain[0]);
        let ipip = Ip::new().src("10.9.0.1").dst("10.9.0.2") / Ip::new().src("10.0.0.1").dst("10.0.0.2").id(7) / Udp::new().sport(1).dport(2);
        assert_eq!(fwd_keys(&l3(ipip))[1], plain[0]);
    }

    #[test]
    fn replies_are_the_reverse_flow_or_quote_the_packet() {
        let req = l3(Ip::new().src("10.0.0.1").dst("10.0.0.2") / Icmp::new().id(5).seq(9));
        let rep = l3(Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(0).id(5).seq(9));
        assert_eq!(reply_key_of_sent(&req), flow_key(&parse_ip(&rep).unwrap()));
        let udp = Ip::new().src("10.0.0.1").dst("10.0.0.2").id(3) / Udp::new().sport(4001).dport(4002);
        let err = l3(Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(3).code(3) / udp.clone());
        let q = quoted_by(&parse_ip(&err).unwrap()).unwrap();
        assert_eq!(q[0], fwd_keys(&l3(udp))[0]);
    }

    #[test]
    fn tracing_keeps_both_rings_within_the_memlock_budget() {
        let o = |ring_size, trace, trace_ring_size| ExplainOpts { ring_size, trace, trace_ring_size, ..ExplainOpts::default() }.rings();
        assert_eq!(ExplainOpts::default().rings(), (8 << 20, 0));
        assert_eq!(o(8 << 20, true, 4 << 20), (4 << 20, 4 << 20));
        assert_eq!(o(8 << 20, true, 2 << 20), (4 << 20, 2 << 20));
        assert_eq!(o(1 << 20, true, 64 << 20), (1 << 20, 4 << 20));
        assert_eq!(o(8 << 20, true, 3 << 20), (4 << 20, 2 << 20));
        for (d, t) in [o(8 << 20, true, 4 << 20), o(8 << 20, true, 1 << 16), o(5 << 20, true, 3 << 20)] {
            assert!(d + t <= MEMLOCK_BUDGET && d.is_power_of_two() && t.is_power_of_two(), "{d} {t}");
        }
    }

    #[test]
    fn the_text_report_says_what_the_path_watcher_cannot_see() {
        let mut r = Report {
            trace: Some(TraceInfo { error: Some("no BTF".into()), ..TraceInfo::default() }),
            packets: vec![PacketFate {
                index: 0,
                round: 0,
                summary: "IP / UDP".into(),
                iface: "va".into(),
                netns: 1,
                netns_name: None,
                drops: vec![],
                path: Some(Path::default()),
            }],
            replies_dropped: vec![],
            counters: vec![],
            unrelated: 0,
            lost: 0,
            window: Duration::ZERO,
            since_last_drop: None,
        };
        let t = r.text();
        assert!(t.starts_with("trace: the path watcher did not start (no BTF): no paths\npacket 0 (IP / UDP): not dropped\n  path: (not seen)\n"), "{t}");
        r.trace = Some(TraceInfo { missing: vec!["xdp_bulk_tx: no such tracepoint".into()], lost: 3, ..TraceInfo::default() });
        let t = r.text();
        assert!(t.starts_with("trace: cannot see xdp_bulk_tx: no such tracepoint\n"), "{t}");
        assert!(t.contains("warning: 3 hop events were lost"), "{t}");
        let j = r.json_lines();
        assert_eq!(j[0]["path"], serde_json::json!([]));
        assert_eq!(j[1]["trace"]["lost"], 3);
    }

    #[test]
    fn bpf_interpreter_runs_a_compiled_filter() {
        let Ok(f) = live::filter::compile("udp and dst port 4002") else { return };
        let yes = (Ether::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2") / Udp::new().dport(4002)).build();
        let no = (Ether::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2") / Udp::new().dport(4003)).build();
        assert_ne!(bpf_run(&f, &yes), 0);
        assert_eq!(bpf_run(&f, &no), 0);
    }
}
