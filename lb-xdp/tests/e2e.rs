//! End to end in namespaces this test creates: client → router → director (XDP, GUE) →
//! router → backends (XDP decap, VIP on lo, a real TCP server) → straight back to the
//! client (DSR). The lb-xdp command runs as users run it; the client is the kernel's TCP
//! (std TcpStream, curl) and craft's srp1.
mod common;

use common::netns::{ip, privileged, Netns, VethPair};
use common::expected_backend;
use lb_xdp::config::Config;
use lb_xdp_common::PROTO_TCP;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const VIP: &str = "10.100.0.1";
const VIP6: &str = "fd00:100::1";
const CLIENT6: &str = "fd01::2";
const CLIENT: &str = "10.1.0.2";
const T: Duration = Duration::from_secs(20);

/// An `lb-xdp` process in a namespace (its network namespace only: pinned maps stay in
/// the host's bpffs), stopped with SIGTERM on drop.
struct Daemon {
    child: Child,
    what: String,
}

impl Daemon {
    fn start(ns: &Netns, args: &[&str]) -> Daemon {
        let what = args.join(" ");
        let started = lb_xdp::runner::start_in_netns(&ns.name, std::path::Path::new(env!("CARGO_BIN_EXE_lb-xdp")), args);
        let child = started.unwrap_or_else(|e| panic!("lb-xdp {what} {e}")).child;
        Daemon { child, what }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("wait for lb-xdp");
        if !std::thread::panicking() {
            assert!(status.success(), "lb-xdp {} exited with {status}", self.what);
        }
    }
}

fn lb_xdp_in(ns: &Netns, args: &[&str]) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/var/run/netns/{}", ns.name)).arg("--").arg(env!("CARGO_BIN_EXE_lb-xdp")).args(args);
    cmd
}

fn run_lb_xdp(ns: &Netns, args: &[&str]) -> String {
    let out = lb_xdp_in(ns, args).output().expect("run lb-xdp");
    assert!(out.status.success(), "lb-xdp {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP server on VIP:80 in a backend namespace: answers each line with its name, and an
/// HTTP GET with a response whose body is its name.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(ns: &Netns, name: &'static str) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = ns.spawn(move || {
            let listeners = [VIP, VIP6].map(|vip| {
                let listener = TcpListener::bind((vip, 80)).unwrap_or_else(|e| panic!("bind {vip}: {e}"));
                listener.set_nonblocking(true).unwrap();
                listener
            });
            ready_tx.send(()).unwrap();
            while !flag.load(Ordering::Relaxed) {
                let mut idle = true;
                for listener in &listeners {
                    if let Ok((conn, _)) = listener.accept() {
                        std::thread::spawn(move || serve(conn, name));
                        idle = false;
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        ready_rx.recv_timeout(T).expect("server ready");
        Server { stop, thread: Some(thread) }
    }
}

fn serve(conn: TcpStream, name: &str) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(T)).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
        if line.starts_with("GET ") {
            let body = format!("{name}\n");
            let _ = write!(conn, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            return;
        }
        if conn.write_all(format!("{name} {line}").as_bytes()).is_err() {
            return;
        }
        line.clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.take().map(|t| t.join());
    }
}

/// One line exchanged on an open connection: the backend's name.
fn ask(conn: &mut BufReader<TcpStream>, what: &str) -> String {
    conn.get_mut().write_all(format!("{what}\n").as_bytes()).unwrap();
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let (name, echoed) = line.trim_end().split_once(' ').unwrap_or_else(|| panic!("bad answer {line:?}"));
    assert_eq!(echoed, what);
    name.to_string()
}

fn connect() -> (BufReader<TcpStream>, u16) {
    connect_to(VIP)
}

fn connect_to(vip: &str) -> (BufReader<TcpStream>, u16) {
    let addr = SocketAddr::new(vip.parse().unwrap(), 80);
    let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to the VIP");
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = conn.local_addr().unwrap().port();
    (BufReader::new(conn), port)
}

fn sysctl(ns: &Netns, setting: &str) {
    ns.cmd("sysctl", &["-qw", setting]).unwrap_or_else(|e| panic!("sysctl {setting}: {e}"));
}

fn mac_of(ns: &Netns, dev: &str) -> String {
    let out = Command::new("ip").args(["-n", &ns.name, "-o", "link", "show", "dev", dev]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split("link/ether ").nth(1).and_then(|s| s.split_whitespace().next()).expect("a MAC").to_string()
}

struct Backend {
    // Drop order: server, decap, link, namespace.
    _server: Server,
    _decap: Daemon,
    link: VethPair,
    ns: Netns,
    name: &'static str,
    addr: String,
}

/// The topology; field order is drop order.
struct Lab {
    backends: Vec<Backend>,
    director: Option<Daemon>,
    _router_pass: Daemon,
    director_link: VethPair,
    client_link: VethPair,
    config_path: std::path::PathBuf,
    config: Config,
    /// Extra arguments for the backends' `lb-xdp decap`.
    decap_args: Vec<String>,
    client: Netns,
    director_ns: Netns,
    router: Netns,
}

impl Lab {
    fn new(backends: usize, decap_args: &[&str]) -> Lab {
        let router = Netns::new("lbr");
        let client = Netns::new("lbc");
        let director_ns = Netns::new("lbd");
        sysctl(&router, "net.ipv4.ip_forward=1");
        for ns in [&router, &client, &director_ns] {
            sysctl(ns, "net.ipv4.conf.all.rp_filter=0");
            sysctl(ns, "net.ipv4.conf.default.rp_filter=0");
        }
        sysctl(&router, "net.ipv6.conf.all.forwarding=1");
        let client_link =
            VethPair::new(&router, &client).with_v6("fd01::1/64", "fd01::2/64").with_addrs("10.1.0.1/24", "10.1.0.2/24");
        // veth offloads the TCP checksum: the client's packets would reach the director's
        // XDP program with only the pseudo-header sum in the field, and XDP hands them on
        // as they are (a NIC would have filled it in on the wire).
        client.cmd("ethtool", &["-K", &client_link.b, "tx", "off"]).expect("ethtool -K tx off");
        let director_link = VethPair::new(&router, &director_ns);
        for (ns, dev) in [(&router, &director_link.a), (&director_ns, &director_link.b)] {
            ip(&["-n", &ns.name, "link", "set", dev, "mtu", "1600"]);
        }
        let director_link = director_link.with_v6("fd02::1/64", "fd02::2/64").with_addrs("10.2.0.1/24", "10.2.0.2/24");
        ip(&["-n", &client.name, "route", "add", "default", "via", "10.1.0.1"]);
        ip(&["-n", &client.name, "-6", "route", "add", "default", "via", "fd01::1"]);
        ip(&["-n", &director_ns.name, "route", "add", "default", "via", "10.2.0.1"]);
        ip(&["-n", &director_ns.name, "-6", "route", "add", "default", "via", "fd02::1"]);
        ip(&["-n", &router.name, "route", "add", &format!("{VIP}/32"), "via", "10.2.0.2"]);
        ip(&["-n", &router.name, "-6", "route", "add", &format!("{VIP6}/128"), "via", "fd02::2"]);
        // The router end of the director's link receives XDP_TX'd frames: veth hands them
        // only to a peer that has an XDP program.
        let router_pass = Daemon::start(&router, &["pass", "--iface", &director_link.a]);

        let config = Config::parse(&format!(
            r#"(next_hop_mac: "{}", src_v4: "10.2.0.2",
                vips: [(addr: "{VIP}", port: 80, proto: tcp, backends: [{backends}]),
                       (addr: "{VIP6}", port: 80, proto: tcp, backends: [{backends}])])"#,
            mac_of(&router, &director_link.a),
            backends = (1..=backends).map(|i| format!("(addr: \"10.3.{i}.2\")")).collect::<Vec<_>>().join(", ")
        ))
        .unwrap();
        let config_path = std::env::temp_dir().join(format!("lb-xdp-e2e-{}-{}.ron", std::process::id(), director_link.b));
        let mut lab = Lab {
            backends: Vec::new(),
            director: None,
            _router_pass: router_pass,
            director_link,
            client_link,
            config_path,
            config,
            decap_args: decap_args.iter().map(|a| a.to_string()).collect(),
            client,
            director_ns,
            router,
        };
        for i in 1..=backends {
            lab.add_backend_host(i);
        }
        lab
    }

    /// A backend namespace 10.3.N.2 behind the router, with decap, the VIP on lo and a server.
    fn add_backend_host(&mut self, i: usize) {
        let ns = Netns::new("lbb");
        sysctl(&ns, "net.ipv4.conf.all.rp_filter=0");
        sysctl(&ns, "net.ipv4.conf.default.rp_filter=0");
        self.add_backend_host_in(ns, i);
    }

    fn add_backend_host_in(&mut self, ns: Netns, i: usize) {
        const NAMES: [&str; 4] = ["backend-1", "backend-2", "backend-3", "backend-4"];
        let link = VethPair::new(&self.router, &ns);
        for (n, dev) in [(&self.router, &link.a), (&ns, &link.b)] {
            ip(&["-n", &n.name, "link", "set", dev, "mtu", "1600"]);
        }
        let link = link
            .with_v6(&format!("fd03:{i}::1/64"), &format!("fd03:{i}::2/64"))
            .with_addrs(&format!("10.3.{i}.1/24"), &format!("10.3.{i}.2/24"));
        ip(&["-n", &ns.name, "route", "add", "default", "via", &format!("10.3.{i}.1")]);
        ip(&["-n", &ns.name, "-6", "route", "add", "default", "via", &format!("fd03:{i}::1")]);
        ip(&["-n", &ns.name, "addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
        ip(&["-n", &ns.name, "addr", "add", &format!("{VIP6}/128"), "dev", "lo", "nodad"]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        let mut args = vec!["decap", "--iface", &link.b];
        args.extend(self.decap_args.iter().map(String::as_str));
        let decap = Daemon::start(&ns, &args);
        let server = Server::start(&ns, NAMES[i - 1]);
        self.backends.push(Backend { _server: server, _decap: decap, link, ns, name: NAMES[i - 1], addr: format!("10.3.{i}.2") });
    }

    fn start_director(&mut self) {
        std::fs::write(&self.config_path, self.config_text()).unwrap();
        let path = self.config_path.to_str().unwrap().to_string();
        self.director = Some(Daemon::start(&self.director_ns, &["director", "--iface", &self.director_link.b, "--config", &path]));
        // LB_XDP_E2E_HOLD=1: keep the topology up a minute, to look at it with ip, tcpdump, lb-xdp stats.
        if std::env::var_os("LB_XDP_E2E_HOLD").is_some() {
            let backends: Vec<&str> = self.backends.iter().map(|b| b.ns.name.as_str()).collect();
            eprintln!("holding: client {} router {} director {} backends {backends:?}", self.client.name, self.router.name, self.director_ns.name);
            std::thread::sleep(Duration::from_secs(60));
        }
    }

    fn config_text(&self) -> String {
        let vips: Vec<String> = self
            .config
            .vips
            .iter()
            .map(|vip| {
                let backends: Vec<String> = vip.backends.iter().map(|b| format!("(addr: \"{}\")", b.addr)).collect();
                format!("(addr: \"{}\", port: 80, proto: tcp, backends: [{}])", vip.addr, backends.join(", "))
            })
            .collect();
        format!("(next_hop_mac: \"{}\", src_v4: \"10.2.0.2\", vips: [{}])", self.config.next_hop_mac, vips.join(", "))
    }
}

impl Lab {
    /// Each backend's address and the name its server answers with.
    fn names(&self) -> Vec<(std::net::IpAddr, &'static str)> {
        self.backends.iter().map(|b| (b.addr.parse().unwrap(), b.name)).collect()
    }
}

/// The name of the backend Maglev gives the client's flow from `port` to the IPv4 VIP.
fn expected_name(names: &[(std::net::IpAddr, &'static str)], config: &Config, port: u16) -> &'static str {
    expected_name_for(names, config, 0, (CLIENT, VIP), port)
}

fn expected_name_for(
    names: &[(std::net::IpAddr, &'static str)],
    config: &Config,
    vip: usize,
    (client, vip_addr): (&str, &str),
    port: u16,
) -> &'static str {
    let backend = expected_backend(config, vip, &common::flow(client, vip_addr, port, 80, PROTO_TCP));
    names.iter().find(|n| n.0 == backend).expect("a backend of the lab").1
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config_path);
    }
}

#[test]
fn tcp_through_director_and_decap_with_dsr_and_a_backend_added_mid_run() {
    if !privileged("lb-xdp end to end") {
        return;
    }
    let mut lab = Lab::new(2, &[]);
    lab.start_director();

    // Ten connections or more, each to the backend the Maglev table gives its flow, until
    // both backends served one: the ports are random, so ten alone all go to one backend
    // once in 512 runs.
    let (config, names) = (lab.config.clone(), lab.names());
    let (mut conns, config) = lab.client.run(T, move || {
        let mut conns: Vec<(_, String)> = Vec::new();
        for i in 0..64 {
            let (mut conn, port) = connect();
            let name = ask(&mut conn, &format!("hello {i}"));
            assert_eq!(name, expected_name(&names, &config, port), "connection from port {port}");
            conns.push((conn, name));
            if conns.len() >= 10 && conns.iter().any(|c| c.1 != conns[0].1) {
                break;
            }
        }
        (conns, config)
    });
    let used: std::collections::HashSet<&String> = conns.iter().map(|c| &c.1).collect();
    assert_eq!(used.len(), 2, "both backends serve");

    // The IPv6 VIP: inner IPv6 in GUE proto 41 over IPv4, the backends answer over IPv6.
    let (config6, names6) = (config.clone(), lab.names());
    let answered6 = lab.client.run(T, move || {
        // Eight or more, until both answered (as above).
        let mut answered = std::collections::HashSet::new();
        for i in 0..64 {
            let (mut conn, port) = connect_to(VIP6);
            let name = ask(&mut conn, &format!("v6 {i}"));
            assert_eq!(name, expected_name_for(&names6, &config6, 1, (CLIENT6, VIP6), port), "IPv6 connection from port {port}");
            answered.insert(name);
            if i >= 7 && answered.len() == 2 {
                break;
            }
        }
        answered
    });
    assert_eq!(answered6.len(), 2, "both backends serve the IPv6 VIP: {answered6:?}");

    // A third backend joins while the connections stay open.
    lab.add_backend_host(3);
    let names = lab.names();
    let out = run_lb_xdp(&lab.director_ns, &["backend", "add", "--iface", &lab.director_link.b, "--vip", &format!("{VIP}:80/tcp"), "--backend", "10.3.3.2"]);
    assert!(out.contains("10.3.3.2"), "{out}");
    let mut bigger = config.clone();
    bigger.vips[0].backends.push(lb_xdp::config::BackendConfig { addr: "10.3.3.2".parse().unwrap(), weight: 1 });
    let new_names = lab.client.run(T, move || {
        for (conn, name) in conns.iter_mut() {
            assert_eq!(&ask(conn, "still there?"), name, "an established connection keeps its backend");
        }
        let mut answered = Vec::new();
        for i in 0..30 {
            let (mut conn, port) = connect();
            let name = ask(&mut conn, &format!("new {i}"));
            assert_eq!(name, expected_name(&names, &bigger, port), "new connection from port {port}");
            answered.push(name);
        }
        answered
    });
    assert!(new_names.iter().any(|n| n == "backend-3"), "the new backend gets new flows: {new_names:?}");

    // curl, when installed, gets its answer too.
    if Command::new("curl").arg("--version").output().is_ok() {
        let out = Command::new("ip")
            .args(["netns", "exec", &lab.client.name, "curl", "-sS", "--max-time", "5", &format!("http://{VIP}/")])
            .output()
            .unwrap();
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && body.starts_with("backend-"), "curl: {body} {}", String::from_utf8_lossy(&out.stderr));
    } else if std::env::var_os("CI").is_some() {
        panic!("curl is missing (scripts/setup.sh installs it)");
    }

    // craft's srp1: a SYN to the VIP is answered by the backend's SYN-ACK, from the VIP.
    let router_mac = mac_of(&lab.router, &lab.client_link.a);
    let client_dev = lab.client_link.b.clone();
    let reply = lab.client.run(T, move || {
        let syn = craft::text::parse_expr(&format!(
            "Ether(dst='{router_mac}')/IP(src='{CLIENT}', dst='{VIP}')/TCP(sport=33333, dport=80, flags='S', seq=1000)"
        ))
        .unwrap()
        .remove(0);
        craft::live::srp1(&client_dev, syn, Duration::from_secs(5)).expect("srp1")
    });
    let (reply, rtt) = reply.expect("a SYN-ACK from the VIP");
    let summary = reply.summary();
    assert!(summary.contains(&format!("IP {VIP} > {CLIENT}")) && summary.ends_with("TCP 80 > 33333 SA"), "{summary}");
    assert!(rtt < Duration::from_secs(1));

    // The counters saw it all.
    let stats = run_lb_xdp(&lab.director_ns, &["stats", "--iface", &lab.director_link.b]);
    let count = |text: &str, name: &str| -> u64 {
        text.lines().find_map(|l| l.trim().strip_prefix(name).map(|n| n.trim().parse().unwrap_or(0))).unwrap_or(0)
    };
    assert!(count(&stats, "encap ") > 40 && count(&stats, "lru_hit ") > 0, "{stats}");
    for backend in ["10.3.1.2", "10.3.2.2", "10.3.3.2"] {
        let line = stats.lines().find(|l| l.trim_start().starts_with(backend)).unwrap_or_else(|| panic!("{stats}"));
        assert!(!line.contains(" 0 packets"), "{backend} served nothing: {stats}");
    }
    let decap_stats = run_lb_xdp(&lab.backends[2].ns, &["stats", "--iface", &lab.backends[2].link.b]);
    assert!(count(&decap_stats, "decap_v0 ") > 0, "{decap_stats}");
}

/// Decap redirects into a veth pair inside the backend (as toward a container): the frames
/// leave by one end and arrive at the other, whose MAC they must carry.
#[test]
fn decap_redirects_into_a_veth_with_the_receivers_mac() {
    if !privileged("lb-xdp decap --redirect") {
        return;
    }
    let mut lab = Lab::new(0, &[]);
    let ns = Netns::new("lbb");
    sysctl(&ns, "net.ipv4.conf.all.rp_filter=0");
    sysctl(&ns, "net.ipv4.conf.default.rp_filter=0");
    ns.exec(&["link", "add", "app0", "type", "veth", "peer", "name", "app1"]);
    ns.exec(&["link", "set", "app0", "up"]);
    ns.exec(&["link", "set", "app1", "up"]);
    let app1_mac = mac_of(&ns, "app1");
    // The receiving end needs an XDP program for veth to hand it redirected frames.
    let _pass = Daemon::start(&ns, &["pass", "--iface", "app1"]);
    lab.decap_args = ["--redirect", "app0", "--redirect-mac", app1_mac.as_str()].iter().map(|a| a.to_string()).collect();
    lab.add_backend_host_in(ns, 1);
    lab.config.vips[0].backends.push(lb_xdp::config::BackendConfig { addr: "10.3.1.2".parse().unwrap(), weight: 1 });
    lab.start_director();
    let answers = lab.client.run(T, || {
        (0..5)
            .map(|i| {
                let (mut conn, _) = connect();
                ask(&mut conn, &format!("via app0 {i}"))
            })
            .collect::<Vec<_>>()
    });
    assert!(answers.iter().all(|a| a == "backend-1"), "{answers:?}");
    let backend = &lab.backends[0];
    let stats = run_lb_xdp(&backend.ns, &["stats", "--iface", &backend.link.b]);
    let redirected: u64 =
        stats.lines().find_map(|l| l.trim().strip_prefix("redirect").map(|n| n.trim().parse().unwrap())).unwrap();
    assert!(redirected >= 10, "{stats}");
}
