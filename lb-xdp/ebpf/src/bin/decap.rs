//! The decap program: XDP on a backend's interface. GUE (variant 0 or 1, over IPv4 or
//! IPv6) on the configured UDP port loses its outer headers and goes on as the inner
//! packet: to the stack (XDP_PASS) or redirected to another interface with its Ether
//! destination rewritten. Malformed GUE is dropped; everything else passes untouched.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_xdp_adjust_head,
    macros::{map, xdp},
    maps::{Array, DevMap, PerCpuArray},
    programs::XdpContext,
};
use lb_xdp_common::{DecapConfig, DecapCounter as C, PROTO_IPIP, PROTO_IPV6, PROTO_UDP};
use lb_xdp_ebpf::*;

#[map]
static DECAP_CONFIG: Array<DecapConfig> = Array::with_max_entries(1, 0);
#[map]
static DECAP_COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(C::COUNT, 0);
#[map]
static DECAP_REDIRECT: DevMap = DevMap::with_max_entries(1, 0);

#[xdp]
pub fn decap(ctx: XdpContext) -> u32 {
    let (verdict, reason) = match try_decap(&ctx) {
        Ok(done) => done,
        Err(reason) => (XDP_DROP, reason),
    };
    count(&DECAP_COUNTERS, reason as u32);
    verdict
}

/// Passes everything: for the far end of a veth that must receive XDP_TX'd or redirected
/// frames (veth delivers them only to a peer with an XDP program), and as the test_run
/// floor in benchmarks.
#[xdp]
pub fn pass(_ctx: XdpContext) -> u32 {
    XDP_PASS
}

/// GUE's first byte: the version in the top two bits, then the control bit (C), then the
/// extension length in 32-bit words (hlen).
const GUE_VERSION_SHIFT: u8 = 6;
const GUE_CONTROL: u8 = 0x20;
const GUE_HLEN_MASK: u8 = 0x1f;

#[inline(always)]
fn try_decap(ctx: &XdpContext) -> Result<(u32, C), C> {
    const PASS: Result<(u32, C), C> = Ok((XDP_PASS, C::Pass));
    let pkt = Packet::of(ctx);
    let Some(config) = DECAP_CONFIG.get(0) else { return PASS };
    let Some(eth) = pkt.get::<ETH_LEN>(0) else { return PASS };
    let udp_at = match be16(eth, ETH_TYPE_AT) {
        ETH_P_IPV4 => {
            let Some(ip) = pkt.get::<IPV4_LEN>(ETH_LEN) else { return PASS };
            // Fragments pass: the stack reassembles them.
            if ip[9] != PROTO_UDP || ip[0] >> 4 != 4 || be16(ip, 6) & IPV4_FRAGMENT_MASK != 0 {
                return PASS;
            }
            let ihl = ((ip[0] & 0x0f) as usize) * 4;
            if ihl < IPV4_LEN {
                return PASS;
            }
            ETH_LEN + ihl
        }
        ETH_P_IPV6 => {
            let Some(ip) = pkt.get::<IPV6_LEN>(ETH_LEN) else { return PASS };
            if ip[6] != PROTO_UDP || ip[0] >> 4 != 6 {
                return PASS;
            }
            ETH_LEN + IPV6_LEN
        }
        _ => return PASS,
    };
    let Some(udp) = pkt.get::<UDP_LEN>(udp_at) else { return PASS };
    if be16(udp, 2) != config.gue_port {
        return PASS;
    }
    let gue_at = udp_at + UDP_LEN;
    // Both variants have at least 4 bytes here: the GUE header, or the inner IP header.
    // (A 1-byte check would also be compiled into a form the verifier can't follow.)
    let gue = pkt.get::<GUE_LEN>(gue_at).ok_or(C::Malformed)?;
    let first = gue[0];
    let (inner_at, ipv6, reason) = match first >> GUE_VERSION_SHIFT {
        0 => {
            if first & GUE_CONTROL != 0 {
                return Ok((XDP_PASS, C::Control));
            }
            let hlen = ((first & GUE_HLEN_MASK) as usize) * 4;
            let ipv6 = match gue[1] {
                PROTO_IPIP => false,
                PROTO_IPV6 => true,
                _ => return Err(C::Malformed),
            };
            (gue_at + GUE_LEN + hlen, ipv6, C::DecapV0)
        }
        // Variant 1: the IP version nibble is 4 (0b0100) or 6 (0b0110).
        1 => match first >> 4 {
            4 => (gue_at, false, C::DecapV1),
            6 => (gue_at, true, C::DecapV1),
            _ => return Err(C::Malformed),
        },
        _ => return Err(C::Malformed),
    };
    // The inner header must be there and of the announced version.
    let inner_first = if ipv6 {
        pkt.get::<IPV6_LEN>(inner_at).ok_or(C::Malformed)?[0]
    } else {
        pkt.get::<IPV4_LEN>(inner_at).ok_or(C::Malformed)?[0]
    };
    let inner_version = inner_first >> 4;
    if inner_version != if ipv6 { 6 } else { 4 } {
        return Err(C::Malformed);
    }

    let mut macs = [0u8; 2 * MAC_LEN];
    macs.copy_from_slice(&eth[..2 * MAC_LEN]);
    let strip = (inner_at - ETH_LEN) as i32;
    // SAFETY: a helper call on this program's own context.
    if unsafe { bpf_xdp_adjust_head(ctx.ctx, strip) } != 0 {
        return Err(C::AdjustFailed);
    }
    let mut pkt = Packet::of(ctx);
    let eth = pkt.get_mut::<ETH_LEN>(0).ok_or(C::AdjustFailed)?;
    eth[..2 * MAC_LEN].copy_from_slice(&macs);
    let ethertype = if ipv6 { ETH_P_IPV6 } else { ETH_P_IPV4 };
    eth[ETH_TYPE_AT..].copy_from_slice(&ethertype.to_be_bytes());
    if config.redirect != 0 {
        eth[..MAC_LEN].copy_from_slice(&config.redirect_mac);
        count(&DECAP_COUNTERS, reason as u32);
        return Ok((DECAP_REDIRECT.redirect(0, 0).unwrap_or(XDP_ABORTED), C::Redirect));
    }
    Ok((XDP_PASS, reason))
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
