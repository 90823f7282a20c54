//! Interfaces and bpffs: the few facts lb-xdp reads from the system.
use anyhow::{bail, Context as _, Result};
use std::path::Path;

/// An interface's index and MAC address.
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
}

impl Interface {
    pub fn lookup(name: &str) -> Result<Interface> {
        let dir = Path::new("/sys/class/net").join(name);
        if name.is_empty() || name.contains('/') || !dir.exists() {
            bail!("no interface named '{name}'");
        }
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file))
                .with_context(|| format!("cannot read {}/{file}", dir.display()))
                .map(|s| s.trim().to_string())
        };
        let index = read("ifindex")?.parse().context("bad ifindex")?;
        let mac = read("address")?
            .parse::<crate::config::Mac>()
            .map_err(anyhow::Error::msg)?
            .0;
        Ok(Interface { name: name.to_string(), index, mac })
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

/// The error to show when the kernel refuses a BPF operation for lack of privileges.
pub fn explain(err: anyhow::Error) -> anyhow::Error {
    let text = format!("{err:#}");
    if text.contains("Operation not permitted") || text.contains("EPERM") {
        return err.context("lb-xdp needs root (or CAP_BPF and CAP_NET_ADMIN)");
    }
    err
}
