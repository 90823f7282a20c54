//! craft::explain::trace against the real kernel: the path a sent frame took (transmit on
//! one namespace's veth, receive on the other's, forwarding through a router namespace, an
//! XDP program sending it back) and the drop that ended it, selected by the frame's headers.
//! Every frame stays inside namespaces these tests create (see tests/common/netns.rs).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::{iface_in, lab, Lab};
use common::netns::{privileged, Netns, VethPair};
use craft::explain::trace::{build_path, netns_names, HopEvent, HopKind, Path, PathWatch, StepKind};
use craft::explain::{DropEvent, DropWatch};
use craft::live::{sendp, SendOpts};
use craft::prelude::*;

const T: Duration = Duration::from_secs(20);

fn netns_inode(ns: &Netns) -> u64 {
    std::fs::metadata(format!("/var/run/netns/{}", ns.name)).expect("netns file").ino()
}

fn send_in(ns: &Netns, dev: &str, pkt: Packet) {
    let dev = dev.to_string();
    let report = ns.run(T, move || sendp(&dev, &[pkt], SendOpts::default())).expect("sendp");
    assert_eq!(report.sent, 1);
}

/// Poll both watchers until `sent`'s path ends in a drop (or `wait` passes), then a little
/// longer for late events; the path of `sent` among everything seen.
fn path_of(hops: &mut PathWatch, drops: &mut DropWatch, sent: &Packet, wait: Duration) -> Path {
    let deadline = Instant::now() + wait;
    let (mut h, mut d): (Vec<HopEvent>, Vec<DropEvent>) = (Vec::new(), Vec::new());
    let mut done_at: Option<Instant> = None;
    while Instant::now() < deadline && done_at.is_none_or(|t| Instant::now() < t) {
        h.extend(hops.poll(Duration::from_millis(50)).expect("poll hops"));
        d.extend(drops.poll(Duration::from_millis(10)).expect("poll drops"));
        if done_at.is_none() && build_path(sent, &h, &d).dropped().is_some() {
            done_at = Some(Instant::now() + Duration::from_millis(300));
        }
    }
    let path = build_path(sent, &h, &d);
    eprintln!("{} hop events, {} drop events seen (lost: {} hops); the path:", h.len(), d.len(), hops.lost().unwrap());
    eprintln!("{}", path.render(&netns_names()));
    path
}

/// (kind, netns, ifname) of each hop, and the drop's reason at the end if any.
fn shape(path: &Path) -> Vec<(String, u64, String)> {
    path.steps
        .iter()
        .map(|s| match (&s.hop, &s.drop) {
            (Some(h), _) => (h.kind.name().to_string(), h.netns, h.ifname.clone()),
            (_, Some(d)) => (format!("drop {}", d.reason), d.netns, d.ifname.clone()),
            _ => unreachable!(),
        })
        .collect()
}

fn start() -> (PathWatch, DropWatch) {
    let hops = PathWatch::start().expect("PathWatch::start");
    assert!(hops.missing().is_empty(), "{:?}", hops.missing());
    (hops, DropWatch::start().expect("DropWatch::start"))
}

fn two_hops_then(name: &str, n: u8, dst_mac: Option<&str>, reason: &str, func: &str) {
    if !privileged(name) {
        return;
    }
    let (a, b) = (format!("10.216.{n}.1"), format!("10.216.{n}.2"));
    let lab: Lab = lab("ctr", (&a, &b), None);
    let (mut hops, mut drops) = start();
    let mac = dst_mac.map(str::to_string).unwrap_or_else(|| lab.mac_b.to_string());
    let sent = Ether::new().dst(mac.as_str()).src(lab.mac_a) / Ip::new().src(a.as_str()).dst(b.as_str()).id(0xd000 + n as u16) / Udp::new().sport(4001).dport(4002) / b"path?".to_vec();
    send_in(&lab.a, &lab.veth.a, sent.clone());
    let path = path_of(&mut hops, &mut drops, &sent, Duration::from_secs(5));
    let (na, nb) = (netns_inode(&lab.a), netns_inode(&lab.b));
    assert_eq!(
        shape(&path),
        vec![
            ("tx".to_string(), na, lab.veth.a.clone()),
            ("rx".to_string(), nb, lab.veth.b.clone()),
            (format!("drop {reason}"), nb, lab.veth.b.clone()),
        ],
        "{path:#?}"
    );
    assert!(path.dropped().unwrap().symbol.starts_with(func), "{}", path.dropped().unwrap().symbol);
    let (tx, rx) = (path.steps[0].hop.as_ref().unwrap(), path.steps[1].hop.as_ref().unwrap());
    assert!(tx.ts < rx.ts);
    assert_eq!(tx.ifindex as i32, iface_in(&lab.a, &lab.veth.a).ifindex);
    assert_eq!(rx.ifindex as i32, iface_in(&lab.b, &lab.veth.b).ifindex);
    // Both saw the frame as sent: same MAC header, same bytes from IP on; nothing changed.
    let built = sent.build();
    for h in [tx, rx] {
        assert_eq!(h.mac.as_ref().map(|m| &m[..]), Some(&built[..14]), "{h:#?}");
        assert_eq!(h.data, built[14..], "{h:#?}");
    }
    assert!(path.steps.iter().all(|s| s.changes.is_empty()), "{path:#?}");
    let line = path.line(&netns_names());
    assert_eq!(line, format!("{} {} tx → {} {} rx → dropped at {func}: {reason}", lab.a.name, lab.veth.a, lab.b.name, lab.veth.b));
}

#[test]
fn udp_to_a_closed_port_path_is_tx_rx_no_socket() {
    two_hops_then("udp_to_a_closed_port_path_is_tx_rx_no_socket", 1, None, "NO_SOCKET", "__udp4_lib_rcv");
}

#[test]
fn wrong_dst_mac_path_is_tx_rx_otherhost() {
    two_hops_then("wrong_dst_mac_path_is_tx_rx_otherhost", 2, Some("02:00:00:00:00:99"), "OTHERHOST", "ip_rcv_core");
}

fn sysctl(ns: &Netns, setting: &str) {
    ns.cmd("sysctl", &["-qw", setting]).expect("sysctl");
}

/// A – R – B, R forwarding: the frame leaves R with R's MACs and a TTL one lower.
#[test]
fn routed_hop_shows_ttl_and_mac_rewrite() {
    if !privileged("routed_hop_shows_ttl_and_mac_rewrite") {
        return;
    }
    // Namespaces first: the veths (declared after) are removed before them.
    let (a, r, b) = (Netns::new("ctra"), Netns::new("ctrr"), Netns::new("ctrb"));
    let ar = VethPair::new(&a, &r).with_addrs("10.217.1.1/24", "10.217.1.2/24");
    let rb = VethPair::new(&r, &b).with_addrs("10.217.2.1/24", "10.217.2.2/24");
    sysctl(&r, "net.ipv4.ip_forward=1");
    a.exec(&["route", "add", "10.217.2.0/24", "via", "10.217.1.2"]);
    b.exec(&["route", "add", "10.217.1.0/24", "via", "10.217.2.1"]);
    let (mac_a, mac_r_in) = (iface_in(&a, &ar.a).mac, iface_in(&r, &ar.b).mac);
    let (mac_r_out, mac_b) = (iface_in(&r, &rb.a).mac, iface_in(&b, &rb.b).mac);
    // R knows B's MAC already, so the frame is forwarded at once (no ARP on the path).
    r.exec(&["neigh", "replace", "10.217.2.2", "lladdr", &mac_b.to_string(), "dev", &rb.a, "nud", "permanent"]);
    let (mut hops, mut drops) = start();
    let sent = Ether::new().dst(mac_r_in).src(mac_a) / Ip::new().src("10.217.1.1").dst("10.217.2.2").id(0xd003) / Udp::new().sport(4001).dport(4002) / b"routed".to_vec();
    send_in(&a, &ar.a, sent.clone());
    let path = path_of(&mut hops, &mut drops, &sent, Duration::from_secs(5));
    let (na, nr, nb) = (netns_inode(&a), netns_inode(&r), netns_inode(&b));
    assert_eq!(
        shape(&path),
        vec![
            ("tx".to_string(), na, ar.a.clone()),
            ("rx".to_string(), nr, ar.b.clone()),
            ("tx".to_string(), nr, rb.a.clone()),
            ("rx".to_string(), nb, rb.b.clone()),
            ("drop NO_SOCKET".to_string(), nb, rb.b.clone()),
        ],
        "{path:#?}"
    );
    let ch = &path.steps[2].changes;
    for want in [format!("Ether.dst {mac_r_in} → {mac_b}"), format!("Ether.src {mac_a} → {mac_r_out}"), "IP.ttl 64 → 63".to_string()] {
        assert!(ch.contains(&want), "want {want} in {ch:?}");
    }
    assert!(path.steps[1].changes.is_empty() && path.steps[3].changes.is_empty(), "{path:#?}");
    assert!(path.render(&netns_names()).contains(&format!("{} {} rx → {} {} tx: Ether.dst", r.name, ar.b, r.name, rb.a)));
}

/// An `lb-xdp` process in a namespace, stopped with SIGTERM (so it unpins its maps) on drop.
struct LbXdp(Child);

impl LbXdp {
    fn start(bin: &str, ns: &Netns, args: &[&str]) -> LbXdp {
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", ns.name))
            .arg("--")
            .arg(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lb-xdp");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        if !line.contains("Ctrl-C to stop") {
            let mut err = String::new();
            let _ = child.stderr.as_mut().unwrap().read_to_string(&mut err);
            let _ = child.kill();
            let _ = child.wait();
            panic!("lb-xdp {} did not start: {line}{err}", args.join(" "));
        }
        LbXdp(child)
    }
}

impl Drop for LbXdp {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid, not yet reaped.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn lb_xdp_bin() -> Option<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    ["target/debug/lb-xdp", "target/release/lb-xdp"].iter().map(|p| root.join(p)).find(|p| p.exists()).map(|p| p.to_string_lossy().into_owned())
}

/// lb-xdp's director on B's veth encapsulates a VIP packet in GUE and sends it back out
/// (XDP_TX) to A, whose veth has an XDP_PASS program: the path shows the XDP_TX between
/// A's transmit and A's receive, and the GUE outer headers added there.
#[test]
fn xdp_tx_by_the_director_is_on_the_path() {
    let name = "xdp_tx_by_the_director_is_on_the_path";
    if !privileged(name) {
        return;
    }
    let Some(bin) = lb_xdp_bin() else {
        eprintln!("skipping {name}: no target/{{debug,release}}/lb-xdp (cargo build -p lb-xdp)");
        return;
    };
    let (a, b) = ("10.218.0.1", "10.218.0.2");
    let lab = lab("ctx", (a, b), None);
    let config = std::env::temp_dir().join(format!("craft-trace-{}-{}.ron", std::process::id(), lab.veth.b));
    std::fs::write(
        &config,
        format!("(next_hop_mac: \"{}\", src_v4: \"{b}\", vips: [(addr: \"10.218.9.1\", port: 80, proto: udp, backends: [(addr: \"10.218.0.77\")])])", lab.mac_a),
    )
    .unwrap();
    let _pass = LbXdp::start(&bin, &lab.a, &["pass", "--iface", &lab.veth.a]);
    let director = std::panic::catch_unwind(|| LbXdp::start(&bin, &lab.b, &["director", "--iface", &lab.veth.b, "--config", &config.to_string_lossy()]));
    let _ = std::fs::remove_file(&config);
    let _director = director.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let (mut hops, mut drops) = start();
    let sent = Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a).dst("10.218.9.1").id(0xd004) / Udp::new().sport(4005).dport(80) / b"vip".to_vec();
    send_in(&lab.a, &lab.veth.a, sent.clone());
    // The encapsulated packet comes back to A, which is not 10.218.0.77 and does not
    // forward: it is dropped there (the reason is the kernel's business, not asserted).
    let path = path_of(&mut hops, &mut drops, &sent, Duration::from_secs(5));
    let (na, nb) = (netns_inode(&lab.a), netns_inode(&lab.b));
    let s = shape(&path);
    assert!(s.len() >= 3, "{path:#?}");
    assert_eq!(s[0], ("tx".to_string(), na, lab.veth.a.clone()), "{path:#?}");
    let xdp = path.steps.iter().position(|st| st.kind == StepKind::Hop(HopKind::XdpBulkTx)).unwrap_or_else(|| panic!("no XDP_TX on the path: {path:#?}"));
    let x = path.steps[xdp].hop.as_ref().unwrap();
    assert_eq!((x.netns, x.ifname.as_str()), (nb, lab.veth.b.as_str()), "{x:#?}");
    let info = x.xdp.as_ref().unwrap();
    assert!(info.sent >= 1 && info.drops == 0, "{info:?}");
    let rx = path.steps.iter().position(|st| st.kind == StepKind::Hop(HopKind::Rx)).unwrap_or_else(|| panic!("no rx: {path:#?}"));
    assert!(xdp < rx, "{path:#?}");
    assert_eq!(s[rx], ("rx".to_string(), na, lab.veth.a.clone()), "{path:#?}");
    let ch = &path.steps[rx].changes;
    assert!(ch.iter().any(|c| c.starts_with(&format!("+ IP/UDP/GUE outer (IP {b} > 10.218.0.77"))), "{ch:?}");
}
