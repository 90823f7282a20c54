//! Packet access shared by the director and the decap program.
#![no_std]

use aya_ebpf::{bindings::xdp_action, maps::PerCpuArray, programs::XdpContext};
use core::mem::size_of;

pub const ETH_LEN: usize = 14;
pub const ETH_P_IPV4: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const IPV4_LEN: usize = 20;
pub const IPV6_LEN: usize = 40;
pub const UDP_LEN: usize = 8;
pub const GUE_LEN: usize = 4;

pub use xdp_action::{XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX};

/// The packet between `data` and `data_end`. Every access is bounds-checked against
/// `end` right before it, in the form the verifier can follow.
#[derive(Clone, Copy)]
pub struct Packet {
    pub data: usize,
    pub end: usize,
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

    /// `N` bytes at `offset`, or None when the packet is shorter.
    #[inline(always)]
    pub fn bytes<const N: usize>(&self, offset: usize) -> Option<*mut [u8; N]> {
        let start = self.data + offset;
        if start + size_of::<[u8; N]>() > self.end {
            return None;
        }
        Some(start as *mut [u8; N])
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
