//! XdpWatch's two BPF programs, one pair per watched XDP program, and the record they
//! write.
//!
//! - fentry (before the XDP program): `xdp_buff->data`, `data_end`, the time and the first
//!   [`DATA_MAX`] bytes at `data` into a one-value per-CPU array (the scratch value),
//!   tagged with the `xdp_buff` pointer.
//! - fexit (after it, on the same CPU: XDP runs with migration off, the trampoline calls
//!   fentry, the program and fexit in a row): reserves a ring buffer record, writes the
//!   action (`ctx[1]`), the program id (a constant of this program), the time, the frame
//!   at exit (`data`, `data_end`, first bytes), the device (`xdp_buff->rxq->dev`: index,
//!   name, network namespace inode) and the rx queue, then copies the scratch value in and
//!   clears its tag, so a later fexit whose fentry did not run finds no stale entry.
//!
//! `ctx` of both is the trampoline's `u64` argument array: `ctx[0]` is the XDP program's
//! argument (the kernel's `struct xdp_buff *`: XDP programs run on it, `struct xdp_md` is
//! its user-facing view), and for fexit `ctx[1]` is the return value. Both are copied
//! with `bpf_probe_read_kernel` ([`copy_ctx`]), as is every read through a kernel
//! pointer. The programs copy [`DATA_MAX`] bytes whatever the frame's length (the
//! assembler has no conditional jumps but `==`, so no bounded variable size): the bytes
//! past `data_end` are the buffer's tailroom, cut off by [`Record::parse`].
//!
//! Verifier notes: nothing here depends on the target's BTF beyond its function's id
//! (`ctx` is copied, not loaded, so a target whose argument is not `struct xdp_md *` is
//! fine), stack use is -112..0 (ctx copy, the `xdp_buff` members, [`read_dev`]'s slot,
//! the map key), and the same instructions load as raw tracepoint programs, which is how
//! `kernel_tests` checks them on kernels that refuse fentry/fexit.

use std::io;

use crate::explain::asm::{Asm, Insn, Size, R0, R1, R10, R2, R3, R6, R7, R8, R9};
use crate::explain::btf::Btf;
use crate::explain::prog::{probe_read, read_dev, reserve, submit_and_exit, Offsets, DATA_MAX};

const HELPER_MAP_LOOKUP_ELEM: i32 = 1;
const HELPER_KTIME_GET_NS: i32 = 5;

/// The per-CPU scratch value fentry writes (offsets in bytes); copied whole into the
/// record at [`rec::ENTRY`].
pub mod scratch {
    /// u64: the `xdp_buff` pointer, the tag fexit compares with its own (0: none).
    pub const CTX: usize = 0;
    /// u64: CLOCK_MONOTONIC ns at entry.
    pub const TS: usize = 8;
    /// u64 each: `xdp_buff->data` and `data_end` at entry.
    pub const DATA: usize = 16;
    pub const DATA_END: usize = 24;
    /// i32: what `bpf_probe_read_kernel` returned for the bytes (0: read).
    pub const ERR: usize = 32;
    /// [u8; DATA_MAX]
    pub const PKT: usize = 40;
    pub const SIZE: usize = PKT + super::DATA_MAX;
}

/// The ring buffer record fexit writes (offsets in bytes).
pub mod rec {
    pub const ACT: usize = 0; // u32: the XDP program's return value
    pub const PROG_ID: usize = 4; // u32
    pub const TS: usize = 8; // u64: CLOCK_MONOTONIC ns at exit
    pub const IFINDEX: usize = 16; // u32
    pub const NETNS: usize = 20; // u32
    pub const IFNAME: usize = 24; // [u8; 16]
    pub const RX_QUEUE: usize = 40; // u32
    pub const EXIT_ERR: usize = 44; // i32: bpf_probe_read_kernel's result for the exit bytes
    pub const EXIT_CTX: usize = 48; // u64: the xdp_buff pointer
    pub const EXIT_DATA: usize = 56; // u64
    pub const EXIT_DATA_END: usize = 64; // u64
    /// The scratch value as fentry left it ([`super::scratch`] layout).
    pub const ENTRY: usize = 72;
    pub const EXIT_PKT: usize = ENTRY + super::scratch::SIZE; // [u8; DATA_MAX]
    pub const SIZE: usize = EXIT_PKT + super::DATA_MAX;
    /// Zeroed at reserve: everything but the bytes (a skipped read leaves zeros).
    pub const ZEROED: usize = ENTRY + super::scratch::PKT;
}

// The layouts: 8-byte aligned words, the scratch value copied whole into the record with
// 8-byte loads and stores, every offset within an instruction's 16-bit reach.
const _: () = {
    assert!(scratch::SIZE.is_multiple_of(8) && rec::ENTRY.is_multiple_of(8));
    assert!(rec::EXIT_DATA_END + 8 <= rec::ENTRY && rec::EXIT_PKT == rec::ENTRY + scratch::SIZE);
    assert!(rec::SIZE < i16::MAX as usize);
};

/// Kernel structure offsets besides the device's ([`Offsets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdpBuffOffsets {
    pub data: u32,
    pub data_end: u32,
    pub rxq: u32,
    pub rxq_dev: u32,
    pub rxq_queue_index: u32,
}

impl XdpBuffOffsets {
    pub fn from_btf(btf: &Btf) -> io::Result<XdpBuffOffsets> {
        Ok(XdpBuffOffsets {
            data: btf.member_sized("xdp_buff", "data", 8)?,
            data_end: btf.member_sized("xdp_buff", "data_end", 8)?,
            rxq: btf.member_sized("xdp_buff", "rxq", 8)?,
            rxq_dev: btf.member_sized("xdp_rxq_info", "dev", 8)?,
            rxq_queue_index: btf.member_sized("xdp_rxq_info", "queue_index", 4)?,
        })
    }
}

/// Where the stack copy of `xdp_buff`'s fields starts (64 bytes, down to -96).
const SPAN_AT: i16 = -96;
const SPAN_MAX: u32 = 64;

/// Read these 8-byte members of the struct at `src` onto the stack: in one
/// `bpf_probe_read_kernel` when they lie within 64 bytes of each other (they do on every
/// kernel so far: `data`, `data_end`, `data_meta`, `data_hard_start`, `rxq`), else one
/// read each. Returns each member's stack offset. r0-r5 clobbered.
fn read_members(a: &mut Asm, src: u8, members: &[u32]) -> Vec<i16> {
    let lo = members.iter().copied().min().unwrap_or(0);
    let hi = members.iter().map(|m| m + 8).max().unwrap_or(0);
    if hi - lo <= SPAN_MAX {
        probe_read(a, R10, SPAN_AT as i32, (hi - lo) as i32, src, lo);
        members.iter().map(|m| SPAN_AT + (m - lo) as i16).collect()
    } else {
        (0..members.len())
            .map(|i| {
                let at = SPAN_AT + 8 * i as i16;
                probe_read(a, R10, at as i32, 8, src, members[i]);
                at
            })
            .collect()
    }
}

/// `r0 = the scratch value` (or jump to `none`); r1-r5 clobbered, stack -4 used.
fn lookup_scratch(a: &mut Asm, scratch_fd: i32, none: &'static str) {
    a.store_imm(Size::W, R10, -4, 0).load_map_fd(R1, scratch_fd).mov(R2, R10).add_imm(R2, -4);
    a.call(HELPER_MAP_LOOKUP_ELEM).jeq_imm(R0, 0, none);
}

/// Where the copy of the program's `ctx` words goes (16 bytes, down to -112).
const CTX_AT: i16 = -112;

/// Copy the first `words` of `ctx` (r6) onto the stack at [`CTX_AT`]: with
/// `bpf_probe_read_kernel` rather than loads, so the verifier does not type them from the
/// target's BTF (a program whose argument is not `struct xdp_md *` would be refused) and
/// they are plain numbers, which the records may hold. r0-r5 clobbered.
fn copy_ctx(a: &mut Asm, words: i32) {
    a.mov(R1, R10).add_imm(R1, CTX_AT as i32).mov_imm(R2, 8 * words).mov(R3, R6);
    a.call(HELPER_PROBE_READ_KERNEL);
}

/// The fentry program: the frame as it arrives, into the scratch value.
pub fn build_entry(x: &XdpBuffOffsets, scratch_fd: i32) -> Vec<Insn> {
    let mut a = Asm::new();
    // r6 = ctx, r7 = the xdp_buff (ctx[0]), r8 = this CPU's scratch value.
    a.mov(R6, R1);
    copy_ctx(&mut a, 1);
    a.load(Size::DW, R7, R10, CTX_AT).jeq_imm(R7, 0, "out");
    lookup_scratch(&mut a, scratch_fd, "out");
    a.mov(R8, R0);
    a.store(Size::DW, R8, scratch::CTX as i16, R7);
    a.call(HELPER_KTIME_GET_NS).store(Size::DW, R8, scratch::TS as i16, R0);
    let at = read_members(&mut a, R7, &[x.data, x.data_end]);
    a.load(Size::DW, R1, R10, at[0]).store(Size::DW, R8, scratch::DATA as i16, R1);
    a.load(Size::DW, R1, R10, at[1]).store(Size::DW, R8, scratch::DATA_END as i16, R1);
    a.store_imm(Size::W, R8, scratch::ERR as i16, -libc::EFAULT);
    a.load(Size::DW, R3, R8, scratch::DATA as i16).jeq_imm(R3, 0, "out");
    a.mov(R1, R8).add_imm(R1, scratch::PKT as i32).mov_imm(R2, DATA_MAX as i32);
    a.call(HELPER_PROBE_READ_KERNEL);
    a.store(Size::W, R8, scratch::ERR as i16, R0);
    a.label("out");
    a.mov_imm(R0, 0).exit();
    a.finish()
}

const HELPER_PROBE_READ_KERNEL: i32 = 113;

/// The fexit program of the XDP program `prog_id`: one record per frame.
pub fn build_exit(prog_id: u32, o: &Offsets, x: &XdpBuffOffsets, scratch_fd: i32, ringbuf_fd: i32, lost_fd: i32) -> Vec<Insn> {
    let mut a = Asm::new();
    // r6 = ctx, r7 = the xdp_buff (ctx[0]), r8 = the record; ctx[1] is the return value.
    a.mov(R6, R1);
    copy_ctx(&mut a, 2);
    a.load(Size::DW, R7, R10, CTX_AT).jeq_imm(R7, 0, "out");
    reserve(&mut a, ringbuf_fd, rec::SIZE, rec::ZEROED);
    a.load(Size::DW, R1, R10, CTX_AT + 8).store(Size::W, R8, rec::ACT as i16, R1);
    a.store_imm(Size::W, R8, rec::PROG_ID as i16, prog_id as i32);
    a.call(HELPER_KTIME_GET_NS).store(Size::DW, R8, rec::TS as i16, R0);
    a.store(Size::DW, R8, rec::EXIT_CTX as i16, R7);
    // The frame at exit.
    let at = read_members(&mut a, R7, &[x.data, x.data_end, x.rxq]);
    a.load(Size::DW, R1, R10, at[0]).store(Size::DW, R8, rec::EXIT_DATA as i16, R1);
    a.load(Size::DW, R1, R10, at[1]).store(Size::DW, R8, rec::EXIT_DATA_END as i16, R1);
    a.load(Size::DW, R7, R10, at[2]); // r7 = rxq from here on
    a.store_imm(Size::W, R8, rec::EXIT_ERR as i16, -libc::EFAULT);
    a.load(Size::DW, R3, R8, rec::EXIT_DATA as i16).jeq_imm(R3, 0, "nobytes");
    a.mov(R1, R8).add_imm(R1, rec::EXIT_PKT as i32).mov_imm(R2, DATA_MAX as i32);
    a.call(HELPER_PROBE_READ_KERNEL);
    a.store(Size::W, R8, rec::EXIT_ERR as i16, R0);
    a.label("nobytes");
    // The device: rxq->dev, and the queue.
    a.jeq_imm(R7, 0, "nodev");
    probe_read(&mut a, R8, rec::RX_QUEUE as i32, 4, R7, x.rxq_queue_index);
    probe_read(&mut a, R10, -8, 8, R7, x.rxq_dev);
    a.load(Size::DW, R9, R10, -8);
    read_dev(&mut a, o, R9, (rec::IFINDEX, rec::IFNAME, rec::NETNS), "nodev");
    a.label("nodev");
    // The frame at entry: the scratch value, then its tag cleared.
    lookup_scratch(&mut a, scratch_fd, "submit");
    for off in (0..scratch::SIZE).step_by(8) {
        a.load(Size::DW, R1, R0, off as i16).store(Size::DW, R8, (rec::ENTRY + off) as i16, R1);
    }
    a.store_imm(Size::DW, R0, scratch::CTX as i16, 0);
    a.label("submit");
    submit_and_exit(&mut a, lost_fd);
    a.finish()
}

/// A record as fexit wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub act: u32,
    pub prog_id: u32,
    pub ts: u64,
    pub ifindex: u32,
    pub netns: u32,
    pub ifname: String,
    pub rx_queue: u32,
    /// CLOCK_MONOTONIC ns at entry, when fentry's copy belongs to this frame.
    pub entry_ts: Option<u64>,
    /// `data_end - data` at entry (0 without the entry copy) and at exit.
    pub entry_len: u32,
    pub exit_len: u32,
    /// `xdp_buff->data` moved (adjust_head, adjust_meta...) or `data_end` did.
    pub moved: bool,
    /// Up to [`DATA_MAX`] bytes at `data`, cut to the frame's length; empty when unknown.
    pub entry: Vec<u8>,
    pub exit: Vec<u8>,
}

impl Record {
    pub fn parse(r: &[u8]) -> Option<Record> {
        if r.len() < rec::SIZE {
            return None;
        }
        let u32_at = |o: usize| u32::from_ne_bytes(r[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_ne_bytes(r[o..o + 8].try_into().unwrap());
        let name = &r[rec::IFNAME..rec::IFNAME + 16];
        let name_end = name.iter().position(|&b| b == 0).unwrap_or(16);
        let frame_len = |data: u64, end: u64| if data == 0 || end < data { 0 } else { (end - data).min(u32::MAX as u64) as u32 };
        let bytes = |at: usize, len: u32, err: u32| if err == 0 { r[at..at + (len as usize).min(DATA_MAX)].to_vec() } else { Vec::new() };
        let exit_ctx = u64_at(rec::EXIT_CTX);
        let (exit_data, exit_end) = (u64_at(rec::EXIT_DATA), u64_at(rec::EXIT_DATA_END));
        let exit_len = frame_len(exit_data, exit_end);
        let exit = bytes(rec::EXIT_PKT, exit_len, u32_at(rec::EXIT_ERR));
        let e = rec::ENTRY;
        let has_entry = exit_ctx != 0 && u64_at(e + scratch::CTX) == exit_ctx;
        let (entry_data, entry_end) = (u64_at(e + scratch::DATA), u64_at(e + scratch::DATA_END));
        let (entry_ts, entry_len, entry, moved) = if has_entry {
            let len = frame_len(entry_data, entry_end);
            let moved = entry_data != exit_data || entry_end != exit_end;
            (Some(u64_at(e + scratch::TS)), len, bytes(e + scratch::PKT, len, u32_at(e + scratch::ERR)), moved)
        } else {
            (None, 0, Vec::new(), false)
        };
        Some(Record {
            act: u32_at(rec::ACT),
            prog_id: u32_at(rec::PROG_ID),
            ts: u64_at(rec::TS),
            ifindex: u32_at(rec::IFINDEX),
            netns: u32_at(rec::NETNS),
            ifname: String::from_utf8_lossy(&name[..name_end]).into_owned(),
            rx_queue: u32_at(rec::RX_QUEUE),
            entry_ts,
            entry_len,
            exit_len,
            moved,
            entry,
            exit,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The `xdp_buff` pointer of the records [`record`] makes.
    pub(crate) const CTX: u64 = 0xffff_c900_0000_1000;

    /// A record as fexit would write it: entry copy tagged with `entry_ctx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(act: u32, entry_ctx: u64, entry: &[u8], entry_data: u64, exit: &[u8], exit_data: u64) -> Vec<u8> {
        let mut r = vec![0u8; rec::SIZE];
        let put32 = |r: &mut Vec<u8>, o: usize, v: u32| r[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        let put64 = |r: &mut Vec<u8>, o: usize, v: u64| r[o..o + 8].copy_from_slice(&v.to_ne_bytes());
        put32(&mut r, rec::ACT, act);
        put32(&mut r, rec::PROG_ID, 42);
        put64(&mut r, rec::TS, 2_000);
        put32(&mut r, rec::IFINDEX, 7);
        put32(&mut r, rec::NETNS, 4026532000);
        r[rec::IFNAME..rec::IFNAME + 4].copy_from_slice(b"veth");
        put32(&mut r, rec::RX_QUEUE, 1);
        put64(&mut r, rec::EXIT_CTX, CTX);
        put64(&mut r, rec::EXIT_DATA, exit_data);
        put64(&mut r, rec::EXIT_DATA_END, exit_data + exit.len() as u64);
        // Garbage past the frame: the program copies DATA_MAX bytes whatever the length.
        r[rec::EXIT_PKT..rec::EXIT_PKT + DATA_MAX].fill(0xee);
        r[rec::EXIT_PKT..rec::EXIT_PKT + exit.len().min(DATA_MAX)].copy_from_slice(&exit[..exit.len().min(DATA_MAX)]);
        let e = rec::ENTRY;
        put64(&mut r, e + scratch::CTX, entry_ctx);
        put64(&mut r, e + scratch::TS, 1_500);
        put64(&mut r, e + scratch::DATA, entry_data);
        put64(&mut r, e + scratch::DATA_END, entry_data + entry.len() as u64);
        r[e + scratch::PKT..e + scratch::PKT + DATA_MAX].fill(0xee);
        r[e + scratch::PKT..e + scratch::PKT + entry.len().min(DATA_MAX)].copy_from_slice(&entry[..entry.len().min(DATA_MAX)]);
        r
    }

    #[test]
    fn parses_entry_and_exit_cut_to_their_lengths() {
        let entry: Vec<u8> = (0..60).collect();
        let exit: Vec<u8> = (100..200).collect();
        let r = record(3, CTX, &entry, 0x1000, &exit, 0x1000 - 40);
        let p = Record::parse(&r).unwrap();
        assert_eq!((p.act, p.prog_id, p.ts, p.ifindex, p.netns, p.rx_queue), (3, 42, 2_000, 7, 4026532000, 1));
        assert_eq!(p.ifname, "veth");
        assert_eq!(p.entry_ts, Some(1_500));
        assert_eq!((p.entry_len, p.exit_len), (60, 100));
        assert_eq!(p.entry, entry);
        assert_eq!(p.exit, exit);
        assert!(p.moved);
        assert!(Record::parse(&r[..rec::SIZE - 1]).is_none());
    }

    #[test]
    fn long_frames_give_data_max_bytes() {
        let frame = vec![0x5a; 1500];
        let p = Record::parse(&record(2, CTX, &frame, 0x2000, &frame, 0x2000)).unwrap();
        assert_eq!((p.entry_len, p.exit_len, p.entry.len(), p.exit.len()), (1500, 1500, DATA_MAX, DATA_MAX));
        assert!(!p.moved);
    }

    /// fentry's copy belongs to another frame (another xdp_buff, or cleared: fentry did not
    /// run for this one): no entry bytes rather than wrong ones.
    #[test]
    fn a_stale_or_missing_entry_copy_is_not_used() {
        for tag in [0, 0xffff_c900_0000_2000] {
            let p = Record::parse(&record(1, tag, &[1, 2, 3], 0x1000, &[1, 2, 3], 0x1000)).unwrap();
            assert_eq!((p.entry_ts, p.entry_len, p.entry.len(), p.moved), (None, 0, 0, false));
            assert_eq!(p.exit, vec![1, 2, 3]);
        }
    }

    #[test]
    fn failed_reads_give_no_bytes() {
        let mut r = record(2, CTX, &[1, 2, 3], 0x1000, &[1, 2, 3], 0x1000);
        r[rec::EXIT_ERR..rec::EXIT_ERR + 4].copy_from_slice(&(-14i32).to_ne_bytes());
        r[rec::ENTRY + scratch::ERR..rec::ENTRY + scratch::ERR + 4].copy_from_slice(&(-14i32).to_ne_bytes());
        let p = Record::parse(&r).unwrap();
        assert!(p.entry.is_empty() && p.exit.is_empty());
        assert_eq!((p.entry_len, p.exit_len), (3, 3));
    }

    /// Both programs assemble (every label defined, every jump forward) with this
    /// kernel's offsets, when its BTF is readable.
    #[test]
    fn programs_assemble() {
        let Ok(btf) = Btf::vmlinux() else { return };
        let (o, x) = (Offsets::from_btf(&btf).unwrap(), XdpBuffOffsets::from_btf(&btf).unwrap());
        assert!(!build_entry(&x, 3).is_empty());
        let exit = build_exit(9, &o, &x, 3, 4, 5);
        // Members too far apart are read one by one.
        let far = XdpBuffOffsets { rxq: x.data + 200, ..x };
        assert!(build_exit(9, &o, &far, 3, 4, 5).len() > exit.len());
    }
}
