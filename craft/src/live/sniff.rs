//! Capturing frames: scapy's `sniff`, with kernel filters, nanosecond timestamps, a bounded
//! run time and the kernel's drop count.
//!
//! A [`Sniffer`] opens its own socket (not the shared cached one, so a capture running in
//! one thread never takes the replies an `srp` in another thread waits for), attaches the
//! filter, and is capturing from then on: create it, then start the traffic, then
//! [`Sniffer::run`] — no frame sent after `Sniffer::new` returned is missed (unlike scapy's
//! AsyncSniffer, whose start races with the traffic). [`sniff`] does both at once.

use std::io;
use std::time::{Duration, Instant};

use super::{filter, PacketSocket, PktType, Result, SocketOptions};
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

/// What [`sniff`] captures and when it stops. With neither `count`, `timeout` nor `stop` it
/// runs until an error: always give one of them.
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
        Ok(Sniffer { sock, opts })
    }

    /// The socket capturing (e.g. for its interface).
    pub fn socket(&self) -> &PacketSocket {
        &self.sock
    }

    /// Capture until `count`, `timeout` or `stop` says so.
    pub fn run(mut self) -> Result<SniffResult> {
        let start = Instant::now();
        // No timeout: wake up once in a while anyway (the loop just goes on).
        let far = Duration::from_secs(3600);
        let deadline = start + self.opts.timeout.unwrap_or(far);
        let mut res = SniffResult::default();
        let mut buf = Vec::new();
        loop {
            if self.opts.count.is_some_and(|c| res.seen >= c) {
                break;
            }
            let Some(meta) = self.sock.recv(&mut buf, deadline)? else {
                if self.opts.timeout.is_some() {
                    break;
                }
                continue;
            };
            let keep = match self.opts.direction {
                Direction::In => meta.pkttype != PktType::Outgoing,
                Direction::Out => meta.pkttype == PktType::Outgoing,
                Direction::Both => true,
            };
            if !keep {
                continue;
            }
            let pkt = Packet::dissect(&buf, LayerKind::Ether);
            res.seen += 1;
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
        res.kernel_drops = self.sock.stats()?.drops;
        Ok(res)
    }
}

/// Capture on `iface`: [`Sniffer::new`] then [`Sniffer::run`].
pub fn sniff(iface: &str, opts: SniffOpts) -> Result<SniffResult> {
    if opts.count.is_none() && opts.timeout.is_none() && opts.stop.is_none() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "sniff needs a count, a timeout or a stop function"));
    }
    Sniffer::new(iface, opts)?.run()
}
