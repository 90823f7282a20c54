//! The kernel's counters, per network namespace: snapshots and the deltas between two, with
//! a one-line hint for the counters that name a datapath problem.
//!
//! ```no_run
//! use craft::explain::counters::{snapshot, Netns};
//! let ns = [Netns::Current, Netns::Named("t33".into())];   // another namespace: root
//! let before = snapshot(&ns)?;
//! // ... send packets ...
//! for d in before.delta(&snapshot(&ns)?) {
//!     println!("{d}");   // netns t33 (4026532…): snmp UdpNoPorts +1 — UDP to a port nobody listens on…
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! What is read, per namespace: /proc/net/snmp and /proc/net/snmp6 (source "snmp"),
//! /proc/net/netstat (TcpExt, IpExt, MPTcpExt: "netstat"), /proc/net/dev ("dev IF"), the
//! driver's ethtool statistics (`ethtool -S`, SIOCETHTOOL: "ethtool IF"; veth gives
//! rx_queue_N_xdp_drops, rx_queue_N_xdp_tx_errors, tx_queue_N_xdp_xmit_errors, peer_…), and
//! the link state from the interface flags ("link IF": `up` = IFF_UP, `carrier` =
//! IFF_RUNNING, 1 or 0), and the counters of the lb-xdp instances running in the namespace
//! ("lb-xdp director IF", "lb-xdp decap IF": the per-CPU arrays they pin, summed, named by
//! lb-xdp-common; see [`lb_xdp`]). snmp and netstat counters carry nstat's names: section
//! and field joined ("IpInHdrErrors", "UdpNoPorts", "TcpExtListenOverflows",
//! "IpExtInCsumErrors").
//!
//! /proc/net shows the namespace of the thread that reads it, so another namespace is read
//! on a short-lived thread that entered it (setns; needs root: CAP_SYS_ADMIN); the
//! caller's thread never changes namespace.

mod hint;
mod ioctl;
pub mod lb_xdp;
pub mod parse;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use hint::hint;

/// Where `ip netns` keeps its named namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";

/// A network namespace to read: the caller's, a named one (/var/run/netns/NAME), or by path
/// (/proc/PID/ns/net, a bind mount...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Netns {
    Current,
    Named(String),
    Path(PathBuf),
}

impl fmt::Display for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netns::Current => f.write_str("the current network namespace"),
            Netns::Named(n) => write!(f, "network namespace {n}"),
            Netns::Path(p) => write!(f, "network namespace {}", p.display()),
        }
    }
}

/// One interface's link state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// IFF_RUNNING: up with a carrier (`ip link` shows NO-CARRIER when up and not running).
    pub running: bool,
}

/// One counter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// "snmp", "netstat", "dev IF", "ethtool IF", "link IF", "lb-xdp director IF",
    /// "lb-xdp decap IF".
    pub source: String,
    pub name: String,
    pub value: i64,
}

/// The counters of one namespace at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsCounters {
    /// The namespace's inode (as `stat -L /var/run/netns/NAME` or `readlink
    /// /proc/PID/ns/net` shows it, and as [`super::DropEvent::netns`] gives it).
    pub inode: u64,
    /// Its name under /var/run/netns, when it has one.
    pub name: Option<String>,
    /// In a stable order: snmp, netstat, then per interface (in /proc/net/dev order) dev,
    /// ethtool, link; then lb-xdp's, per instance by interface name.
    pub counters: Vec<Counter>,
    pub links: Vec<Link>,
    /// What could not be read (an interface's ethtool statistics...), for humans; the rest
    /// of the snapshot is still good.
    pub warnings: Vec<String>,
}

/// The counters of a set of namespaces at one time. Namespaces are matched by inode
/// between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub netns: Vec<NetnsCounters>,
}

/// A counter that changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterDelta {
    /// The namespace's inode.
    pub netns: u64,
    pub netns_name: Option<String>,
    /// "snmp", "netstat", "dev IF", "ethtool IF", "link IF", "lb-xdp director IF"...
    pub source: String,
    /// "IpInHdrErrors", "TcpExtTCPReqQFullDrop", "rx_dropped", "rx_queue_0_xdp_drops",
    /// "carrier", "malformed"...
    pub name: String,
    pub before: i64,
    pub after: i64,
    /// Why this counter going up (a link's `carrier`/`up` going to 0) matters, when known.
    pub hint: Option<&'static str>,
}

impl CounterDelta {
    pub fn change(&self) -> i64 {
        self.after.wrapping_sub(self.before)
    }

    /// The interface of a "dev IF", "ethtool IF", "link IF" or "lb-xdp PROGRAM IF" counter
    /// (the source's last word: interface names have no spaces).
    pub fn iface(&self) -> Option<&str> {
        self.source.rsplit_once(' ').map(|(_, i)| i)
    }

    /// Whether this delta tells of a problem: it has a hint, or its name speaks of drops,
    /// errors or failures (rather than traffic: packets, bytes, InReceives...).
    pub fn is_problem(&self) -> bool {
        if self.hint.is_some() {
            return true;
        }
        if self.source.starts_with("link ") {
            return self.after < self.before;
        }
        let n = self.name.to_ascii_lowercase();
        self.change() > 0
            && ["drop", "err", "fail", "overflow", "noport", "noroute", "discard", "unknown"].iter().any(|w| n.contains(w))
    }
}

impl fmt::Display for CounterDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.netns_name {
            Some(n) => write!(f, "netns {n} ({}): ", self.netns)?,
            None => write!(f, "netns {}: ", self.netns)?,
        }
        if self.source.starts_with("link ") {
            let state = |v: i64| if v != 0 { "yes" } else { "no" };
            write!(f, "{} {} {} → {}", self.source, self.name, state(self.before), state(self.after))?;
        } else {
            write!(f, "{} {} {:+}", self.source, self.name, self.change())?;
        }
        if let Some(h) = self.hint {
            write!(f, " — {h}")?;
        }
        Ok(())
    }
}

impl Snapshot {
    /// The counters that changed from `self` to `later`: per namespace of `later` (in its
    /// order) found in `self` by inode, in the counters' order. Counters, interfaces and
    /// namespaces present in only one of the two are left out.
    pub fn delta(&self, later: &Snapshot) -> Vec<CounterDelta> {
        let mut out = Vec::new();
        for ns in &later.netns {
            let Some(old) = self.netns.iter().find(|o| o.inode == ns.inode) else { continue };
            let before: HashMap<(&str, &str), i64> =
                old.counters.iter().map(|c| ((c.source.as_str(), c.name.as_str()), c.value)).collect();
            for c in &ns.counters {
                let Some(&b) = before.get(&(c.source.as_str(), c.name.as_str())) else { continue };
                if b == c.value {
                    continue;
                }
                let worse = if c.source.starts_with("link ") { c.value < b } else { c.value > b };
                out.push(CounterDelta {
                    netns: ns.inode,
                    netns_name: ns.name.clone().or_else(|| old.name.clone()),
                    source: c.source.clone(),
                    name: c.name.clone(),
                    before: b,
                    after: c.value,
                    hint: if worse { hint(&c.source, &c.name) } else { None },
                });
            }
        }
        out
    }

    /// Links that carry nothing at the time of this snapshot: down, or up without a carrier
    /// (NO-CARRIER) — a frame sent there went nowhere. (namespace inode, interface name).
    pub fn links_down(&self) -> Vec<(u64, String)> {
        self.netns
            .iter()
            .flat_map(|ns| ns.links.iter().filter(|l| !l.running).map(|l| (ns.inode, l.name.clone())))
            .collect()
    }

    /// The counters of the namespace with this inode.
    pub fn get(&self, inode: u64) -> Option<&NetnsCounters> {
        self.netns.iter().find(|n| n.inode == inode)
    }
}

impl NetnsCounters {
    /// A counter's value ("snmp", "UdpNoPorts").
    pub fn value(&self, source: &str, name: &str) -> Option<i64> {
        self.counters.iter().find(|c| c.source == source && c.name == name).map(|c| c.value)
    }
}

/// The named network namespaces (/var/run/netns entries), sorted; empty when none.
pub fn named_netns() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(NETNS_DIR)
        .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The inode of a namespace file, or of the calling thread's namespace.
pub fn netns_inode(netns: &Netns) -> io::Result<u64> {
    Ok(std::fs::metadata(netns_path(netns))
        .map_err(|e| open_error(netns, &netns_path(netns), e))?
        .ino())
}

fn netns_path(netns: &Netns) -> PathBuf {
    match netns {
        Netns::Current => PathBuf::from("/proc/thread-self/ns/net"),
        Netns::Named(n) => Path::new(NETNS_DIR).join(n),
        Netns::Path(p) => p.clone(),
    }
}

fn open_error(netns: &Netns, path: &Path, e: io::Error) -> io::Error {
    let extra = match (netns, e.kind()) {
        (Netns::Named(_), io::ErrorKind::NotFound) => {
            let names = named_netns();
            if names.is_empty() {
                " (there are no named namespaces)".to_string()
            } else {
                format!(" (named namespaces: {})", names.join(", "))
            }
        }
        _ => String::new(),
    };
    io::Error::new(e.kind(), format!("{netns}: {}: {e}{extra}", path.display()))
}

/// The name under /var/run/netns of the namespace with this inode.
fn name_of(inode: u64) -> Option<String> {
    named_netns().into_iter().find(|n| std::fs::metadata(Path::new(NETNS_DIR).join(n)).ok().map(|m| m.ino()) == Some(inode))
}

/// Read the counters of every namespace given, in that order (a namespace given twice is
/// read twice). The caller's own namespace is read on the caller's thread; every other one
/// on a short-lived thread that enters it (setns: root, CAP_SYS_ADMIN) — the caller's thread
/// never changes namespace.
pub fn snapshot(netns: &[Netns]) -> io::Result<Snapshot> {
    let mut out = Snapshot::default();
    for ns in netns {
        let counters = match ns {
            Netns::Current => read_here(None),
            other => {
                let path = netns_path(other);
                let file = File::open(&path).map_err(|e| open_error(other, &path, e))?;
                let inode = file.metadata().map_err(|e| open_error(other, &path, e))?.ino();
                let name = match other {
                    Netns::Named(n) => Some(n.clone()),
                    _ => None,
                };
                let who = other.clone();
                std::thread::scope(|s| {
                    s.spawn(move || {
                        // SAFETY: file is an open namespace file; setns changes only this
                        // thread's network namespace, and the thread ends after reading.
                        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                            return Err(setns_error(&who, io::Error::last_os_error()));
                        }
                        let mut c = read_here(name)?;
                        if c.inode != inode {
                            return Err(io::Error::other(format!("{who}: entered namespace {} instead of {inode}", c.inode)));
                        }
                        c.inode = inode;
                        Ok(c)
                    })
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other(format!("reading the counters of {ns}: the reader panicked"))))
                })
            }
        }?;
        out.netns.push(counters);
    }
    Ok(out)
}

fn setns_error(netns: &Netns, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EPERM) => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("reading the counters of {netns} needs root (CAP_SYS_ADMIN to enter it): setns: {e}"),
        ),
        Some(libc::EINVAL) => io::Error::new(io::ErrorKind::InvalidInput, format!("{netns}: not a network namespace file: setns: {e}")),
        _ => io::Error::new(e.kind(), format!("entering {netns}: setns: {e}")),
    }
}

fn read_proc(file: &str) -> io::Result<String> {
    let path = format!("/proc/thread-self/net/{file}");
    std::fs::read_to_string(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

/// The counters of the calling thread's namespace.
fn read_here(name: Option<String>) -> io::Result<NetnsCounters> {
    let inode = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| io::Error::new(e.kind(), format!("/proc/thread-self/ns/net: {e}")))?
        .ino();
    let name = name.or_else(|| name_of(inode));
    let mut counters = Vec::new();
    let mut warnings = Vec::new();
    let mut push = |source: &str, list: Vec<(String, i64)>| {
        counters.extend(list.into_iter().map(|(name, value)| Counter { source: source.to_string(), name, value }));
    };
    push("snmp", parse::sectioned(&read_proc("snmp")?, &["IcmpMsg"]));
    match read_proc("snmp6") {
        // Icmp6InType…/OutType… lines appear when first counted: not comparable, left out.
        Ok(t) => push("snmp", parse::flat(&t).into_iter().filter(|(n, _)| !n.starts_with("Icmp6InType") && !n.starts_with("Icmp6OutType")).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {} // IPv6 disabled
        Err(e) => warnings.push(e.to_string()),
    }
    match read_proc("netstat") {
        Ok(t) => push("netstat", parse::sectioned(&t, &[])),
        Err(e) => warnings.push(e.to_string()),
    }

    let devs = parse::dev(&read_proc("dev")?);
    let sock = ioctl::Sock::new().map_err(|e| io::Error::new(e.kind(), format!("a socket for interface ioctls: {e}")))?;
    let mut links = Vec::new();
    for (ifname, stats) in devs {
        let dev_source = format!("dev {ifname}");
        counters.extend(stats.into_iter().map(|(n, v)| Counter { source: dev_source.clone(), name: n.to_string(), value: v }));
        if ifname != "lo" {
            match sock.ethtool_stats(&ifname) {
                Ok(stats) => {
                    let source = format!("ethtool {ifname}");
                    counters.extend(stats.into_iter().map(|(n, v)| Counter { source: source.clone(), name: n, value: v as i64 }));
                }
                // Gone since /proc/net/dev was read.
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
                Err(e) => warnings.push(format!("{ifname}: ethtool statistics: {e}")),
            }
        }
        match sock.flags(&ifname) {
            Ok(flags) => {
                let up = flags & libc::IFF_UP as u32 != 0;
                let running = flags & libc::IFF_RUNNING as u32 != 0;
                let source = format!("link {ifname}");
                counters.push(Counter { source: source.clone(), name: "up".into(), value: up as i64 });
                counters.push(Counter { source, name: "carrier".into(), value: running as i64 });
                links.push(Link { name: ifname, up, running });
            }
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
            Err(e) => warnings.push(format!("{ifname}: flags: {e}")),
        }
    }
    let (lb, lb_warnings) = lb_xdp::read(inode);
    counters.extend(lb);
    warnings.extend(lb_warnings);
    Ok(NetnsCounters { inode, name, counters, links, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(inode: u64, counters: &[(&str, &str, i64)]) -> NetnsCounters {
        NetnsCounters {
            inode,
            name: Some(format!("n{inode}")),
            counters: counters.iter().map(|&(s, n, v)| Counter { source: s.into(), name: n.into(), value: v }).collect(),
            links: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn delta_keeps_changes_in_order_with_hints() {
        let a = Snapshot {
            netns: vec![
                ns(1, &[("snmp", "IpInReceives", 5), ("snmp", "UdpNoPorts", 0), ("link va", "carrier", 1)]),
                ns(2, &[("snmp", "UdpNoPorts", 3)]),
            ],
        };
        let b = Snapshot {
            netns: vec![
                ns(2, &[("snmp", "UdpNoPorts", 3)]),
                ns(1, &[("snmp", "IpInReceives", 6), ("snmp", "UdpNoPorts", 2), ("link va", "carrier", 0), ("snmp", "New", 1)]),
                ns(3, &[("snmp", "UdpNoPorts", 9)]),
            ],
        };
        let d = a.delta(&b);
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!((d[0].name.as_str(), d[0].before, d[0].after, d[0].hint), ("IpInReceives", 5, 6, None));
        assert!(!d[0].is_problem());
        assert_eq!(d[1].name, "UdpNoPorts");
        assert!(d[1].is_problem());
        assert_eq!(d[1].to_string(), format!("netns n1 (1): snmp UdpNoPorts +2 — {}", d[1].hint.unwrap()));
        assert_eq!(d[2].iface(), Some("va"));
        assert_eq!(d[0].iface(), None);
        assert!(d[2].to_string().starts_with("netns n1 (1): link va carrier yes → no — link has no carrier"), "{}", d[2]);
        // Going back up is no problem.
        let back = b.delta(&a);
        let up = back.iter().find(|d| d.name == "carrier").unwrap();
        assert_eq!(up.hint, None);
        assert!(!up.is_problem());
    }

    #[test]
    fn lb_xdp_drop_counters_are_problems_with_hints() {
        let a = Snapshot { netns: vec![ns(4, &[("lb-xdp director vb", "malformed", 3), ("lb-xdp director vb", "encap", 10)])] };
        let b = Snapshot { netns: vec![ns(4, &[("lb-xdp director vb", "malformed", 4), ("lb-xdp director vb", "encap", 12)])] };
        let d = a.delta(&b);
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!((d[0].name.as_str(), d[0].change(), d[0].iface()), ("malformed", 1, Some("vb")));
        assert!(d[0].is_problem());
        assert_eq!(d[0].to_string(), format!("netns n4 (4): lb-xdp director vb malformed +1 — {}", lb_xdp::hint("lb-xdp director vb", "malformed").unwrap()));
        assert!(d[0].to_string().contains("header is cut (XDP_DROP"), "{}", d[0]);
        // Traffic: no hint, no problem.
        assert_eq!((d[1].name.as_str(), d[1].hint), ("encap", None));
        assert!(!d[1].is_problem());
    }

    #[test]
    fn current_namespace_reads_without_root() {
        let s = snapshot(&[Netns::Current]).expect("snapshot");
        let here = &s.netns[0];
        assert_eq!(here.inode, netns_inode(&Netns::Current).unwrap());
        assert!(here.value("snmp", "IpInReceives").is_some(), "{here:#?}");
        assert!(here.value("snmp", "UdpNoPorts").is_some());
        assert!(here.value("dev lo", "rx_packets").is_some());
        assert!(here.links.iter().any(|l| l.name == "lo"));
        assert!(s.delta(&s).is_empty());
    }

    #[test]
    fn missing_namespace_is_a_clear_error() {
        let e = snapshot(&[Netns::Named("craft-no-such-netns".into())]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("network namespace craft-no-such-netns"), "{e}");
        let e = snapshot(&[Netns::Path("/etc/hostname".into())]).unwrap_err();
        assert!(e.to_string().contains("/etc/hostname"), "{e}");
    }
}
