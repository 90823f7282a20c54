//! Live I/O on Linux: interfaces and AF_PACKET sockets.
//!
//! * [`Iface`]: look an interface up by name (index, MAC, MTU, up and carrier state).
//! * [`PacketSocket`]: a raw AF_PACKET socket bound to one interface, sending frames one at a
//!   time or in batches (sendmmsg) and receiving them with nanosecond kernel timestamps and a
//!   monotonic deadline.
//! * [`SocketCache`]: one open socket per (network namespace, interface, options), reused,
//!   because opening and closing packet sockets is slow (tens of milliseconds).
//! * [`CancelFlag`]: stops a running send, sr or sniff early (e.g. on Ctrl-C); the call
//!   returns what it has so far.
//!
//! Interfaces are looked up with ioctls on a socket of the calling thread's network namespace
//! rather than through /sys/class/net, which shows the namespace sysfs was mounted in: a
//! thread that has entered another namespace with setns(2) sees its own interfaces.

mod route;
mod socket;
mod sys;
pub mod filter;
mod sniff;
mod sr;
mod l3;

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::field::Mac;

pub use route::{clear_mac_cache, fill_l3, group_mac, ifname, link_peer, neighbor_get, netns_id, resolve_mac, route_get, route_get_via, solicited_node, L3Frame, Route, RouteKind, MAC_CACHE_TTL};
pub use socket::{PacketSocket, PktType, RecvMeta, SocketCache, SocketOptions, Stats};
pub use sniff::{sniff, CallbackFn, Direction, SniffOpts, SniffResult, Sniffer, StopFn};
pub use l3::{send, send_with, sr, sr1, sr_observed, L3SendReport, L3SrResult, RoutedFrames};
pub use sr::{sendp, sendp_frames, sendp_frames_of, srp, srp1, srp_observed, Answer, NoObserver, Observer, SendOpts, SendReport, SrOpts, SrResult};

/// The error a live I/O call returns: an `io::Error` whose message says what went wrong.
pub type Result<T> = io::Result<T>;

/// How often a call given a [`CancelFlag`] looks at it while it waits.
pub const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// Stops a running live call early: set it from another thread, or from a signal handler
/// (setting it is one atomic store, async-signal-safe). A call given the flag (the `cancel`
/// field of its options) notices within [`CANCEL_CHECK`], sends nothing more and returns
/// what it has so far: frames sent, answers and unanswered requests, captured frames.
/// Clones share one flag. Nothing installs a signal handler: that is the caller's choice
/// ([`crate::signal::cancel_on_sigint`]).
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> CancelFlag {
        CancelFlag::default()
    }

    /// Ask the calls using this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Clears the flag, for the next call (a REPL's next statement).
    pub fn reset(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// The flag itself, for a signal handler to set ([`crate::signal::cancel_on_sigint`]).
    pub(crate) fn shared(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// Clones of one flag are equal; two flags made apart are not.
impl PartialEq for CancelFlag {
    fn eq(&self, other: &CancelFlag) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CancelFlag {}

/// Whether an optional flag is set.
pub(crate) fn cancelled(flag: Option<&CancelFlag>) -> bool {
    flag.is_some_and(CancelFlag::is_cancelled)
}

/// Sleep until `at`, waking every [`CANCEL_CHECK`] to look at `flag`: false if it was set.
pub(crate) fn sleep_until(at: Instant, flag: Option<&CancelFlag>) -> bool {
    loop {
        if cancelled(flag) {
            return false;
        }
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(if flag.is_some() { left.min(CANCEL_CHECK) } else { left });
    }
}

/// An interface of the calling thread's network namespace, as it was when looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    pub ifindex: i32,
    pub mac: Mac,
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Operationally up: link has carrier (IFF_RUNNING).
    pub carrier: bool,
    /// Raw IFF_* flags (low 16 bits).
    pub flags: u16,
}

impl Iface {
    /// Look `name` up: "no such interface 'x'" if it does not exist in this namespace.
    pub fn lookup(name: &str) -> Result<Iface> {
        let fd = sys::socket(libc::AF_INET, libc::SOCK_DGRAM, 0)
            .or_else(|_| sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0))?;
        let mut req = sys::IfReq::new(name)?;
        if_ioctl(&mut req, &fd, libc::SIOCGIFINDEX, name)?;
        let ifindex = req.ifindex();
        if_ioctl(&mut req, &fd, libc::SIOCGIFHWADDR, name)?;
        let mac = Mac(req.hwaddr());
        if_ioctl(&mut req, &fd, libc::SIOCGIFMTU, name)?;
        let mtu = req.mtu().max(0) as u32;
        if_ioctl(&mut req, &fd, libc::SIOCGIFFLAGS, name)?;
        let flags = req.flags();
        Ok(Iface {
            name: name.to_string(),
            ifindex,
            mac,
            mtu,
            up: flags & libc::IFF_UP as u16 != 0,
            carrier: flags & libc::IFF_RUNNING as u16 != 0,
            flags,
        })
    }

    /// Look `name` up and require it to be up: "interface 'x' is down" otherwise.
    pub fn lookup_up(name: &str) -> Result<Iface> {
        let i = Iface::lookup(name)?;
        i.ensure_up()?;
        Ok(i)
    }

    /// "interface 'x' is down" unless the interface is administratively up.
    pub fn ensure_up(&self) -> Result<()> {
        if self.up {
            Ok(())
        } else {
            Err(down(&self.name))
        }
    }
}

/// An SIOCGIF* ioctl for interface `name`, its errors worded for users: "no such interface
/// 'x'" (ENODEV), else "interface 'x': ...".
pub(crate) fn if_ioctl(req: &mut sys::IfReq, fd: &OwnedFd, op: libc::c_ulong, name: &str) -> Result<()> {
    req.ioctl(fd, op).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENODEV) {
            io::Error::new(io::ErrorKind::NotFound, format!("no such interface '{name}'"))
        } else {
            io::Error::new(e.kind(), format!("interface '{name}': {e}"))
        }
    })
}

/// "interface 'x' is down".
pub(crate) fn down(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, format!("interface '{name}' is down"))
}
