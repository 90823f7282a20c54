//! `craft send`, `craft sr` and `craft sniff` end to end, run with `ip netns exec` inside two
//! fresh namespaces A and B joined by a veth pair (see tests/common/netns.rs). No frame
//! leaves those namespaces; every command has a timeout and is killed if it runs over.

mod common;
#[path = "common/craft_cli.rs"]
mod craft_cli;
use common::child::Guard;
use craft_cli::{craft_in, spawn_in, text, CRAFT};

use std::io::{BufRead, BufReader};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lab::lab;
use common::netns::{privileged, AsNobody, Netns};

const IP_A: &str = "10.203.0.1";
const IP_B: &str = "10.203.0.2";
const IP6_A: &str = "fd00:c4c1::1";
const IP6_B: &str = "fd00:c4c1::2";
/// On B's subnet, but nobody has it.
const IP_NOBODY: &str = "10.203.0.77";
/// B's addresses that A has no route to: only `--iface` gets packets there.
const OFF_B: &str = "10.99.0.2";
const OFF6_B: &str = "fd00:99::2";
/// No route from A, and nobody has it.
const OFF_NOBODY: &str = "10.98.0.1";

/// Ctrl-C `craft` (SIGINT; `ip netns exec` execs it, so the child is craft itself) after
/// `after`: its output and how long it took to exit after the signal.
fn interrupt(g: Guard, after: Duration) -> (Output, Duration) {
    std::thread::sleep(after);
    let pid = g.0.as_ref().unwrap().id() as libc::pid_t;
    // SAFETY: kill(2) on our own child, which the guard has not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let t0 = Instant::now();
    let out = g.wait(Duration::from_secs(10));
    (out, t0.elapsed())
}

#[test]
fn sr_icmp_echo_l3_answered() {
    if !privileged("sr_icmp_echo_l3_answered") {
        return;
    }
    let lab = lab("craft-c", (IP_A, IP_B), None);
    let expr = format!("IP(dst='{IP_B}')/ICMP()");
    let out = craft_in(&lab.a, &["sr", &expr, "--timeout", "2"], Duration::from_secs(20));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout} stderr: {stderr}");
    assert!(stdout.contains("==>") && stdout.contains("echo-reply"), "{stdout}");
    assert!(stdout.contains("rtt="), "{stdout}");
    assert!(stderr.contains("got 1 answers, remaining 0 packets"), "{stderr}");

    // JSON: one line per pair, the reply as craft's JSON.
    let out = craft_in(&lab.a, &["sr", &expr, "--timeout", "2", "-f", "json"], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert!(j["rtt_us"].as_u64().is_some(), "{j}");
    // IP-level, as scapy's sr: IP / ICMP.
    assert_eq!(j["reply"][1]["fields"]["type"], 0, "{j}");
}

#[test]
fn sr_unanswered_exits_1_within_timeout() {
    if !privileged("sr_unanswered_exits_1_within_timeout") {
        return;
    }
    let lab = lab("craft-c", (IP_A, IP_B), None);
    let expr = format!("IP(dst='{IP_NOBODY}')/ICMP()");
    let start = Instant::now();
    let out = craft_in(&lab.a, &["sr", &expr, "--timeout", "1"], Duration::from_secs(15));
    let took = start.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout} stderr: {stderr}");
    assert!(stdout.contains("unanswered:"), "{stdout}");
    assert!(stderr.contains("got 0 answers, remaining 1 packets"), "{stderr}");
    // ARP resolution (≤ 1 s) plus the 1 s timeout, plus process start-up.
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn sr_iface_off_route_fills_source_and_warns() {
    if !privileged("sr_iface_off_route_fills_source_and_warns") {
        return;
    }
    let lab = lab("craft-c", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    lab.add_to_b(&format!("{OFF_B}/32"));
    lab.add_to_b(&format!("{OFF6_B}/128"));
    let t = Duration::from_secs(20);
    // The source comes from the interface (IPv4 and IPv6), so B's answer comes back.
    for (expr, src, dst) in [
        (format!("IP(dst='{OFF_B}')/ICMP()"), IP_A, OFF_B),
        (format!("IPv6(dst='{OFF6_B}')/ICMPv6EchoRequest()"), IP6_A, OFF6_B),
    ] {
        let out = craft_in(&lab.a, &["sr", "--iface", &lab.veth.a, &expr, "--timeout", "2"], t);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{expr}: stdout: {stdout} stderr: {stderr}");
        assert!(stdout.contains(&format!("{src} > {dst}")) && stdout.contains("==>"), "{expr}: {stdout}");
        assert!(!stderr.contains("warning"), "{expr}: {stderr}");
    }
    // Nobody answers ARP for it: a clear warning, then the packet goes to broadcast.
    let expr = format!("IP(dst='{OFF_NOBODY}')/ICMP()");
    let out = craft_in(&lab.a, &["sr", "--iface", &lab.veth.a, &expr, "--timeout", "1"], t);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout} stderr: {stderr}");
    assert!(stdout.contains(&format!("unanswered: IP {IP_A} > {OFF_NOBODY}")), "{stdout}");
    let want = format!("craft: warning: could not resolve the MAC of {OFF_NOBODY} on {}", lab.veth.a);
    assert!(stderr.contains(&want) && stderr.contains("sending to broadcast"), "{stderr}");
}

#[test]
fn ctrl_c_stops_sr_sniff_and_send_with_what_they_have() {
    if !privileged("ctrl_c_stops_sr_sniff_and_send_with_what_they_have") {
        return;
    }
    let lab = lab("craft-c", (IP_A, IP_B), None);
    // A MAC for the address nobody has, so nothing waits for ARP: its request goes out at once.
    lab.a.exec(&["neigh", "add", IP_NOBODY, "lladdr", "02:00:00:00:00:77", "dev", &lab.veth.a, "nud", "permanent"]);
    let expr = format!("IP(dst=['{IP_B}', '{IP_NOBODY}'])/ICMP()");
    let sr = spawn_in(&lab.a, &["sr", &expr, "--timeout", "60"]);
    let (out, took) = interrupt(sr, Duration::from_millis(1500));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "stdout: {stdout} stderr: {stderr}");
    assert!(took < Duration::from_secs(1), "exited {took:?} after SIGINT");
    assert!(stdout.contains(&format!("IP {IP_A} > {IP_B} / ICMP echo-request 0 ==> IP {IP_B} > {IP_A}")), "{stdout}");
    assert!(stdout.contains(&format!("unanswered: IP {IP_A} > {IP_NOBODY}")), "{stdout}");
    assert!(stderr.contains("got 1 answers, remaining 1 packets"), "{stderr}");

    // No count, no timeout: only Ctrl-C ends it.
    let sniff = spawn_in(&lab.b, &["sniff", "--iface", &lab.veth.b]);
    let (out, took) = interrupt(sniff, Duration::from_millis(500));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(took < Duration::from_secs(1), "exited {took:?} after SIGINT");
    assert!(stderr.contains("packets captured, 0 dropped by the kernel"), "{stderr}");

    // Would take 10 000 s.
    let send = spawn_in(&lab.a, &["send", &format!("IP(dst='{IP_B}')/ICMP()"), "--count", "1000000", "--rate", "100"]);
    let (out, took) = interrupt(send, Duration::from_millis(500));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(took < Duration::from_secs(1), "exited {took:?} after SIGINT");
    let sent: usize = stderr.strip_prefix("sent ").and_then(|r| r.split(' ').next()?.parse().ok()).unwrap_or(0);
    assert!((1..1000).contains(&sent), "{stderr}");
}

#[test]
fn send_100_while_sniffing_writes_readable_pcap() {
    if !privileged("send_100_while_sniffing_writes_readable_pcap") {
        return;
    }
    let lab = lab("craft-c", (IP_A, IP_B), None);
    let dir = std::env::temp_dir().join(format!("craft-cli-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sniff.pcap");
    let file_s = file.to_str().unwrap().to_string();

    let mut sniffer = spawn_in(
        &lab.b,
        // Only what B receives: the requests, not B's replies.
        &["sniff", "--iface", &lab.veth.b, "--direction", "in", "--count", "100", "--filter", "icmp", "--timeout", "20", "-w", &file_s],
    );
    // Ready once it says so on stderr (the socket and its filter are in place by then).
    let child = sniffer.0.as_mut().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut line = String::new();
        while err.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("sniffing on") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            line.clear();
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("sniffer never became ready");

    let expr = format!("IP(dst='{IP_B}')/ICMP()");
    let sent = craft_in(&lab.a, &["send", &expr, "--count", "100", "--rate", "2000"], Duration::from_secs(20));
    let sent_err = text(&sent.stderr);
    assert!(sent.status.success(), "{sent_err}");
    assert!(sent_err.contains("sent 100 packets in"), "{sent_err}");
    assert!(sent.stdout.is_empty(), "nothing on stdout when not a tty");

    let out = sniffer.wait(Duration::from_secs(25));
    let sniff_err = reader.join().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{sniff_err}");
    assert_eq!(stdout.lines().count(), 100, "{stdout}");
    assert!(stdout.lines().all(|l| l.contains("echo-request")), "{stdout}");
    assert!(sniff_err.contains("100 packets captured, 0 dropped by the kernel"), "{sniff_err}");

    let read = Command::new(CRAFT).args(["dissect", "--pcap", &file_s, "-f", "summary"]).output().unwrap();
    assert!(read.status.success(), "{}", text(&read.stderr));
    let lines = text(&read.stdout);
    assert_eq!(lines.lines().count(), 100, "{lines}");
    assert!(lines.lines().all(|l| l.contains(&format!("{IP_A} > {IP_B}"))), "{lines}");

    if let Ok(out) = Command::new("tcpdump").args(["-nr", &file_s]).output() {
        assert!(out.status.success(), "tcpdump -r: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 100);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_interface_and_bad_filter_exit_2() {
    if !privileged("bad_interface_and_bad_filter_exit_2") {
        return;
    }
    let lab = lab("craft-c", (IP_A, IP_B), None);
    let t = Duration::from_secs(15);
    let check_in = |ns: &Netns, args: &[&str], want: &str| {
        let out = craft_in(ns, args, t);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    };
    let check = |args: &[&str], want: &str| check_in(&lab.a, args, want);
    check(&["send", "--iface", "nosuch0", "Ether()/IP()/ICMP()"], "no such interface 'nosuch0'");
    check(&["sniff", "--iface", "nosuch0", "--count", "1"], "no such interface 'nosuch0'");
    check(&["sr", "--iface", "nosuch0", "Ether()/IP()/ICMP()"], "no such interface 'nosuch0'");
    check(&["sniff", "--iface", &lab.veth.a, "--filter", "tcp port", "--count", "1"], "bad filter");
    check(&["sr", "--filter", "nonsense (", &format!("IP(dst='{IP_B}')/ICMP()")], "bad filter");
    check(&["send", "Ether()/IP()/ICMP()"], "needs --iface");
    // No default route in a fresh namespace.
    check(&["sr", "IP(dst='192.0.2.1')/ICMP()", "--timeout", "1"], "no route");
    // A down interface.
    lab.b.exec(&["link", "set", &lab.veth.b, "down"]);
    check_in(&lab.b, &["sniff", "--iface", &lab.veth.b, "--count", "1"], "is down");
}

#[test]
fn without_cap_net_raw_one_clear_line_and_exit_2() {
    if !privileged("without_cap_net_raw_one_clear_line_and_exit_2") {
        return;
    }
    let nobody = AsNobody::new(CRAFT);
    // Nothing is sent: opening the packet socket fails first.
    for args in [
        &["sniff", "--iface", "lo", "--count", "1"][..],
        &["send", "--iface", "lo", "Ether()/IP(dst='127.0.0.1')/ICMP()"],
        &["send", "IP(dst='127.0.0.1')/ICMP()"],
        &["sr", "IP(dst='127.0.0.1')/ICMP()", "--timeout", "1"],
    ] {
        let out = nobody.run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err,
            "craft: error: opening a packet socket on 'lo': permission denied (needs root or CAP_NET_RAW)\n",
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
