//! craft::explain::trace against the real kernel: the path a sent frame took (transmit on
//! one namespace's veth, receive on the other's, forwarding through a router namespace, an
//! XDP program sending it back) and the drop that ended it, selected by the frame's headers.
//! Every frame stays inside namespaces these tests create (see tests/common/netns.rs).

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::lab::{iface_in, lab, Lab};
use common::lb_xdp::{ConfigFile, LbXdp};
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

/// lb-xdp's director on B's veth encapsulates a VIP packet in GUE and sends it back out
/// (XDP_TX) to A, whose veth has an XDP_PASS program: the path shows the XDP_TX between
/// A's transmit and A's receive, and the GUE outer headers added there.
#[test]
fn xdp_tx_by_the_director_is_on_the_path() {
    let name = "xdp_tx_by_the_director_is_on_the_path";
    if !privileged(name) {
        return;
    }
    let Some(bin) = common::lb_xdp::bin(name) else { return };
    let (a, b) = ("10.218.0.1", "10.218.0.2");
    let lab = lab("ctx", (a, b), None);
    let config = ConfigFile::new(
        &format!("trace-{}", lab.veth.b),
        &format!("(next_hop_mac: \"{}\", src_v4: \"{b}\", vips: [(addr: \"10.218.9.1\", port: 80, proto: udp, backends: [(addr: \"10.218.0.77\")])])", lab.mac_a),
    );
    let _pass = LbXdp::start(&bin, &lab.a, &["pass", "--iface", &lab.veth.a]);
    let _director = LbXdp::start(&bin, &lab.b, &["director", "--iface", &lab.veth.b, "--config", &config.arg()]);
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

/// The same XDP_TX toward A's end, which has no XDP program this time: the frame is lost
/// in XDP (no skb, no drop event). The explained send with --trace says so for the packet,
/// from the xdp_bulk_tx hop that dropped it, instead of "not dropped".
#[test]
fn xdp_tx_toward_a_peer_without_xdp_is_reported_lost_in_xdp() {
    let name = "xdp_tx_toward_a_peer_without_xdp_is_reported_lost_in_xdp";
    if !privileged(name) {
        return;
    }
    let Some(bin) = common::lb_xdp::bin(name) else { return };
    let (a, b) = ("10.218.3.1", "10.218.3.2");
    let lab = lab("ctl", (a, b), None);
    let config = ConfigFile::new(
        &format!("trace-{}", lab.veth.b),
        &format!("(next_hop_mac: \"{}\", src_v4: \"{b}\", vips: [(addr: \"10.218.9.3\", port: 80, proto: udp, backends: [(addr: \"10.218.3.77\")])])", lab.mac_a),
    );
    let _director = LbXdp::start(&bin, &lab.b, &["director", "--iface", &lab.veth.b, "--config", &config.arg()]);
    let ex = craft::explain::Explainer::start(craft::explain::ExplainOpts { trace: true, wait: Duration::from_millis(500), ..Default::default() }).expect("Explainer::start");
    let sent = Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(a).dst("10.218.9.3").id(0xd007) / Udp::new().sport(4007).dport(80) / b"vip".to_vec();
    let dev = lab.veth.a.clone();
    let ex = lab.a.run(T, move || {
        let mut ex = ex;
        assert_eq!(craft::explain::send::sendp(&mut ex, &dev, &[sent], SendOpts::default()).expect("sendp").sent, 1);
        ex
    });
    let r = ex.finish(None).expect("finish");
    let text = r.text();
    eprint!("{text}");
    let p = &r.packets[0];
    assert!(!p.dropped(), "{p:#?}");
    let at = p.xdp_loss(&netns_names()).unwrap_or_else(|| panic!("no XDP loss on the path: {text}"));
    assert!(at.contains(&lab.veth.b) && at.contains("XDP_TX") && at.contains("drops 1"), "{at}");
    assert!(text.contains("packet 0 (Ether / IP 10.218.3.1 > 10.218.9.3 / UDP 4007 > 80 / Raw): no drop event, but XDP lost frames on its path at"), "{text}");
    let j = &r.json_lines()[0];
    assert!(j["xdp_loss"].as_str().is_some_and(|l| l.contains("XDP_TX")), "{j}");
}

/// lb-xdp's director on B's end of A–B, configured to leave by B's end of B–C (`redirect`:
/// a devmap redirect): a TCP SYN to the VIP goes A tx → B xdp_redirect (to B's B–C end) →
/// B xdp_devmap_xmit → C rx, GUE-encapsulated toward C (the backend), where nothing
/// listens on the GUE port. C's end has an XDP_PASS program: a veth takes redirected
/// frames only when its peer has one.
#[test]
fn xdp_redirect_by_the_director_is_on_the_path() {
    let name = "xdp_redirect_by_the_director_is_on_the_path";
    if !privileged(name) {
        return;
    }
    let Some(bin) = common::lb_xdp::bin(name) else { return };
    // Namespaces first: the veths (declared after) are removed before them.
    let (a, b, c) = (Netns::new("ctda"), Netns::new("ctdb"), Netns::new("ctdc"));
    let ab = VethPair::new(&a, &b).with_addrs("10.219.1.1/24", "10.219.1.2/24");
    let bc = VethPair::new(&b, &c).with_addrs("10.219.2.1/24", "10.219.2.2/24");
    let (mac_a, mac_b_in) = (iface_in(&a, &ab.a).mac, iface_in(&b, &ab.b).mac);
    let (mac_b_out, mac_c) = (iface_in(&b, &bc.a).mac, iface_in(&c, &bc.b).mac);
    let (vip, backend) = ("10.219.9.1", "10.219.2.2");
    let config = ConfigFile::new(
        &format!("redirect-{}", ab.b),
        &format!(
            r#"(next_hop_mac: "{mac_c}", src_v4: "10.219.2.1", redirect: "{}", vips: [(addr: "{vip}", port: 80, proto: tcp, backends: [(addr: "{backend}")])])"#,
            bc.a
        ),
    );
    let _pass = LbXdp::start(&bin, &c, &["pass", "--iface", &bc.b]);
    let _director = LbXdp::start(&bin, &b, &["director", "--iface", &ab.b, "--config", &config.arg()]);
    let (mut hops, mut drops) = start();
    let sent = Ether::new().dst(mac_b_in).src(mac_a) / Ip::new().src("10.219.1.1").dst(vip).id(0xd006) / Tcp::new().sport(4006).dport(80).flags("S");
    send_in(&a, &ab.a, sent.clone());
    let path = path_of(&mut hops, &mut drops, &sent, Duration::from_secs(5));
    let (na, nb, nc) = (netns_inode(&a), netns_inode(&b), netns_inode(&c));
    // Steps in this test's namespaces (an XDP event of another program running on the host
    // at that moment would be placed here too: left out).
    let mine: Vec<(String, u64, String)> = shape(&path).into_iter().filter(|(_, ns, _)| [na, nb, nc].contains(ns)).collect();
    let has_devmap_xmit = mine.iter().any(|(k, _, _)| k == "xdp_devmap_xmit");
    let mut want = vec![("tx".to_string(), na, ab.a.clone()), ("xdp_redirect".to_string(), nb, ab.b.clone())];
    if has_devmap_xmit {
        // The frames the redirect queued, flushed to the target: from the receiving device.
        want.push(("xdp_devmap_xmit".to_string(), nb, ab.b.clone()));
    } else {
        eprintln!("no xdp_devmap_xmit on the path: this kernel did not emit it");
    }
    want.push(("rx".to_string(), nc, bc.b.clone()));
    // GUE to a port nobody listens on, at the backend.
    want.push(("drop NO_SOCKET".to_string(), nc, bc.b.clone()));
    assert_eq!(mine, want, "{path:#?}");
    let step = |kind: HopKind| path.steps.iter().find(|s| s.kind == StepKind::Hop(kind) && s.hop.as_ref().is_some_and(|h| [na, nb, nc].contains(&h.netns))).unwrap();
    let redirect = step(HopKind::XdpRedirect).hop.as_ref().unwrap().xdp.clone().unwrap();
    let out = iface_in(&b, &bc.a);
    assert_eq!((redirect.act, redirect.err), (4, 0), "{redirect:?}");
    assert_eq!((redirect.to_ifindex, redirect.to_ifname.as_str(), redirect.to_netns), (out.ifindex as u32, bc.a.as_str(), nb), "{redirect:?}");
    if has_devmap_xmit {
        let x = step(HopKind::XdpDevmapXmit).hop.as_ref().unwrap().xdp.clone().unwrap();
        assert_eq!((x.to_ifindex, x.to_ifname.as_str()), (out.ifindex as u32, bc.a.as_str()), "{x:?}");
        assert!(x.sent >= 1 && x.drops == 0 && x.err == 0, "{x:?}");
    }
    // What changed from A's transmit to C's receive: a GUE outer toward the backend, sent
    // to C's MAC from B's B–C end.
    let rx = step(HopKind::Rx);
    let ch = &rx.changes;
    assert!(ch.iter().any(|c| c.starts_with(&format!("+ IP/UDP/GUE outer (IP 10.219.2.1 > {backend} / UDP "))), "{ch:?}");
    assert!(ch.iter().any(|c| c.ends_with("> 6080 / GUE proto 4)")), "{ch:?}");
    assert!(ch.contains(&format!("Ether.dst {mac_b_in} → {mac_c}")), "{ch:?}");
    // The outer source is the MAC of the interface it leaves by.
    assert!(ch.contains(&format!("Ether.src {mac_a} → {mac_b_out}")), "{ch:?}");
    let text = path.render(&netns_names());
    assert!(text.contains(&format!("{} {} xdp redirect → {}", b.name, ab.b, bc.a)), "{text}");
    assert!(text.contains(&format!("{} {} rx: ", c.name, bc.b)) && text.contains("+ IP/UDP/GUE outer"), "{text}");
}
