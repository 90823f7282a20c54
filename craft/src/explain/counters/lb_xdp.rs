//! lb-xdp's own counters: what its director and decap programs counted, by reason, read
//! from the per-CPU arrays a running instance pins (`lb-xdp stats` shows the same numbers).
//!
//! An instance on interface IF of the namespace of inode N pins its maps in
//! `/sys/fs/bpf/lb-xdp/netN/IF/` (bpffs is shared by every namespace, so the directory
//! names the namespace): the director's counters are the map `COUNTERS`, the decap
//! program's `DECAP_COUNTERS`, both indexed by the counter enums of lb-xdp-common
//! ([`DirectorCounter`], [`DecapCounter`]), whose names they carry here. Source
//! "lb-xdp director IF" or "lb-xdp decap IF", name "malformed", "no_backend", "encap"...
//!
//! An XDP_DROP happens before the stack: no drop reason names it (on a veth the skb it
//! came in is freed as NOT_SPECIFIED in veth_xdp_rcv_skb; a frame that arrived without an
//! skb — a real NIC, a redirect — leaves no drop event at all), so these counters and the
//! driver's (`ethtool IF` rx_queue_N_xdp_drops) are what tells why. The drop counters have
//! a hint ([`hint`]) and so are problems ([`super::CounterDelta::is_problem`]).
//!
//! No bpffs, no lb-xdp directory or no pins: no counters and no warning. A pin that cannot
//! be read (no root: BPF_OBJ_GET needs CAP_BPF) is a warning of the snapshot.
//!
//! `ip netns exec` gives the command a mount namespace of its own with a fresh /sys, where
//! the host's bpffs is not mounted: so the pins are looked for in the caller's
//! /sys/fs/bpf and, when it has none, in the host's through `/proc/1/root` and the
//! parent processes' `/proc/PID/root` (those of another mount namespace). An lb-xdp
//! started with `ip netns exec` pins into a bpffs of its own that nobody else sees: start
//! it with `nsenter --net=/var/run/netns/NAME` instead.

use std::io;
use std::path::{Path, PathBuf};

use lb_xdp_common::{DecapCounter, DirectorCounter};

use super::Counter;
use crate::explain::sys::PerCpuArray;

/// Where lb-xdp pins its maps (`lb_xdp::maps::pin_dir`): `PIN_ROOT/net<inode>/<iface>/`.
pub const PIN_ROOT: &str = "/sys/fs/bpf/lb-xdp";

/// Which lb-xdp program a pin directory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    Director,
    Decap,
}

impl Program {
    /// The pinned per-CPU counter array.
    pub fn map(self) -> &'static str {
        match self {
            Program::Director => "COUNTERS",
            Program::Decap => "DECAP_COUNTERS",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Program::Director => "director",
            Program::Decap => "decap",
        }
    }

    /// The counters' source for an instance on `iface`: "lb-xdp director IF".
    pub fn source(self, iface: &str) -> String {
        format!("lb-xdp {} {iface}", self.name())
    }

    /// (index in the map, name) of every counter, in the enum's order.
    pub fn counters(self) -> Vec<(u32, &'static str)> {
        match self {
            Program::Director => DirectorCounter::ALL.iter().map(|&c| (c as u32, c.name())).collect(),
            Program::Decap => DecapCounter::ALL.iter().map(|&c| (c as u32, c.name())).collect(),
        }
    }

    /// The program of a source "lb-xdp PROGRAM IF".
    fn of_source(source: &str) -> Option<Program> {
        let rest = source.strip_prefix("lb-xdp ")?;
        match rest.split_once(' ').map_or(rest, |(p, _)| p) {
            "director" => Some(Program::Director),
            "decap" => Some(Program::Decap),
            _ => None,
        }
    }
}

/// Where to look for pins: [`PIN_ROOT`], then the same directory as PID 1 and the calling
/// process's ancestors see it in their mount namespaces (when it is another directory
/// than ours: `ip netns exec` hides the host's bpffs), those that exist.
pub fn pin_roots() -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let mut consider = |p: PathBuf| {
        if let Ok(m) = std::fs::metadata(&p) {
            if m.is_dir() && !seen.contains(&(m.dev(), m.ino())) {
                seen.push((m.dev(), m.ino()));
                out.push(p);
            }
        }
    };
    consider(PathBuf::from(PIN_ROOT));
    let own_mnt = std::fs::read_link("/proc/self/ns/mnt").ok();
    let mut pid = parent_of("self");
    let mut others = vec![1];
    for _ in 0..16 {
        match pid {
            Some(p) if p > 1 => {
                others.push(p);
                pid = parent_of(&p.to_string());
            }
            _ => break,
        }
    }
    for p in others {
        let mnt = std::fs::read_link(format!("/proc/{p}/ns/mnt")).ok();
        if mnt.is_some() && mnt != own_mnt {
            consider(Path::new(&format!("/proc/{p}/root")).join(PIN_ROOT.trim_start_matches('/')));
        }
    }
    out
}

/// The parent of process `pid` ("self" or a number), from /proc/PID/stat.
fn parent_of(pid: &str) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (comm) STATE PPID ...": comm may hold spaces and parentheses.
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// One running instance's counter map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub iface: String,
    pub program: Program,
    /// The pinned counter array.
    pub map: PathBuf,
}

/// The instances pinned under `root` (normally [`PIN_ROOT`]) for the namespace of inode
/// `netns`, by interface name; a directory with neither counter map is left out. Empty
/// when the directory is missing or unreadable.
pub fn pins(root: &Path, netns: u64) -> Vec<Pin> {
    let dir = root.join(format!("net{netns}"));
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<Pin> = entries
        .flatten()
        .filter_map(|e| {
            let iface = e.file_name().into_string().ok()?;
            [Program::Director, Program::Decap].into_iter().find_map(|program| {
                let map = e.path().join(program.map());
                map.exists().then(|| Pin { iface: iface.clone(), program, map })
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.iface, a.program.name()).cmp(&(&b.iface, b.program.name())));
    out
}

/// The counters of `program` on `iface`, named, from `sum(index)` (the sum over CPUs of a
/// slot; indexes past `len`, the map's size, are left out: an older or newer lb-xdp).
pub fn named(program: Program, iface: &str, len: u32, mut sum: impl FnMut(u32) -> io::Result<u64>) -> io::Result<Vec<Counter>> {
    let source = program.source(iface);
    program
        .counters()
        .into_iter()
        .filter(|&(i, _)| i < len)
        .map(|(i, name)| Ok(Counter { source: source.clone(), name: name.to_string(), value: sum(i)? as i64 }))
        .collect()
}

/// lb-xdp's counters in the namespace of inode `netns` (see the module doc), and what
/// could not be read.
pub fn read(netns: u64) -> (Vec<Counter>, Vec<String>) {
    let (mut counters, mut warnings) = (Vec::new(), Vec::new());
    let mut found: Vec<Pin> = Vec::new();
    for root in pin_roots() {
        for pin in pins(&root, netns) {
            // The same interface in two bpffs: one is stale (one XDP program per interface).
            if !found.iter().any(|f| f.iface == pin.iface && f.program == pin.program) {
                found.push(pin);
            }
        }
    }
    for pin in found {
        let got = PerCpuArray::open_pinned(&pin.map).and_then(|m| named(pin.program, &pin.iface, m.info.max_entries, |i| m.sum_u64(i)));
        match got {
            Ok(c) => counters.extend(c),
            // The instance stopped since the directory was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
                warnings.push(format!("lb-xdp {} counters on {} ({}): reading them needs root (CAP_BPF): {e}", pin.program.name(), pin.iface, pin.map.display()))
            }
            Err(e) => warnings.push(format!("lb-xdp {} counters on {} ({}): {e}", pin.program.name(), pin.iface, pin.map.display())),
        }
    }
    (counters, warnings)
}

/// The hint for an lb-xdp counter that went up (source "lb-xdp PROGRAM IF"): the drop
/// counters have one, traffic counters (pass, encap, tx, redirect...) none.
pub fn hint(source: &str, name: &str) -> Option<&'static str> {
    match Program::of_source(source)? {
        Program::Director => director_hint(*DirectorCounter::ALL.iter().find(|c| c.name() == name)?),
        Program::Decap => decap_hint(*DecapCounter::ALL.iter().find(|c| c.name() == name)?),
    }
}

// Every counter is listed, so that one added to lb-xdp-common needs a decision here.
fn director_hint(c: DirectorCounter) -> Option<&'static str> {
    use DirectorCounter as C;
    match c {
        C::Malformed => Some(
            "the director dropped TCP/UDP to a VIP whose header is cut (XDP_DROP, before the stack: no drop reason says why, only counters do) — send the whole TCP/UDP header",
        ),
        C::NoBackend => Some("the director dropped packets for a VIP that has no backend (XDP_DROP) — lb-xdp backend add"),
        C::NoHeadroom => Some(
            "the director could not grow the headroom for the GUE outer headers (bpf_xdp_adjust_head failed): dropped (XDP_DROP)",
        ),
        C::Pass | C::Encap | C::LruHit | C::LruMiss | C::Fragment | C::Ipv4Options | C::IcmpTooBig | C::Tx | C::Redirect => None,
    }
}

fn decap_hint(c: DecapCounter) -> Option<&'static str> {
    use DecapCounter as C;
    match c {
        C::Malformed => Some(
            "the decap program dropped malformed GUE on its port: bad version, hlen past the packet, unknown proto or a cut inner header (XDP_DROP, before the stack: only counters say why)",
        ),
        C::AdjustFailed => Some("the decap program could not strip the outer headers (bpf_xdp_adjust_head failed): dropped (XDP_DROP)"),
        C::Pass | C::DecapV0 | C::DecapV1 | C::Control | C::Redirect => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }

    #[test]
    fn pins_of_one_namespace_by_interface() {
        let root = std::env::temp_dir().join(format!("craft-lbxdp-pins-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert!(pins(&root, 7).is_empty(), "no directory: no pins");
        touch(&root.join("net7/vb/COUNTERS"));
        touch(&root.join("net7/vb/VIPS"));
        touch(&root.join("net7/va/DECAP_COUNTERS"));
        touch(&root.join("net7/va/DECAP_CONFIG"));
        std::fs::create_dir_all(root.join("net7/empty")).unwrap();
        touch(&root.join("net8/vb/COUNTERS"));
        let p = pins(&root, 7);
        assert_eq!(
            p,
            vec![
                Pin { iface: "va".into(), program: Program::Decap, map: root.join("net7/va/DECAP_COUNTERS") },
                Pin { iface: "vb".into(), program: Program::Director, map: root.join("net7/vb/COUNTERS") },
            ]
        );
        assert_eq!(pins(&root, 8).len(), 1);
        assert!(pins(&root, 9).is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn counters_are_named_by_the_enums() {
        let c = named(Program::Director, "vb", DirectorCounter::COUNT, |i| Ok(i as u64 * 10)).unwrap();
        assert_eq!(c.len(), DirectorCounter::ALL.len());
        assert!(c.iter().all(|x| x.source == "lb-xdp director vb"));
        let m = c.iter().find(|x| x.name == "malformed").unwrap();
        assert_eq!(m.value, DirectorCounter::Malformed as i64 * 10);
        assert_eq!(c[0].name, "pass");
        // A map smaller than the enum (an older lb-xdp): only what it has.
        let c = named(Program::Decap, "va", 2, |i| Ok(i as u64)).unwrap();
        assert_eq!(c.iter().map(|x| (x.source.as_str(), x.name.as_str(), x.value)).collect::<Vec<_>>(), [
            ("lb-xdp decap va", "pass", 0),
            ("lb-xdp decap va", "decap_v0", 1)
        ]);
        let e = named(Program::Decap, "va", 9, |_| Err(io::Error::other("gone"))).unwrap_err();
        assert_eq!(e.to_string(), "gone");
    }

    #[test]
    fn drop_counters_have_hints_traffic_counters_none() {
        assert!(hint("lb-xdp director vb", "malformed").unwrap().contains("XDP_DROP"));
        assert!(hint("lb-xdp director vb", "no_backend").unwrap().contains("backend add"));
        assert!(hint("lb-xdp director vb", "no_headroom").is_some());
        assert!(hint("lb-xdp decap va", "malformed").unwrap().contains("GUE"));
        assert!(hint("lb-xdp decap va", "adjust_failed").is_some());
        for name in ["pass", "encap", "lru_hit", "lru_miss", "tx", "redirect", "fragment"] {
            assert_eq!(hint("lb-xdp director vb", name), None, "{name}");
        }
        assert_eq!(hint("lb-xdp decap va", "decap_v0"), None);
        assert_eq!(hint("lb-xdp decap va", "no_backend"), None, "a director counter");
        assert_eq!(hint("lb-xdp other va", "malformed"), None);
        assert_eq!(hint("snmp", "malformed"), None);
    }

    #[test]
    fn parents_from_proc_stat() {
        let me = std::process::id();
        let ppid = parent_of("self").unwrap();
        assert_eq!(parent_of(&me.to_string()), Some(ppid));
        assert_ne!(ppid, me);
        assert_eq!(parent_of("no-such-pid"), None);
        // Never the same directory twice.
        let roots = pin_roots();
        let mut uniq = roots.clone();
        uniq.dedup();
        assert_eq!(roots, uniq);
    }

    #[test]
    fn nothing_pinned_reads_as_no_counters() {
        // No lb-xdp instance in a namespace of inode 1 (no namespace has it).
        assert_eq!(read(1), (Vec::new(), Vec::new()));
    }
}
