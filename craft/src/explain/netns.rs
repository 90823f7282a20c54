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

/// The MAC of interface `ifname` of namespace `netns`, looked up inside it.
pub(crate) fn iface_mac_in(netns: u64, ifname: &str, names: &HashMap<u64, String>) -> Option<Mac> {
    if ifname.is_empty() {
        return None;
    }
    if netns == current_netns() {
        return Iface::lookup(ifname).ok().map(|i| i.mac);
    }
    let file = std::fs::File::open(netns_path(netns, names)?).ok()?;
    let name = ifname.to_string();
    std::thread::spawn(move || {
        // SAFETY: file is an open namespace file; setns only changes this thread's netns.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        Iface::lookup(&name).ok().map(|i| i.mac)
    })
    .join()
    .ok()
    .flatten()
}

pub(crate) fn ns_label(netns: u64, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} ({netns})"),
        None => format!("netns {netns}"),
    }
}

