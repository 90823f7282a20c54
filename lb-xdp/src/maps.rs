//! Typed access to the programs' maps, whether this process loaded them or they were
//! pinned by a running instance (so `lb-xdp backend add` and `stats` act on it).
use anyhow::{anyhow, Context as _, Result};
use aya::maps::{Map, MapData, PerCpuArray};
use aya::Pod;
use std::path::{Path, PathBuf};

/// Named maps, taken out of a loaded object or opened from their pins.
pub struct Maps {
    maps: Vec<(&'static str, Map)>,
}

impl Maps {
    pub fn take(ebpf: &mut aya::Ebpf, names: &[&'static str]) -> Result<Maps> {
        let maps = names
            .iter()
            .map(|&name| ebpf.take_map(name).map(|m| (name, m)).ok_or_else(|| anyhow!("the object has no map {name}")))
            .collect::<Result<_>>()?;
        Ok(Maps { maps })
    }

    pub fn from_pins(dir: &Path, names: &[&'static str]) -> Result<Maps> {
        let maps = names
            .iter()
            .map(|&name| {
                let path = dir.join(name);
                let data = MapData::from_pin(&path).with_context(|| format!("cannot open pinned map {}", path.display()))?;
                Ok((name, Map::from_map_data(data)?))
            })
            .collect::<Result<_>>()?;
        Ok(Maps { maps })
    }

    /// Pins every map as DIR/NAME; DIR must not exist yet (one instance per interface).
    pub fn pin(&self, dir: &Path) -> Result<()> {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::create_dir(dir).with_context(|| {
            format!("cannot create {} (is an instance already running on this interface? if not, remove the directory)", dir.display())
        })?;
        for (name, map) in &self.maps {
            let data: &MapData = match map {
                Map::Array(d) | Map::HashMap(d) | Map::LruHashMap(d) | Map::PerCpuArray(d) | Map::DevMap(d) => d,
                _ => return Err(anyhow!("map {name}: unexpected type")),
            };
            data.pin(dir.join(name)).with_context(|| format!("cannot pin map {name}"))?;
        }
        Ok(())
    }

    pub fn get(&mut self, name: &str) -> &mut Map {
        &mut self.maps.iter_mut().find(|(n, _)| *n == name).expect("map names are checked at load").1
    }

    /// The sum over CPUs of every slot of a per-CPU array.
    pub fn per_cpu_sums<T: Pod + Default, S>(&mut self, name: &str, len: u32, add: impl Fn(&mut S, &T), mut zero: impl FnMut() -> S) -> Result<Vec<S>> {
        let array = PerCpuArray::<&mut MapData, T>::try_from(self.get(name))?;
        (0..len)
            .map(|i| {
                let mut sum = zero();
                for v in array.get(&i, 0)?.iter() {
                    add(&mut sum, v);
                }
                Ok(sum)
            })
            .collect()
    }
}

/// Where an instance on `iface` pins its maps: bpffs is shared by all network namespaces,
/// interface names are not, so the directory names the calling thread's namespace too
/// (`/sys/fs/bpf/lb-xdp/net4026531840/eth0`).
pub fn pin_dir(iface: &str) -> PathBuf {
    let netns = craft::explain::netns::current_netns();
    Path::new(crate::sys::BPFFS).join("lb-xdp").join(format!("net{netns}")).join(iface)
}
