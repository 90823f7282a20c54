//! Network namespaces by inode, as the kernel's events name them: their names, a file to
//! enter one by, an interface's MAC inside one.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use crate::field::Mac;
use crate::live::Iface;

/// The calling thread's network namespace (inode of /proc/thread-self/ns/net).
pub fn current_netns() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()).unwrap_or(0)
}

/// Network namespace names by inode: those in /var/run/netns, and "host" for the initial
/// one (PID 1's).
pub fn netns_names() -> HashMap<u64, String> {
    let mut out = HashMap::new();
    if let Ok(m) = std::fs::metadata("/proc/1/ns/net") {
        out.insert(m.ino(), "host".to_string());
    }
    if let Ok(dir) = std::fs::read_dir("/var/run/netns") {
        for e in dir.flatten() {
            if let Ok(m) = std::fs::metadata(e.path()) {
                out.insert(m.ino(), e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The inode of named namespace `name`.
pub fn netns_inode(name: &str) -> io::Result<u64> {
    std::fs::metadata(format!("/var/run/netns/{name}"))
        .map(|m| m.ino())
        .map_err(|e| io::Error::new(e.kind(), format!("network namespace {name}: {e}")))
}

/// A path to a namespace file of inode `netns`: /var/run/netns/NAME, else some process's.
fn netns_path(netns: u64, names: &HashMap<u64, String>) -> Option<String> {
    if let Some(p) = names.get(&netns).map(|n| format!("/var/run/netns/{n}")).filter(|p| std::path::Path::new(p).exists()) {
        return Some(p);
    }
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let p = e.path().join("ns/net");
        if std::fs::metadata(&p).is_ok_and(|m| m.ino() == netns) {
            return Some(p.to_string_lossy().into_owned());
        }
    }
    None
}

/// `f` run in namespace `netns` (on a thread of its own unless it is the caller's).
fn in_netns<T: Send + 'static>(netns: u64, names: &HashMap<u64, String>, f: impl FnOnce() -> Option<T> + Send + 'static) -> Option<T> {
    if netns == current_netns() {
        return f();
    }
    let file = std::fs::File::open(netns_path(netns, names)?).ok()?;
    std::thread::spawn(move || {
        // SAFETY: file is an open namespace file; setns only changes this thread's netns.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        f()
    })
    .join()
    .ok()
    .flatten()
}

/// The MAC of interface `ifname` of namespace `netns`, looked up inside it.
pub(crate) fn iface_mac_in(netns: u64, ifname: &str, names: &HashMap<u64, String>) -> Option<Mac> {
    if ifname.is_empty() {
        return None;
    }
    let name = ifname.to_string();
    in_netns(netns, names, move || Iface::lookup(&name).ok().map(|i| i.mac))
}

/// The namespace of the other end of veth `ifname` of namespace `netns`: the peer's
/// namespace id as `netns` sees it (IFLA_LINK_NETNSID) matched against the id it gives
/// each named namespace and the host's (RTM_GETNSID). None when it has no peer or the
/// peer's namespace has no name.
pub fn veth_peer_netns(netns: u64, ifname: &str, names: &HashMap<u64, String>) -> Option<u64> {
    let name = ifname.to_string();
    let candidates: Vec<(u64, String)> = names
        .keys()
        .filter_map(|&ino| Some((ino, netns_path(ino, names)?)))
        .collect();
    in_netns(netns, names, move || {
        let ifindex = Iface::lookup(&name).ok()?.ifindex;
        let (_, nsid) = crate::live::link_peer(ifindex).ok()??;
        let Some(nsid) = nsid else { return Some(netns) };
        candidates.into_iter().find_map(|(ino, path)| {
            let file = std::fs::File::open(path).ok()?;
            (crate::live::netns_id(std::os::fd::AsFd::as_fd(&file)).ok()?? == nsid).then_some(ino)
        })
    })
}

pub(crate) fn ns_label(netns: u64, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} ({netns})"),
        None => format!("netns {netns}"),
    }
}

