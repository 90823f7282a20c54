//! The path a packet took before it was dropped (or delivered): every interface and network
//! namespace where the kernel saw it, from the tracepoints `net:netif_receive_skb` (rx),
//! `net:net_dev_start_xmit` (tx) and the XDP ones (`xdp:xdp_redirect`, `xdp_redirect_err`,
//! `xdp_devmap_xmit`, `xdp_exception`, `xdp_bulk_tx`).
//!
//! ```no_run
//! use std::time::Duration;
//! use craft::explain::{trace::{PathWatch, build_path, netns_names}, DropWatch};
//! # let sent: craft::packet::Packet = unimplemented!();
//! let mut hops = PathWatch::start()?;   // root: CAP_BPF + CAP_PERFMON
//! let mut drops = DropWatch::start()?;
//! // ... send `sent` ...
//! let (h, d) = (hops.poll(Duration::from_secs(1))?, drops.poll(Duration::from_millis(100))?);
//! let path = build_path(&sent, &h, &d);
//! println!("{}", path.render(&netns_names()));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! How: the drop watcher's program, made generic over the tracepoint and the argument that
//! holds the skb ([`super::prog::SkbProg`]), copies for each skb the device, its namespace,
//! the protocol, the MAC header and the first bytes from `skb->data`, with a kind and a
//! CLOCK_MONOTONIC timestamp (the same clock and record field as the drops',
//! [`super::prog::rec::TS`], so a path orders hops and drops together); the XDP
//! tracepoints, which carry no skb, record their device, program id, action, error, target
//! device and counts ([`xdp`]). All programs share one
//! ring buffer. `net:net_dev_xmit` is not used: it fires after the driver took the skb,
//! which may be freed by then (its bytes cannot be read safely), so it could not be
//! matched to a packet. [`build_path`] (pure, no root) selects the events of one packet
//! by its headers and says how it changed between hops.

pub mod path;
pub mod xdp;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::btf::Btf;
use super::prog::{self, CopyFrom, SkbProg, Word};
use super::{load, needs_root, sys, Ring};
use crate::packet::{LayerKind, Packet};

pub use super::netns::netns_names;
pub use path::{build_path, build_path_of, Path, PacketKey, Step, StepKind};

/// What a hop event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HopKind {
    /// `netif_receive_skb`: the device received it (after XDP, before the IP layer).
    Rx,
    /// `net_dev_start_xmit`: handed to the device's driver.
    Tx,
    /// `xdp_redirect`: an XDP program redirected a frame arriving on the device.
    XdpRedirect,
    /// `xdp_redirect_err`: the redirect failed (`err`).
    XdpRedirectErr,
    /// `xdp_devmap_xmit`: redirected frames sent from the device to `to_ifindex`.
    XdpDevmapXmit,
    /// `xdp_exception`: XDP_ABORTED, an invalid action, or an XDP_TX that failed.
    XdpException,
    /// `xdp_bulk_tx`: frames an XDP program sent back out (XDP_TX), and how many were lost.
    XdpBulkTx,
}

impl HopKind {
    const SKB: [(HopKind, &'static str); 2] = [(HopKind::Rx, "netif_receive_skb"), (HopKind::Tx, "net_dev_start_xmit")];
    const XDP: [(HopKind, &'static str); 5] = [
        (HopKind::XdpRedirect, "xdp_redirect"),
        (HopKind::XdpRedirectErr, "xdp_redirect_err"),
        (HopKind::XdpDevmapXmit, "xdp_devmap_xmit"),
        (HopKind::XdpException, "xdp_exception"),
        (HopKind::XdpBulkTx, "xdp_bulk_tx"),
    ];

    fn code(self) -> u32 {
        match self {
            HopKind::Rx => 1,
            HopKind::Tx => 2,
            HopKind::XdpRedirect => 16,
            HopKind::XdpRedirectErr => 17,
            HopKind::XdpDevmapXmit => 18,
            HopKind::XdpException => 19,
            HopKind::XdpBulkTx => 20,
        }
    }

    fn from_code(c: u32) -> Option<HopKind> {
        Self::SKB.iter().chain(Self::XDP.iter()).map(|(k, _)| *k).find(|k| k.code() == c)
    }

    /// Whether events of this kind carry the packet's bytes.
    pub fn has_packet(self) -> bool {
        matches!(self, HopKind::Rx | HopKind::Tx)
    }

    /// "rx", "tx", "xdp_redirect"...
    pub fn name(self) -> &'static str {
        match self {
            HopKind::Rx => "rx",
            HopKind::Tx => "tx",
            HopKind::XdpRedirect => "xdp_redirect",
            HopKind::XdpRedirectErr => "xdp_redirect_err",
            HopKind::XdpDevmapXmit => "xdp_devmap_xmit",
            HopKind::XdpException => "xdp_exception",
            HopKind::XdpBulkTx => "xdp_bulk_tx",
        }
    }
}

/// What an XDP tracepoint said (fields a tracepoint does not have are 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XdpInfo {
    /// The XDP program's id (`bpftool prog show id N`); 0 for devmap_xmit and bulk_tx.
    pub prog_id: u32,
    /// The XDP action: 4 (XDP_REDIRECT) for redirects, the offending one for exceptions.
    pub act: u32,
    pub err: i32,
    pub map_type: u32,
    pub map_id: u32,
    pub index: u32,
    /// Where the frame went: the redirect's target (`bpf_redirect`'s ifindex or a
    /// devmap entry's device) or devmap_xmit's `to_dev`; 0 when unknown.
    pub to_ifindex: u32,
    /// The target's name and namespace, when the tracepoint had the device.
    pub to_ifname: String,
    pub to_netns: u64,
    pub sent: i32,
    pub drops: i32,
}

/// The XDP action's name: "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT".
pub fn xdp_action_name(act: u32) -> String {
    match act {
        0 => "XDP_ABORTED".into(),
        1 => "XDP_DROP".into(),
        2 => "XDP_PASS".into(),
        3 => "XDP_TX".into(),
        4 => "XDP_REDIRECT".into(),
        n => format!("action {n}"),
    }
}

/// One place where the kernel saw a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopEvent {
    pub kind: HopKind,
    /// CLOCK_MONOTONIC nanoseconds (`bpf_ktime_get_ns`).
    pub ts: u64,
    pub ifindex: u32,
    pub ifname: String,
    /// Inode of the device's network namespace (0 without a device).
    pub netns: u64,
    /// `skb->protocol` (host order); 0 for XDP events.
    pub protocol: u16,
    /// `skb->len`; 0 for XDP events.
    pub len: u32,
    /// Up to [`super::DATA_MAX`] bytes from the network header on (the Ethernet header,
    /// if any, is in `mac`); empty for XDP events.
    pub data: Vec<u8>,
    /// The Ethernet header, for devices that have one.
    pub mac: Option<[u8; 14]>,
    /// The XDP tracepoint's fields, for XDP events.
    pub xdp: Option<XdpInfo>,
}

impl HopEvent {
    /// The packet from its network header on (IP, IPv6 or Raw), as [`super::DropEvent::packet`].
    pub fn packet(&self) -> Packet {
        Packet::dissect(&self.data, l3_kind(self.protocol, &self.data))
    }

    /// The frame: Ether and what follows when the MAC header is known, else [`HopEvent::packet`].
    pub fn frame(&self) -> Packet {
        match self.mac {
            Some(mac) => {
                let mut bytes = mac.to_vec();
                bytes.extend_from_slice(&self.data);
                Packet::dissect(&bytes, LayerKind::Ether)
            }
            None => self.packet(),
        }
    }
}

/// How to dissect bytes from a network header with this `skb->protocol`; by the version
/// nibble when the protocol says nothing (ETH_P_ALL from packet sockets).
pub(crate) fn l3_kind(protocol: u16, data: &[u8]) -> LayerKind {
    match protocol {
        0x0800 => LayerKind::Ip,
        0x86dd => LayerKind::Ipv6,
        _ => match data.first().map(|b| b >> 4) {
            Some(4) if protocol == 0 || protocol == 3 => LayerKind::Ip,
            Some(6) if protocol == 0 || protocol == 3 => LayerKind::Ipv6,
            _ => LayerKind::Raw,
        },
    }
}

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;

/// A skb record as a hop: the bytes were copied from `skb->data`, which is the Ethernet
/// header at transmit and the network header at receive.
fn skb_hop(kind: HopKind, r: prog::Record) -> HopEvent {
    let ether = matches!(r.dev_type, ARPHRD_ETHER | ARPHRD_LOOPBACK);
    let at_mac = r.mac_header == 0xffff || r.data_offset == r.mac_header as u64;
    let (mac, data) = if ether && at_mac && kind == HopKind::Tx && r.data.len() >= 14 {
        (Some(r.data[..14].try_into().unwrap()), r.data[14..].to_vec())
    } else if ether && !at_mac {
        (r.mac, r.data)
    } else {
        (None, r.data)
    };
    HopEvent {
        kind,
        ts: r.ts,
        ifindex: r.ifindex,
        ifname: r.ifname,
        netns: r.netns as u64,
        protocol: r.protocol,
        len: r.len,
        data,
        mac,
        xdp: None,
    }
}

fn xdp_hop(kind: HopKind, r: xdp::XRecord) -> HopEvent {
    // bpf_redirect(ifindex) traces map_type UNSPEC, map_id INT_MAX and the ifindex as index.
    let to_ifindex = if r.to_ifindex == 0 && r.map_type == 0 && r.map_id == i32::MAX as u32 { r.index } else { r.to_ifindex };
    HopEvent {
        kind,
        ts: r.ts,
        ifindex: r.ifindex,
        ifname: r.ifname,
        netns: r.netns as u64,
        protocol: 0,
        len: 0,
        data: Vec::new(),
        mac: None,
        xdp: Some(XdpInfo {
            prog_id: r.prog_id,
            act: r.act,
            err: r.err,
            map_type: r.map_type,
            map_id: r.map_id,
            index: r.index,
            to_ifindex,
            to_ifname: r.to_ifname,
            to_netns: r.to_netns as u64,
            sent: r.sent,
            drops: r.drops,
        }),
    }
}

fn parse(r: &[u8]) -> Option<HopEvent> {
    let code = u32::from_ne_bytes(r.get(..4)?.try_into().ok()?);
    let kind = HopKind::from_code(code)?;
    if kind.has_packet() {
        prog::Record::parse_from(r, CopyFrom::Data).map(|rec| skb_hop(kind, rec))
    } else {
        xdp::XRecord::parse(r).map(|rec| xdp_hop(kind, rec))
    }
}

/// One attached program: the link first, so it detaches before the program closes.
struct Attached {
    _link: OwnedFd,
    _prog: OwnedFd,
}

/// Watches where packets go on the whole host (every namespace) until dropped: every
/// program detached and every descriptor and mapping released, on panics too.
pub struct PathWatch {
    // Field order is drop order: detach first, then the ring buffer.
    _progs: Vec<Attached>,
    ring: Ring,
    missing: Vec<String>,
}

/// Ring buffer bytes one skb hop takes (record and header).
pub const HOP_RECORD_SIZE: usize = prog::rec::SIZE + 8;

const RINGBUF_SIZE: usize = 2 << 20;

impl PathWatch {
    /// Load and attach, with a 2 MiB ring buffer (about 9,000 skb hops between two polls).
    pub fn start() -> io::Result<PathWatch> {
        PathWatch::with_ring_size(RINGBUF_SIZE)
    }

    /// Like [`PathWatch::start`] with a ring buffer of `bytes` (a power of two, at least
    /// the page size); each skb hop takes [`HOP_RECORD_SIZE`] of it.
    pub fn with_ring_size(bytes: usize) -> io::Result<PathWatch> {
        let btf = Btf::vmlinux()?;
        let offsets = prog::Offsets::from_btf(&btf)?;
        let mut skb_progs = Vec::new();
        for (kind, tp) in HopKind::SKB {
            let params = btf.fn_ptr_params(&format!("btf_trace_{tp}"))?;
            let skb = params.iter().skip(1).position(|p| p.trim_start_matches("const ") == "struct sk_buff *").ok_or_else(|| {
                io::Error::new(io::ErrorKind::Unsupported, format!("tracepoint {tp} has no skb argument ({})", params.join(", ")))
            })?;
            skb_progs.push((tp, SkbProg { skb, tag: Word::Imm(kind.code() as i32), word: Word::Imm(0), copy: CopyFrom::Data }));
        }
        // The XDP tracepoints are a bonus: a kernel without one still traces skbs.
        let mut missing = Vec::new();
        let xoff = xdp::XdpOffsets::from_btf(&btf);
        let mut xdp_progs = Vec::new();
        for (kind, tp) in HopKind::XDP {
            let args = btf.fn_ptr_params(&format!("btf_trace_{tp}")).and_then(|p| xdp::XdpArgs::from_params(tp, &p));
            match (args, &xoff) {
                (Ok(args), Ok(x)) => xdp_progs.push((kind, tp, args, *x)),
                (Err(e), _) => missing.push(format!("{tp}: {e}")),
                (_, Err(e)) => missing.push(format!("{tp}: {e}")),
            }
        }
        drop(btf);

        let ring = Ring::create(bytes, "craft_path", "craft_path_lost")?;
        let (map, lost) = (ring.map.as_raw_fd(), ring.lost.as_raw_fd());
        let mut progs = Vec::new();
        for (tp, p) in skb_progs {
            let insns = prog::build_skb(&p, &offsets, map, lost);
            let fd = load(&insns, "craft_path")?;
            let link = sys::raw_tracepoint_open(tp, &fd).map_err(|e| needs_root(&format!("attaching to the {tp} tracepoint"), e))?;
            progs.push(Attached { _link: link, _prog: fd });
        }
        for (kind, tp, args, x) in xdp_progs {
            let insns = xdp::build(kind.code(), &args, &offsets, &x, map, lost);
            let attached = load(&insns, "craft_path_xdp").and_then(|fd| {
                let link = sys::raw_tracepoint_open(tp, &fd).map_err(|e| needs_root(&format!("attaching to the {tp} tracepoint"), e))?;
                Ok(Attached { _link: link, _prog: fd })
            });
            match attached {
                Ok(a) => progs.push(a),
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(e),
                Err(e) => missing.push(format!("{tp}: {e}")),
            }
        }
        Ok(PathWatch { _progs: progs, ring, missing })
    }

    /// The hops recorded so far, in the order the ring buffer has them (by time, per CPU);
    /// if none, waits up to `timeout` for some.
    pub fn poll(&mut self, timeout: Duration) -> io::Result<Vec<HopEvent>> {
        self.ring.poll(timeout, |r, out| out.extend(parse(r)))
    }

    /// Events the kernel had no ring buffer room for: nonzero means a path may miss hops.
    pub fn lost(&self) -> io::Result<u64> {
        self.ring.lost()
    }

    /// The XDP tracepoints this kernel would not let us watch, with why (normally none).
    pub fn missing(&self) -> &[String] {
        &self.missing
    }
}
