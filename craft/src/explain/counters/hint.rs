//! One-line hints for the counters that name a datapath problem, keyed by counter name
//! (nstat names for snmp/netstat, the kernel's names for /proc/net/dev, the driver's for
//! ethtool, lb-xdp-common's for lb-xdp: see [`super::lb_xdp::hint`]). Only the names a hint needs are written here; every counter is read from what
//! the kernel gives.

/// The hint for a counter that went up (or, for link state, went from 1 to 0).
pub fn hint(source: &str, name: &str) -> Option<&'static str> {
    if source.starts_with("link ") {
        return match name {
            "carrier" => Some("link has no carrier: frames sent here go nowhere (is the peer down, or the cable out?)"),
            "up" => Some("link is administratively down: frames sent here go nowhere (ip link set dev ... up)"),
            _ => None,
        };
    }
    if source.starts_with("ethtool ") {
        return ethtool(name);
    }
    if source.starts_with("lb-xdp ") {
        return super::lb_xdp::hint(source, name);
    }
    if source.starts_with("dev ") {
        return match name {
            "rx_dropped" => Some(
                "frames dropped on receive (no handler for the protocol, a full backlog, a down device; on a veth also frames its peer XDP_TX'd or redirected here with no XDP program on this end)",
            ),
            "tx_dropped" => Some("frames dropped on transmit (qdisc full, link without carrier, or a veth whose peer is down)"),
            "rx_errors" | "rx_frame_errors" | "rx_fifo_errors" => Some("the device received bad frames (too long, bad FCS, or ring overflow)"),
            "tx_errors" | "tx_carrier_errors" => Some("the device failed to transmit (no carrier or a driver error)"),
            _ => None,
        };
    }
    Some(match name {
        "IpExtInCsumErrors" => "IPv4 header checksum wrong: the receiver dropped it (fix or leave unset ip.chksum)",
        "IpInHdrErrors" => "bad IPv4 header (version, ihl, checksum, ttl or options): dropped at ip_rcv",
        "Ip6InHdrErrors" => "bad IPv6 header (version, hop limit 0, or a bad extension header)",
        "IpInAddrErrors" | "Ip6InAddrErrors" => {
            "destination address not local and forwarding is off (or a martian address): dropped"
        }
        "IpExtInNoRoutes" | "Ip6InNoRoutes" => "no route for the packet's destination in the receiving namespace",
        "IpOutNoRoutes" | "Ip6OutNoRoutes" => "no route for an outgoing packet's destination",
        "IpInUnknownProtos" | "Ip6InUnknownProtos" => "no handler for the IP protocol number",
        "IpInDiscards" | "Ip6InDiscards" => "IP input discarded the packet (no buffer space, or a filter)",
        "IpExtInTruncatedPkts" | "Ip6InTruncatedPkts" => "packet shorter than its IP length field says: dropped",
        "IpReasmFails" | "Ip6ReasmFails" => "fragment reassembly failed (a fragment missing or overlapping)",
        "IpFragFails" | "Ip6FragFails" => "needed fragmenting but DF was set (or fragmenting failed)",
        "TcpInCsumErrors" | "UdpInCsumErrors" | "UdpLiteInCsumErrors" | "IcmpInCsumErrors" | "Udp6InCsumErrors"
        | "Icmp6InCsumErrors" => "L4 checksum wrong: the receiver dropped it (fix or leave the checksum unset)",
        "UdpNoPorts" | "Udp6NoPorts" | "UdpLiteNoPorts" => "UDP to a port nobody listens on: dropped (an ICMP port unreachable goes back)",
        "UdpRcvbufErrors" | "Udp6RcvbufErrors" => "a UDP socket's receive buffer was full: datagrams dropped (the reader is too slow)",
        "UdpInErrors" | "Udp6InErrors" => "UDP datagrams dropped on input (buffer full, bad checksum or bad length)",
        "TcpExtListenOverflows" => "a listener's accept queue was full: handshakes dropped (accept faster or raise the backlog)",
        "TcpExtListenDrops" => "SYNs or handshakes dropped at a listener (queue full, no memory, or a bad SYN)",
        "TcpExtTCPReqQFullDrop" => "SYN queue full and syncookies off: SYNs dropped (a SYN flood, or a small backlog)",
        "TcpExtTCPReqQFullDoCookies" => "SYN queue full: answered with syncookies",
        "TcpExtTCPBacklogDrop" => "a TCP socket's backlog was full: segments dropped",
        "TcpOutRsts" => "TCP sent resets (e.g. to a closed port or an unexpected segment)",
        "TcpInErrs" => "TCP segments with errors (bad checksum or header)",
        "IcmpOutDestUnreachs" => "this namespace answered with ICMP destination unreachable",
        "IcmpInDestUnreachs" => "an ICMP destination unreachable came back",
        _ => return None,
    })
}

fn ethtool(name: &str) -> Option<&'static str> {
    // veth names its per-queue counters rx_queue_N_xdp_drops, tx_queue_N_xdp_xmit_errors...
    let base = name
        .strip_prefix("rx_queue_")
        .or_else(|| name.strip_prefix("tx_queue_"))
        .map(|rest| rest.split_once('_').map_or(rest, |(_, b)| b))
        .unwrap_or(name);
    Some(match base {
        "xdp_tx_errors" => {
            "the veth peer has no XDP program: frames XDP_TX'd or redirected toward it are lost — load one (lb-xdp pass) on the peer"
        }
        "xdp_xmit_errors" => {
            "frames redirected (bpf_redirect) to this device could not be sent: its veth peer has no XDP program, or the target queue was full — load one (lb-xdp pass) on the peer"
        }
        "xdp_drops" => "the XDP program returned XDP_DROP (or XDP_ABORTED) for these frames",
        "drops" | "rx_drops" => "frames dropped in the driver's receive path (queue full or XDP)",
        "peer_tx_dropped" | "peer_rx_dropped" => "the veth peer dropped frames",
        _ if base.contains("xdp") && (base.contains("err") || base.contains("drop")) => {
            "XDP dropped or failed to forward frames here"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn hints() {
        assert!(hint("snmp", "UdpNoPorts").unwrap().contains("port"));
        assert!(hint("netstat", "TcpExtTCPReqQFullDrop").is_some());
        assert!(hint("ethtool va", "rx_queue_0_xdp_tx_errors").unwrap().contains("lb-xdp pass"));
        assert!(hint("ethtool va", "rx_queue_12_xdp_drops").unwrap().contains("XDP_DROP"));
        assert!(hint("ethtool va", "tx_queue_0_xdp_xmit_errors").is_some());
        assert!(hint("dev va", "rx_dropped").is_some());
        assert!(hint("dev va", "rx_packets").is_none());
        assert!(hint("link va", "carrier").unwrap().contains("no carrier"));
        assert!(hint("snmp", "IpInReceives").is_none());
        assert!(hint("ethtool va", "rx_queue_0_xdp_packets").is_none());
        assert!(hint("lb-xdp director vb", "malformed").unwrap().contains("XDP_DROP"));
        assert!(hint("lb-xdp director vb", "encap").is_none());
    }
}
