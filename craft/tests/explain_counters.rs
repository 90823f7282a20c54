//! craft::explain::counters against the real kernel: packets sent inside a fresh namespace
//! pair, and the counter deltas each namespace shows for them. Counters are per namespace,
//! so traffic elsewhere on the host never shows here. Every frame stays inside namespaces
//! these tests create (see tests/common/netns.rs).

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::lab::{lab, Lab};
use common::netns::privileged;
use craft::explain::counters::{snapshot, CounterDelta, Netns, Snapshot};
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
    let after = snapshot(&ns).expect("snapshot");
    let mut down = after.links_down();
    down.sort();
    let mut want = vec![(ia, lab.veth.a.clone()), (ib, lab.veth.b.clone())];
    want.sort();
    assert_eq!(down, want);
}

/// lb-xdp's binary, when built (`cargo build -p lb-xdp [--release]`, or LB_XDP_BIN).
fn lb_xdp_bin() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("LB_XDP_BIN") {
        return Some(p.into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    ["debug", "release"].iter().map(|p| target.join(p).join("lb-xdp")).find(|p| p.is_file())
}

/// A child stopped with SIGINT (so lb-xdp detaches and unpins), then killed if it lingers.
struct Interrupt(Option<std::process::Child>);

impl Drop for Interrupt {
    fn drop(&mut self) {
        let Some(mut c) = self.0.take() else { return };
        // SAFETY: kill(2) on our own child's pid, which it keeps until we reap it below.
        unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn xdp_tx_toward_a_veth_peer_without_xdp_counts_xdp_tx_errors() {
    if !privileged("xdp_tx_toward_a_veth_peer_without_xdp_counts_xdp_tx_errors") {
        return;
    }
    let Some(bin) = lb_xdp_bin() else {
        eprintln!("skipping xdp_tx_toward_a_veth_peer_without_xdp_counts_xdp_tx_errors: lb-xdp is not built (cargo build -p lb-xdp, or set LB_XDP_BIN)");
        return;
    };
    let (a, b) = addrs(4);
    let lab = lab("cxc", (&a, &b), None);
    let (ia, ib) = (inode(&lab.a), inode(&lab.b));
    // lb-xdp's director on B's end: TCP to the VIP is encapsulated in GUE and sent back out
    // of the same interface with XDP_TX — toward A's end, which has no XDP program.
    let vip = "10.214.4.100";
    let dir = std::env::temp_dir().join(format!("cxc-xdp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("director.ron");
    std::fs::write(
        &config,
        format!(
            r#"(next_hop_mac: "{}", src_v4: "{b}", vips: [(addr: "{vip}", port: 80, proto: tcp, backends: [(addr: "10.214.4.200")])])"#,
            lab.mac_a
        ),
    )
    .unwrap();
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.b.name])
        .arg(&bin)
        .args(["director", "--iface", &lab.veth.b, "--mode", "native", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running lb-xdp");
    let mut director = Interrupt(Some(child));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = std::process::Command::new("ip").args(["-n", &lab.b.name, "link", "show", "dev", &lab.veth.b]).output().unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("xdp") {
            break;
        }
        if let Ok(Some(status)) = director.0.as_mut().unwrap().try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(director.0.as_mut().unwrap().stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("lb-xdp director exited ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "lb-xdp director did not attach within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);

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
    drop(director);
}
