//! craft side by side with etherparse, pnet_packet, smoltcp and a hand-written floor.
//!
//! Groups (one function per implementation):
//! - `build/eth_ip_tcp_54B`, `parse/eth_ip_tcp_54B`: Ether/IPv4/TCP SYN, no payload.
//! - `build/eth_ip_udp_64B`, `parse/eth_ip_udp_64B`: Ether/IPv4/UDP, 64-byte payload.
//! - `build/gue`, `parse/gue`: Ether/IPv4/UDP/GUE/IPv4/TCP SYN.
//!
//! Every build computes every derived field (lengths, ihl/dataofs, all checksums) into a
//! buffer reused across iterations. Every parse reads every header field into the same
//! record type (see `benches::EthIpTcp`). Before timing, each group checks that every
//! implementation produces craft's bytes (build) or craft's fields (parse).
//!
//! Run: `cargo bench -p benches` (filters: `cargo bench -p benches -- parse/`).

use std::hint::black_box;
use std::net::Ipv4Addr;

use benches::*;
use craft::layer::DissectCx;
use craft::prelude::*;
use criterion::{criterion_group, Criterion, Throughput};

/// The values a builder takes, read through `black_box` so that no implementation can
/// fold them (and the checksums over them) at compile time.
#[derive(Clone, Copy)]
struct Params {
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    ip_src: [u8; 4],
    ip_dst: [u8; 4],
    ip_id: u16,
    ttl: u8,
    sport: u16,
    dport: u16,
    seq: u32,
    window: u16,
    udp_sport: u16,
    udp_dport: u16,
    inner_src: [u8; 4],
    inner_dst: [u8; 4],
}

const PARAMS: Params = Params {
    eth_src: ETH_SRC,
    eth_dst: ETH_DST,
    ip_src: IP_SRC,
    ip_dst: IP_DST,
    ip_id: IP_ID,
    ttl: IP_TTL,
    sport: TCP_SPORT,
    dport: TCP_DPORT,
    seq: 0,
    window: TCP_WINDOW,
    udp_sport: UDP_SPORT,
    udp_dport: UDP_DPORT,
    inner_src: INNER_SRC,
    inner_dst: INNER_DST,
};

// =======================================================================================
// craft
// =======================================================================================

mod craft_impl {
    use super::*;

    /// Composes the packet with `/` from (opaque) typed values, as a caller would per packet.
    #[inline(never)]
    pub fn compose_tcp(p: &Params) -> Packet {
        Ether::new().dst(p.eth_dst).src(p.eth_src)
            / Ip::new().src(p.ip_src).dst(p.ip_dst).id(p.ip_id).ttl(p.ttl)
            / Tcp::new().sport(p.sport).dport(p.dport).seq(p.seq).window(p.window).flags(TCP_SYN)
    }

    #[inline(never)]
    pub fn compose_udp(p: &Params, payload: &[u8]) -> Packet {
        Ether::new().dst(p.eth_dst).src(p.eth_src)
            / Ip::new().src(p.ip_src).dst(p.ip_dst).id(p.ip_id).ttl(p.ttl)
            / Udp::new().sport(p.udp_sport).dport(p.udp_dport)
            / payload
    }

    #[inline(never)]
    pub fn compose_gue(p: &Params) -> Packet {
        Ether::new().dst(p.eth_dst).src(p.eth_src)
            / Ip::new().src(p.ip_src).dst(p.ip_dst).id(p.ip_id).ttl(p.ttl)
            / Udp::new().sport(p.udp_sport)
            / Gue::new()
            / Ip::new().src(p.inner_src).dst(p.inner_dst).id(p.ip_id).ttl(p.ttl)
            / Tcp::new().sport(p.sport).dport(p.dport).seq(p.seq).window(p.window).flags(TCP_SYN)
    }
}

// =======================================================================================
// etherparse
// =======================================================================================

mod etherparse_impl {
    use super::*;
    use etherparse::{
        IpHeaders, IpNumber, Ipv4Header, LinkSlice, NetSlice, PacketBuilder, SlicedPacket, TcpHeader,
        TransportSlice,
    };

    fn ipv4(p: &Params, proto: IpNumber) -> IpHeaders {
        // Ipv4Header::new sets DF and id 0; scapy's defaults are no flags and id 1.
        let mut ip = Ipv4Header::new(0, p.ttl, proto, p.ip_src, p.ip_dst).unwrap();
        ip.identification = p.ip_id;
        ip.dont_fragment = false;
        IpHeaders::Ipv4(ip, Default::default())
    }

    fn tcp_header(p: &Params) -> TcpHeader {
        let mut tcp = TcpHeader::new(p.sport, p.dport, p.seq, p.window);
        tcp.syn = true;
        tcp
    }

    /// PacketBuilder (consumed by `write`, so built per packet) into a reused Vec.
    #[inline(never)]
    pub fn build_tcp(p: &Params, out: &mut Vec<u8>) {
        out.clear();
        PacketBuilder::ethernet2(p.eth_src, p.eth_dst)
            .ip(ipv4(p, IpNumber::TCP))
            .tcp_header(tcp_header(p))
            .write_to_vec(out, &[])
            .unwrap();
    }

    #[inline(never)]
    pub fn build_udp(p: &Params, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        PacketBuilder::ethernet2(p.eth_src, p.eth_dst)
            .ip(ipv4(p, IpNumber::UDP))
            .udp(p.udp_sport, p.udp_dport)
            .write_to_vec(out, payload)
            .unwrap();
    }

    fn ether(s: &SlicedPacket) -> Option<EtherFields> {
        let Some(LinkSlice::Ethernet2(e)) = &s.link else { return None };
        Some(EtherFields { dst: e.destination(), src: e.source(), ethertype: e.ether_type().0 })
    }

    fn ip(h: etherparse::Ipv4HeaderSlice) -> Ipv4Fields {
        // The reserved ("evil") flag has no accessor: read it from the header slice.
        let evil = h.slice()[6] >> 7;
        Ipv4Fields {
            version: h.version(),
            ihl: h.ihl(),
            tos: (h.dcp().value() << 2) | h.ecn().value(),
            len: h.total_len(),
            id: h.identification(),
            flags: (evil << 2) | ((h.dont_fragment() as u8) << 1) | h.more_fragments() as u8,
            frag: h.fragments_offset().value(),
            ttl: h.ttl(),
            proto: h.protocol().0,
            chksum: h.header_checksum(),
            src: h.source(),
            dst: h.destination(),
        }
    }

    fn tcp(t: &etherparse::TcpSlice) -> TcpFields {
        let flags = (t.ns() as u16) << 8
            | (t.cwr() as u16) << 7
            | (t.ece() as u16) << 6
            | (t.urg() as u16) << 5
            | (t.ack() as u16) << 4
            | (t.psh() as u16) << 3
            | (t.rst() as u16) << 2
            | (t.syn() as u16) << 1
            | t.fin() as u16;
        TcpFields {
            sport: t.source_port(),
            dport: t.destination_port(),
            seq: t.sequence_number(),
            ack: t.acknowledgment_number(),
            dataofs: t.data_offset(),
            // No accessor for the 3 reserved bits either.
            reserved: (t.slice()[12] >> 1) & 7,
            flags,
            window: t.window_size(),
            chksum: t.checksum(),
            urgptr: t.urgent_pointer(),
        }
    }

    fn udp(u: &etherparse::UdpSlice) -> UdpFields {
        UdpFields { sport: u.source_port(), dport: u.destination_port(), len: u.length(), chksum: u.checksum() }
    }

    /// SlicedPacket, then every field through the slices' accessors.
    #[inline(never)]
    pub fn parse_tcp(b: &[u8]) -> Option<EthIpTcp> {
        let s = SlicedPacket::from_ethernet(b).ok()?;
        let eth = ether(&s)?;
        let Some(NetSlice::Ipv4(ipv4)) = &s.net else { return None };
        let Some(TransportSlice::Tcp(t)) = &s.transport else { return None };
        Some(EthIpTcp { eth, ip: ip(ipv4.header()), tcp: tcp(t) })
    }

    #[inline(never)]
    pub fn parse_udp(b: &[u8]) -> Option<EthIpUdp<'_>> {
        let s = SlicedPacket::from_ethernet(b).ok()?;
        let eth = ether(&s)?;
        let Some(NetSlice::Ipv4(ipv4)) = &s.net else { return None };
        let Some(TransportSlice::Udp(u)) = &s.transport else { return None };
        Some(EthIpUdp { eth, ip: ip(ipv4.header()), udp: udp(u), payload: u.payload() })
    }

    /// etherparse knows no GUE: Ether/IPv4/UDP, the rest is the UDP payload.
    #[inline(never)]
    pub fn parse_gue_to_udp(b: &[u8]) -> Option<(EtherFields, Ipv4Fields, UdpFields, &[u8])> {
        let s = SlicedPacket::from_ethernet(b).ok()?;
        let eth = ether(&s)?;
        let Some(NetSlice::Ipv4(ipv4)) = &s.net else { return None };
        let Some(TransportSlice::Udp(u)) = &s.transport else { return None };
        Some((eth, ip(ipv4.header()), udp(u), u.payload()))
    }

    /// The whole GUE packet: etherparse to UDP, GUE's 4 bytes by hand, etherparse again
    /// from the inner IPv4 header.
    #[inline(never)]
    pub fn parse_gue_full(b: &[u8]) -> Option<EthIpUdpGue> {
        let (eth, outer, udp, payload) = parse_gue_to_udp(b)?;
        let g = payload.get(..4)?;
        let gue = GueFields {
            ver: g[0] >> 6,
            c: (g[0] >> 5) & 1,
            hlen: g[0] & 0x1f,
            proto: g[1],
            flags: u16::from_be_bytes([g[2], g[3]]),
        };
        let inner = SlicedPacket::from_ip(payload.get(4 + 4 * gue.hlen as usize..)?).ok()?;
        let Some(NetSlice::Ipv4(inner_ip)) = &inner.net else { return None };
        let Some(TransportSlice::Tcp(t)) = &inner.transport else { return None };
        Some(EthIpUdpGue { eth, ip: outer, udp, gue, inner_ip: ip(inner_ip.header()), tcp: tcp(t) })
    }
}

// =======================================================================================
// pnet_packet
// =======================================================================================

mod pnet_impl {
    use super::*;
    use pnet_base::MacAddr;
    use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
    use pnet_packet::ip::IpNextHeaderProtocols;
    use pnet_packet::ipv4::{self, Ipv4Packet, MutableIpv4Packet};
    use pnet_packet::tcp::{self, MutableTcpPacket, TcpPacket};
    use pnet_packet::udp::{self, MutableUdpPacket, UdpPacket};
    use pnet_packet::Packet as _;

    fn ether(buf: &mut [u8], p: &Params) {
        let mut eth = MutableEthernetPacket::new(buf).unwrap();
        eth.set_destination(MacAddr::from(p.eth_dst));
        eth.set_source(MacAddr::from(p.eth_src));
        eth.set_ethertype(EtherTypes::Ipv4);
    }

    /// Every IPv4 field by its setter, then pnet's header checksum.
    fn ipv4(buf: &mut [u8], p: &Params, total_len: u16, proto: pnet_packet::ip::IpNextHeaderProtocol) {
        let mut ip = MutableIpv4Packet::new(buf).unwrap();
        ip.set_version(4);
        ip.set_header_length(5);
        ip.set_dscp(0);
        ip.set_ecn(0);
        ip.set_total_length(total_len);
        ip.set_identification(p.ip_id);
        ip.set_flags(0);
        ip.set_fragment_offset(0);
        ip.set_ttl(p.ttl);
        ip.set_next_level_protocol(proto);
        ip.set_checksum(0);
        ip.set_source(Ipv4Addr::from(p.ip_src));
        ip.set_destination(Ipv4Addr::from(p.ip_dst));
        let ck = ipv4::checksum(&ip.to_immutable());
        ip.set_checksum(ck);
    }

    /// Setters into a reused, right-sized buffer; lengths are the caller's arithmetic.
    #[inline(never)]
    pub fn build_tcp(p: &Params, buf: &mut [u8; TCP_LEN]) {
        ether(&mut buf[..14], p);
        ipv4(&mut buf[14..34], p, 40, IpNextHeaderProtocols::Tcp);
        let mut t = MutableTcpPacket::new(&mut buf[34..]).unwrap();
        t.set_source(p.sport);
        t.set_destination(p.dport);
        t.set_sequence(p.seq);
        t.set_acknowledgement(0);
        t.set_data_offset(5);
        t.set_reserved(0);
        t.set_flags(tcp::TcpFlags::SYN);
        t.set_window(p.window);
        t.set_checksum(0);
        t.set_urgent_ptr(0);
        let ck = tcp::ipv4_checksum(&t.to_immutable(), &Ipv4Addr::from(p.ip_src), &Ipv4Addr::from(p.ip_dst));
        t.set_checksum(ck);
    }

    #[inline(never)]
    pub fn build_udp(p: &Params, payload: &[u8], buf: &mut [u8; UDP_LEN]) {
        ether(&mut buf[..14], p);
        ipv4(&mut buf[14..34], p, (20 + 8 + payload.len()) as u16, IpNextHeaderProtocols::Udp);
        let mut u = MutableUdpPacket::new(&mut buf[34..]).unwrap();
        u.set_source(p.udp_sport);
        u.set_destination(p.udp_dport);
        u.set_length((8 + payload.len()) as u16);
        u.set_checksum(0);
        u.set_payload(payload);
        let ck = udp::ipv4_checksum(&u.to_immutable(), &Ipv4Addr::from(p.ip_src), &Ipv4Addr::from(p.ip_dst));
        u.set_checksum(ck);
    }

    fn ether_fields(e: &EthernetPacket) -> EtherFields {
        EtherFields { dst: e.get_destination().octets(), src: e.get_source().octets(), ethertype: e.get_ethertype().0 }
    }

    fn ip_fields(i: &Ipv4Packet) -> Ipv4Fields {
        Ipv4Fields {
            version: i.get_version(),
            ihl: i.get_header_length(),
            tos: (i.get_dscp() << 2) | i.get_ecn(),
            len: i.get_total_length(),
            id: i.get_identification(),
            flags: i.get_flags(),
            frag: i.get_fragment_offset(),
            ttl: i.get_ttl(),
            proto: i.get_next_level_protocol().0,
            chksum: i.get_checksum(),
            src: i.get_source().octets(),
            dst: i.get_destination().octets(),
        }
    }

    /// Getters for every field.
    #[inline(never)]
    pub fn parse_tcp(b: &[u8]) -> Option<EthIpTcp> {
        let e = EthernetPacket::new(b)?;
        let i = Ipv4Packet::new(e.payload())?;
        let t = TcpPacket::new(i.payload())?;
        // pnet's 4-bit `reserved` holds the 3 reserved bits and NS.
        let res = t.get_reserved();
        Some(EthIpTcp {
            eth: ether_fields(&e),
            ip: ip_fields(&i),
            tcp: TcpFields {
                sport: t.get_source(),
                dport: t.get_destination(),
                seq: t.get_sequence(),
                ack: t.get_acknowledgement(),
                dataofs: t.get_data_offset(),
                reserved: res >> 1,
                flags: ((res as u16 & 1) << 8) | t.get_flags() as u16,
                window: t.get_window(),
                chksum: t.get_checksum(),
                urgptr: t.get_urgent_ptr(),
            },
        })
    }

    #[inline(never)]
    pub fn parse_udp(b: &[u8]) -> Option<(EthIpUdp<'_>, usize)> {
        let e = EthernetPacket::new(b)?;
        let i = Ipv4Packet::new(e.payload())?;
        let eth = ether_fields(&e);
        let ip = ip_fields(&i);
        let u = UdpPacket::new(i.payload())?;
        let udp = UdpFields { sport: u.get_source(), dport: u.get_destination(), len: u.get_length(), chksum: u.get_checksum() };
        // pnet's packets borrow from each other, so the payload cannot be returned as a
        // slice of `b` through them: return its offset instead (14 + ihl*4 + 8).
        let payload_len = u.payload().len();
        let off = 14 + 4 * ip.ihl as usize + 8;
        Some((EthIpUdp { eth, ip, udp, payload: &b[off..off + payload_len] }, payload_len))
    }
}

// =======================================================================================
// smoltcp
// =======================================================================================

mod smoltcp_impl {
    use super::*;
    use smoltcp::phy::{Checksum, ChecksumCapabilities};
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol, Ipv4Packet,
        Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
    };

    /// Everything computed and verified.
    pub fn caps() -> ChecksumCapabilities {
        ChecksumCapabilities::default()
    }

    /// Ipv4Repr::emit always writes id 0 and DF: the IPv4 checksum is left to one
    /// `fill_checksum` after patching id and flags to scapy's, so it is computed once.
    pub fn caps_ipv4_deferred() -> ChecksumCapabilities {
        let mut c = ChecksumCapabilities::default();
        c.ipv4 = Checksum::None;
        c
    }

    fn eth_ip(buf: &mut [u8], p: &Params, proto: IpProtocol, payload_len: usize, caps: &ChecksumCapabilities) {
        let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
        EthernetRepr {
            src_addr: EthernetAddress(p.eth_src),
            dst_addr: EthernetAddress(p.eth_dst),
            ethertype: EthernetProtocol::Ipv4,
        }
        .emit(&mut frame);
        let mut ip = Ipv4Packet::new_unchecked(frame.payload_mut());
        Ipv4Repr {
            src_addr: Ipv4Addr::from(p.ip_src),
            dst_addr: Ipv4Addr::from(p.ip_dst),
            next_header: proto,
            payload_len,
            hop_limit: p.ttl,
        }
        .emit(&mut ip, caps);
        ip.set_ident(p.ip_id);
        ip.set_dont_frag(false);
        ip.fill_checksum();
    }

    /// EthernetRepr / Ipv4Repr / TcpRepr emit; TCP checksum by the caps.
    #[inline(never)]
    pub fn build_tcp(p: &Params, buf: &mut [u8; TCP_LEN], caps: &ChecksumCapabilities) {
        eth_ip(buf, p, IpProtocol::Tcp, 20, caps);
        let repr = TcpRepr {
            src_port: p.sport,
            dst_port: p.dport,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(p.seq as i32),
            ack_number: None,
            window_len: p.window,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let mut t = TcpPacket::new_unchecked(&mut buf[34..]);
        let (src, dst) = (IpAddress::Ipv4(p.ip_src.into()), IpAddress::Ipv4(p.ip_dst.into()));
        repr.emit(&mut t, &src, &dst, caps);
    }

    #[inline(never)]
    pub fn build_udp(p: &Params, payload: &[u8], buf: &mut [u8; UDP_LEN], caps: &ChecksumCapabilities) {
        eth_ip(buf, p, IpProtocol::Udp, 8 + payload.len(), caps);
        let repr = UdpRepr { src_port: p.udp_sport, dst_port: p.udp_dport };
        let mut u = UdpPacket::new_unchecked(&mut buf[34..]);
        let (src, dst) = (IpAddress::Ipv4(p.ip_src.into()), IpAddress::Ipv4(p.ip_dst.into()));
        repr.emit(&mut u, &src, &dst, payload.len(), |b| b.copy_from_slice(payload), caps);
    }

    /// What smoltcp's Reprs carry (they leave out tos, id, flags, checksums, urgptr...).
    #[derive(Debug)]
    pub struct Parsed<'a, L4> {
        pub eth: EthernetRepr,
        pub ip: Ipv4Repr,
        pub l4: L4,
        pub payload: &'a [u8],
    }

    /// `Repr::parse` for each layer, checksums verified (`new_checked` + default caps).
    #[inline(never)]
    pub fn parse_tcp<'a>(b: &'a [u8], caps: &ChecksumCapabilities) -> Option<Parsed<'a, TcpRepr<'a>>> {
        let frame = EthernetFrame::new_checked(b).ok()?;
        let eth = EthernetRepr::parse(&frame).ok()?;
        let ipp = Ipv4Packet::new_checked(&b[14..]).ok()?;
        let ip = Ipv4Repr::parse(&ipp, caps).ok()?;
        let l4 = &b[14 + ipp.header_len() as usize..14 + ipp.total_len() as usize];
        let tp = TcpPacket::new_checked(l4).ok()?;
        let (src, dst) = (IpAddress::Ipv4(ip.src_addr), IpAddress::Ipv4(ip.dst_addr));
        let tcp = TcpRepr::parse(&tp, &src, &dst, caps).ok()?;
        Some(Parsed { eth, ip, payload: tcp.payload, l4: tcp })
    }

    #[inline(never)]
    pub fn parse_udp<'a>(b: &'a [u8], caps: &ChecksumCapabilities) -> Option<Parsed<'a, UdpRepr>> {
        let frame = EthernetFrame::new_checked(b).ok()?;
        let eth = EthernetRepr::parse(&frame).ok()?;
        let ipp = Ipv4Packet::new_checked(&b[14..]).ok()?;
        let ip = Ipv4Repr::parse(&ipp, caps).ok()?;
        let l4 = &b[14 + ipp.header_len() as usize..14 + ipp.total_len() as usize];
        let up = UdpPacket::new_checked(l4).ok()?;
        let (src, dst) = (IpAddress::Ipv4(ip.src_addr), IpAddress::Ipv4(ip.dst_addr));
        let udp = UdpRepr::parse(&up, &src, &dst, caps).ok()?;
        let payload = &l4[8..up.len() as usize];
        Some(Parsed { eth, ip, l4: udp, payload })
    }

    /// The fields a Parsed TCP result has, in the common record (others zero).
    pub fn tcp_fields(p: &Parsed<TcpRepr>) -> EthIpTcp {
        EthIpTcp {
            eth: EtherFields { dst: p.eth.dst_addr.0, src: p.eth.src_addr.0, ethertype: u16::from(p.eth.ethertype) },
            ip: Ipv4Fields {
                ttl: p.ip.hop_limit,
                proto: u8::from(p.ip.next_header),
                len: (20 + p.ip.payload_len) as u16,
                src: p.ip.src_addr.octets(),
                dst: p.ip.dst_addr.octets(),
                ..Default::default()
            },
            tcp: TcpFields {
                sport: p.l4.src_port,
                dport: p.l4.dst_port,
                seq: p.l4.seq_number.0 as u32,
                ack: p.l4.ack_number.map_or(0, |a| a.0 as u32),
                window: p.l4.window_len,
                flags: match p.l4.control {
                    TcpControl::Syn => 0x002,
                    _ => 0,
                } | if p.l4.ack_number.is_some() { 0x010 } else { 0 },
                ..Default::default()
            },
        }
    }

    pub fn udp_fields<'a>(p: &Parsed<'a, UdpRepr>) -> EthIpUdp<'a> {
        EthIpUdp {
            eth: EtherFields { dst: p.eth.dst_addr.0, src: p.eth.src_addr.0, ethertype: u16::from(p.eth.ethertype) },
            ip: Ipv4Fields {
                ttl: p.ip.hop_limit,
                proto: u8::from(p.ip.next_header),
                len: (20 + p.ip.payload_len) as u16,
                src: p.ip.src_addr.octets(),
                dst: p.ip.dst_addr.octets(),
                ..Default::default()
            },
            udp: UdpFields { sport: p.l4.src_port, dport: p.l4.dst_port, ..Default::default() },
            payload: p.payload,
        }
    }
}

// =======================================================================================
// checks (outside the timed loops)
// =======================================================================================

fn hex(b: &[u8]) -> String {
    craft::hex::encode(b)
}

fn assert_same(group: &str, who: &str, got: &[u8], want: &[u8]) {
    assert!(got == want, "{group}: {who} built\n  {}\nbut craft built\n  {}", hex(got), hex(want));
}

/// The smoltcp record has zeros where its Reprs carry nothing: compare only what it has.
fn mask_like_smoltcp(f: &EthIpTcp) -> EthIpTcp {
    EthIpTcp {
        eth: f.eth,
        ip: Ipv4Fields { ttl: f.ip.ttl, proto: f.ip.proto, len: f.ip.len, src: f.ip.src, dst: f.ip.dst, ..Default::default() },
        tcp: TcpFields {
            sport: f.tcp.sport,
            dport: f.tcp.dport,
            seq: f.tcp.seq,
            ack: f.tcp.ack,
            window: f.tcp.window,
            flags: f.tcp.flags,
            ..Default::default()
        },
    }
}

// =======================================================================================
// benchmarks
// =======================================================================================

fn build_eth_ip_tcp(c: &mut Criterion) {
    const G: &str = "build/eth_ip_tcp_54B";
    let pkt = craft_tcp();
    let want = pkt.build();
    assert_eq!(want.len(), TCP_LEN);
    // Every implementation must produce craft's bytes.
    let p = PARAMS;
    let caps_deferred = smoltcp_impl::caps_ipv4_deferred();
    {
        let mut v = Vec::new();
        craft_impl::compose_tcp(&p).build_into(&mut v);
        assert_same(G, "craft compose", &v, &want);
        assert_same(G, "craft str", &craft_tcp_str().build(), &want);
        floor::build_tcp(&floor::TCP_TEMPLATE, &mut v);
        assert_same(G, "floor", &v, &want);
        etherparse_impl::build_tcp(&p, &mut v);
        assert_same(G, "etherparse", &v, &want);
        let mut a = [0xaau8; TCP_LEN];
        pnet_impl::build_tcp(&p, &mut a);
        assert_same(G, "pnet", &a, &want);
        let mut a = [0xaau8; TCP_LEN];
        smoltcp_impl::build_tcp(&p, &mut a, &caps_deferred);
        assert_same(G, "smoltcp", &a, &want);
    }

    let mut g = c.benchmark_group(G);
    g.throughput(Throughput::Elements(1));
    g.bench_function("craft/build_into", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            black_box(&pkt).build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("craft/compose+build_into", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            let pkt = craft_impl::compose_tcp(black_box(&PARAMS));
            pkt.build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("craft/compose_str+build_into", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            let pkt = black_box(craft_tcp_str());
            pkt.build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("etherparse", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            etherparse_impl::build_tcp(black_box(&PARAMS), &mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("pnet", |b| {
        let mut buf = [0u8; TCP_LEN];
        b.iter(|| {
            pnet_impl::build_tcp(black_box(&PARAMS), &mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("smoltcp", |b| {
        let mut buf = [0u8; TCP_LEN];
        b.iter(|| {
            smoltcp_impl::build_tcp(black_box(&PARAMS), &mut buf, black_box(&caps_deferred));
            black_box(&buf);
        })
    });
    g.bench_function("floor", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            floor::build_tcp(black_box(&floor::TCP_TEMPLATE), &mut buf);
            black_box(&buf);
        })
    });
    g.finish();
}

fn parse_eth_ip_tcp(c: &mut Criterion) {
    const G: &str = "parse/eth_ip_tcp_54B";
    let bytes = craft_tcp().build();
    let cx = DissectCx::default();
    let caps = smoltcp_impl::caps();
    let want = {
        let p = Packet::dissect(&bytes, LayerKind::Ether);
        assert_eq!(p.layers.len(), 3, "{p:?}");
        craft_read::eth_ip_tcp(&p)
    };
    assert_eq!(want.tcp.sport, TCP_SPORT);
    assert_eq!(floor_read::eth_ip_tcp(&bytes), Some(want), "floor");
    assert_eq!(etherparse_impl::parse_tcp(&bytes), Some(want), "etherparse");
    assert_eq!(pnet_impl::parse_tcp(&bytes), Some(want), "pnet");
    let s = smoltcp_impl::parse_tcp(&bytes, &caps).expect("smoltcp parse");
    assert_eq!(smoltcp_impl::tcp_fields(&s), mask_like_smoltcp(&want), "smoltcp");
    let mut bad = bytes.clone();
    bad[40] ^= 1; // a TCP port bit: the TCP checksum no longer matches
    assert!(smoltcp_impl::parse_tcp(&bad, &caps).is_none(), "smoltcp verifies the checksum");

    let mut g = c.benchmark_group(G);
    g.throughput(Throughput::Elements(1));
    g.bench_function("craft/dissect_into", |b| {
        let mut pkt = Packet::new();
        b.iter(|| {
            pkt.dissect_into(black_box(&bytes), LayerKind::Ether, &cx);
            black_box(craft_read::eth_ip_tcp(black_box(&pkt)));
        })
    });
    g.bench_function("etherparse", |b| b.iter(|| black_box(etherparse_impl::parse_tcp(black_box(&bytes)))));
    g.bench_function("pnet", |b| b.iter(|| black_box(pnet_impl::parse_tcp(black_box(&bytes)))));
    g.bench_function("smoltcp", |b| {
        b.iter(|| black_box(smoltcp_impl::parse_tcp(black_box(&bytes), black_box(&caps)).map(|p| black_box(p).eth)))
    });
    g.bench_function("floor", |b| b.iter(|| black_box(floor_read::eth_ip_tcp(black_box(&bytes)))));
    g.finish();
}

fn build_eth_ip_udp(c: &mut Criterion) {
    const G: &str = "build/eth_ip_udp_64B";
    let pkt = craft_udp();
    let want = pkt.build();
    assert_eq!(want.len(), UDP_LEN);
    let p = PARAMS;
    let caps = smoltcp_impl::caps_ipv4_deferred();
    {
        let mut v = Vec::new();
        craft_impl::compose_udp(&p, &UDP_PAYLOAD).build_into(&mut v);
        assert_same(G, "craft compose", &v, &want);
        floor::build_udp(&floor::UDP_TEMPLATE, &mut v);
        assert_same(G, "floor", &v, &want);
        etherparse_impl::build_udp(&p, &UDP_PAYLOAD, &mut v);
        assert_same(G, "etherparse", &v, &want);
        let mut a = [0xaau8; UDP_LEN];
        pnet_impl::build_udp(&p, &UDP_PAYLOAD, &mut a);
        assert_same(G, "pnet", &a, &want);
        let mut a = [0xaau8; UDP_LEN];
        smoltcp_impl::build_udp(&p, &UDP_PAYLOAD, &mut a, &caps);
        assert_same(G, "smoltcp", &a, &want);
    }

    let mut g = c.benchmark_group(G);
    g.throughput(Throughput::Elements(1));
    g.bench_function("craft/build_into", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            black_box(&pkt).build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("craft/compose+build_into", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            let pkt = craft_impl::compose_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD));
            pkt.build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("etherparse", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            etherparse_impl::build_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD), &mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("pnet", |b| {
        let mut buf = [0u8; UDP_LEN];
        b.iter(|| {
            pnet_impl::build_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD), &mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("smoltcp", |b| {
        let mut buf = [0u8; UDP_LEN];
        b.iter(|| {
            smoltcp_impl::build_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD), &mut buf, black_box(&caps));
            black_box(&buf);
        })
    });
    g.bench_function("floor", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            floor::build_udp(black_box(&floor::UDP_TEMPLATE), &mut buf);
            black_box(&buf);
        })
    });
    g.finish();
}

fn parse_eth_ip_udp(c: &mut Criterion) {
    const G: &str = "parse/eth_ip_udp_64B";
    let bytes = craft_udp().build();
    let cx = DissectCx::default();
    let caps = smoltcp_impl::caps();
    let p = Packet::dissect(&bytes, LayerKind::Ether);
    assert_eq!(p.layers.len(), 4, "{p:?}");
    let want = craft_read::eth_ip_udp(&p);
    assert_eq!(want.payload, &UDP_PAYLOAD[..]);
    assert_eq!(floor_read::eth_ip_udp(&bytes), Some(want), "floor");
    assert_eq!(etherparse_impl::parse_udp(&bytes), Some(want), "etherparse");
    assert_eq!(pnet_impl::parse_udp(&bytes).map(|x| x.0), Some(want), "pnet");
    let s = smoltcp_impl::parse_udp(&bytes, &caps).expect("smoltcp parse");
    let sf = smoltcp_impl::udp_fields(&s);
    assert_eq!((sf.eth, sf.udp.sport, sf.udp.dport, sf.payload), (want.eth, want.udp.sport, want.udp.dport, want.payload));
    assert_eq!((sf.ip.src, sf.ip.dst, sf.ip.ttl, sf.ip.len), (want.ip.src, want.ip.dst, want.ip.ttl, want.ip.len));
    let mut bad = bytes.clone();
    bad[60] ^= 1; // a payload bit
    assert!(smoltcp_impl::parse_udp(&bad, &caps).is_none(), "smoltcp verifies the UDP checksum");

    let mut g = c.benchmark_group(G);
    g.throughput(Throughput::Elements(1));
    g.bench_function("craft/dissect_into", |b| {
        let mut pkt = Packet::new();
        b.iter(|| {
            pkt.dissect_into(black_box(&bytes), LayerKind::Ether, &cx);
            black_box(craft_read::eth_ip_udp(black_box(&pkt)));
        })
    });
    g.bench_function("etherparse", |b| b.iter(|| black_box(etherparse_impl::parse_udp(black_box(&bytes)))));
    g.bench_function("pnet", |b| b.iter(|| black_box(pnet_impl::parse_udp(black_box(&bytes)))));
    g.bench_function("smoltcp", |b| {
        b.iter(|| black_box(smoltcp_impl::parse_udp(black_box(&bytes), black_box(&caps)).map(|p| black_box(p).eth)))
    });
    g.bench_function("floor", |b| b.iter(|| black_box(floor_read::eth_ip_udp(black_box(&bytes)))));
    g.finish();
}

fn build_gue(c: &mut Criterion) {
    const G: &str = "build/gue";
    let pkt = craft_gue();
    let want = pkt.build();
    assert_eq!(want.len(), GUE_LEN);
    {
        let mut v = Vec::new();
        craft_impl::compose_gue(&PARAMS).build_into(&mut v);
        assert_same(G, "craft compose", &v, &want);
        floor::build_gue(&floor::GUE_TEMPLATE, &mut v);
        assert_same(G, "floor", &v, &want);
    }

    let mut g = c.benchmark_group(G);
    g.throughput(Throughput::Elements(1));
    g.bench_function("craft/build_into", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            black_box(&pkt).build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("craft/compose+build_into", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            let pkt = craft_impl::compose_gue(black_box(&PARAMS));
            pkt.build_into(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("floor", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            floor::build_gue(black_box(&floor::GUE_TEMPLATE), &mut buf);
            black_box(&buf);
        })
    });
    g.finish();
}

fn parse_gue(c: &mut Criterion) {
    const G: &str = "parse/gue";
    let bytes = craft_gue().build();
    let cx = DissectCx::default();
    let p = Packet::dissect(&bytes, LayerKind::Ether);
    let kinds: Vec<_> = p.layers.iter().map(|l| l.kind()).collect();
    assert_eq!(
        kinds,
        [LayerKind::Ether, LayerKind::Ip, LayerKind::Udp, LayerKind::Gue, LayerKind::Ip, LayerKind::Tcp],
        "{p:?}"
    );
    let want = craft_read::gue_pkt(&p);
    assert_eq!(want.udp.dport, GUE_PORT);
    assert_eq!(etherparse_impl::parse_gue_full(&bytes), Some(want), "etherparse+GUE by hand");
    let (eth, ip, udp, _) = etherparse_impl::parse_gue_to_udp(&bytes).unwrap();
    assert_eq!((eth, ip, udp), (want.eth, want.ip, want.udp));

    let mut g = c.benchmark_group(G);
    g.throughput(Throughput::Elements(1));
    g.bench_function("craft/dissect_into", |b| {
        let mut pkt = Packet::new();
        b.iter(|| {
            pkt.dissect_into(black_box(&bytes), LayerKind::Ether, &cx);
            black_box(craft_read::gue_pkt(black_box(&pkt)));
        })
    });
    g.bench_function("etherparse/to_udp", |b| {
        b.iter(|| black_box(etherparse_impl::parse_gue_to_udp(black_box(&bytes))))
    });
    g.bench_function("etherparse/full(gue_by_hand)", |b| {
        b.iter(|| black_box(etherparse_impl::parse_gue_full(black_box(&bytes))))
    });
    g.finish();
}

criterion_group!(
    benches,
    build_eth_ip_tcp,
    parse_eth_ip_tcp,
    build_eth_ip_udp,
    parse_eth_ip_udp,
    build_gue,
    parse_gue
);

/// Instruction counts without criterion: `PACKETS_IR=GROUP/FUNC:N` runs one function's
/// body N times and exits, for `valgrind --tool=callgrind`. Two runs with different N give
/// the instructions per iteration (the difference over the difference in N), setup excluded.
mod ir {
    use super::*;

    pub fn run(spec: &str) {
        let caps = smoltcp_impl::caps();
        let caps_d = smoltcp_impl::caps_ipv4_deferred();
        let cx = DissectCx::default();
        let (tcp, udp, gue) = (craft_tcp(), craft_udp(), craft_gue());
        let (tcp_b, udp_b, gue_b) = (tcp.build(), udp.build(), gue.build());
        let mut buf = Vec::with_capacity(256);
        let mut pkt = Packet::new();
        let mut a_tcp = [0u8; TCP_LEN];
        let mut a_udp = [0u8; UDP_LEN];
        type Body<'a> = Box<dyn FnMut() + 'a>;
        let mut bodies: Vec<(&str, Body)> = Vec::new();
        macro_rules! body {
            ($name:expr, $e:expr) => {
                bodies.push(($name, Box::new($e)))
            };
        }
        let name = spec.rsplit_once(':').map_or(spec, |(n, _)| n);
        let n: usize = spec.rsplit_once(':').and_then(|(_, n)| n.parse().ok()).unwrap_or(0);
        let buf = &mut buf;
        let pkt = &mut pkt;
        match name {
            "build/tcp/craft" => body!(name, || { black_box(&tcp).build_into(buf); black_box(&*buf); }),
            "build/tcp/compose" => body!(name, || { craft_impl::compose_tcp(black_box(&PARAMS)).build_into(buf); black_box(&*buf); }),
            "build/tcp/compose_str" => body!(name, || { black_box(craft_tcp_str()).build_into(buf); black_box(&*buf); }),
            "build/tcp/etherparse" => body!(name, || { etherparse_impl::build_tcp(black_box(&PARAMS), buf); black_box(&*buf); }),
            "build/tcp/pnet" => body!(name, || { pnet_impl::build_tcp(black_box(&PARAMS), &mut a_tcp); black_box(&a_tcp); }),
            "build/tcp/smoltcp" => body!(name, || { smoltcp_impl::build_tcp(black_box(&PARAMS), &mut a_tcp, black_box(&caps_d)); black_box(&a_tcp); }),
            "build/tcp/floor" => body!(name, || { floor::build_tcp(black_box(&floor::TCP_TEMPLATE), buf); black_box(&*buf); }),
            "parse/tcp/craft" => body!(name, || { pkt.dissect_into(black_box(&tcp_b), LayerKind::Ether, &cx); black_box(craft_read::eth_ip_tcp(black_box(&*pkt))); }),
            "parse/tcp/etherparse" => body!(name, || { black_box(etherparse_impl::parse_tcp(black_box(&tcp_b))); }),
            "parse/tcp/pnet" => body!(name, || { black_box(pnet_impl::parse_tcp(black_box(&tcp_b))); }),
            "parse/tcp/smoltcp" => body!(name, || { black_box(smoltcp_impl::parse_tcp(black_box(&tcp_b), black_box(&caps)).map(|p| black_box(p).eth)); }),
            "parse/tcp/floor" => body!(name, || { black_box(floor_read::eth_ip_tcp(black_box(&tcp_b))); }),
            "build/udp/craft" => body!(name, || { black_box(&udp).build_into(buf); black_box(&*buf); }),
            "build/udp/compose" => body!(name, || { craft_impl::compose_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD)).build_into(buf); black_box(&*buf); }),
            "build/udp/etherparse" => body!(name, || { etherparse_impl::build_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD), buf); black_box(&*buf); }),
            "build/udp/pnet" => body!(name, || { pnet_impl::build_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD), &mut a_udp); black_box(&a_udp); }),
            "build/udp/smoltcp" => body!(name, || { smoltcp_impl::build_udp(black_box(&PARAMS), black_box(&UDP_PAYLOAD), &mut a_udp, black_box(&caps_d)); black_box(&a_udp); }),
            "build/udp/floor" => body!(name, || { floor::build_udp(black_box(&floor::UDP_TEMPLATE), buf); black_box(&*buf); }),
            "parse/udp/craft" => body!(name, || { pkt.dissect_into(black_box(&udp_b), LayerKind::Ether, &cx); black_box(craft_read::eth_ip_udp(black_box(&*pkt))); }),
            "parse/udp/etherparse" => body!(name, || { black_box(etherparse_impl::parse_udp(black_box(&udp_b))); }),
            "parse/udp/pnet" => body!(name, || { black_box(pnet_impl::parse_udp(black_box(&udp_b))); }),
            "parse/udp/smoltcp" => body!(name, || { black_box(smoltcp_impl::parse_udp(black_box(&udp_b), black_box(&caps)).map(|p| black_box(p).eth)); }),
            "parse/udp/floor" => body!(name, || { black_box(floor_read::eth_ip_udp(black_box(&udp_b))); }),
            "build/gue/craft" => body!(name, || { black_box(&gue).build_into(buf); black_box(&*buf); }),
            "build/gue/compose" => body!(name, || { craft_impl::compose_gue(black_box(&PARAMS)).build_into(buf); black_box(&*buf); }),
            "build/gue/floor" => body!(name, || { floor::build_gue(black_box(&floor::GUE_TEMPLATE), buf); black_box(&*buf); }),
            "parse/gue/craft" => body!(name, || { pkt.dissect_into(black_box(&gue_b), LayerKind::Ether, &cx); black_box(craft_read::gue_pkt(black_box(&*pkt))); }),
            "parse/gue/etherparse_to_udp" => body!(name, || { black_box(etherparse_impl::parse_gue_to_udp(black_box(&gue_b))); }),
            "parse/gue/etherparse_full" => body!(name, || { black_box(etherparse_impl::parse_gue_full(black_box(&gue_b))); }),
            other => panic!("unknown PACKETS_IR function '{other}'"),
        }
        for (_, f) in &mut bodies {
            for _ in 0..n {
                f();
            }
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var("PACKETS_IR") {
        ir::run(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
