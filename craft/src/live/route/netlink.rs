//! A minimal rtnetlink client: one request, its replies, no unsafe code. Messages are built
//! and parsed as bytes (native endian, as the kernel writes them).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::live::{sys, Result};

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_GETNEIGH: u16 = 30;
pub const RTM_NEWNSID: u16 = 88;
pub const RTM_GETNSID: u16 = 90;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_DUMP: u16 = 0x300;

/// How long the kernel may take to answer; it answers in microseconds.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

static SEQ: AtomicU32 = AtomicU32::new(1);

/// One netlink message of a reply: its type and payload (after the 16-byte header).
pub struct Msg {
    pub ty: u16,
    pub payload: Vec<u8>,
}

/// Send `body` (the family header and attributes) as a request of type `ty` on a fresh
/// NETLINK_ROUTE socket of the calling thread's namespace; collect the reply messages
/// (every part of a dump). Netlink errors come back as `io::Error`s from their errno.
pub fn request(ty: u16, flags: u16, body: &[u8]) -> Result<Vec<Msg>> {
    let fd = sys::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)
        .map_err(|e| io::Error::new(e.kind(), format!("opening a netlink socket: {e}")))?;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&ty.to_ne_bytes());
    msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(body);
    // Unconnected netlink sockets send to the kernel (port 0).
    sys::send(&fd, &msg).map_err(|e| io::Error::new(e.kind(), format!("netlink send: {e}")))?;
    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
    let deadline = Instant::now() + REPLY_TIMEOUT;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = recv(&fd, &mut buf, deadline)?;
        let mut data = &buf[..n];
        while data.len() >= 16 {
            let len = u32::from_ne_bytes(data[0..4].try_into().unwrap()) as usize;
            if len < 16 || len > data.len() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "malformed netlink message"));
            }
            let mty = u16::from_ne_bytes([data[4], data[5]]);
            let mflags = u16::from_ne_bytes([data[6], data[7]]);
            let mseq = u32::from_ne_bytes(data[8..12].try_into().unwrap());
            let payload = &data[16..len];
            data = &data[align4(len).min(data.len())..];
            if mseq != seq {
                continue;
            }
            match mty {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let errno =
                        payload.get(..4).map(|b| i32::from_ne_bytes(b.try_into().unwrap())).unwrap_or(-libc::EIO);
                    if errno == 0 {
                        // An acknowledgement.
                        return Ok(out);
                    }
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                _ => {
                    out.push(Msg { ty: mty, payload: payload.to_vec() });
                    if !dump && mflags & NLM_F_MULTI == 0 {
                        return Ok(out);
                    }
                }
            }
        }
    }
}

fn recv(fd: &OwnedFd, buf: &mut [u8], deadline: Instant) -> Result<usize> {
    loop {
        match sys::recvmsg(fd, buf) {
            Ok(Some(r)) if r.len > buf.len() => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "netlink reply larger than the buffer"))
            }
            Ok(Some(r)) => return Ok(r.len),
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("netlink receive: {e}"))),
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink reply from the kernel"));
        }
        match sys::poll_readable(fd.as_raw_fd(), remaining) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

pub fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Append a route attribute (rtattr) to `out`.
pub fn push_attr(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    out.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(align4(out.len()), 0);
}

/// The attributes after a family header: (type without flag bits, data).
pub fn attrs(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            return None;
        }
        let value = &data[4..len];
        data = &data[align4(len).min(data.len())..];
        Some((ty, value))
    })
}
