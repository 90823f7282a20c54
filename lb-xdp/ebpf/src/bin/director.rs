//! The director: XDP on the ingress interface. Packets for a VIP are encapsulated in
//! Ether/IP/UDP/GUE toward the flow's backend; everything else passes untouched.
//!
//! Policy for what a 5-tuple can't describe:
//! - IPv4 fragments (MF or offset set) and IPv6 packets with a Fragment header are hashed
//!   on (src, dst, proto) with ports 0, first fragment included, so all fragments of one
//!   datagram reach the same backend, which reassembles them. With no ports they match
//!   only any-port VIPs (port 0).
//! - IPv4 options are skipped to find the ports; the packet is encapsulated unchanged.
//! - IPv6 extension headers other than Fragment are not walked: such packets match no
//!   VIP and pass.
//! - ICMP frag-needed and ICMPv6 packet-too-big quoting a packet from a VIP go to the
//!   backend of the quoted flow (the client→VIP direction of it).
//! - TCP/UDP to a VIP address whose header is cut short is dropped (`malformed`).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_xdp_adjust_head,
    macros::{map, xdp},
    maps::{Array, DevMap, PerCpuArray},
    programs::XdpContext,
};
use lb_xdp_common::{
    flow4_word, flow_hash, flow_meta, flow_ports, outer_sport, ring_position, ring_slot, Backend,
    DirectorConfig, DirectorCounter as C, FlowBucket4, FlowBucket6, FlowKey, RingRow, Traffic,
    VipBackends, VipKey, VipMeta, VipSlot, FAMILY_V4, FAMILY_V6, FLOW4_BUCKETS, FLOW4_WAYS,
    FLOW6_BUCKETS, FLOW6_WAYS, FLOW_META_BACKEND_MASK, ICMPV6_PACKET_TOO_BIG, ICMP_DEST_UNREACH,
    ICMP_FRAG_NEEDED, MAP_F_LINE_ALIGNED, MAX_BACKENDS, MAX_VIPS, OUTER_TTL, PROTO_ICMP,
    PROTO_ICMPV6, PROTO_IPIP, PROTO_IPV6, PROTO_IPV6_FRAGMENT, PROTO_TCP, PROTO_UDP, RING_ROWS,
    VIP_ADDRESS_MARK, VIP_PROBES, VIP_SLOTS,
};
use lb_xdp_ebpf::*;

#[map]
static CONFIG: Array<DirectorConfig> = Array::with_max_entries(1, 0);
#[map]
static VIPS: Array<VipSlot> = Array::with_max_entries(VIP_SLOTS, 0);
#[map]
static RING: Array<RingRow> = Array::with_max_entries(MAX_VIPS * RING_ROWS, MAP_F_LINE_ALIGNED);
#[map]
static BACKENDS: Array<Backend> = Array::with_max_entries(MAX_BACKENDS, 0);
#[map]
static VIP_BACKENDS: Array<VipBackends> = Array::with_max_entries(MAX_VIPS, 0);
#[map]
static FLOWS4: Array<FlowBucket4> = Array::with_max_entries(FLOW4_BUCKETS, MAP_F_LINE_ALIGNED);
#[map]
static FLOWS6: Array<FlowBucket6> = Array::with_max_entries(FLOW6_BUCKETS, MAP_F_LINE_ALIGNED);
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(C::COUNT, 0);
#[map]
static VIP_TRAFFIC: PerCpuArray<Traffic> = PerCpuArray::with_max_entries(MAX_VIPS, 0);
#[map]
static BACKEND_TRAFFIC: PerCpuArray<Traffic> = PerCpuArray::with_max_entries(MAX_BACKENDS, 0);
#[map]
static REDIRECT: DevMap = DevMap::with_max_entries(1, 0);

#[xdp]
pub fn director(ctx: XdpContext) -> u32 {
    let verdict = match try_director(&ctx) {
        Ok(v) => v,
        Err(reason) => {
            count(&COUNTERS, reason as u32);
            return XDP_DROP;
        }
    };
    if verdict == XDP_PASS {
        count(&COUNTERS, C::Pass as u32);
    }
    verdict
}

/// What parsing found: the flow (client → VIP direction) and the inner IPv4 id / tos.
struct Parsed {
    flow: FlowKey,
    /// Inner IPv4 id, copied to the outer header (0 for IPv6).
    id: u16,
    tos: u8,
    fragment: bool,
    /// The L4 header is cut short: its ports are unknown.
    cut: bool,
}

#[inline(always)]
fn try_director(ctx: &XdpContext) -> Result<u32, C> {
    let pkt = Packet::of(ctx);
    let Some(eth) = pkt.get::<ETH_LEN>(0) else { return Ok(XDP_PASS) };
    let parsed = match be16(eth, ETH_TYPE_AT) {
        ETH_P_IPV4 => parse_v4(&pkt),
        ETH_P_IPV6 => parse_v6(&pkt),
        _ => None,
    };
    let Some(p) = parsed else { return Ok(XDP_PASS) };
    if p.cut {
        let mark = VipKey::new(p.flow.dst, 0, 0, p.flow.family);
        if find_vip(&mark).is_some() {
            return Err(C::Malformed);
        }
        return Ok(XDP_PASS);
    }
    let Some(vip) = lookup_vip(&p.flow) else { return Ok(XDP_PASS) };
    let hash = flow_hash(&p.flow);
    let (backend_num, backend) = pick_backend(&p.flow, hash, vip.vip_num)?;
    let config = CONFIG.get(0).ok_or(C::NoBackend)?;

    let frame_len = pkt.size() as u64;
    add_traffic(&VIP_TRAFFIC, vip.vip_num, frame_len);
    add_traffic(&BACKEND_TRAFFIC, backend_num, frame_len);
    encapsulate(ctx, config, backend, &p, hash)?;
    count(&COUNTERS, C::Encap as u32);
    if config.redirect != 0 {
        count(&COUNTERS, C::Redirect as u32);
        return Ok(REDIRECT.redirect(0, 0).unwrap_or(XDP_ABORTED));
    }
    count(&COUNTERS, C::Tx as u32);
    Ok(XDP_TX)
}

/// The VIP serving a flow: the exact (address, port, protocol), else the protocol's
/// any-port VIP on the address. Address marks are not VIPs.
#[inline(always)]
fn lookup_vip(flow: &FlowKey) -> Option<VipMeta> {
    let meta = match find_vip(&VipKey::new(flow.dst, flow.dport, flow.proto, flow.family)) {
        Some(meta) => meta,
        None => find_vip(&VipKey::new(flow.dst, 0, flow.proto, flow.family))?,
    };
    (meta.flags & VIP_ADDRESS_MARK == 0).then_some(meta)
}

/// Probes the key's slots in the VIP table (an empty slot ends the run: nothing is deleted).
#[inline(always)]
fn find_vip(key: &VipKey) -> Option<VipMeta> {
    let home = key.home();
    for i in 0..VIP_PROBES {
        let slot = VIPS.get((home + i) & (VIP_SLOTS - 1))?;
        if slot.key.family == 0 {
            return None;
        }
        if slot.key.same(key) {
            return Some(slot.meta);
        }
    }
    None
}

/// The flow's backend (number and entry): the one the connection table remembers while it
/// is active, else the VIP's Maglev table's choice, remembered from now on. A hit and a new
/// flow both read and write only the flow's bucket (one line for IPv4, an aligned pair for
/// IPv6).
#[inline(always)]
fn pick_backend(flow: &FlowKey, hash: u32, vip_num: u32) -> Result<(u32, &'static Backend), C> {
    if flow.family == FAMILY_V4 {
        pick_in(bucket(&FLOWS4, hash & (FLOW4_BUCKETS - 1))?, flow4_word(flow), hash, vip_num)
    } else {
        pick_in(bucket(&FLOWS6, hash & (FLOW6_BUCKETS - 1))?, (flow.src_words(), flow_ports(flow)), hash, vip_num)
    }
}

/// Bucket `num` of a connection table.
// An array map hands out its (shared, kernel-owned) values mutably through `&self`, as
// aya's `get_ptr_mut` does.
#[allow(clippy::mut_from_ref)]
#[inline(always)]
fn bucket<B>(table: &'static Array<B>, num: u32) -> Result<&'static mut B, C> {
    let bucket = table.get_ptr_mut(num).ok_or(C::NoBackend)?;
    // SAFETY: an array map value, valid for the program's run; racing writers on other
    // CPUs can at worst leave a way mixed from two flows, which reads as a miss.
    Ok(unsafe { &mut *bucket })
}

/// [`pick_backend`] in the flow's bucket; `client` is the flow's words the bucket keeps.
#[inline(always)]
fn pick_in<B: FlowBucket>(bucket: &mut B, client: B::Client, hash: u32, vip_num: u32) -> Result<(u32, &'static Backend), C> {
    let want = flow_meta(hash, vip_num);
    let mut victim = B::WAYS;
    for way in 0..B::WAYS {
        let Some(meta) = bucket.remembered(way, &client, want) else { continue };
        let num = meta & FLOW_META_BACKEND_MASK;
        if let Some(backend) = active_backend(num) {
            bucket.mark_referenced(way);
            count(&COUNTERS, C::LruHit as u32);
            return Ok((num, backend));
        }
        // Remembered for a backend since removed (or none: an empty way): re-hash,
        // overwrite this way.
        victim = way;
        break;
    }
    count(&COUNTERS, C::LruMiss as u32);
    let (num, backend) = maglev_backend(hash, vip_num)?;
    if victim == B::WAYS {
        victim = clock_victim(bucket);
    }
    if victim < B::WAYS {
        bucket.remember(victim, &client, want | num);
        bucket.mark_referenced(victim);
    }
    Ok((num, backend))
}

/// The VIP's Maglev table's backend for a flow hash (one line of `RING`).
#[inline(always)]
fn maglev_backend(hash: u32, vip_num: u32) -> Result<(u32, &'static Backend), C> {
    let (row, column) = ring_position(vip_num, ring_slot(hash));
    let num = *RING.get(row).ok_or(C::NoBackend)?.slots.get(column).ok_or(C::NoBackend)? as u32;
    Ok((num, active_backend(num).ok_or(C::NoBackend)?))
}

/// A bucket of a connection table: ways of whole flows (the client's words and a meta word,
/// see `flow_meta`, written last in one store), a byte of reference bits and CLOCK's hand.
trait FlowBucket {
    const WAYS: usize;
    /// The flow's words a way keeps besides its meta (what the VIP number leaves out).
    type Client;
    /// The meta of `way` when it holds the flow `client` whose meta (without backend) is
    /// `want`. Each word is read once, volatile, so the meta's fields come from one store.
    fn remembered(&self, way: usize, client: &Self::Client, want: u32) -> Option<u32>;
    /// Stores a flow in `way` with volatile writes the compiler keeps in order, the meta
    /// last: until it is written, readers see a mismatch.
    fn remember(&mut self, way: usize, client: &Self::Client, meta: u32);
    fn is_empty(&self, way: usize) -> bool;
    /// Marks the way used; written only when it changes, so a hit leaves the shared line
    /// clean.
    fn mark_referenced(&mut self, way: usize);
    /// Whether the way was used since the hand last passed; clears the mark.
    fn take_referenced(&mut self, way: usize) -> bool;
    fn hand(&self) -> usize;
    fn set_hand(&mut self, hand: usize);
}

/// The parts of [`FlowBucket`] both tables share: the meta words, reference bits and hand.
macro_rules! flow_bucket_common {
    ($ways:expr) => {
        const WAYS: usize = $ways;

        #[inline(always)]
        fn is_empty(&self, way: usize) -> bool {
            self.metas.get(way).is_none_or(|&m| m == 0)
        }

        #[inline(always)]
        fn mark_referenced(&mut self, way: usize) {
            if self.referenced & 1 << way == 0 {
                self.referenced |= 1 << way;
            }
        }

        #[inline(always)]
        fn take_referenced(&mut self, way: usize) -> bool {
            let bit = 1 << way;
            let was = self.referenced & bit != 0;
            if was {
                self.referenced &= !bit;
            }
            was
        }

        #[inline(always)]
        fn hand(&self) -> usize {
            self.hand as usize
        }

        #[inline(always)]
        fn set_hand(&mut self, hand: usize) {
            self.hand = hand as u8;
        }
    };
}

/// IPv4: the client's address and both ports in one word, compared before the meta.
impl FlowBucket for FlowBucket4 {
    type Client = u64;
    flow_bucket_common!(FLOW4_WAYS);

    #[inline(always)]
    fn remembered(&self, way: usize, client: &u64, want: u32) -> Option<u32> {
        // SAFETY (both reads): valid, aligned words of the map value.
        if unsafe { core::ptr::read_volatile(&self.clients[way]) } != *client {
            return None;
        }
        let meta = unsafe { core::ptr::read_volatile(&self.metas[way]) };
        (meta & !FLOW_META_BACKEND_MASK == want).then_some(meta)
    }

    #[inline(always)]
    fn remember(&mut self, way: usize, client: &u64, meta: u32) {
        // SAFETY (both writes): valid, aligned words of the map value.
        unsafe {
            core::ptr::write_volatile(&mut self.clients[way], *client);
            core::ptr::write_volatile(&mut self.metas[way], meta);
        }
    }
}

/// IPv6: the address (two words) and the ports apart, compared only when the meta matches.
impl FlowBucket for FlowBucket6 {
    type Client = ([u64; 2], u32);
    flow_bucket_common!(FLOW6_WAYS);

    #[inline(always)]
    fn remembered(&self, way: usize, (src, ports): &([u64; 2], u32), want: u32) -> Option<u32> {
        // SAFETY (all reads): valid, aligned words of the map value.
        let meta = unsafe { core::ptr::read_volatile(&self.metas[way]) };
        let same = meta & !FLOW_META_BACKEND_MASK == want
            && unsafe { core::ptr::read_volatile(&self.ports[way]) } == *ports
            && unsafe { core::ptr::read_volatile(&self.srcs[way][0]) } == src[0]
            && unsafe { core::ptr::read_volatile(&self.srcs[way][1]) } == src[1];
        same.then_some(meta)
    }

    #[inline(always)]
    fn remember(&mut self, way: usize, (src, ports): &([u64; 2], u32), meta: u32) {
        // SAFETY (all writes): valid, aligned words of the map value.
        unsafe {
            core::ptr::write_volatile(&mut self.srcs[way][0], src[0]);
            core::ptr::write_volatile(&mut self.srcs[way][1], src[1]);
            core::ptr::write_volatile(&mut self.ports[way], *ports);
            core::ptr::write_volatile(&mut self.metas[way], meta);
        }
    }
}

/// The way a new flow takes: the first empty one, else CLOCK's choice: from the bucket's
/// hand, the first way not used since the hand last passed, marks cleared on the way (after
/// a full turn, the hand's own way). The hand then points past it. Indices stay in
/// `0..WAYS` by comparisons the verifier follows (a `%` it could not bound).
#[inline(always)]
fn clock_victim<B: FlowBucket>(bucket: &mut B) -> usize {
    for way in 0..B::WAYS {
        if bucket.is_empty(way) {
            return way;
        }
    }
    let mut hand = bucket.hand();
    if hand >= B::WAYS {
        hand = 0;
    }
    let mut victim = hand;
    for _ in 0..B::WAYS {
        if !bucket.take_referenced(hand) {
            victim = hand;
            break;
        }
        hand = if hand + 1 >= B::WAYS { 0 } else { hand + 1 };
    }
    bucket.set_hand(if victim + 1 >= B::WAYS { 0 } else { victim + 1 });
    victim
}

#[inline(always)]
fn active_backend(num: u32) -> Option<&'static Backend> {
    BACKENDS.get(num).filter(|b| b.active != 0)
}

#[inline(always)]
fn add_traffic(map: &PerCpuArray<Traffic>, index: u32, bytes: u64) {
    if let Some(t) = map.get_ptr_mut(index) {
        // SAFETY: a per-CPU slot is only touched by this CPU's program run.
        unsafe {
            (*t).packets += 1;
            (*t).bytes += bytes;
        }
    }
}

#[inline(always)]
fn parse_v4(pkt: &Packet) -> Option<Parsed> {
    let ip = pkt.get::<IPV4_LEN>(ETH_LEN)?;
    if ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = ((ip[0] & 0x0f) as usize) * 4;
    if ihl < IPV4_LEN {
        return None;
    }
    let mut flow = FlowKey { family: FAMILY_V4, proto: ip[9], ..FlowKey::default() };
    copy4(&mut flow.src, ip, 12);
    copy4(&mut flow.dst, ip, 16);
    let fragment = be16(ip, 6) & IPV4_FRAGMENT_MASK != 0;
    let mut p = Parsed { flow, id: be16(ip, 4), tos: ip[1], fragment, cut: false };
    if fragment {
        count(&COUNTERS, C::Fragment as u32);
        return Some(p);
    }
    if ihl > IPV4_LEN {
        count(&COUNTERS, C::Ipv4Options as u32);
    }
    let l4 = ETH_LEN + ihl;
    match p.flow.proto {
        PROTO_TCP | PROTO_UDP => read_ports(pkt, l4, &mut p),
        PROTO_ICMP => {
            let icmp = pkt.get::<ICMP_LEN>(l4)?;
            // Destination unreachable, fragmentation needed: about the quoted flow.
            if icmp[0] == ICMP_DEST_UNREACH && icmp[1] == ICMP_FRAG_NEEDED {
                quoted_v4(pkt, l4 + ICMP_LEN, &mut p.flow)?;
                count(&COUNTERS, C::IcmpTooBig as u32);
            }
        }
        _ => {}
    }
    Some(p)
}

/// The ports of the TCP/UDP header at `l4`, or the mark that it is cut short.
#[inline(always)]
fn read_ports(pkt: &Packet, l4: usize, p: &mut Parsed) {
    match pkt.get::<PORTS_LEN>(l4) {
        Some(ports) => {
            p.flow.sport = be16(ports, 0);
            p.flow.dport = be16(ports, 2);
        }
        None => p.cut = true,
    }
}

/// Turns the IPv4 packet quoted at `at` (sent by the VIP) into the flow it belongs to.
#[inline(always)]
fn quoted_v4(pkt: &Packet, at: usize, flow: &mut FlowKey) -> Option<()> {
    let ip = pkt.get::<IPV4_LEN>(at)?;
    let ihl = ((ip[0] & 0x0f) as usize) * 4;
    if ip[0] >> 4 != 4 || ihl < IPV4_LEN {
        return None;
    }
    let ports = pkt.get::<PORTS_LEN>(at + ihl)?;
    flow.proto = ip[9];
    copy4(&mut flow.src, ip, 16);
    copy4(&mut flow.dst, ip, 12);
    flow.sport = be16(ports, 2);
    flow.dport = be16(ports, 0);
    Some(())
}

#[inline(always)]
fn parse_v6(pkt: &Packet) -> Option<Parsed> {
    let ip = pkt.get::<IPV6_LEN>(ETH_LEN)?;
    if ip[0] >> 4 != 6 {
        return None;
    }
    let mut flow = FlowKey { family: FAMILY_V6, proto: ip[6], ..FlowKey::default() };
    copy16(&mut flow.src, ip, 8);
    copy16(&mut flow.dst, ip, 24);
    let tos = (be16(ip, 0) >> 4) as u8;
    let mut p = Parsed { flow, id: 0, tos, fragment: false, cut: false };
    let l4 = ETH_LEN + IPV6_LEN;
    match p.flow.proto {
        PROTO_TCP | PROTO_UDP => read_ports(pkt, l4, &mut p),
        PROTO_IPV6_FRAGMENT => {
            let frag = pkt.get::<IPV6_FRAG_LEN>(l4)?;
            p.flow.proto = frag[0];
            p.fragment = true;
            count(&COUNTERS, C::Fragment as u32);
        }
        PROTO_ICMPV6 => {
            let icmp = pkt.get::<ICMP_LEN>(l4)?;
            // Packet too big: about the quoted flow.
            if icmp[0] == ICMPV6_PACKET_TOO_BIG {
                quoted_v6(pkt, l4 + ICMP_LEN, &mut p.flow)?;
                count(&COUNTERS, C::IcmpTooBig as u32);
            }
        }
        _ => {}
    }
    Some(p)
}

#[inline(always)]
fn quoted_v6(pkt: &Packet, at: usize, flow: &mut FlowKey) -> Option<()> {
    let ip = pkt.get::<IPV6_LEN>(at)?;
    let ports = pkt.get::<PORTS_LEN>(at + IPV6_LEN)?;
    if ip[0] >> 4 != 6 {
        return None;
    }
    flow.proto = ip[6];
    copy16(&mut flow.src, ip, 24);
    copy16(&mut flow.dst, ip, 8);
    flow.sport = be16(ports, 2);
    flow.dport = be16(ports, 0);
    Some(())
}

#[inline(always)]
fn copy4(dst: &mut [u8; 16], src: &[u8], at: usize) {
    dst[0] = src[at];
    dst[1] = src[at + 1];
    dst[2] = src[at + 2];
    dst[3] = src[at + 3];
}

#[inline(always)]
fn copy16(dst: &mut [u8; 16], src: &[u8], at: usize) {
    let mut i = 0;
    while i < 16 {
        dst[i] = src[at + i];
        i += 1;
    }
}

/// Grows the headroom and writes Ether/IP/UDP(/GUE) in front of the inner IP packet (the
/// inner Ether header is overwritten by the outer headers).
#[inline(always)]
fn encapsulate(ctx: &XdpContext, config: &DirectorConfig, backend: &Backend, p: &Parsed, hash: u32) -> Result<(), C> {
    let inner_len = Packet::of(ctx).size() - ETH_LEN;
    let gue_len = if config.variant == 0 { GUE_LEN } else { 0 };
    let outer_ip_len = if backend.family == FAMILY_V4 { IPV4_LEN } else { IPV6_LEN };
    let grow = outer_ip_len + UDP_LEN + gue_len;
    let delta = -(grow as i32);
    #[cfg(feature = "faults")]
    let delta = if faults::on(faults::ADJUST_HEAD_SIGN) { -delta } else { delta };
    // SAFETY: a helper call on this program's own context.
    if unsafe { bpf_xdp_adjust_head(ctx.ctx, delta) } != 0 {
        return Err(C::NoHeadroom);
    }
    let mut pkt = Packet::of(ctx);
    let udp_len = (UDP_LEN + gue_len + inner_len) as u16;
    let inner_proto = if p.flow.family == FAMILY_V4 { PROTO_IPIP } else { PROTO_IPV6 };
    let ethertype = if backend.family == FAMILY_V4 { ETH_P_IPV4 } else { ETH_P_IPV6 };

    let eth = pkt.get_mut::<ETH_LEN>(0).ok_or(C::NoHeadroom)?;
    eth[..MAC_LEN].copy_from_slice(&config.next_hop_mac);
    eth[MAC_LEN..ETH_TYPE_AT].copy_from_slice(&config.src_mac);
    eth[ETH_TYPE_AT..].copy_from_slice(&ethertype.to_be_bytes());

    let l4 = if backend.family == FAMILY_V4 {
        let ip = pkt.get_mut::<IPV4_LEN>(ETH_LEN).ok_or(C::NoHeadroom)?;
        write_ipv4(ip, &config.src_v4, &backend.addr, IPV4_LEN as u16 + udp_len, p.id, p.tos);
        ETH_LEN + IPV4_LEN
    } else {
        let ip = pkt.get_mut::<IPV6_LEN>(ETH_LEN).ok_or(C::NoHeadroom)?;
        write_ipv6(ip, &config.src_v6, &backend.addr, udp_len, hash, p.tos);
        ETH_LEN + IPV6_LEN
    };
    let udp = pkt.get_mut::<{ UDP_LEN + GUE_LEN }>(l4).ok_or(C::NoHeadroom)?;
    udp[0..2].copy_from_slice(&outer_sport(hash).to_be_bytes());
    udp[2..4].copy_from_slice(&config.gue_port.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    // Zero: allowed over IPv4, and over IPv6 for tunnels (RFC 6935/6936); the decap end
    // strips the headers before any checksum check.
    udp[6] = 0;
    udp[7] = 0;
    if gue_len != 0 {
        // Variant 0, no control, hlen 0, proto, no flags.
        udp[8] = 0;
        udp[9] = inner_proto;
        udp[10] = 0;
        udp[11] = 0;
    }
    Ok(())
}

#[inline(always)]
fn write_ipv4(ip: &mut [u8; IPV4_LEN], src: &[u8; 4], dst: &[u8; 16], total_len: u16, id: u16, tos: u8) {
    ip[0] = 0x45;
    ip[1] = tos;
    ip[2..4].copy_from_slice(&total_len.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    // Don't fragment: the inner packet's sender does PMTU discovery through the VIP.
    ip[6] = IPV4_DF;
    ip[7] = 0;
    ip[8] = OUTER_TTL;
    ip[9] = PROTO_UDP;
    ip[12..16].copy_from_slice(src);
    ip[16..20].copy_from_slice(&dst[..4]);
    // The checksum from the values just written, with the checksum field counted as 0.
    let word = |b: &[u8], i: usize| ((b[i] as u32) << 8) | b[i + 1] as u32;
    #[cfg(feature = "faults")]
    if faults::on(faults::CSUM_NOT_ZEROED) {
        faults::csum_not_zeroed(ip, word);
        return;
    }
    let mut sum = (0x4500 | tos as u32) + total_len as u32 + id as u32 + ((IPV4_DF as u32) << 8)
        + ((OUTER_TTL as u32) << 8 | PROTO_UDP as u32)
        + word(src, 0) + word(src, 2) + word(dst, 0) + word(dst, 2);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

#[inline(always)]
fn write_ipv6(ip: &mut [u8; IPV6_LEN], src: &[u8; 16], dst: &[u8; 16], payload_len: u16, hash: u32, tclass: u8) {
    // Version 6, the inner traffic class, the flow hash as flow label (RFC 6438).
    let first = 6u32 << 28 | (tclass as u32) << 20 | (hash & 0xfffff);
    ip[0..4].copy_from_slice(&first.to_be_bytes());
    ip[4..6].copy_from_slice(&payload_len.to_be_bytes());
    ip[6] = PROTO_UDP;
    ip[7] = OUTER_TTL;
    ip[8..24].copy_from_slice(src);
    ip[24..40].copy_from_slice(dst);
}

/// Test-only fault switches: compiled only with the feature `faults` (the object
/// lb-xdp-director-faults, loaded only by `lb-xdp-faults director --fault NAME`), never
/// into the default director. The word in `FAULTS` (bits below, set by userspace before
/// the program is attached) turns real bugs met while writing this program back on; with
/// the word 0 the program behaves as the real one.
#[cfg(feature = "faults")]
mod faults {
    use aya_ebpf::{macros::map, maps::Array};
    use lb_xdp_ebpf::IPV4_LEN;

    /// The outer IPv4 checksum summed over the header as it lies in the packet, its
    /// checksum field never zeroed first: right only when that field (headroom the frame
    /// grew into, holding whatever a former frame left there) happened to be 0.
    pub const CSUM_NOT_ZEROED: u32 = 1 << 0;
    /// bpf_xdp_adjust_head with +grow instead of -grow: the frame shrinks instead of
    /// growing, the bounds check of the outer headers fails, XDP_DROP (no_headroom).
    pub const ADJUST_HEAD_SIGN: u32 = 1 << 1;

    #[map]
    static FAULTS: Array<u32> = Array::with_max_entries(1, 0);

    #[inline(always)]
    pub fn on(fault: u32) -> bool {
        FAULTS.get(0).is_some_and(|w| w & fault != 0)
    }

    /// The bug: `ip[10..12]` is summed as found.
    #[inline(always)]
    pub fn csum_not_zeroed(ip: &mut [u8; IPV4_LEN], word: impl Fn(&[u8], usize) -> u32) {
        let mut sum = 0u32;
        let mut i = 0;
        while i < IPV4_LEN {
            sum += word(ip, i);
            i += 2;
        }
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    }
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
