//! Routing for L3 sending, as scapy does it: the egress interface and source address from the
//! kernel's routing table, the next hop's MAC from the neighbour table or by ARP / ND.
//!
//! * [`route_get`]: RTM_GETROUTE for one destination (IPv4 or IPv6); [`route_get_via`]: the
//!   same out of a given interface (`lookup`).
//! * [`neighbor_get`]: a usable entry of the kernel's neighbour table.
//! * [`resolve_mac`]: neighbour table, else an ARP who-has / ND neighbor solicitation sent on
//!   the interface's packet socket; results are cached for [`MAC_CACHE_TTL`] (`neighbor`).
//! * [`fill_l3`]: an IP / IPv6 packet to an Ethernet frame ready for a [`PacketSocket`]
//!   (`fill`).
//!
//! Everything runs in the calling thread's network namespace.
//!
//! [`PacketSocket`]: super::PacketSocket

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod fill;
mod lookup;
mod neighbor;
mod netlink;

pub(crate) use fill::fill_l3_cancellable;
pub use fill::{fill_l3, L3Frame};
pub use lookup::{ifname, link_peer, netns_id, route_get, route_get_via, Route, RouteKind};
pub use neighbor::{clear_mac_cache, group_mac, neighbor_get, resolve_mac, solicited_node, MAC_CACHE_TTL};

/// The address family (AF_INET / AF_INET6) of `ip`, as netlink messages carry it.
fn family(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

/// `ip`'s bytes as a netlink attribute carries them (network order).
fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// An address attribute: 4 bytes IPv4, 16 bytes IPv6, else None.
fn parse_ip(data: &[u8]) -> Option<IpAddr> {
    match data.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?))),
        _ => None,
    }
}
