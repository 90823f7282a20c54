//! AF_PACKET sockets and their cache.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::sys::{self, realtime_ns, TpacketStats};
use super::{cancelled, down, if_ioctl, CancelFlag, Iface, Result, CANCEL_CHECK};

/// How a packet socket is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketOptions {
    /// PACKET_IGNORE_OUTGOING: do not see the frames this host sends (on by default).
    pub ignore_outgoing: bool,
    /// PACKET_QDISC_BYPASS: send straight to the driver, skipping the qdisc (off by default).
    pub qdisc_bypass: bool,
    /// Receive buffer in bytes (SO_RCVBUFFORCE as root, else SO_RCVBUF, capped by rmem_max).
    pub rcvbuf: usize,
    /// Largest frame `recv` stores; longer ones are truncated and report `orig_len`.
    pub snaplen: usize,
}

impl Default for SocketOptions {
    fn default() -> SocketOptions {
        SocketOptions { ignore_outgoing: true, qdisc_bypass: false, rcvbuf: 4 << 20, snaplen: 65535 }
    }
}

/// Direction / addressing of a received frame (sll_pkttype).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PktType {
    /// To this host.
    Host,
    Broadcast,
    Multicast,
    /// To another host (seen in promiscuous mode).
    OtherHost,
    /// Sent by this host.
    Outgoing,
    Other(u8),
}

impl From<u8> for PktType {
    fn from(v: u8) -> PktType {
        match v {
            0 => PktType::Host,
            1 => PktType::Broadcast,
            2 => PktType::Multicast,
            3 => PktType::OtherHost,
            4 => PktType::Outgoing,
            v => PktType::Other(v),
        }
    }
}

/// What `recv` learnt about a frame besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Kernel receive time, nanoseconds since the Unix epoch (CLOCK_REALTIME).
    pub ts_ns: u64,
    /// Bytes stored in the buffer.
    pub len: usize,
    /// The frame's real length when it was longer than the snap length.
    pub orig_len: Option<usize>,
    pub pkttype: PktType,
}

/// Counters from PACKET_STATISTICS, summed over the socket's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames that passed the filter (including dropped ones).
    pub packets: u64,
    /// Frames dropped because the receive buffer was full.
    pub drops: u64,
}

/// A raw AF_PACKET socket bound to one interface, receiving every protocol (ETH_P_ALL).
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    iface: Iface,
    opts: SocketOptions,
    packets: AtomicU64,
    drops: AtomicU64,
    /// Taken by a send-and-receive exchange for its whole run (see [`PacketSocket::turn`]).
    turn: Mutex<()>,
}

fn ctx(what: &str, iface: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} on '{iface}': {e}"))
}

impl PacketSocket {
    /// Open a packet socket on `name` (which must exist and be up) with default options.
    pub fn open(name: &str) -> Result<PacketSocket> {
        PacketSocket::open_with(name, SocketOptions::default())
    }

    /// Open a packet socket on `name` with these options.
    pub fn open_with(name: &str, opts: SocketOptions) -> Result<PacketSocket> {
        let iface = Iface::lookup_up(name)?;
        // Protocol 0 at first: no frames are queued until bind names the interface.
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(|e| {
            if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) {
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("opening a packet socket on '{name}': permission denied (needs root or CAP_NET_RAW)"),
                )
            } else {
                io::Error::new(e.kind(), format!("opening a packet socket: {e}"))
            }
        })?;
        let one: libc::c_int = 1;
        if opts.ignore_outgoing {
            sys::setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_IGNORE_OUTGOING, &one)
                .map_err(|e| ctx("PACKET_IGNORE_OUTGOING", name, e))?;
        }
        if opts.qdisc_bypass {
            sys::setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_QDISC_BYPASS, &one)
                .map_err(|e| ctx("PACKET_QDISC_BYPASS", name, e))?;
        }
        sys::setsockopt(&fd, libc::SOL_SOCKET, sys::SO_TIMESTAMPNS, &one).map_err(|e| ctx("SO_TIMESTAMPNS", name, e))?;
        if opts.rcvbuf > 0 {
            let size = opts.rcvbuf.min(i32::MAX as usize) as libc::c_int;
            if sys::setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size).is_err() {
                sys::setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &size).map_err(|e| ctx("SO_RCVBUF", name, e))?;
            }
        }
        sys::bind_packet(&fd, iface.ifindex, sys::ETH_P_ALL).map_err(|e| ctx("bind", name, e))?;
        let s = PacketSocket { fd, iface, opts, packets: AtomicU64::new(0), drops: AtomicU64::new(0), turn: Mutex::new(()) };
        Ok(s)
    }

    /// The interface this socket is bound to, as it was when opened.
    pub fn iface(&self) -> &Iface {
        &self.iface
    }

    pub fn options(&self) -> SocketOptions {
        self.opts
    }

    /// This socket's turn: held by a call that sends and then reads the replies, so two
    /// threads using one socket cannot take each other's replies.
    pub(crate) fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the interface this socket is bound to is still `self.iface().name`, with the
    /// same ifindex, and up. Two ioctls on the socket itself (it lives in the namespace it
    /// was opened in): no socket to open, no MAC or MTU to read. Ok(false): the name now
    /// names another interface. Errors as [`Iface::lookup_up`] words them.
    fn still_current(&self) -> Result<bool> {
        let name = self.iface.name.as_str();
        let mut req = sys::IfReq::new(name)?;
        if_ioctl(&mut req, &self.fd, libc::SIOCGIFINDEX, name)?;
        if req.ifindex() != self.iface.ifindex {
            return Ok(false);
        }
        if_ioctl(&mut req, &self.fd, libc::SIOCGIFFLAGS, name)?;
        if req.flags() & libc::IFF_UP as u16 == 0 {
            return Err(down(name));
        }
        Ok(true)
    }

    /// Send one frame (Ethernet header included).
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        self.send_batch(&[frame])
    }

    /// Whether the interface has carrier now (IFF_RUNNING); true when that cannot be read.
    fn has_carrier(&self) -> bool {
        super::Iface::lookup(&self.iface.name).map_or(true, |i| i.carrier)
    }

    /// Send many frames with as few sendmmsg calls as possible; Ok(()) once all were sent.
    ///
    /// ENOBUFS (the device's queue is full: a veth whose peer runs XDP, a noqueue device)
    /// is backpressure, not failure: the call waits (backing off from 20 µs to 41 ms) and
    /// goes on, and fails when the device takes nothing for a whole second or has lost its
    /// carrier.
    pub fn send_batch(&self, frames: &[&[u8]]) -> Result<()> {
        let mut rest = frames;
        let mut stalled_since: Option<Instant> = None;
        let mut retries = 0u32;
        while !rest.is_empty() {
            match sys::sendmmsg(&self.fd, rest) {
                Ok(n) => {
                    rest = &rest[n..];
                    stalled_since = None;
                    retries = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // Not backpressure: a link without carrier (a veth whose peer is down)
                    // drops every frame, and each retry would count one more drop. The
                    // carrier flag follows a peer going down only after a moment
                    // (linkwatch), so look again at each retry, and back off meanwhile.
                    let stalled = stalled_since.get_or_insert_with(Instant::now).elapsed();
                    if !self.has_carrier() || stalled >= Duration::from_secs(1) {
                        let sent = frames.len() - rest.len();
                        let why = if self.has_carrier() { e.to_string() } else { "no carrier (for a veth: its peer is down)".into() };
                        let msg = format!("interface '{}': {why}: {sent} of {} frames sent", self.iface.name, frames.len());
                        return Err(io::Error::new(io::ErrorKind::NotConnected, msg));
                    }
                    retries += 1;
                    std::thread::sleep(Duration::from_micros(20u64 << retries.min(11)));
                }
                Err(e) => {
                    let sent = frames.len() - rest.len();
                    return Err(ctx(&format!("sendmmsg (after {sent} of {} frames)", frames.len()), &self.iface.name, e));
                }
            }
        }
        Ok(())
    }

    /// Receive one frame into `buf` (replacing its contents), waiting until `deadline` at
    /// most. Ok(None): the deadline passed with nothing received.
    pub fn recv(&self, buf: &mut Vec<u8>, deadline: Instant) -> Result<Option<RecvMeta>> {
        let snap = self.opts.snaplen.max(1);
        loop {
            // Straight into spare capacity: no zero-filling of snaplen bytes on every call.
            match sys::recvmsg_vec(&self.fd, buf, snap) {
                Ok(Some(r)) => {
                    let stored = r.len.min(snap);
                    let ts_ns = r.ts_ns.unwrap_or_else(realtime_ns);
                    let orig_len = (r.len > stored).then_some(r.len);
                    return Ok(Some(RecvMeta { ts_ns, len: stored, orig_len, pkttype: r.pkttype.into() }));
                }
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.clear();
                    return Err(ctx("recvmsg", &self.iface.name, e));
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                buf.clear();
                return Ok(None);
            }
            match sys::poll_readable(self.fd.as_raw_fd(), remaining) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.clear();
                    return Err(ctx("poll", &self.iface.name, e));
                }
            }
        }
    }

    /// [`PacketSocket::recv`] that also gives up, with Ok(None), once `cancel` is set: it
    /// looks at the flag at least every [`CANCEL_CHECK`] while it waits.
    pub fn recv_or_cancel(&self, buf: &mut Vec<u8>, deadline: Instant, cancel: Option<&CancelFlag>) -> Result<Option<RecvMeta>> {
        if cancel.is_none() {
            return self.recv(buf, deadline);
        }
        loop {
            if cancelled(cancel) {
                buf.clear();
                return Ok(None);
            }
            let step = (Instant::now() + CANCEL_CHECK).min(deadline);
            if let Some(m) = self.recv(buf, step)? {
                return Ok(Some(m));
            }
            if step >= deadline {
                return Ok(None);
            }
        }
    }

    /// Receive until nothing is queued, returning how many frames were thrown away.
    pub fn drain(&self) -> Result<usize> {
        let mut buf = vec![0u8; 64];
        let mut n = 0;
        loop {
            match sys::recvmsg(&self.fd, &mut buf) {
                Ok(Some(_)) => n += 1,
                Ok(None) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ctx("recvmsg", &self.iface.name, e)),
            }
        }
    }

    /// Attach a classic BPF program (SO_ATTACH_FILTER). Frames queued before it that the
    /// program might have rejected are discarded: a reject-all program goes first, the queue
    /// is drained, then `prog` replaces it.
    pub fn attach_filter(&self, prog: &[libc::sock_filter]) -> Result<()> {
        if prog.is_empty() || prog.len() > u16::MAX as usize {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a BPF program has 1 to 65535 instructions"));
        }
        let reject = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }];
        self.set_filter(&reject)?;
        self.drain()?;
        self.set_filter(prog)
    }

    fn set_filter(&self, prog: &[libc::sock_filter]) -> Result<()> {
        let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut libc::sock_filter };
        sys::setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
            .map_err(|e| ctx("SO_ATTACH_FILTER", &self.iface.name, e))
    }

    /// PACKET_STATISTICS summed since the socket was opened.
    pub fn stats(&self) -> Result<Stats> {
        // The kernel resets its counters on every read: add them up here.
        let s: TpacketStats = sys::getsockopt(&self.fd, libc::SOL_PACKET, sys::PACKET_STATISTICS)
            .map_err(|e| ctx("PACKET_STATISTICS", &self.iface.name, e))?;
        let packets = self.packets.fetch_add(s.tp_packets as u64, Ordering::Relaxed) + s.tp_packets as u64;
        let drops = self.drops.fetch_add(s.tp_drops as u64, Ordering::Relaxed) + s.tp_drops as u64;
        Ok(Stats { packets, drops })
    }

    /// Frames dropped for lack of buffer space since the socket was opened (tp_drops).
    pub fn drop_count(&self) -> Result<u64> {
        Ok(self.stats()?.drops)
    }
}

type Key = (u64, String, SocketOptions);

/// Open packet sockets kept for reuse: one per (network namespace of the calling thread,
/// interface name, options). A cached socket is reopened when its interface was replaced
/// (new ifindex) in the meantime.
#[derive(Default)]
pub struct SocketCache {
    map: Mutex<HashMap<Key, Arc<PacketSocket>>>,
}

impl SocketCache {
    pub fn new() -> SocketCache {
        SocketCache::default()
    }

    /// The process-wide cache.
    pub fn global() -> &'static SocketCache {
        static GLOBAL: OnceLock<SocketCache> = OnceLock::new();
        GLOBAL.get_or_init(SocketCache::new)
    }

    /// The socket for `name` with default options, opened on first use.
    pub fn get(&self, name: &str) -> Result<Arc<PacketSocket>> {
        self.get_with(name, SocketOptions::default())
    }

    /// The socket for `name` with these options, opened on first use.
    pub fn get_with(&self, name: &str, opts: SocketOptions) -> Result<Arc<PacketSocket>> {
        let key = (sys::netns_id(), name.to_string(), opts);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(&key) {
            // Cached: only check that the name still names that interface and that it is up.
            if s.still_current()? {
                return Ok(Arc::clone(s));
            }
        }
        let s = Arc::new(PacketSocket::open_with(name, opts)?);
        map.insert(key, Arc::clone(&s));
        Ok(s)
    }

    /// Close the cached sockets (those still in use elsewhere close when dropped there).
    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// How many sockets are cached.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
