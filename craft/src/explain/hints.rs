//! One-line hints for the kernel's drop reasons, keyed by the reason's NAME as the kernel's
//! BTF gives it ([`super::DropEvent::reason`]), never by number. Where craft's checker
//! ([`crate::check`]) finds the cause in the packet itself, the hint quotes it: the wrong
//! checksum and the right value, "32 bytes missing". OTHERHOST names the frame's
//! destination MAC and the receiving interface's.

use crate::check::check_bytes;
use crate::field::Mac;
use crate::layer::DissectCx;
use crate::packet::LayerKind;

/// The generic hint of each of the 25 most common datapath drop reasons.
pub const HINTS: &[(&str, &str)] = &[
    ("OTHERHOST", "the frame's destination MAC is not the receiving interface's: the kernel drops frames for other hosts"),
    ("IP_CSUM", "the IPv4 header checksum is wrong: leave chksum unset so that craft computes it"),
    ("IP_INHDR", "the IPv4 header is invalid (version, ihl below 5, or a length shorter than the header)"),
    ("PKT_TOO_SMALL", "the packet is shorter than its IP header's total length says"),
    ("IP_LOCAL_SOURCE", "the source address belongs to the receiving host itself (martian source)"),
    ("IP_INVALID_SOURCE", "the source address is invalid here (multicast, broadcast, zero or loopback from outside)"),
    ("IP_RPFILTER", "reverse-path filter: the route back to the source does not leave by the receiving interface (net.ipv4.conf.*.rp_filter)"),
    ("NO_SOCKET", "nothing listens on the destination port in that namespace (the kernel answers UDP with ICMP port unreachable, TCP with RST)"),
    ("NETFILTER_DROP", "an iptables/nftables rule dropped it: check the namespace's ruleset (nft list ruleset)"),
    ("IP_INADDRERRORS", "the destination address is not valid for this host (e.g. a broadcast or unknown address with forwarding off)"),
    ("IP_INNOROUTES", "no route to the destination in the receiving namespace (or forwarding is off: net.ipv4.ip_forward)"),
    ("TCP_CSUM", "the TCP checksum is wrong: leave chksum unset so that craft computes it"),
    ("UDP_CSUM", "the UDP checksum is wrong: leave chksum unset (or 0 over IPv4) so that craft computes it"),
    ("ICMP_CSUM", "the ICMP checksum is wrong: leave chksum unset so that craft computes it"),
    ("TCP_FLAGS", "the TCP flags make no sense for the connection's state (e.g. no SYN for a new connection, SYN+FIN)"),
    ("TCP_LISTEN_OVERFLOW", "the listening socket's accept queue is full: the application does not accept() fast enough (backlog)"),
    ("SOCKET_RCVBUFF", "the receiving socket's buffer is full: the application does not read fast enough (SO_RCVBUF)"),
    ("NEIGH_FAILED", "ARP/neighbour resolution of the next hop failed: nobody answers for that address on the link"),
    ("XDP", "an XDP program returned XDP_DROP or XDP_ABORTED on the receiving interface"),
    ("CPU_BACKLOG", "the CPU's input backlog is full (net.core.netdev_max_backlog): sending too fast for the receiver"),
    ("QDISC_DROP", "the egress queueing discipline dropped it (queue full, or a qdisc policy)"),
    ("PKT_TOO_BIG", "the packet is bigger than the MTU and may not be fragmented (DF set, or IPv6)"),
    ("DEV_READY", "the device is not ready: interface down, or no carrier (the veth peer is down)"),
    ("HDR_TRUNC", "a header is cut short: the packet ends inside a header"),
    ("UNICAST_IN_L2_MULTICAST", "a unicast IP address in a frame sent to a link-layer multicast or broadcast MAC"),
];

/// The generic hint of a reason name, if it is one of [`HINTS`].
pub fn generic(reason: &str) -> Option<&'static str> {
    HINTS.iter().find(|(r, _)| *r == reason).map(|(_, h)| *h)
}

/// What a hint may quote.
#[derive(Debug, Default, Clone)]
pub struct HintCx<'a> {
    /// The packet as sent, from its network header on (its IP/IPv6 bytes).
    pub sent_l3: Option<&'a [u8]>,
    /// The first layer of `sent_l3`.
    pub sent_kind: Option<LayerKind>,
    /// The Ethernet header of the dropped frame (as received), or of the frame as sent.
    pub frame_mac: Option<[u8; 14]>,
    /// The MAC of the interface that dropped it, looked up in its namespace.
    pub iface_mac: Option<Mac>,
    /// The name of that interface.
    pub ifname: &'a str,
    /// The dropping function ("veth_xdp_rcv_skb"), for reasons the kernel leaves generic.
    pub function: &'a str,
}

fn mac_of(b: &[u8]) -> Mac {
    Mac(b[..6].try_into().expect("6 bytes"))
}

/// The problems craft's checker finds in the packet as sent, whose message contains one
/// of `needles`.
fn quoted(cx: &HintCx, needles: &[&str]) -> Vec<String> {
    let (Some(bytes), Some(kind)) = (cx.sent_l3, cx.sent_kind) else { return Vec::new() };
    check_bytes(bytes, kind, &DissectCx::default())
        .into_iter()
        .map(|p| p.msg)
        .filter(|m| needles.iter().any(|n| m.contains(n)))
        .collect()
}

/// The hint for a drop of an answer to one of craft's packets, `l3` its bytes from the
/// network header: an echo reply dropped for NO_SOCKET is the normal end of every reply to
/// a ping no ping socket sent (craft's packet socket had its copy before).
pub fn reply_hint(reason: &str, l3: &[u8], cx: &HintCx) -> String {
    let echo_reply = match l3.first().map(|b| b >> 4) {
        Some(4) => l3.get(9) == Some(&1) && l3.get(((l3[0] & 0x0f) as usize) * 4) == Some(&0),
        Some(6) => l3.get(6) == Some(&58) && l3.get(40) == Some(&129),
        _ => false,
    };
    match reason {
        "NO_SOCKET" if echo_reply => {
            "no ping socket asked for this echo reply, so the kernel frees it after the packet sockets (craft's too) had their copy: harmless".into()
        }
        "OTHERHOST" => {
            let to = cx.frame_mac.map_or_else(|| "another MAC".to_string(), |m| mac_of(&m[0..6]).to_string());
            let theirs = cx.iface_mac.map_or_else(|| "its own".to_string(), |m| m.to_string());
            let on = if cx.ifname.is_empty() { String::new() } else { format!(" {}", cx.ifname) };
            format!("the answer went to {to}, the Ether src of craft's request, not to{on}'s MAC ({theirs}): send from the interface's MAC (leave Ether src unset)")
        }
        "ICMP_CSUM" if echo_reply && icmp_checksum(l3) == Some(0) => {
            "an echo reply with checksum 0x0000: the request (id 0, seq 0, no payload?) made the reply's sum one's-complement -0, which the answering kernel writes as 0x0000 and this kernel rejects; give the request an id, a seq or a payload".into()
        }
        r if r.ends_with("_CSUM") => format!("the answer arrived with a wrong checksum, as the answerer built it (or as it was changed on the way): {}", hint(reason, cx)),
        _ => hint(reason, cx),
    }
}

/// The ICMP / ICMPv6 checksum field of a packet from its network header.
fn icmp_checksum(l3: &[u8]) -> Option<u16> {
    let at = match l3.first()? >> 4 {
        4 => ((l3[0] & 0x0f) as usize) * 4 + 2,
        6 => 42,
        _ => return None,
    };
    Some(u16::from_be_bytes(l3.get(at..at + 2)?.try_into().ok()?))
}

/// The one-line hint for a drop of `reason`, quoting the packet where craft check finds the
/// cause in it.
pub fn hint(reason: &str, cx: &HintCx) -> String {
    let base = generic(reason).unwrap_or("no hint for this reason (see include/net/dropreason-core.h)");
    // Where the function says more than the reason.
    if reason == "NOT_SPECIFIED" && cx.function.starts_with("veth_xdp_rcv") {
        // veth runs XDP on an skb: XDP_DROP and XDP_ABORTED free it with no reason given.
        let on = if cx.ifname.is_empty() { String::new() } else { format!(" on {}", cx.ifname) };
        return format!("the XDP program{on} returned XDP_DROP or XDP_ABORTED (veth frees the skb it ran on): its own counters and the veth's rx_queue_N_xdp_drops say more");
    }
    if reason == "NO_SOCKET" && cx.function.starts_with("cookie_v") {
        return "a final ACK answering a SYN cookie, and no connection could be made of it: the listener's accept queue is full (ListenOverflows) or the cookie is stale or invalid".into();
    }
    let found = match reason {
        "OTHERHOST" => {
            if let Some(mac) = cx.frame_mac {
                let dst = mac_of(&mac[0..6]);
                let theirs = cx.iface_mac.map_or_else(|| "unknown".to_string(), |m| m.to_string());
                let on = if cx.ifname.is_empty() { String::new() } else { format!(", {}", cx.ifname) };
                return format!(
                    "the destination MAC {dst} is not the receiving interface's ({theirs}{on}); rewrite it before bpf_redirect, or send to {theirs}"
                );
            }
            Vec::new()
        }
        "IP_CSUM" => quoted(cx, &["IP chksum", "IPv6 chksum"]),
        "TCP_CSUM" => quoted(cx, &["TCP chksum"]),
        "UDP_CSUM" => quoted(cx, &["UDP chksum"]),
        "ICMP_CSUM" => quoted(cx, &["ICMP chksum", "ICMPv6 chksum"]),
        "PKT_TOO_SMALL" | "HDR_TRUNC" => quoted(cx, &["bytes missing", "cut short", "len is", "plen is"]),
        "IP_INHDR" => quoted(cx, &["IP ihl", "IP version", "IP len", "below the minimum"]),
        "IP_LOCAL_SOURCE" | "IP_INVALID_SOURCE" => quoted(cx, &["src"]),
        _ => Vec::new(),
    };
    if found.is_empty() {
        base.to_string()
    } else {
        format!("{}; {base}", found.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn the_25_reasons_have_hints() {
        assert_eq!(HINTS.len(), 25);
        for (r, h) in HINTS {
            assert!(!h.is_empty(), "{r}");
        }
    }

    #[test]
    fn checksum_and_length_are_quoted() {
        let b = (Ip::new().src("10.0.0.1").dst("10.0.0.2").chksum(0x1234) / Udp::new()).build();
        let cx = HintCx { sent_l3: Some(&b), sent_kind: Some(LayerKind::Ip), ..HintCx::default() };
        let h = hint("IP_CSUM", &cx);
        assert!(h.starts_with("IP chksum 0x1234 is wrong, should be 0x"), "{h}");
        let b = (Ip::new().src("10.0.0.1").dst("10.0.0.2").len(60) / Udp::new()).build();
        let cx = HintCx { sent_l3: Some(&b), sent_kind: Some(LayerKind::Ip), ..HintCx::default() };
        assert!(hint("PKT_TOO_SMALL", &cx).contains("32 bytes missing"), "{}", hint("PKT_TOO_SMALL", &cx));
    }

    #[test]
    fn otherhost_names_both_macs() {
        let mut mac = [0u8; 14];
        mac[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x99]);
        let cx = HintCx { frame_mac: Some(mac), iface_mac: Some(Mac([0x42, 0x13, 0x1c, 7, 1, 0xb6])), ifname: "eth0", ..HintCx::default() };
        let h = hint("OTHERHOST", &cx);
        assert!(h.contains("02:00:00:00:00:99") && h.contains("42:13:1c:07:01:b6"), "{h}");
    }

    #[test]
    fn a_dropped_echo_reply_without_a_ping_socket_is_harmless() {
        let cx = HintCx::default();
        for reply in [
            (Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(0)).build(),
            (Ipv6::new().src("fd00::2").dst("fd00::1") / Icmpv6EchoReply::new()).build(),
        ] {
            assert!(reply_hint("NO_SOCKET", &reply, &cx).contains("harmless"));
        }
        let udp = (Ip::new().src("10.0.0.2").dst("10.0.0.1") / Udp::new()).build();
        assert_eq!(reply_hint("NO_SOCKET", &udp, &cx), hint("NO_SOCKET", &cx));
    }

    #[test]
    fn reply_hints_speak_of_the_answer() {
        let zero = (Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(0).chksum(0)).build();
        assert!(reply_hint("ICMP_CSUM", &zero, &HintCx::default()).starts_with("an echo reply with checksum 0x0000"));
        let bad = (Ip::new().src("10.0.0.2").dst("10.0.0.1") / Icmp::new().r#type(0).chksum(0x1234)).build();
        assert!(reply_hint("ICMP_CSUM", &bad, &HintCx::default()).starts_with("the answer arrived with a wrong checksum"));
        let mut mac = [0u8; 14];
        mac[..6].copy_from_slice(&[2, 0, 0, 0, 9, 0x77]);
        let cx = HintCx { frame_mac: Some(mac), iface_mac: Some(Mac([2, 0, 0, 0, 0, 1])), ifname: "va", ..HintCx::default() };
        let h = reply_hint("OTHERHOST", &bad, &cx);
        assert!(h.starts_with("the answer went to 02:00:00:00:09:77, the Ether src of craft's request, not to va's MAC (02:00:00:00:00:01)"), "{h}");
    }

    #[test]
    fn a_cookie_ack_without_a_connection_names_the_accept_queue() {
        let cx = HintCx { function: "cookie_v4_check", ..HintCx::default() };
        assert!(hint("NO_SOCKET", &cx).contains("accept queue is full"));
    }

    #[test]
    fn an_skb_dropped_by_a_veths_xdp_program_says_so() {
        let cx = HintCx { function: "veth_xdp_rcv_skb", ifname: "vb", ..HintCx::default() };
        assert!(hint("NOT_SPECIFIED", &cx).starts_with("the XDP program on vb returned XDP_DROP"), "{}", hint("NOT_SPECIFIED", &cx));
        assert!(hint("NOT_SPECIFIED", &HintCx::default()).starts_with("no hint"));
    }
}
