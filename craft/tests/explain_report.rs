//! craft::explain's Explainer and report, and `craft explain` / `send --explain`, against
//! the real kernel: broken packets sent from namespace A to B of a fresh pair, each test
//! WITH background drops running at the same time in another pair of namespaces it creates
//! (a flood of bad-MAC frames, thousands of OTHERHOST drops a second), none of which may be
//! blamed on craft. Every frame stays inside namespaces these tests create (tests/common:
//! unique names, removed on drop, panics included).

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::child::Guard;
use common::explained::{assert_nothing_else_blamed, opts, sendp_explained, serial, the_drop, T};
use common::flood::Flood;
use common::lab::{lab, Lab};
use common::netns::{privileged, Netns, VethPair};
use craft::explain::send as report;
use craft::explain::{ExplainOpts, Explainer, Report};
use craft::live::SendOpts;
use craft::prelude::*;

const CRAFT: &str = env!("CARGO_BIN_EXE_craft");

fn addrs(n: u8) -> (String, String) {
    (format!("10.215.{n}.1"), format!("10.215.{n}.2"))
}

fn assert_flood_not_blamed(r: &Report, flood: &Flood) {
    assert_nothing_else_blamed(r, flood, &[]);
}

/// Send `pkt` from A with an explainer running, background drops meanwhile.
fn explain_one(name: &str, n: u8, build: impl FnOnce(&Lab, &str, &str) -> Packet) -> Option<(Lab, Report)> {
    if !privileged(name) {
        return None;
    }
    let _serial = serial();
    let flood = Flood::v4(n, 25);
    let (a, b) = addrs(n);
    let lab = lab("cxr", (&a, &b), None);
    let pkt = build(&lab, &a, &b);
    let r = sendp_explained(&lab, opts(), pkt);
    assert_flood_not_blamed(&r, &flood);
    Some((lab, r))
}

#[test]
fn bad_dst_mac_is_otherhost_with_both_macs() {
    let Some((lab, r)) = explain_one("bad_dst_mac_is_otherhost_with_both_macs", 1, |lab, a, b| {
        Ether::new().dst("02:00:00:00:00:99").src(lab.mac_a) / Ip::new().src(a).dst(b).id(0xd001) / Udp::new().dport(4000)
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("OTHERHOST", "ip_rcv_core"), "{d:#?}");
    assert!(d.hint.contains("the destination MAC 02:00:00:00:00:99 is not the receiving interface's"), "{}", d.hint);
    assert!(d.hint.contains(&lab.mac_b.to_string()), "{} should name {}", d.hint, lab.mac_b);
    let text = r.text();
    let (a, b) = addrs(1);
    assert!(text.contains(&format!("packet 0 (Ether / IP {a} > {b} / UDP 53 > 4000) was dropped")), "{text}");
    assert!(text.contains(&format!("was dropped in namespace {}", lab.b.name)), "{text}");
}

/// count=3 of one frame with --trace: three packets in the report, each with a path of its
/// own (its tx, its rx, its drop; in time order across the rounds), not one merged path.
#[test]
fn each_round_of_count_n_has_its_own_path() {
    if !privileged("each_round_of_count_n_has_its_own_path") {
        return;
    }
    let _serial = serial();
    let flood = Flood::v4(13, 25);
    let (a, b) = addrs(13);
    let lab = lab("cxr", (&a, &b), None);
    let pkt = Ether::new().dst("02:00:00:00:00:99").src(lab.mac_a) / Ip::new().src(a.as_str()).dst(b.as_str()).id(0xd00d) / Udp::new().dport(4000);
    let ex = Explainer::start(ExplainOpts { trace: true, ..opts() }).expect("Explainer::start");
    let dev = lab.veth.a.clone();
    let ex = lab.a.run(T, move || {
        let mut ex = ex;
        assert_eq!(report::sendp(&mut ex, &dev, &[pkt], SendOpts { count: 3, ..SendOpts::default() }).expect("sendp").sent, 3);
        ex
    });
    let r = ex.finish(None).expect("finish");
    eprint!("{}", r.text());
    assert_flood_not_blamed(&r, &flood);
    assert_eq!(r.packets.iter().map(|p| (p.index, p.round, p.drops.len())).collect::<Vec<_>>(), [(0, 0, 1), (0, 1, 1), (0, 2, 1)]);
    let mut last_end = 0;
    for p in &r.packets {
        let path = p.path.as_ref().expect("a path");
        let kinds: Vec<String> = path.steps.iter().map(|s| s.hop.as_ref().map_or("drop".to_string(), |h| h.kind.name().to_string())).collect();
        assert_eq!(kinds, ["tx", "rx", "drop"], "round {}: {}", p.round, path.line(&Default::default()));
        let times: Vec<u64> = path.steps.iter().map(|s| s.time_ns()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]) && times[0] >= last_end, "round {}: {times:?} after {last_end}", p.round);
        last_end = *times.last().unwrap();
        assert_eq!(path.dropped().expect("drop").reason, "OTHERHOST");
    }
}

#[test]
fn forced_ip_checksum_is_ip_csum_with_the_right_value() {
    let mut right = 0u16;
    let Some((lab, r)) = explain_one("forced_ip_checksum_is_ip_csum_with_the_right_value", 2, |lab, a, b| {
        let ip = Ip::new().src(a).dst(b).id(0xd002);
        let good = (ip.clone() / Udp::new().dport(4000)).build();
        right = u16::from_be_bytes([good[10], good[11]]);
        Ether::new().dst(lab.mac_b) / ip.chksum(0x1234) / Udp::new().dport(4000)
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("IP_CSUM", "ip_rcv_core"), "{d:#?}");
    assert!(d.hint.contains(&format!("IP chksum 0x1234 is wrong, should be {right:#x}")), "{}", d.hint);
}

#[test]
fn ip_len_past_the_end_is_pkt_too_small_32_bytes_missing() {
    let Some((lab, r)) = explain_one("ip_len_past_the_end_is_pkt_too_small_32_bytes_missing", 3, |lab, a, b| {
        Ether::new().dst(lab.mac_b) / Ip::new().src(a).dst(b).id(0xd003).len(60) / Udp::new().dport(4000)
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("PKT_TOO_SMALL", "ip_rcv_core"), "{d:#?}");
    assert!(d.hint.contains("32 bytes missing"), "{}", d.hint);
}

#[test]
fn src_equal_to_dst_is_ip_local_source() {
    let Some((lab, r)) = explain_one("src_equal_to_dst_is_ip_local_source", 4, |lab, _a, b| {
        Ether::new().dst(lab.mac_b) / Ip::new().src(b).dst(b).id(0xd004) / Udp::new().dport(4000)
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("IP_LOCAL_SOURCE", "ip_rcv_finish_core"), "{d:#?}");
}

#[test]
fn closed_udp_port_is_no_socket_and_the_port_unreachable_is_not_blamed() {
    let Some((lab, r)) = explain_one("closed_udp_port_is_no_socket_and_the_port_unreachable_is_not_blamed", 5, |lab, a, b| {
        Ether::new().dst(lab.mac_b) / Ip::new().src(a).dst(b).id(0xd005) / Udp::new().sport(4001).dport(4002) / b"anyone?".to_vec()
    }) else {
        return;
    };
    let d = the_drop(&lab, &r);
    assert_eq!((d.reason.as_str(), d.function()), ("NO_SOCKET", "__udp4_lib_rcv"), "{d:#?}");
    // B answers with ICMP port unreachable (quoting the packet: same id, addresses, ports).
    // Whatever A's kernel does with it, it is never packet 0's fate; if dropped, it is a
    // reply to packet 0.
    for rep in &r.replies_dropped {
        assert_eq!(rep.answers, Some(0), "{rep:#?}");
        assert!(rep.summary.contains("ICMP"), "{rep:#?}");
    }
    eprintln!("{} replies dropped", r.replies_dropped.len());
}

#[test]
fn delivered_to_a_listening_socket_is_not_dropped() {
    let name = "delivered_to_a_listening_socket_is_not_dropped";
    let mut sock: Option<UdpSocket> = None;
    let Some((_lab, r)) = explain_one(name, 6, |lab, a, b| {
        let bind = format!("{b}:4003");
        let s = lab.b.run(T, move || UdpSocket::bind(bind)).expect("bind in B");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        sock = Some(s);
        Ether::new().dst(lab.mac_b) / Ip::new().src(a).dst(b).id(0xd006) / Udp::new().dport(4003) / b"hello".to_vec()
    }) else {
        return;
    };
    let mut buf = [0u8; 64];
    let (n, _) = sock.unwrap().recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!(&buf[..n], b"hello");
    assert!(!r.packets[0].dropped(), "{:#?}", r.packets[0]);
    assert!(r.text().contains("packet 0 (") && r.text().contains("): not dropped"), "{}", r.text());
}

/// 10,000 packets, every 10th with a wrong IP checksum, the rest delivered to a listening
/// socket; background drops meanwhile. Every broken one named IP_CSUM, no good one blamed.
#[test]
fn accuracy_under_load_10000_packets_10_percent_broken() {
    let name = "accuracy_under_load_10000_packets_10_percent_broken";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    const N: usize = 10_000;
    let t_start = Instant::now();
    let flood = Flood::v4(7, 25);
    let (a, b) = addrs(7);
    let lab = lab("cxr", (&a, &b), None);
    let bind = format!("{b}:4004");
    let sock = lab
        .b
        .run(T, move || {
            let s = UdpSocket::bind(bind)?;
            // Room for every datagram even if the reader falls behind (root: FORCE).
            let size: libc::c_int = 32 << 20;
            // SAFETY: a valid socket and a c_int option of the right size.
            unsafe {
                use std::os::fd::AsRawFd;
                libc::setsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size as *const _ as *const libc::c_void, 4);
            }
            Ok::<_, std::io::Error>(s)
        })
        .expect("bind in B");
    // The socket stays open until everything is sent (however slow the host), then is
    // drained: a reader that gave up on a pause would make good packets NO_SOCKET drops.
    sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let sending = Arc::new(AtomicBool::new(true));
    let reader = {
        let (received, sending) = (received.clone(), sending.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            loop {
                match sock.recv_from(&mut buf) {
                    Ok(_) => {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) if !sending.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
        })
    };
    let pkts: Vec<Packet> = (0..N)
        .map(|i| {
            let ip = Ip::new().src(a.as_str()).dst(b.as_str()).id(i as u16);
            let ip = if i % 10 == 0 { ip.chksum(0x0bad) } else { ip };
            Ether::new().dst(lab.mac_b) / ip / Udp::new().sport(5000).dport(4004) / b"load".to_vec()
        })
        .collect();
    let ex = Explainer::start(opts()).expect("Explainer::start");
    let dev = lab.veth.a.clone();
    let t_send = Instant::now();
    let ex = lab.a.run(T, move || {
        let mut ex = ex;
        // In batches of 100, so the receiver's backlog (netdev_max_backlog) never overflows.
        for chunk in pkts.chunks(100) {
            let r = report::sendp(&mut ex, &dev, chunk, SendOpts::default()).expect("sendp");
            assert_eq!(r.sent, chunk.len());
            std::thread::sleep(Duration::from_millis(2));
        }
        ex
    });
    let sent_in = t_send.elapsed();
    let r = ex.finish(None).expect("finish");
    sending.store(false, Ordering::Relaxed);
    reader.join().unwrap();
    assert_eq!(r.packets.len(), N);
    let (mut named, mut missed, mut blamed) = (0, Vec::new(), Vec::new());
    for (i, p) in r.packets.iter().enumerate() {
        let broken = i % 10 == 0;
        match (broken, p.drops.as_slice()) {
            (true, [d]) if d.reason == "IP_CSUM" && d.function() == "ip_rcv_core" => named += 1,
            (true, _) => missed.push((i, p.drops.clone())),
            (false, []) => {}
            (false, d) => blamed.push((i, d.to_vec())),
        }
    }
    eprintln!(
        "accuracy: {N} sent in {:.2} s, {} broken: {named} named IP_CSUM, {} missed; {} good: {} delivered, {} reported dropped; {} background drops ignored, {} lost; report ready {:?} after the last drop ({:?} grace); whole test {:.1} s",
        sent_in.as_secs_f64(),
        N / 10,
        missed.len(),
        N - N / 10,
        received.load(Ordering::Relaxed),
        blamed.len(),
        r.unrelated,
        r.lost,
        r.since_last_drop,
        opts().wait,
        t_start.elapsed().as_secs_f64(),
    );
    assert_eq!(r.lost, 0, "the watcher lost drops: the counts above are a lower bound");
    assert!(missed.is_empty(), "broken packets not named: {:?}", &missed[..missed.len().min(5)]);
    assert!(blamed.is_empty(), "good packets reported dropped: {:?}", &blamed[..blamed.len().min(5)]);
    assert_eq!(named, N / 10);
    assert_flood_not_blamed(&r, &flood);
}

/// `craft explain --iface IF SOURCE` in namespace A: the text report names the drop; with
/// `--format json` every line parses and packet 0's record says where and why.
#[test]
fn cli_explain_prints_the_report_and_json_parses() {
    let name = "cli_explain_prints_the_report_and_json_parses";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    let flood = Flood::v4(8, 25);
    let (a, b) = addrs(8);
    let lab = lab("cxr", (&a, &b), None);
    let src = format!("Ether(dst='02:00:00:00:00:99')/IP(src='{a}', dst='{b}', id=0xd008)/UDP(dport=4000)");
    let run = |extra: &[&str]| {
        let child = Command::new("ip")
            .args(["netns", "exec", &lab.a.name, CRAFT, "explain", "--iface", &lab.veth.a, &src, "--explain-wait", "0.5"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("craft explain");
        let out = Guard(Some(child)).wait(T);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        eprintln!("stdout:\n{stdout}stderr:\n{stderr}");
        assert!(out.status.success(), "{stderr}");
        stdout
    };
    let text = run(&[]);
    assert!(text.contains(&format!("packet 0 (Ether / IP {a} > {b} / UDP 53 > 4000) was dropped")), "{text}");
    assert!(text.contains(&format!("was dropped in namespace {}", lab.b.name)) && text.contains("ip_rcv_core+0x"), "{text}");
    assert!(text.contains(": OTHERHOST — the destination MAC 02:00:00:00:00:99"), "{text}");
    assert!(!text.contains(&flood.marker), "{text}");
    let json = run(&["--format", "json"]);
    let recs: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    let p0 = recs.iter().find(|r| r["type"] == "packet").expect("a packet record");
    assert_eq!(p0["index"], 0);
    assert_eq!(p0["dropped"], true);
    assert_eq!(p0["drops"][0]["reason"], "OTHERHOST");
    assert_eq!(p0["drops"][0]["function"], "ip_rcv_core");
    assert_eq!(p0["drops"][0]["netns_name"], lab.b.name.as_str());
    assert!(recs.last().unwrap()["type"] == "summary");
    drop(flood);
}

/// Without root: one line naming what is missing, and the send still happens (exit 0).
#[test]
fn cli_explain_without_root_says_what_is_missing_and_sends() {
    let name = "cli_explain_without_root_says_what_is_missing_and_sends";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    let (a, b) = addrs(9);
    let lab = lab("cxr", (&a, &b), None);
    let copy = NobodyCopy::new();
    // Sending needs CAP_NET_RAW: keep that one, drop every other (BPF, PERFMON, SYS_ADMIN).
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.a.name, "setpriv", "--inh-caps=-all,+net_raw", "--ambient-caps=-all,+net_raw", "--bounding-set=-all,+net_raw", "--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(copy.0.join("craft"))
        .args(["send", "--explain", "--iface", &lab.veth.a, &format!("Ether(dst='02:00:00:00:00:99')/IP(src='{a}', dst='{b}')/UDP()")])
        .output()
        .expect("setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(stderr.contains("--explain needs root (CAP_BPF and CAP_PERFMON)"), "{stderr}");
    assert!(stderr.contains("sent 1 packets"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

/// A copy of the craft binary nobody may run (the target directory need not be readable);
/// removed on drop.
struct NobodyCopy(std::path::PathBuf);

impl NobodyCopy {
    fn new() -> NobodyCopy {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("craft-explain-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(CRAFT, dir.join("craft")).unwrap();
        for p in [dir.clone(), dir.join("craft")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        NobodyCopy(dir)
    }
}

impl Drop for NobodyCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `craft watch-drops --netns B --filter ... --timeout 1 --format json`: the flood's drops
/// in B, each line JSON with its reason and function; nothing from other namespaces.
#[test]
fn cli_watch_drops_streams_the_drops_of_one_namespace() {
    let name = "cli_watch_drops_streams_the_drops_of_one_namespace";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    let flood = Flood::v4(10, 25);
    let ns_b = flood.lab.b.name.clone();
    // output() reads while it runs (thousands of lines would fill a pipe); `timeout` bounds it.
    let out = Command::new("timeout")
        .args(["20", CRAFT, "watch-drops", "--netns", &ns_b, "--filter", "udp and dst port 9", "--timeout", "1", "--format", "json"])
        .output()
        .expect("craft watch-drops");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    eprintln!("{} drops streamed; {}", recs.len(), String::from_utf8_lossy(&out.stderr));
    assert!(recs.len() > 500, "{} drops in 1 s of flood", recs.len());
    for r in &recs {
        assert_eq!(r["netns_name"], ns_b.as_str(), "{r}");
        assert_eq!((r["reason"].as_str(), r["function"].as_str()), (Some("OTHERHOST"), Some("ip_rcv_core")), "{r}");
        assert!(r["summary"].as_str().unwrap().contains(&flood.marker), "{r}");
    }
}

/// Run `craft ARGS...` in namespace `ns`; its stdout (it must succeed).
fn craft_in(ns: &Netns, args: &[&str]) -> String {
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, CRAFT])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("craft");
    let out = Guard(Some(child)).wait(T);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    eprintln!("craft {}\nstdout:\n{stdout}stderr:\n{stderr}", args.join(" "));
    assert!(out.status.success(), "{stderr}");
    stdout
}

/// `craft explain --trace` of a bad-MAC frame: the path line under the packet, A's veth tx,
/// B's veth rx, the drop; `--format json` has the path as records.
#[test]
fn cli_explain_trace_prints_the_path_and_json_has_it() {
    let name = "cli_explain_trace_prints_the_path_and_json_has_it";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    let flood = Flood::v4(11, 25);
    let (a, b) = addrs(11);
    let lab = lab("cxt", (&a, &b), None);
    let src = format!("Ether(dst='02:00:00:00:00:99')/IP(src='{a}', dst='{b}', id=0xd011)/UDP(dport=4000)");
    let base = ["explain", "--iface", &lab.veth.a, &src, "--explain-wait", "0.5", "--trace"];
    let text = craft_in(&lab.a, &base);
    let line = format!("  path: {} {} tx → {} {} rx → dropped at ip_rcv_core: OTHERHOST\n", lab.a.name, lab.veth.a, lab.b.name, lab.veth.b);
    assert!(text.contains(&format!("packet 0 (Ether / IP {a} > {b} / UDP 53 > 4000) was dropped in namespace {}", lab.b.name)), "{text}");
    assert!(text.contains(&line), "want {line:?} in\n{text}");
    assert!(!text.contains("trace:"), "every hop kind should be visible here:\n{text}");
    assert!(!text.contains(&flood.marker), "{text}");
    let json = craft_in(&lab.a, &[&base[..], &["--format", "json"]].concat());
    let recs: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    let p0 = recs.iter().find(|r| r["type"] == "packet").expect("a packet record");
    let path = p0["path"].as_array().unwrap_or_else(|| panic!("no path: {p0}"));
    let kinds: Vec<&str> = path.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["tx", "rx", "drop"], "{p0}");
    assert_eq!((path[0]["netns_name"].as_str(), path[0]["ifname"].as_str()), (Some(lab.a.name.as_str()), Some(lab.veth.a.as_str())), "{p0}");
    assert_eq!((path[1]["netns_name"].as_str(), path[1]["ifname"].as_str()), (Some(lab.b.name.as_str()), Some(lab.veth.b.as_str())), "{p0}");
    assert_eq!(path[0]["t_ns"], 0);
    assert!(path[1]["t_ns"].as_u64().unwrap() > 0, "{p0}");
    assert!(path[1]["netns"].as_u64().unwrap() > 0, "{p0}");
    assert_eq!((path[2]["function"].as_str(), path[2]["reason"].as_str()), (Some("ip_rcv_core"), Some("OTHERHOST")), "{p0}");
    assert!(path.iter().all(|s| s["changes"].as_array().is_some_and(|c| c.is_empty())), "{p0}");
    let summary = recs.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["trace"]["missing"].as_array().map(Vec::len), Some(0), "{summary}");
    drop(flood);
}

/// A – R – B, R forwarding, B with no socket on the port: `craft send --explain --trace`
/// shows the four hops and, between R's receive and R's transmit, the MAC rewrite and the
/// TTL one lower.
#[test]
fn cli_send_trace_routed_shows_the_mac_rewrite_and_ttl() {
    let name = "cli_send_trace_routed_shows_the_mac_rewrite_and_ttl";
    if !privileged(name) {
        return;
    }
    let _serial = serial();
    let flood = Flood::v4(12, 25);
    // Namespaces first: the veths (declared after) are removed before them.
    let (a, r, b) = (Netns::new("cxta"), Netns::new("cxtr"), Netns::new("cxtb"));
    let ar = VethPair::new(&a, &r).with_addrs("10.219.1.1/24", "10.219.1.2/24");
    let rb = VethPair::new(&r, &b).with_addrs("10.219.2.1/24", "10.219.2.2/24");
    r.cmd("sysctl", &["-qw", "net.ipv4.ip_forward=1"]).expect("sysctl");
    a.exec(&["route", "add", "10.219.2.0/24", "via", "10.219.1.2"]);
    b.exec(&["route", "add", "10.219.1.0/24", "via", "10.219.2.1"]);
    let iface = |ns: &Netns, dev: &str| common::lab::iface_in(ns, dev).mac;
    let (mac_a, mac_r_in, mac_r_out, mac_b) = (iface(&a, &ar.a), iface(&r, &ar.b), iface(&r, &rb.a), iface(&b, &rb.b));
    // Neighbours known: no ARP on the path.
    a.exec(&["neigh", "replace", "10.219.1.2", "lladdr", &mac_r_in.to_string(), "dev", &ar.a, "nud", "permanent"]);
    r.exec(&["neigh", "replace", "10.219.2.2", "lladdr", &mac_b.to_string(), "dev", &rb.a, "nud", "permanent"]);
    let src = "IP(dst='10.219.2.2', id=0xd012)/UDP(sport=4001, dport=4002)/'routed'";
    let text = craft_in(&a, &["send", src, "--explain", "--trace", "--explain-wait", "0.5"]);
    let line = format!("  path: {} {} tx → {} {} rx → {} {} tx → {} {} rx → dropped at __udp4_lib_rcv: NO_SOCKET\n", a.name, ar.a, r.name, ar.b, r.name, rb.a, b.name, rb.b);
    assert!(text.contains(&line), "want {line:?} in\n{text}");
    let change = format!("\n    {} {} rx → {} {} tx: Ether.dst {mac_r_in} → {mac_b}, Ether.src {mac_a} → {mac_r_out}, IP.ttl 64 → 63, IP.chksum ", r.name, ar.b, r.name, rb.a);
    assert!(text.contains(&change), "want {change:?} in\n{text}");
    assert!(!text.contains(&flood.marker), "{text}");
    drop(flood);
}
