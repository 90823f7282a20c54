//! The director's userspace: loads the XDP program, fills its maps from a [`Config`],
//! changes backends of a running instance, reads its counters.
use crate::config::{addr_bytes, family, Config};
use crate::maglev::{self, Weighted};
use crate::maps::Maps;
use anyhow::{anyhow, bail, Context as _, Result};
use aya::maps::{Array, DevMap, MapData};
use aya::programs::{Xdp, XdpMode};
use aya::Ebpf;
use lb_xdp_common::{
    ring_position, Backend, DirectorConfig, DirectorCounter, RingRow, Traffic, VipBackends, VipKey,
    VipMeta, VipSlot, MAX_BACKENDS, MAX_VIPS, MAX_VIP_BACKENDS, RING_ROWS, RING_SIZE,
    VIP_ADDRESS_MARK, VIP_PROBES, VIP_SLOTS,
};
use std::net::IpAddr;

pub const MAP_NAMES: &[&str] = &[
    "CONFIG", "VIPS", "RING", "BACKENDS", "VIP_BACKENDS", "FLOWS4", "FLOWS6", "COUNTERS",
    "VIP_TRAFFIC", "BACKEND_TRAFFIC", "REDIRECT",
];

/// A loaded director program and its maps.
pub struct Director {
    pub ebpf: Ebpf,
    pub maps: DirectorMaps,
}

impl Director {
    /// Loads the program into the kernel (not attached yet).
    pub fn load() -> Result<Director> {
        let (ebpf, maps) = crate::load(crate::ebpf::DIRECTOR, "director", MAP_NAMES)?;
        Ok(Director { ebpf, maps: DirectorMaps(maps) })
    }

    pub fn program(&self) -> &Xdp {
        self.ebpf.program("director").expect("loaded").try_into().expect("an XDP program")
    }

    pub fn attach(&mut self, iface: &str, mode: XdpMode) -> Result<()> {
        let program: &mut Xdp = self.ebpf.program_mut("director").expect("loaded").try_into()?;
        program.attach(iface, mode).with_context(|| format!("cannot attach the director to {iface}"))?;
        Ok(())
    }
}

/// A VIP as the CLI names it: address, port (0: any), protocol number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipId {
    pub addr: IpAddr,
    pub port: u16,
    pub proto: u8,
}

impl VipId {
    fn key(&self) -> VipKey {
        VipKey::new(addr_bytes(self.addr), self.port, self.proto, family(self.addr))
    }
}

impl std::fmt::Display for VipId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = match self.proto {
            6 => "tcp".to_string(),
            17 => "udp".to_string(),
            p => p.to_string(),
        };
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}/{proto}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}/{proto}", self.port),
        }
    }
}

impl std::str::FromStr for VipId {
    type Err = anyhow::Error;
    /// `10.100.0.1:80/tcp`, `[fd00::1]:0/udp`.
    fn from_str(s: &str) -> Result<VipId> {
        let (sock, proto) = s.rsplit_once('/').ok_or_else(|| anyhow!("VIP '{s}': write ADDR:PORT/tcp or ADDR:PORT/udp"))?;
        let proto = match proto {
            "tcp" => 6,
            "udp" => 17,
            p => bail!("VIP '{s}': protocol '{p}' is neither tcp nor udp"),
        };
        let sock: std::net::SocketAddr = sock.parse().map_err(|_| anyhow!("VIP '{s}': '{sock}' is not ADDR:PORT ([ADDR]:PORT for IPv6)"))?;
        Ok(VipId { addr: sock.ip(), port: sock.port(), proto })
    }
}

/// What `stats` reports.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub counters: Vec<(&'static str, u64)>,
    pub vips: Vec<(VipId, Traffic)>,
    pub backends: Vec<(IpAddr, Traffic)>,
}

impl Stats {
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.iter().find(|(n, _)| *n == name).map_or(0, |c| c.1)
    }
}

/// The director's maps and what can be done with them.
pub struct DirectorMaps(pub Maps);

impl DirectorMaps {
    pub fn from_pins(iface: &str) -> Result<DirectorMaps> {
        let dir = crate::maps::pin_dir(iface);
        Maps::from_pins(&dir, MAP_NAMES).map(DirectorMaps).with_context(|| {
            // Some maps pinned but not all: a director of an lb-xdp with other tables.
            if MAP_NAMES.iter().any(|name| dir.join(name).exists()) {
                format!("the director on {iface} was started by an lb-xdp with other maps: stop it and start it with this one")
            } else {
                format!("no director runs on {iface}")
            }
        })
    }

    /// Writes the whole configuration: datapath settings, backends, VIPs and their tables.
    /// `src_mac` is the MAC of the interface the director is attached to; `redirect_ifindex`
    /// the interface encapsulated packets leave by, when not the ingress one.
    pub fn apply(&mut self, config: &Config, src_mac: [u8; 6], redirect_ifindex: Option<u32>) -> Result<()> {
        let datapath = DirectorConfig {
            src_v4: config.src_v4.map_or([0; 4], |a| a.octets()),
            src_v6: config.src_v6.map_or([0; 16], |a| a.octets()),
            src_mac,
            next_hop_mac: config.next_hop_mac.0,
            gue_port: config.gue_port,
            variant: config.gue_variant,
            redirect: redirect_ifindex.is_some() as u8,
        };
        if let Some(ifindex) = redirect_ifindex {
            let mut devmap = DevMap::<&mut MapData>::try_from(self.0.get("REDIRECT"))?;
            devmap.set(0, ifindex, None, 0).context("cannot set the redirect interface")?;
        }
        Array::<&mut MapData, DirectorConfig>::try_from(self.0.get("CONFIG"))?.set(0, datapath, 0)?;
        for (num, vip) in config.vips.iter().enumerate() {
            let id = VipId { addr: vip.addr, port: vip.port, proto: vip.proto.number() };
            let mut list = VipBackends::default();
            for b in &vip.backends {
                let backend = self.backend_num(b.addr, true)?;
                list.backends[list.count as usize] = backend;
                list.weights[list.count as usize] = b.weight;
                list.count += 1;
            }
            self.write_vip(num as u32, &VipBackends::default(), &list)?;
            self.insert_vip(id.key(), VipMeta { vip_num: num as u32, flags: 0 })
                .with_context(|| format!("cannot add VIP {id}"))?;
            let mark = VipKey::new(id.key().addr, 0, 0, id.key().family);
            self.insert_vip(mark, VipMeta { vip_num: u32::MAX, flags: VIP_ADDRESS_MARK })?;
        }
        Ok(())
    }

    /// Adds a backend to a VIP of a running director (or changes its weight).
    pub fn add_backend(&mut self, vip: VipId, addr: IpAddr, weight: u32) -> Result<()> {
        let num = self.vip_num(vip)?;
        let old = self.vip_backends(num)?;
        let backend = self.backend_num(addr, true)?;
        let mut new = old;
        match (0..new.count as usize).find(|&i| new.backends[i] == backend) {
            Some(i) => new.weights[i] = weight,
            None if (new.count as usize) < MAX_VIP_BACKENDS => {
                new.backends[new.count as usize] = backend;
                new.weights[new.count as usize] = weight;
                new.count += 1;
            }
            None => bail!("VIP {vip} already has {MAX_VIP_BACKENDS} backends"),
        }
        self.write_vip(num, &old, &new)
    }

    /// Removes a backend from a VIP. Its flows move to other backends; when no VIP uses it
    /// any more it is deactivated, so flows remembered for it are re-hashed.
    pub fn remove_backend(&mut self, vip: VipId, addr: IpAddr) -> Result<()> {
        let num = self.vip_num(vip)?;
        let old = self.vip_backends(num)?;
        let backend = self.backend_num(addr, false)?;
        let Some(at) = (0..old.count as usize).find(|&i| old.backends[i] == backend) else {
            bail!("{addr} is not a backend of VIP {vip}");
        };
        let mut new = old;
        new.backends.copy_within(at + 1..old.count as usize, at);
        new.weights.copy_within(at + 1..old.count as usize, at);
        new.count -= 1;
        self.write_vip(num, &old, &new)?;
        if !self.used_by_any_vip(backend)? {
            let mut backends = Array::<&mut MapData, Backend>::try_from(self.0.get("BACKENDS"))?;
            let mut b = backends.get(&backend, 0)?;
            b.active = 0;
            backends.set(backend, b, 0)?;
        }
        Ok(())
    }

    pub fn stats(&mut self) -> Result<Stats> {
        let counts = self.0.per_cpu_sums::<u64, u64>("COUNTERS", DirectorCounter::COUNT, |s, v| *s += v, || 0)?;
        let counters = DirectorCounter::ALL.iter().zip(counts).map(|(c, n)| (c.name(), n)).collect();
        let add = |s: &mut Traffic, v: &Traffic| {
            s.packets += v.packets;
            s.bytes += v.bytes;
        };
        let vip_traffic = self.0.per_cpu_sums("VIP_TRAFFIC", MAX_VIPS, add, Traffic::default)?;
        let backend_traffic = self.0.per_cpu_sums("BACKEND_TRAFFIC", MAX_BACKENDS, add, Traffic::default)?;
        let mut vips: Vec<(VipId, Traffic)> = self
            .vips()?
            .into_iter()
            .map(|(id, meta)| (id, vip_traffic[meta.vip_num as usize]))
            .collect();
        vips.sort_by_key(|(id, _)| (id.addr, id.port, id.proto));
        let backends = Array::<&mut MapData, Backend>::try_from(self.0.get("BACKENDS"))?;
        let mut listed = Vec::new();
        for num in 1..MAX_BACKENDS {
            let b = backends.get(&num, 0)?;
            if b.family != 0 {
                listed.push((to_ip(&b), backend_traffic[num as usize]));
            }
        }
        Ok(Stats { counters, vips, backends: listed })
    }

    fn vips(&mut self) -> Result<Vec<(VipId, VipMeta)>> {
        let table = Array::<&mut MapData, VipSlot>::try_from(self.0.get("VIPS"))?;
        let mut vips = Vec::new();
        for slot in 0..VIP_SLOTS {
            let VipSlot { key, meta } = table.get(&slot, 0)?;
            if key.family != 0 && meta.flags & VIP_ADDRESS_MARK == 0 {
                let addr = to_ip(&Backend { addr: key.addr, family: key.family, ..Backend::default() });
                vips.push((VipId { addr, port: key.port, proto: key.proto }, meta));
            }
        }
        Ok(vips)
    }

    /// Puts a key in the first free slot of its probe run (or updates it in place).
    fn insert_vip(&mut self, key: VipKey, meta: VipMeta) -> Result<()> {
        let mut table = Array::<&mut MapData, VipSlot>::try_from(self.0.get("VIPS"))?;
        for i in 0..VIP_PROBES {
            let slot = (key.home() + i) & (VIP_SLOTS - 1);
            let current = table.get(&slot, 0)?;
            if current.key.family == 0 || current.key == key {
                table.set(slot, VipSlot { key, meta }, 0)?;
                return Ok(());
            }
        }
        bail!("the VIP table has no free slot within {VIP_PROBES} of this VIP's home slot")
    }

    fn vip_num(&mut self, vip: VipId) -> Result<u32> {
        let key = vip.key();
        let table = Array::<&mut MapData, VipSlot>::try_from(self.0.get("VIPS"))?;
        for i in 0..VIP_PROBES {
            let slot = table.get(&((key.home() + i) & (VIP_SLOTS - 1)), 0)?;
            if slot.key == key {
                return Ok(slot.meta.vip_num);
            }
        }
        bail!("the director has no VIP {vip}")
    }

    fn vip_backends(&mut self, num: u32) -> Result<VipBackends> {
        Ok(Array::<&mut MapData, VipBackends>::try_from(self.0.get("VIP_BACKENDS"))?.get(&num, 0)?)
    }

    fn used_by_any_vip(&mut self, backend: u32) -> Result<bool> {
        let lists = Array::<&mut MapData, VipBackends>::try_from(self.0.get("VIP_BACKENDS"))?;
        for num in 0..MAX_VIPS {
            let list = lists.get(&num, 0)?;
            if list.backends[..list.count as usize].contains(&backend) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The number of the backend with this address (1..MAX_BACKENDS; 0 means none). With
    /// `create`, a new one is allocated (or a deactivated one revived).
    fn backend_num(&mut self, addr: IpAddr, create: bool) -> Result<u32> {
        let mut backends = Array::<&mut MapData, Backend>::try_from(self.0.get("BACKENDS"))?;
        let want = Backend { addr: addr_bytes(addr), family: family(addr), active: 1, _pad: [0; 2] };
        let mut free = None;
        for num in 1..MAX_BACKENDS {
            let b = backends.get(&num, 0)?;
            if b.family == want.family && b.addr == want.addr {
                if create && b.active == 0 {
                    backends.set(num, want, 0)?;
                }
                return Ok(num);
            }
            if b.family == 0 && free.is_none() {
                free = Some(num);
            }
        }
        if !create {
            bail!("{addr} is not a backend");
        }
        let num = free.ok_or_else(|| anyhow!("all {} backend slots are in use", MAX_BACKENDS - 1))?;
        backends.set(num, want, 0)?;
        Ok(num)
    }

    /// Rebuilds a VIP's Maglev table from `new` and writes the rows that differ from the
    /// table `old` gave (tables are a function of the backend list, so nothing is read).
    fn write_vip(&mut self, num: u32, old: &VipBackends, new: &VipBackends) -> Result<()> {
        let (old_rows, new_rows) = (ring_rows(num, &self.table(old)?), ring_rows(num, &self.table(new)?));
        let mut ring = Array::<&mut MapData, RingRow>::try_from(self.0.get("RING"))?;
        for ((index, before), (_, after)) in old_rows.iter().zip(&new_rows) {
            if before != after || old.count == 0 {
                ring.set(*index, *after, 0)?;
            }
        }
        Array::<&mut MapData, VipBackends>::try_from(self.0.get("VIP_BACKENDS"))?.set(num, new, 0)?;
        Ok(())
    }

    fn table(&mut self, list: &VipBackends) -> Result<Vec<u32>> {
        let backends = Array::<&mut MapData, Backend>::try_from(self.0.get("BACKENDS"))?;
        let weighted = (0..list.count as usize)
            .map(|i| {
                let b = backends.get(&list.backends[i], 0)?;
                Ok(Weighted { id: list.backends[i], key: b.addr, weight: list.weights[i] })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(maglev::build(&weighted, RING_SIZE))
    }
}

/// A VIP's Maglev table (backend numbers, empty: no backend) as the rows of the `RING` map
/// it fills, each with its index.
fn ring_rows(vip_num: u32, table: &[u32]) -> Vec<(u32, RingRow)> {
    let mut rows: Vec<(u32, RingRow)> = (0..RING_ROWS).map(|r| (vip_num * RING_ROWS + r, RingRow::default())).collect();
    for (slot, &backend) in table.iter().enumerate().take(RING_SIZE as usize) {
        let (row, column) = ring_position(vip_num, slot as u32);
        // Backend numbers are below MAX_BACKENDS, which fits 16 bits (checked in common).
        rows[(row - vip_num * RING_ROWS) as usize].1.slots[column] = backend as u16;
    }
    rows
}

fn to_ip(b: &Backend) -> IpAddr {
    if b.family == lb_xdp_common::FAMILY_V4 {
        IpAddr::from([b.addr[0], b.addr[1], b.addr[2], b.addr[3]])
    } else {
        IpAddr::from(b.addr)
    }
}
