//! Types and functions shared by lb-xdp's eBPF programs and its userspace.
//!
//! Everything here is `#[repr(C)]` plain data: it is the layout of the BPF maps. The flow
//! hash lives here too, so that userspace (tests, the Maglev model) computes exactly what
//! the director computes.
#![no_std]

/// Slots in one VIP's Maglev table: a prime, as Maglev requires.
pub const RING_SIZE: u32 = 65537;
/// VIPs one director serves (the ring map holds `MAX_VIPS * RING_SIZE` slots).
pub const MAX_VIPS: u32 = 64;
/// Backends over all VIPs.
pub const MAX_BACKENDS: u32 = 1024;
/// Backends of one VIP (the per-VIP list userspace keeps to rebuild the ring).
pub const MAX_VIP_BACKENDS: usize = 64;
/// GUE's IANA port.
pub const DEFAULT_GUE_PORT: u16 = 6080;
/// Hop limit / TTL of the outer header.
pub const OUTER_TTL: u8 = 64;
/// Outer UDP source ports are drawn from the flow hash in this range (RFC 8086 §3.2.1
/// recommends the ephemeral range 49152..=65535 for tunnel entropy).
pub const SPORT_BASE: u16 = 49152;

pub const FAMILY_V4: u8 = 4;
pub const FAMILY_V6: u8 = 6;

pub const PROTO_ICMP: u8 = 1;
/// IPv4 in IP: GUE variant 0's proto for an inner IPv4 packet.
pub const PROTO_IPIP: u8 = 4;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
/// IPv6 in IP: GUE variant 0's proto for an inner IPv6 packet.
pub const PROTO_IPV6: u8 = 41;
/// The IPv6 Fragment extension header's next-header value.
pub const PROTO_IPV6_FRAGMENT: u8 = 44;
pub const PROTO_ICMPV6: u8 = 58;

/// ICMP type destination unreachable; with code [`ICMP_FRAG_NEEDED`], "fragmentation
/// needed and DF set" (RFC 792, 1191).
pub const ICMP_DEST_UNREACH: u8 = 3;
/// ICMP destination unreachable code: fragmentation needed.
pub const ICMP_FRAG_NEEDED: u8 = 4;
/// ICMPv6 type packet too big (RFC 4443).
pub const ICMPV6_PACKET_TOO_BIG: u8 = 2;

/// An address of either family: IPv4 in the first 4 bytes, the rest zero.
pub type Addr = [u8; 16];

/// A virtual IP service. `port` 0 matches any port of the protocol (looked up after the
/// exact key misses).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct VipKey {
    pub addr: Addr,
    /// Host byte order.
    pub port: u16,
    pub proto: u8,
    pub family: u8,
    pub _pad: [u8; 4],
}

impl VipKey {
    pub fn new(addr: Addr, port: u16, proto: u8, family: u8) -> VipKey {
        VipKey { addr, port, proto, family, _pad: [0; 4] }
    }

    #[inline(always)]
    fn words(&self) -> &[u64; 3] {
        // SAFETY: 24 bytes, 8-aligned, every byte initialised (padding is a field).
        unsafe { &*(self as *const VipKey as *const [u64; 3]) }
    }

    /// Equality as three word compares (no memcmp: BPF has none).
    #[inline(always)]
    pub fn same(&self, other: &VipKey) -> bool {
        let (a, b) = (self.words(), other.words());
        a[0] == b[0] && a[1] == b[1] && a[2] == b[2]
    }

    /// The key's home slot in the VIP table.
    #[inline(always)]
    pub fn home(&self) -> u32 {
        let w = self.words();
        let h = (w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 40) as u32 & (VIP_SLOTS - 1)
    }
}

/// The VIP table: open addressing over an array map, so that a lookup is a few inline
/// loads instead of a hash-map helper call (~40 ns each on the reference VM). A key sits
/// within `VIP_PROBES` slots of its home slot; userspace guarantees it when inserting.
pub const VIP_SLOTS: u32 = 1024;
pub const VIP_PROBES: u32 = 4;

/// One slot of the VIP table; empty while `key.family` is 0.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VipSlot {
    pub key: VipKey,
    pub meta: VipMeta,
}

/// `VipMeta::flags`: the entry (addr, port 0, proto 0) only marks an address that has
/// VIPs, so that packets to it with cut headers are dropped as malformed, not passed.
pub const VIP_ADDRESS_MARK: u32 = 1;

/// What the director knows of a VIP.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VipMeta {
    /// Index of the VIP's Maglev table in the ring map and of its counters.
    pub vip_num: u32,
    pub flags: u32,
}

/// A backend: where encapsulated packets of its flows go.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Backend {
    pub addr: Addr,
    pub family: u8,
    /// 1 while the backend is in use; flows remembered for a removed backend are re-hashed.
    pub active: u8,
    pub _pad: [u8; 2],
}

/// A flow as the connection table keys it: the client's view (client → VIP).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    pub src: Addr,
    pub dst: Addr,
    /// Host byte order; 0 for fragments (ports unknown).
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub family: u8,
    pub _pad: [u8; 2],
}

impl FlowKey {
    #[inline(always)]
    fn words(&self) -> &[u64; 5] {
        // SAFETY: 40 bytes, 8-aligned, every byte initialised (padding is a field).
        unsafe { &*(self as *const FlowKey as *const [u64; 5]) }
    }

    /// The source address as two words (IPv6: the whole address).
    #[inline(always)]
    pub fn src_words(&self) -> [u64; 2] {
        let w = self.words();
        [w[0], w[1]]
    }
}

/// Flag for the `FLOWS4`, `FLOWS6` and `RING` array maps (the kernel's `BPF_F_MMAPABLE`):
/// their values then start on a page boundary, so each 64-byte bucket or ring row is exactly
/// one cache line, each 128-byte bucket an aligned pair (without it the kernel guarantees them only 8-byte alignment). Userspace
/// never mmaps them.
pub const MAP_F_LINE_ALIGNED: u32 = 1 << 10;

// The connection table, one per family, array maps probed inline (no helper call). A
// bucket is chosen by the flow hash's low bits: one 64-byte line for IPv4, an aligned pair
// of lines for IPv6 (the L2's adjacent-line prefetch brings the pair in together). A miss
// takes an empty way, else replaces the first way from the bucket's hand not used since the
// hand last passed (CLOCK, the approximation of LRU the kernel's LRU map makes too).
//
// Whole flows in the bucket, so that a new flow reads and writes its bucket and nothing
// else of the table (a random line beyond the L2 cache costs ~100-230 ns on the reference
// VM: the table's single biggest cost). A flow is the client's address, the ports and a
// meta word (`flow_meta`): the VIP's number (which names the destination address and
// protocol), the backend, and the hash bits the bucket index leaves out. Shared by all
// CPUs without locks: the meta is written last, in one store, so that a way whose words
// two racing writers left from two flows matches neither. IPv4 (`FLOWS4`): 12 bytes
// (`flow4_word` and the meta); IPv6 (`FLOWS6`): 24 bytes.

/// log2 of the IPv4 table's bucket count.
pub const FLOW4_BUCKETS_LOG2: u32 = 16;
/// Buckets of the IPv4 table (the bucket is `hash & (FLOW4_BUCKETS - 1)`).
pub const FLOW4_BUCKETS: u32 = 1 << FLOW4_BUCKETS_LOG2;
/// Ways per IPv4 bucket: five 12-byte flows and their reference bits fill one cache line.
pub const FLOW4_WAYS: usize = 5;
/// IPv4 flows the table holds.
pub const MAX_FLOWS4: u32 = FLOW4_BUCKETS * FLOW4_WAYS as u32;
/// `FlowBucket4::metas` and `FlowBucket6::metas`: the backend number in the low bits (0,
/// never a backend, while the way is empty), the VIP number above it, the flow hash's high
/// half above that.
pub const FLOW_META_BACKEND_BITS: u32 = 10;
pub const FLOW_META_BACKEND_MASK: u32 = (1 << FLOW_META_BACKEND_BITS) - 1;
pub const FLOW_META_VIP_SHIFT: u32 = FLOW_META_BACKEND_BITS;
pub const FLOW_META_HASH_MASK: u32 = 0xffff_0000;

// Backend and VIP numbers fit their bits below the hash's; the hash bits kept are the ones
// the bucket index does not use.
const _: () = assert!(MAX_BACKENDS <= 1 << FLOW_META_BACKEND_BITS);
const _: () = assert!(((MAX_VIPS - 1) << FLOW_META_VIP_SHIFT) & FLOW_META_HASH_MASK == 0);
const _: () = assert!((FLOW4_BUCKETS - 1) & FLOW_META_HASH_MASK == 0);
const _: () = assert!((FLOW6_BUCKETS - 1) & FLOW_META_HASH_MASK == 0);

/// One bucket of the IPv4 table: one cache line, all a new IPv4 flow touches of the table.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlowBucket4 {
    /// Per way: [`flow4_word`]; written first.
    pub clients: [u64; FLOW4_WAYS],
    /// Per way: [`flow_meta`] with the backend number; written last, in one store.
    pub metas: [u32; FLOW4_WAYS],
    /// Bit `w`: way `w` was used since the replacement hand last passed.
    pub referenced: u8,
    /// CLOCK's hand: the way the next replacement starts looking at.
    pub hand: u8,
    pub _pad: [u8; 2],
}

const _: () = assert!(core::mem::size_of::<FlowBucket4>() == 64);
const _: () = assert!(FLOW4_WAYS <= 8);

/// `FlowBucket4::clients` of an IPv4 flow: source address (as in the packet), source port,
/// destination port. The rest of the key (destination, protocol) is the VIP's.
#[inline(always)]
pub fn flow4_word(key: &FlowKey) -> u64 {
    u32::from_le_bytes([key.src[0], key.src[1], key.src[2], key.src[3]]) as u64
        | (key.sport as u64) << 32
        | (key.dport as u64) << 48
}

/// The meta word of a flow (`FlowBucket4::metas`, `FlowBucket6::metas`), without the
/// backend number.
#[inline(always)]
pub fn flow_meta(hash: u32, vip_num: u32) -> u32 {
    (hash & FLOW_META_HASH_MASK) | (vip_num << FLOW_META_VIP_SHIFT)
}

/// log2 of the IPv6 table's bucket count.
pub const FLOW6_BUCKETS_LOG2: u32 = 16;
/// Buckets of the IPv6 table (the bucket is `hash & (FLOW6_BUCKETS - 1)`).
pub const FLOW6_BUCKETS: u32 = 1 << FLOW6_BUCKETS_LOG2;
/// Ways per IPv6 bucket: five 24-byte flows and their reference bits fill two lines.
pub const FLOW6_WAYS: usize = 5;
/// IPv6 flows the table holds.
pub const MAX_FLOWS6: u32 = FLOW6_BUCKETS * FLOW6_WAYS as u32;

/// One bucket of the IPv6 table: an aligned pair of cache lines, all a new IPv6 flow
/// touches of the table. The first line holds what a lookup compares first (metas, ports)
/// and the reference bits; the addresses, compared only when those match, fill the rest.
#[repr(C, align(128))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlowBucket6 {
    /// Per way: [`flow_meta`] with the backend number; written last, in one store.
    pub metas: [u32; FLOW6_WAYS],
    /// Per way: [`flow_ports`].
    pub ports: [u32; FLOW6_WAYS],
    /// Bit `w`: way `w` was used since the replacement hand last passed.
    pub referenced: u8,
    /// CLOCK's hand: the way the next replacement starts looking at.
    pub hand: u8,
    pub _pad: [u8; 6],
    /// Per way: the client's address ([`FlowKey::src_words`]).
    pub srcs: [[u64; 2]; FLOW6_WAYS],
}

const _: () = assert!(core::mem::size_of::<FlowBucket6>() == 128);
const _: () = assert!(FLOW6_WAYS <= 8);

/// `FlowBucket6::ports`: source port, destination port.
#[inline(always)]
pub fn flow_ports(key: &FlowKey) -> u32 {
    key.sport as u32 | (key.dport as u32) << 16
}

/// Maglev slots per row of the `RING` map: 32 backend numbers of 2 bytes, one cache line.
/// (An array map stores each value in a multiple of 8 bytes: one `u32` per entry took 8, a
/// VIP's table 512 KiB; packed in rows it is 128 KiB, and a lookup one line of it.)
pub const RING_ROW_SLOTS: u32 = 32;
/// Rows of one VIP's Maglev table (the last one partly used).
pub const RING_ROWS: u32 = RING_SIZE.div_ceil(RING_ROW_SLOTS);

/// One row of a VIP's Maglev table: backend numbers (0: none), slot `s` of VIP `v` at row
/// `v * RING_ROWS + s / RING_ROW_SLOTS`, column `s % RING_ROW_SLOTS` ([`ring_position`]).
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RingRow {
    /// Backend numbers.
    pub slots: [u16; RING_ROW_SLOTS as usize],
}

// Backend numbers fit the ring's 16-bit slots.
const _: () = assert!(MAX_BACKENDS <= 1 << 16);
const _: () = assert!(core::mem::size_of::<RingRow>() == 64);

/// Where Maglev slot `slot` of VIP `vip_num` lies in the `RING` map: (row, column).
#[inline(always)]
pub fn ring_position(vip_num: u32, slot: u32) -> (u32, usize) {
    (vip_num * RING_ROWS + slot / RING_ROW_SLOTS, (slot % RING_ROW_SLOTS) as usize)
}

/// The director's configuration (map `CONFIG`, one entry).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DirectorConfig {
    /// Outer IPv4 source.
    pub src_v4: [u8; 4],
    /// Outer IPv6 source.
    pub src_v6: Addr,
    /// Outer Ether source: the ingress interface's MAC.
    pub src_mac: [u8; 6],
    /// Outer Ether destination: the next hop toward the backends.
    pub next_hop_mac: [u8; 6],
    /// GUE destination port, host byte order.
    pub gue_port: u16,
    /// 0: GUE variant 0 (4-byte header with proto); 1: variant 1 (IP directly in UDP).
    pub variant: u8,
    /// 0: XDP_TX; 1: redirect through the devmap's slot 0.
    pub redirect: u8,
}

/// The decap program's configuration (map `CONFIG`, one entry).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DecapConfig {
    /// GUE destination port, host byte order.
    pub gue_port: u16,
    /// 1: redirect decapsulated packets through the devmap's slot 0 after rewriting the
    /// Ether destination to `redirect_mac`.
    pub redirect: u8,
    pub _pad: u8,
    pub redirect_mac: [u8; 6],
    pub _pad2: [u8; 2],
}

/// Per-CPU packet and byte counts (per VIP, per backend).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Traffic {
    pub packets: u64,
    pub bytes: u64,
}

macro_rules! reasons {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub const COUNT: u32 = $name::ALL.len() as u32;
            /// The counter's name as `lb-xdp stats` prints it.
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }
    };
}

reasons! {
    /// The director's per-CPU counters, by reason (map `COUNTERS`, indexed by the value).
    DirectorCounter {
        /// Not for a VIP: passed to the stack untouched.
        Pass = "pass",
        /// Encapsulated toward a backend.
        Encap = "encap",
        /// Flow found in the connection table.
        LruHit = "lru_hit",
        /// Flow not in the connection table: backend chosen by the Maglev table.
        LruMiss = "lru_miss",
        /// IPv4 fragment or IPv6 Fragment header: hashed on addresses and protocol only.
        Fragment = "fragment",
        /// IPv4 with options: ports read after the options, packet encapsulated unchanged.
        Ipv4Options = "ipv4_options",
        /// ICMP frag-needed / ICMPv6 packet-too-big about a VIP flow, sent to its backend.
        IcmpTooBig = "icmp_too_big",
        /// Cut or inconsistent headers for a VIP: dropped.
        Malformed = "malformed",
        /// A VIP with no backend: dropped.
        NoBackend = "no_backend",
        /// bpf_xdp_adjust_head refused to grow the headroom: dropped.
        NoHeadroom = "no_headroom",
        /// Sent with XDP_TX.
        Tx = "tx",
        /// Sent with a devmap redirect.
        Redirect = "redirect",
    }
}

reasons! {
    /// The decap program's per-CPU counters, by reason.
    DecapCounter {
        /// Not GUE on the configured port: passed untouched.
        Pass = "pass",
        /// GUE variant 0 decapsulated.
        DecapV0 = "decap_v0",
        /// GUE variant 1 decapsulated.
        DecapV1 = "decap_v1",
        /// GUE control message (C bit): passed to the stack untouched.
        Control = "control",
        /// GUE on the port but malformed (version, hlen past the packet, unknown proto,
        /// cut headers): dropped.
        Malformed = "malformed",
        /// bpf_xdp_adjust_head failed: dropped.
        AdjustFailed = "adjust_failed",
        /// Decapsulated packet redirected.
        Redirect = "redirect",
    }
}

/// The director's flow hash: all fields of the key mixed with murmur3's finaliser steps.
/// Straight-line code over 10 words, cheap in BPF and identical in userspace.
#[inline(always)]
pub fn flow_hash(key: &FlowKey) -> u32 {
    #[inline(always)]
    fn word(b: &[u8; 16], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }
    #[inline(always)]
    fn mix(h: u32, k: u32) -> u32 {
        let k = k.wrapping_mul(0xcc9e_2d51).rotate_left(15).wrapping_mul(0x1b87_3593);
        (h ^ k).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
    }
    let mut h = 0x9747_b28c_u32;
    h = mix(h, word(&key.src, 0));
    h = mix(h, word(&key.dst, 0));
    if key.family == FAMILY_V6 {
        let mut i = 4;
        while i < 16 {
            h = mix(h, word(&key.src, i));
            h = mix(h, word(&key.dst, i));
            i += 4;
        }
    }
    h = mix(h, (key.sport as u32) << 16 | key.dport as u32);
    h = mix(h, (key.proto as u32) << 8 | key.family as u32);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The Maglev slot of a flow hash: `hash * RING_SIZE / 2^32` (a multiply, not a division).
#[inline(always)]
pub fn ring_slot(hash: u32) -> u32 {
    ((hash as u64 * RING_SIZE as u64) >> 32) as u32
}

/// The outer UDP source port for a flow hash.
#[inline(always)]
pub fn outer_sport(hash: u32) -> u16 {
    SPORT_BASE | (hash as u16 & 0x3fff)
}

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all of these are #[repr(C)] structs of integers and byte arrays whose
    // padding is explicit, so any bit pattern is valid and no byte is uninitialised.
    unsafe impl aya::Pod for VipKey {}
    unsafe impl aya::Pod for VipMeta {}
    unsafe impl aya::Pod for Backend {}
    unsafe impl aya::Pod for FlowKey {}
    unsafe impl aya::Pod for VipSlot {}
    unsafe impl aya::Pod for FlowBucket4 {}
    unsafe impl aya::Pod for FlowBucket6 {}
    unsafe impl aya::Pod for RingRow {}
    unsafe impl aya::Pod for DirectorConfig {}
    unsafe impl aya::Pod for DecapConfig {}
    unsafe impl aya::Pod for Traffic {}
    unsafe impl aya::Pod for VipBackends {}
}

/// The backends of one VIP with their weights, as userspace last built its ring (map
/// `VIP_BACKENDS`, indexed by vip_num). The datapath never reads it: it lets `lb-xdp
/// backend add|remove` rebuild a running director's table from the maps alone.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipBackends {
    pub count: u32,
    pub backends: [u32; MAX_VIP_BACKENDS],
    pub weights: [u32; MAX_VIP_BACKENDS],
}

impl Default for VipBackends {
    fn default() -> Self {
        VipBackends { count: 0, backends: [0; MAX_VIP_BACKENDS], weights: [0; MAX_VIP_BACKENDS] }
    }
}
