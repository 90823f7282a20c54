//! craft::explain against the real kernel: broken packets sent into a fresh namespace pair
//! and the kernel's drop events for them, matched by their headers (IP id and addresses),
//! never by timing: other drops on the host in the same window are ignored.
//! Every frame stays inside namespaces these tests create (see tests/common/netns.rs).

mod common;

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::lab::{iface_in, lab, Lab};
use common::netns::privileged;
use craft::explain::btf::Btf;
use craft::explain::{reason_names, DropEvent, DropWatch};
use craft::field::Mac;
use craft::live::{sendp, SendOpts};
use craft::prelude::*;

const T: Duration = Duration::from_secs(20);

/// Each test its own subnet, so a drop from one test never matches another's packets.
fn addrs(n: u8) -> (String, String) {
    (format!("10.213.{n}.1"), format!("10.213.{n}.2"))
}

/// Inode of a namespace of this test, as the kernel's `net->ns.inum`.
fn netns_inode(lab_ns: &common::netns::Netns) -> u64 {
    std::fs::metadata(format!("/var/run/netns/{}", lab_ns.name)).expect("netns file").ino()
}

/// Send `pkt` (an Ether frame) from A's end of the veth.
fn send_from_a(lab: &Lab, pkt: Packet) {
    let dev = lab.veth.a.clone();
    let report = lab.a.run(T, move || sendp(&dev, &[pkt], SendOpts::default())).expect("sendp");
    assert_eq!(report.sent, 1);
}

/// The IPv4 header fields an event is matched by.
fn ip_key(ev: &DropEvent) -> Option<(u16, Option<Ipv4Addr>, Ipv4Addr)> {
    if ev.protocol != 0x0800 {
        return None;
    }
    match ev.packet().layers.first() {
        Some(Layer::Ip(ip)) => Some((ip.id, ip.src, ip.dst)),
        _ => None,
    }
}

/// Events for the packet with this IP id and addresses, waiting up to `wait` for the first.
/// Everything else seen meanwhile is unrelated and ignored (counted in the log).
fn drops_of(watch: &mut DropWatch, id: u16, src: &str, dst: &str, wait: Duration) -> Vec<DropEvent> {
    let want = (id, Some(src.parse().unwrap()), dst.parse().unwrap());
    let deadline = Instant::now() + wait;
    let (mut mine, mut others) = (Vec::new(), 0usize);
    while Instant::now() < deadline {
        for ev in watch.poll(deadline.saturating_duration_since(Instant::now())).expect("poll") {
            if ip_key(&ev) == Some(want) {
                mine.push(ev);
            } else {
                others += 1;
            }
        }
        if !mine.is_empty() {
            // Collect a little longer, in case the packet is dropped twice (it must not be).
            std::thread::sleep(Duration::from_millis(200));
            for ev in watch.poll(Duration::ZERO).expect("poll") {
                if ip_key(&ev) == Some(want) {
                    mine.push(ev);
                } else {
                    others += 1;
                }
            }
            break;
        }
    }
    eprintln!("id {id:#x} {src} > {dst}: {} matching drop(s), {others} unrelated drop(s) ignored", mine.len());
    for ev in &mine {
        eprintln!("  {} ({}) at {} on {} (ifindex {}, netns {}), len {}", ev.reason, ev.reason_code, ev.symbol, ev.ifname, ev.ifindex, ev.netns, ev.len);
    }
    mine
}

/// Start the watcher, send one frame, and return the one drop event that matches it.
fn one_drop(name: &str, n: u8, build: impl FnOnce(&Lab, &str, &str) -> (Packet, u16, String, String)) -> Option<(Lab, DropEvent, Packet)> {
    if !privileged(name) {
        return None;
    }
    let (a, b) = addrs(n);
    let lab = lab("cxp", (&a, &b), None);
    let mut watch = DropWatch::start().expect("DropWatch::start");
    let (pkt, id, src, dst) = build(&lab, &a, &b);
    send_from_a(&lab, pkt.clone());
    let mut evs = drops_of(&mut watch, id, &src, &dst, Duration::from_secs(5));
    assert_eq!(evs.len(), 1, "{name}: want exactly one drop of the sent packet, got {evs:#?}");
    let ev = evs.remove(0);
    // Where: the receiving end of the veth, in B's namespace.
    assert_eq!(ev.netns, netns_inode(&lab.b), "{ev:#?}");
    assert_eq!(ev.ifname, lab.veth.b, "{ev:#?}");
    assert_eq!(ev.ifindex as i32, iface_in(&lab.b, &lab.veth.b).ifindex, "{ev:#?}");
    assert_ne!(ev.reason_code, 0);
    Some((lab, ev, pkt))
}

fn ip(src: &str, dst: &str, id: u16) -> Ip {
    Ip::new().src(src).dst(dst).id(id)
}

#[test]
fn wrong_dst_mac_is_otherhost_in_ip_rcv_core() {
    let r = one_drop("wrong_dst_mac_is_otherhost_in_ip_rcv_core", 1, |lab, a, b| {
        let id = 0xc001;
        let pkt = Ether::new().dst("02:00:00:00:00:99").src(lab.mac_a) / ip(a, b, id) / Udp::new().dport(4000) / b"otherhost".to_vec();
        (pkt, id, a.to_string(), b.to_string())
    });
    let Some((lab, ev, _)) = r else { return };
    assert_eq!(ev.reason, "OTHERHOST");
    assert!(ev.symbol.starts_with("ip_rcv_core+0x"), "{}", ev.symbol);
    // The MAC header as received: the wrong destination, A's source, IPv4.
    let mac = ev.mac.expect("a MAC header");
    assert_eq!(&mac[0..6], &[0x02, 0, 0, 0, 0, 0x99]);
    assert_eq!(Mac(mac[6..12].try_into().unwrap()), lab.mac_a);
    assert_eq!(&mac[12..14], &[0x08, 0x00]);
    // The packet as dissected from the network header: what was sent.
    let p = ev.packet();
    let Some(Layer::Ip(ip)) = p.find(LayerKind::Ip) else { panic!("{p:?}") };
    assert_eq!((ip.id, ip.ttl), (0xc001, 64));
    let Some(Layer::Udp(udp)) = p.find(LayerKind::Udp) else { panic!("{p:?}") };
    assert_eq!(udp.dport, Some(4000));
    assert_eq!(ev.data.len(), 20 + 8 + 9, "{:?}", ev.data);
}

#[test]
fn bad_ip_checksum_is_ip_csum() {
    let r = one_drop("bad_ip_checksum_is_ip_csum", 2, |lab, a, b| {
        let id = 0xc002;
        let pkt = Ether::new().dst(lab.mac_b) / ip(a, b, id).chksum(0x1234) / Udp::new().dport(4000);
        (pkt, id, a.to_string(), b.to_string())
    });
    let Some((_lab, ev, _)) = r else { return };
    assert_eq!(ev.reason, "IP_CSUM");
    assert!(ev.symbol.starts_with("ip_rcv_core+0x"), "{}", ev.symbol);
    let Some(Layer::Ip(ip)) = ev.packet().layers.first().cloned() else { panic!() };
    assert_eq!(ip.chksum, Some(0x1234));
}

#[test]
fn ip_len_past_the_end_is_pkt_too_small() {
    let r = one_drop("ip_len_past_the_end_is_pkt_too_small", 3, |lab, a, b| {
        let id = 0xc003;
        let pkt = Ether::new().dst(lab.mac_b) / ip(a, b, id).len(60) / Udp::new().dport(4000);
        (pkt, id, a.to_string(), b.to_string())
    });
    let Some((_lab, ev, _)) = r else { return };
    assert_eq!(ev.reason, "PKT_TOO_SMALL");
    assert!(ev.symbol.starts_with("ip_rcv_core+0x"), "{}", ev.symbol);
    // Only the 28 bytes that arrived, though the header claims 60.
    assert_eq!(ev.data.len(), 28, "{:?}", ev.data);
    let Some(Layer::Ip(ip)) = ev.packet().layers.first().cloned() else { panic!() };
    assert_eq!(ip.len, Some(60));
}

#[test]
fn src_equal_to_dst_is_ip_local_source() {
    let r = one_drop("src_equal_to_dst_is_ip_local_source", 4, |lab, _a, b| {
        let id = 0xc004;
        let pkt = Ether::new().dst(lab.mac_b) / ip(b, b, id) / Udp::new().dport(4000);
        (pkt, id, b.to_string(), b.to_string())
    });
    let Some((_lab, ev, _)) = r else { return };
    assert_eq!(ev.reason, "IP_LOCAL_SOURCE");
    // The route lookup that finds it is inlined into ip_rcv_finish_core on this kernel.
    assert!(ev.symbol.starts_with("ip_rcv_finish_core+0x"), "{}", ev.symbol);
}

#[test]
fn udp_to_a_closed_port_is_no_socket() {
    let r = one_drop("udp_to_a_closed_port_is_no_socket", 5, |lab, a, b| {
        let id = 0xc005;
        let pkt = Ether::new().dst(lab.mac_b) / ip(a, b, id) / Udp::new().sport(4001).dport(4002) / b"anyone?".to_vec();
        (pkt, id, a.to_string(), b.to_string())
    });
    let Some((_lab, ev, _)) = r else { return };
    assert_eq!(ev.reason, "NO_SOCKET");
    assert!(ev.symbol.starts_with("__udp4_lib_rcv+0x"), "{}", ev.symbol);
    // Dropped in the UDP layer, but the bytes still start at the IP header.
    let p = ev.packet();
    let Some(Layer::Udp(udp)) = p.find(LayerKind::Udp) else { panic!("{p:?}") };
    assert_eq!((udp.sport, udp.dport), (4001, Some(4002)));
    assert_eq!(ev.data.len(), 20 + 8 + 7);
}

#[test]
fn delivered_packet_is_not_dropped() {
    let name = "delivered_packet_is_not_dropped";
    if !privileged(name) {
        return;
    }
    let (a, b) = addrs(6);
    let lab = lab("cxp", (&a, &b), None);
    let bind = format!("{b}:4003");
    let sock = lab.b.run(T, move || std::net::UdpSocket::bind(bind)).expect("bind in B");
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut watch = DropWatch::start().expect("DropWatch::start");
    let id = 0xc006;
    send_from_a(&lab, Ether::new().dst(lab.mac_b) / Ip::new().src(a.as_str()).dst(b.as_str()).id(id) / Udp::new().dport(4003) / b"hello".to_vec());
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!(&buf[..n], b"hello");
    let evs = drops_of(&mut watch, id, &a, &b, Duration::from_secs(1));
    assert!(evs.is_empty(), "a delivered packet reported dropped: {evs:#?}");
}

/// Needs no root: the kernel's BTF has what the watcher reads, and reason names come from it.
#[test]
fn btf_gives_offsets_args_and_reason_names() {
    let btf = match Btf::vmlinux() {
        Ok(b) => b,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let offsets = craft::explain::prog::Offsets::from_btf(&btf).expect("offsets");
    eprintln!("{offsets:?}");
    let params = btf.fn_ptr_params("btf_trace_kfree_skb").unwrap();
    eprintln!("btf_trace_kfree_skb{params:?}");
    let args = craft::explain::prog::TpArgs::from_params(&params).unwrap();
    assert_eq!((args.skb, args.location), (0, 1), "{params:?}");
    let names = reason_names(&btf).unwrap();
    for want in ["NOT_SPECIFIED", "NO_SOCKET", "OTHERHOST", "IP_CSUM", "PKT_TOO_SMALL", "IP_LOCAL_SOURCE"] {
        assert!(names.values().any(|n| n == want), "no reason {want}");
    }
    assert!(names.values().all(|n| !n.starts_with("SKB_DROP_REASON_")));
    // The same table as the tracepoint's own (`__print_symbolic` in its format file), where
    // tracefs is mounted: every { code, "NAME" } pair there is ours too.
    if let Ok(fmt) = std::fs::read_to_string("/sys/kernel/tracing/events/skb/kfree_skb/format") {
        let table = fmt.split("__print_symbolic").nth(1).expect("a symbolic reason table");
        let mut n = 0;
        for entry in table.split('{').skip(1) {
            let (code, rest) = entry.split_once(',').unwrap();
            let name = rest.split('"').nth(1).unwrap();
            let code: u32 = code.trim().parse().unwrap();
            assert_eq!(names.get(&code).map(String::as_str), Some(name), "reason {code}");
            n += 1;
        }
        assert!(n > 50, "{n} reasons in the format file");
    }
}

/// Run this test binary again with only test `name`, env `CRAFT_EXPLAIN_CHILD` set, alone
/// (so no other test's watcher is around), optionally as nobody.
fn run_child(name: &str, as_nobody: bool) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let args = ["--exact", name, "--nocapture", "--test-threads=1"];
    if as_nobody {
        // A copy nobody may run (the target directory need not be readable by others),
        // run as uid/gid 65534 with no groups and no capabilities; removed afterwards.
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("craft-explain-nobody-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("explain-test");
        std::fs::copy(&exe, &copy).unwrap();
        for p in [&dir, &copy] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
            .arg(&copy)
            .args(args)
            .env("CRAFT_EXPLAIN_CHILD", "1")
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        out.expect("setpriv (util-linux)")
    } else {
        std::process::Command::new(exe).args(args).env("CRAFT_EXPLAIN_CHILD", "1").output().unwrap()
    }
}

fn is_child() -> bool {
    std::env::var_os("CRAFT_EXPLAIN_CHILD").is_some()
}

/// The BPF objects (maps, programs, links) this process holds, by their descriptors.
fn bpf_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.to_string_lossy().into_owned())
        .filter(|t| t.starts_with("anon_inode:bpf"))
        .collect()
}

#[test]
fn child_releases_everything() {
    if !is_child() {
        return;
    }
    assert!(bpf_fds().is_empty(), "{:?}", bpf_fds());
    let watch = DropWatch::start().expect("start");
    let held = bpf_fds();
    assert!(held.iter().any(|t| t == "anon_inode:bpf_link"), "{held:?}");
    assert!(held.iter().any(|t| t == "anon_inode:bpf-prog"), "{held:?}");
    assert!(held.iter().any(|t| t == "anon_inode:bpf-map"), "{held:?}");
    drop(watch);
    assert!(bpf_fds().is_empty(), "after drop: {:?}", bpf_fds());
    // And when a panic unwinds past it.
    let r = std::panic::catch_unwind(|| {
        let _watch = DropWatch::start().expect("start");
        panic!("on purpose");
    });
    assert!(r.is_err());
    assert!(bpf_fds().is_empty(), "after panic: {:?}", bpf_fds());
    println!("CHILD OK");
}

#[test]
fn watcher_is_released_on_drop_and_panic() {
    if is_child() || !privileged("watcher_is_released_on_drop_and_panic") {
        return;
    }
    let out = run_child("child_releases_everything", false);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("CHILD OK"), "{text}");
}

#[test]
fn child_start_unprivileged() {
    if !is_child() {
        return;
    }
    let err = DropWatch::start().err().expect("started without privileges");
    println!("ERROR: {err}");
}

#[test]
fn without_root_the_error_says_so() {
    if is_child() || !privileged("without_root_the_error_says_so") {
        return;
    }
    let out = run_child("child_start_unprivileged", true);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ERROR: craft explain needs root (CAP_BPF and CAP_PERFMON)"), "{text}");
}

/// A ring buffer too small for the drops between two polls: what does not fit is counted,
/// and every drop is either read or counted.
#[test]
fn a_full_ring_counts_what_it_loses() {
    if !privileged("a_full_ring_counts_what_it_loses") {
        return;
    }
    let (a, b) = addrs(7);
    let lab = lab("cxp", (&a, &b), None);
    // Other tests' (and the host's) drops fill a ring this small too: what this test
    // checks is that its own drops are all either read or counted lost.
    let mut watch = DropWatch::with_ring_size(4096).expect("DropWatch::with_ring_size");
    const N: usize = 200;
    let id = 0xc007;
    let pkt = Ether::new().dst("02:00:00:00:00:99") / ip(&a, &b, id) / Udp::new().dport(4000);
    let dev = lab.veth.a.clone();
    let report = lab.a.run(T, move || sendp(&dev, &[pkt], SendOpts { count: N, ..SendOpts::default() })).expect("sendp");
    assert_eq!(report.sent, N);
    std::thread::sleep(Duration::from_millis(500));
    let want = Some((id, Some(a.parse().unwrap()), b.parse().unwrap()));
    let mut seen = 0;
    loop {
        let evs = watch.poll(Duration::from_millis(200)).unwrap();
        if evs.is_empty() {
            break;
        }
        seen += evs.iter().filter(|ev| ip_key(ev) == want).count();
    }
    let lost = watch.lost().unwrap();
    eprintln!("{N} sent, {seen} read, {lost} lost (4096-byte ring, {} bytes a drop)", craft::explain::RECORD_SIZE);
    assert!(seen < N && lost > 0, "the ring did not fill: {seen} read, {lost} lost");
    assert!(seen + lost as usize >= N, "{seen} read + {lost} lost < {N} sent");
}
