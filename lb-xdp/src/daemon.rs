//! What the `lb-xdp` daemons share (and `lb-xdp-faults`, with the feature `faults`): the
//! director's run, the pin directory of a running instance, waiting for Ctrl-C.
use crate::config::Config;
use crate::director::Director;
use crate::maps::pin_dir;
use crate::sys::{self, Interface};
use anyhow::{bail, Context as _, Result};
use aya::programs::XdpMode;
use craft::signal::Termination;
use std::path::{Path, PathBuf};

/// What a director runs with: `--iface IF --config FILE [--mode M]` (both binaries).
#[derive(Debug, clap::Args)]
pub struct DirectorArgs {
    #[arg(long)]
    pub iface: String,
    /// The configuration (RON): VIPs, backends, outer addresses, next hop.
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
}

impl DirectorArgs {
    /// [`director`] with these arguments.
    pub fn run(&self, load: impl FnOnce() -> Result<Director>) -> Result<()> {
        director(&self.iface, &self.config, self.mode.into(), load)
    }
}

/// How an XDP program is attached (`--mode`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Mode {
    /// Native if the driver supports it, else generic.
    Auto,
    /// Native (driver) XDP.
    Native,
    /// Generic (skb) XDP.
    Generic,
}

impl From<Mode> for XdpMode {
    fn from(m: Mode) -> XdpMode {
        match m {
            Mode::Auto => XdpMode::Default,
            Mode::Native => XdpMode::Driver,
            Mode::Generic => XdpMode::Skb,
        }
    }
}

/// Runs a director on `iface` with the configuration at `config_path` until SIGINT or
/// SIGTERM: `load` loads its program (`Director::load`, the real one), its maps are
/// filled and pinned, the program attached.
pub fn director(iface: &str, config_path: &Path, mode: XdpMode, load: impl FnOnce() -> Result<Director>) -> Result<()> {
    let config = Config::load(config_path)?;
    let ingress = Interface::lookup(iface)?;
    let redirect = config.redirect.as_deref().map(Interface::lookup).transpose()?;
    let mut director = load()?;
    // The outer Ether source is the MAC of the interface the frame leaves by.
    let src_mac = redirect.as_ref().map_or(ingress.mac, |r| r.mac);
    director.maps.apply(&config, src_mac, redirect.as_ref().map(|r| r.index))?;
    let pins = Pins::create(iface, |dir| director.maps.0.pin(dir))?;
    director.attach(iface, mode)?;
    let backends: usize = config.vips.iter().map(|v| v.backends.len()).sum();
    run_until_signal(&format!(
        "director on {iface}: {} VIPs, {backends} backends, GUE variant {} to port {}, maps in {}; Ctrl-C to stop",
        config.vips.len(),
        config.gue_variant,
        config.gue_port,
        pins.0.display()
    ))
}

/// The pin directory of a running instance, removed when it stops (and lb-xdp's bpffs
/// with the last pin).
pub struct Pins(pub PathBuf);

impl Pins {
    pub fn create(iface: &str, pin: impl Fn(&Path) -> Result<()>) -> Result<Pins> {
        sys::ensure_bpffs()?;
        let dir = pin_dir(iface);
        if dir.exists() {
            if sys::has_xdp(iface) {
                bail!("an XDP program already runs on {iface} (maps in {}); stop it first", dir.display());
            }
            // Left by an instance that was killed: its program is gone with its link.
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove stale {}", dir.display()))?;
        }
        let pins = Pins(dir);
        if pin(&pins.0).is_err() {
            // Another instance may have just unmounted lb-xdp's empty bpffs: once more.
            sys::ensure_bpffs()?;
            pin(&pins.0)?;
        }
        Ok(pins)
    }
}

impl Drop for Pins {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        // The namespace's directory and lb-xdp's own too, once no instance is left in them
        // (remove_dir fails on a directory that is not empty).
        for dir in self.0.ancestors().skip(1).take(2) {
            let _ = std::fs::remove_dir(dir);
        }
        sys::release_bpffs();
    }
}

/// Prints `announcement` (the start line, ending "Ctrl-C to stop", that fixtures and tests
/// wait for) and blocks until SIGINT or SIGTERM; returning lets destructors detach and unpin.
/// The signals are caught before the line is printed, so one sent as soon as it is read
/// stops the daemon cleanly too.
pub fn run_until_signal(announcement: &str) -> Result<()> {
    let stop = Termination::install().context("cannot catch SIGINT/SIGTERM")?;
    println!("{announcement}");
    stop.wait();
    println!("stopping: detaching and removing the pinned maps");
    Ok(())
}
