//! tcpdump filter strings ("icmp", "tcp port 80 and host 10.0.0.2") compiled to classic BPF,
//! for [`PacketSocket::attach_filter`](super::PacketSocket::attach_filter): the kernel then
//! drops what does not match before it is queued, so nothing is copied to user space for it.
//!
//! # How the filter is compiled
//!
//! Writing a tcpdump-language compiler is out of scope; libpcap's is the reference. It is
//! reached in one of two ways, the first that works:
//!
//! 1. **libpcap, loaded at run time** with `dlopen("libpcap.so.0.8")` (Debian's soname; also
//!    `libpcap.so.1` and `libpcap.so`): `pcap_open_dead(DLT_EN10MB, 65535)`, `pcap_compile`,
//!    copy the instructions, `pcap_freecode`, `pcap_close`. Loading at run time rather than
//!    linking means craft builds and runs (without filters) where libpcap is absent, and
//!    needs only the runtime package `libpcap0.8` — which tcpdump already depends on — not
//!    `libpcap-dev`. Takes tens of microseconds, no process is started.
//! 2. **tcpdump**: `tcpdump -ddd -r - EXPR` with an empty Ethernet pcap file (24-byte header)
//!    on stdin, parsing its decimal output. (`-r /dev/null` does not work: an empty file is
//!    not a pcap file.)
//!
//! `scripts/setup.sh` installs tcpdump (and with it libpcap0.8) on Debian 12.
//!
//! A string libpcap rejects gives `InvalidInput` "bad filter 'tcp prot 80': syntax error".

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::Result;

/// One classic BPF instruction, as SO_ATTACH_FILTER takes it.
pub type BpfInsn = libc::sock_filter;

/// DLT_EN10MB: Ethernet link-layer headers.
const DLT_EN10MB: c_int = 1;
/// PCAP_NETMASK_UNKNOWN: "ip broadcast" cannot be used, everything else can.
const PCAP_NETMASK_UNKNOWN: u32 = 0xffff_ffff;
const SNAPLEN: c_int = 65535;

/// A program that accepts every frame whole.
pub fn accept_all() -> Vec<BpfInsn> {
    vec![BpfInsn { code: 0x06, jt: 0, jf: 0, k: 0x0004_0000 }]
}

/// Compile a tcpdump filter expression for Ethernet frames.
pub fn compile(expr: &str) -> Result<Vec<BpfInsn>> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("bad filter '{expr}': {why}"));
    if expr.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    match libpcap() {
        Some(lib) => lib.compile(expr).map_err(|why| bad(&why)),
        None => compile_with_tcpdump(expr, &bad),
    }
}

// ---------------------------------------------------------------------------------------
// libpcap through dlopen.

#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut BpfInsn,
}

type OpenDead = unsafe extern "C" fn(c_int, c_int) -> *mut c_void;
type Compile = unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, u32) -> c_int;
type GetErr = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type FreeCode = unsafe extern "C" fn(*mut BpfProgram);
type Close = unsafe extern "C" fn(*mut c_void);

struct Libpcap {
    open_dead: OpenDead,
    compile: Compile,
    geterr: GetErr,
    freecode: FreeCode,
    close: Close,
    /// libpcap before 1.8 had a global parser: one compile at a time.
    lock: Mutex<()>,
}

fn libpcap() -> Option<&'static Libpcap> {
    static LIB: OnceLock<Option<Libpcap>> = OnceLock::new();
    LIB.get_or_init(load_libpcap).as_ref()
}

fn load_libpcap() -> Option<Libpcap> {
    for name in [c"libpcap.so.0.8", c"libpcap.so.1", c"libpcap.so"] {
        // SAFETY: name is a NUL-terminated string; dlopen has no other preconditions. The
        // handle is never closed, so the symbols below stay valid for the process's life.
        let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if h.is_null() {
            continue;
        }
        let sym = |s: &CStr| {
            // SAFETY: h is a live handle from dlopen and s is NUL-terminated.
            let p = unsafe { libc::dlsym(h, s.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        let (Some(od), Some(co), Some(ge), Some(fc), Some(cl)) =
            (sym(c"pcap_open_dead"), sym(c"pcap_compile"), sym(c"pcap_geterr"), sym(c"pcap_freecode"), sym(c"pcap_close"))
        else {
            continue;
        };
        // SAFETY: these are libpcap's exported functions, whose C prototypes (pcap/pcap.h)
        // the function pointer types above repeat; a data pointer and a function pointer have
        // the same size on Linux.
        unsafe {
            return Some(Libpcap {
                open_dead: std::mem::transmute::<*mut c_void, OpenDead>(od),
                compile: std::mem::transmute::<*mut c_void, Compile>(co),
                geterr: std::mem::transmute::<*mut c_void, GetErr>(ge),
                freecode: std::mem::transmute::<*mut c_void, FreeCode>(fc),
                close: std::mem::transmute::<*mut c_void, Close>(cl),
                lock: Mutex::new(()),
            });
        }
    }
    None
}

impl Libpcap {
    fn compile(&self, expr: &str) -> std::result::Result<Vec<BpfInsn>, String> {
        let cexpr = CString::new(expr).map_err(|_| "contains a NUL byte".to_string())?;
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: pcap_open_dead takes plain integers; it returns NULL or a handle we close.
        let p = unsafe { (self.open_dead)(DLT_EN10MB, SNAPLEN) };
        if p.is_null() {
            return Err("pcap_open_dead failed".into());
        }
        let mut prog = BpfProgram { bf_len: 0, bf_insns: std::ptr::null_mut() };
        // SAFETY: p is a live pcap_t, prog a writable bpf_program, cexpr NUL-terminated.
        let rc = unsafe { (self.compile)(p, &mut prog, cexpr.as_ptr(), 1, PCAP_NETMASK_UNKNOWN) };
        let out = if rc != 0 {
            // SAFETY: pcap_geterr returns p's NUL-terminated error buffer, valid until p is
            // closed; it is copied before that.
            let msg = unsafe { CStr::from_ptr((self.geterr)(p)) }.to_string_lossy().into_owned();
            Err(msg.trim_start_matches("can't parse filter expression: ").to_string())
        } else {
            // SAFETY: on success prog holds bf_len instructions at bf_insns (struct bpf_insn
            // has sock_filter's layout); they are copied, then freed exactly once.
            let v = unsafe {
                let v = if prog.bf_insns.is_null() {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts(prog.bf_insns, prog.bf_len as usize).to_vec()
                };
                (self.freecode)(&mut prog);
                v
            };
            Ok(v)
        };
        // SAFETY: p came from pcap_open_dead and is not used afterwards.
        unsafe { (self.close)(p) };
        out
    }
}

// ---------------------------------------------------------------------------------------
// tcpdump -ddd.

/// An empty pcap file: microsecond magic, version 2.4, snaplen 65535, LINKTYPE_ETHERNET.
const EMPTY_PCAP: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];

fn compile_with_tcpdump(expr: &str, bad: &dyn Fn(&str) -> io::Error) -> Result<Vec<BpfInsn>> {
    let mut child = Command::new("tcpdump")
        .args(["-ddd", "-r", "-", "--", expr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("compiling filter '{expr}' needs libpcap (libpcap0.8) or tcpdump: {e}"),
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&EMPTY_PCAP);
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().rfind(|l| !l.trim().is_empty() && !l.starts_with("reading from")).unwrap_or("tcpdump failed");
        let why = line.trim_start_matches("tcpdump: ").trim_start_matches("can't parse filter expression: ");
        return Err(bad(why));
    }
    parse_ddd(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| bad("cannot read tcpdump -ddd output"))
}

/// tcpdump -ddd: the instruction count, then "code jt jf k" per line, in decimal.
fn parse_ddd(text: &str) -> Option<Vec<BpfInsn>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let n: usize = lines.next()?.trim().parse().ok()?;
    let mut v = Vec::with_capacity(n);
    for l in lines {
        let f: Vec<u32> = l.split_whitespace().map(|x| x.parse().ok()).collect::<Option<_>>()?;
        let [code, jt, jf, k] = f[..] else { return None };
        v.push(BpfInsn { code: u16::try_from(code).ok()?, jt: u8::try_from(jt).ok()?, jf: u8::try_from(jf).ok()?, k });
    }
    (v.len() == n && n > 0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &[BpfInsn], b: &[BpfInsn]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
    }

    #[test]
    fn icmp_compiles() {
        let Ok(p) = compile("icmp") else { return eprintln!("no libpcap nor tcpdump: skipped") };
        // ldh [12]; jeq #0x800; ldb [23]; jeq #1; ret #65535; ret #0
        assert_eq!(p.len(), 6);
        assert_eq!((p[0].code, p[0].k), (0x28, 12));
        assert_eq!((p[1].code, p[1].k), (0x15, 0x800));
        assert_eq!((p[3].code, p[3].k), (0x15, 1));
        assert_eq!(p[5].k, 0);
    }

    #[test]
    fn bad_filter_is_a_clear_error() {
        if libpcap().is_none() && Command::new("tcpdump").arg("--version").output().is_err() {
            return eprintln!("no libpcap nor tcpdump: skipped");
        }
        let e = compile("tcp prot 80").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "bad filter 'tcp prot 80': syntax error");
    }

    #[test]
    fn tcpdump_and_libpcap_agree() {
        if libpcap().is_none() || Command::new("tcpdump").arg("--version").output().is_err() {
            return eprintln!("needs both libpcap and tcpdump: skipped");
        }
        let bad = |w: &str| io::Error::other(w.to_string());
        for expr in ["icmp", "tcp port 80 and host 10.0.0.2", "arp or ip6", ""] {
            let a = libpcap().unwrap().compile(expr).unwrap();
            let b = compile_with_tcpdump(expr, &bad).unwrap();
            assert!(same(&a, &b), "{expr}: {a:?} vs {b:?}");
        }
        assert_eq!(compile_with_tcpdump("tcp prot 80", &bad).unwrap_err().to_string(), "syntax error");
    }

    #[test]
    fn ddd_parsing() {
        let p = parse_ddd("2\n40 0 0 12\n6 0 0 65535\n").unwrap();
        assert_eq!((p[1].code, p[1].k), (6, 65535));
        assert!(parse_ddd("3\n40 0 0 12\n").is_none());
        assert!(parse_ddd("1\n40 0 x 12\n").is_none());
    }
}

/// A classic BPF interpreter (what the kernel runs for SO_ATTACH_FILTER); 0 is "reject".
/// A load past the end of the packet rejects, as in the kernel.
pub fn run(prog: &[libc::sock_filter], pkt: &[u8]) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let load = |off: u32, size: u16| -> Option<u32> {
        let o = off as usize;
        match size {
            0x00 => Some(u32::from_be_bytes(pkt.get(o..o.checked_add(4)?)?.try_into().ok()?)),
            0x08 => Some(u16::from_be_bytes(pkt.get(o..o.checked_add(2)?)?.try_into().ok()?).into()),
            0x10 => pkt.get(o).map(|&b| b as u32),
            _ => None,
        }
    };
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let k = i.k;
        match i.code & 0x07 {
            class @ (0x00 | 0x01) => {
                let size = i.code & 0x18;
                let v = match i.code & 0xe0 {
                    0x00 => Some(k),
                    0x20 => load(k, size),
                    0x40 => load(x.wrapping_add(k), size),
                    0x60 => Some(mem[(k & 15) as usize]),
                    0x80 => Some(pkt.len() as u32),
                    0xa0 => pkt.get(k as usize).map(|&b| ((b & 0x0f) as u32) * 4),
                    _ => None,
                };
                let Some(v) = v else { return 0 };
                if class == 0 {
                    a = v;
                } else {
                    x = v;
                }
            }
            0x02 => mem[(k & 15) as usize] = a,
            0x03 => mem[(k & 15) as usize] = x,
            0x04 => {
                let s = if i.code & 0x08 != 0 { x } else { k };
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(s),
                    0x10 => a.wrapping_sub(s),
                    0x20 => a.wrapping_mul(s),
                    0x30 if s == 0 => return 0,
                    0x30 => a / s,
                    0x40 => a | s,
                    0x50 => a & s,
                    0x60 => a.checked_shl(s).unwrap_or(0),
                    0x70 => a.checked_shr(s).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 if s == 0 => return 0,
                    0x90 => a % s,
                    0xa0 => a ^ s,
                    _ => return 0,
                };
            }
            0x05 => {
                let op = i.code & 0xf0;
                if op == 0x00 {
                    pc += k as usize;
                    continue;
                }
                let s = if i.code & 0x08 != 0 { x } else { k };
                let cond = match op {
                    0x10 => a == s,
                    0x20 => a > s,
                    0x30 => a >= s,
                    0x40 => a & s != 0,
                    _ => return 0,
                };
                pc += if cond { i.jt } else { i.jf } as usize;
            }
            0x06 => return if i.code & 0x18 == 0x10 { a } else { k },
            _ => {
                if i.code & 0xf8 == 0x00 {
                    x = a;
                } else {
                    a = x;
                }
            }
        }
    }
    0
}

#[cfg(test)]
mod run_tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn the_interpreter_runs_a_compiled_filter() {
        let Ok(f) = compile("udp and dst port 4002") else { return };
        let yes = (Ether::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2") / Udp::new().dport(4002)).build();
        let no = (Ether::new() / Ip::new().src("10.0.0.1").dst("10.0.0.2") / Udp::new().dport(4003)).build();
        assert_ne!(run(&f, &yes), 0);
        assert_eq!(run(&f, &no), 0);
        assert_eq!(run(&f, &yes[..20]), 0, "a load past the end rejects");
    }
}
