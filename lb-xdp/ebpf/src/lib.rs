//! Packet access shared by the director and the decap program.
#![no_std]

use aya_ebpf::{bindings::xdp_action, maps::PerCpuArray, programs::XdpContext};
use core::mem::size_of;

/// Ethernet header: destination, source, EtherType.
pub const ETH_LEN: usize = 14;
/// Offset of the EtherType in the Ethernet header.
pub const ETH_TYPE_AT: usize = 12;
/// Length of a MAC address.
pub const MAC_LEN: usize = 6;
pub const ETH_P_IPV4: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const IPV4_LEN: usize = 20;
pub const IPV6_LEN: usize = 40;
pub const UDP_LEN: usize = 8;
pub const GUE_LEN: usize = 4;
/// The ICMP / ICMPv6 header up to the quoted packet (type, code, checksum, 4 more bytes).
pub const ICMP_LEN: usize = 8;
/// The IPv6 Fragment extension header.
pub const IPV6_FRAG_LEN: usize = 8;
/// Source and destination port: the first 4 bytes of TCP and UDP headers.
pub const PORTS_LEN: usize = 4;
/// IPv4 flags and fragment offset word: MF and the offset (DF left out); non-zero in
/// every fragment, first included.
pub const IPV4_FRAGMENT_MASK: u16 = 0x3fff;
/// IPv4 flags byte with Don't Fragment set (offset 0).
pub const IPV4_DF: u8 = 0x40;

pub use xdp_action::{XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX};

/// The packet between `data` and `data_end`. Every access goes through [`Packet::get`] or
/// [`Packet::get_mut`], which check the range against `end` right before it, in the form
/// the verifier can follow, so that callers need no `unsafe`. One per program run (and a
/// new one after `bpf_xdp_adjust_head`), lent by reference: not `Copy`, so that a mutable
/// view of the packet excludes any other.
pub struct Packet {
    data: usize,
    end: usize,
}

impl Packet {
    #[inline(always)]
    pub fn of(ctx: &XdpContext) -> Packet {
        Packet { data: ctx.data(), end: ctx.data_end() }
    }

    #[inline(always)]
    pub fn size(&self) -> usize {
        self.end - self.data
    }

    /// The `N` bytes at `offset`, or None when the packet is shorter.
    #[inline(always)]
    fn range<const N: usize>(&self, offset: usize) -> Option<*mut [u8; N]> {
        let start = self.data + offset;
        if start + size_of::<[u8; N]>() > self.end {
            return None;
        }
        Some(start as *mut [u8; N])
    }

    /// `N` bytes at `offset` to read, or None when the packet is shorter. Not valid after
    /// `bpf_xdp_adjust_head` (the verifier rejects a program that uses them).
    #[inline(always)]
    pub fn get<const N: usize>(&self, offset: usize) -> Option<&[u8; N]> {
        let p = self.range::<N>(offset)?;
        // SAFETY: `range` checked that the N bytes lie between data and data_end: packet
        // memory, valid and initialised for the program's run; u8 needs no alignment.
        Some(unsafe { &*p })
    }

    /// `N` bytes at `offset` to write, or None when the packet is shorter (as [`get`]; the
    /// `&mut self` borrow keeps two mutable views of the packet from coexisting).
    ///
    /// [`get`]: Packet::get
    #[inline(always)]
    pub fn get_mut<const N: usize>(&mut self, offset: usize) -> Option<&mut [u8; N]> {
        let p = self.range::<N>(offset)?;
        // SAFETY: as in `get`; the mutable borrow of the program's one `Packet` makes this
        // the only view of the packet while it lives.
        Some(unsafe { &mut *p })
    }
}

#[inline(always)]
pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Adds 1 to a per-CPU counter.
#[inline(always)]
pub fn count(counters: &PerCpuArray<u64>, reason: u32) {
    if let Some(c) = counters.get_ptr_mut(reason) {
        // SAFETY: a per-CPU slot is only ever touched by this CPU's program run.
        unsafe { *c += 1 };
    }
}

/// Copies `N` bytes: a plain loop the compiler unrolls (no memcpy call in BPF).
#[inline(always)]
pub fn copy<const N: usize>(dst: &mut [u8; N], src: &[u8; N]) {
    let mut i = 0;
    while i < N {
        dst[i] = src[i];
        i += 1;
    }
}

/// Panics can't happen in a verified program (every access is checked); the handler only
/// has to exist.
#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
