//! The bpf(2) calls the drop watcher makes (map create, program load, raw tracepoint attach),
//! the BPF ring buffer's memory mapping and an epoll instance, each `unsafe` block with its
//! reason. The other system calls of `craft::explain` (setns in netns.rs and counters.rs,
//! the interface ioctls in counters/ioctl.rs) stay beside the types they serve.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::asm::Insn;

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;

pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;
pub const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;

/// `union bpf_attr`, as zeroed 8-byte words: each command fills the first few; the kernel
/// wants everything after a command's last field zero.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Attr {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Attr {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn bytes(&mut self, off: usize, v: &[u8]) -> &mut Attr {
        self.0[off..off + v.len()].copy_from_slice(v);
        self
    }
}

/// bpf(cmd, attr): the syscall's non-negative result.
fn bpf(cmd: libc::c_long, attr: &mut Attr) -> io::Result<libc::c_long> {
    // SAFETY: attr is a valid, initialised bpf_attr-sized buffer that outlives the call;
    // pointers stored inside it (names, instructions, log, key, value) point to live
    // buffers owned by the caller for the duration of the call, large enough for what
    // the command reads or writes.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.0.as_mut_ptr(), attr.0.len() as libc::c_uint) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// bpf(cmd, attr): a new file descriptor.
fn bpf_fd(cmd: libc::c_long, attr: &mut Attr) -> io::Result<OwnedFd> {
    let r = bpf(cmd, attr)?;
    // SAFETY: these bpf commands return a new file descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as libc::c_int) })
}

/// A ring buffer map of `size` bytes (a power of two, a multiple of the page size).
pub fn ringbuf_create(size: u32, name: &str) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, BPF_MAP_TYPE_RINGBUF).u32(12, size);
    let name = &name.as_bytes()[..name.len().min(15)];
    a.bytes(28, name); // map_name: after map_type, key_size, value_size, max_entries, map_flags, inner_map_fd, numa_node
    bpf_fd(BPF_MAP_CREATE, &mut a)
}

/// An array map of one u64 (a counter).
pub fn counter_create(name: &str) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, BPF_MAP_TYPE_ARRAY).u32(4, 4).u32(8, 8).u32(12, 1);
    a.bytes(28, &name.as_bytes()[..name.len().min(15)]);
    bpf_fd(BPF_MAP_CREATE, &mut a)
}

/// The value of a counter made by [`counter_create`].
pub fn counter_read(map: &OwnedFd) -> io::Result<u64> {
    let key = 0u32;
    let mut value = 0u64;
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32).u64(8, &key as *const u32 as u64).u64(16, &mut value as *mut u64 as u64);
    bpf(BPF_MAP_LOOKUP_ELEM, &mut a)?;
    Ok(value)
}

/// Load a program; with `log` the verifier writes its log there (NUL-terminated).
pub fn prog_load(prog_type: u32, insns: &[Insn], name: &str, log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    load_program(prog_type, None, insns, name, log)
}

/// BPF_PROG_LOAD, license "GPL" (what tracing programs need), attached to `to` if given.
fn load_program(prog_type: u32, to: Option<&AttachTo>, insns: &[Insn], name: &str, log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    let code: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
    let license = b"GPL\0";
    let mut a = Attr::new();
    a.u32(0, prog_type)
        .u32(4, insns.len() as u32)
        .u64(8, code.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64);
    if let Some(log) = log {
        a.u32(24, 1).u32(28, log.len() as u32).u64(32, log.as_mut_ptr() as u64);
    }
    a.bytes(48, &name.as_bytes()[..name.len().min(15)]);
    if let Some(to) = to {
        // expected_attach_type, attach_btf_id, attach_prog_fd.
        a.u32(68, to.attach_type).u32(108, to.btf_id).u32(112, to.prog.as_raw_fd() as u32);
    }
    bpf_fd(BPF_PROG_LOAD, &mut a)
}

/// Attach a raw tracepoint program to tracepoint `tp`; closing the returned descriptor
/// detaches it.
pub fn raw_tracepoint_open(tp: &str, prog: &OwnedFd) -> io::Result<OwnedFd> {
    let name = std::ffi::CString::new(tp).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut a = Attr::new();
    a.u64(0, name.as_ptr() as u64).u32(8, prog.as_raw_fd() as u32);
    bpf_fd(BPF_RAW_TRACEPOINT_OPEN, &mut a)
}

/// Try to lift RLIMIT_MEMLOCK (kernels before 5.11 charge BPF memory to it). Failure is
/// not an error: newer kernels charge the memory cgroup instead.
pub fn raise_memlock() {
    let lim = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: setrlimit reads one valid rlimit struct.
    let _ = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) };
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// A mapping of memory, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(fd: &OwnedFd, len: usize, prot: libc::c_int, offset: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh shared mapping of a ring buffer map fd; the kernel checks the
        // length, protection and offset against the map.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), offset as libc::off_t) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: ptr as *mut u8, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned; nothing refers to it any more
        // (the borrowing RingBuf methods take &mut self / are done).
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

// SAFETY: the mapping is plain shared memory; all access goes through &mut RingBuf.
unsafe impl Send for Mapping {}

/// The consumer side of a BPF ring buffer map: the consumer position page (read-write)
/// and the producer page followed by the data pages mapped twice in a row (read-only), so
/// a record that wraps around reads as one piece.
pub struct RingBuf {
    consumer: Mapping,
    producer: Mapping,
    page: usize,
    mask: u64,
}

const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HDR_SZ: u64 = 8;

impl RingBuf {
    pub fn new(map: &OwnedFd, size: usize) -> io::Result<RingBuf> {
        let page = page_size();
        let consumer = Mapping::new(map, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = Mapping::new(map, page + 2 * size, libc::PROT_READ, page)?;
        Ok(RingBuf { consumer, producer, page, mask: size as u64 - 1 })
    }

    fn consumer_pos(&self) -> &AtomicU64 {
        // SAFETY: the first word of the consumer page is the 8-byte-aligned consumer
        // position, shared with the kernel, which lives as long as the mapping (self).
        unsafe { &*(self.consumer.ptr as *const AtomicU64) }
    }

    fn producer_pos(&self) -> &AtomicU64 {
        // SAFETY: likewise, the first word of the producer page.
        unsafe { &*(self.producer.ptr as *const AtomicU64) }
    }

    /// Hand every committed record to `f`, then release their space to the kernel.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        let mut cons = self.consumer_pos().load(Ordering::Acquire);
        loop {
            let prod = self.producer_pos().load(Ordering::Acquire);
            if cons >= prod {
                break;
            }
            let at = self.page + (cons & self.mask) as usize;
            // SAFETY: `at` is inside the data area (page + offset < page + size); the header
            // word is 8-byte aligned and written by the kernel with release semantics.
            let hdr = unsafe { &*(self.producer.ptr.add(at) as *const AtomicU32) }.load(Ordering::Acquire);
            if hdr & BUSY_BIT != 0 {
                break; // reserved, not yet committed
            }
            let len = (hdr & !(BUSY_BIT | DISCARD_BIT)) as usize;
            if len as u64 + HDR_SZ > self.mask + 1 {
                break; // cannot be: the kernel never writes a record larger than the ring
            }
            if hdr & DISCARD_BIT == 0 {
                // SAFETY: a committed record of len bytes follows its header; the double
                // mapping makes it contiguous even when it wraps around the end.
                let rec = unsafe { std::slice::from_raw_parts(self.producer.ptr.add(at + HDR_SZ as usize), len) };
                f(rec);
                n += 1;
            }
            cons += (len as u64 + HDR_SZ + 7) & !7;
            self.consumer_pos().store(cons, Ordering::Release);
        }
        n
    }
}

/// An epoll instance watching one file descriptor for input.
pub struct Epoll(OwnedFd);

impl Epoll {
    pub fn new(watch: &OwnedFd) -> io::Result<Epoll> {
        // SAFETY: plain syscall with an integer argument.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by epoll_create1 and is owned by nobody else.
        let ep = Epoll(unsafe { OwnedFd::from_raw_fd(fd) });
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 0 };
        // SAFETY: both descriptors are open; ev is a valid epoll_event.
        let r = unsafe { libc::epoll_ctl(ep.0.as_raw_fd(), libc::EPOLL_CTL_ADD, watch.as_raw_fd(), &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ep)
    }

    /// Wait until the watched descriptor is readable or `timeout` passes; true if readable.
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: ev has room for the one event asked for.
        let r = unsafe { libc::epoll_wait(self.0.as_raw_fd(), &mut ev, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
        }
        Ok(r > 0)
    }
}

// Program enumeration and tracing programs attached to BPF programs (XdpWatch).

const BPF_PROG_GET_NEXT_ID: libc::c_long = 11;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
pub const BPF_PROG_TYPE_XDP: u32 = 6;
pub const BPF_PROG_TYPE_TRACING: u32 = 26;
pub const BPF_TRACE_FENTRY: u32 = 24;
pub const BPF_TRACE_FEXIT: u32 = 25;

/// A per-CPU array map of one `value_size`-byte value.
pub fn percpu_value_create(value_size: u32, name: &str) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, BPF_MAP_TYPE_PERCPU_ARRAY).u32(4, 4).u32(8, value_size).u32(12, 1);
    a.bytes(28, &name.as_bytes()[..name.len().min(15)]);
    bpf_fd(BPF_MAP_CREATE, &mut a)
}

/// What a program attaches to, for [`prog_load_attached`].
pub struct AttachTo<'a> {
    /// `expected_attach_type` (BPF_TRACE_FENTRY, BPF_TRACE_FEXIT...).
    pub attach_type: u32,
    /// The target function's BTF type id, in the target program's BTF.
    pub btf_id: u32,
    /// The target BPF program.
    pub prog: &'a OwnedFd,
}

/// Load a program that attaches to another BPF program (fentry/fexit on it); with `log`
/// the verifier writes its log there.
pub fn prog_load_attached(prog_type: u32, to: &AttachTo, insns: &[Insn], name: &str, log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    load_program(prog_type, Some(to), insns, name, log)
}

/// Attach a tracing program (fentry/fexit) where it was loaded for: BPF_RAW_TRACEPOINT_OPEN
/// with no name. Closing the returned link detaches it.
pub fn tracing_attach(prog: &OwnedFd) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u64(0, 0).u32(8, prog.as_raw_fd() as u32);
    bpf_fd(BPF_RAW_TRACEPOINT_OPEN, &mut a)
}

/// The id of the loaded program after `start` (0: the first), or None past the last.
pub fn prog_next_id(start: u32) -> io::Result<Option<u32>> {
    let mut a = Attr::new();
    a.u32(0, start);
    match bpf(BPF_PROG_GET_NEXT_ID, &mut a) {
        Ok(_) => Ok(Some(u32::from_ne_bytes(a.0[4..8].try_into().unwrap()))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A descriptor of the program with this id (ENOENT if it is gone).
pub fn prog_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, id);
    bpf_fd(BPF_PROG_GET_FD_BY_ID, &mut a)
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says of a program, the part XdpWatch uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub name: String,
    /// Nonzero when offloaded to a device.
    pub ifindex: u32,
    /// The program's BTF object id (0: none).
    pub btf_id: u32,
    /// `(insn_off, type_id)` of each function (`struct bpf_func_info`).
    pub func_info: Vec<(u32, u32)>,
}

/// `struct bpf_prog_info` as the 6.x kernels have it (232 bytes): the kernel copies out
/// at most the size we pass, and wants any bytes past its own size zero.
#[repr(C, align(8))]
struct InfoBuf([u8; 232]);

impl InfoBuf {
    fn u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.0[off..off + 4].try_into().unwrap())
    }
}

fn prog_info_call(prog: &OwnedFd, info: &mut InfoBuf) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32).u32(4, info.0.len() as u32).u64(8, info.0.as_mut_ptr() as u64);
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a).map(|_| ())
}

/// A program's type, id, name, BTF id and function info.
pub fn prog_info(prog: &OwnedFd) -> io::Result<ProgInfo> {
    // Offsets in struct bpf_prog_info: type 0, id 4, name 64, ifindex 80, btf_id 128,
    // func_info_rec_size 132, func_info 136, nr_func_info 144.
    let mut info = InfoBuf([0; 232]);
    prog_info_call(prog, &mut info)?;
    let name = &info.0[64..80];
    let name = String::from_utf8_lossy(&name[..name.iter().position(|&c| c == 0).unwrap_or(16)]).into_owned();
    let (nr, rec_size) = (info.u32(144) as usize, info.u32(132) as usize);
    let mut func_info = Vec::new();
    if nr > 0 && rec_size >= 8 {
        // Again, asking for the function info only (every other count left 0). The kernel
        // writes at most nr_func_info records of func_info_rec_size bytes (it checks the
        // size is its own) through the pointer: `records` is that long and outlives the call.
        let mut records = vec![0u8; nr * rec_size];
        let mut again = InfoBuf([0; 232]);
        again.0[132..136].copy_from_slice(&(rec_size as u32).to_ne_bytes());
        again.0[136..144].copy_from_slice(&(records.as_mut_ptr() as u64).to_ne_bytes());
        again.0[144..148].copy_from_slice(&(nr as u32).to_ne_bytes());
        prog_info_call(prog, &mut again)?;
        let got = (again.u32(144) as usize).min(nr);
        let at = |o: usize| u32::from_ne_bytes(records[o..o + 4].try_into().unwrap());
        func_info = (0..got).map(|i| (at(i * rec_size), at(i * rec_size + 4))).collect();
    }
    Ok(ProgInfo { prog_type: info.u32(0), id: info.u32(4), name, ifindex: info.u32(80), btf_id: info.u32(128), func_info })
}

// Running programs on made-up input (XdpWatch's in-kernel tests only).

#[cfg(test)]
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
#[cfg(test)]
const BPF_PROG_TEST_RUN: libc::c_long = 10;
#[cfg(test)]
const BPF_F_TEST_RUN_ON_CPU: u32 = 1;

#[cfg(test)]
/// An array map of one value, read and written whole.
pub struct Array {
    pub fd: OwnedFd,
    value_size: usize,
}

#[cfg(test)]
impl Array {
    /// An array map of one `value_size`-byte value (zeroed).
    pub fn create(value_size: u32, name: &str) -> io::Result<Array> {
        let mut a = Attr::new();
        a.u32(0, BPF_MAP_TYPE_ARRAY).u32(4, 4).u32(8, value_size).u32(12, 1);
        a.bytes(28, &name.as_bytes()[..name.len().min(15)]);
        Ok(Array { fd: bpf_fd(BPF_MAP_CREATE, &mut a)?, value_size: value_size as usize })
    }

    /// Write the value (`value` must be the value size: the kernel reads that many bytes).
    pub fn update(&self, value: &[u8]) -> io::Result<()> {
        if value.len() != self.value_size {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "value size mismatch"));
        }
        let key = 0u32;
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32).u64(8, &key as *const u32 as u64).u64(16, value.as_ptr() as u64);
        bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(|_| ())
    }

    /// Read the value.
    pub fn lookup(&self) -> io::Result<Vec<u8>> {
        let key = 0u32;
        let mut value = vec![0u8; self.value_size];
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32).u64(8, &key as *const u32 as u64).u64(16, value.as_mut_ptr() as u64);
        bpf(BPF_MAP_LOOKUP_ELEM, &mut a)?;
        Ok(value)
    }
}

#[cfg(test)]
/// BPF_PROG_TEST_RUN of a raw tracepoint program with these argument words as its
/// context, on CPU `cpu` (or the caller's); its return value.
pub fn prog_test_run_ctx(prog: &OwnedFd, ctx: &[u64], cpu: Option<u32>) -> io::Result<u32> {
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32);
    // ctx_size_in, ctx_in; flags, cpu.
    a.u32(40, (ctx.len() * 8) as u32).u64(48, ctx.as_ptr() as u64);
    if let Some(cpu) = cpu {
        a.u32(64, BPF_F_TEST_RUN_ON_CPU).u32(68, cpu);
    }
    bpf(BPF_PROG_TEST_RUN, &mut a)?;
    Ok(u32::from_ne_bytes(a.0[4..8].try_into().unwrap()))
}

// Pinned maps, read-only (lb-xdp's counters in craft::explain::counters).

const BPF_OBJ_GET: libc::c_long = 7;
/// `file_flags` of BPF_OBJ_GET: a descriptor that can only read the map.
const BPF_F_RDONLY: u32 = 1 << 3;

/// What `BPF_OBJ_GET_INFO_BY_FD` says of a map (the first fields of `struct bpf_map_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub name: String,
}

/// The first 40 bytes of `struct bpf_map_info` (type, id, key_size, value_size,
/// max_entries, map_flags, name): the kernel copies out at most the size passed.
#[repr(C, align(8))]
struct MapInfoBuf([u8; 40]);

/// A map's type, id, sizes and name.
pub fn map_info(map: &OwnedFd) -> io::Result<MapInfo> {
    let mut info = MapInfoBuf([0; 40]);
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32).u32(4, info.0.len() as u32).u64(8, info.0.as_mut_ptr() as u64);
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a)?;
    let at = |o: usize| u32::from_ne_bytes(info.0[o..o + 4].try_into().unwrap());
    let name = &info.0[24..40];
    let name = String::from_utf8_lossy(&name[..name.iter().position(|&c| c == 0).unwrap_or(16)]).into_owned();
    Ok(MapInfo { map_type: at(0), id: at(4), key_size: at(8), value_size: at(12), max_entries: at(16), name })
}

/// The number of possible CPUs as per-CPU maps count them: one past the highest CPU of a
/// cpu list such as /sys/devices/system/cpu/possible shows ("0-1", "0,2-3\n"). Never less
/// than the kernel's count (which is the list's weight), so a buffer sized by it is large
/// enough; None when the text is not a cpu list.
pub fn cpu_list_len(text: &str) -> Option<usize> {
    let mut top: Option<usize> = None;
    for part in text.trim().split(',') {
        let last = match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (lo.trim().parse::<usize>().ok()?, hi.trim().parse::<usize>().ok()?);
                if hi < lo {
                    return None;
                }
                hi
            }
            None => part.trim().parse().ok()?,
        };
        top = Some(top.map_or(last, |t| t.max(last)));
    }
    top.map(|t| t + 1)
}

/// [`cpu_list_len`] of /sys/devices/system/cpu/possible.
pub fn possible_cpus() -> io::Result<usize> {
    const PATH: &str = "/sys/devices/system/cpu/possible";
    let text = std::fs::read_to_string(PATH).map_err(|e| io::Error::new(e.kind(), format!("{PATH}: {e}")))?;
    cpu_list_len(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{PATH}: not a cpu list: {text:?}")))
}

/// A per-CPU array map pinned in a bpf filesystem, opened read-only.
pub struct PerCpuArray {
    fd: OwnedFd,
    pub info: MapInfo,
    /// Slots in a lookup's value buffer ([`possible_cpus`]).
    cpus: usize,
}

impl PerCpuArray {
    /// Open the map pinned at `path` (BPF_OBJ_GET, read-only: root or CAP_BPF, and the
    /// pin's file permissions); InvalidData if it is not a per-CPU array with u32 keys.
    pub fn open_pinned(path: &std::path::Path) -> io::Result<PerCpuArray> {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut a = Attr::new();
        a.u64(0, name.as_ptr() as u64).u32(12, BPF_F_RDONLY);
        let fd = bpf_fd(BPF_OBJ_GET, &mut a)?;
        let info = map_info(&fd)?;
        if info.map_type != BPF_MAP_TYPE_PERCPU_ARRAY || info.key_size != 4 || info.value_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a per-CPU array with 4-byte keys (type {}, key size {})", path.display(), info.map_type, info.key_size),
            ));
        }
        Ok(PerCpuArray { fd, info, cpus: possible_cpus()? })
    }

    /// Slot `index`'s value on every CPU, one after the other, each `value_size` rounded
    /// up to 8 bytes (the kernel's layout).
    pub fn values(&self, index: u32) -> io::Result<Vec<u8>> {
        let stride = (self.info.value_size as usize).div_ceil(8) * 8;
        // The kernel writes `stride` bytes per possible CPU: `cpus` is at least that many.
        let mut value = vec![0u8; stride * self.cpus];
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32).u64(8, &index as *const u32 as u64).u64(16, value.as_mut_ptr() as u64);
        bpf(BPF_MAP_LOOKUP_ELEM, &mut a)?;
        Ok(value)
    }

    /// The sum over CPUs of slot `index`, for maps of u64 values.
    pub fn sum_u64(&self, index: u32) -> io::Result<u64> {
        if self.info.value_size != 8 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("map {}: values of {} bytes, not u64", self.info.name, self.info.value_size)));
        }
        let v = self.values(index)?;
        Ok(v.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap())).fold(0u64, u64::wrapping_add))
    }
}

#[cfg(test)]
mod pinned_tests {
    use super::cpu_list_len;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list_len("0-1\n"), Some(2));
        assert_eq!(cpu_list_len("0"), Some(1));
        assert_eq!(cpu_list_len("0,2-3"), Some(4));
        assert_eq!(cpu_list_len("0-3,8-11\n"), Some(12));
        assert_eq!(cpu_list_len(""), None);
        assert_eq!(cpu_list_len("3-1"), None);
        assert_eq!(cpu_list_len("x"), None);
        assert!(super::possible_cpus().unwrap() >= 1);
    }
}
