//! L3 fill: an IP / IPv6 packet made into an Ethernet frame for its egress interface, as
//! scapy's L3 send does (route, source address, next hop's MAC).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::lookup::{route_get, route_out_of, Route, RouteKind};
use super::neighbor::{group_mac, resolve_mac_cancellable};
use crate::field::Mac;
use crate::layers::Ether;
use crate::live::{CancelFlag, Iface, Result};
use crate::packet::{Layer, Packet};

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
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(1)), "1 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
    }
}
