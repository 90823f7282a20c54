//! Sending IP / IPv6 packets and matching their answers: scapy's `send`, `sr`, `sr1`.
//!
//! Each packet (which must start with IP or IPv6) is routed with [`fill_l3`]: the source
//! address comes from the route, the Ethernet header from the egress interface and the next
//! hop (an unresolved MAC means broadcast and a warning). Given an interface (scapy's
//! `iface=`), every packet leaves by it instead (see [`fill_l3`]). Packets are then grouped by
//! egress interface and sent with [`sendp`] / [`srp`], one interface after the other; every
//! group of one [`sr`] call waits until one shared monotonic deadline. Requests and replies
//! come back at the IP level, without their Ethernet header, as with scapy's `sr`.

use std::io;
use std::time::{Duration, Instant};

use super::route::fill_l3_cancellable;
use super::{sendp_frames, srp_observed, Answer, CancelFlag, NoObserver, Observer, Result, SendOpts, SendReport, SrOpts};
use crate::packet::{Layer, Packet};

/// What [`send`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct L3SendReport {
    /// Frames handed to the kernel, all interfaces together.
    pub sent: usize,
    /// What did not go as planned (e.g. a MAC that could not be resolved).
    pub warnings: Vec<String>,
}

/// What [`sr`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct L3SrResult {
    /// Requests and replies as IP-level packets; `index` is the position in the list given.
    pub answered: Vec<Answer>,
    /// The requests nothing answered (IP level, source filled), in the order given.
    pub unanswered: Vec<Packet>,
    /// Frames received during the call, answers or not, all interfaces together.
    pub received: usize,
    /// What did not go as planned (e.g. a MAC that could not be resolved).
    pub warnings: Vec<String>,
}

/// How long MAC resolution may take for a call waiting `timeout` for answers.
fn resolve_time(timeout: Duration) -> Duration {
    timeout.clamp(Duration::from_millis(200), Duration::from_secs(2))
}

/// Default MAC resolution time for [`send`].
const SEND_RESOLVE: Duration = Duration::from_secs(1);

/// Frames for one egress interface: the frames and their positions in the caller's list.
struct Group {
    iface: String,
    frames: Vec<Packet>,
    index: Vec<usize>,
}

/// Check every packet starts with IP / IPv6, route them (out of `iface` when given) and
/// group them by interface.
fn route_all(
    iface: Option<&str>,
    pkts: &[Packet],
    resolve: Duration,
    cancel: Option<&CancelFlag>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Group>> {
    for (i, p) in pkts.iter().enumerate() {
        if !matches!(p.layers.first(), Some(Layer::Ip(_) | Layer::Ipv6(_))) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("packet {i} ({}) does not start with IP or IPv6", p.summary()),
            ));
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        let f = fill_l3_cancellable(p, iface, resolve, cancel).map_err(|e| io::Error::new(e.kind(), format!("packet {i}: {e}")))?;
        warnings.extend(f.warnings);
        match groups.iter_mut().find(|g| g.iface == f.iface.name) {
            Some(g) => {
                g.frames.push(f.frame);
                g.index.push(i);
            }
            None => groups.push(Group { iface: f.iface.name, frames: vec![f.frame], index: vec![i] }),
        }
    }
    Ok(groups)
}

/// The packet without its leading Ethernet header.
fn strip_ether(mut p: Packet) -> Packet {
    if matches!(p.layers.first(), Some(Layer::Ether(_))) {
        p.layers.remove(0);
    }
    p
}

/// Send IP / IPv6 packets, each routed as the kernel would (or out of `iface`),
/// `opts.count` times over.
pub fn send(iface: Option<&str>, pkts: &[Packet], opts: SendOpts) -> Result<L3SendReport> {
    send_with(iface, pkts, opts, |group, opts| sendp_frames(group.iface, &group.frames, opts))
}

/// The frames [`send_with`] sends out of one interface.
pub struct RoutedFrames<'a> {
    pub iface: &'a str,
    /// Built, Ethernet header included.
    pub frames: Vec<Vec<u8>>,
    /// The position of each frame's packet in the list given.
    pub index: &'a [usize],
}

/// [`send`], each interface's frames sent by `send_group` (given the frames and the
/// options, e.g. [`sendp_frames`]): for craft explain, which records the bytes it sends.
pub fn send_with(
    iface: Option<&str>,
    pkts: &[Packet],
    opts: SendOpts,
    mut send_group: impl FnMut(RoutedFrames, SendOpts) -> Result<SendReport>,
) -> Result<L3SendReport> {
    let mut report = L3SendReport::default();
    let groups = route_all(iface, pkts, SEND_RESOLVE, opts.cancel.as_ref(), &mut report.warnings)?;
    for g in &groups {
        let frames = g.frames.iter().map(Packet::build).collect();
        let mut opts = opts.clone();
        // The group's own frames' times in the schedule.
        opts.schedule = opts.schedule.map(|at| g.index.iter().map(|&i| at.get(i).copied().unwrap_or_default()).collect());
        let r = send_group(RoutedFrames { iface: &g.iface, frames, index: &g.index }, opts)?;
        report.sent += r.sent;
        report.warnings.extend(r.warnings);
    }
    Ok(report)
}

/// Tells an observer of the whole list about one group's frames, by their positions in it.
struct GroupObserver<'a> {
    inner: &'a mut dyn Observer,
    index: &'a [usize],
}

impl Observer for GroupObserver<'_> {
    fn on_iface(&mut self, iface: &str) {
        self.inner.on_iface(iface);
    }

    fn on_send(&mut self, index: usize, round: u32, frame: &[u8], sent_ns: u64) {
        self.inner.on_send(self.index[index], round, frame, sent_ns);
    }

    fn on_recv(&mut self, frame: &[u8], ts_ns: u64, answered: &[usize]) {
        let answered: Vec<usize> = answered.iter().map(|&i| self.index[i]).collect();
        self.inner.on_recv(frame, ts_ns, &answered);
    }
}

/// Send IP / IPv6 packets, each routed as the kernel would (or out of `iface`), and collect
/// their answers.
pub fn sr(iface: Option<&str>, pkts: &[Packet], opts: &SrOpts) -> Result<L3SrResult> {
    sr_observed(iface, pkts, opts, &mut NoObserver)
}

/// [`sr`] with an [`Observer`], told each frame as it leaves (indexes are positions in
/// `pkts`; `on_done` is not called).
pub fn sr_observed(iface: Option<&str>, pkts: &[Packet], opts: &SrOpts, obs: &mut dyn Observer) -> Result<L3SrResult> {
    let mut out = L3SrResult::default();
    let groups = route_all(iface, pkts, resolve_time(opts.timeout), opts.cancel.as_ref(), &mut out.warnings)?;
    let deadline = Instant::now() + opts.timeout;
    let mut unanswered: Vec<(usize, Packet)> = Vec::new();
    for g in &groups {
        // The group's own requests' times in the schedule.
        let schedule = opts.schedule.as_ref().map(|at| g.index.iter().map(|&i| at.get(i).copied().unwrap_or_default()).collect());
        let o = SrOpts { timeout: deadline.saturating_duration_since(Instant::now()), schedule, ..opts.clone() };
        let r = srp_observed(&g.iface, &g.frames, &o, &mut GroupObserver { inner: &mut *obs, index: &g.index })?;
        out.received += r.received;
        out.warnings.extend(r.warnings);
        let mut answered_here = vec![false; g.frames.len()];
        for a in r.answered {
            answered_here[a.index] = true;
            out.answered.push(Answer {
                index: g.index[a.index],
                request: strip_ether(a.request),
                reply: strip_ether(a.reply),
                ..a
            });
        }
        // srp keeps the order given: the unanswered are the frames not answered, in order.
        let mut rest = r.unanswered.into_iter();
        for (j, _) in answered_here.iter().enumerate().filter(|(_, &done)| !done) {
            if let Some(p) = rest.next() {
                unanswered.push((g.index[j], strip_ether(p)));
            }
        }
    }
    out.answered.sort_by_key(|a| (a.index, a.recv_ns));
    unanswered.sort_by_key(|(i, _)| *i);
    out.unanswered = unanswered.into_iter().map(|(_, p)| p).collect();
    Ok(out)
}

/// Send one IP / IPv6 packet (routed, or out of `iface`), wait `timeout` at most for its
/// first answer: the IP-level reply and the round-trip time.
pub fn sr1(iface: Option<&str>, pkt: Packet, timeout: Duration) -> Result<Option<(Packet, Duration)>> {
    let opts = SrOpts { timeout, ..SrOpts::default() };
    let r = sr(iface, std::slice::from_ref(&pkt), &opts)?;
    Ok(r.answered.into_iter().next().map(Answer::into_reply_rtt))
}
