//! `craft sniff`, `send` and `sr` end to end for issue #11, in two fresh namespaces A and B
//! joined by a veth pair (tests/common/lab.rs; removed on drop, panics included): sniff
//! captures both directions by default; `send|sr --hex` and `--pcap` send exact bytes and
//! replay captures (at their pace with --pace, or at --rate); `--gue-port` for sr and sniff.

mod common;
#[path = "common/craft_cli.rs"]
mod craft_cli;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::child::Guard;
use craft_cli::{craft_in, craft_in_with, spawn_in, text};
use common::lab::{lab, Lab};
use common::netns::{privileged, Netns};
use craft::pcap::{WriteFormat, Writer, LINKTYPE_ETHERNET, LINKTYPE_RAW};
use craft::prelude::*;

const IP_A: &str = "10.204.0.1";
const IP_B: &str = "10.204.0.2";
const T: Duration = Duration::from_secs(30);

/// A `craft sniff` running in a namespace, ready (its socket and filter in place).
struct Sniff {
    guard: Guard,
    stderr: JoinHandle<String>,
}

impl Sniff {
    fn start(ns: &Netns, args: &[&str]) -> Sniff {
        let mut all = vec!["sniff"];
        all.extend_from_slice(args);
        let mut guard = spawn_in(ns, &all);
        let err = BufReader::new(guard.child().stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in err.lines().map_while(Result::ok) {
                if line.contains("sniffing on") {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        rx.recv_timeout(Duration::from_secs(10)).expect("sniffer never became ready");
        Sniff { guard, stderr }
    }

    /// Its stdout once it exits (it must succeed).
    fn finish(self) -> String {
        let out = self.guard.wait(T);
        let err = self.stderr.join().unwrap();
        assert!(out.status.success(), "sniff: {err}");
        text(&out.stdout)
    }
}

fn sent_ok(out: &std::process::Output) -> String {
    let err = text(&out.stderr);
    assert!(out.status.success(), "stdout: {} stderr: {err}", text(&out.stdout));
    err
}

/// The packets' lines of a sniff's hex output (its `# frame` lines left out).
fn hex_lines(out: &str) -> Vec<String> {
    out.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

fn udp_frame(lab: &Lab, dport: u16, load: &[u8]) -> Packet {
    Ether::new().dst(lab.mac_b).src(lab.mac_a)
        / Ip::new().src(IP_A).dst(IP_B)
        / Udp::new().sport(40000).dport(dport)
        / Raw::new().load(load)
}

fn write_pcap(path: &std::path::Path, linktype: u32, recs: &[(u64, Vec<u8>)]) {
    let mut w = Writer::new(Vec::new(), WriteFormat::PcapNanos, linktype, 65535).unwrap();
    for (ts, data) in recs {
        w.write(*ts, data, data.len() as u32).unwrap();
    }
    std::fs::write(path, w.into_inner().unwrap()).unwrap();
}

struct TmpDir(std::path::PathBuf);

impl TmpDir {
    fn new(name: &str) -> TmpDir {
        let dir = std::env::temp_dir().join(format!("craft-replay-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TmpDir(dir)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn sniff_captures_both_directions_by_default() {
    if !privileged("sniff_captures_both_directions_by_default") {
        return;
    }
    let lab = lab("craft-r", (IP_A, IP_B), None);
    let ping = format!("IP(dst='{IP_B}')/ICMP()");
    // On A's end: A's request goes out, B's reply comes in.
    let sniff = Sniff::start(&lab.a, &["--iface", &lab.veth.a, "--filter", "icmp", "--count", "2", "--timeout", "10"]);
    sent_ok(&craft_in(&lab.a, &["send", &ping], T));
    let out = sniff.finish();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains(&format!("IP {IP_A} > {IP_B} / ICMP echo-request")), "{out}");
    assert!(lines[1].contains(&format!("IP {IP_B} > {IP_A} / ICMP echo-reply")), "{out}");
    // --direction in: only the reply.
    let sniff = Sniff::start(&lab.a, &["--iface", &lab.veth.a, "--filter", "icmp", "--count", "1", "--timeout", "10", "--direction", "in"]);
    sent_ok(&craft_in(&lab.a, &["send", &ping], T));
    let out = sniff.finish();
    assert!(out.contains("echo-reply") && !out.contains("echo-request"), "{out}");
}

#[test]
fn send_hex_sends_exactly_these_bytes() {
    if !privileged("send_hex_sends_exactly_these_bytes") {
        return;
    }
    let lab = lab("craft-r", (IP_A, IP_B), None);
    // A wrong IP checksum on purpose: it must go out as it is.
    let mut odd = udp_frame(&lab, 7777, b"odd");
    if let Some(Layer::Ip(ip)) = odd.layers.get_mut(1) {
        ip.chksum = Some(0xdead);
    }
    let frames: Vec<String> = [odd, udp_frame(&lab, 7777, b"two"), udp_frame(&lab, 7777, b"three")]
        .iter()
        .map(|p| craft::field::hex(&p.build()))
        .collect();
    let sniff = Sniff::start(&lab.b, &["--iface", &lab.veth.b, "--direction", "in", "--filter", "udp port 7777", "--count", "3", "--timeout", "10", "-f", "hex"]);
    let err = sent_ok(&craft_in(&lab.a, &["send", "--iface", &lab.veth.a, "--hex", &frames[0], &frames[1]], T));
    assert!(err.contains("sent 2 packets"), "{err}");
    // From stdin, one per line.
    let err = sent_ok(&craft_in_with(&lab.a, &["send", "--iface", &lab.veth.a, "--hex", "-"], format!("# a comment\n{}\n", frames[2]).as_bytes(), T));
    assert!(err.contains("sent 1 packets"), "{err}");
    assert_eq!(hex_lines(&sniff.finish()), frames);
}

#[test]
fn send_pcap_replays_frames_at_their_pace_or_rate() {
    if !privileged("send_pcap_replays_frames_at_their_pace_or_rate") {
        return;
    }
    let lab = lab("craft-r", (IP_A, IP_B), None);
    let dir = TmpDir::new("pace");
    let file = dir.0.join("three.pcap");
    let t0 = 1_700_000_000_000_000_000u64;
    let ms = 1_000_000;
    let frames: Vec<Vec<u8>> = (0..3).map(|i| udp_frame(&lab, 7778, format!("frame {i}").as_bytes()).build()).collect();
    let recs: Vec<(u64, Vec<u8>)> = [0, 300 * ms, 600 * ms].into_iter().zip(frames.iter().cloned()).map(|(d, f)| (t0 + d, f)).collect();
    write_pcap(&file, LINKTYPE_ETHERNET, &recs);
    let file = file.to_str().unwrap();

    // Received timestamps (ns) and bytes of the three frames, sent with `extra`.
    let replay = |extra: &[&str]| -> Vec<(u64, Vec<u8>)> {
        let sniff = Sniff::start(&lab.b, &["--iface", &lab.veth.b, "--direction", "in", "--filter", "udp port 7778", "--count", "3", "--timeout", "15", "-f", "json"]);
        let mut args = vec!["send", "--iface", lab.veth.a.as_str(), "--pcap", file];
        args.extend_from_slice(extra);
        let err = sent_ok(&craft_in(&lab.a, &args, T));
        assert!(err.contains("sent 3 packets"), "{err}");
        sniff
            .finish()
            .lines()
            .map(|l| {
                let j: serde_json::Value = serde_json::from_str(l).unwrap();
                let load = j["packet"][3]["fields"]["load"].as_str().unwrap().to_string();
                (j["ts_ns"].as_u64().unwrap(), load.into_bytes())
            })
            .collect()
    };
    let gaps = |got: &[(u64, Vec<u8>)]| -> Vec<u64> { got.windows(2).map(|w| (w[1].0 - w[0].0) / ms).collect() };
    let loads: Vec<Vec<u8>> = (0..3).map(|i| craft::field::hex(format!("frame {i}").as_bytes()).into_bytes()).collect();

    let paced = replay(&["--pace"]);
    assert_eq!(paced.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), loads, "in order, as captured");
    for g in gaps(&paced) {
        assert!((250..450).contains(&g), "--pace: gaps {:?} ms, want ~300", gaps(&paced));
    }
    let rated = replay(&["--rate", "20"]);
    for g in gaps(&rated) {
        assert!((30..150).contains(&g), "--rate 20: gaps {:?} ms, want ~50", gaps(&rated));
    }
    let fast = replay(&[]);
    assert!(gaps(&fast).iter().sum::<u64>() < 100, "as fast as possible: gaps {:?} ms", gaps(&fast));
}

#[test]
fn sr_takes_hex_and_captures_ether_or_raw_ip() {
    if !privileged("sr_takes_hex_and_captures_ether_or_raw_ip") {
        return;
    }
    let lab = lab("craft-r", (IP_A, IP_B), None);
    let dir = TmpDir::new("sr");
    let ping = |id: u16| Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(id, 1);
    let ether = dir.0.join("ether.pcap");
    write_pcap(&ether, LINKTYPE_ETHERNET, &[(1, ping(1).build()), (2, ping(2).build())]);
    // IP-level records (raw IP link type): routed, as `craft sr IP(...)`.
    let raw = dir.0.join("raw.pcap");
    write_pcap(&raw, LINKTYPE_RAW, &[(1, ping(3).build()[14..].to_vec())]);
    let hex = craft::field::hex(&ping(4).build());
    for (args, n) in [
        (vec!["sr", "--iface", lab.veth.a.as_str(), "--pcap", ether.to_str().unwrap()], 2),
        (vec!["sr", "--pcap", raw.to_str().unwrap()], 1),
        (vec!["sr", "--iface", lab.veth.a.as_str(), "--hex", hex.as_str()], 1),
    ] {
        let out = craft_in(&lab.a, &args, T);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout} {stderr}");
        assert!(stderr.contains(&format!("got {n} answers, remaining 0 packets")), "{args:?}: {stderr}");
        assert_eq!(stdout.matches("echo-reply").count(), n, "{stdout}");
    }
    // --rate paces sr's requests too: three at 10 per second take 200 ms to leave (sr
    // returns once every request is answered).
    let pings: Vec<String> = (5..8).map(|id| craft::field::hex(&ping(id).build())).collect();
    let mut args = vec!["sr", "--iface", lab.veth.a.as_str(), "--rate", "10", "--timeout", "0.5", "--hex"];
    args.extend(pings.iter().map(String::as_str));
    let t0 = Instant::now();
    let out = craft_in(&lab.a, &args, T);
    let took = t0.elapsed();
    assert!(text(&out.stderr).contains("got 3 answers, remaining 0 packets"), "{}", text(&out.stderr));
    assert!(took >= Duration::from_millis(195), "sr --rate 10 of 3 packets took {took:?}");
}

#[test]
fn sr_pcap_pace_sends_requests_at_the_capture_pace() {
    if !privileged("sr_pcap_pace_sends_requests_at_the_capture_pace") {
        return;
    }
    let lab = lab("craft-r", (IP_A, IP_B), None);
    let dir = TmpDir::new("srpace");
    let ping = |id: u16| Ether::new().dst(lab.mac_b).src(lab.mac_a) / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(id, 1);
    let (t0, ms) = (1_700_000_000_000_000_000u64, 1_000_000u64);
    let at = [0, 300 * ms, 600 * ms];
    let ether = dir.0.join("ether.pcap");
    write_pcap(&ether, LINKTYPE_ETHERNET, &(0..3).map(|i| (t0 + at[i], ping(10 + i as u16).build())).collect::<Vec<_>>());
    // IP-level records: routed (sr's L3 path).
    let raw = dir.0.join("raw.pcap");
    write_pcap(&raw, LINKTYPE_RAW, &(0..3).map(|i| (t0 + at[i], ping(20 + i as u16).build()[14..].to_vec())).collect::<Vec<_>>());
    // The gaps (ms) between the three requests as they arrive at B, sent with `args`.
    let gaps = |args: &[&str]| -> Vec<u64> {
        let sniff = Sniff::start(&lab.b, &["--iface", &lab.veth.b, "--direction", "in", "--filter", "icmp", "--count", "3", "--timeout", "15", "-f", "json"]);
        let out = craft_in(&lab.a, args, T);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.contains("got 3 answers, remaining 0 packets"), "{args:?}: {stderr}");
        let ts: Vec<u64> = sniff.finish().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["ts_ns"].as_u64().unwrap()).collect();
        ts.windows(2).map(|w| (w[1] - w[0]) / ms).collect()
    };
    let (ether, raw) = (ether.to_str().unwrap(), raw.to_str().unwrap());
    for args in [vec!["sr", "--iface", lab.veth.a.as_str(), "--pcap", ether, "--pace"], vec!["sr", "--pcap", raw, "--pace"]] {
        let g = gaps(&args);
        assert_eq!(g.len(), 2, "{args:?}");
        assert!(g.iter().all(|g| (250..450).contains(g)), "{args:?}: gaps {g:?} ms, want ~300");
    }
    let fast = gaps(&["sr", "--iface", lab.veth.a.as_str(), "--pcap", ether]);
    assert!(fast.iter().sum::<u64>() < 100, "without --pace: gaps {fast:?} ms");
    // --pace needs a capture and excludes --rate.
    let out = craft_in(&lab.a, &["sr", "--iface", lab.veth.a.as_str(), "--pcap", ether, "--pace", "--rate", "5"], T);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn gue_port_for_sr_and_sniff() {
    if !privileged("gue_port_for_sr_and_sniff") {
        return;
    }
    let lab = lab("craft-r", (IP_A, IP_B), None);
    // Nothing listens on 9886 in B: the answer is a port unreachable quoting the request.
    let gue = format!("IP(dst='{IP_B}')/UDP(sport=4000, dport=9886)/GUE()/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1, flags='S')");
    let sniff = Sniff::start(&lab.b, &["--iface", &lab.veth.b, "--direction", "in", "--filter", "udp port 9886", "--count", "1", "--timeout", "10", "--gue-port", "9886"]);
    let out = craft_in(&lab.a, &["sr", &gue, "--timeout", "2", "-f", "json", "--gue-port", "9886"], T);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let names: Vec<&str> = j["reply"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["IP", "ICMP", "IP", "UDP", "GUE", "IP", "TCP"], "{j}");
    let captured = sniff.finish();
    assert!(captured.contains("/ UDP 4000 > 9886 / GUE proto 4 / IP 10.0.0.1 > 10.0.0.2 / TCP 1 > 80 S"), "{captured}");
    // Without it the quoted GUE stays bytes.
    std::thread::sleep(Duration::from_millis(1100));
    let out = craft_in(&lab.a, &["sr", &gue, "--timeout", "2", "-f", "json"], T);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("\"GUE\""), "{}", text(&out.stdout));
}
