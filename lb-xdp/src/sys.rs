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

/// Makes sure a bpf filesystem is mounted at /sys/fs/bpf (pinned maps live there).
pub fn ensure_bpffs() -> Result<()> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").context("cannot read /proc/self/mounts")?;
    if mounts.lines().any(|l| l.split_whitespace().nth(1) == Some(BPFFS) && l.split_whitespace().nth(2) == Some("bpf")) {
        return Ok(());
    }
    let status = std::process::Command::new("mount")
        .args(["-t", "bpf", "bpf", BPFFS])
        .status()
        .context("cannot run mount")?;
    if !status.success() {
        bail!("cannot mount bpffs on {BPFFS} (mount -t bpf bpf {BPFFS} failed)");
    }
    Ok(())
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
