//! craft::explain::counters against the real kernel: packets sent inside a fresh namespace
//! pair, and the counter deltas each namespace shows for them. Counters are per namespace,
//! so traffic elsewhere on the host never shows here. Every frame stays inside namespaces
//! these tests create (see tests/common/netns.rs).

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::flood::Flood;
use common::lab::{lab, Lab};
use common::lb_xdp::{ConfigFile, LbXdp};
use common::netns::{privileged, Netns as Ns, VethPair};
use craft::explain::counters::{snapshot, CounterDelta, Netns, Snapshot};
use craft::explain::{ExplainOpts, Explainer, Report};
use craft::live::{sendp, SendOpts};
use craft::prelude::*;

const T: Duration = Duration::from_secs(20);

/// Each test its own subnet.
fn addrs(n: u8) -> (String, String) {
    (format!("10.214.{n}.1"), format!("10.214.{n}.2"))
}

fn inode(ns: &common::netns::Netns) -> u64 {
    std::fs::metadata(format!("/var/run/netns/{}", ns.name)).expect("netns file").ino()
}

fn both(lab: &Lab) -> [Netns; 2] {
    [Netns::Named(lab.a.name.clone()), Netns::Named(lab.b.name.clone())]
}

/// Send Ether frames from A's end of the veth.
fn send_from_a(lab: &Lab, pkts: Vec<Packet>) -> std::io::Result<u64> {
    let dev = lab.veth.a.clone();
    lab.a.run(T, move || sendp(&dev, &pkts, SendOpts::default())).map(|r| r.sent as u64)
}

/// Deltas from `before`, taken again until `done` holds for them (the kernel counts in
/// softirq, a moment after the send returns), up to 5 s; then printed.
fn deltas_until(before: &Snapshot, ns: &[Netns], done: impl Fn(&[CounterDelta]) -> bool) -> Vec<CounterDelta> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let d = before.delta(&snapshot(ns).expect("snapshot"));
        if done(&d) || Instant::now() >= deadline {
            for x in &d {
                eprintln!("  {x}");
            }
            return d;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn find<'a>(d: &'a [CounterDelta], netns: u64, source: &str, name: &str) -> Option<&'a CounterDelta> {
    d.iter().find(|x| x.netns == netns && x.source == source && x.name == name)
}

fn change(d: &[CounterDelta], netns: u64, source: &str, name: &str) -> i64 {
    find(d, netns, source, name).map_or(0, |x| x.change())
}

#[test]
fn udp_to_closed_port_counts_noports_in_the_receiver_only() {
    if !privileged("udp_to_closed_port_counts_noports_in_the_receiver_only") {
        return;
    }
    let (a, b) = addrs(1);
    let lab = lab("cxc", (&a, &b), None);
    let (ia, ib) = (inode(&lab.a), inode(&lab.b));
    let ns = both(&lab);
    let before = snapshot(&ns).expect("snapshot");
    assert_eq!(before.netns.len(), 2);
    assert_eq!(before.netns[0].name.as_deref(), Some(lab.a.name.as_str()));
    assert_eq!((before.netns[0].inode, before.netns[1].inode), (ia, ib));
    // Nothing listens on B's port 9.
    let pkt = Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a.as_str()).dst(b.as_str()) / Udp::new().sport(40000).dport(9) / b"anyone?".to_vec();
    assert_eq!(send_from_a(&lab, vec![pkt]).expect("sendp"), 1);
    let d = deltas_until(&before, &ns, |d| change(d, ib, "snmp", "UdpNoPorts") >= 1 && change(d, ia, "snmp", "IcmpInDestUnreachs") >= 1);
    let noports = find(&d, ib, "snmp", "UdpNoPorts").expect("UdpNoPorts delta in B");
    assert_eq!(noports.change(), 1);
    assert_eq!(noports.netns_name.as_deref(), Some(lab.b.name.as_str()));
    assert!(noports.hint.is_some_and(|h| h.contains("port")), "{noports}");
    assert!(noports.to_string().starts_with(&format!("netns {} ({ib}): snmp UdpNoPorts +1 — ", lab.b.name)), "{noports}");
    assert_eq!(change(&d, ib, "snmp", "IcmpOutDestUnreachs"), 1);
    assert_eq!(change(&d, ib, "snmp", "UdpInDatagrams"), 0);
    // A: sent the datagram and got the port unreachable; no NoPorts of its own.
    assert_eq!(change(&d, ia, "snmp", "UdpNoPorts"), 0);
    assert_eq!(change(&d, ia, "snmp", "IcmpOutDestUnreachs"), 0);
    assert_eq!(change(&d, ia, "snmp", "IcmpInDestUnreachs"), 1);
    assert!(d.iter().all(|x| x.netns == ia || x.netns == ib));
    // Per-interface counters: the frame left A's end and reached B's.
    // (A's end also sends an ARP reply: B asks who has A before its port unreachable.)
    assert!(change(&d, ia, &format!("dev {}", lab.veth.a), "tx_packets") >= 1);
    assert!(change(&d, ib, &format!("dev {}", lab.veth.b), "rx_packets") >= 1);
    assert!(before.links_down().is_empty(), "{:?}", before.links_down());
}

#[test]
fn wrong_ip_checksum_counts_inhdrerrors_and_incsumerrors() {
    if !privileged("wrong_ip_checksum_counts_inhdrerrors_and_incsumerrors") {
        return;
    }
    let (a, b) = addrs(2);
    let lab = lab("cxc", (&a, &b), None);
    let (ia, ib) = (inode(&lab.a), inode(&lab.b));
    let ns = both(&lab);
    let before = snapshot(&ns).expect("snapshot");
    let pkt = Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a.as_str()).dst(b.as_str()).chksum(0x1234) / Udp::new().dport(9) / b"bad".to_vec();
    assert_eq!(send_from_a(&lab, vec![pkt]).expect("sendp"), 1);
    let d = deltas_until(&before, &ns, |d| change(d, ib, "snmp", "IpInHdrErrors") >= 1 && change(d, ib, "netstat", "IpExtInCsumErrors") >= 1);
    // This kernel (ip_rcv_core: csum_error falls through to inhdr_error) counts both.
    assert_eq!(change(&d, ib, "snmp", "IpInHdrErrors"), 1);
    assert_eq!(change(&d, ib, "netstat", "IpExtInCsumErrors"), 1);
    assert!(find(&d, ib, "netstat", "IpExtInCsumErrors").unwrap().hint.is_some_and(|h| h.contains("checksum")));
    assert_eq!(change(&d, ib, "snmp", "UdpNoPorts"), 0, "never reached UDP");
    assert_eq!(change(&d, ia, "snmp", "IpInHdrErrors"), 0);
    assert_eq!(change(&d, ia, "netstat", "IpExtInCsumErrors"), 0);
}

#[test]
fn syn_flood_on_a_backlog_1_listener_counts_reqq_full_drops() {
    if !privileged("syn_flood_on_a_backlog_1_listener_counts_reqq_full_drops") {
        return;
    }
    let (a, b) = addrs(3);
    let lab = lab("cxc", (&a, &b), None);
    let (ia, ib) = (inode(&lab.a), inode(&lab.b));
    // Syncookies off in B, so a full SYN queue drops (TCPReqQFullDrop) rather than answering
    // with cookies.
    lab.b.cmd("sysctl", &["-qw", "net.ipv4.tcp_syncookies=0"]).expect("sysctl");
    // The SYNs come from an address nobody has: B's SYN-ACKs go to a MAC no one owns (A
    // drops them as OTHERHOST), so no RST frees B's queue and the run is deterministic.
    let ghost = "10.214.3.77";
    lab.b.exec(&["neigh", "replace", ghost, "lladdr", "02:00:00:00:03:77", "dev", &lab.veth.b, "nud", "permanent"]);
    let port = 8080u16;
    let b_addr = b.clone();
    let listener = lab.b.run(T, move || listen(&b_addr, port, 1));
    let ns = both(&lab);
    let before = snapshot(&ns).expect("snapshot");
    let n = 8u16;
    let syns: Vec<Packet> = (0..n)
        .map(|i| {
            Ether::new().dst(lab.mac_b).src(lab.mac_a)
                / Ip::new().src(ghost).dst(b.as_str())
                / Tcp::new().sport(41000 + i).dport(port).flags("S").seq(1000 + i as u32)
        })
        .collect();
    assert_eq!(send_from_a(&lab, syns).expect("sendp"), n as u64);
    // backlog 1: this kernel holds backlog + 1 = 2 request sockets (the queue is full when
    // its length is > sk_max_ack_backlog), so the first two SYNs get a SYN-ACK and every
    // other one is dropped. Nothing completes a handshake: the accept queue never overflows.
    let dropped = n as i64 - 2;
    let d = deltas_until(&before, &ns, |d| change(d, ib, "netstat", "TcpExtTCPReqQFullDrop") >= dropped);
    assert_eq!(change(&d, ib, "netstat", "TcpExtTCPReqQFullDrop"), dropped);
    assert_eq!(change(&d, ib, "netstat", "TcpExtListenDrops"), dropped);
    assert_eq!(change(&d, ib, "netstat", "TcpExtListenOverflows"), 0);
    assert!(find(&d, ib, "netstat", "TcpExtTCPReqQFullDrop").unwrap().hint.is_some());
    assert_eq!(change(&d, ia, "netstat", "TcpExtTCPReqQFullDrop"), 0);
    drop(listener);
}

/// The same SYN flood through the Explainer: no drop event names the refused SYNs (the
/// kernel frees them as consumed), so the report's counters say it, from the namespace at
/// the other end of the sending veth, which saw no drop event of craft's.
#[test]
fn explained_syn_flood_reports_the_receivers_reqq_full_drops() {
    if !privileged("explained_syn_flood_reports_the_receivers_reqq_full_drops") {
        return;
    }
    let (a, b) = addrs(9);
    let lab = lab("cxc", (&a, &b), None);
    lab.b.cmd("sysctl", &["-qw", "net.ipv4.tcp_syncookies=0"]).expect("sysctl");
    let ghost = "10.214.9.77";
    lab.b.exec(&["neigh", "replace", ghost, "lladdr", "02:00:00:00:09:77", "dev", &lab.veth.b, "nud", "permanent"]);
    let port = 8080u16;
    let b_addr = b.clone();
    let listener = lab.b.run(T, move || listen(&b_addr, port, 1));
    let syns: Vec<Packet> = (0..8u16)
        .map(|i| Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(ghost).dst(b.as_str()) / Tcp::new().sport(42000 + i).dport(port).flags("S"))
        .collect();
    let ex = Explainer::start(ExplainOpts { wait: Duration::from_millis(500), ..ExplainOpts::default() }).expect("Explainer::start");
    let dev = lab.veth.a.clone();
    let ex = lab.a.run(T, move || {
        let mut ex = ex;
        assert_eq!(craft::explain::send::sendp(&mut ex, &dev, &syns, SendOpts::default()).expect("sendp").sent, 8);
        ex
    });
    let r = ex.finish(None).expect("finish");
    eprint!("{}", r.text());
    let line = r.counters.iter().find(|c| c.contains("TcpExtTCPReqQFullDrop")).expect("B's TCPReqQFullDrop in the report");
    assert!(line.contains(&lab.b.name) && line.contains("TcpExtTCPReqQFullDrop +6"), "{line}");
    drop(listener);
}

/// A TCP listener with this backlog (std's is 128).
fn listen(addr: &str, port: u16, backlog: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let ip: std::net::Ipv4Addr = addr.parse().unwrap();
    // SAFETY: plain socket calls on a descriptor this function owns; sockaddr_in is fully
    // initialised and its size passed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_port = port.to_be();
        sa.sin_addr.s_addr = u32::from(ip).to_be();
        let r = libc::bind(fd, &sa as *const libc::sockaddr_in as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in>() as u32);
        assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
        assert_eq!(libc::listen(fd, backlog), 0, "listen: {}", std::io::Error::last_os_error());
        owned
    }
}

#[test]
fn peer_down_shows_no_carrier_and_links_down() {
    if !privileged("peer_down_shows_no_carrier_and_links_down") {
        return;
    }
    let (a, b) = addrs(5);
    let lab = lab("cxc", (&a, &b), None);
    let (ia, ib) = (inode(&lab.a), inode(&lab.b));
    let ns = both(&lab);
    let before = snapshot(&ns).expect("snapshot");
    assert!(before.links_down().is_empty(), "{:?}", before.links_down());
    lab.b.exec(&["link", "set", "dev", &lab.veth.b, "down"]);
    let pkt = Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a.as_str()).dst(b.as_str()) / Udp::new().dport(9) / b"nowhere".to_vec();
    let sent = send_from_a(&lab, vec![pkt]);
    // The kernel refuses the frame (ENOBUFS) until the carrier flag follows the peer; sendp
    // backs off meanwhile and either stops on "no carrier" or the frame is taken once the
    // link is marked down (and dropped there). Retrying every 20 µs for a second made
    // thousands of drops out of one frame.
    eprintln!("sendp on {} with its peer down: {sent:?}", lab.veth.a);
    if let Err(e) = &sent {
        assert!(e.to_string().contains("no carrier (for a veth: its peer is down)"), "{e}");
    }
    let link_a = format!("link {}", lab.veth.a);
    let d = deltas_until(&before, &ns, |d| find(d, ia, &link_a, "carrier").is_some());
    let carrier = find(&d, ia, &link_a, "carrier").expect("carrier change on A's end");
    assert_eq!((carrier.before, carrier.after), (1, 0));
    assert!(carrier.hint.is_some_and(|h| h.contains("no carrier")), "{carrier}");
    assert!(carrier.to_string().contains("carrier yes → no — link has no carrier"), "{carrier}");
    // A's end is still administratively up; B's is down.
    assert!(find(&d, ia, &link_a, "up").is_none());
    let up_b = find(&d, ib, &format!("link {}", lab.veth.b), "up").expect("B's end went down");
    assert_eq!((up_b.before, up_b.after), (1, 0));
    // The frame itself: A's end drops what it cannot hand to a peer that is down.
    // One drop per attempt: the first and the retries (backing off) until the carrier
    // flag went, about a second later.
    let dropped = change(&d, ia, &format!("dev {}", lab.veth.a), "tx_dropped");
    assert!((1..=40).contains(&dropped), "{dropped} drops for one frame");
    // With the carrier flag down, the kernel takes frames and drops them at its queue:
    // sendp warns instead of reporting them sent as if they had left.
    let dev = lab.veth.a.clone();
    let pkt = Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a.as_str()).dst(b.as_str()) / Udp::new().dport(9) / b"again".to_vec();
    let r = lab.a.run(T, move || sendp(&dev, &[pkt], SendOpts::default()));
    match r {
        Ok(r) => assert!(
            r.warnings.iter().any(|w| w.contains(&format!("{} has no carrier (NO-CARRIER, not RUNNING; for a veth: its peer is down)", lab.veth.a))),
            "{r:?}"
        ),
        Err(e) => assert!(e.to_string().contains("no carrier (for a veth: its peer is down)"), "{e}"),
    }
    let after = snapshot(&ns).expect("snapshot");
    let mut down = after.links_down();
    down.sort();
    let mut want = vec![(ia, lab.veth.a.clone()), (ib, lab.veth.b.clone())];
    want.sort();
    assert_eq!(down, want);
}

#[test]
fn xdp_tx_toward_a_veth_peer_without_xdp_counts_xdp_tx_errors() {
    if !privileged("xdp_tx_toward_a_veth_peer_without_xdp_counts_xdp_tx_errors") {
        return;
    }
    let Some(bin) = common::lb_xdp::bin("xdp_tx_toward_a_veth_peer_without_xdp_counts_xdp_tx_errors") else { return };
    let (a, b) = addrs(4);
    let lab = lab("cxc", (&a, &b), None);
    let (ia, ib) = (inode(&lab.a), inode(&lab.b));
    // lb-xdp's director on B's end: TCP to the VIP is encapsulated in GUE and sent back out
    // of the same interface with XDP_TX — toward A's end, which has no XDP program.
    let vip = "10.214.4.100";
    let config = ConfigFile::new(
        "cxc-xdp-tx",
        &format!(r#"(next_hop_mac: "{}", src_v4: "{b}", vips: [(addr: "{vip}", port: 80, proto: tcp, backends: [(addr: "10.214.4.200")])])"#, lab.mac_a),
    );
    let director = LbXdp::start(&bin, &lab.b, &["director", "--iface", &lab.veth.b, "--mode", "native", "--config", &config.arg()]);

    let ns = both(&lab);
    let before = snapshot(&ns).expect("snapshot");
    let n = 5u16;
    let syns: Vec<Packet> = (0..n)
        .map(|i| Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a.as_str()).dst(vip) / Tcp::new().sport(42000 + i).dport(80).flags("S"))
        .collect();
    assert_eq!(send_from_a(&lab, syns).expect("sendp"), n as u64);
    let ethtool_b = format!("ethtool {}", lab.veth.b);
    let tx_errors = |d: &[CounterDelta]| -> i64 {
        d.iter().filter(|x| x.netns == ib && x.source == ethtool_b && x.name.ends_with("xdp_tx_errors")).map(|x| x.change()).sum()
    };
    let d = deltas_until(&before, &ns, |d| tx_errors(d) >= n as i64);
    // Every encapsulated frame XDP_TX'd toward A's end is lost: A has no XDP program.
    assert_eq!(tx_errors(&d), n as i64);
    let e = d.iter().find(|x| x.netns == ib && x.source == ethtool_b && x.name.ends_with("xdp_tx_errors")).unwrap();
    assert!(e.name.starts_with("rx_queue_"), "{e}");
    assert!(e.hint.is_some_and(|h| h.contains("no XDP program") && h.contains("lb-xdp pass")), "{e}");
    // veth also counts them as B's end's tx_dropped and A's end's rx_dropped.
    assert_eq!(change(&d, ib, &format!("dev {}", lab.veth.b), "tx_dropped"), n as i64);
    assert_eq!(change(&d, ia, &format!("dev {}", lab.veth.a), "rx_dropped"), n as i64);
    // Nothing reached A, and nothing went up B's stack.
    assert_eq!(change(&d, ia, &format!("dev {}", lab.veth.a), "rx_packets"), 0);
    assert_eq!(change(&d, ib, "snmp", "IpInReceives"), 0);
    // lb-xdp's own counters, read from its pins: each SYN encapsulated and XDP_TX'd, none a
    // problem (no hint).
    let lb = format!("lb-xdp director {}", lab.veth.b);
    assert_eq!(change(&d, ib, &lb, "encap"), n as i64);
    assert_eq!(change(&d, ib, &lb, "tx"), n as i64);
    assert!(!find(&d, ib, &lb, "tx").unwrap().is_problem());
    drop(director);
}

// An XDP program that returns XDP_DROP, explained: the Explainer's report carries the
// counters that say so (issue 9: "the program's own counters when it is lb-xdp").

/// One explained send at a time: every watcher sees every drop on the host, and each of
/// these tests floods thousands a second.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Send `pkt` from `dev` of `ns` with an Explainer running; its report, printed.
fn explained(ns: &Ns, dev: &str, pkt: Packet) -> Report {
    let ex = Explainer::start(ExplainOpts { wait: Duration::from_millis(700), ..ExplainOpts::default() }).expect("Explainer::start");
    let dev = dev.to_string();
    let ex = ns.run(T, move || {
        let mut ex = ex;
        let r = craft::explain::send::sendp(&mut ex, &dev, &[pkt], SendOpts::default()).expect("sendp");
        assert_eq!(r.sent, 1);
        ex
    });
    let r = ex.finish(None).expect("finish");
    eprint!("{}", r.text());
    assert_eq!(r.packets.len(), 1);
    assert_eq!(r.lost, 0, "drops lost: the report may be incomplete");
    r
}

/// Nothing of the flood is blamed on craft (no drop, no counter line of its namespaces),
/// and the flood did run.
fn assert_flood_not_blamed(r: &Report, flood: &Flood) {
    for p in &r.packets {
        for d in &p.drops {
            assert!(!d.summary.contains(&flood.marker), "a background drop blamed on craft: {d:?}");
        }
    }
    for d in &r.replies_dropped {
        assert!(!d.summary.contains(&flood.marker), "a background drop listed as a reply: {d:?}");
    }
    for c in &r.counters {
        assert!(!c.contains(&flood.lab.a.name) && !c.contains(&flood.lab.b.name), "a counter of the flood's namespaces: {c}");
    }
    eprintln!("background: {} frames flooded; {} unrelated drops ignored in {:.2} s", flood.sent.load(std::sync::atomic::Ordering::Relaxed), r.unrelated, r.window.as_secs_f64());
    assert!(r.unrelated as f64 >= 1000.0 * r.window.as_secs_f64() * 0.5, "the background flood was not dropping ({} in {:?})", r.unrelated, r.window);
}

/// The report's counter line `netns NAME (INODE): SOURCE NAME +1 — HINT`, whose hint must
/// start with `hint`.
fn counter_line<'a>(r: &'a Report, ns: &Ns, source: &str, name: &str, hint: &str) -> &'a str {
    let head = format!("netns {} ({}): {source} {name} +1 — ", ns.name, inode(ns));
    let line = r.counters.iter().find(|c| c.starts_with(&head)).unwrap_or_else(|| panic!("no counter line {head}…: {:#?}", r.counters));
    assert!(line[head.len()..].starts_with(hint), "{line}");
    line
}

const XDP_DROP_HINT: &str = "the XDP program returned XDP_DROP";
const MALFORMED_HINT: &str = "the director dropped TCP/UDP to a VIP whose header is cut (XDP_DROP";

/// TCP to a VIP with 2 bytes of header: the director reads no ports and drops it
/// (`malformed`).
fn cut_tcp(src: &str, vip: &str, id: u16) -> Packet {
    Ip::new().src(src).dst(vip).id(id).proto(6u8) / b"\x9c\x40".to_vec()
}

fn ether(dst: craft::field::Mac, src: craft::field::Mac) -> Packet {
    Packet::from(Layer::from(Ether::new().dst(dst).src(src)))
}

/// lb-xdp's director on B's veth (native XDP) drops a cut TCP header sent from A. The
/// frame came in as an skb (A's end sent it), which veth frees after the XDP_DROP:
/// kfree_skb in veth_xdp_rcv_skb with no reason (NOT_SPECIFIED) — that drop names the
/// place, the counters say why: veth's rx_queue_0_xdp_drops and lb-xdp's `malformed`, each
/// with its hint, in B (the namespace of the drop).
#[test]
fn xdp_drop_by_the_lb_xdp_director_is_reported_through_counters() {
    let name = "xdp_drop_by_the_lb_xdp_director_is_reported_through_counters";
    if !privileged(name) {
        return;
    }
    let Some(bin) = common::lb_xdp::bin(name) else { return };
    let _serial = serial();
    let flood = Flood::v4(120, 25);
    let (a, b) = addrs(6);
    let lab = lab("cxd", (&a, &b), None);
    let vip = "10.214.6.100";
    let config = ConfigFile::new(
        "cxd",
        &format!(r#"(next_hop_mac: "{}", src_v4: "{b}", vips: [(addr: "{vip}", port: 80, proto: tcp, backends: [(addr: "10.214.6.200")])])"#, lab.mac_a),
    );
    let _director = LbXdp::start(&bin, &lab.b, &["director", "--iface", &lab.veth.b, "--mode", "native", "--config", &config.arg()]);
    let r = explained(&lab.a, &lab.veth.a, ether(lab.mac_b, lab.mac_a) / cut_tcp(&a, vip, 0xd0c6));
    assert_flood_not_blamed(&r, &flood);
    counter_line(&r, &lab.b, &format!("ethtool {}", lab.veth.b), "rx_queue_0_xdp_drops", XDP_DROP_HINT);
    counter_line(&r, &lab.b, &format!("lb-xdp director {}", lab.veth.b), "malformed", MALFORMED_HINT);
    // The packet's one drop is veth freeing the skb of the XDP_DROP, not the stack's.
    let p = &r.packets[0];
    assert_eq!(p.drops.len(), 1, "{p:#?}");
    let d = &p.drops[0];
    assert_eq!((d.netns_name.as_deref(), d.ifname.as_str()), (Some(lab.b.name.as_str()), lab.veth.b.as_str()), "{d:#?}");
    assert_eq!((d.function(), d.reason.as_str()), ("veth_xdp_rcv_skb", "NOT_SPECIFIED"), "{d:#?}");
    // Only the namespaces of the send and of the drop: A and B.
    assert!(r.counters.iter().all(|c| c.starts_with(&format!("netns {} ", lab.a.name)) || c.starts_with(&format!("netns {} ", lab.b.name))), "{:#?}", r.counters);
}

/// The same XDP_DROP of a frame that never was an skb: lb-xdp's decap on x1 redirects the
/// decapsulated packet (a devmap, to y0), so it reaches y1 — where the director drops it —
/// as an XDP frame. No kfree_skb at all: only the counters (veth's rx_queue_0_xdp_drops on
/// y1, the director's `malformed`) tell of it. Both veth pairs in one namespace, the one
/// craft sends from, so the report reads its counters.
#[test]
fn xdp_drop_of_a_redirected_frame_is_seen_only_in_counters() {
    let name = "xdp_drop_of_a_redirected_frame_is_seen_only_in_counters";
    if !privileged(name) {
        return;
    }
    let Some(bin) = common::lb_xdp::bin(name) else { return };
    let _serial = serial();
    let flood = Flood::v4(121, 25);
    let ns = Ns::new("cxr1");
    let x = VethPair::new(&ns, &ns).with_addrs("10.214.7.1/24", "10.214.7.2/24");
    let y = VethPair::new(&ns, &ns).up();
    let (mac_x0, mac_x1) = (common::lab::iface_in(&ns, &x.a).mac, common::lab::iface_in(&ns, &x.b).mac);
    let (mac_y0, mac_y1) = (common::lab::iface_in(&ns, &y.a).mac, common::lab::iface_in(&ns, &y.b).mac);
    let vip = "10.214.7.100";
    let config = ConfigFile::new(
        "cxr1",
        &format!(r#"(next_hop_mac: "{mac_y0}", src_v4: "10.214.7.2", vips: [(addr: "{vip}", port: 80, proto: tcp, backends: [(addr: "10.214.7.200")])])"#),
    );
    let _director = LbXdp::start(&bin, &ns, &["director", "--iface", &y.b, "--mode", "native", "--config", &config.arg()]);
    let _decap = LbXdp::start(&bin, &ns, &["decap", "--iface", &x.b, "--mode", "native", "--redirect", &y.a, "--redirect-mac", &mac_y1.to_string()]);
    let pkt = Ether::new().dst(mac_x1).src(mac_x0) / Ip::new().src("10.214.7.1").dst("10.214.7.2").id(0xd0c8) / Udp::new().sport(5000).dport(6080) / Gue::new()
        / cut_tcp("10.214.7.1", vip, 0xd0c7);
    let r = explained(&ns, &x.a, pkt);
    assert_flood_not_blamed(&r, &flood);
    assert!(r.packets[0].drops.is_empty(), "no kfree_skb for an XDP frame: {:#?}", r.packets[0]);
    assert!(r.replies_dropped.is_empty(), "{:#?}", r.replies_dropped);
    assert!(r.text().contains("packet 0 (Ether / IP 10.214.7.1 > 10.214.7.2 / UDP 5000 > 6080 / GUE proto 4 / IP 10.214.7.1 > 10.214.7.100 / Raw (truncated TCP: 2 bytes)): not dropped"), "{}", r.text());
    counter_line(&r, &ns, &format!("ethtool {}", y.b), "rx_queue_0_xdp_drops", XDP_DROP_HINT);
    counter_line(&r, &ns, &format!("lb-xdp director {}", y.b), "malformed", MALFORMED_HINT);
    // The decap's work (decap_v0, redirect) is no problem: not in the report.
    assert!(r.counters.iter().all(|c| !c.contains("lb-xdp decap")), "{:#?}", r.counters);
}
