//! The drop watcher's BPF program: a raw tracepoint on `kfree_skb` that copies the drop
//! reason, the caller's address, a CLOCK_MONOTONIC timestamp, the device, the network
//! namespace and the packet's first bytes into a ring buffer record. Kernel structure
//! offsets come from BTF at load time.
//!
//! The program is generic ([`SkbProg`]): which tracepoint argument holds the skb, what goes
//! in the record's two tag words and where the bytes are copied from; the path tracer
//! (`explain::trace`) loads it on `netif_receive_skb` and `net_dev_start_xmit` too. Every
//! record (the XDP tracepoints' too, `trace::xdp`) carries its `bpf_ktime_get_ns()` at
//! [`rec::TS`], written by `stamp`: drops and hops are ordered by one clock.

use std::io;

use super::asm::{Asm, Insn, Size, R0, R1, R10, R2, R3, R6, R7, R8, R9};
use super::btf::Btf;

/// Bytes copied from the network header on.
pub const DATA_MAX: usize = 128;

/// The record layout the program writes and [`Record::parse`] reads (offsets in bytes).
pub mod rec {
    pub const REASON: usize = 0; // u32
    pub const IFINDEX: usize = 4; // u32
    /// u64: CLOCK_MONOTONIC ns (`bpf_ktime_get_ns`) when the tracepoint fired; at the same
    /// offset in the XDP tracepoints' records (`trace::xdp::xrec::TS`).
    pub const TS: usize = 8; // u64
    pub const NETNS: usize = 16; // u32
    pub const LEN: usize = 20; // u32
    pub const PROTOCOL: usize = 24; // u16, network order
    pub const NETWORK_HEADER: usize = 26; // u16
    pub const MAC_HEADER: usize = 28; // u16
    pub const HEAD: usize = 32; // u64
    pub const DATA: usize = 40; // u64
    pub const DATA_LEN: usize = 48; // u32
    pub const IFNAME: usize = 56; // [u8; 16]
    pub const MAC: usize = 72; // [u8; 14]
    pub const DEV_TYPE: usize = 86; // u16: the device's ARPHRD_* type
    pub const LOCATION: usize = 88; // u64: the program's second word (SkbProg::word)
    pub const PKT: usize = 96; // [u8; DATA_MAX]
    pub const SIZE: usize = PKT + super::DATA_MAX;
    /// The scalar part zeroed first, so a skipped read leaves zeros.
    pub const ZEROED: usize = PKT;
}

/// Which raw tracepoint argument holds what (the kernel's `btf_trace_kfree_skb` order,
/// without its hidden first `void *`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TpArgs {
    pub skb: usize,
    pub location: usize,
    pub reason: usize,
}

impl TpArgs {
    /// From the parameter type names of `btf_trace_kfree_skb`: the skb is the
    /// `struct sk_buff *`, the reason the `enum skb_drop_reason`, the location the first
    /// `void *` after the hidden one.
    pub fn from_params(params: &[String]) -> io::Result<TpArgs> {
        let args = params.get(1..).unwrap_or(&[]);
        let find = |want: &str| args.iter().position(|p| p == want);
        match (find("struct sk_buff *"), find("void *"), find("enum skb_drop_reason")) {
            (Some(skb), Some(location), Some(reason)) => Ok(TpArgs { skb, location, reason }),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("kfree_skb tracepoint has unexpected arguments ({}): craft explain needs skb, location, reason", params.join(", ")),
            )),
        }
    }
}

/// Kernel structure offsets the program reads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub skb_len: u32,
    pub skb_data_len: u32,
    pub skb_protocol: u32,
    pub skb_network_header: u32,
    pub skb_mac_header: u32,
    pub skb_head: u32,
    pub skb_data: u32,
    pub skb_dev: u32,
    pub dev_ifindex: u32,
    pub dev_name: u32,
    pub dev_nd_net: u32,
    pub net_ns_inum: u32,
    pub dev_type: u32,
}

impl Offsets {
    pub fn from_btf(btf: &Btf) -> io::Result<Offsets> {
        Ok(Offsets {
            skb_len: btf.member_sized("sk_buff", "len", 4)?,
            skb_data_len: btf.member_sized("sk_buff", "data_len", 4)?,
            skb_protocol: btf.member_sized("sk_buff", "protocol", 2)?,
            skb_network_header: btf.member_sized("sk_buff", "network_header", 2)?,
            skb_mac_header: btf.member_sized("sk_buff", "mac_header", 2)?,
            skb_head: btf.member_sized("sk_buff", "head", 8)?,
            skb_data: btf.member_sized("sk_buff", "data", 8)?,
            skb_dev: btf.member_sized("sk_buff", "dev", 8)?,
            dev_ifindex: btf.member_sized("net_device", "ifindex", 4)?,
            dev_name: btf.member_sized("net_device", "name", 16)?,
            dev_nd_net: btf.member_sized("net_device", "nd_net.net", 8)?,
            net_ns_inum: btf.member_sized("net", "ns.inum", 4)?,
            dev_type: btf.member_sized("net_device", "type", 2)?,
        })
    }
}

const HELPER_MAP_LOOKUP_ELEM: i32 = 1;
const HELPER_KTIME_GET_NS: i32 = 5;
const HELPER_PROBE_READ_KERNEL: i32 = 113;
const HELPER_RINGBUF_RESERVE: i32 = 131;
const HELPER_RINGBUF_SUBMIT: i32 = 132;
/// `bpf_ringbuf_submit` flag: do not wake the reader.
const BPF_RB_NO_WAKEUP: i32 = 1;

/// `bpf_probe_read_kernel(dst + dst_off, size, src + src_off)`; clobbers r0-r5.
pub(crate) fn probe_read(a: &mut Asm, dst: u8, dst_off: i32, size: i32, src: u8, src_off: u32) {
    a.mov(R1, dst).add_imm(R1, dst_off).mov_imm(R2, size).mov(R3, src).add_imm(R3, src_off as i32);
    a.call(HELPER_PROBE_READ_KERNEL);
}

/// Stack bytes [`read_fields`] may read a struct's span into.
const SPAN_MAX: u32 = 256;

/// Copy fields `(record offset, size, offset in the struct at src)` into the record at r8.
/// One `bpf_probe_read_kernel` of the span that holds them all, onto the stack, then
/// plain loads and stores: each helper call costs ~15 ns per drop, and these fields of
/// `sk_buff` sit within ~100 bytes. Fields spread wider are read one by one.
/// r0-r5 clobbered; stack -SPAN_MAX-32..-32 used.
pub(crate) fn read_fields(a: &mut Asm, src: u8, fields: &[(usize, Size, u32)]) {
    let width = |s: Size| match s {
        Size::B => 1,
        Size::H => 2,
        Size::W => 4,
        Size::DW => 8,
    };
    // From an 8-byte boundary: stack loads must be aligned to their size.
    let lo = fields.iter().map(|f| f.2).min().unwrap_or(0) & !7;
    let hi = fields.iter().map(|f| f.2 + width(f.1)).max().unwrap_or(0);
    if hi - lo > SPAN_MAX {
        for &(dst, size, off) in fields {
            probe_read(a, R8, dst as i32, width(size) as i32, src, off);
        }
        return;
    }
    let base = -(SPAN_MAX as i32) - 32;
    probe_read(a, R10, base, (hi - lo) as i32, src, lo);
    for &(dst, size, off) in fields {
        a.load(size, R1, R10, (base + (off - lo) as i32) as i16).store(size, R8, dst as i16, R1);
    }
}

/// A 32- or 64-bit value the program writes into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// The tracepoint's argument number n (after the hidden first one).
    Arg(usize),
    /// A constant.
    Imm(i32),
}

/// Where the copied bytes start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFrom {
    /// `skb->head + skb->network_header` (the drop watcher: the skb went through the stack).
    NetworkHeader,
    /// `skb->data`: the frame at transmit, the network header at receive (the network
    /// header may be stale there).
    Data,
}

/// What a generic skb-copying program records: the skb argument, the record's
/// [`rec::REASON`] word (32 bits) and [`rec::LOCATION`] word (64 bits), and where the
/// bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkbProg {
    pub skb: usize,
    pub tag: Word,
    pub word: Word,
    pub copy: CopyFrom,
}

/// The drop watcher's program, for a ring buffer map `ringbuf_fd` and a one-u64 array map
/// `lost_fd` counting the drops the full ring buffer had no room for.
pub fn build(args: TpArgs, o: &Offsets, ringbuf_fd: i32, lost_fd: i32) -> Vec<Insn> {
    let p = SkbProg { skb: args.skb, tag: Word::Arg(args.reason), word: Word::Arg(args.location), copy: CopyFrom::NetworkHeader };
    build_skb(&p, o, ringbuf_fd, lost_fd)
}

/// `dst = word`; `ctx` holds the context.
fn load_word(a: &mut Asm, w: Word, dst: u8, ctx: u8) {
    match w {
        Word::Arg(i) => {
            a.load(Size::DW, dst, ctx, (8 * i) as i16);
        }
        Word::Imm(v) => {
            a.mov_imm(dst, v);
        }
    }
}

/// The record at r8 gets `bpf_ktime_get_ns()` at [`rec::TS`]: the one way every explain
/// program timestamps its records. r0-r5 clobbered.
pub(crate) fn stamp(a: &mut Asm) {
    a.call(HELPER_KTIME_GET_NS).store(Size::DW, R8, rec::TS as i16, R0);
}

/// Reserve a `size`-byte ring buffer record into r8, zeroing its first `zeroed` bytes;
/// jumps to "full" when there is no room.
pub(crate) fn reserve(a: &mut Asm, ringbuf_fd: i32, size: usize, zeroed: usize) {
    a.load_map_fd(R1, ringbuf_fd).mov_imm(R2, size as i32).mov_imm(R3, 0).call(HELPER_RINGBUF_RESERVE);
    a.jeq_imm(R0, 0, "full").mov(R8, R0);
    for off in (0..zeroed).step_by(8) {
        a.store_imm(Size::DW, R8, off as i16, 0);
    }
}

/// Submit r8 without waking the reader, and the "full" path counting what did not fit;
/// ends the program. The reader polls on a timer ([`super::Ring`]): a wakeup per record
/// (the ring buffer's default whenever the reader has caught up) costs the dropping CPU
/// ~2 µs per drop in irq_work and a context switch, three times the drop itself.
pub(crate) fn submit_and_exit(a: &mut Asm, lost_fd: i32) {
    a.mov(R1, R8).mov_imm(R2, BPF_RB_NO_WAKEUP).call(HELPER_RINGBUF_SUBMIT).ja("out");
    // No room: count it, so the reader knows it missed events.
    a.label("full");
    a.store_imm(Size::W, R10, -4, 0).load_map_fd(R1, lost_fd).mov(R2, R10).add_imm(R2, -4);
    a.call(HELPER_MAP_LOOKUP_ELEM).jeq_imm(R0, 0, "out");
    a.mov_imm(R1, 1).atomic_add64(R0, 0, R1);
    a.label("out");
    a.mov_imm(R0, 0).exit();
}

/// Read `struct net_device *` in `dev` (r9 clobbered, stack -24..-16 used) into the record
/// at r8: index, name, namespace inode (`dev->nd_net.net->ns.inum`); jumps to `done` when
/// a pointer on the way is NULL. r0-r5 clobbered.
pub(crate) fn read_dev(a: &mut Asm, o: &Offsets, dev: u8, at: (usize, usize, usize), done: &'static str) {
    let (ifindex, name, netns) = at;
    if dev != R9 {
        a.mov(R9, dev);
    }
    a.jeq_imm(R9, 0, done);
    probe_read(a, R8, ifindex as i32, 4, R9, o.dev_ifindex);
    probe_read(a, R8, name as i32, 16, R9, o.dev_name);
    probe_read(a, R10, -24, 8, R9, o.dev_nd_net);
    a.load(Size::DW, R9, R10, -24).jeq_imm(R9, 0, done);
    probe_read(a, R8, netns as i32, 4, R9, o.net_ns_inum);
}

/// The generic skb program (see [`SkbProg`]).
pub fn build_skb(p: &SkbProg, o: &Offsets, ringbuf_fd: i32, lost_fd: i32) -> Vec<Insn> {
    let arg = |i: usize| (8 * i) as i16;
    let mut a = Asm::new();
    // r6 = ctx (u64 args[]), r7 = skb.
    a.mov(R6, R1).load(Size::DW, R7, R6, arg(p.skb)).jeq_imm(R7, 0, "out");
    // r8 = a ring buffer record, or give up (the buffer is full).
    reserve(&mut a, ringbuf_fd, rec::SIZE, rec::ZEROED);
    stamp(&mut a);
    load_word(&mut a, p.tag, R1, R6);
    a.store(Size::W, R8, rec::REASON as i16, R1);
    load_word(&mut a, p.word, R1, R6);
    a.store(Size::DW, R8, rec::LOCATION as i16, R1);
    // The skb's scalar fields into the record.
    read_fields(
        &mut a,
        R7,
        &[
            (rec::LEN, Size::W, o.skb_len),
            (rec::DATA_LEN, Size::W, o.skb_data_len),
            (rec::PROTOCOL, Size::H, o.skb_protocol),
            (rec::NETWORK_HEADER, Size::H, o.skb_network_header),
            (rec::MAC_HEADER, Size::H, o.skb_mac_header),
            (rec::HEAD, Size::DW, o.skb_head),
            (rec::DATA, Size::DW, o.skb_data),
        ],
    );
    // The device: index, name, type, namespace (dev->nd_net.net->ns.inum).
    probe_read(&mut a, R10, -8, 8, R7, o.skb_dev);
    a.load(Size::DW, R9, R10, -8).jeq_imm(R9, 0, "nodev");
    probe_read(&mut a, R8, rec::DEV_TYPE as i32, 2, R9, o.dev_type);
    read_dev(&mut a, o, R9, (rec::IFINDEX, rec::IFNAME, rec::NETNS), "nodev");
    a.label("nodev");
    // The bytes: head + mac_header (when set), then head + network_header (when set) or data.
    a.load(Size::DW, R9, R8, rec::HEAD as i16).jeq_imm(R9, 0, "submit");
    a.load(Size::H, R1, R8, rec::MAC_HEADER as i16).jeq_imm(R1, 0xffff, "nomac");
    a.mov(R3, R9).add(R3, R1).mov(R1, R8).add_imm(R1, rec::MAC as i32).mov_imm(R2, 14);
    a.call(HELPER_PROBE_READ_KERNEL);
    a.label("nomac");
    match p.copy {
        CopyFrom::NetworkHeader => {
            a.load(Size::H, R1, R8, rec::NETWORK_HEADER as i16).jeq_imm(R1, 0xffff, "submit");
            a.mov(R3, R9).add(R3, R1).mov(R1, R8).add_imm(R1, rec::PKT as i32).mov_imm(R2, DATA_MAX as i32);
            a.call(HELPER_PROBE_READ_KERNEL);
            a.jeq_imm(R0, 0, "submit");
            // The read failed (the kernel zeroed the bytes): say so with an impossible header.
            a.store_imm(Size::H, R8, rec::NETWORK_HEADER as i16, 0xffff);
        }
        CopyFrom::Data => {
            a.load(Size::DW, R3, R8, rec::DATA as i16).jeq_imm(R3, 0, "submit");
            a.mov(R1, R8).add_imm(R1, rec::PKT as i32).mov_imm(R2, DATA_MAX as i32);
            a.call(HELPER_PROBE_READ_KERNEL);
            a.jeq_imm(R0, 0, "submit");
            // The read failed: no bytes.
            a.store_imm(Size::DW, R8, rec::DATA as i16, 0);
        }
    }
    a.label("submit");
    submit_and_exit(&mut a, lost_fd);
    a.finish()
}

/// A ring buffer record as the program wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub reason: u32,
    pub ifindex: u32,
    /// CLOCK_MONOTONIC ns when the tracepoint fired ([`rec::TS`]).
    pub ts: u64,
    pub location: u64,
    pub netns: u32,
    pub len: u32,
    pub data_len: u32,
    pub protocol: u16,
    pub ifname: String,
    pub mac: Option<[u8; 14]>,
    /// From the network header (or `skb->data`, see [`CopyFrom`]) on, cut to what the
    /// skb's linear part holds.
    pub data: Vec<u8>,
    /// The device's `ARPHRD_*` type (1 Ethernet, 772 loopback; 0 without a device).
    pub dev_type: u16,
    /// `skb->data - skb->head`, and `skb->mac_header` (0xffff: unset).
    pub data_offset: u64,
    pub mac_header: u16,
}

impl Record {
    /// A record of the drop watcher's program ([`CopyFrom::NetworkHeader`]).
    pub fn parse(r: &[u8]) -> Option<Record> {
        Record::parse_from(r, CopyFrom::NetworkHeader)
    }

    /// A record of a program copying as `copy` says.
    pub fn parse_from(r: &[u8], copy: CopyFrom) -> Option<Record> {
        if r.len() < rec::SIZE {
            return None;
        }
        let u16_at = |o: usize| u16::from_ne_bytes([r[o], r[o + 1]]);
        let u32_at = |o: usize| u32::from_ne_bytes(r[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_ne_bytes(r[o..o + 8].try_into().unwrap());
        let (head, data_ptr) = (u64_at(rec::HEAD), u64_at(rec::DATA));
        let (len, data_len) = (u32_at(rec::LEN), u32_at(rec::DATA_LEN));
        let (nh, mh) = (u16_at(rec::NETWORK_HEADER), u16_at(rec::MAC_HEADER));
        // Bytes present from the network header on: the linear part ends at
        // data + (len - data_len).
        let data = match copy {
            CopyFrom::NetworkHeader if head == 0 || nh == 0xffff || data_ptr < head => Vec::new(),
            CopyFrom::NetworkHeader => {
                let end = (data_ptr - head) as i64 + len.saturating_sub(data_len) as i64;
                let n = (end - nh as i64).clamp(0, DATA_MAX as i64) as usize;
                r[rec::PKT..rec::PKT + n].to_vec()
            }
            CopyFrom::Data if data_ptr == 0 => Vec::new(),
            CopyFrom::Data => {
                let n = (len.saturating_sub(data_len) as usize).min(DATA_MAX);
                r[rec::PKT..rec::PKT + n].to_vec()
            }
        };
        let mac = (head != 0 && mh != 0xffff).then(|| r[rec::MAC..rec::MAC + 14].try_into().unwrap());
        let name = &r[rec::IFNAME..rec::IFNAME + 16];
        let name_end = name.iter().position(|&b| b == 0).unwrap_or(16);
        Some(Record {
            reason: u32_at(rec::REASON),
            ifindex: u32_at(rec::IFINDEX),
            ts: u64_at(rec::TS),
            location: u64_at(rec::LOCATION),
            netns: u32_at(rec::NETNS),
            len,
            data_len,
            protocol: u16::from_be_bytes([r[rec::PROTOCOL], r[rec::PROTOCOL + 1]]),
            ifname: String::from_utf8_lossy(&name[..name_end]).into_owned(),
            mac,
            data,
            dev_type: u16_at(rec::DEV_TYPE),
            data_offset: data_ptr.wrapping_sub(head),
            mac_header: mh,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time and the location are two fields; the time sits where the XDP records have
    /// theirs.
    #[test]
    fn a_record_carries_its_time_apart_from_the_location() {
        let mut r = vec![0u8; rec::SIZE];
        r[rec::TS..rec::TS + 8].copy_from_slice(&123_456_789u64.to_ne_bytes());
        r[rec::LOCATION..rec::LOCATION + 8].copy_from_slice(&0xffff_ffff_8100_0000u64.to_ne_bytes());
        r[rec::NETWORK_HEADER..rec::NETWORK_HEADER + 2].copy_from_slice(&0xffffu16.to_ne_bytes());
        r[rec::MAC_HEADER..rec::MAC_HEADER + 2].copy_from_slice(&0xffffu16.to_ne_bytes());
        let p = Record::parse(&r).unwrap();
        assert_eq!((p.ts, p.location), (123_456_789, 0xffff_ffff_8100_0000));
        const { assert!(rec::TS == crate::explain::trace::xdp::xrec::TS && rec::LOCATION + 8 <= rec::PKT && rec::PKT.is_multiple_of(8)) };
        assert!(Record::parse(&r[..rec::SIZE - 1]).is_none());
    }
}
