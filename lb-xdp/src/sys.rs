//! Interfaces and bpffs: the few facts lb-xdp reads from the system.
use anyhow::{bail, Context as _, Result};

/// An interface's index and MAC address.
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    pub loopback: bool,
}

impl Interface {
    /// Looked up with ioctls, so it sees the network namespace of the calling thread
    /// (sysfs shows the namespace it was mounted in).
    pub fn lookup(name: &str) -> Result<Interface> {
        let iface = craft::live::Iface::lookup(name)?;
        let loopback = iface.flags & libc::IFF_LOOPBACK as u16 != 0;
        Ok(Interface { name: iface.name, index: iface.ifindex as u32, mac: iface.mac.0, loopback })
    }
}

/// The bpffs mount point; mounted here when nothing is.
pub const BPFFS: &str = "/sys/fs/bpf";

/// The source name of the bpffs lb-xdp mounts, which marks it as lb-xdp's in
/// /proc/self/mounts (a bpffs the system mounted says "bpf" or "none").
const OWN_MOUNT: &str = "lb-xdp";

/// The source of the bpffs mounted at /sys/fs/bpf, if one is.
fn bpffs_source() -> Result<Option<String>> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").context("cannot read /proc/self/mounts")?;
    Ok(mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&BPFFS) && f.get(2) == Some(&"bpf")).then(|| f[0].to_string())
    }))
}

/// Makes sure a bpf filesystem is mounted at /sys/fs/bpf (pinned maps live there).
pub fn ensure_bpffs() -> Result<()> {
    if bpffs_source()?.is_some() {
        return Ok(());
    }
    let status = std::process::Command::new("mount")
        .args(["-t", "bpf", OWN_MOUNT, BPFFS])
        .status()
        .context("cannot run mount")?;
    if !status.success() {
        bail!("cannot mount bpffs on {BPFFS} (mount -t bpf {OWN_MOUNT} {BPFFS} failed)");
    }
    Ok(())
}

/// Unmounts the bpffs [`ensure_bpffs`] mounted once nothing is pinned in it (the kernel's
/// own `*.debug` iterator files do not count); a bpffs the system mounted stays.
pub fn release_bpffs() {
    if bpffs_source().ok().flatten().as_deref() != Some(OWN_MOUNT) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(BPFFS) else { return };
    let pinned = entries.flatten().any(|e| !e.file_name().to_string_lossy().ends_with(".debug"));
    if !pinned {
        let _ = std::process::Command::new("umount").arg(BPFFS).status();
    }
}

/// An error as one line for humans: its chain joined with ": ", without the repeats
/// aya's nested errors make, and what is missing when the kernel said EPERM.
pub fn describe(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.ends_with(&text) || last == &text) {
            continue;
        }
        // "map error: failed to create map X" followed by "failed to create map X: ...".
        if let Some(last) = parts.last_mut() {
            if let Some(stripped) = text.strip_prefix(last.rsplit(": ").next().unwrap_or("")) {
                if !stripped.is_empty() && stripped.starts_with(':') {
                    *last = format!("{}{stripped}", last);
                    continue;
                }
            }
        }
        parts.push(text);
    }
    let mut line = parts.join(": ");
    if line.contains("Operation not permitted") {
        line.push_str(" (lb-xdp needs root, or CAP_BPF and CAP_NET_ADMIN)");
    }
    line
}

/// Whether an XDP program is attached to the interface (as `ip link` reports it).
pub fn has_xdp(iface: &str) -> bool {
    std::process::Command::new("ip")
        .args(["-o", "link", "show", "dev", iface])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(" xdp"))
        .unwrap_or(false)
}
