//! Value names that scapy loads from the host (`/etc/services`, `/etc/protocols`,
//! `/etc/ethertypes`) and the fixed tables it has for IPv6 and ARP.

use std::collections::HashMap;
use std::sync::OnceLock;

/// scapy's `fixname`: a leading digit gets `n_`, every character but ASCII letters and
/// digits becomes `_`.
pub(super) fn fixname(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        out.push_str("n_");
    }
    out.extend(s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else if (c as u32) < 256 { '_' } else { c }));
    out
}

/// The meaningful words of each line of a services/protocols-style file.
fn lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        (words.len() >= 2).then_some(words)
    })
}

/// scapy's `load_services`: (tcp, udp) port names; a later line wins.
pub(super) fn parse_services(text: &str) -> (HashMap<u16, String>, HashMap<u16, String>) {
    let (mut tcp, mut udp) = (HashMap::new(), HashMap::new());
    for words in lines(text) {
        let Some((port, proto)) = words[1].split_once('/') else { continue };
        let dct = match proto {
            "tcp" => &mut tcp,
            "udp" => &mut udp,
            _ => continue,
        };
        let name = fixname(words[0]);
        let range = match port.split_once('-') {
            Some((a, b)) => a.parse::<u32>().ok().zip(b.parse::<u32>().ok()),
            None => port.parse::<u32>().ok().map(|p| (p, p)),
        };
        if let Some((a, b)) = range {
            for p in a..=b.min(65535) {
                dct.insert(p as u16, name.clone());
            }
        }
    }
    (tcp, udp)
}

/// scapy's `load_protocols`: number (in `radix`) to name; a later line wins.
pub(super) fn parse_numbers(text: &str, radix: u32) -> HashMap<u64, String> {
    let mut out = HashMap::new();
    for words in lines(text) {
        if let Ok(n) = u64::from_str_radix(words[1], radix) {
            out.insert(n, fixname(words[0]));
        }
    }
    out
}

struct Tables {
    tcp: HashMap<u16, String>,
    udp: HashMap<u16, String>,
    protos: HashMap<u64, String>,
    ethertypes: HashMap<u64, String>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let read = |p: &str| std::fs::read(p).ok().map(|b| String::from_utf8_lossy(&b).into_owned());
        let (tcp, udp) = read("/etc/services").map(|t| parse_services(&t)).unwrap_or_default();
        let protos = read("/etc/protocols").map(|t| parse_numbers(&t, 10)).unwrap_or_default();
        // scapy falls back to a bundled copy of the ethertypes file; craft's table stands in.
        let ethertypes = read("/etc/ethertypes").map(|t| parse_numbers(&t, 16)).unwrap_or_else(|| {
            craft::layers::ether::ETHER_TYPES
                .iter()
                .filter(|(n, _)| *n != 0x9000)
                .map(|(n, s)| (*n, s.to_string()))
                .collect()
        });
        Tables { tcp, udp, protos, ethertypes }
    })
}

pub(super) fn tcp_service(port: u64) -> Option<&'static str> {
    tables().tcp.get(&u16::try_from(port).ok()?).map(String::as_str)
}

pub(super) fn udp_service(port: u64) -> Option<&'static str> {
    tables().udp.get(&u16::try_from(port).ok()?).map(String::as_str)
}

pub(super) fn ip_proto(n: u64) -> Option<&'static str> {
    tables().protos.get(&n).map(String::as_str)
}

pub(super) fn ethertype(n: u64) -> Option<&'static str> {
    tables().ethertypes.get(&n).map(String::as_str)
}

/// scapy's `ipv6nh`: IPv6 next header names.
pub(super) const IPV6_NH: &[(u64, &str)] = &[
    (0, "Hop-by-Hop Option Header"),
    (4, "IP"),
    (6, "TCP"),
    (17, "UDP"),
    (41, "IPv6"),
    (43, "Routing Header"),
    (44, "Fragment Header"),
    (47, "GRE"),
    (50, "ESP Header"),
    (51, "AH Header"),
    (58, "ICMPv6"),
    (59, "No Next Header"),
    (60, "Destination Option Header"),
    (112, "VRRP"),
    (132, "SCTP"),
    (135, "Mobility Header"),
];

/// scapy's `HARDWARE_TYPES` (ARP hwtype), the common ones.
pub(super) const HARDWARE_TYPES: &[(u64, &str)] = &[
    (1, "Ethernet (10Mb)"),
    (2, "Ethernet (3Mb)"),
    (3, "AX.25"),
    (4, "Proteon ProNET Token Ring"),
    (5, "Chaos"),
    (6, "IEEE 802 Networks"),
    (7, "ARCNET"),
    (8, "Hyperchannel"),
];

/// ARP op names as scapy's ARP has them.
pub(super) const ARP_OPS: &[(u64, &str)] = &[
    (1, "who-has"),
    (2, "is-at"),
    (3, "RARP-req"),
    (4, "RARP-rep"),
    (5, "Dyn-RARP-req"),
    (6, "Dyn-RAR-rep"),
    (7, "Dyn-RARP-err"),
    (8, "InARP-req"),
    (9, "InARP-rep"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_as_scapy_loads_them() {
        let (tcp, udp) = parse_services("ftp-data 20/tcp\nhttp 80/tcp www # web\nx11 6000-6002/tcp\ndomain 53/udp\n3com-tsmux 106/tcp\n");
        assert_eq!(tcp[&20], "ftp_data");
        assert_eq!(tcp[&80], "http");
        assert_eq!(tcp[&6001], "x11");
        assert_eq!(udp[&53], "domain");
        assert_eq!(tcp[&106], "n_3com_tsmux");
        assert_eq!(parse_numbers("IPv4 0800 ip\n802_1Q 8100\n", 16)[&0x8100], "n_802_1Q");
    }
}
