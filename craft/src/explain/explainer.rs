//! Explain what happened to the packets craft sent: an [`Explainer`] watches the kernel's
//! drops ([`DropWatch`], on a thread of its own that reads the ring buffer continuously, so
//! long sends do not overflow it) while craft sends, is told each call's frames (their bytes
//! as sent, their positions, how many times over, the interface and namespace they left
//! by), and after the call plus a grace period gives a [`Report`]: per packet sent, dropped
//! or not and, if dropped, where (function+offset, interface, network namespace) and why
//! (the kernel's reason name and a one-line hint, [`super::hints`]); drops of the answers
//! to craft's packets ("reply dropped"), listed apart; counter deltas. Matching is
//! [`super::matching`]'s.
//!
//! Cheap while sending: recording a call stores its frames (the very buffers sent) and
//! nothing per send; the watcher thread copies raw ring records. Decoding, symbolizing and
//! matching happen once, in [`Explainer::finish`].

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::hints::{self, HintCx};
use super::matching::{be16, event_l3, Match, Matcher};
use super::netns::{current_netns, iface_mac_in, netns_names, veth_peer_netns};
use super::report::{split_rounds, DropInfo, PacketFate, PathIndex, Report, TraceInfo, TEXT_LIST_MAX};
use super::trace::Path;
use super::trace::HopEvent;
use super::{DropEvent, DropWatch};
use crate::field::Mac;
use crate::live::CancelFlag;
use crate::packet::{LayerKind, Packet};


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
        ExplainOpts { wait: Duration::from_secs(1), ring_size: 8 << 20, poll: Duration::from_millis(5), trace: false, trace_ring_size: 4 << 20 }
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
    hops: Arc<Mutex<Vec<HopEvent>>>,
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
    fn finish(&mut self) -> (Vec<HopEvent>, u64) {
        let lost = match self.thread.take().map(|t| t.join()) {
            Some(Ok(Ok(n))) => n,
            _ => 0,
        };
        (std::mem::take(&mut *self.hops.lock().expect("hops")), lost)
    }
}

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


/// One send call as recorded: its frames (each packet of the caller's list once, as sent),
/// sent `rounds` times over, round-major, of which the first `sent` went out.
pub(crate) struct Call {
    pub frames: Vec<Vec<u8>>,
    /// The position of each frame's packet in the caller's list.
    pub index: Vec<usize>,
    /// The first layer of every frame (Ether, IP or IPv6).
    pub first: LayerKind,
    /// The interface they left by, and its namespace.
    pub iface: Arc<str>,
    pub netns: u64,
    /// The round of the first send (retries of srp count on).
    pub first_round: usize,
    pub sent: usize,
}

impl Call {
    /// `frames` of positions `index` in the caller's list, sent `rounds` times over out of
    /// `iface` in namespace `netns`; all assumed sent until [`Explainer::set_sent`].
    pub fn new(frames: Vec<Vec<u8>>, index: Vec<usize>, first: LayerKind, iface: &str, netns: u64, rounds: usize) -> Call {
        let sent = frames.len() * rounds;
        Call { frames, index, first, iface: iface.into(), netns, first_round: 0, sent }
    }
}

/// A frame's bytes from the network header on, and that header's kind.
fn l3_of(bytes: &[u8], first: LayerKind) -> (&[u8], LayerKind) {
    if first != LayerKind::Ether {
        return (bytes, first);
    }
    // Past VLAN tags too.
    let mut at = 12;
    while matches!(be16(bytes, at), Some(0x8100 | 0x88a8)) {
        at += 4;
    }
    let kind = match be16(bytes, at) {
        Some(0x86dd) => LayerKind::Ipv6,
        Some(0x0800) => LayerKind::Ip,
        _ => LayerKind::Raw,
    };
    (bytes.get(at + 2..).unwrap_or(&[]), kind)
}

/// A drop and when the watcher read it.
struct Seen {
    ev: DropEvent,
    at: Instant,
}

/// What the drop watcher's thread gives when stopped: the drops read, and those lost.
type Drops = io::Result<(Vec<Seen>, u64)>;

/// Raw drop records kept at most (~230 bytes each); past it, drops count as lost.
const DROPS_KEPT_MAX: usize = 1 << 21;

/// The drop watcher's thread: reads the ring buffer until stopped, keeping the raw records
/// (a copy each), then decodes them.
fn drop_thread(mut watch: DropWatch, poll: Duration, stop: Arc<AtomicBool>) -> Drops {
    let mut raw = Vec::new();
    // (records read so far, when): one entry per read that found some.
    let mut reads: Vec<(usize, Instant)> = Vec::new();
    let mut over = 0u64;
    loop {
        let done = stop.load(Ordering::Relaxed);
        let before = raw.len();
        let n = watch.poll_raw(if done { Duration::ZERO } else { poll }, &mut raw)?;
        if n > 0 {
            let kept = raw.len() / super::prog::rec::SIZE;
            if kept > DROPS_KEPT_MAX {
                raw.truncate(before);
                over += n as u64;
            } else {
                reads.push((kept, Instant::now()));
            }
        } else if done {
            break;
        }
    }
    let mut seen = Vec::with_capacity(raw.len() / super::prog::rec::SIZE);
    let mut read = reads.iter().peekable();
    for (i, rec) in raw.chunks_exact(super::prog::rec::SIZE).enumerate() {
        while read.next_if(|(end, _)| *end <= i).is_some() {}
        let at = read.peek().map_or_else(Instant::now, |(_, t)| *t);
        if let Some(ev) = watch.decode(rec) {
            seen.push(Seen { ev, at });
        }
    }
    Ok((seen, watch.lost()? + over))
}

/// Watches the kernel's drops while craft sends; see the module doc.
pub struct Explainer {
    opts: ExplainOpts,
    calls: Vec<Call>,
    last_sent: Instant,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Drops>>,
    counters: Option<CounterWatch>,
    started: Instant,
    /// With `trace`: the path watcher, or why it could not start.
    hops: Option<HopWatch>,
    trace_error: Option<String>,
}

impl Explainer {
    /// Start watching (root: CAP_BPF + CAP_PERFMON); the error says what is missing.
    pub fn start(opts: ExplainOpts) -> io::Result<Explainer> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, started) = mpsc::channel();
        let (ring, trace_ring) = opts.rings();
        let (stop2, poll) = (stop.clone(), opts.poll);
        let thread = std::thread::Builder::new().name("craft-explain".into()).spawn(move || {
            let watch = DropWatch::with_ring_size(ring);
            let _ = ready.send(watch.as_ref().map(|_| ()).map_err(|e| io::Error::new(e.kind(), e.to_string())));
            drop_thread(watch?, poll, stop2)
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
            calls: Vec::new(),
            last_sent: now,
            stop,
            thread: Some(thread),
            counters: CounterWatch::start(),
            started: now,
            hops,
            trace_error,
        })
    }

    /// Tell the explainer a packet was sent: `bytes` as they left (first layer `first`),
    /// the `index` of the packet in the caller's list and which `round` (0 for the first),
    /// the interface (the calling thread's namespace is taken as the interface's).
    pub fn record(&mut self, index: usize, round: usize, bytes: Vec<u8>, first: LayerKind, iface: &str) {
        self.record_in(current_netns(), index, round, bytes, first, iface);
    }

    /// [`record`](Self::record) with the interface's namespace known.
    pub(crate) fn record_in(&mut self, netns: u64, index: usize, round: usize, bytes: Vec<u8>, first: LayerKind, iface: &str) {
        let call = Call { first_round: round, ..Call::new(vec![bytes], vec![index], first, iface, netns, 1) };
        self.record_call(call);
    }

    /// Record a call's frames (before sending them, so a send stopped by an error still
    /// counts what may have left); its position, for [`set_sent`](Self::set_sent).
    pub(crate) fn record_call(&mut self, call: Call) -> usize {
        self.calls.push(call);
        self.last_sent = Instant::now();
        self.calls.len() - 1
    }

    /// The frames of call `call`, to send.
    pub(crate) fn frames(&self, call: usize) -> &[Vec<u8>] {
        &self.calls[call].frames
    }

    /// How many sends of call `call` went out (it may have stopped early).
    pub(crate) fn set_sent(&mut self, call: usize, sent: usize) {
        let c = &mut self.calls[call];
        c.sent = c.sent.min(sent);
        self.last_sent = Instant::now();
    }

    /// Wait out the grace period (from the last packet recorded; `cancel` cuts it short),
    /// stop watching and match what was seen.
    pub fn finish(mut self, cancel: Option<&CancelFlag>) -> io::Result<Report> {
        let until = self.last_sent + self.opts.wait;
        while Instant::now() < until && !cancel.is_some_and(CancelFlag::is_cancelled) {
            std::thread::sleep(Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())));
        }
        self.stop.store(true, Ordering::Relaxed);
        let (events, lost) = match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => return Err(io::Error::other("the drop watcher thread panicked")),
            None => (Vec::new(), 0),
        };
        let traced = self.hops.as_mut().map(|h| h.finish());
        let mut report = self.assemble(events, lost, traced);
        report.window = self.started.elapsed();
        Ok(report)
    }

    fn assemble(&mut self, events: Vec<Seen>, lost: u64, traced: Option<(Vec<HopEvent>, u64)>) -> Report {
        let drop_events: Vec<DropEvent> = if traced.is_some() { events.iter().map(|s| s.ev.clone()).collect() } else { Vec::new() };
        let names = netns_names();
        let mut matcher = Matcher::new(self.calls.iter().map(|c| (c.frames.iter().map(|f| l3_of(f, c.first).0).collect(), c.sent)));
        let mut macs: HashMap<(u64, String), Option<Mac>> = HashMap::new();
        let mut fates: HashMap<(usize, usize), Vec<DropInfo>> = HashMap::new();
        let mut replies = Vec::new();
        let mut unrelated = 0usize;
        let mut last_drop: Option<Instant> = None;
        // OTHERHOST hints name the receiving interface's MAC: looked up once per interface.
        let receiver_mac = |macs: &mut HashMap<(u64, String), Option<Mac>>, ev: &DropEvent| {
            (ev.reason == "OTHERHOST").then(|| *macs.entry((ev.netns, ev.ifname.clone())).or_insert_with(|| iface_mac_in(ev.netns, &ev.ifname, &names))).flatten()
        };
        for Seen { ev, at } in events {
            match matcher.classify(event_l3(&ev)) {
                Match::Sent { call, pos } => {
                    let c = &self.calls[call];
                    let bytes = &c.frames[pos % c.frames.len()];
                    let (sent_l3, sent_kind) = l3_of(bytes, c.first);
                    let frame_mac = ev.mac.or_else(|| (c.first == LayerKind::Ether).then(|| bytes.get(..14)?.try_into().ok()).flatten());
                    let iface_mac = receiver_mac(&mut macs, &ev);
                    let cx = HintCx { sent_l3: Some(sent_l3), sent_kind: Some(sent_kind), frame_mac, iface_mac, ifname: &ev.ifname, function: ev.function() };
                    let hint = hints::hint(&ev.reason, &cx);
                    fates.entry((call, pos)).or_default().push(DropInfo::new(&ev, &names, hint, None));
                    last_drop = Some(at);
                }
                Match::Reply(f) => {
                    let iface_mac = receiver_mac(&mut macs, &ev);
                    let cx = HintCx { frame_mac: ev.mac, iface_mac, ifname: &ev.ifname, function: ev.function(), ..HintCx::default() };
                    let hint = hints::reply_hint(&ev.reason, event_l3(&ev), &cx);
                    replies.push(DropInfo::new(&ev, &names, hint, Some(self.calls[f.call].index[f.frame])));
                    last_drop = Some(at);
                }
                Match::Unrelated => unrelated += 1,
            }
        }
        // Where craft's frames left, the other ends of those veths (a receiver's counters
        // say what no drop event does: a full SYN queue...), and where drops happened.
        let mut involved: Vec<u64> = self.calls.iter().map(|c| c.netns).collect();
        let mut ends: Vec<(u64, &str)> = self.calls.iter().map(|c| (c.netns, &*c.iface)).collect();
        ends.dedup();
        involved.extend(ends.into_iter().filter_map(|(ns, iface)| veth_peer_netns(ns, iface, &names)));
        involved.extend(fates.values().flatten().chain(&replies).map(|d| d.netns));
        involved.sort_unstable();
        involved.dedup();
        let counters = self.counters.take().map(|c| c.deltas(&involved)).unwrap_or_default();

        let mut trace = self.opts.trace.then(TraceInfo::default);
        if let Some(t) = trace.as_mut() {
            t.error = self.trace_error.clone();
            t.missing = self.hops.as_ref().map(|h| h.missing.clone()).unwrap_or_default();
            t.names = names.clone();
        }
        let total: usize = self.calls.iter().map(|c| c.sent).sum();
        let paths = match (&traced, trace.as_mut()) {
            (Some((hops, hops_lost)), Some(t)) => {
                t.lost = *hops_lost;
                Some(PathIndex::new(hops, &drop_events))
            }
            _ => None,
        };
        let mut delivered_paths = 0;
        let mut packets = Vec::with_capacity(total);
        for (ci, c) in self.calls.iter().enumerate() {
            let dissected: Vec<Packet> = c.frames.iter().map(|f| Packet::dissect(f, c.first)).collect();
            let summaries: Vec<String> = dissected.iter().map(Packet::summary).collect();
            let netns_name = names.get(&c.netns).cloned();
            let rounds = c.sent.div_ceil(c.frames.len());
            // Per frame, the path of each round (built when first needed).
            let mut frame_paths: Vec<Option<Vec<Path>>> = vec![None; c.frames.len()];
            for pos in 0..c.sent {
                let f = pos % c.frames.len();
                let drops = fates.remove(&(ci, pos)).unwrap_or_default();
                // Paths of every packet when few; past that, of the dropped ones and a few others.
                let path = paths.as_ref().and_then(|p| {
                    if total > PATH_ALL_MAX && drops.is_empty() {
                        if delivered_paths >= PATH_DELIVERED_MAX {
                            return None;
                        }
                        delivered_paths += 1;
                    }
                    let per_round = frame_paths[f].get_or_insert_with(|| split_rounds(p.path(&dissected[f]), c.netns, &c.iface, rounds));
                    per_round.get(pos / c.frames.len()).or(per_round.first()).cloned()
                });
                packets.push(PacketFate {
                    index: c.index[f],
                    round: c.first_round + pos / c.frames.len(),
                    summary: summaries[f].clone(),
                    iface: c.iface.to_string(),
                    netns: c.netns,
                    netns_name: netns_name.clone(),
                    drops,
                    path,
                });
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
