//! Capture link types other than Ethernet, in files the real tools write: `tcpdump -i any`
//! (Linux cooked SLL and SLL2) in namespaces the test makes, tcpdump on a tun device (raw
//! IP), and text2pcap for BSD loopback (NULL, LOOP), the raw IP variants and PPP. Each
//! file is read by craft and by tshark, the layers compared packet by packet, and written
//! back byte for byte. Every frame stays inside namespaces these tests create.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lab::lab;
use common::netns::{privileged, Netns};
use craft::field::Mac;
use craft::packet::{Layer, LayerKind, Packet};
use craft::pcap::{Notice, Reader, SliceReader, Writer};
use craft::prelude::*;
use common::tools::{have, run, tmpdir};

const T: Duration = Duration::from_secs(20);




fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

// ---- comparing with tshark ----

/// tshark's protocols of each frame, without the pseudo-protocols that are no header
/// ("ethertype", the "raw" of raw IP).
fn tshark_layers(file: &Path) -> Vec<String> {
    run("tshark", &["-r", p(file), "-T", "fields", "-e", "frame.protocols"])
        .lines()
        .map(|l| l.split(':').filter(|p| !matches!(*p, "ethertype" | "raw")).collect::<Vec<_>>().join(":"))
        .collect()
}

/// tshark's name for a craft layer; None for what tshark shows as no protocol (Padding).
fn tshark_name(l: &Layer) -> Option<&'static str> {
    Some(match l {
        Layer::Ether(_) => "eth",
        Layer::CookedLinux(_) | Layer::CookedLinuxV2(_) => "sll",
        Layer::Loopback(_) | Layer::LoopbackOpenBSD(_) => "null",
        Layer::Dot1Q(_) => "vlan",
        Layer::Arp(_) => "arp",
        Layer::Ip(_) => "ip",
        Layer::Ipv6(_) => "ipv6",
        Layer::HopByHop(_) => "ipv6.hopopts",
        Layer::DestOpt(_) => "ipv6.dstopts",
        Layer::Routing(_) => "ipv6.routing",
        Layer::Fragment(_) => "ipv6.fraghdr",
        Layer::Icmp(_) => "icmp",
        Layer::Udp(_) => "udp",
        Layer::Tcp(_) => "tcp",
        Layer::Padding(_) => return None,
        Layer::Raw(_) => "data",
        // ICMPv6 messages and their ND options: one "icmpv6" for tshark.
        l if l.kind().name().starts_with("ICMPv6") => "icmpv6",
        l => panic!("no tshark name for {}", l.kind().name()),
    })
}

/// craft's layers as tshark names them.
fn craft_layers(p: &Packet) -> String {
    let mut names: Vec<&str> = vec![];
    for l in &p.layers {
        names.extend(tshark_name(l));
        // An ICMPv6 echo holds its payload in `data` (as scapy's does); tshark shows "data".
        if matches!(l, Layer::Icmpv6EchoRequest(_) | Layer::Icmpv6EchoReply(_))
            && l.get("data").is_some_and(|d| d != craft::field::Value::Bytes(vec![]))
        {
            names.push("data");
        }
    }
    names.dedup_by(|a, b| *a == "icmpv6" && *b == "icmpv6");
    names.join(":")
}

/// Reads `file` with craft: every record of `linktype`, the layers of each equal to
/// tshark's, each dissection building back to the record's bytes, and the records written
/// back giving the same records (a classic pcap file: the same file, byte for byte).
/// Returns the dissected packets.
fn check_file(file: &Path, linktype: u32) -> Vec<Packet> {
    let bytes = std::fs::read(file).unwrap();
    let mut r = Reader::new(&bytes[..]).unwrap();
    let mut out = None;
    let (mut pkts, mut recs) = (vec![], vec![]);
    while let Some(rec) = r.next_record().unwrap() {
        let rec = rec.to_owned();
        assert_eq!(rec.linktype, linktype);
        let pkt = Packet::dissect(&rec.data, rec.first_layer());
        let built = pkt.build();
        assert_eq!(built, rec.data, "{}: packet {} ({})", file.display(), pkts.len() + 1, pkt.summary());
        // Opened at the first record: a pcapng file describes its interface only then.
        if out.is_none() {
            let (lt, snaplen) = r.link().unwrap();
            assert_eq!(lt, linktype, "{}", file.display());
            out = Some(Writer::new(Vec::new(), r.write_format(), lt, snaplen).unwrap());
        }
        out.as_mut().unwrap().write(rec.ts_ns, &built, rec.orig_len).unwrap();
        recs.push(rec);
        pkts.push(pkt);
    }
    assert_eq!(r.take_notices(), [], "{}", file.display());
    // The tools' file read in memory: the same records, borrowed.
    let mut sliced = SliceReader::new(&bytes).unwrap();
    let sliced_recs: Vec<_> = sliced.by_ref().map(|r| r.unwrap().to_owned()).collect();
    assert_eq!(sliced_recs, recs, "{}: SliceReader and Reader differ", file.display());
    assert_eq!(sliced.take_notices(), [], "{}", file.display());
    let out = out.expect("no record");
    let theirs = tshark_layers(file);
    let ours: Vec<String> = pkts.iter().map(craft_layers).collect();
    assert_eq!(ours, theirs, "{}: craft's layers (left) and tshark's (right)", file.display());
    let written = out.into_inner().unwrap();
    let back: Vec<_> = Reader::new(&written[..]).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(back, recs, "{}", file.display());
    if !Reader::new(&bytes[..]).unwrap().is_pcapng() {
        assert_eq!(written, bytes, "{}: written back, the file differs", file.display());
    }
    pkts
}

// ---- tcpdump in a namespace ----

/// tcpdump writing `file` in namespace `ns`, started and ready; stopped on drop.
struct Tcpdump {
    child: Child,
}

impl Tcpdump {
    fn start(ns: &Netns, args: &[&str], file: &Path) -> Tcpdump {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "tcpdump", "-Z", "root", "-U", "-w", p(file)])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut said = vec![];
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if line.contains("listening on") {
                return Tcpdump { child };
            }
            said.push(line);
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tcpdump {args:?} did not start listening: {}", said.join("\n"));
    }

    /// SIGINT, as a user's Ctrl-C: tcpdump flushes and exits.
    fn stop(mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our child's (ip netns exec
        // execs tcpdump, so it is tcpdump's).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "tcpdump did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until `file` holds records that `done` accepts (tcpdump -U writes each packet at
/// once), for up to 5 s.
fn wait_for(file: &Path, done: impl Fn(&[Packet]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pkts: Vec<Packet> = std::fs::read(file)
            .ok()
            .and_then(|b| Reader::new(std::io::Cursor::new(b)).ok())
            .map(|r| r.filter_map(Result::ok).map(|rec| Packet::dissect(&rec.data, rec.first_layer())).collect())
            .unwrap_or_default();
        if done(&pkts) || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn has<F: Fn(&Layer) -> bool>(pkts: &[Packet], f: F) -> bool {
    pkts.iter().any(|p| p.layers.iter().any(&f))
}

fn ifindex(ns: &Netns, dev: &str) -> u32 {
    let out = run("ip", &["-n", &ns.name, "-o", "link", "show", "dev", dev]);
    out.split(':').next().unwrap().trim().parse().unwrap()
}

const IP_A: &str = "10.202.0.1";
const IP_B: &str = "10.202.0.2";
const IP6_A: &str = "fd00:202::1";
const IP6_B: &str = "fd00:202::2";

/// Pings from A to B (IPv4 with a payload, IPv6), a UDP datagram, and a UDP datagram
/// tagged for VLAN 100, all sent as frames on A's veth end; B's kernel answers the pings.
fn traffic(mac_a: Mac, mac_b: Mac) -> Vec<Vec<u8>> {
    let e = || Ether::new().dst(mac_b).src(mac_a);
    let udp = || Ip::new().src(IP_A).dst(IP_B) / Udp::new().sport(1000).dport(2000) / b"tagged".to_vec();
    vec![
        (e() / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(0x4242, 1) / b"craft ping 1".to_vec()).build(),
        (e() / Ip::new().src(IP_A).dst(IP_B) / Icmp::echo_request(0x4242, 2) / b"craft ping 2".to_vec()).build(),
        (e() / Ipv6::new().src(IP6_A).dst(IP6_B) / Icmpv6EchoRequest::new().id(7).seq(1) / b"ping6".to_vec()).build(),
        (Packet::from(Layer::from(e())) / udp()).build(),
        (e() / Dot1Q::new().vlan(100).prio(3) / udp()).build(),
    ]
}

fn cooked_src(mac: Mac) -> Vec<u8> {
    [&mac.0[..], &[0, 0]].concat()
}

#[test]
fn tcpdump_any_captures_decode_as_cooked_linux() {
    if !privileged("tcpdump_any_captures_decode_as_cooked_linux") || !have("tcpdump") || !have("tshark") {
        return;
    }
    let lab = lab("craft-sll", (IP_A, IP_B), Some((IP6_A, IP6_B)));
    let dir = tmpdir("links", "sll");
    let b_index = ifindex(&lab.b, &lab.veth.b);
    for (dlt, linktype) in [("LINUX_SLL", 113), ("LINUX_SLL2", 276)] {
        let file = dir.join(format!("{dlt}.pcap"));
        let cap = Tcpdump::start(&lab.b, &["-i", "any", "-y", dlt], &file);
        let frames = traffic(lab.mac_a, lab.mac_b);
        let dev = lab.veth.a.clone();
        lab.a.run(T, move || craft::live::sendp_frames(&dev, &frames, Default::default())).unwrap();
        let replied = |pkts: &[Packet]| {
            has(pkts, |l| matches!(l, Layer::Icmp(i) if i.r#type == 0))
                && has(pkts, |l| matches!(l, Layer::Icmpv6EchoReply(_)))
        };
        wait_for(&file, replied);
        cap.stop();

        let pkts = check_file(&file, linktype);
        assert!(replied(&pkts), "{dlt}: B's kernel did not answer the pings");
        let firsts: Vec<LayerKind> = pkts.iter().map(|p| p.layers[0].kind()).collect();
        let kind = if linktype == 113 { LayerKind::CookedLinux } else { LayerKind::CookedLinuxV2 };
        assert!(firsts.iter().all(|k| *k == kind), "{dlt}: {firsts:?}");
        // (pkttype, lladdrtype, lladdrlen, src, ifindex) of the first echo request and reply.
        let head = |icmp_type: u8| {
            let p = pkts.iter().find(|p| p.layers.iter().any(|l| matches!(l, Layer::Icmp(i) if i.r#type == icmp_type))).unwrap();
            match &p.layers[0] {
                Layer::CookedLinux(h) => (u32::from(h.pkttype), h.lladdrtype, u32::from(h.lladdrlen), h.src.clone(), None),
                Layer::CookedLinuxV2(h) => {
                    assert_eq!((h.proto, h.reserved), (Some(0x0800), 0));
                    (u32::from(h.pkttype), h.lladdrtype, u32::from(h.lladdrlen), h.src.clone(), Some(h.ifindex))
                }
                l => panic!("{l:?}"),
            }
        };
        let ifx = (linktype == 276).then_some(b_index);
        // Received by B (to us: 0), from A's MAC; answered by B (sent by us: 4), from B's.
        assert_eq!(head(8), (0, 1, 6, cooked_src(lab.mac_a), ifx), "{dlt}");
        assert_eq!(head(0), (4, 1, 6, cooked_src(lab.mac_b), ifx), "{dlt}");
        // The tagged datagram: libpcap puts the tag back in SLL (not in SLL2).
        let tagged = pkts.iter().find(|p| p.layers.iter().any(|l| matches!(l, Layer::Dot1Q(_))));
        if linktype == 113 {
            let p = tagged.expect("the VLAN-tagged frame in SLL");
            let kinds: Vec<_> = p.layers.iter().map(Layer::kind).collect();
            assert_eq!(kinds, [kind, LayerKind::Dot1Q, LayerKind::Ip, LayerKind::Udp, LayerKind::Raw]);
            assert!(matches!(&p.layers[0], Layer::CookedLinux(h) if h.proto == Some(0x8100)));
            assert!(matches!(&p.layers[1], Layer::Dot1Q(t) if (t.vlan, t.prio) == (100, 3)));
        }
        // (Not counting the port unreachable that quotes one.)
        let udp = pkts.iter().filter(|p| {
            let one = std::slice::from_ref(*p);
            has(one, |l| matches!(l, Layer::Udp(u) if u.dport == Some(2000))) && !has(one, |l| matches!(l, Layer::Icmp(_)))
        });
        assert_eq!(udp.count(), 2, "{dlt}: both datagrams");

        // The CLI shows them as such.
        let summary = run(env!("CARGO_BIN_EXE_craft"), &["dissect", "--pcap", p(&file), "-f", "summary"]);
        assert_eq!(summary.lines().count(), pkts.len());
        assert!(summary.lines().all(|l| l.contains(&format!(" {} / ", kind.name()))), "{summary}");
    }
}

// ---- raw IP: tcpdump on a tun device ----

/// Opens tun device `name` (IFF_TUN | IFF_NO_PI: bare IP packets) in this thread's netns.
fn open_tun(name: &str) -> File {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca; // _IOW('T', 202, int)
    // SAFETY: the path is a NUL-terminated literal that outlives the call; open(2) has no
    // other precondition and its result is checked below.
    let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    assert!(fd >= 0, "/dev/net/tun: {}", std::io::Error::last_os_error());
    // SAFETY: fd was just opened and is owned from here on.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    // struct ifreq: 16 bytes of name, then the flags (short) in a 24-byte union.
    let mut ifr = [0u8; 40];
    ifr[..name.len()].copy_from_slice(name.as_bytes());
    let flags = (libc::IFF_TUN | libc::IFF_NO_PI) as i16;
    ifr[16..18].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: ifr is a writable buffer of the size the kernel reads and writes.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, ifr.as_mut_ptr()) };
    assert_eq!(r, 0, "TUNSETIFF {name}: {}", std::io::Error::last_os_error());
    file
}

/// The first layer of a bare IP packet.
fn ip_kind(pkt: &[u8]) -> LayerKind {
    craft::pcap::first_layer(craft::pcap::LINKTYPE_RAW, pkt)
}

/// Reads what the kernel sends out of the tun device, for up to `wait`, until `want` of
/// the packets are answers (an echo reply, a destination unreachable): returns those.
fn read_tun(tun: &mut File, want: usize, wait: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + wait;
    let mut got = vec![];
    let answer = |pkt: &[u8]| {
        let p = Packet::dissect(pkt, ip_kind(pkt));
        has(&[p], |l| matches!(l, Layer::Icmp(i) if matches!(i.r#type, 0 | 3)) || matches!(l, Layer::Icmpv6EchoReply(_)))
    };
    while got.len() < want && Instant::now() < deadline {
        let mut pfd = libc::pollfd { fd: tun.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = vec![0u8; 2048];
        let n = std::io::Read::read(tun, &mut buf).unwrap();
        buf.truncate(n);
        // Router solicitations and MLD reports come too, some from before the capture.
        if answer(&buf) {
            got.push(buf);
        }
    }
    got
}

#[test]
fn tcpdump_on_a_tun_device_decodes_as_raw_ip() {
    if !privileged("tcpdump_on_a_tun_device_decodes_as_raw_ip") || !have("tcpdump") || !have("tshark") {
        return;
    }
    let ns = Netns::new("craft-tun");
    let name = format!("ct{:x}", std::process::id());
    let dev = name.clone();
    let mut tun = ns.run(T, move || open_tun(&dev));
    run("ip", &["netns", "exec", &ns.name, "sysctl", "-qw", &format!("net.ipv6.conf.{name}.disable_ipv6=0")]);
    ns.exec(&["addr", "add", "10.203.0.1/24", "dev", &name]);
    ns.exec(&["addr", "add", "fd00:203::1/64", "dev", &name, "nodad"]);
    ns.exec(&["link", "set", &name, "up"]);
    let file = tmpdir("links", "tun").join("tun.pcap");
    let cap = Tcpdump::start(&ns, &["-i", &name], &file);
    // As if from a peer at the other end of the tunnel: two pings and a datagram to a
    // closed port; the kernel answers each (an echo reply, a port unreachable).
    let v4 = || Ip::new().src("10.203.0.2").dst("10.203.0.1");
    let sent = [
        (v4() / Icmp::echo_request(9, 1) / b"tun ping".to_vec()).build(),
        (Ipv6::new().src("fd00:203::2").dst("fd00:203::1") / Icmpv6EchoRequest::new().id(9).seq(2) / b"tun ping6".to_vec()).build(),
        (v4() / Udp::new().sport(1000).dport(2000) / b"closed".to_vec()).build(),
    ];
    for pkt in &sent {
        tun.write_all(pkt).unwrap();
    }
    let answers = read_tun(&mut tun, 3, Duration::from_secs(5));
    assert!(answers.len() >= 3, "the kernel answered {} of 3", answers.len());
    wait_for(&file, |pkts| pkts.len() >= 6);
    cap.stop();

    let pkts = check_file(&file, craft::pcap::LINKTYPE_RAW);
    for pkt in sent.iter().chain(&answers) {
        assert!(pkts.iter().any(|p| &p.build() == pkt), "not captured: {}", Packet::dissect(pkt, ip_kind(pkt)).summary());
    }
    assert!(has(&pkts, |l| matches!(l, Layer::Icmp(i) if i.r#type == 3)), "port unreachable");
    assert!(has(&pkts, |l| matches!(l, Layer::Icmpv6EchoReply(_))));
    assert!(pkts.iter().all(|p| matches!(p.layers[0].kind(), LayerKind::Ip | LayerKind::Ipv6)));
}

// ---- BSD loopback, raw IP and PPP written by text2pcap ----

/// A hex dump in the form text2pcap reads: an offset and 16 bytes a line, each packet
/// starting again at offset 0.
fn hexdump(frames: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for f in frames {
        for (i, chunk) in f.chunks(16).enumerate() {
            let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            s += &format!("{:06x}  {}\n", i * 16, bytes.join(" "));
        }
        s += "\n";
    }
    s
}

/// `text2pcap -l linktype` of `frames`, as pcap or pcapng.
fn text2pcap(dir: &Path, linktype: u32, frames: &[Vec<u8>], format: &str) -> PathBuf {
    let txt = dir.join(format!("{linktype}.txt"));
    std::fs::write(&txt, hexdump(frames)).unwrap();
    let out = dir.join(format!("{linktype}.{format}"));
    run("text2pcap", &["-q", "-F", format, "-l", &linktype.to_string(), p(&txt), p(&out)]);
    out
}

fn ipv4_packets() -> Vec<Vec<u8>> {
    let ip = || Ip::new().src("192.0.2.1").dst("198.51.100.2");
    vec![
        (ip() / Icmp::echo_request(1, 1) / b"abcdefgh".to_vec()).build(),
        (ip() / Udp::new().sport(1000).dport(2000) / b"datagram".to_vec()).build(),
        (ip() / Tcp::new().sport(1000).dport(2000).flags("S")).build(),
    ]
}

fn ipv6_packets() -> Vec<Vec<u8>> {
    let ip6 = || Ipv6::new().src("2001:db8::1").dst("2001:db8::2");
    vec![
        (ip6() / Icmpv6EchoRequest::new().id(1).seq(1) / b"abcdefgh".to_vec()).build(),
        (ip6() / Udp::new().sport(1000).dport(2000) / b"datagram".to_vec()).build(),
    ]
}

fn framed(prefix: [u8; 4], pkts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    pkts.iter().map(|p| [&prefix[..], p].concat()).collect()
}

#[test]
fn loopback_and_raw_ip_link_types_written_by_text2pcap() {
    if !have("text2pcap") || !have("tshark") {
        return;
    }
    let dir = tmpdir("links", "text2pcap");
    let (v4, v6) = (ipv4_packets(), ipv6_packets());
    let both = [v4.clone(), v6.clone()].concat();
    let null = [
        framed([2, 0, 0, 0], &v4),  // AF_INET, a little-endian host
        framed([24, 0, 0, 0], &v6), // AF_INET6: NetBSD/OpenBSD
        framed([28, 0, 0, 0], &v6), // FreeBSD
        framed([30, 0, 0, 0], &v6), // macOS
        framed([0, 0, 0, 2], &v4),  // AF_INET, a big-endian host
        framed([0, 0, 0, 30], &v6),
        framed([10, 0, 0, 0], &v6[..1]), // Linux's AF_INET6: no BSD writes it, not IPv6 here
    ]
    .concat();
    let lo = [framed([0, 0, 0, 2], &v4), framed([0, 0, 0, 24], &v6), framed([2, 0, 0, 0], &v4[..1])].concat();
    // (link type, frames, what they start with)
    type Case<'a> = (u32, &'a [Vec<u8>], &'a [LayerKind]);
    let cases: [Case; 7] = [
        (0, &null, &[LayerKind::Loopback]),
        (108, &lo, &[LayerKind::LoopbackOpenBSD]),
        (12, &both, &[LayerKind::Ip, LayerKind::Ipv6]),
        (14, &both, &[LayerKind::Ip, LayerKind::Ipv6]),
        (101, &both, &[LayerKind::Ip, LayerKind::Ipv6]),
        (228, &v4, &[LayerKind::Ip]),
        (229, &v6, &[LayerKind::Ipv6]),
    ];
    for (linktype, frames, firsts) in cases {
        for format in ["pcap", "pcapng"] {
            let file = text2pcap(&dir, linktype, frames, format);
            if matches!(linktype, 12 | 14) {
                // text2pcap writes raw IP as 101 whatever -l says; 12 and 14 are what some
                // BSDs wrote in files: set the link type of the pcap header or the IDB.
                let mut b = std::fs::read(&file).unwrap();
                let at = if format == "pcap" { 20 } else { u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize + 8 };
                assert_eq!(b[at], 101, "{}", file.display());
                b[at] = linktype as u8;
                std::fs::write(&file, b).unwrap();
            }
            let pkts = check_file(&file, linktype);
            assert_eq!(pkts.len(), frames.len(), "{linktype} {format}");
            for p in &pkts {
                assert!(firsts.contains(&p.layers[0].kind()), "{linktype} {format}: {}", p.summary());
            }
        }
    }
    // What each loopback family was decoded as, IPv6 under every BSD's number.
    let pkts = check_file(&text2pcap(&dir, 0, &null, "pcap"), 0);
    let second: Vec<LayerKind> = pkts.iter().map(|p| p.layers[1].kind()).collect();
    let (i4, i6, raw) = (LayerKind::Ip, LayerKind::Ipv6, LayerKind::Raw);
    assert_eq!(second, [i4, i4, i4, i6, i6, i6, i6, i6, i6, i4, i4, i4, i6, i6, raw]);
    assert!(matches!(&pkts[9].layers[0], Layer::Loopback(l) if l.r#type == Some(0x0200_0000)));
}

#[test]
fn ppp_is_shown_raw_with_one_notice() {
    if !have("text2pcap") || !have("tshark") {
        return;
    }
    let dir = tmpdir("links", "ppp");
    let frames = framed([0xff, 0x03, 0x00, 0x21], &ipv4_packets());
    for format in ["pcap", "pcapng"] {
        let file = text2pcap(&dir, 9, &frames, format);
        let bytes = std::fs::read(&file).unwrap();
        let mut r = Reader::new(&bytes[..]).unwrap();
        let mut said = vec![];
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            let p = Packet::dissect(rec.data, rec.first_layer());
            assert!(matches!(&p.layers[..], [Layer::Raw(raw)] if raw.load == frames[n]), "{p:?}");
            said.extend(r.take_notices());
            n += 1;
        }
        said.extend(r.take_notices());
        assert_eq!(said, [Notice::LinkType(9)]);
        let mut sliced = SliceReader::new(&bytes).unwrap();
        assert_eq!(sliced.by_ref().count(), n);
        assert_eq!(sliced.take_notices(), said, "SliceReader says what Reader says");
        assert_eq!(said[0].to_string(), "link type 9 (PPP) is not decoded: packets shown as Raw");
        // tshark decodes PPP; craft shows the same frames, undecoded.
        assert_eq!(tshark_layers(&file), ["ppp:ip:icmp:data", "ppp:ip:udp:data", "ppp:ip:tcp"]);
        // The CLI shows every packet and says it once on stderr, exit 0.
        let out = Command::new(env!("CARGO_BIN_EXE_craft")).args(["dissect", "--pcap", p(&file), "-f", "json"]).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("{}: link type 9 (PPP) is not decoded: packets shown as Raw", p(&file))), "{stderr}");
    }
}
