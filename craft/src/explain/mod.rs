//! Why did the kernel drop my packet? A watcher of the kernel's packet drops
//! (`skb:kfree_skb`), with the reason, the function, the device, the network namespace and
//! the packet's headers, for matching drops against the packets craft sent.
//!
//! ```no_run
//! use std::time::Duration;
//! let mut watch = craft::explain::DropWatch::start()?;   // root: CAP_BPF + CAP_PERFMON
//! // ... send packets ...
//! for ev in watch.poll(Duration::from_secs(1))? {
//!     println!("{} at {} on {} (netns {}): {}", ev.reason, ev.symbol, ev.ifname, ev.netns, ev.packet().summary());
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! How: a BPF program written as raw instructions ([`asm`]), loaded with bpf(2) as a raw
//! tracepoint program on `kfree_skb`, copying into a BPF ring buffer the drop reason, the
//! caller's address, the time (CLOCK_MONOTONIC, as the path watcher's hops have it),
//! `skb->dev`'s index, name and namespace inode, and the first
//! [`DATA_MAX`] bytes from `skb->head + network_header` (and the 14 bytes at `mac_header`
//! when set). Every kernel structure offset, the tracepoint's argument order and the reason
//! names come from the running kernel's BTF (/sys/kernel/btf/vmlinux) at load time: no
//! eBPF toolchain, no per-kernel build, no hard-coded reason table. No kprobes, tracefs or
//! drop_monitor needed.

pub mod asm;
pub mod btf;
pub mod counters;
pub mod explainer;
pub mod hints;
pub mod kallsyms;
mod matching;
pub mod netns;
pub mod prog;
pub mod report;
pub mod send;
mod sys;
pub mod trace;
pub mod watch;
pub mod xdp_verdict;

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::packet::Packet;

pub use prog::DATA_MAX;
pub use explainer::{ExplainOpts, Explainer};
pub use report::{DropInfo, PacketFate, Report, TraceInfo};
pub use xdp_verdict::{programs, ProgSummary, XdpVerdict, XdpWatch};

/// One packet the kernel dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropEvent {
    /// The kernel's reason name without its `SKB_DROP_REASON_` prefix: "OTHERHOST",
    /// "IP_CSUM", "NO_SOCKET"...; `UNKNOWN_<code>` when the kernel's BTF has no name for it.
    pub reason: String,
    /// The `enum skb_drop_reason` value.
    pub reason_code: u32,
    /// Where the skb was freed: the kernel's return address into the dropping function.
    pub location: u64,
    /// `location` as `function+0xoffset` ("ip_rcv_core+0x1a4"), or hex if unknown.
    pub symbol: String,
    /// When the kernel freed it: CLOCK_MONOTONIC nanoseconds (`bpf_ktime_get_ns`), the
    /// clock of [`trace::HopEvent::ts`], so a drop takes its place among a packet's hops.
    pub time_ns: u64,
    /// The skb's device (0 and "" when it had none).
    pub ifindex: u32,
    pub ifname: String,
    /// Inode number of the device's network namespace (as `stat /var/run/netns/NAME` or
    /// `readlink /proc/PID/ns/net` show it); 0 when the skb had no device.
    pub netns: u64,
    /// `skb->protocol` (host order): 0x0800 IPv4, 0x86dd IPv6.
    pub protocol: u16,
    /// `skb->len` when dropped (counts from wherever `skb->data` was then).
    pub len: u32,
    /// Up to [`DATA_MAX`] bytes from the network header on.
    pub data: Vec<u8>,
    /// The Ethernet header, when the skb had a MAC header set.
    pub mac: Option<[u8; 14]>,
}

impl DropEvent {
    /// The dropping function, [`DropEvent::symbol`] without its offset.
    pub fn function(&self) -> &str {
        kallsyms::function_of(&self.symbol)
    }

    /// The dropped packet dissected from its network header: IP for 0x0800, IPv6 for
    /// 0x86dd, by the version nibble when the protocol is 0 or ETH_P_ALL (packet sockets),
    /// otherwise the bytes as Raw: the rule of the path watcher's hops ([`trace::HopEvent::packet`]).
    pub fn packet(&self) -> Packet {
        Packet::dissect(&self.data, trace::l3_kind(self.protocol, &self.data))
    }
}

/// Watches every packet drop on the host (all network namespaces) until dropped: the
/// program is detached and every descriptor and mapping released, on panics too.
pub struct DropWatch {
    // Field order is drop order: detach first, then the ring buffer (its mapping first).
    _link: OwnedFd,
    _prog: OwnedFd,
    ring: Ring,
    reasons: HashMap<u32, String>,
    kallsyms: kallsyms::Kallsyms,
}

/// A BPF ring buffer and its lost-record counter, mapped and waited on with epoll: what
/// the drop and path watchers' programs write to.
struct Ring {
    // Field order is drop order: the mapping before the map's descriptor.
    ring: sys::RingBuf,
    epoll: sys::Epoll,
    map: OwnedFd,
    lost: OwnedFd,
}

impl Ring {
    /// A ring buffer of `bytes` (a power of two from the page size to 1 GiB) and its
    /// counter, named as `bpftool map` shows them (15 characters at most).
    fn create(bytes: usize, name: &str, lost_name: &str) -> io::Result<Ring> {
        if !bytes.is_power_of_two() || !(4096..=1 << 30).contains(&bytes) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("ring buffer size {bytes}: not a power of two from 4096 to 1 GiB")));
        }
        sys::raise_memlock();
        let map = sys::ringbuf_create(bytes as u32, name).map_err(|e| needs_root("creating the BPF ring buffer", e))?;
        let lost = sys::counter_create(lost_name).map_err(|e| needs_root("creating a BPF array map", e))?;
        let ring = sys::RingBuf::new(&map, bytes).map_err(|e| io::Error::new(e.kind(), format!("mapping the BPF ring buffer: {e}")))?;
        let epoll = sys::Epoll::new(&map)?;
        Ok(Ring { ring, epoll, map, lost })
    }

    /// The records so far, each handed to `parse`; if none, waits up to `timeout` for some,
    /// looking every [`RING_TICK`] (the programs submit without waking the reader).
    fn poll<T>(&mut self, timeout: Duration, mut parse: impl FnMut(&[u8], &mut Vec<T>)) -> io::Result<Vec<T>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            self.ring.drain(|r| parse(r, &mut out));
            let now = Instant::now();
            if !out.is_empty() || now >= deadline {
                return Ok(out);
            }
            self.epoll.wait((deadline - now).min(RING_TICK))?;
        }
    }

    /// Records the kernel had no room for.
    fn lost(&self) -> io::Result<u64> {
        sys::counter_read(&self.lost)
    }
}

/// Loads a raw tracepoint program; when the verifier refuses it, loads it again with the
/// verifier's log, for an error that says why.
fn load(insns: &[asm::Insn], name: &str) -> io::Result<OwnedFd> {
    match sys::prog_load(sys::BPF_PROG_TYPE_RAW_TRACEPOINT, insns, name, None) {
        Ok(p) => Ok(p),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(needs_root("loading the BPF program", e)),
        Err(_) => {
            let mut log = vec![0u8; 1 << 20];
            match sys::prog_load(sys::BPF_PROG_TYPE_RAW_TRACEPOINT, insns, name, Some(&mut log)) {
                Ok(p) => Ok(p),
                Err(e) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]);
                    Err(io::Error::new(e.kind(), format!("the kernel's verifier rejected craft's {name} program: {e}\n{}", text.trim_end())))
                }
            }
        }
    }
}

const RINGBUF_SIZE: usize = 1 << 20;

/// How often a waiting reader looks at its ring buffer: a 1 MiB ring holds ~4,500 drops,
/// so up to ~900,000 drops/s are read before it fills.
const RING_TICK: Duration = Duration::from_millis(5);

/// Ring buffer bytes one drop takes (the record and its 8-byte header).
pub const RECORD_SIZE: usize = prog::rec::SIZE + 8;

/// Reason names by value from the kernel's `enum skb_drop_reason`, prefix dropped
/// (`SKB_DROP_REASON_OTHERHOST` → "OTHERHOST", `SKB_CONSUMED` → "CONSUMED"). The
/// subsystem mask (`SKB_DROP_REASON_SUBSYS_MASK`) is not a reason and is left out.
pub fn reason_names(btf: &btf::Btf) -> io::Result<HashMap<u32, String>> {
    Ok(btf
        .enum_values("skb_drop_reason")?
        .into_iter()
        .filter(|(_, name)| !name.starts_with("SKB_DROP_REASON_SUBSYS_"))
        .map(|(v, name)| {
            let short = name.strip_prefix("SKB_DROP_REASON_").or_else(|| name.strip_prefix("SKB_")).unwrap_or(&name);
            (v as u32, short.to_string())
        })
        .collect())
}

fn needs_root(what: &str, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::EPERM) {
        io::Error::new(io::ErrorKind::PermissionDenied, format!("craft explain needs root (CAP_BPF and CAP_PERFMON): {what}: {e}"))
    } else {
        io::Error::new(e.kind(), format!("{what}: {e}"))
    }
}

impl DropWatch {
    /// Load and attach the drop watcher, with a 1 MiB ring buffer (about 4,500 drops
    /// between two polls).
    pub fn start() -> io::Result<DropWatch> {
        DropWatch::with_ring_size(RINGBUF_SIZE)
    }

    /// Like [`DropWatch::start`] with a ring buffer of `bytes` (a power of two, at least
    /// the page size); each drop takes [`RECORD_SIZE`] of it.
    pub fn with_ring_size(bytes: usize) -> io::Result<DropWatch> {
        let btf = btf::Btf::vmlinux()?;
        let offsets = prog::Offsets::from_btf(&btf)?;
        let args = prog::TpArgs::from_params(&btf.fn_ptr_params("btf_trace_kfree_skb")?)?;
        let reasons = reason_names(&btf)?;
        drop(btf);

        let ring = Ring::create(bytes, "craft_drops", "craft_lost")?;
        let insns = prog::build(args, &offsets, ring.map.as_raw_fd(), ring.lost.as_raw_fd());
        let prog = load(&insns, "craft_drops")?;
        let link = sys::raw_tracepoint_open("kfree_skb", &prog).map_err(|e| needs_root("attaching to the kfree_skb tracepoint", e))?;
        Ok(DropWatch { _link: link, _prog: prog, ring, reasons, kallsyms: kallsyms::Kallsyms::load() })
    }

    /// The drops recorded so far; if none, waits up to `timeout` for some.
    pub fn poll(&mut self, timeout: Duration) -> io::Result<Vec<DropEvent>> {
        let (reasons, kallsyms) = (&self.reasons, &self.kallsyms);
        self.ring.poll(timeout, |r, out| {
            if let Some(ev) = prog::Record::parse(r) {
                out.push(to_event(ev, reasons, kallsyms));
            }
        })
    }

    /// Like [`DropWatch::poll`], but appends the raw records (each [`prog::rec::SIZE`]
    /// bytes) to `raw` for [`DropWatch::decode`] later: a copy per drop and nothing else,
    /// for a watcher that must keep up with a flood. Returns how many.
    pub fn poll_raw(&mut self, timeout: Duration, raw: &mut Vec<u8>) -> io::Result<usize> {
        let n = self.ring.poll(timeout, |r, out: &mut Vec<()>| {
            if let Some(rec) = r.get(..prog::rec::SIZE) {
                raw.extend_from_slice(rec);
                out.push(());
            }
        })?;
        Ok(n.len())
    }

    /// A raw record of [`DropWatch::poll_raw`] as an event.
    pub fn decode(&self, raw: &[u8]) -> Option<DropEvent> {
        prog::Record::parse(raw).map(|r| to_event(r, &self.reasons, &self.kallsyms))
    }

    /// Drops the kernel reported while the ring buffer was full, so never seen by
    /// [`DropWatch::poll`]. Nonzero means a drop may have gone unexplained.
    pub fn lost(&self) -> io::Result<u64> {
        self.ring.lost()
    }

    /// The name of a reason code, as [`DropEvent::reason`] gives it.
    pub fn reason_name(&self, code: u32) -> String {
        name_of(code, &self.reasons)
    }
}

fn name_of(code: u32, reasons: &HashMap<u32, String>) -> String {
    reasons.get(&code).cloned().unwrap_or_else(|| format!("UNKNOWN_{code}"))
}

fn to_event(r: prog::Record, reasons: &HashMap<u32, String>, kallsyms: &kallsyms::Kallsyms) -> DropEvent {
    DropEvent {
        reason: name_of(r.reason, reasons),
        reason_code: r.reason,
        location: r.location,
        symbol: kallsyms.symbolize(r.location),
        time_ns: r.ts,
        ifindex: r.ifindex,
        ifname: r.ifname,
        netns: r.netns as u64,
        protocol: r.protocol,
        len: r.len,
        data: r.data,
        mac: r.mac,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn event(protocol: u16, data: Vec<u8>) -> DropEvent {
        DropEvent {
            reason: "NOT_SPECIFIED".into(),
            reason_code: 2,
            location: 0,
            symbol: String::new(),
            time_ns: 1,
            ifindex: 0,
            ifname: String::new(),
            netns: 0,
            protocol,
            len: data.len() as u32,
            data,
            mac: None,
        }
    }

    /// skb->protocol 0 (a packet socket's skb, ETH_P_ALL unset): the version nibble says
    /// IPv4 or IPv6, as for the path watcher's hops.
    #[test]
    fn protocol_0_is_dissected_by_the_version_nibble() {
        let v4 = (Ip::new().src("10.0.0.1").dst("10.0.0.2").id(0x77) / Udp::new().dport(9)).build();
        let p = event(0, v4.clone()).packet();
        let Some(Layer::Ip(ip)) = p.layers.first() else { panic!("{p:?}") };
        assert_eq!(ip.id, 0x77);
        assert!(p.find(LayerKind::Udp).is_some(), "{p:?}");
        assert_eq!(event(0x0003, v4.clone()).packet().layers[0].kind(), LayerKind::Ip);
        let v6 = (Ipv6::new().src("fd00::1").dst("fd00::2") / Udp::new().dport(9)).build();
        assert_eq!(event(0, v6).packet().layers[0].kind(), LayerKind::Ipv6);
        // Another protocol is not guessed at.
        assert_eq!(event(0x0806, v4).packet().layers[0].kind(), LayerKind::Raw);
    }
}
