//! Throw-away network namespaces and veth pairs for privileged tests. Names carry the
//! process id and a counter so parallel tests never collide; guards delete what they created
//! when dropped, panics included. Nothing here touches a pre-existing interface.

#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn next_id() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Run `ip` with these arguments; panic with its stderr if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Whether a link has its carrier and a working qdisc (not the noop one of a link down).
fn link_ready(ns: &str, dev: &str) -> bool {
    let out = Command::new("ip").args(["-n", ns, "-o", "link", "show", "dev", dev]).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.contains("LOWER_UP") && !text.contains("qdisc noop") && text.contains("state UP")
}

fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip").args(args).output();
}

/// Whether privileged tests can run. If not: panic when env CI is set, else print why and
/// return false so the test can return early.
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let has_ip = Command::new("ip").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    let reason = if !root {
        "not root"
    } else if !has_ip {
        "the ip command is missing"
    } else {
        return true;
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: cannot run privileged test: {reason}");
    }
    eprintln!("skipping {test}: {reason}");
    false
}

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        let name = format!("{prefix}-{}-{}", std::process::id(), next_id());
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME args...`
    pub fn exec(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// Run `f` on a thread that entered this namespace (setns CLONE_NEWNET): sockets it opens
    /// live in the namespace. Panics in `f` are passed on; gives up after `timeout`.
    pub fn run<T: Send + 'static>(&self, timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            // SAFETY: file is an open namespace file; setns only changes this thread's netns.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            drop(file);
            let out = f();
            let _ = tx.send(());
            out
        });
        match rx.recv_timeout(timeout) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("code in netns {} ran over {timeout:?}", self.name),
        }
    }
}

impl Netns {
    /// Like [`Netns::run`] but returns at once: join the handle for the result. `f` must
    /// bound its own run time.
    pub fn spawn<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.name);
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::thread::spawn(move || {
            // SAFETY: file is an open namespace file; setns only changes this thread's netns.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            drop(file);
            f()
        })
    }

    /// `ip netns exec NAME cmd args...`: Ok(()) or Err(stderr).
    pub fn cmd(&self, cmd: &str, args: &[&str]) -> Result<(), String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, cmd])
            .args(args)
            .output()
            .map_err(|e| format!("{cmd}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{cmd} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip_quiet(&["netns", "del", &self.name]);
    }
}

/// A veth pair whose ends live in namespaces this test created. Deleted on drop (deleting
/// one end deletes both; namespaces going away delete them too).
pub struct VethPair {
    pub a: String,
    pub b: String,
    ns_a: String,
    ns_b: String,
}

impl VethPair {
    /// Create a pair with end `a` in `ns_a` and end `b` in `ns_b` (both down, no address).
    pub fn new(ns_a: &Netns, ns_b: &Netns) -> VethPair {
        let id = format!("{:x}x{}", std::process::id(), next_id());
        let (a, b) = (format!("cv{id}a"), format!("cv{id}b"));
        assert!(a.len() <= 15, "interface name {a} too long");
        // Created directly inside ns_a, so the pair never appears in the caller's namespace.
        ns_a.exec(&["link", "add", &a, "type", "veth", "peer", "name", &b, "netns", &ns_b.name]);
        let pair = VethPair { a, b, ns_a: ns_a.name.clone(), ns_b: ns_b.name.clone() };
        for (ns, dev) in [(&pair.ns_a, &pair.a), (&pair.ns_b, &pair.b)] {
            // No IPv6 chatter (router solicitations, MLD) unless a test asks for it.
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=1")])
                .output();
        }
        pair
    }

    /// Give end a `addr_a` and end b `addr_b` (CIDR, e.g. "10.9.0.1/24") and bring both up.
    pub fn with_addrs(self, addr_a: &str, addr_b: &str) -> VethPair {
        ip(&["-n", &self.ns_a, "addr", "add", addr_a, "dev", &self.a]);
        ip(&["-n", &self.ns_b, "addr", "add", addr_b, "dev", &self.b]);
        self.up()
    }

    /// Turn IPv6 on at both ends and add these addresses (CIDR) without duplicate address
    /// detection, so they are usable at once. Call before `with_addrs`/`up`.
    pub fn with_v6(self, addr_a: &str, addr_b: &str) -> VethPair {
        for (ns, dev, addr) in [(&self.ns_a, &self.a, addr_a), (&self.ns_b, &self.b, addr_b)] {
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=0")])
                .output();
            ip(&["-n", ns, "addr", "add", addr, "dev", dev, "nodad"]);
        }
        self
    }

    /// Bring both ends up, and wait until both can carry frames: until the kernel sees the
    /// carrier and swaps the noop qdisc for the real one, a frame sent is dropped before
    /// any tap sees it (tests that sent at once were flaky).
    pub fn up(self) -> VethPair {
        ip(&["-n", &self.ns_a, "link", "set", &self.a, "up"]);
        ip(&["-n", &self.ns_b, "link", "set", &self.b, "up"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        for (ns, dev) in [(&self.ns_a, &self.a), (&self.ns_b, &self.b)] {
            while !link_ready(ns, dev) {
                assert!(std::time::Instant::now() < deadline, "{dev} in {ns} did not come up within 5 s");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        self
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        ip_quiet(&["-n", &self.ns_a, "link", "del", &self.a]);
    }
}

/// A copy of a binary that nobody may run (the target directory need not be readable by
/// others), run as uid/gid 65534 with no groups and no capabilities; removed on drop.
pub struct AsNobody {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
}

impl AsNobody {
    pub fn new(bin: &str) -> AsNobody {
        use std::os::unix::fs::PermissionsExt;
        let source = std::path::Path::new(bin);
        let dir = std::env::temp_dir().join(format!("noroot-{}-{}", std::process::id(), next_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(source.file_name().expect("a file name"));
        std::fs::copy(source, &copy).unwrap();
        for p in [&dir, &copy] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        AsNobody { dir, bin: copy }
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
            .arg(&self.bin)
            .args(args)
            .output()
            .expect("setpriv (util-linux)")
    }
}

impl Drop for AsNobody {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
