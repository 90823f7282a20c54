//! Neighbours: the next hop's MAC from the kernel's neighbour table (RTM_GETNEIGH), else by
//! an ARP who-has / ND neighbor solicitation on the interface's packet socket, cached for
//! [`MAC_CACHE_TTL`]; group (broadcast, multicast) addresses map to their MAC directly.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::netlink::{self, attrs};
use super::{family, parse_ip};
use crate::answers::answers;
use crate::field::Mac;
use crate::layers::{Arp, Ether, Icmpv6NdNs, Icmpv6NdOptSrcLladdr, Ipv6};
use crate::live::{cancelled, sys, CancelFlag, Iface, Result, SocketCache};
use crate::packet::{Layer, LayerKind, Packet};

const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;

const NUD_REACHABLE: u16 = 0x02;
const NUD_STALE: u16 = 0x04;
const NUD_DELAY: u16 = 0x08;
const NUD_PROBE: u16 = 0x10;
const NUD_PERMANENT: u16 = 0x80;
/// Entries with a usable MAC; INCOMPLETE (0x01), FAILED (0x20) and NOARP (0x40) are not.
const NUD_USABLE: u16 = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

/// How long a MAC learnt by [`resolve_mac`] is reused without asking again.
pub const MAC_CACHE_TTL: Duration = Duration::from_secs(30);

/// How often an unanswered ARP / ND request is sent again before the deadline.
const RETRY: Duration = Duration::from_millis(250);

/// The MAC of `ip` on interface `ifindex` from the kernel's neighbour table, if it has a
/// usable entry (reachable, stale, delay, probe or permanent; not incomplete or failed).
pub fn neighbor_get(ifindex: i32, ip: IpAddr) -> Result<Option<Mac>> {
    // struct ndmsg: family, pad1, pad2, ifindex, state, flags, type.
    let mut body = vec![0u8; 12];
    body[0] = family(ip);
    body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    let msgs = netlink::request(netlink::RTM_GETNEIGH, netlink::NLM_F_DUMP, &body)
        .map_err(|e| io::Error::new(e.kind(), format!("neighbour table: {e}")))?;
    for m in msgs.iter().filter(|m| m.ty == netlink::RTM_NEWNEIGH && m.payload.len() >= 12) {
        let p = &m.payload;
        let idx = i32::from_ne_bytes(p[4..8].try_into().unwrap());
        let state = u16::from_ne_bytes([p[8], p[9]]);
        if idx != ifindex || state & NUD_USABLE == 0 {
            continue;
        }
        let (mut dst, mut mac) = (None, None);
        for (ty, v) in attrs(&p[12..]) {
            match ty {
                NDA_DST => dst = parse_ip(v),
                NDA_LLADDR if v.len() == 6 => mac = Some(Mac(v.try_into().unwrap())),
                _ => {}
            }
        }
        if dst == Some(ip) && mac.is_some() {
            return Ok(mac);
        }
    }
    Ok(None)
}

/// The MAC a broadcast or multicast destination maps to, without resolution:
/// 255.255.255.255 to ff:ff:ff:ff:ff:ff, IPv4 multicast to 01:00:5e + low 23 bits, IPv6
/// multicast to 33:33 + low 32 bits.
pub fn group_mac(ip: IpAddr) -> Option<Mac> {
    match ip {
        IpAddr::V4(a) if a.is_broadcast() => Some(Mac::BROADCAST),
        IpAddr::V4(a) if a.is_multicast() => {
            let o = a.octets();
            Some(Mac([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]))
        }
        IpAddr::V6(a) if a.is_multicast() => {
            let o = a.octets();
            Some(Mac([0x33, 0x33, o[12], o[13], o[14], o[15]]))
        }
        _ => None,
    }
}

/// The solicited-node multicast address of `ip` (ff02::1:ffXX:XXXX).
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | o[13] as u16, u16::from_be_bytes([o[14], o[15]]))
}

type CacheKey = (u64, i32, Mac, IpAddr);

fn mac_cache() -> &'static Mutex<HashMap<CacheKey, (Mac, Instant)>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, (Mac, Instant)>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Forget every MAC [`resolve_mac`] learnt.
pub fn clear_mac_cache() {
    mac_cache().lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// The MAC of `next_hop` on `iface`: group addresses map directly; otherwise the process
/// cache, the kernel's neighbour table, then an ARP who-has (IPv4) or a neighbor
/// solicitation (IPv6) from `src`, sent on the interface's cached packet socket and
/// repeated every 250 ms until `timeout`. Ok(None): nobody answered in time.
pub fn resolve_mac(iface: &Iface, next_hop: IpAddr, src: IpAddr, timeout: Duration) -> Result<Option<Mac>> {
    resolve_mac_cancellable(iface, next_hop, src, timeout, None)
}

/// [`resolve_mac`] that gives up (Ok(None)) once `cancel` is set.
pub(super) fn resolve_mac_cancellable(
    iface: &Iface,
    next_hop: IpAddr,
    src: IpAddr,
    timeout: Duration,
    cancel: Option<&CancelFlag>,
) -> Result<Option<Mac>> {
    if let Some(mac) = group_mac(next_hop) {
        return Ok(Some(mac));
    }
    let deadline = Instant::now() + timeout;
    let key = (sys::netns_id(), iface.ifindex, iface.mac, next_hop);
    {
        let mut cache = mac_cache().lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(&key) {
            Some(&(mac, at)) if at.elapsed() < MAC_CACHE_TTL => return Ok(Some(mac)),
            Some(_) => {
                cache.remove(&key);
            }
            None => {}
        }
    }
    let found = match neighbor_get(iface.ifindex, next_hop)? {
        Some(mac) => Some(mac),
        None => solicit(iface, next_hop, src, deadline, cancel)?,
    };
    if let Some(mac) = found {
        mac_cache().lock().unwrap_or_else(|p| p.into_inner()).insert(key, (mac, Instant::now()));
    }
    Ok(found)
}

/// The who-has / neighbor solicitation for `target`.
fn solicitation(iface: &Iface, target: IpAddr, src: IpAddr) -> Result<Packet> {
    match (target, src) {
        (IpAddr::V4(t), IpAddr::V4(s)) => {
            Ok(Ether::new().src(iface.mac).dst(Mac::BROADCAST) / Arp::new().op(1u16).hwsrc(iface.mac).psrc(s).pdst(t))
        }
        (IpAddr::V6(t), IpAddr::V6(s)) => {
            let group = solicited_node(t);
            let dst = group_mac(IpAddr::V6(group)).unwrap_or(Mac::BROADCAST);
            Ok(Ether::new().src(iface.mac).dst(dst)
                / Ipv6::new().src(s).dst(group).hlim(255u8)
                / Icmpv6NdNs::new().tgt(t)
                / Icmpv6NdOptSrcLladdr::new().lladdr(iface.mac))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("source {src} and next hop {target} differ in family"),
        )),
    }
}

fn solicit(iface: &Iface, target: IpAddr, src: IpAddr, deadline: Instant, cancel: Option<&CancelFlag>) -> Result<Option<Mac>> {
    let request = solicitation(iface, target, src)?;
    let frame = request.build();
    let sock = SocketCache::global().get(&iface.name)?;
    // Readers of the shared socket take turns, so an srp on another thread keeps its replies.
    let _turn = sock.turn();
    let mut buf = Vec::new();
    let mut reply = Packet::new();
    let mut next_send = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline || cancelled(cancel) {
            return Ok(None);
        }
        if now >= next_send {
            sock.send(&frame)?;
            next_send = now + RETRY;
        }
        if sock.recv_or_cancel(&mut buf, next_send.min(deadline), cancel)?.is_none() {
            continue;
        }
        reply.dissect_into(&buf, LayerKind::Ether, &Default::default());
        if !answers(&reply, &request) {
            continue;
        }
        let mac = reply.layers.iter().find_map(|l| match l {
            Layer::Arp(a) => a.hwsrc,
            Layer::Icmpv6NdOptDstLladdr(o) => o.lladdr,
            _ => None,
        });
        let ether_src = match reply.layers.first() {
            Some(Layer::Ether(e)) => e.src,
            _ => None,
        };
        if let Some(mac) = mac.or(ether_src) {
            return Ok(Some(mac));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_macs() {
        let m = |s: &str| group_mac(s.parse().unwrap()).map(|m| m.to_string());
        assert_eq!(m("255.255.255.255").as_deref(), Some("ff:ff:ff:ff:ff:ff"));
        assert_eq!(m("224.0.0.251").as_deref(), Some("01:00:5e:00:00:fb"));
        assert_eq!(m("239.255.130.7").as_deref(), Some("01:00:5e:7f:82:07"));
        assert_eq!(m("ff02::1:ff00:2").as_deref(), Some("33:33:ff:00:00:02"));
        assert_eq!(m("10.0.0.1"), None);
        assert_eq!(m("fe80::1"), None);
        assert_eq!(
            solicited_node("fd00::12:3456:789a".parse().unwrap()),
            "ff02::1:ff56:789a".parse::<Ipv6Addr>().unwrap()
        );
    }
}
