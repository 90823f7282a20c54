//! Thin safe wrappers over the few libc calls that live I/O needs, each `unsafe` block with
//! its reason. The rest of `craft::live` calls these and has no `unsafe` of its own, but for
//! the filter compiler (`filter.rs`), whose calls into libpcap (loaded with dlopen, through
//! function pointers) stay beside the types they use.

use std::io;
use std::mem::{size_of, zeroed, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

// Kernel ABI values (include/uapi/linux/if_packet.h, asm-generic/socket.h); stable on the
// 64-bit architectures craft supports.
pub const PACKET_STATISTICS: libc::c_int = 6;
pub const PACKET_QDISC_BYPASS: libc::c_int = 20;
pub const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
pub const SO_TIMESTAMPNS: libc::c_int = 35;
pub const ETH_P_ALL: u16 = 0x0003;

/// `struct tpacket_stats`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct TpacketStats {
    pub tp_packets: u32,
    pub tp_drops: u32,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// `socket(2)` with SOCK_CLOEXEC, owned.
pub fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: fd was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(2)` with a plain-old-data value.
pub fn setsockopt<T: Copy>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: val points to size_of::<T>() readable bytes for the duration of the call.
    cvt(unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, val as *const T as *const libc::c_void, size_of::<T>() as libc::socklen_t)
    })?;
    Ok(())
}

/// `getsockopt(2)` into a plain-old-data value (T must be valid for any bit pattern).
pub fn getsockopt<T: Copy + Default>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    let mut val = T::default();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: val is a writable T of `len` bytes; the kernel writes at most len bytes.
    cvt(unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, &mut val as *mut T as *mut libc::c_void, &mut len) })?;
    Ok(val)
}

/// `bind(2)` a packet socket to an interface and protocol.
pub fn bind_packet(fd: &OwnedFd, ifindex: i32, proto: u16) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain old data, all-zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto.to_be();
    sll.sll_ifindex = ifindex;
    // SAFETY: sll is a valid sockaddr_ll and the length matches it.
    cvt(unsafe {
        libc::bind(fd.as_raw_fd(), &sll as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_ll>() as libc::socklen_t)
    })?;
    Ok(())
}

/// A `struct ifreq` filled by an interface ioctl.
pub struct IfReq(libc::ifreq);

impl IfReq {
    pub fn new(name: &str) -> io::Result<IfReq> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0 || b == b'/') {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name '{name}'")));
        }
        // SAFETY: ifreq is plain old data, all-zero is valid.
        let mut r: libc::ifreq = unsafe { zeroed() };
        for (d, s) in r.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        Ok(IfReq(r))
    }

    /// Run an SIOCGIF* ioctl on `fd`.
    pub fn ioctl(&mut self, fd: &OwnedFd, req: libc::c_ulong) -> io::Result<()> {
        // SAFETY: the SIOCGIF* requests read and write a struct ifreq, which self.0 is.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), req as _, &mut self.0 as *mut libc::ifreq) })?;
        Ok(())
    }

    pub fn ifindex(&self) -> i32 {
        // SAFETY: union read after SIOCGIFINDEX, which fills ifru_ifindex; any i32 is valid.
        unsafe { self.0.ifr_ifru.ifru_ifindex }
    }

    pub fn mtu(&self) -> i32 {
        // SAFETY: union read after SIOCGIFMTU, which fills ifru_mtu; any i32 is valid.
        unsafe { self.0.ifr_ifru.ifru_mtu }
    }

    pub fn flags(&self) -> u16 {
        // SAFETY: union read after SIOCGIFFLAGS, which fills ifru_flags; any i16 is valid.
        unsafe { self.0.ifr_ifru.ifru_flags as u16 }
    }

    pub fn hwaddr(&self) -> [u8; 6] {
        // SAFETY: union read after SIOCGIFHWADDR, which fills ifru_hwaddr; plain bytes.
        let sa = unsafe { self.0.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
            *d = *s as u8;
        }
        mac
    }
}

/// Wait until `fd` is readable or `timeout` passes (nanosecond precision). Ok(false): timed
/// out; EINTR comes back as an error of kind Interrupted for the caller to retry.
pub fn poll_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as _ };
    // SAFETY: one valid pollfd, a valid timespec, no signal mask.
    let n = cvt(unsafe { libc::ppoll(&mut p, 1, &ts, std::ptr::null()) })?;
    Ok(n > 0)
}

/// `send(2)` of one buffer.
pub fn send(fd: &OwnedFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: data is a readable buffer of data.len() bytes.
    cvt_size(unsafe { libc::send(fd.as_raw_fd(), data.as_ptr() as *const libc::c_void, data.len(), 0) })
}

/// `sendmmsg(2)` of up to 1024 buffers, one datagram each; returns how many were sent.
pub fn sendmmsg(fd: &OwnedFd, frames: &[&[u8]]) -> io::Result<usize> {
    let frames = &frames[..frames.len().min(1024)];
    let mut iov: Vec<libc::iovec> =
        frames.iter().map(|f| libc::iovec { iov_base: f.as_ptr() as *mut libc::c_void, iov_len: f.len() }).collect();
    let mut msgs: Vec<libc::mmsghdr> = iov
        .iter_mut()
        .map(|v| {
            // SAFETY: mmsghdr is plain old data, all-zero is valid.
            let mut m: libc::mmsghdr = unsafe { zeroed() };
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    // SAFETY: msgs holds msgs.len() headers whose iovecs point into `frames`, alive for the call.
    let n = cvt(unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as _, 0) })?;
    Ok(n as usize)
}

/// What one `recvmsg` on a packet socket returned.
pub struct Received {
    /// Bytes the frame really had (MSG_TRUNC), maybe more than were stored.
    pub len: usize,
    pub pkttype: u8,
    pub ts_ns: Option<u64>,
}

/// Non-blocking `recvmsg(2)` with MSG_TRUNC, the sender address and an SCM_TIMESTAMPNS
/// control message. Ok(None): nothing queued.
pub fn recvmsg(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<Received>> {
    // SAFETY: buf is initialized memory, a valid (stronger) MaybeUninit<u8> slice; recvmsg
    // only writes plain bytes into it.
    let uninit = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut MaybeUninit<u8>, buf.len()) };
    recvmsg_uninit(fd, uninit)
}

/// [`recvmsg`] into `buf`, replacing its contents with at most `cap` bytes of the frame.
/// The frame goes straight into the Vec's spare capacity, so no call zero-fills `cap` bytes
/// first; on Ok(None) or an error `buf` is left empty.
pub fn recvmsg_vec(fd: &OwnedFd, buf: &mut Vec<u8>, cap: usize) -> io::Result<Option<Received>> {
    buf.clear();
    buf.reserve(cap);
    let r = recvmsg_uninit(fd, &mut buf.spare_capacity_mut()[..cap])?;
    if let Some(r) = &r {
        // SAFETY: the kernel wrote min(frame length, cap) bytes at the start of the spare
        // capacity, which holds at least cap bytes.
        unsafe { buf.set_len(r.len.min(cap)) };
    }
    Ok(r)
}

/// [`recvmsg`] into memory that need not be initialized (a Vec's spare capacity): the
/// kernel writes the first `min(len, buf.len())` bytes, which are initialized afterwards.
/// Spares zero-filling a 64 KiB receive buffer on every call.
pub fn recvmsg_uninit(fd: &OwnedFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<Option<Received>> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: sockaddr_ll is plain old data, all-zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    let mut cbuf = [0u64; 16]; // 128 bytes, 8-aligned, room for a timespec cmsg.
    // SAFETY: msghdr is plain old data, all-zero is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = &mut sll as *mut _ as *mut libc::c_void;
    msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    // SAFETY: msg points to a valid iovec into buf, a sockaddr_ll and a control buffer, all live.
    let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC) };
    let len = match cvt_size(r) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut ts_ns = None;
    // SAFETY: msg was filled by recvmsg; CMSG_* walk only the control buffer it reports.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !c.is_null() {
        // SAFETY: c is a non-null cmsghdr inside cbuf, as returned by CMSG_FIRSTHDR/NXTHDR.
        let h = unsafe { &*c };
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == SO_TIMESTAMPNS {
            // SAFETY: an SCM_TIMESTAMPNS cmsg carries a struct timespec, maybe unaligned.
            let t: libc::timespec = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec) };
            ts_ns = Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64);
        }
        // SAFETY: msg and c are valid as above.
        c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
    }
    Ok(Some(Received { len, pkttype: sll.sll_pkttype, ts_ns }))
}

/// CLOCK_REALTIME in nanoseconds, the clock the kernel stamps received frames with.
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// Identity of the calling thread's network namespace (inode of /proc/thread-self/ns/net).
pub fn netns_id() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()).unwrap_or(0)
}
