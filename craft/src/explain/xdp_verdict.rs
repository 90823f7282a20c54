//! Per-packet XDP verdicts: what each XDP program on the host returned for each frame
//! (XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT, XDP_ABORTED), with the frame as it arrived
//! and, when the program changed it, as it left — what xdp-tools' `xdpdump` shows. A
//! native XDP_DROP frees no skb, so [`super::DropWatch`] (`kfree_skb`) never sees it; this
//! does.
//!
//! ```no_run
//! use std::time::Duration;
//! let mut watch = craft::explain::XdpWatch::start()?;   // root: CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN
//! for s in watch.skipped() {
//!     eprintln!("not watched: {s}");
//! }
//! // ... send packets ...
//! for v in watch.poll(Duration::from_secs(1))? {
//!     println!("{v}");   // XDP_DROP by director (id 42) on veth1 (netns 4026532…): Ether / IP / TCP …
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! How: [`XdpWatch::start`] lists every loaded BPF program of type XDP
//! (`BPF_PROG_GET_NEXT_ID`, `BPF_PROG_GET_FD_BY_ID`, `BPF_OBJ_GET_INFO_BY_FD`) and, for
//! each one with BTF, loads two `BPF_PROG_TYPE_TRACING` programs written as raw
//! instructions ([`super::asm`]) attached to the program's main function (its
//! `func_info[0]`): an fentry copying the frame's first [`DATA_MAX`](super::DATA_MAX)
//! bytes into a per-CPU scratch value, and an fexit writing one ring buffer record per
//! frame: the action, the program, the device and its network namespace
//! (`xdp_buff->rxq->dev`), the rx queue, CLOCK_MONOTONIC timestamps at entry and exit,
//! the frame's length and bytes at entry (the scratch value) and at exit (the `bpf`
//! submodule says how). Kernel structure offsets come from the running kernel's BTF.
//! Everything is detached and released when the watch is dropped, on panics too.
//!
//! Limits:
//! - Only the XDP programs loaded when [`XdpWatch::start`] ran are watched: start it after
//!   the program under test is attached (a program loaded later, a restarted daemon's
//!   new program, is not seen).
//! - Programs without BTF (`func_info`) cannot be traced by fentry/fexit: they are
//!   listed by [`XdpWatch::skipped`], as are programs offloaded to a NIC and any program
//!   the kernel would not let us attach to (with its reason). Programs loaded through
//!   libxdp's dispatcher are seen as the dispatcher (their `freplace` programs are not of
//!   type XDP).
//! - A watched program stays loaded (not attached) until the watch is dropped, even when
//!   its owner detaches it: the tracing links hold a reference to it.
//! - Bytes and lengths are of the frame's linear part (`data`..`data_end`): fragments of a
//!   multi-buffer frame are not read.
//! - Some kernels turn BPF trampolines off (hardened or sandboxed builds): every fentry,
//!   fexit, fmod_ret, freplace and BPF LSM program fails with EPERM before the verifier
//!   runs, root or not. [`XdpWatch::start`] then fails with [`TRAMPOLINES_REFUSED`]
//!   (raw tracepoints still work there). The programs' logic is still tested on such a
//!   kernel: `kernel_tests` runs them as raw tracepoint programs on a made-up `xdp_buff`.
//! - Every frame pays for the trampoline: the trampoline's glue, two extra program runs
//!   (about fifteen helper calls in all) and a ring buffer record. The two programs take
//!   about 190 ns a frame on the 2-core test VM (`kernel_tests::program_cost`, without the
//!   glue), against about 0.9 µs a frame for lb-xdp's director on a veth fed by craft's
//!   sendp (1.1 million frames/s: lb-xdp/tests/explain.rs, `trampoline_cost`, which also
//!   measures with the watch where the kernel allows it). The ring (256 KiB by default,
//!   [`RECORD_SIZE`] bytes a frame, about 700 frames) fills up under a flood polled too
//!   slowly: [`XdpWatch::lost`] counts what did not fit.

mod bpf;
#[cfg(test)]
mod kernel_tests;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::btf::Btf;
use super::prog::Offsets;
use super::trace::xdp_action_name;
use super::{needs_root, sys, Ring};
use crate::packet::{LayerKind, Packet};

/// Ring buffer bytes one frame takes (the record and its 8-byte header).
pub const RECORD_SIZE: usize = bpf::rec::SIZE + 8;

const RINGBUF_SIZE: usize = 256 << 10;

/// What one XDP program returned for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdpVerdict {
    /// The program's return value: 0 XDP_ABORTED, 1 XDP_DROP, 2 XDP_PASS, 3 XDP_TX,
    /// 4 XDP_REDIRECT ([`XdpVerdict::action_name`]).
    pub action: u32,
    /// The XDP program (`bpf_prog_info`'s id and name: `bpftool prog show id N`).
    pub prog_id: u32,
    pub prog_name: String,
    /// The device the frame arrived on (`xdp_buff->rxq->dev`) and its rx queue.
    pub ifindex: u32,
    pub ifname: String,
    pub rx_queue: u32,
    /// Inode of the device's network namespace (`stat -L /var/run/netns/NAME`).
    pub netns: u64,
    /// When the program returned: CLOCK_MONOTONIC ns (`bpf_ktime_get_ns`), the clock of
    /// [`super::DropEvent::time_ns`] and the path watcher's hops.
    pub time_ns: u64,
    /// How long the program ran (from fentry to fexit), when the entry copy is there.
    pub run_ns: Option<u64>,
    /// The frame's length at entry (`data_end - data`), 0 when the entry copy is missing
    /// (fentry did not run for this frame: rare, e.g. a frame already in the program
    /// when the watch attached).
    pub len: u32,
    /// Up to [`DATA_MAX`](super::DATA_MAX) bytes of the frame as it arrived, from the
    /// Ethernet header on: what matches the frame craft sent. Empty when the entry copy is
    /// missing.
    pub data: Vec<u8>,
    /// The frame's length when the program returned.
    pub exit_len: u32,
    /// Up to [`DATA_MAX`](super::DATA_MAX) bytes of the frame when the program returned,
    /// when they differ from the entry's (encapsulated, rewritten, `bpf_xdp_adjust_head`...) or when the
    /// entry copy is missing; `None` when the program left the frame as it was.
    pub exit_data: Option<Vec<u8>>,
}

impl XdpVerdict {
    /// "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT", "XDP_ABORTED" (else "action N").
    pub fn action_name(&self) -> String {
        xdp_action_name(self.action)
    }

    /// The frame as it arrived, dissected from its Ethernet header.
    pub fn packet(&self) -> Packet {
        Packet::dissect(&self.data, LayerKind::Ether)
    }

    /// The frame as the program left it, when it changed it.
    pub fn exit_packet(&self) -> Option<Packet> {
        self.exit_data.as_deref().map(|d| Packet::dissect(d, LayerKind::Ether))
    }

    fn from_record(r: bpf::Record, names: &HashMap<u32, String>) -> XdpVerdict {
        let changed = r.entry_ts.is_none() || r.moved || r.entry_len != r.exit_len || r.entry != r.exit;
        XdpVerdict {
            action: r.act,
            prog_id: r.prog_id,
            prog_name: names.get(&r.prog_id).cloned().unwrap_or_default(),
            ifindex: r.ifindex,
            ifname: r.ifname,
            rx_queue: r.rx_queue,
            netns: r.netns as u64,
            time_ns: r.ts,
            run_ns: r.entry_ts.map(|t| r.ts.saturating_sub(t)),
            len: r.entry_len,
            data: r.entry,
            exit_len: r.exit_len,
            exit_data: changed.then_some(r.exit),
        }
    }
}

impl fmt::Display for XdpVerdict {
    /// `XDP_TX by director (id 42) on veth1 (ifindex 5, netns 4026532301): <frame> → <frame at exit>`
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} by {} (id {}) on {} (ifindex {}, netns {}): ", self.action_name(), self.prog_name, self.prog_id, self.ifname, self.ifindex, self.netns)?;
        if self.data.is_empty() {
            write!(f, "(entry bytes not captured)")?;
        } else {
            write!(f, "{}", self.packet().summary())?;
        }
        if let Some(p) = self.exit_packet() {
            write!(f, " → {}", p.summary())?;
        }
        Ok(())
    }
}

/// An XDP program being watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedProg {
    pub id: u32,
    pub name: String,
}

/// An XDP program not watched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedProg {
    pub id: u32,
    pub name: String,
    /// "no BTF: fentry/fexit need the program's BTF", "offloaded to a device", or the
    /// kernel's error loading or attaching the tracing programs.
    pub reason: String,
}

impl fmt::Display for SkippedProg {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} (id {}): {}", self.name, self.id, self.reason)
    }
}

/// A loaded BPF program, as [`programs`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgSummary {
    pub id: u32,
    /// `enum bpf_prog_type`: 6 XDP, 26 tracing...
    pub prog_type: u32,
    pub name: String,
    /// Whether it has BTF function info (what fentry/fexit need).
    pub has_btf: bool,
}

/// Every BPF program loaded on the host (needs CAP_SYS_ADMIN): what `bpftool prog show`
/// lists, in short. Programs unloaded while listing are left out.
pub fn programs() -> io::Result<Vec<ProgSummary>> {
    Ok(list(None)?.into_iter().map(|(_, i)| summary(&i)).collect())
}

fn summary(i: &sys::ProgInfo) -> ProgSummary {
    ProgSummary { id: i.id, prog_type: i.prog_type, name: i.name.clone(), has_btf: i.btf_id != 0 && !i.func_info.is_empty() }
}

/// The loaded programs (of this type), each with a descriptor.
fn list(prog_type: Option<u32>) -> io::Result<Vec<(OwnedFd, sys::ProgInfo)>> {
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = sys::prog_next_id(id).map_err(|e| needs_root("listing the BPF programs", e))? {
        id = next;
        let fd = match sys::prog_fd_by_id(id) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue, // unloaded meanwhile
            Err(e) => return Err(needs_root(&format!("opening BPF program {id}"), e)),
        };
        let info = sys::prog_info(&fd).map_err(|e| needs_root(&format!("reading BPF program {id}'s info"), e))?;
        if prog_type.is_none_or(|t| t == info.prog_type) {
            out.push((fd, info));
        }
    }
    Ok(out)
}

/// The tracing pair on one XDP program. Field order is drop order: the links first
/// (fexit, then fentry), then the programs.
struct Attached {
    _exit_link: OwnedFd,
    _entry_link: OwnedFd,
    _exit: OwnedFd,
    _entry: OwnedFd,
}

/// Watches the verdicts of every XDP program loaded when it started, until dropped: every
/// program detached and every descriptor and mapping released, on panics too.
pub struct XdpWatch {
    // Field order is drop order: detach first, then the ring buffer and the scratch map.
    _attached: Vec<Attached>,
    ring: Ring,
    _scratch: OwnedFd,
    watched: Vec<WatchedProg>,
    skipped: Vec<SkippedProg>,
    names: HashMap<u32, String>,
}

const NO_BTF: &str = "no BTF: fentry/fexit need the program's BTF";

/// The error when the kernel refuses every fentry/fexit program though we hold the
/// capabilities: some kernels (hardened or sandboxed builds) turn off BPF trampolines, and
/// then fentry, fexit, fmod_ret, freplace and BPF LSM programs all fail with EPERM before
/// the verifier runs (its log stays empty).
pub const TRAMPOLINES_REFUSED: &str = "this kernel refuses fentry/fexit programs (EPERM before the verifier, with CAP_BPF and CAP_PERFMON held): \
     BPF trampolines are turned off here, so XDP verdicts cannot be watched; raw tracepoints still work \
     (DropWatch, PathWatch: XDP_PASS frames show as rx hops, XDP_ABORTED as xdp_exception)";

/// Whether this process holds CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), which loading
/// tracing programs needs: an EPERM despite them is the kernel's policy, not ours.
fn has_tracing_caps() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(eff) = status.lines().find_map(|l| l.strip_prefix("CapEff:")).and_then(|v| u64::from_str_radix(v.trim(), 16).ok()) else {
        return false;
    };
    let has = |cap: u32| eff & (1 << cap) != 0;
    (has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)
}

impl XdpWatch {
    /// Attach to every loaded XDP program that has BTF, with a 256 KiB ring buffer (about
    /// 700 frames between two polls).
    pub fn start() -> io::Result<XdpWatch> {
        XdpWatch::with_ring_size(RINGBUF_SIZE)
    }

    /// Like [`XdpWatch::start`] with a ring buffer of `bytes` (a power of two, at least
    /// the page size); each frame takes [`RECORD_SIZE`] of it.
    pub fn with_ring_size(bytes: usize) -> io::Result<XdpWatch> {
        let btf = Btf::vmlinux()?;
        let offsets = Offsets::from_btf(&btf)?;
        let xoff = bpf::XdpBuffOffsets::from_btf(&btf)?;
        drop(btf);
        let progs = list(Some(sys::BPF_PROG_TYPE_XDP))?;
        if progs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no XDP program is loaded: nothing to watch (XdpWatch watches the XDP programs loaded when it starts)",
            ));
        }
        let ring = Ring::create(bytes, "craft_xdp", "craft_xdp_lost")?;
        let scratch = sys::percpu_value_create(bpf::scratch::SIZE as u32, "craft_xdp_scr").map_err(|e| needs_root("creating a BPF per-CPU array", e))?;
        let (mut attached, mut watched, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        let mut denied = false;
        for (fd, info) in progs {
            let skip = |reason: String| SkippedProg { id: info.id, name: info.name.clone(), reason };
            let main = info.func_info.iter().find(|(insn_off, _)| *insn_off == 0).map(|(_, type_id)| *type_id);
            let btf_id = match main {
                _ if info.ifindex != 0 => {
                    skipped.push(skip(format!("offloaded to a device (ifindex {})", info.ifindex)));
                    continue;
                }
                Some(id) if info.btf_id != 0 => id,
                _ => {
                    skipped.push(skip(NO_BTF.into()));
                    continue;
                }
            };
            let entry = bpf::build_entry(&xoff, scratch.as_raw_fd());
            let exit = bpf::build_exit(info.id, &offsets, &xoff, scratch.as_raw_fd(), ring.map.as_raw_fd(), ring.lost.as_raw_fd());
            match attach(&fd, btf_id, &entry, &exit) {
                Ok(a) => {
                    attached.push(a);
                    watched.push(WatchedProg { id: info.id, name: info.name.clone() });
                }
                Err(e) => {
                    denied |= e.eperm;
                    skipped.push(skip(e.message));
                }
            }
        }
        if attached.is_empty() {
            if denied {
                if !has_tracing_caps() {
                    return Err(needs_root("loading fentry/fexit programs on the XDP programs", io::Error::from_raw_os_error(libc::EPERM)));
                }
                return Err(io::Error::new(io::ErrorKind::Unsupported, TRAMPOLINES_REFUSED));
            }
            let why: Vec<String> = skipped.iter().map(|s| s.to_string()).collect();
            return Err(io::Error::new(io::ErrorKind::Unsupported, format!("no XDP program could be watched: {}", why.join("; "))));
        }
        let names = watched.iter().map(|w: &WatchedProg| (w.id, w.name.clone())).collect();
        Ok(XdpWatch { _attached: attached, ring, _scratch: scratch, watched, skipped, names })
    }

    /// The verdicts so far, in the order the ring buffer has them (by time, per CPU); if
    /// none, waits up to `timeout` for some.
    pub fn poll(&mut self, timeout: Duration) -> io::Result<Vec<XdpVerdict>> {
        let names = &self.names;
        self.ring.poll(timeout, |r, out| out.extend(bpf::Record::parse(r).map(|rec| XdpVerdict::from_record(rec, names))))
    }

    /// Frames the kernel had no ring buffer room for: nonzero means verdicts were missed.
    pub fn lost(&self) -> io::Result<u64> {
        self.ring.lost()
    }

    /// The XDP programs watched.
    pub fn watched(&self) -> &[WatchedProg] {
        &self.watched
    }

    /// The XDP programs not watched, with why.
    pub fn skipped(&self) -> &[SkippedProg] {
        &self.skipped
    }
}

/// Why fentry/fexit could not be put on one program.
struct AttachError {
    /// The kernel said EPERM (no privilege, or trampolines turned off).
    eperm: bool,
    message: String,
}

impl AttachError {
    fn new(what: &str, e: io::Error, log_tail: &str) -> AttachError {
        let tail = if log_tail.is_empty() { String::new() } else { format!(": {log_tail}") };
        AttachError { eperm: e.raw_os_error() == Some(libc::EPERM), message: format!("{what}: {e}{tail}") }
    }
}

/// Load fentry and fexit on the XDP program `target` (function `btf_id` of its BTF) and
/// attach them, fentry first (a frame between the two attaches has no entry copy: its
/// record says so).
fn attach(target: &OwnedFd, btf_id: u32, entry: &[super::asm::Insn], exit: &[super::asm::Insn]) -> Result<Attached, AttachError> {
    let fentry = sys::AttachTo { attach_type: sys::BPF_TRACE_FENTRY, btf_id, prog: target };
    let fexit = sys::AttachTo { attach_type: sys::BPF_TRACE_FEXIT, btf_id, prog: target };
    let entry = load_tracing(&fentry, entry, "craft_xdp_entry")?;
    let exit = load_tracing(&fexit, exit, "craft_xdp_exit")?;
    let entry_link = sys::tracing_attach(&entry).map_err(|e| AttachError::new("attaching fentry", e, ""))?;
    let exit_link = sys::tracing_attach(&exit).map_err(|e| AttachError::new("attaching fexit", e, ""))?;
    Ok(Attached { _exit_link: exit_link, _entry_link: entry_link, _exit: exit, _entry: entry })
}

/// Load a tracing program; when the kernel refuses it, loads it again with the
/// verifier's log for an error that says why (its last lines: the log of a refused
/// attach target is short, a refused program's long).
fn load_tracing(to: &sys::AttachTo, insns: &[super::asm::Insn], name: &str) -> Result<OwnedFd, AttachError> {
    let what = if to.attach_type == sys::BPF_TRACE_FENTRY { "loading fentry" } else { "loading fexit" };
    if let Ok(p) = sys::prog_load_attached(sys::BPF_PROG_TYPE_TRACING, to, insns, name, None) {
        return Ok(p);
    }
    let mut log = vec![0u8; 1 << 20];
    sys::prog_load_attached(sys::BPF_PROG_TYPE_TRACING, to, insns, name, Some(&mut log)).map_err(|e| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let text = String::from_utf8_lossy(&log[..end]);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        AttachError::new(what, e, &lines[lines.len().saturating_sub(4)..].join(" / "))
    })
}

#[cfg(test)]
mod tests {
    use super::bpf::tests::{record, CTX};
    use super::*;
    use crate::prelude::*;

    fn names() -> HashMap<u32, String> {
        HashMap::from([(42, "director".to_string())])
    }

    fn frame() -> Vec<u8> {
        (Ether::new().dst("02:00:00:00:00:02").src("02:00:00:00:00:01") / Ip::new().src("10.0.0.1").dst("10.0.0.2") / Tcp::new().dport(80).flags("S")).build()
    }

    #[test]
    fn an_unchanged_frame_has_no_exit_bytes() {
        let f = frame();
        let v = XdpVerdict::from_record(bpf::Record::parse(&record(1, CTX, &f, 0x2000, &f, 0x2000)).unwrap(), &names());
        assert_eq!((v.action_name().as_str(), v.prog_id, v.prog_name.as_str()), ("XDP_DROP", 42, "director"));
        assert_eq!((v.ifname.as_str(), v.ifindex, v.netns, v.rx_queue), ("veth", 7, 4026532000, 1));
        assert_eq!((v.time_ns, v.run_ns), (2_000, Some(500)));
        assert_eq!((v.len, v.exit_len), (f.len() as u32, f.len() as u32));
        assert_eq!(v.data, f);
        assert_eq!(v.exit_data, None);
        assert!(v.exit_packet().is_none());
        assert_eq!(v.packet().summary(), Packet::dissect(&f, LayerKind::Ether).summary());
        assert!(v.to_string().starts_with("XDP_DROP by director (id 42) on veth (ifindex 7, netns 4026532000): Ether / IP"), "{v}");
    }

    #[test]
    fn a_rewritten_frame_has_its_exit_bytes() {
        let f = frame();
        // Same place, same length, a byte changed (a MAC rewrite).
        let mut g = f.clone();
        g[0] = 0x0a;
        let v = XdpVerdict::from_record(bpf::Record::parse(&record(3, CTX, &f, 0x2000, &g, 0x2000)).unwrap(), &names());
        assert_eq!(v.exit_data.as_deref(), Some(&g[..]));
        // Encapsulated: 36 bytes pushed in front (adjust_head), so `data` moved.
        let mut outer = vec![0u8; 36];
        outer.extend_from_slice(&f);
        let v = XdpVerdict::from_record(bpf::Record::parse(&record(3, CTX, &f, 0x2000, &outer, 0x2000 - 36)).unwrap(), &names());
        assert_eq!((v.len, v.exit_len), (f.len() as u32, f.len() as u32 + 36));
        assert_eq!(v.exit_data.as_deref(), Some(&outer[..]));
        assert!(v.to_string().contains(" → "), "{v}");
    }

    /// Without the entry copy nothing says whether the frame changed: the exit bytes are
    /// given.
    #[test]
    fn without_the_entry_copy_the_exit_bytes_are_given() {
        let f = frame();
        let v = XdpVerdict::from_record(bpf::Record::parse(&record(2, 0, &f, 0x2000, &f, 0x2000)).unwrap(), &HashMap::new());
        assert!(v.data.is_empty() && v.len == 0 && v.run_ns.is_none());
        assert_eq!(v.exit_data.as_deref(), Some(&f[..]));
        assert_eq!(v.prog_name, "");
        assert!(v.to_string().contains("(entry bytes not captured)"), "{v}");
    }

    #[test]
    fn skipped_reads_as_a_line() {
        let s = SkippedProg { id: 7, name: "xdp_prog".into(), reason: NO_BTF.into() };
        assert_eq!(s.to_string(), "xdp_prog (id 7): no BTF: fentry/fexit need the program's BTF");
    }
}
