//! Route lookup: the kernel's route to a destination (RTM_GETROUTE), interface names, veth
//! peers and namespace ids (RTM_GETLINK, RTM_GETNSID), and the source address for a
//! destination taken as on-link out of a given interface (RTM_GETADDR).

use std::io;
use std::net::IpAddr;

use super::netlink::{self, attrs, push_attr};
use super::{family, ip_bytes, parse_ip};
use crate::live::{Iface, Result};

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PREFSRC: u16 = 7;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFLA_LINK: u16 = 5;
const IFLA_LINK_NETNSID: u16 = 37;
const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;

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
pub(super) fn route_out_of(dst: IpAddr, iface: &Iface) -> Result<Route> {
    match route_get_via(dst, iface.ifindex) {
        Ok(r) if r.ifindex == iface.ifindex => Ok(r),
        _ => {
            let src = pick_src(&iface_addrs(iface.ifindex)?, dst);
            Ok(Route { dst, ifindex: iface.ifindex, ifname: iface.name.clone(), src, gateway: None, kind: RouteKind::Unicast })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn route_get_loopback() {
        // Reading the routing table is harmless; 127.0.0.1 is always local.
        let r = route_get("127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(r.kind, RouteKind::Local);
        assert_eq!(r.ifname, "lo");
    }
}
