//! The fentry and fexit programs through the running kernel's verifier and run by it, on a
//! made-up `xdp_buff` — for kernels that refuse trampolines (fentry/fexit), where
//! [`super::XdpWatch`] cannot attach, and as a check of the programs' logic everywhere.
//!
//! The very instructions XdpWatch loads are loaded as raw tracepoint programs (whose
//! `ctx` is also an array of `u64` words; the programs copy it with
//! `bpf_probe_read_kernel`, so the verifier treats it alike in both kinds) and run with
//! BPF_PROG_TEST_RUN on one CPU, `ctx` = the address of a fake `xdp_buff` (and the return
//! value, for fexit). The fake `xdp_buff`, its frame, `xdp_rxq_info`, `net_device` and
//! `net` live in a BPF array map's value, whose kernel address a third program tells us;
//! their member offsets come from the kernel's BTF, as XdpWatch's do. Needs root (or
//! CAP_BPF + CAP_PERFMON); skipped with a message without it, failed under CI.

use std::os::fd::AsRawFd;
use std::time::Duration;

use super::bpf::{self, XdpBuffOffsets};
use super::XdpVerdict;
use crate::explain::asm::{Asm, Size, R0, R1, R10, R2};
use crate::explain::btf::Btf;
use crate::explain::prog::{Offsets, DATA_MAX};
use crate::explain::{sys, Ring};

fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: cannot run privileged test: not root");
    }
    eprintln!("skipping {test}: not root");
    false
}

/// Where the made-up structures sit in the fake map value.
struct Layout {
    xdp: usize,
    rxq: usize,
    frame: usize,
    dev: usize,
    net: usize,
    size: usize,
}

impl Layout {
    fn new(o: &Offsets, x: &XdpBuffOffsets) -> Layout {
        let up = |n: usize| n.div_ceil(64) * 64;
        let xdp = 64;
        let rxq = up(xdp + [x.data, x.data_end, x.rxq].iter().max().copied().unwrap() as usize + 8);
        let frame = up(rxq + x.rxq_dev.max(x.rxq_queue_index) as usize + 8);
        let dev = frame + 1024;
        let net = up(dev + [o.dev_ifindex + 4, o.dev_name + 16, o.dev_nd_net + 8].iter().max().copied().unwrap() as usize);
        let size = up(net + o.net_ns_inum as usize + 4);
        Layout { xdp, rxq, frame, dev, net, size }
    }
}

/// The maps and programs of one run, and the fake value's kernel address.
struct Lab {
    ring: Ring,
    entry: std::os::fd::OwnedFd,
    exit: std::os::fd::OwnedFd,
    _scratch: std::os::fd::OwnedFd,
    fake: sys::Array,
    base: u64,
    o: Offsets,
    x: XdpBuffOffsets,
    l: Layout,
}

const PROG_ID: u32 = 4242;
const IFINDEX: u32 = 77;
const NETNS: u32 = 4026530001;
const QUEUE: u32 = 5;

fn load(insns: &[crate::explain::asm::Insn], name: &str) -> std::os::fd::OwnedFd {
    let mut log = vec![0u8; 1 << 20];
    sys::prog_load(sys::BPF_PROG_TYPE_RAW_TRACEPOINT, insns, name, Some(&mut log)).unwrap_or_else(|e| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        panic!("the verifier refused {name}: {e}\n{}", String::from_utf8_lossy(&log[..end]))
    })
}

impl Lab {
    fn new() -> Lab {
        let btf = Btf::vmlinux().expect("BTF");
        let (o, x) = (Offsets::from_btf(&btf).unwrap(), XdpBuffOffsets::from_btf(&btf).unwrap());
        let l = Layout::new(&o, &x);
        let ring = Ring::create(64 << 10, "craft_xdp_test", "craft_xdp_tlost").expect("ring");
        let scratch = sys::percpu_value_create(bpf::scratch::SIZE as u32, "craft_xdp_tscr").expect("scratch");
        let fake = sys::Array::create(l.size as u32, "craft_xdp_fake").expect("fake map");
        let entry = load(&bpf::build_entry(&x, scratch.as_raw_fd()), "craft_xdp_entry");
        let exit = load(&bpf::build_exit(PROG_ID, &o, &x, scratch.as_raw_fd(), ring.map.as_raw_fd(), ring.lost.as_raw_fd()), "craft_xdp_exit");
        // The fake value's address: a program writes it into the value's first word.
        let mut a = Asm::new();
        a.store_imm(Size::W, R10, -4, 0).load_map_fd(R1, fake.fd.as_raw_fd()).mov(R2, R10).add_imm(R2, -4);
        a.call(1).jeq_imm(R0, 0, "out").store(Size::DW, R0, 0, R0);
        a.label("out");
        a.mov_imm(R0, 0).exit();
        let where_is = load(&a.finish(), "craft_xdp_where");
        sys::prog_test_run_ctx(&where_is, &[0], None).expect("test run");
        let base = u64::from_ne_bytes(fake.lookup().unwrap()[..8].try_into().unwrap());
        assert!(base > 0xffff_0000_0000_0000, "a kernel address: {base:#x}");
        Lab { ring, entry, exit, _scratch: scratch, fake, base, o, x, l }
    }

    /// The fake value with `frame` at `data` = frame area + `headroom`, device on or not.
    fn value(&self, frame: &[u8], headroom: usize, with_dev: bool) -> Vec<u8> {
        let (l, o, x) = (&self.l, &self.o, &self.x);
        let mut v = vec![0u8; l.size];
        let mut put = |at: usize, bytes: &[u8]| v[at..at + bytes.len()].copy_from_slice(bytes);
        let addr = |off: usize| self.base + off as u64;
        let data = addr(l.frame + headroom);
        put(l.xdp + x.data as usize, &data.to_ne_bytes());
        put(l.xdp + x.data_end as usize, &(data + frame.len() as u64).to_ne_bytes());
        if with_dev {
            put(l.xdp + x.rxq as usize, &addr(l.rxq).to_ne_bytes());
        }
        put(l.rxq + x.rxq_dev as usize, &addr(l.dev).to_ne_bytes());
        put(l.rxq + x.rxq_queue_index as usize, &QUEUE.to_ne_bytes());
        put(l.frame + headroom, frame);
        put(l.dev + o.dev_ifindex as usize, &IFINDEX.to_ne_bytes());
        put(l.dev + o.dev_name as usize, b"fake0\0");
        put(l.dev + o.dev_nd_net as usize, &addr(l.net).to_ne_bytes());
        put(l.net + o.net_ns_inum as usize, &NETNS.to_ne_bytes());
        v
    }

    fn xdp_buff(&self) -> u64 {
        self.base + self.l.xdp as u64
    }

    fn fentry(&self, cpu: u32) {
        sys::prog_test_run_ctx(&self.entry, &[self.xdp_buff()], Some(cpu)).expect("run fentry");
    }

    fn fexit(&self, cpu: u32, action: u32) {
        sys::prog_test_run_ctx(&self.exit, &[self.xdp_buff(), action as u64], Some(cpu)).expect("run fexit");
    }

    fn verdicts(&mut self) -> Vec<XdpVerdict> {
        let names = std::collections::HashMap::from([(PROG_ID, "director".to_string())]);
        self.ring.poll(Duration::from_millis(500), |r, out| out.extend(bpf::Record::parse(r).map(|rec| XdpVerdict::from_record(rec, &names))))
            .expect("poll")
    }
}

fn frame() -> Vec<u8> {
    use crate::prelude::*;
    (Ether::new().dst("02:00:00:00:00:02").src("02:00:00:00:00:01")
        / Ip::new().src("10.0.0.1").dst("10.100.0.1").id(0x4242)
        / Tcp::new().sport(40000).dport(80).flags("S")
        / (0..100u8).collect::<Vec<u8>>())
    .build()
}

/// A 154-byte frame (its first [`DATA_MAX`] bytes recorded) encapsulated in place (36 bytes pushed in front, as the director's
/// `bpf_xdp_adjust_head` does), XDP_TX: the entry bytes are the frame that arrived, the
/// exit bytes the encapsulated one, the device and namespace come through rxq->dev.
#[test]
fn fentry_and_fexit_record_a_frame_before_and_after_the_program() {
    if !privileged("fentry_and_fexit_record_a_frame_before_and_after_the_program") {
        return;
    }
    let mut lab = Lab::new();
    let f = frame();
    lab.fake.update(&lab.value(&f, 256, true)).unwrap();
    lab.fentry(0);
    let mut outer: Vec<u8> = (0..36).map(|i| 0xa0 + i as u8).collect();
    outer.extend_from_slice(&f);
    lab.fake.update(&lab.value(&outer, 256 - 36, true)).unwrap();
    lab.fexit(0, 3);
    let v = lab.verdicts();
    assert_eq!(v.len(), 1, "{v:?}");
    let v = &v[0];
    eprintln!("{v}");
    assert_eq!((v.action_name().as_str(), v.prog_id, v.prog_name.as_str()), ("XDP_TX", PROG_ID, "director"));
    assert_eq!((v.ifindex, v.ifname.as_str(), v.netns, v.rx_queue), (IFINDEX, "fake0", NETNS as u64, QUEUE));
    assert_eq!((v.len as usize, v.data.as_slice()), (f.len(), &f[..DATA_MAX]));
    assert_eq!(v.exit_len as usize, outer.len());
    assert_eq!(v.exit_data.as_deref(), Some(&outer[..outer.len().min(DATA_MAX)]));
    assert!(v.run_ns.is_some() && v.time_ns > 0);
    assert_eq!(lab.ring.lost().unwrap(), 0);

    // fexit cleared the entry copy: a frame whose fentry did not run has none.
    lab.fexit(0, 2);
    let v = lab.verdicts();
    assert_eq!(v.len(), 1);
    assert!(v[0].data.is_empty() && v[0].run_ns.is_none(), "{:?}", v[0]);
    assert_eq!(v[0].exit_data.as_deref(), Some(&outer[..outer.len().min(DATA_MAX)]));
}

/// Left as it was (XDP_DROP): no exit bytes. Without `rxq`: no device, still a record.
#[test]
fn an_unchanged_frame_and_a_frame_without_a_device() {
    if !privileged("an_unchanged_frame_and_a_frame_without_a_device") {
        return;
    }
    let mut lab = Lab::new();
    let f = frame();
    lab.fake.update(&lab.value(&f, 256, true)).unwrap();
    lab.fentry(1.min(cpus() - 1));
    lab.fexit(1.min(cpus() - 1), 1);
    lab.fake.update(&lab.value(&f, 256, false)).unwrap();
    lab.fentry(0);
    lab.fexit(0, 2);
    let v = lab.verdicts();
    assert_eq!(v.len(), 2, "{v:?}");
    let (drop, pass) = if v[0].action == 1 { (&v[0], &v[1]) } else { (&v[1], &v[0]) };
    assert_eq!((drop.action_name().as_str(), drop.ifname.as_str(), drop.data.as_slice(), drop.exit_data.as_ref()), ("XDP_DROP", "fake0", &f[..DATA_MAX], None));
    assert_eq!((pass.action_name().as_str(), pass.ifindex, pass.ifname.as_str(), pass.netns, pass.data.as_slice(), pass.exit_data.as_ref()), ("XDP_PASS", 0, "", 0, &f[..DATA_MAX], None));
}

fn cpus() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1)
}

/// What the two programs cost a frame, without the trampoline's own entry and exit code:
/// fentry + fexit run with BPF_PROG_TEST_RUN on a made-up 154-byte frame, each pair timed
/// beside a pair of runs of an empty program (the syscalls' cost), medians compared;
/// records drained every 100 frames (not timed). Prints ns per frame; asserts nothing
/// about time. `cargo test -p craft --lib program_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn program_cost() {
    if !privileged("program_cost") {
        return;
    }
    let mut lab = Lab::new();
    let f = frame();
    lab.fake.update(&lab.value(&f, 256, true)).unwrap();
    let mut a = Asm::new();
    a.mov_imm(R0, 0).exit();
    let empty = load(&a.finish(), "craft_xdp_empty");
    let n = 100_000;
    let (mut progs, mut base) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut seen = 0;
    for i in 0..n {
        let t = std::time::Instant::now();
        lab.fentry(0);
        lab.fexit(0, 3);
        progs.push(t.elapsed().as_nanos() as i64);
        let t = std::time::Instant::now();
        sys::prog_test_run_ctx(&empty, &[lab.xdp_buff()], Some(0)).unwrap();
        sys::prog_test_run_ctx(&empty, &[lab.xdp_buff(), 3], Some(0)).unwrap();
        base.push(t.elapsed().as_nanos() as i64);
        if i % 100 == 99 {
            seen += lab.ring.poll(Duration::ZERO, |r, out: &mut Vec<()>| out.extend(bpf::Record::parse(r).map(|_| ()))).unwrap().len();
        }
    }
    progs.sort_unstable();
    base.sort_unstable();
    let (p, b) = (progs[n / 2], base[n / 2]);
    let lost = lab.ring.lost().unwrap();
    eprintln!("fentry + fexit: {} ns a frame (median pair {p} ns with the syscalls, an empty program's pair {b} ns); {seen} records read, {lost} lost", p - b);
}
