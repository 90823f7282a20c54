//! Parsers of the kernel's counter files: /proc/net/snmp and /proc/net/netstat (pairs of
//! "Section: names" / "Section: values" lines), /proc/net/snmp6 ("name value" lines) and
//! /proc/net/dev (one line per interface). Counters are named as `nstat` names them:
//! section and field joined ("IpInHdrErrors", "UdpNoPorts", "TcpExtListenOverflows",
//! "IpExtInCsumErrors"); snmp6 names already carry theirs ("Ip6InHdrErrors").

/// Counters of a /proc/net/snmp or /proc/net/netstat text, in file order. Sections in
/// `skip` (e.g. "IcmpMsg", whose fields come and go) are left out; lines that do not pair
/// up are ignored, never an error.
pub fn sectioned(text: &str, skip: &[&str]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let (Some((sec_n, names)), Some((sec_v, values))) = (names.split_once(':'), values.split_once(':')) else {
            continue;
        };
        if sec_n != sec_v || skip.contains(&sec_n) {
            continue;
        }
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Some(v) = number(value) {
                out.push((format!("{sec_n}{name}"), v));
            }
        }
    }
    out
}

/// Counters of a /proc/net/snmp6 text ("Ip6InReceives  12" per line), in file order.
/// `Icmp6InType…`/`Icmp6OutType…` lines are kept; they only appear once seen.
pub fn flat(text: &str) -> Vec<(String, i64)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (name, value) = (it.next()?, it.next()?);
            Some((name.to_string(), number(value)?))
        })
        .collect()
}

/// The kernel's names (`struct rtnl_link_stats64`) for the columns of /proc/net/dev.
pub const DEV_COLUMNS: [&str; 16] = [
    "rx_bytes",
    "rx_packets",
    "rx_errors",
    "rx_dropped",
    "rx_fifo_errors",
    "rx_frame_errors",
    "rx_compressed",
    "multicast",
    "tx_bytes",
    "tx_packets",
    "tx_errors",
    "tx_dropped",
    "tx_fifo_errors",
    "collisions",
    "tx_carrier_errors",
    "tx_compressed",
];

/// Interfaces of a /proc/net/dev text with their counters, in file order.
pub fn dev(text: &str) -> Vec<(String, Vec<(&'static str, i64)>)> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name.is_empty() || name.contains('|') || name.contains(' ') {
                return None;
            }
            let values: Vec<i64> = rest.split_whitespace().map_while(number).collect();
            if values.len() < DEV_COLUMNS.len() {
                return None;
            }
            Some((name.to_string(), DEV_COLUMNS.iter().copied().zip(values).collect()))
        })
        .collect()
}

/// A counter's value: signed (Tcp MaxConn is -1), or unsigned beyond i64 (wrapped).
fn number(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| s.parse::<u64>().ok().map(|v| v as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "\
Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits
Ip: 2 64 8412 3 0 0 0 0 8404 5754 0 0 0 0 0 0 0 0 0 5754
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs
Icmp: 1 0 0 1
IcmpMsg: InType3
IcmpMsg: 1
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens
Tcp: 1 200 120000 -1 40
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 83 7 0 84 0 0 0 0 0
";

    #[test]
    fn snmp() {
        let c = sectioned(SNMP, &["IcmpMsg"]);
        let get = |n: &str| c.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
        assert_eq!(get("IpInHdrErrors"), Some(3));
        assert_eq!(get("IpForwarding"), Some(2));
        assert_eq!(get("IcmpInDestUnreachs"), Some(1));
        assert_eq!(get("TcpMaxConn"), Some(-1));
        assert_eq!(get("UdpNoPorts"), Some(7));
        assert_eq!(get("IcmpMsgInType3"), None);
        assert_eq!(c.first().unwrap().0, "IpForwarding");
        assert_eq!(c.len(), 20 + 4 + 5 + 9);
    }

    #[test]
    fn netstat() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPReqQFullDrop\nTcpExt: 0 2 5 3\nIpExt: InNoRoutes InCsumErrors\nIpExt: 1 18446744073709551615\n";
        let c = sectioned(text, &[]);
        assert_eq!(
            c,
            vec![
                ("TcpExtSyncookiesSent".into(), 0),
                ("TcpExtListenOverflows".into(), 2),
                ("TcpExtListenDrops".into(), 5),
                ("TcpExtTCPReqQFullDrop".into(), 3),
                ("IpExtInNoRoutes".into(), 1),
                ("IpExtInCsumErrors".into(), -1),
            ]
        );
    }

    #[test]
    fn mismatched_or_garbage_lines_are_ignored() {
        assert!(sectioned("", &[]).is_empty());
        assert!(sectioned("Ip: A B\nTcp: 1 2\n", &[]).is_empty());
        assert_eq!(sectioned("Ip: A B C\nIp: 1 x 3\n", &[]), vec![("IpA".into(), 1), ("IpC".into(), 3)]);
        assert!(sectioned("no colon\nhere\n", &[]).is_empty());
    }

    #[test]
    fn snmp6() {
        let text = "Ip6InReceives                   \t1\nIp6InHdrErrors                  \t4\nIcmp6InType134 2\n\ngarbage\n";
        assert_eq!(
            flat(text),
            vec![("Ip6InReceives".into(), 1), ("Ip6InHdrErrors".into(), 4), ("Icmp6InType134".into(), 2)]
        );
    }

    #[test]
    fn proc_net_dev() {
        let text = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3423      37    0    0    0     0          0         0     3423      37    0    0    0     0       0          0
cv1a2x3a: 238896204    8387    1    2    0     0          0         0   505894    5745    0    9    0     0       0          0
  bad: 1 2 3
";
        let d = dev(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].0, "lo");
        assert_eq!(d[1].0, "cv1a2x3a");
        let get = |n: &str| d[1].1.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(get("rx_bytes"), Some(238896204));
        assert_eq!(get("rx_errors"), Some(1));
        assert_eq!(get("rx_dropped"), Some(2));
        assert_eq!(get("tx_dropped"), Some(9));
        assert_eq!(d[1].1.len(), 16);
    }
}
