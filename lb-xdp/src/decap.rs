//! The decap program's userspace: load, configure, attach, counters.
use crate::maps::Maps;
use crate::sys::Interface;
use anyhow::{Context as _, Result};
use aya::maps::{Array, DevMap, MapData};
use aya::programs::{Xdp, XdpMode};
use aya::Ebpf;
use lb_xdp_common::{DecapConfig, DecapCounter};

pub const MAP_NAMES: &[&str] = &["DECAP_CONFIG", "DECAP_COUNTERS", "DECAP_REDIRECT"];

/// A loaded decap program (and the `pass` program of the same object).
pub struct Decap {
    pub ebpf: Ebpf,
    pub maps: DecapMaps,
}

impl Decap {
    pub fn load() -> Result<Decap> {
        let (mut ebpf, maps) = crate::load(crate::ebpf::DECAP, "decap", MAP_NAMES)?;
        crate::load_program(&mut ebpf, "pass")?;
        Ok(Decap { ebpf, maps: DecapMaps(maps) })
    }

    pub fn program(&self) -> &Xdp {
        self.ebpf.program("decap").expect("loaded").try_into().expect("an XDP program")
    }

    /// The program that passes everything (for the far end of a veth, and as a floor).
    pub fn pass_program(&self) -> &Xdp {
        self.ebpf.program("pass").expect("loaded").try_into().expect("an XDP program")
    }

    pub fn attach(&mut self, iface: &str, mode: XdpMode) -> Result<()> {
        self.attach_program("decap", iface, mode)
    }

    pub fn attach_pass(&mut self, iface: &str, mode: XdpMode) -> Result<()> {
        self.attach_program("pass", iface, mode)
    }

    fn attach_program(&mut self, name: &str, iface: &str, mode: XdpMode) -> Result<()> {
        let program: &mut Xdp = self.ebpf.program_mut(name).expect("loaded").try_into()?;
        program.attach(iface, mode).with_context(|| format!("cannot attach {name} to {iface}"))?;
        Ok(())
    }
}

pub struct DecapMaps(pub Maps);

impl DecapMaps {
    pub fn from_pins(iface: &str) -> Result<DecapMaps> {
        Maps::from_pins(&crate::maps::pin_dir(iface), MAP_NAMES)
            .map(DecapMaps)
            .with_context(|| format!("no decap program runs on {iface}"))
    }

    /// GUE port, and where decapsulated packets go: the stack (None) or `redirect`, with
    /// their Ether destination rewritten to its MAC.
    pub fn configure(&mut self, gue_port: u16, redirect: Option<&Interface>) -> Result<()> {
        let config = DecapConfig {
            gue_port,
            redirect: redirect.is_some() as u8,
            redirect_mac: redirect.map_or([0; 6], |i| i.mac),
            ..DecapConfig::default()
        };
        if let Some(target) = redirect {
            DevMap::<&mut MapData>::try_from(self.0.get("DECAP_REDIRECT"))?
                .set(0, target.index, None, 0)
                .with_context(|| format!("cannot redirect to {}", target.name))?;
        }
        Array::<&mut MapData, DecapConfig>::try_from(self.0.get("DECAP_CONFIG"))?.set(0, config, 0)?;
        Ok(())
    }

    pub fn counters(&mut self) -> Result<Vec<(&'static str, u64)>> {
        let counts = self.0.per_cpu_sums::<u64, u64>("DECAP_COUNTERS", DecapCounter::COUNT, |s, v| *s += v, || 0)?;
        Ok(DecapCounter::ALL.iter().zip(counts).map(|(c, n)| (c.name(), n)).collect())
    }
}
