//! Sending frames and matching their answers at layer 2: scapy's `sendp`, `srp`, `srp1`.
//!
//! What differs from scapy:
//! * **One socket, reused.** Every call takes its socket from [`SocketCache::global`]: it is
//!   bound and queuing before the call starts, so replies that arrive while requests are
//!   still being sent are not missed, and no call pays for opening a socket.
//! * **Receive before sending.** The queue is drained (stale frames go), then the requests
//!   are sent, then replies are read from the same, already open, socket.
//! * **Bounded.** Each round (the first send and every retry) ends at a monotonic deadline,
//!   `timeout` after its last frame went out, and the call returns as soon as every request
//!   is answered (unless `multi`). So a call takes at most about
//!   `(retry + 1) * (timeout + sending time)`, never hangs.
//! * **O(1) matching.** Requests are filed in a `HashMap` under [`match_key`]; a received
//!   frame looks its [`reply_keys`] up and [`answers_with`] confirms each candidate.
//! * **Cancellable.** With a [`CancelFlag`] in the options, a call stops within ~50 ms of the
//!   flag being set and returns what it has: the frames sent so far, the answers so far and
//!   every other request as unanswered.
//! * **Observable.** Send and receive timestamps are kept (CLOCK_REALTIME nanoseconds, as the
//!   kernel stamps received frames), and an [`Observer`] sees every send, every received
//!   frame and the result: the hook a kernel drop-reason tracer attaches to.
//!
//! Calls on the same cached socket are serialized (a per-socket lock), so two threads
//! sending on one interface cannot take each other's replies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::sys::realtime_ns;
use super::{cancelled, filter, sleep_until, CancelFlag, PacketSocket, Result, SocketCache, SocketOptions};
use crate::answers::{answers_with, match_key, reply_keys, MatchKey};
use crate::layer::DissectCx;
use crate::packet::{Layer, LayerKind, Packet};

/// How [`sendp`] sends.
#[derive(Debug, Clone)]
pub struct SendOpts {
    /// How many times the whole list is sent (scapy's `count`; 1 by default).
    pub count: usize,
    /// Time between frames, kept on a fixed schedule (frame i leaves `i * inter` after the
    /// first); `None`: as fast as possible, in sendmmsg batches.
    pub inter: Option<Duration>,
    /// When each frame of the list leaves, counted from the first (a replayed capture's
    /// pace): one entry per frame, non-decreasing; each repetition (`count`) starts where
    /// the one before ended. Takes precedence over `inter`.
    pub schedule: Option<Arc<[Duration]>>,
    /// PACKET_QDISC_BYPASS: straight to the driver, skipping the qdisc; such frames are not
    /// seen by this host's own capture sockets.
    pub qdisc_bypass: bool,
    /// Stop early when set; the report counts what was sent.
    pub cancel: Option<CancelFlag>,
    /// Frames sent so far are added here as they go (for a progress display).
    pub progress: Option<Arc<AtomicUsize>>,
}

impl Default for SendOpts {
    fn default() -> SendOpts {
        SendOpts { count: 1, inter: None, schedule: None, qdisc_bypass: false, cancel: None, progress: None }
    }
}

/// What [`sendp`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendReport {
    /// Frames handed to the kernel.
    pub sent: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Wall time from the first send to the last (CLOCK_REALTIME ns).
    pub first_ns: u64,
    pub last_ns: u64,
    /// How long the sending took (monotonic).
    pub elapsed: Duration,
    /// What did not go as planned: frames handed to an interface without carrier went
    /// nowhere, though the kernel took them.
    pub warnings: Vec<String>,
}

/// How [`srp`] sends and waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrOpts {
    /// How long to wait after the last frame of a round was sent.
    pub timeout: Duration,
    /// How many more rounds resend the requests still unanswered.
    pub retry: u32,
    /// Keep collecting answers (several per request) until the deadline.
    pub multi: bool,
    /// Pause between frames (replies are read during the pause).
    pub inter: Option<Duration>,
    /// When each request leaves, counted from the first (a replayed capture's pace): one
    /// entry per request, non-decreasing; a retry round keeps the gaps between the requests
    /// it resends. Replies are read while waiting. Takes precedence over `inter`.
    pub schedule: Option<Arc<[Duration]>>,
    /// A tcpdump filter the kernel applies to received frames during the call.
    pub filter: Option<String>,
    /// Stop early when set: the answers so far, every other request unanswered.
    pub cancel: Option<CancelFlag>,
    /// scapy's `conf.checkIPaddr`: when false, a reply need not come from the address
    /// asked (see [`answers_with`]).
    pub check_ip_addr: bool,
    /// How received frames are dissected (which UDP ports carry GUE).
    pub dissect: DissectCx,
}

impl Default for SrOpts {
    fn default() -> SrOpts {
        SrOpts {
            timeout: Duration::from_secs(2),
            retry: 0,
            multi: false,
            inter: None,
            schedule: None,
            filter: None,
            cancel: None,
            check_ip_addr: true,
            dissect: DissectCx::default(),
        }
    }
}

/// A request and one of its answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The request's position in the list given to [`srp`].
    pub index: usize,
    pub request: Packet,
    /// Dissected from the Ethernet header on.
    pub reply: Packet,
    /// When the request answered was (last) sent: CLOCK_REALTIME ns, just before the send.
    pub sent_ns: u64,
    /// Kernel receive timestamp of the reply, CLOCK_REALTIME ns.
    pub recv_ns: u64,
}

impl Answer {
    /// Round-trip time: reply timestamp minus send time.
    pub fn rtt(&self) -> Duration {
        Duration::from_nanos(self.recv_ns.saturating_sub(self.sent_ns))
    }

    /// The reply and the round-trip time (what srp1 and sr1 return).
    pub fn into_reply_rtt(self) -> (Packet, Duration) {
        let rtt = self.rtt();
        (self.reply, rtt)
    }
}

/// What [`srp`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SrResult {
    pub answered: Vec<Answer>,
    /// The requests nothing answered, in the order given.
    pub unanswered: Vec<Packet>,
    /// Frames received during the call, answers or not (scapy's "Received N packets").
    pub received: usize,
    /// What did not go as planned (e.g. a next hop's MAC that could not be resolved).
    pub warnings: Vec<String>,
}

/// Hooks into [`srp_observed`]: every frame sent, every frame received, the result. All
/// default to doing nothing. Meant for tracing (e.g. asking the kernel why an unanswered
/// request was dropped, from its send time and bytes).
pub trait Observer {
    /// The frames that follow leave by `iface` (told once per [`srp_observed`] call).
    fn on_iface(&mut self, iface: &str) {
        let _ = iface;
    }
    /// Request `index` was sent as `frame` at `sent_ns` (CLOCK_REALTIME), in round `round`.
    fn on_send(&mut self, index: usize, round: u32, frame: &[u8], sent_ns: u64) {
        let _ = (index, round, frame, sent_ns);
    }
    /// A frame was received at `ts_ns`; `answered` lists the requests it answers.
    fn on_recv(&mut self, frame: &[u8], ts_ns: u64, answered: &[usize]) {
        let _ = (frame, ts_ns, answered);
    }
    /// The call is over.
    fn on_done(&mut self, result: &SrResult) {
        let _ = result;
    }
}

/// The observer that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// Fill in an unset Ether source with the interface's MAC, as scapy does.
fn with_src(pkt: &Packet, sock: &PacketSocket) -> Packet {
    let mut p = pkt.clone();
    if let Some(Layer::Ether(e)) = p.layers.first_mut() {
        if e.src.is_none() {
            e.src = Some(sock.iface().mac);
        }
    }
    p
}

/// How long [`sendp`] may wait for a next hop's MAC (ARP / neighbour discovery).
const SENDP_RESOLVE: Duration = Duration::from_secs(1);

/// What scapy's sendp fills in a frame, filled: an unset Ether source with the
/// interface's MAC and, when IP / IPv6 follows, an unset IP source with the route's and an
/// unset Ether destination with the next hop's MAC (resolved as [`super::fill_l3`] does
/// for send; unresolved: broadcast and a warning). Values set stay verbatim. `memo`
/// keeps one route and resolution per (destination, source) within a call.
fn fill_l2(pkt: &Packet, sock: &PacketSocket, memo: &mut HashMap<String, Option<Packet>>, warnings: &mut Vec<String>) -> Packet {
    let mut p = with_src(pkt, sock);
    // The route and the MAC depend on the IP destination and source alone.
    let key = match p.layers.as_slice() {
        [Layer::Ether(e), Layer::Ip(ip), ..] if e.dst.is_none() || ip.src.is_none() => format!("{} {:?}", ip.dst, ip.src),
        [Layer::Ether(e), Layer::Ipv6(ip), ..] if e.dst.is_none() || ip.src.is_none() => format!("{} {:?}", ip.dst, ip.src),
        _ => return p,
    };
    let ip_only = Packet::from(p.layers[1].clone());
    let filled = memo.entry(key).or_insert_with(|| match super::fill_l3(&ip_only, Some(&sock.iface().name), SENDP_RESOLVE) {
        Ok(f) => {
            warnings.extend(f.warnings);
            Some(f.frame)
        }
        Err(e) => {
            warnings.push(format!("{}: {e}; sent as given", p.summary()));
            None
        }
    });
    let Some(f) = filled else { return p };
    if let (Some(Layer::Ether(fe)), Some(Layer::Ether(e))) = (f.layers.first(), p.layers.first_mut()) {
        e.dst = e.dst.or(fe.dst);
    }
    match (f.layers.get(1), p.layers.get_mut(1)) {
        (Some(Layer::Ip(fip)), Some(Layer::Ip(ip))) => ip.src = ip.src.or(fip.src),
        (Some(Layer::Ipv6(fip)), Some(Layer::Ipv6(ip))) => ip.src = ip.src.or(fip.src),
        _ => {}
    }
    p
}

/// The frames [`sendp`] sends for `pkts` on `iface` (see [`fill_l2`]), and what did not go
/// as planned.
pub fn sendp_frames_of(iface: &str, pkts: &[Packet]) -> Result<(Vec<Vec<u8>>, Vec<String>)> {
    let sock = SocketCache::global().get(iface)?;
    Ok(build_all(pkts, &sock))
}

fn build_all(pkts: &[Packet], sock: &PacketSocket) -> (Vec<Vec<u8>>, Vec<String>) {
    let (mut memo, mut warnings) = (HashMap::new(), Vec::new());
    let frames = pkts.iter().map(|p| fill_l2(p, sock, &mut memo, &mut warnings).build()).collect();
    (frames, warnings)
}

fn send_socket(iface: &str, opts: &SendOpts) -> Result<Arc<PacketSocket>> {
    SocketCache::global().get_with(iface, SocketOptions { qdisc_bypass: opts.qdisc_bypass, ..SocketOptions::default() })
}

/// Send frames (Ethernet header included) on `iface`, `opts.count` times over.
pub fn sendp(iface: &str, pkts: &[Packet], opts: SendOpts) -> Result<SendReport> {
    let sock = send_socket(iface, &opts)?;
    let (frames, warnings) = build_all(pkts, &sock);
    let mut r = send_built(&sock, &frames, opts)?;
    r.warnings.splice(0..0, warnings);
    Ok(r)
}

/// [`sendp`] of frames already built, as they are: what craft explain sends, so that the
/// bytes it records are the bytes sent.
pub fn sendp_frames(iface: &str, frames: &[Vec<u8>], opts: SendOpts) -> Result<SendReport> {
    let sock = send_socket(iface, &opts)?;
    send_built(&sock, frames, opts)
}

/// The warning for frames sent on an interface without carrier (NO-CARRIER, not
/// RUNNING: a veth whose peer is down, a cable out): the kernel takes them and drops them
/// at its queue, so "sent" alone would say they left.
fn no_carrier_warning(sock: &PacketSocket, sent: usize) -> Option<String> {
    let iface = super::Iface::lookup(&sock.iface().name).ok()?;
    (sent > 0 && iface.up && !iface.carrier).then(|| {
        format!(
            "{} has no carrier (NO-CARRIER, not RUNNING; for a veth: its peer is down): the {sent} frame(s) sent went nowhere",
            iface.name
        )
    })
}

fn send_built(sock: &PacketSocket, frames: &[Vec<u8>], opts: SendOpts) -> Result<SendReport> {
    let mut report = SendReport::default();
    if frames.is_empty() || opts.count == 0 {
        return Ok(report);
    }
    if let Some(at) = opts.schedule.as_ref().filter(|at| at.len() != frames.len()) {
        let msg = format!("a schedule of {} times for {} frames", at.len(), frames.len());
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
    }
    let t0 = Instant::now();
    report.first_ns = realtime_ns();
    let cancel = opts.cancel.as_ref();
    let sent = |report: &mut SendReport, n: usize, bytes: usize| {
        report.sent += n;
        report.bytes += bytes;
        if let Some(p) = &opts.progress {
            p.fetch_add(n, Ordering::Relaxed);
        }
    };
    let total = frames.len() * opts.count;
    // When frame i of the whole run leaves, counted from t0, if it waits at all.
    let due = |i: usize| -> Option<Duration> {
        match (&opts.schedule, opts.inter) {
            (Some(at), _) => {
                let rounds = u32::try_from(i / frames.len()).unwrap_or(u32::MAX);
                Some(at[at.len() - 1].saturating_mul(rounds) + at[i % frames.len()])
            }
            // A fixed schedule: time spent sending does not slow the rate down.
            (None, Some(gap)) => Some(gap.mul_f64(i as f64)),
            (None, None) => None,
        }
    };
    if due(0).is_none() {
        // One list of references, repeated, sent in chunks sendmmsg takes at once.
        const CHUNK: usize = 1024;
        let per_chunk = CHUNK.max(frames.len());
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).cycle().take(per_chunk.min(total)).collect();
        while report.sent < total && !cancelled(cancel) {
            // Keep chunk boundaries aligned with the list so the order stays the same.
            let start = report.sent % frames.len();
            let n = (total - report.sent).min(refs.len() - start);
            let chunk = &refs[start..start + n];
            sock.send_batch(chunk)?;
            sent(&mut report, n, chunk.iter().map(|f| f.len()).sum());
        }
    } else {
        for (i, f) in frames.iter().cycle().take(total).enumerate() {
            if !sleep_until(t0 + due(i).unwrap_or_default(), cancel) {
                break;
            }
            sock.send(f)?;
            sent(&mut report, 1, f.len());
        }
    }
    report.last_ns = realtime_ns();
    report.elapsed = t0.elapsed();
    if let Some(w) = no_carrier_warning(sock, report.sent) {
        report.warnings.push(w);
    }
    Ok(report)
}

/// Send `pkts` on `iface` and collect their answers. See the module doc.
pub fn srp(iface: &str, pkts: &[Packet], opts: &SrOpts) -> Result<SrResult> {
    srp_observed(iface, pkts, opts, &mut NoObserver)
}

/// Send one request, wait `timeout` at most for its first answer: the reply and the
/// round-trip time (kernel receive timestamp minus send time).
pub fn srp1(iface: &str, pkt: Packet, timeout: Duration) -> Result<Option<(Packet, Duration)>> {
    let opts = SrOpts { timeout, ..SrOpts::default() };
    let r = srp(iface, std::slice::from_ref(&pkt), &opts)?;
    Ok(r.answered.into_iter().next().map(Answer::into_reply_rtt))
}

/// [`srp`] with an [`Observer`].
pub fn srp_observed(iface: &str, pkts: &[Packet], opts: &SrOpts, obs: &mut dyn Observer) -> Result<SrResult> {
    let prog = opts.filter.as_deref().map(filter::compile).transpose()?;
    let sock = SocketCache::global().get(iface)?;
    obs.on_iface(iface);
    // One turn per socket, so concurrent calls on one interface cannot take each other's replies.
    let _turn = sock.turn();
    match &prog {
        // attach_filter drains what was queued before.
        Some(p) => sock.attach_filter(p)?,
        None => {
            sock.drain()?;
        }
    }
    let r = exchange(&sock, pkts, opts, obs);
    if prog.is_some() {
        // Leave the shared socket as it was found: accepting everything.
        let restored = sock.attach_filter(&filter::accept_all());
        let r = r?;
        restored?;
        obs.on_done(&r);
        return Ok(r);
    }
    let r = r?;
    obs.on_done(&r);
    Ok(r)
}

fn exchange(sock: &PacketSocket, pkts: &[Packet], opts: &SrOpts, obs: &mut dyn Observer) -> Result<SrResult> {
    if let Some(at) = opts.schedule.as_ref().filter(|at| at.len() != pkts.len()) {
        let msg = format!("a schedule of {} times for {} requests", at.len(), pkts.len());
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
    }
    // Filled as sendp fills them (scapy's srp resolves the same way).
    let (mut memo, mut warnings) = (HashMap::new(), Vec::new());
    let requests: Vec<Packet> = pkts.iter().map(|p| fill_l2(p, sock, &mut memo, &mut warnings)).collect();
    let check = opts.check_ip_addr;
    let key = |k: MatchKey| if check { k } else { k.any_host() };
    let frames: Vec<Vec<u8>> = requests.iter().map(|p| p.build()).collect();
    let mut index: HashMap<MatchKey, SmallVec<[usize; 1]>> = HashMap::with_capacity(requests.len());
    for (i, p) in requests.iter().enumerate() {
        if let Some(k) = match_key(p) {
            index.entry(key(k)).or_default().push(i);
        }
    }
    let cancel = opts.cancel.as_ref();
    let mut received = 0usize;
    let mut sent_ns = vec![0u64; requests.len()];
    let mut n_answers = vec![0usize; requests.len()];
    let mut answered: Vec<Answer> = Vec::new();
    // Requests with a key still waiting for their first answer.
    let mut waiting = requests.iter().filter(|p| match_key(p).is_some()).count();
    let mut buf = Vec::new();
    let mut reply = Packet::new();
    let mut hits: SmallVec<[usize; 4]> = SmallVec::new();

    let mut receive_until = |deadline: Instant,
                             n_answers: &mut [usize],
                             sent_ns: &[u64],
                             answered: &mut Vec<Answer>,
                             waiting: &mut usize,
                             obs: &mut dyn Observer|
     -> Result<()> {
        while opts.multi || *waiting > 0 {
            let Some(meta) = sock.recv_or_cancel(&mut buf, deadline, cancel)? else { return Ok(()) };
            received += 1;
            reply.dissect_into(&buf, LayerKind::Ether, &opts.dissect);
            hits.clear();
            'keys: for k in reply_keys(&reply) {
                let Some(cands) = index.get(&key(k)) else { continue };
                for &i in cands {
                    // Not sent yet in this round (inter): cannot be answered yet.
                    if sent_ns[i] == 0 || (!opts.multi && n_answers[i] > 0) {
                        continue;
                    }
                    if answers_with(&reply, &requests[i], check) {
                        hits.push(i);
                        // One reply answers one request.
                        break 'keys;
                    }
                }
            }
            obs.on_recv(&buf, meta.ts_ns, &hits);
            for &i in &hits {
                if n_answers[i] == 0 {
                    *waiting -= 1;
                }
                n_answers[i] += 1;
                answered.push(Answer {
                    index: i,
                    request: requests[i].clone(),
                    reply: reply.clone(),
                    sent_ns: sent_ns[i],
                    recv_ns: meta.ts_ns,
                });
            }
        }
        Ok(())
    };

    for round in 0..=opts.retry {
        let todo: Vec<usize> = (0..requests.len()).filter(|&i| n_answers[i] == 0).collect();
        if todo.is_empty() || (round > 0 && waiting == 0) || cancelled(cancel) {
            break;
        }
        // When request i leaves in this round, counted from the round's start, if it waits.
        let due = |j: usize, i: usize| -> Option<Duration> {
            match (&opts.schedule, opts.inter) {
                (Some(at), _) => Some(at[i].saturating_sub(at[todo[0]])),
                (None, Some(gap)) => Some(gap.mul_f64(j as f64)),
                (None, None) => None,
            }
        };
        match due(0, todo[0]) {
            None => {
                let now = realtime_ns();
                for &i in &todo {
                    sent_ns[i] = now;
                    obs.on_send(i, round, &frames[i], now);
                }
                let refs: Vec<&[u8]> = todo.iter().map(|&i| frames[i].as_slice()).collect();
                sock.send_batch(&refs)?;
            }
            Some(_) => {
                let start = Instant::now();
                for (j, &i) in todo.iter().enumerate() {
                    if j > 0 {
                        let until = match &opts.schedule {
                            Some(_) => start + due(j, i).unwrap_or_default(),
                            None => Instant::now() + opts.inter.unwrap_or_default(),
                        };
                        receive_until(until, &mut n_answers, &sent_ns, &mut answered, &mut waiting, obs)?;
                        if !sleep_until(until, cancel) {
                            break;
                        }
                    }
                    let now = realtime_ns();
                    sent_ns[i] = now;
                    obs.on_send(i, round, &frames[i], now);
                    sock.send(&frames[i])?;
                }
            }
        }
        let deadline = Instant::now() + opts.timeout;
        receive_until(deadline, &mut n_answers, &sent_ns, &mut answered, &mut waiting, obs)?;
    }
    answered.sort_by_key(|a| (a.index, a.recv_ns));
    let unanswered = requests.iter().zip(&n_answers).filter(|(_, &n)| n == 0).map(|(p, _)| p.clone()).collect();
    Ok(SrResult { answered, unanswered, received, warnings })
}
