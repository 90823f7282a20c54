//! Routing for L3 sending, as scapy does it: the egress interface and source address from the
//! kernel's routing table, the next hop's MAC from the neighbour table or by ARP / ND.
//!
//! * [`route_get`]: RTM_GETROUTE for one destination (IPv4 or IPv6); [`route_get_via`]: the
//!   same out of a given interface.
//! * [`neighbor_get`]: a usable entry of the kernel's neighbour table.
//! * [`resolve_mac`]: neighbour table, else an ARP who-has / ND neighbor solicitation sent on
//!   the interface's packet socket; results are cached for [`MAC_CACHE_TTL`].
//! * [`fill_l3`]: an IP / IPv6 packet to an Ethernet frame ready for a [`PacketSocket`].
//!
//! Everything runs in the calling thread's network namespace.
//!
//! [`PacketSocket`]: super::PacketSocket

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

mod netlink;

use super::{sys, CancelFlag, Iface, Result, SocketCache};
use crate::answers::answers;
use crate::field::Mac;
use crate::layers::{Arp, Ether, Icmpv6NdNs, Icmpv6NdOptSrcLladdr, Ipv6};
use crate::packet::{Layer, LayerKind, Packet};
use netlink::{attrs, push_attr};

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PREFSRC: u16 = 7;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

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

/// What kind of route the kernel chose (rtm_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    /// The destination is an address of this host.
    Local,
    Broadcast,
    Multicast,
    Other(u8),
}

impl From<u8> for RouteKind {
    fn from(v: u8) -> RouteKind {
        match v {
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            5 => RouteKind::Multicast,
            v => RouteKind::Other(v),
        }
    }
}

/// The kernel's route to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpAddr,
    pub ifindex: i32,
    pub ifname: String,
    /// Preferred source address (RTA_PREFSRC), when the kernel gives one.
    pub src: Option<IpAddr>,
    /// The gateway (RTA_GATEWAY) when the destination is not on the link.
    pub gateway: Option<IpAddr>,
    pub kind: RouteKind,
}

impl Route {
    /// The host whose MAC the frame goes to: the gateway, else the destination.
    pub fn next_hop(&self) -> IpAddr {
        self.gateway.unwrap_or(self.dst)
    }
}

fn family(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn parse_ip(data: &[u8]) -> Option<IpAddr> {
    match data.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?))),
        _ => None,
    }
}

/// The route the kernel would use to send to `dst` (RTM_GETROUTE, as `ip route get`).
/// "no route to 10.9.9.9" when there is none.
pub fn route_get(dst: IpAddr) -> Result<Route> {
    route_request(dst, None)
}

/// The route to `dst` out of interface `ifindex` (as `ip route get DST oif IF`). For IPv4 the
/// kernel takes a destination with no route through that interface as on-link there; for
/// IPv6 it has no route then: "no route to ...".
pub fn route_get_via(dst: IpAddr, ifindex: i32) -> Result<Route> {
    route_request(dst, Some(ifindex))
}

fn route_request(dst: IpAddr, oif: Option<i32>) -> Result<Route> {
    let no_route = || io::Error::new(io::ErrorKind::NotFound, format!("no route to {dst}"));
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    let mut body = vec![family(dst), if dst.is_ipv4() { 32 } else { 128 }, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    push_attr(&mut body, RTA_DST, &ip_bytes(dst));
    if let Some(i) = oif {
        push_attr(&mut body, RTA_OIF, &i.to_ne_bytes());
    }
    let msgs = netlink::request(netlink::RTM_GETROUTE, 0, &body).map_err(|e| match e.raw_os_error() {
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => no_route(),
        _ => io::Error::new(e.kind(), format!("route to {dst}: {e}")),
    })?;
    let m = msgs.iter().find(|m| m.ty == netlink::RTM_NEWROUTE && m.payload.len() >= 12).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("route to {dst}: no route in the kernel's reply"))
    })?;
    let kind = RouteKind::from(m.payload[7]);
    if let RouteKind::Other(t) = kind {
        // 6 blackhole, 7 unreachable, 8 prohibit, 9 throw.
        if (6..=9).contains(&t) {
            return Err(no_route());
        }
    }
    let (mut oif, mut src, mut gateway) = (None, None, None);
    for (ty, v) in attrs(&m.payload[12..]) {
        match ty {
            RTA_OIF if v.len() == 4 => oif = Some(i32::from_ne_bytes(v.try_into().unwrap())),
            RTA_PREFSRC => src = parse_ip(v),
            RTA_GATEWAY => gateway = parse_ip(v),
            _ => {}
        }
    }
    let ifindex = oif.ok_or_else(no_route)?;
    let ifname = ifname(ifindex)?;
    Ok(Route { dst, ifindex, ifname, src, gateway, kind })
}

/// The name of interface `ifindex` of the calling thread's namespace (RTM_GETLINK).
pub fn ifname(ifindex: i32) -> Result<String> {
    // struct ifinfomsg: family, pad, type, index, flags, change.
    let mut body = vec![0u8; 16];
    body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    let msgs = netlink::request(netlink::RTM_GETLINK, 0, &body)
        .map_err(|e| io::Error::new(e.kind(), format!("interface #{ifindex}: {e}")))?;
    let name = msgs
        .iter()
        .filter(|m| m.ty == netlink::RTM_NEWLINK && m.payload.len() >= 16)
        .flat_map(|m| attrs(&m.payload[16..]))
        .find(|(ty, _)| *ty == IFLA_IFNAME)
        .map(|(_, v)| String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or(v)).into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no interface #{ifindex}")));
    name
}

const IFLA_LINK: u16 = 5;
const IFLA_LINK_NETNSID: u16 = 37;
const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;

/// The other end of interface `ifindex` of the calling thread's namespace, for a veth (or
/// any link with a peer): its index and the id this namespace gives the namespace it is in
/// (None: this one). None when it has no peer.
pub fn link_peer(ifindex: i32) -> Result<Option<(i32, Option<i32>)>> {
    let mut body = vec![0u8; 16];
    body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    let msgs = netlink::request(netlink::RTM_GETLINK, 0, &body)
        .map_err(|e| io::Error::new(e.kind(), format!("interface #{ifindex}: {e}")))?;
    let i32_of = |v: &[u8]| v.get(..4).map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
    let (mut peer, mut nsid) = (None, None);
    for m in msgs.iter().filter(|m| m.ty == netlink::RTM_NEWLINK && m.payload.len() >= 16) {
        for (ty, v) in attrs(&m.payload[16..]) {
            match ty {
                IFLA_LINK => peer = i32_of(v),
                IFLA_LINK_NETNSID => nsid = i32_of(v),
                _ => {}
            }
        }
    }
    // A link that is its own "peer" has none.
    Ok(peer.filter(|&p| p != ifindex || nsid.is_some()).map(|p| (p, nsid)))
}

/// The id the calling thread's namespace gives the namespace of file `fd` (RTM_GETNSID),
/// None when it gave it none.
pub fn netns_id(fd: std::os::fd::BorrowedFd) -> Result<Option<i32>> {
    use std::os::fd::AsRawFd;
    // struct rtgenmsg (the family), padded to 4, then NETNSA_FD.
    let mut body = vec![0u8; 4];
    push_attr(&mut body, NETNSA_FD, &(fd.as_raw_fd() as u32).to_ne_bytes());
    let msgs = netlink::request(netlink::RTM_GETNSID, 0, &body)?;
    let id = msgs
        .iter()
        .filter(|m| m.ty == netlink::RTM_NEWNSID && m.payload.len() >= 4)
        .flat_map(|m| attrs(&m.payload[4..]))
        .find(|(ty, _)| *ty == NETNSA_NSID)
        .and_then(|(_, v)| Some(i32::from_ne_bytes(v.get(..4)?.try_into().ok()?)));
    Ok(id.filter(|&id| id >= 0))
}

/// The addresses of interface `ifindex` (RTM_GETADDR), each with its prefix length.
fn iface_addrs(ifindex: i32) -> Result<Vec<(IpAddr, u8)>> {
    // struct ifaddrmsg: family, prefixlen, flags, scope, index.
    let body = [0u8; 8];
    let msgs = netlink::request(netlink::RTM_GETADDR, netlink::NLM_F_DUMP, &body)
        .map_err(|e| io::Error::new(e.kind(), format!("interface addresses: {e}")))?;
    let mut out = Vec::new();
    for m in msgs.iter().filter(|m| m.ty == netlink::RTM_NEWADDR && m.payload.len() >= 8) {
        let p = &m.payload;
        if u32::from_ne_bytes(p[4..8].try_into().unwrap()) as i32 != ifindex {
            continue;
        }
        // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on a
        // point-to-point link); IPv6 has only IFA_ADDRESS.
        let (mut local, mut address) = (None, None);
        for (ty, v) in attrs(&p[8..]) {
            match ty {
                IFA_LOCAL => local = parse_ip(v),
                IFA_ADDRESS => address = parse_ip(v),
                _ => {}
            }
        }
        if let Some(a) = local.or(address) {
            out.push((a, p[1]));
        }
    }
    Ok(out)
}

/// Whether `a` and `b` share their first `len` bits (and their family).
fn same_prefix(a: IpAddr, b: IpAddr, len: u8) -> bool {
    // Left-aligned in 128 bits, so a prefix is the top `len` bits for both families.
    let top = |ip: IpAddr| match ip {
        IpAddr::V4(x) => (u32::from(x) as u128) << 96,
        IpAddr::V6(x) => u128::from(x),
    };
    let len = u32::from(len).min(if a.is_ipv4() { 32 } else { 128 });
    a.is_ipv4() == b.is_ipv4() && (len == 0 || (top(a) ^ top(b)) >> (128 - len) == 0)
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The source address for `dst` among an interface's `addrs`, as scapy picks it: of the
/// same family, preferably on `dst`'s subnet, else of the same scope (link-local or not),
/// else the first.
fn pick_src(addrs: &[(IpAddr, u8)], dst: IpAddr) -> Option<IpAddr> {
    let same_family: Vec<&(IpAddr, u8)> = addrs.iter().filter(|(a, _)| a.is_ipv4() == dst.is_ipv4()).collect();
    same_family
        .iter()
        .find(|(a, len)| same_prefix(*a, dst, *len))
        .or_else(|| same_family.iter().find(|(a, _)| link_local(*a) == link_local(dst)))
        .or_else(|| same_family.first())
        .map(|(a, _)| *a)
}

/// The route to `dst` out of `iface`: the kernel's when it has one through that interface,
/// else `dst` taken as on-link there, the source being one of the interface's addresses.
fn route_out_of(dst: IpAddr, iface: &Iface) -> Result<Route> {
    match route_get_via(dst, iface.ifindex) {
        Ok(r) if r.ifindex == iface.ifindex => Ok(r),
        _ => {
            let src = pick_src(&iface_addrs(iface.ifindex)?, dst);
            Ok(Route { dst, ifindex: iface.ifindex, ifname: iface.name.clone(), src, gateway: None, kind: RouteKind::Unicast })
        }
    }
}

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
fn resolve_mac_cancellable(
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
        if now >= deadline || super::cancelled(cancel) {
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

/// An IP / IPv6 packet made ready to send on an interface.
#[derive(Debug, Clone)]
pub struct L3Frame {
    /// The egress interface.
    pub iface: Iface,
    /// The route the kernel chose.
    pub route: Route,
    /// `Ether(src = interface MAC, dst = next-hop MAC) / packet`, with the IP source filled.
    pub frame: Packet,
    /// What did not go as planned, e.g. a MAC that could not be resolved (the frame then
    /// goes to broadcast, as scapy does).
    pub warnings: Vec<String>,
}

fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Route `packet` (which starts with IP or IPv6) like scapy's L3 send: look the route to its
/// destination up, fill an unset source address with the route's, and put an Ethernet
/// header in front addressed to the next hop, resolved within `timeout`. An unresolvable
/// MAC is not an error: the frame goes to broadcast and `warnings` says why.
///
/// With `iface` (scapy's `iface=`) the packet leaves by that interface: by the kernel's route
/// through it when there is one (IPv4: the kernel takes any destination as on-link there),
/// else with the destination taken as on-link and the source an address of the interface.
pub fn fill_l3(packet: &Packet, iface: Option<&str>, timeout: Duration) -> Result<L3Frame> {
    fill_l3_cancellable(packet, iface, timeout, None)
}

/// [`fill_l3`] whose MAC resolution gives up once `cancel` is set (the frame then goes to
/// broadcast, with the warning).
pub(crate) fn fill_l3_cancellable(
    packet: &Packet,
    iface: Option<&str>,
    timeout: Duration,
    cancel: Option<&CancelFlag>,
) -> Result<L3Frame> {
    let mut packet = packet.clone();
    let (dst, src) = match packet.layers.first() {
        Some(Layer::Ip(ip)) => (IpAddr::V4(ip.dst), ip.src.map(IpAddr::V4)),
        Some(Layer::Ipv6(ip)) => (IpAddr::V6(ip.dst), ip.src.map(IpAddr::V6)),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "fill_l3 needs a packet that starts with IP or IPv6",
            ))
        }
    };
    let (route, iface) = match iface {
        None => {
            let route = route_get(dst)?;
            let iface = Iface::lookup(&route.ifname)?;
            (route, iface)
        }
        Some(name) => {
            let iface = Iface::lookup_up(name)?;
            (route_out_of(dst, &iface)?, iface)
        }
    };
    let mut warnings = Vec::new();
    let src = match (src, route.src) {
        (Some(s), _) => Some(s),
        (None, Some(s)) => {
            match (&mut packet.layers[0], s) {
                (Layer::Ip(ip), IpAddr::V4(a)) => ip.src = Some(a),
                (Layer::Ipv6(ip), IpAddr::V6(a)) => ip.src = Some(a),
                _ => {}
            }
            Some(s)
        }
        (None, None) => {
            warnings.push(format!("no source address for {dst} on {}: the source stays unset", iface.name));
            None
        }
    };
    let next_hop = route.next_hop();
    let dst_mac = if route.kind == RouteKind::Broadcast {
        Mac::BROADCAST
    } else if route.kind == RouteKind::Local || iface.flags & libc::IFF_LOOPBACK as u16 != 0 {
        iface.mac
    } else if let Some(mac) = group_mac(next_hop) {
        mac
    } else {
        let asker = src.unwrap_or(if dst.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        });
        match resolve_mac_cancellable(&iface, next_hop, asker, timeout, cancel)? {
            Some(mac) => mac,
            None => {
                let what = if dst.is_ipv4() { "ARP reply" } else { "neighbor advertisement" };
                warnings.push(format!(
                    "could not resolve the MAC of {next_hop} on {} (no {what} within {}); sending to broadcast",
                    iface.name,
                    human(timeout)
                ));
                Mac::BROADCAST
            }
        }
    };
    let frame = Packet::from(Layer::Ether(Ether::new().src(iface.mac).dst(dst_mac))) / packet;
    Ok(L3Frame { iface, route, frame, warnings })
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

    #[test]
    fn source_address_choice() {
        let a = |s: &str, len: u8| (s.parse::<IpAddr>().unwrap(), len);
        let addrs = [a("fe80::1", 64), a("10.0.0.1", 24), a("fd00::1", 64), a("10.1.0.1", 16), a("fd01::1", 64)];
        let pick = |d: &str| pick_src(&addrs, d.parse().unwrap()).map(|a| a.to_string());
        assert_eq!(pick("10.1.200.3").as_deref(), Some("10.1.0.1"), "on the subnet");
        assert_eq!(pick("192.0.2.1").as_deref(), Some("10.0.0.1"), "the first IPv4");
        assert_eq!(pick("fd01::7").as_deref(), Some("fd01::1"), "on the subnet");
        assert_eq!(pick("2001:db8::1").as_deref(), Some("fd00::1"), "global for global");
        assert_eq!(pick("fe80::9").as_deref(), Some("fe80::1"), "link-local for link-local");
        assert_eq!(pick_src(&addrs[..2], "fd00::9".parse().unwrap()).map(|a| a.to_string()).as_deref(), Some("fe80::1"));
        assert_eq!(pick_src(&addrs[2..3], "10.0.0.2".parse().unwrap()), None);
        assert!(same_prefix(a("10.1.2.3", 0).0, a("192.0.2.1", 0).0, 0));
        assert!(same_prefix(a("10.1.2.3", 0).0, a("10.1.3.1", 0).0, 22));
        assert!(!same_prefix(a("10.1.2.3", 0).0, a("10.1.4.1", 0).0, 22));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(1)), "1 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
    }

    #[test]
    fn route_get_loopback() {
        // Reading the routing table is harmless; 127.0.0.1 is always local.
        let r = route_get("127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(r.kind, RouteKind::Local);
        assert_eq!(r.ifname, "lo");
    }
}
