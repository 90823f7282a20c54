//! The XDP tracepoints' program: `xdp_redirect`, `xdp_redirect_err`, `xdp_devmap_xmit`,
//! `xdp_exception` and `xdp_bulk_tx` carry no skb, only a device, the XDP program and
//! counts; one generic program per tracepoint copies them into a small ring buffer record.
//! Which argument is which comes from the tracepoint's BTF (`btf_trace_<name>`).

use std::io;

use crate::explain::asm::{Asm, Insn, Size, R1, R10, R6, R7, R8, R9};
use crate::explain::btf::Btf;
use crate::explain::prog::{probe_read, read_dev, reserve, stamp, submit_and_exit, Offsets};

/// The record layout (offsets in bytes).
pub mod xrec {
    pub const KIND: usize = 0; // u32
    pub const IFINDEX: usize = 4; // u32
    /// u64, CLOCK_MONOTONIC ns: where the skb records have theirs (one `stamp` for all).
    pub const TS: usize = crate::explain::prog::rec::TS;
    pub const NETNS: usize = 16; // u32
    pub const PROG_ID: usize = 20; // u32
    pub const ACT: usize = 24; // u32
    pub const ERR: usize = 28; // i32
    pub const MAP_TYPE: usize = 32; // u32
    pub const MAP_ID: usize = 36; // u32
    pub const INDEX: usize = 40; // u32
    pub const TO_IFINDEX: usize = 44; // u32
    pub const SENT: usize = 48; // i32
    pub const DROPS: usize = 52; // i32
    pub const IFNAME: usize = 56; // [u8; 16]
    pub const TO_IFNAME: usize = 72; // [u8; 16]
    pub const TO_NETNS: usize = 88; // u32, 4 bytes padding
    pub const SIZE: usize = 96;
}

/// Offsets the XDP programs read through, besides the device ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdpOffsets {
    pub prog_aux: u32,
    pub aux_id: u32,
    /// `struct bpf_dtab_netdev`'s `dev` (a devmap entry, what `xdp_redirect`'s `tgt` is
    /// for devmaps).
    pub dtab_dev: u32,
    pub devmap: i32,
    pub devmap_hash: i32,
}

impl XdpOffsets {
    pub fn from_btf(btf: &Btf) -> io::Result<XdpOffsets> {
        let types = btf.enum_values("bpf_map_type")?;
        let value = |name: &str| {
            types.iter().find(|(_, n)| n == name).map(|(v, _)| *v as i32).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, format!("BTF: enum bpf_map_type has no {name}"))
            })
        };
        Ok(XdpOffsets {
            prog_aux: btf.member_sized("bpf_prog", "aux", 8)?,
            aux_id: btf.member_sized("bpf_prog_aux", "id", 4)?,
            dtab_dev: btf.member_sized("bpf_dtab_netdev", "dev", 8)?,
            devmap: value("BPF_MAP_TYPE_DEVMAP")?,
            devmap_hash: value("BPF_MAP_TYPE_DEVMAP_HASH")?,
        })
    }
}

/// Which argument holds what, for one XDP tracepoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XdpArgs {
    pub dev: usize,
    pub to_dev: Option<usize>,
    pub prog: Option<usize>,
    /// `tgt` and `map_type` (xdp_redirect*): the devmap entry the frame went to.
    pub tgt: Option<(usize, usize)>,
    /// (record offset, argument): 32-bit values copied as they are.
    pub scalars: Vec<(usize, usize)>,
    /// A constant `act` (XDP_REDIRECT for the redirect tracepoints).
    pub act: Option<i32>,
}

const XDP_REDIRECT: i32 = 4;

impl XdpArgs {
    /// From `btf_trace_<tp>`'s parameter types (hidden first `void *` included), by the
    /// order of arguments of each type in the kernel's TP_PROTO.
    pub fn from_params(tp: &str, params: &[String]) -> io::Result<XdpArgs> {
        let args: Vec<&str> = params.iter().skip(1).map(|p| p.trim_start_matches("const ")).collect();
        let nth = |ty: &str, n: usize| args.iter().enumerate().filter(|(_, p)| **p == ty).nth(n).map(|(i, _)| i);
        let unexpected = || {
            io::Error::new(io::ErrorKind::Unsupported, format!("tracepoint {tp} has unexpected arguments ({})", params.join(", ")))
        };
        let need = |v: Option<usize>| v.ok_or_else(unexpected);
        let dev = need(nth("struct net_device *", 0))?;
        Ok(match tp {
            // (dev, xdp, tgt, err, map_type, map_id, index)
            "xdp_redirect" | "xdp_redirect_err" => XdpArgs {
                dev,
                prog: Some(need(nth("struct bpf_prog *", 0))?),
                tgt: Some((need(nth("void *", 0))?, need(nth("enum bpf_map_type", 0))?)),
                scalars: vec![
                    (xrec::ERR, need(nth("int", 0))?),
                    (xrec::MAP_TYPE, need(nth("enum bpf_map_type", 0))?),
                    (xrec::MAP_ID, need(nth("u32", 0))?),
                    (xrec::INDEX, need(nth("u32", 1))?),
                ],
                act: Some(XDP_REDIRECT),
                ..XdpArgs::default()
            },
            // (dev, xdp, act)
            "xdp_exception" => XdpArgs {
                dev,
                prog: Some(need(nth("struct bpf_prog *", 0))?),
                scalars: vec![(xrec::ACT, need(nth("u32", 0))?)],
                ..XdpArgs::default()
            },
            // (from_dev, to_dev, sent, drops, err)
            "xdp_devmap_xmit" => XdpArgs {
                dev,
                to_dev: Some(need(nth("struct net_device *", 1))?),
                scalars: vec![
                    (xrec::SENT, need(nth("int", 0))?),
                    (xrec::DROPS, need(nth("int", 1))?),
                    (xrec::ERR, need(nth("int", 2))?),
                ],
                ..XdpArgs::default()
            },
            // (dev, sent, drops, err)
            "xdp_bulk_tx" => XdpArgs {
                dev,
                scalars: vec![
                    (xrec::SENT, need(nth("int", 0))?),
                    (xrec::DROPS, need(nth("int", 1))?),
                    (xrec::ERR, need(nth("int", 2))?),
                ],
                ..XdpArgs::default()
            },
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("no XDP tracepoint {tp}"))),
        })
    }
}

/// The program for one XDP tracepoint, writing records of kind `kind`.
pub fn build(kind: u32, args: &XdpArgs, o: &Offsets, x: &XdpOffsets, ringbuf_fd: i32, lost_fd: i32) -> Vec<Insn> {
    let arg = |i: usize| (8 * i) as i16;
    let mut a = Asm::new();
    a.mov(R6, R1);
    reserve(&mut a, ringbuf_fd, xrec::SIZE, xrec::SIZE);
    a.store_imm(Size::W, R8, xrec::KIND as i16, kind as i32);
    stamp(&mut a);
    if let Some(act) = args.act {
        a.store_imm(Size::W, R8, xrec::ACT as i16, act);
    }
    for &(at, i) in &args.scalars {
        a.load(Size::DW, R1, R6, arg(i)).store(Size::W, R8, at as i16, R1);
    }
    // The program's id: prog->aux->id.
    if let Some(p) = args.prog {
        a.load(Size::DW, R7, R6, arg(p)).jeq_imm(R7, 0, "noprog");
        probe_read(&mut a, R10, -8, 8, R7, x.prog_aux);
        a.load(Size::DW, R7, R10, -8).jeq_imm(R7, 0, "noprog");
        probe_read(&mut a, R8, xrec::PROG_ID as i32, 4, R7, x.aux_id);
        a.label("noprog");
    }
    // The devmap entry's device, for redirects through a devmap.
    if let Some((tgt, map_type)) = args.tgt {
        a.load(Size::DW, R1, R6, arg(map_type));
        a.jeq_imm(R1, x.devmap, "devmap").jeq_imm(R1, x.devmap_hash, "devmap").ja("nodevmap");
        a.label("devmap");
        a.load(Size::DW, R7, R6, arg(tgt)).jeq_imm(R7, 0, "nodevmap");
        probe_read(&mut a, R10, -16, 8, R7, x.dtab_dev);
        a.load(Size::DW, R9, R10, -16);
        read_dev(&mut a, o, R9, (xrec::TO_IFINDEX, xrec::TO_IFNAME, xrec::TO_NETNS), "nodevmap");
        a.label("nodevmap");
    }
    if let Some(to) = args.to_dev {
        a.load(Size::DW, R9, R6, arg(to));
        read_dev(&mut a, o, R9, (xrec::TO_IFINDEX, xrec::TO_IFNAME, xrec::TO_NETNS), "noto");
        a.label("noto");
    }
    a.load(Size::DW, R9, R6, arg(args.dev));
    read_dev(&mut a, o, R9, (xrec::IFINDEX, xrec::IFNAME, xrec::NETNS), "nodev");
    a.label("nodev");
    submit_and_exit(&mut a, lost_fd);
    a.finish()
}

/// An XDP record as the program wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XRecord {
    pub kind: u32,
    pub ts: u64,
    pub ifindex: u32,
    pub ifname: String,
    pub netns: u32,
    pub prog_id: u32,
    pub act: u32,
    pub err: i32,
    pub map_type: u32,
    pub map_id: u32,
    pub index: u32,
    pub to_ifindex: u32,
    pub to_ifname: String,
    pub to_netns: u32,
    pub sent: i32,
    pub drops: i32,
}

impl XRecord {
    pub fn parse(r: &[u8]) -> Option<XRecord> {
        if r.len() < xrec::SIZE {
            return None;
        }
        let u32_at = |o: usize| u32::from_ne_bytes(r[o..o + 4].try_into().unwrap());
        let name = |o: usize| {
            let n = &r[o..o + 16];
            let end = n.iter().position(|&b| b == 0).unwrap_or(16);
            String::from_utf8_lossy(&n[..end]).into_owned()
        };
        Some(XRecord {
            kind: u32_at(xrec::KIND),
            ts: u64::from_ne_bytes(r[xrec::TS..xrec::TS + 8].try_into().unwrap()),
            ifindex: u32_at(xrec::IFINDEX),
            ifname: name(xrec::IFNAME),
            netns: u32_at(xrec::NETNS),
            prog_id: u32_at(xrec::PROG_ID),
            act: u32_at(xrec::ACT),
            err: u32_at(xrec::ERR) as i32,
            map_type: u32_at(xrec::MAP_TYPE),
            map_id: u32_at(xrec::MAP_ID),
            index: u32_at(xrec::INDEX),
            to_ifindex: u32_at(xrec::TO_IFINDEX),
            to_ifname: name(xrec::TO_IFNAME),
            to_netns: u32_at(xrec::TO_NETNS),
            sent: u32_at(xrec::SENT) as i32,
            drops: u32_at(xrec::DROPS) as i32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_by_type_order() {
        let redirect = p(&["void *", "const struct net_device *", "const struct bpf_prog *", "const void *", "int", "enum bpf_map_type", "u32", "u32"]);
        let a = XdpArgs::from_params("xdp_redirect", &redirect).unwrap();
        assert_eq!((a.dev, a.prog, a.tgt), (0, Some(1), Some((2, 4))));
        assert_eq!(a.scalars, vec![(xrec::ERR, 3), (xrec::MAP_TYPE, 4), (xrec::MAP_ID, 5), (xrec::INDEX, 6)]);
        let devmap = p(&["void *", "const struct net_device *", "const struct net_device *", "int", "int", "int"]);
        let a = XdpArgs::from_params("xdp_devmap_xmit", &devmap).unwrap();
        assert_eq!((a.dev, a.to_dev), (0, Some(1)));
        assert_eq!(a.scalars, vec![(xrec::SENT, 2), (xrec::DROPS, 3), (xrec::ERR, 4)]);
        assert!(XdpArgs::from_params("xdp_exception", &p(&["void *", "int"])).is_err());
    }
}
