//! craft-repl's live functions (send, sr, sr1, srp1, srloop, sniff, AsyncSniffer) end to
//! end: the real binary, statements piped on stdin (or typed in a pseudo-terminal, for
//! AsyncSniffer's output above the prompt), run with `ip netns exec` in namespace A of a fresh
//! pair A–B joined by a veth (craft's tests/common: unique names, removed on drop, panics
//! included). B's kernel answers pings. No frame leaves those namespaces; every child has a
//! hard time limit and is killed (and reaped) if it runs over or the test fails.

#[path = "../../craft/tests/common/mod.rs"]
mod common;
use common::child::Guard;
#[path = "support/pty.rs"]
mod pty;

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lab::{lab, Lab};
use common::netns::{privileged, AsNobody, Netns};

const REPL: &str = env!("CARGO_BIN_EXE_craft-repl");
const IP_A: &str = "10.204.0.1";
const IP_B: &str = "10.204.0.2";
/// On the veth's subnet, but nobody has it.
const IP_NOBODY: &str = "10.204.0.77";


fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// craft-repl in `ns` (`ip netns exec` execs it: the child is craft-repl itself), reading
/// statements from a pipe.
fn spawn_repl(ns: &Netns, args: &[&str], stdout: Stdio) -> Guard {
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, REPL])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip netns exec craft-repl");
    Guard(Some(child))
}

/// Pipe `lines` into craft-repl in `ns`; its output, or a panic after `limit`.
fn repl_in(ns: &Netns, lines: &[String], limit: Duration) -> Output {
    let mut g = spawn_repl(ns, &[], Stdio::piped());
    let mut stdin = g.child().stdin.take().expect("stdin");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    g.wait(limit)
}

/// craft-repl's stdout read line by line on a thread, waited for with deadlines.
struct Lines {
    rx: mpsc::Receiver<String>,
    /// Every line read so far.
    seen: Vec<String>,
}

impl Lines {
    fn new(g: &mut Guard) -> Lines {
        let stdout = g.child().stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx, seen: Vec::new() }
    }

    /// Waits for a line starting with `want`; when it came.
    fn wait_for(&mut self, want: &str, limit: Duration) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.starts_with(want);
                    self.seen.push(line);
                    if hit {
                        return Instant::now();
                    }
                }
                Err(_) => panic!("no line starting with {want:?} within {limit:?}; output so far: {:?}", self.seen),
            }
        }
    }
}

fn lab_ab() -> Lab {
    lab("crepl-", (IP_A, IP_B), None)
}

/// stdout and stderr, for assertion messages.
fn both(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn sr_gets_the_echo_replies_and_prints_scapys_progress() {
    if !privileged("sr_gets_the_echo_replies_and_prints_scapys_progress") {
        return;
    }
    let lab = lab_ab();
    let lines = [
        format!("ans, unans = sr(IP(dst='{IP_B}')/ICMP(seq=(1, 3)), timeout=1)"),
        "ans, unans".to_string(),
        "ans.summary()".to_string(),
        "ans[0][0]".to_string(),
        "ans[2][1][ICMP].seq".to_string(),
        "print(ans[0][1].time > ans[0][0].time > 1e9)".to_string(),
        // Keyword arguments of scapy's: sr1, inter, retry, multi, a filter.
        format!("r = sr1(IP(dst='{IP_B}')/ICMP(), timeout=1, retry=1, inter=0.01, filter='icmp', verbose=0)"),
        "print('sr1:', r.summary())".to_string(),
        format!("a, u = sr(IP(dst='{IP_B}')/ICMP(), timeout=0.5, multi=True, verbose=0)"),
        "print('multi:', len(a), len(u))".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    // One * per answer (a . per other frame received, if any: an ARP from B, say).
    assert!(stdout.starts_with("Begin emission:\nFinished sending 3 packets.\n***"), "{}", both(&out));
    assert!(stdout.contains("packets, got 3 answers, remaining 0 packets\n"), "{stdout}");
    assert!(stdout.contains("(<Results: TCP:0 UDP:0 ICMP:3 Other:0>, <Unanswered: TCP:0 UDP:0 ICMP:0 Other:0>)"), "{stdout}");
    let pair = format!("IP / ICMP {IP_A} > {IP_B} echo-request 0 ==> IP / ICMP {IP_B} > {IP_A} echo-reply 0");
    assert_eq!(stdout.matches(&pair).count(), 3, "{stdout}");
    // The request as given (scapy's repr), the source filled in for the summary only.
    assert!(stdout.contains(&format!("<IP  frag=0 proto=icmp dst={IP_B} |<ICMP  seq=0x1 |>>")), "{stdout}");
    assert!(stdout.contains("\n3\nTrue\n"), "{stdout}");
    assert!(stdout.contains(&format!("sr1: IP / ICMP {IP_B} > {IP_A} echo-reply 0")), "{stdout}");
    assert!(stdout.contains("multi: 1 0"), "{stdout}");
    // verbose=0: one progress block only, the first sr's.
    assert_eq!(stdout.matches("Begin emission:").count(), 1, "{stdout}");
}

#[test]
fn srp1_returns_the_reply_and_srp_the_unanswered() {
    if !privileged("srp1_returns_the_reply_and_srp_the_unanswered") {
        return;
    }
    let lab = lab_ab();
    let veth = &lab.veth.a;
    let lines = [
        format!("r = srp1(Ether(dst='{}')/IP(dst='{IP_B}')/ICMP(), iface='{veth}', timeout=1)", lab.mac_b),
        "r.summary()".to_string(),
        "r[Ether].src == '".to_string() + &lab.mac_b.to_string() + "'",
        "print(r.time > 1e9)".to_string(),
        // No iface: conf.iface.
        format!("conf.iface = '{veth}'"),
        format!("ans, unans = srp(Ether(dst='02:00:00:00:00:09')/IP(dst='{IP_NOBODY}')/ICMP(), timeout=0.5, verbose=0)"),
        "print('srp:', len(ans), len(unans))".to_string(),
        "unans[0]".to_string(),
        "srp1(Ether(dst='02:00:00:00:00:09')/IP(dst='10.204.0.99')/ICMP(), timeout=0.5, verbose=0)".to_string(),
        "print('end')".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    assert!(stdout.contains(&format!("'Ether / IP / ICMP {IP_B} > {IP_A} echo-reply 0'")), "{}", both(&out));
    assert!(stdout.contains("Finished sending 1 packets.\n") && stdout.contains("got 1 answers, remaining 0 packets\n"), "{stdout}");
    assert!(stdout.contains("\nTrue\nTrue\n"), "{stdout}");
    assert!(stdout.contains("srp: 0 1"), "{stdout}");
    assert!(stdout.contains(&format!("<Ether  dst=02:00:00:00:00:09 type=IPv4 |<IP  frag=0 proto=icmp dst={IP_NOBODY} |<ICMP  |>>>")), "{stdout}");
    // srp1 with no answer: None, which the session does not echo.
    assert!(stdout.ends_with("|<ICMP  |>>>\nend\n"), "{stdout}");
}

#[test]
fn sr_to_nobody_gives_unanswered_within_the_timeout() {
    if !privileged("sr_to_nobody_gives_unanswered_within_the_timeout") {
        return;
    }
    let lab = lab_ab();
    let lines = [
        format!("ans, unans = sr(IP(dst='{IP_NOBODY}')/ICMP(), timeout=1)"),
        "print(len(ans), len(unans))".to_string(),
        "unans.summary()".to_string(),
        format!("print(sr1(IP(dst='{IP_NOBODY}')/ICMP(), timeout=0.5, verbose=0))"),
    ];
    let start = Instant::now();
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let took = start.elapsed();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    assert!(stdout.contains("got 0 answers, remaining 1 packets"), "{stdout}");
    assert!(stdout.contains("0 1\n"), "{stdout}");
    assert!(stdout.contains(&format!("IP / ICMP {IP_A} > {IP_NOBODY} echo-request 0\n")), "{stdout}");
    assert!(stdout.ends_with("None\n"), "{stdout}");
    // The MAC that could not be resolved: craft::live's warning, on stderr.
    assert!(text(&out.stderr).contains("WARNING:"), "{}", both(&out));
    // Two rounds of ARP resolution (≤ 1 s, ≤ 0.5 s) and timeouts (1 s, 0.5 s), plus start-up.
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn sniff_captures_while_traffic_flows() {
    if !privileged("sniff_captures_while_traffic_flows") {
        return;
    }
    let lab = lab_ab();
    let veth = &lab.veth.a;
    // Traffic from B to A, from a process started first (sniff blocks): 60 pings, one every
    // 0.1 s, which A's kernel answers. send() with count= and inter=, in B.
    let sender = [format!("send(IP(dst='{IP_A}')/ICMP(), count=60, inter=0.1, verbose=0)")];
    let mut pinger = spawn_repl(&lab.b, &[], Stdio::piped());
    {
        let mut stdin = pinger.child().stdin.take().expect("stdin");
        stdin.write_all(format!("{}\n", sender[0]).as_bytes()).expect("write");
    }
    let lines = [
        format!("s = sniff(iface='{veth}', count=3, timeout=5)"),
        "print(len(s))".to_string(),
        "s.summary()".to_string(),
        "print(s[0].time > 1e9)".to_string(),
        // lfilter (not counted when it says no), prn (its result printed), store=False.
        format!("x = sniff(iface='{veth}', count=2, timeout=5, lfilter=lambda p: ICMP in p and p[ICMP].type == 0, prn=lambda p: 'got ' + p.summary(), store=False)"),
        "x".to_string(),
        // A kernel filter, a timeout, no count.
        format!("y = sniff(iface='{veth}', timeout=0.5, filter='icmp and src host {IP_B}')"),
        "print('y', len(y) > 0, all(p[IP].src == '10.204.0.2' for p in y))".to_string(),
        // stop_filter.
        format!("z = sniff(iface='{veth}', timeout=5, stop_filter=lambda p: ICMP in p)"),
        "print('z', ICMP in z[-1])".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    let mut it = stdout.lines();
    assert_eq!(it.next(), Some("3"), "{stdout}");
    let summaries: Vec<&str> = it.by_ref().take(3).collect();
    assert!(summaries.iter().all(|s| s.starts_with("Ether / ")), "{stdout}");
    assert!(summaries.iter().any(|s| s.contains("echo-request") || s.contains("echo-reply")), "{stdout}");
    assert_eq!(it.next(), Some("True"), "{stdout}");
    let got = format!("got Ether / IP / ICMP {IP_A} > {IP_B} echo-reply 0");
    assert_eq!(it.next(), Some(got.as_str()), "{stdout}");
    assert_eq!(it.next(), Some(got.as_str()), "{stdout}");
    assert_eq!(it.next(), Some("<Sniffed: TCP:0 UDP:0 ICMP:0 Other:0>"), "{stdout}");
    assert_eq!(it.next(), Some("y True True"), "{stdout}");
    assert_eq!(it.next(), Some("z True"), "{stdout}");
    drop(pinger);
}

#[test]
fn bind_layers_applies_to_sniffed_frames() {
    if !privileged("bind_layers_applies_to_sniffed_frames") {
        return;
    }
    let lab = lab_ab();
    let veth = &lab.veth.a;
    // GUE in UDP to port 9886 (not a GUE port by default), from B to A, one every 0.1 s.
    let sender = format!("send(IP(dst='{IP_A}')/UDP(sport=4000, dport=9886)/GUE(proto=17)/UDP(sport=1, dport=2), count=80, inter=0.1, verbose=0)");
    let mut gue_sender = spawn_repl(&lab.b, &[], Stdio::piped());
    {
        let mut stdin = gue_sender.child().stdin.take().expect("stdin");
        stdin.write_all(format!("{sender}\n").as_bytes()).expect("write");
    }
    let sniff = format!("sniff(iface='{veth}', count=1, timeout=5, lfilter=lambda p: UDP in p and p[UDP].dport == 9886)");
    let lines = [
        format!("x = {sniff}"),
        "print('before', len(x), GUE in x[0])".to_string(),
        "bind_layers(UDP, GUE, dport=9886)".to_string(),
        format!("y = {sniff}"),
        "print('after', len(y), GUE in y[0], y[0][GUE].proto)".to_string(),
        "split_layers(UDP, GUE, dport=9886)".to_string(),
        format!("z = {sniff}"),
        "print('split', len(z), GUE in z[0])".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["before 1 False", "after 1 True 17", "split 1 False"], "{}", both(&out));
    drop(gue_sender);
}

#[test]
fn ctrl_c_stops_sniff_and_sr_and_the_session_goes_on() {
    if !privileged("ctrl_c_stops_sniff_and_sr_and_the_session_goes_on") {
        return;
    }
    let lab = lab_ab();
    let veth = &lab.veth.a;
    let mut g = spawn_repl(&lab.a, &[], Stdio::piped());
    let mut stdin: ChildStdin = g.child().stdin.take().expect("stdin");
    let mut lines = Lines::new(&mut g);
    let pid = g.child().id() as libc::pid_t;
    let mut wait_for = |want: &str, limit: Duration| lines.wait_for(want, limit);
    let interrupt = || {
        // SAFETY: kill(2) on our own child, which the guard has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        Instant::now()
    };
    // Statements are read one at a time: the next ones wait in the pipe.
    let input = [
        "print('ready')".to_string(),
        format!("s = sniff(iface='{veth}', timeout=30)"),
        "print('after', len(s))".to_string(),
        format!("ans, unans = sr(IP(dst='{IP_NOBODY}')/ICMP(), timeout=None, verbose=0)"),
        "print('after sr', len(ans), len(unans))".to_string(),
        // One line: the interrupted call returns, the rest of the statement runs.
        format!("x = sniff(iface='{veth}', timeout=30); print('same line', len(x))"),
        "print('end')".to_string(),
    ];
    for l in &input {
        writeln!(stdin, "{l}").expect("write stdin");
    }
    drop(stdin);
    wait_for("ready", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let t0 = interrupt();
    let t1 = wait_for("after 0", Duration::from_secs(5));
    assert!(t1 - t0 < Duration::from_secs(1), "sniff took {:?} to stop after SIGINT", t1 - t0);
    // sr with no timeout waits for ever (scapy's timeout=None): Ctrl-C returns the request
    // unanswered.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = interrupt();
    let t1 = wait_for("after sr 0 1", Duration::from_secs(5));
    assert!(t1 - t0 < Duration::from_secs(1), "sr took {:?} to stop after SIGINT", t1 - t0);
    std::thread::sleep(Duration::from_millis(500));
    interrupt();
    wait_for("same line 0", Duration::from_secs(5));
    wait_for("end", Duration::from_secs(5));
    let out = g.wait(Duration::from_secs(5));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
}

/// B sends `n` UDP datagrams 4000 → 4001 to A, one every `inter` seconds (craft-repl -c in
/// B); returns once they are sent.
fn send_udp_from_b(lab: &Lab, n: usize, inter: f64) {
    let code = format!("send(IP(dst='{IP_A}')/UDP(sport=4000, dport=4001), count={n}, inter={inter}, verbose=0)");
    let out = spawn_repl(&lab.b, &["-c", &code], Stdio::piped()).wait(Duration::from_secs(20));
    assert!(out.status.success(), "sender: {}", both(&out));
}

#[test]
fn async_sniffer_prints_above_the_prompt_while_the_user_types() {
    if !privileged("async_sniffer_prints_above_the_prompt_while_the_user_types") {
        return;
    }
    let lab = lab_ab();
    let veth = &lab.veth.a;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &lab.a.name, REPL]);
    let mut r = pty::Repl::spawn_cmd(cmd, &[]);
    r.prompt();
    let out = r.line(&format!("t = AsyncSniffer(iface='{veth}', filter='udp', prn=lambda p: p.summary(), store=True); t.start()"));
    assert!(!out.contains("<stdin>"), "{out:?}");
    // A line typed, not finished, while the packets come.
    r.send("x = 12");
    r.expect("x = 12");
    send_udp_from_b(&lab, 5, 0.2);
    let summary = format!("Ether / IP / UDP {IP_B}:4000 > {IP_A}:4001");
    let deadline = Instant::now() + pty::WAIT;
    while r.out[r.mark..].matches(&summary).count() < 5 {
        assert!(Instant::now() < deadline, "5 summaries did not come; output after the mark:\n{:?}", &r.out[r.mark..]);
        r.read_some(Duration::from_millis(50));
    }
    // Each printed on a line of its own, above the prompt, which is drawn again with the
    // line being typed.
    let shown = r.out[r.mark..].to_string();
    assert!(shown.matches(&format!("{summary}\r\n")).count() == 5, "{shown:?}");
    r.mark = r.out.rfind(&summary).expect("a summary");
    r.expect(">>> x = 12");
    // Enter runs it (rustyline draws the accepted line once more first).
    r.send("\r");
    r.expect("\n");
    r.prompt();
    let out = r.line("x");
    assert!(out.contains("\n12\r\n"), "the typed line did not survive: {out:?}");
    let out = r.line("len(t.stop())");
    assert!(out.contains("\n5\r\n"), "{out:?}");
    let out = r.line("t.running, t.results");
    assert!(out.contains("(False, <Sniffed: TCP:0 UDP:5 ICMP:0 Other:0>)"), "{out:?}");
    // Ctrl-D with a capture running: it is stopped, its thread joined, the session ends.
    let out = r.line(&format!("u = AsyncSniffer(iface='{veth}'); u.start(); u.running"));
    assert!(out.contains("True"), "{out:?}");
    let t0 = Instant::now();
    r.send("\x04");
    assert!(r.wait_exit(pty::WAIT).success());
    assert!(t0.elapsed() < Duration::from_secs(2), "exit took {:?}", t0.elapsed());
}

#[test]
fn async_sniffer_start_stop_join_from_piped_input() {
    if !privileged("async_sniffer_start_stop_join_from_piped_input") {
        return;
    }
    let lab = lab_ab();
    let veth = &lab.veth.a;
    let mut g = spawn_repl(&lab.a, &[], Stdio::piped());
    let mut stdin: ChildStdin = g.child().stdin.take().expect("stdin");
    let mut lines = Lines::new(&mut g);
    let first = [
        format!("t = AsyncSniffer(iface='{veth}', filter='udp', prn=lambda p: 'got ' + p[IP].src)"),
        "t.start()".to_string(),
        // count=: done by itself after 3; store=False keeps nothing.
        format!("u = AsyncSniffer(iface='{veth}', filter='udp', count=3, store=False)"),
        "u.start()".to_string(),
        "print('started', t.running, u.running, t.results)".to_string(),
    ];
    for l in &first {
        writeln!(stdin, "{l}").expect("write stdin");
    }
    lines.wait_for("started True True None", Duration::from_secs(10));
    send_udp_from_b(&lab, 5, 0.05);
    std::thread::sleep(Duration::from_millis(200));
    let rest = [
        "u.join(timeout=5)".to_string(),
        "print('u', u.running, u.results)".to_string(),
        "r = t.stop()".to_string(),
        "print('t', t.running, len(r), len(t.results), r[0][UDP].dport)".to_string(),
        "t.stop()".to_string(),
        "AsyncSniffer(iface='nope0')".to_string(),
        format!("AsyncSniffer(iface='{veth}', filter='bogus (')"),
        // Still running at the end of input: stopped and joined.
        format!("v = AsyncSniffer(iface='{veth}'); v.start()"),
        "print('end')".to_string(),
    ];
    for l in &rest {
        writeln!(stdin, "{l}").expect("write stdin");
    }
    drop(stdin);
    lines.wait_for("end", Duration::from_secs(10));
    let t0 = Instant::now();
    let out = g.wait(Duration::from_secs(5));
    assert!(t0.elapsed() < Duration::from_secs(2), "exit took {:?}", t0.elapsed());
    let stderr = text(&out.stderr);
    let seen = &lines.seen;
    let got: Vec<&String> = seen.iter().filter(|l| l.starts_with("got ")).collect();
    assert_eq!(got.len(), 5, "{seen:?}");
    assert!(got.iter().all(|l| *l == &format!("got {IP_B}")), "{seen:?}");
    let at = |want: &str| seen.iter().position(|l| l == want).unwrap_or_else(|| panic!("no {want:?} in {seen:?}"));
    assert!(at("u False <Sniffed: TCP:0 UDP:0 ICMP:0 Other:0>") > at("started True True None"), "{seen:?}");
    let t_line = at("t False 5 5 4001");
    assert!(seen.iter().rposition(|l| l.starts_with("got ")).is_some_and(|i| i < t_line), "{seen:?}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("<stdin>:10:1: Not running ! (check .running attr)"), "{stderr}");
    assert!(stderr.contains("<stdin>:11:14: no such interface 'nope0'"), "{stderr}");
    assert!(stderr.contains(&format!("<stdin>:12:{}: bad filter 'bogus ('", 24 + veth.len())), "{stderr}");
    assert_eq!(stderr.matches("<stdin>:").count(), 3, "{stderr}");
}

#[test]
fn errors_point_at_the_argument() {
    if !privileged("errors_point_at_the_argument") {
        return;
    }
    let lab = lab_ab();
    let lines = [
        "sniff(iface='nope0', count=1)".to_string(),
        format!("sr(IP(dst='{IP_B}')/ICMP(), filter='bogus (', timeout=1)"),
        "srp(IP()/ICMP(), iface='lo')".to_string(),
        format!("send(Ether()/IP(dst='{IP_B}'))"),
        "sr(IP()/ICMP(), timeout=-1)".to_string(),
        "sniff(iface='lo', count=1, timeout=1, prnn=print)".to_string(),
        "print('end')".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stderr = text(&out.stderr);
    assert!(text(&out.stdout).ends_with("end\n"), "{}", both(&out));
    assert!(stderr.contains("<stdin>:1:7: no such interface 'nope0'"), "{stderr}");
    assert!(stderr.contains("<stdin>:2:33: bad filter 'bogus ('"), "{stderr}");
    assert!(stderr.contains("<stdin>:3:5: srp() sends Ether frames, and this packet starts with IP"), "{stderr}");
    assert!(stderr.contains("<stdin>:4:6: send() sends IP or IPv6 packets (routed), and this packet starts with Ether"), "{stderr}");
    assert!(stderr.contains("<stdin>:5:17: sr() timeout= must be a number of seconds"), "{stderr}");
    assert!(stderr.contains("unexpected keyword argument 'prnn'; did you mean 'prn'?"), "{stderr}");
}

#[test]
fn without_root_a_clear_error() {
    if !privileged("without_root_a_clear_error") {
        return;
    }
    // Nothing is sent: opening the packet socket on lo fails first.
    let nobody = AsNobody::new(REPL);
    let out = nobody.run(&["-c", "sniff(iface='lo', count=1, timeout=1)"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stderr.contains("<string>:1:1: opening a packet socket on 'lo': permission denied (needs root or CAP_NET_RAW)"), "{stderr}");
}

/// `explain=True`: the library's report printed through the session, for sendp (a bad
/// destination MAC: OTHERHOST in B) and sr (UDP to a closed port: NO_SOCKET in B).
#[test]
fn explain_true_prints_where_and_why() {
    if !privileged("explain_true_prints_where_and_why") {
        return;
    }
    // A subnet of its own: the watcher sees every namespace's drops, other tests' included.
    let (a, b) = ("10.204.9.1", "10.204.9.2");
    let lab = lab("crepl-", (a, b), None);
    let veth = &lab.veth.a;
    let lines = [
        format!("sendp(Ether(dst='02:00:00:00:00:99')/IP(src='{a}', dst='{b}', id=0x5e01)/UDP(dport=4000), iface='{veth}', explain=True, explain_wait=0.5)"),
        format!("ans, unans = sr(IP(dst='{b}', id=0x5e02)/UDP(sport=4001, dport=4002), timeout=0.5, explain=True, explain_wait=0.3, verbose=0)"),
        "print('end')".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    let ns_b = &lab.b.name;
    assert!(
        stdout.contains(&format!("packet 0 (Ether / IP {a} > {b} / UDP 53 > 4000) was dropped in namespace {ns_b}")),
        "{}",
        both(&out)
    );
    assert!(stdout.contains("at ip_rcv_core+0x") && stdout.contains(": OTHERHOST — the destination MAC 02:00:00:00:00:99"), "{stdout}");
    assert!(stdout.contains("at __udp4_lib_rcv+0x") && stdout.contains(": NO_SOCKET — "), "{stdout}");
    assert!(stdout.ends_with("end\n"), "{stdout}");
}

/// `trace=True`: under the packet's line, its path through the namespaces (A's veth tx,
/// B's veth rx, the drop).
#[test]
fn explain_trace_true_prints_the_path() {
    if !privileged("explain_trace_true_prints_the_path") {
        return;
    }
    let (a, b) = ("10.204.10.1", "10.204.10.2");
    let lab = lab("crepl-", (a, b), None);
    let veth = &lab.veth.a;
    let lines = [
        format!("sendp(Ether(dst='02:00:00:00:00:99')/IP(src='{a}', dst='{b}', id=0x5e03)/UDP(dport=4000), iface='{veth}', explain=True, trace=True, explain_wait=0.5)"),
        "print('end')".to_string(),
    ];
    let out = repl_in(&lab.a, &lines, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", both(&out));
    assert!(stdout.contains(&format!("packet 0 (Ether / IP {a} > {b} / UDP 53 > 4000) was dropped in namespace {}", lab.b.name)), "{}", both(&out));
    let path = format!("  path: {} {} tx → {} {} rx → dropped at ip_rcv_core: OTHERHOST\n", lab.a.name, lab.veth.a, lab.b.name, lab.veth.b);
    assert!(stdout.contains(&path), "want {path:?} in\n{}", both(&out));
    assert!(stdout.ends_with("end\n"), "{stdout}");
}
