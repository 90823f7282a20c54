//! Shared pieces of the craft benchmarks: the packet values every implementation uses,
//! the craft packets, the hand-written floor (template copy + checksums), and the
//! "every field" records that each parser fills so their results can be compared.
//!
//! Only craft is a dependency here; etherparse, pnet_packet, smoltcp and criterion live
//! in the bench target (`benches/packets.rs`), so `cargo test --workspace` never builds them.

use std::net::Ipv4Addr;

use craft::prelude::*;

/// Ether dst / src, as in the issue (`Ether(dst="02:00:00:00:00:33")`; src set too, so
/// scapy does not look it up from a route).
pub const ETH_DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x33];
pub const ETH_SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
pub const IP_SRC: [u8; 4] = [172, 17, 2, 1];
pub const IP_DST: [u8; 4] = [172, 17, 2, 2];
/// scapy's IP defaults: id 1, ttl 64, no flags.
pub const IP_ID: u16 = 1;
pub const IP_TTL: u8 = 64;
pub const TCP_SPORT: u16 = 49138;
pub const TCP_DPORT: u16 = 80;
/// scapy's TCP defaults: seq 0, ack 0, window 8192; flags S.
pub const TCP_WINDOW: u16 = 8192;
pub const TCP_SYN: u16 = 0x002;
pub const UDP_SPORT: u16 = 49138;
pub const UDP_DPORT: u16 = 9999;
/// The UDP payload of the 64-byte-payload packet: 0, 1, ..., 63.
pub const UDP_PAYLOAD: [u8; 64] = {
    let mut p = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        p[i] = i as u8;
        i += 1;
    }
    p
};
/// Inner addresses of the GUE packet.
pub const INNER_SRC: [u8; 4] = [10, 0, 0, 1];
pub const INNER_DST: [u8; 4] = [10, 0, 0, 2];
pub const GUE_PORT: u16 = 6080;

/// Lengths on the wire.
pub const TCP_LEN: usize = 14 + 20 + 20;
pub const UDP_LEN: usize = 14 + 20 + 8 + 64;
pub const GUE_LEN: usize = 14 + 20 + 8 + 4 + 20 + 20;

// ---------------------------------------------------------------------------------------
// craft packets
// ---------------------------------------------------------------------------------------

/// `Ether()/IP()/TCP(flags="S")` with typed values (no string parsing).
pub fn craft_tcp() -> Packet {
    Ether::new().dst(ETH_DST).src(ETH_SRC)
        / Ip::new().src(IP_SRC).dst(IP_DST)
        / Tcp::new().sport(TCP_SPORT).dport(TCP_DPORT).flags(TCP_SYN)
}

/// The same packet written as in the README, with string literals (parsed every time).
pub fn craft_tcp_str() -> Packet {
    Ether::new().dst("02:00:00:00:00:33").src("02:00:00:00:00:11")
        / Ip::new().src("172.17.2.1").dst("172.17.2.2")
        / Tcp::new().sport(49138).dport(80).flags("S")
}

/// `Ether()/IP()/UDP()/Raw(64 bytes)`.
pub fn craft_udp() -> Packet {
    Ether::new().dst(ETH_DST).src(ETH_SRC)
        / Ip::new().src(IP_SRC).dst(IP_DST)
        / Udp::new().sport(UDP_SPORT).dport(UDP_DPORT)
        / &UDP_PAYLOAD
}

/// `Ether()/IP()/UDP()/GUE()/IP()/TCP(flags="S")`; UDP dport auto (6080), checksums auto.
pub fn craft_gue() -> Packet {
    Ether::new().dst(ETH_DST).src(ETH_SRC)
        / Ip::new().src(IP_SRC).dst(IP_DST)
        / Udp::new().sport(UDP_SPORT)
        / Gue::new()
        / Ip::new().src(INNER_SRC).dst(INNER_DST)
        / Tcp::new().sport(TCP_SPORT).dport(TCP_DPORT).flags(TCP_SYN)
}

// ---------------------------------------------------------------------------------------
// The floor: copy a template, fill the checksums. Nothing can build these bytes faster
// in a general way; it is what a hand-written sender would do.
// ---------------------------------------------------------------------------------------

pub mod floor {
    use super::*;

    /// One's-complement sum of big-endian 16-bit words (even length), unfolded.
    #[inline(always)]
    pub fn sum16(data: &[u8]) -> u32 {
        let mut s = 0u32;
        let mut i = 0;
        while i + 1 < data.len() {
            s += u16::from_be_bytes([data[i], data[i + 1]]) as u32;
            i += 2;
        }
        if i < data.len() {
            s += (data[i] as u32) << 8;
        }
        s
    }

    #[inline(always)]
    pub fn fold(mut s: u32) -> u16 {
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        !(s as u16)
    }

    const fn put16(b: &mut [u8], at: usize, v: u16) {
        let be = v.to_be_bytes();
        b[at] = be[0];
        b[at + 1] = be[1];
    }

    const fn put4(b: &mut [u8], at: usize, v: [u8; 4]) {
        let mut i = 0;
        while i < 4 {
            b[at + i] = v[i];
            i += 1;
        }
    }

    const fn ether(b: &mut [u8], ethertype: u16) {
        let mut i = 0;
        while i < 6 {
            b[i] = ETH_DST[i];
            b[6 + i] = ETH_SRC[i];
            i += 1;
        }
        put16(b, 12, ethertype);
    }

    /// IPv4 header at `at`, checksum left zero.
    const fn ipv4(b: &mut [u8], at: usize, total_len: u16, proto: u8, src: [u8; 4], dst: [u8; 4]) {
        b[at] = 0x45;
        put16(b, at + 2, total_len);
        put16(b, at + 4, IP_ID);
        b[at + 8] = IP_TTL;
        b[at + 9] = proto;
        put4(b, at + 12, src);
        put4(b, at + 16, dst);
    }

    /// TCP SYN header at `at`, checksum left zero.
    const fn tcp(b: &mut [u8], at: usize) {
        put16(b, at, TCP_SPORT);
        put16(b, at + 2, TCP_DPORT);
        put16(b, at + 12, (5 << 12) | TCP_SYN);
        put16(b, at + 14, TCP_WINDOW);
    }

    /// Ether/IPv4/TCP SYN with zero checksums.
    pub const TCP_TEMPLATE: [u8; TCP_LEN] = {
        let mut b = [0u8; TCP_LEN];
        ether(&mut b, 0x0800);
        ipv4(&mut b, 14, 40, 6, IP_SRC, IP_DST);
        tcp(&mut b, 34);
        b
    };

    /// Ether/IPv4/UDP/64-byte payload with zero checksums.
    pub const UDP_TEMPLATE: [u8; UDP_LEN] = {
        let mut b = [0u8; UDP_LEN];
        ether(&mut b, 0x0800);
        ipv4(&mut b, 14, 20 + 8 + 64, 17, IP_SRC, IP_DST);
        put16(&mut b, 34, UDP_SPORT);
        put16(&mut b, 36, UDP_DPORT);
        put16(&mut b, 38, 8 + 64);
        let mut i = 0;
        while i < 64 {
            b[42 + i] = UDP_PAYLOAD[i];
            i += 1;
        }
        b
    };

    /// Ether/IPv4/UDP/GUE/IPv4/TCP SYN with zero checksums.
    pub const GUE_TEMPLATE: [u8; GUE_LEN] = {
        let mut b = [0u8; GUE_LEN];
        ether(&mut b, 0x0800);
        ipv4(&mut b, 14, (GUE_LEN - 14) as u16, 17, IP_SRC, IP_DST);
        put16(&mut b, 34, UDP_SPORT);
        put16(&mut b, 36, GUE_PORT);
        put16(&mut b, 38, (GUE_LEN - 34) as u16);
        // GUE variant 0, hlen 0, proto 4 (IPv4), flags 0.
        b[43] = 4;
        ipv4(&mut b, 46, 40, 6, INNER_SRC, INNER_DST);
        tcp(&mut b, 66);
        b
    };

    /// Pseudo-header sum of an IPv4 header at `ip` for `proto` over `len` bytes.
    #[inline(always)]
    fn pseudo(b: &[u8], ip: usize, proto: u8, len: usize) -> u32 {
        sum16(&b[ip + 12..ip + 20]) + proto as u32 + len as u32
    }

    #[inline(always)]
    fn ip_checksum(b: &mut [u8], ip: usize) {
        let ck = fold(sum16(&b[ip..ip + 20]));
        b[ip + 10..ip + 12].copy_from_slice(&ck.to_be_bytes());
    }

    #[inline(always)]
    fn l4_checksum(b: &mut [u8], ip: usize, l4: usize, proto: u8, ck_at: usize, zero_is_ffff: bool) {
        let len = b.len() - l4;
        let mut ck = fold(pseudo(b, ip, proto, len) + sum16(&b[l4..]));
        if zero_is_ffff && ck == 0 {
            ck = 0xffff;
        }
        b[l4 + ck_at..l4 + ck_at + 2].copy_from_slice(&ck.to_be_bytes());
    }

    /// Builds Ether/IPv4/TCP SYN into `out` (cleared first) from [`TCP_TEMPLATE`] (passed in
    /// so that a benchmark can hide it behind `black_box`: otherwise the compiler folds the
    /// checksums of a constant template at compile time).
    #[inline]
    pub fn build_tcp(template: &[u8; TCP_LEN], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(template);
        ip_checksum(out, 14);
        l4_checksum(out, 14, 34, 6, 16, false);
    }

    /// Builds Ether/IPv4/UDP + 64-byte payload into `out` (cleared first).
    #[inline]
    pub fn build_udp(template: &[u8; UDP_LEN], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(template);
        ip_checksum(out, 14);
        l4_checksum(out, 14, 34, 17, 6, true);
    }

    /// Builds Ether/IPv4/UDP/GUE/IPv4/TCP into `out` (cleared first): inner checksums
    /// first, the outer UDP checksum covers them.
    #[inline]
    pub fn build_gue(template: &[u8; GUE_LEN], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(template);
        ip_checksum(out, 14);
        ip_checksum(out, 46);
        l4_checksum(out, 46, 66, 6, 16, false);
        l4_checksum(out, 14, 34, 17, 6, true);
    }
}

// ---------------------------------------------------------------------------------------
// "Every field" records: what each parser reads, so results can be compared.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EtherFields {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ethertype: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv4Fields {
    pub version: u8,
    pub ihl: u8,
    pub tos: u8,
    pub len: u16,
    pub id: u16,
    pub flags: u8,
    pub frag: u16,
    pub ttl: u8,
    pub proto: u8,
    pub chksum: u16,
    pub src: [u8; 4],
    pub dst: [u8; 4],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFields {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub dataofs: u8,
    pub reserved: u8,
    /// 9 bits: NS..FIN.
    pub flags: u16,
    pub window: u16,
    pub chksum: u16,
    pub urgptr: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpFields {
    pub sport: u16,
    pub dport: u16,
    pub len: u16,
    pub chksum: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthIpTcp {
    pub eth: EtherFields,
    pub ip: Ipv4Fields,
    pub tcp: TcpFields,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthIpUdp<'a> {
    pub eth: EtherFields,
    pub ip: Ipv4Fields,
    pub udp: UdpFields,
    pub payload: &'a [u8],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GueFields {
    pub ver: u8,
    pub c: u8,
    pub hlen: u8,
    pub proto: u8,
    pub flags: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthIpUdpGue {
    pub eth: EtherFields,
    pub ip: Ipv4Fields,
    pub udp: UdpFields,
    pub gue: GueFields,
    pub inner_ip: Ipv4Fields,
    pub tcp: TcpFields,
}

/// Reading the fields back out of craft's layer tree (after `dissect_into`), as a caller
/// would: one slice pattern over the layers, then every field.
pub mod craft_read {
    use super::*;
    use craft::layers::{Ether, Gue, Ip, Tcp, Udp};

    #[inline(always)]
    pub fn ether(e: &Ether) -> EtherFields {
        EtherFields {
            dst: e.dst.unwrap_or_default().0,
            src: e.src.unwrap_or_default().0,
            ethertype: e.r#type.unwrap_or(0),
        }
    }

    #[inline(always)]
    pub fn ip(i: &Ip) -> Ipv4Fields {
        Ipv4Fields {
            version: i.version,
            ihl: i.ihl.unwrap_or(0),
            tos: i.tos,
            len: i.len.unwrap_or(0),
            id: i.id,
            flags: i.flags,
            frag: i.frag,
            ttl: i.ttl,
            proto: i.proto.unwrap_or(0),
            chksum: i.chksum.unwrap_or(0),
            src: i.src.unwrap_or(Ipv4Addr::UNSPECIFIED).octets(),
            dst: i.dst.octets(),
        }
    }

    #[inline(always)]
    pub fn tcp(t: &Tcp) -> TcpFields {
        TcpFields {
            sport: t.sport,
            dport: t.dport,
            seq: t.seq,
            ack: t.ack,
            dataofs: t.dataofs.unwrap_or(0),
            reserved: t.reserved,
            flags: t.flags.0,
            window: t.window,
            chksum: t.chksum.unwrap_or(0),
            urgptr: t.urgptr,
        }
    }

    #[inline(always)]
    pub fn udp(u: &Udp) -> UdpFields {
        UdpFields {
            sport: u.sport,
            dport: u.dport.unwrap_or(0),
            len: u.len.unwrap_or(0),
            chksum: u.chksum.unwrap_or(0),
        }
    }

    #[inline(always)]
    pub fn gue(g: &Gue) -> GueFields {
        GueFields { ver: g.ver, c: g.c, hlen: g.hlen.unwrap_or(0), proto: g.proto.unwrap_or(0), flags: g.flags }
    }

    pub fn eth_ip_tcp(p: &Packet) -> EthIpTcp {
        let [Layer::Ether(e), Layer::Ip(i), Layer::Tcp(t)] = &p.layers[..] else { return EthIpTcp::default() };
        EthIpTcp { eth: ether(e), ip: ip(i), tcp: tcp(t) }
    }

    pub fn eth_ip_udp(p: &Packet) -> EthIpUdp<'_> {
        let [Layer::Ether(e), Layer::Ip(i), Layer::Udp(u), rest @ ..] = &p.layers[..] else { return EthIpUdp::default() };
        let payload = match rest {
            [Layer::Raw(r)] => &r.load[..],
            _ => &[],
        };
        EthIpUdp { eth: ether(e), ip: ip(i), udp: udp(u), payload }
    }

    pub fn gue_pkt(p: &Packet) -> EthIpUdpGue {
        let [Layer::Ether(e), Layer::Ip(i), Layer::Udp(u), Layer::Gue(g), Layer::Ip(inner), Layer::Tcp(t)] = &p.layers[..] else {
            return EthIpUdpGue::default();
        };
        EthIpUdpGue { eth: ether(e), ip: ip(i), udp: udp(u), gue: gue(g), inner_ip: ip(inner), tcp: tcp(t) }
    }
}

/// The hand-written parse floor: bounds checks and big-endian loads straight from bytes.
pub mod floor_read {
    use super::*;

    #[inline(always)]
    fn be16(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }
    #[inline(always)]
    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[inline(always)]
    pub fn ether(b: &[u8; 14]) -> EtherFields {
        EtherFields {
            dst: b[0..6].try_into().unwrap(),
            src: b[6..12].try_into().unwrap(),
            ethertype: be16(b, 12),
        }
    }

    #[inline(always)]
    pub fn ip(b: &[u8; 20]) -> Ipv4Fields {
        Ipv4Fields {
            version: b[0] >> 4,
            ihl: b[0] & 0xf,
            tos: b[1],
            len: be16(b, 2),
            id: be16(b, 4),
            flags: b[6] >> 5,
            frag: be16(b, 6) & 0x1fff,
            ttl: b[8],
            proto: b[9],
            chksum: be16(b, 10),
            src: b[12..16].try_into().unwrap(),
            dst: b[16..20].try_into().unwrap(),
        }
    }

    #[inline(always)]
    pub fn tcp(b: &[u8; 20]) -> TcpFields {
        TcpFields {
            sport: be16(b, 0),
            dport: be16(b, 2),
            seq: be32(b, 4),
            ack: be32(b, 8),
            dataofs: b[12] >> 4,
            reserved: (b[12] >> 1) & 7,
            flags: be16(b, 12) & 0x1ff,
            window: be16(b, 14),
            chksum: be16(b, 16),
            urgptr: be16(b, 18),
        }
    }

    #[inline(always)]
    pub fn udp(b: &[u8; 8]) -> UdpFields {
        UdpFields { sport: be16(b, 0), dport: be16(b, 2), len: be16(b, 4), chksum: be16(b, 6) }
    }

    fn arr<const N: usize>(b: &[u8], at: usize) -> Option<&[u8; N]> {
        b.get(at..at + N).map(|s| s.try_into().unwrap())
    }

    /// Ether/IPv4 (no options)/TCP (options skipped by dataofs).
    pub fn eth_ip_tcp(b: &[u8]) -> Option<EthIpTcp> {
        let eth = ether(arr(b, 0)?);
        let ip = ip(arr(b, 14)?);
        let l4 = 14 + 4 * ip.ihl as usize;
        let tcp = tcp(arr(b, l4)?);
        Some(EthIpTcp { eth, ip, tcp })
    }

    pub fn eth_ip_udp(b: &[u8]) -> Option<EthIpUdp<'_>> {
        let eth = ether(arr(b, 0)?);
        let ip = ip(arr(b, 14)?);
        let l4 = 14 + 4 * ip.ihl as usize;
        let udp = udp(arr(b, l4)?);
        let end = (14 + ip.len as usize).min(b.len());
        let payload = b.get(l4 + 8..end)?;
        Some(EthIpUdp { eth, ip, udp, payload })
    }
}
