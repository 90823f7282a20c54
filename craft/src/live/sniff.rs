//! Capturing frames: scapy's `sniff`, with kernel filters, nanosecond timestamps, a bounded
//! run time and the kernel's drop count.
//!
//! A [`Sniffer`] opens its own socket (not the shared cached one, so a capture running in
//! one thread never takes the replies an `srp` in another thread waits for), attaches the
//! filter, and is capturing from then on: create it, then start the traffic, then
//! [`Sniffer::run`] — no frame sent after `Sniffer::new` returned is missed (unlike scapy's
//! AsyncSniffer, whose start races with the traffic). [`sniff`] does both at once.
//! [`Sniffer::next_frame`] hands the raw frames out one by one instead (e.g. to write them
//! to a capture file as they come).

use std::io;
use std::time::{Duration, Instant};

use super::{cancelled, filter, CancelFlag, PacketSocket, PktType, RecvMeta, Result, SocketOptions};
use crate::layer::DissectCx;
use crate::packet::{LayerKind, Packet};

/// Which frames of the interface to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Received by this host.
    #[default]
    In,
    /// Sent by this host.
    Out,
    Both,
}

/// Stop test: called on every captured frame; `true` ends the capture after this frame.
pub type StopFn = Box<dyn FnMut(&Packet) -> bool + Send>;
/// Called on every captured frame with its kernel timestamp (CLOCK_REALTIME ns).
pub type CallbackFn = Box<dyn FnMut(u64, &Packet) + Send>;

/// What [`sniff`] captures and when it stops. With neither `count`, `timeout`, `stop` nor
/// `cancel` it runs until an error: always give one of them.
pub struct SniffOpts {
    /// Stop after this many frames (that passed the filter and the direction).
    pub count: Option<usize>,
    /// Stop this long after the capture started (monotonic).
    pub timeout: Option<Duration>,
    /// tcpdump filter, compiled to BPF and applied in the kernel.
    pub filter: Option<String>,
    pub direction: Direction,
    pub stop: Option<StopFn>,
    pub callback: Option<CallbackFn>,
    /// Keep the frames in [`SniffResult::packets`] (on by default; off for callback-only).
    pub store: bool,
    /// Receive buffer in bytes.
    pub rcvbuf: usize,
    /// Stop when set (looked at every 50 ms at least); what was captured is returned.
    pub cancel: Option<CancelFlag>,
    /// How frames are dissected for `stop`, `callback` and [`SniffResult::packets`] (which
    /// UDP ports carry GUE, as `SrOpts::dissect`); carried as given.
    pub dissect: DissectCx,
}

impl Default for SniffOpts {
    fn default() -> SniffOpts {
        SniffOpts {
            count: None,
            timeout: None,
            filter: None,
            direction: Direction::In,
            stop: None,
            callback: None,
            store: true,
            rcvbuf: SocketOptions::default().rcvbuf,
            cancel: None,
            dissect: DissectCx::default(),
        }
    }
}

impl std::fmt::Debug for SniffOpts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniffOpts")
            .field("count", &self.count)
            .field("timeout", &self.timeout)
            .field("filter", &self.filter)
            .field("direction", &self.direction)
            .field("stop", &self.stop.is_some())
            .field("callback", &self.callback.is_some())
            .field("store", &self.store)
            .field("rcvbuf", &self.rcvbuf)
            .field("cancel", &self.cancel)
            .field("dissect", &self.dissect)
            .finish()
    }
}

/// What a capture got.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SniffResult {
    /// Kernel timestamp (CLOCK_REALTIME ns) and frame, dissected from Ethernet on.
    pub packets: Vec<(u64, Packet)>,
    /// Frames seen (after the filter and the direction), stored or not.
    pub seen: usize,
    /// Frames the kernel dropped because the receive buffer was full (PACKET_STATISTICS).
    pub kernel_drops: u64,
}

/// A capture that has started: frames are queued in the kernel from `new` on.
pub struct Sniffer {
    sock: PacketSocket,
    opts: SniffOpts,
    /// When the capture ends (`timeout` after the first `next_frame`); set then.
    deadline: Option<Instant>,
    /// Frames handed out so far.
    seen: usize,
}

impl Sniffer {
    /// Open a socket on `iface`, attach the filter: capturing starts here.
    pub fn new(iface: &str, opts: SniffOpts) -> Result<Sniffer> {
        let prog = opts.filter.as_deref().map(filter::compile).transpose()?;
        let sopts = SocketOptions {
            ignore_outgoing: opts.direction == Direction::In,
            rcvbuf: opts.rcvbuf,
            ..SocketOptions::default()
        };
        let sock = PacketSocket::open_with(iface, sopts)?;
        if let Some(p) = prog {
            sock.attach_filter(&p)?;
        }
        Ok(Sniffer { sock, opts, deadline: None, seen: 0 })
    }

    /// The socket capturing (e.g. for its interface).
    pub fn socket(&self) -> &PacketSocket {
        &self.sock
    }

    /// The next frame captured (of the direction asked for) into `buf`, with what the kernel
    /// said about it; Ok(None) once `count` frames were handed out, `timeout` passed since
    /// the first call, or `cancel` was set. Does not apply `stop`, `callback` or `store`.
    pub fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<Option<RecvMeta>> {
        // No timeout: wake up once in a while anyway (the loop just goes on).
        let far = Duration::from_secs(3600);
        let deadline = *self.deadline.get_or_insert_with(|| Instant::now() + self.opts.timeout.unwrap_or(far));
        let cancel = self.opts.cancel.as_ref();
        loop {
            if self.opts.count.is_some_and(|c| self.seen >= c) || cancelled(cancel) {
                return Ok(None);
            }
            let Some(meta) = self.sock.recv_or_cancel(buf, deadline, cancel)? else {
                if self.opts.timeout.is_some() {
                    return Ok(None);
                }
                continue;
            };
            let keep = match self.opts.direction {
                Direction::In => meta.pkttype != PktType::Outgoing,
                Direction::Out => meta.pkttype == PktType::Outgoing,
                Direction::Both => true,
            };
            if keep {
                self.seen += 1;
                return Ok(Some(meta));
            }
        }
    }

    /// Capture until `count`, `timeout`, `stop` or `cancel` says so.
    pub fn run(mut self) -> Result<SniffResult> {
        let mut res = SniffResult::default();
        let mut buf = Vec::new();
        while let Some(meta) = self.next_frame(&mut buf)? {
            let pkt = Packet::dissect_with(&buf, LayerKind::Ether, &self.opts.dissect);
            if let Some(cb) = self.opts.callback.as_mut() {
                cb(meta.ts_ns, &pkt);
            }
            let stop = self.opts.stop.as_mut().is_some_and(|s| s(&pkt));
            if self.opts.store {
                res.packets.push((meta.ts_ns, pkt));
            }
            if stop {
                break;
            }
        }
        res.seen = self.seen;
        res.kernel_drops = self.sock.stats()?.drops;
        Ok(res)
    }
}

/// Capture on `iface`: [`Sniffer::new`] then [`Sniffer::run`].
pub fn sniff(iface: &str, opts: SniffOpts) -> Result<SniffResult> {
    if opts.count.is_none() && opts.timeout.is_none() && opts.stop.is_none() && opts.cancel.is_none() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "sniff needs a count, a timeout, a stop function or a cancel flag"));
    }
    Sniffer::new(iface, opts)?.run()
}
