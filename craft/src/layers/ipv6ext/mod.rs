//! IPv6 extension headers: scapy's `IPv6ExtHdrHopByHop`, `IPv6ExtHdrDestOpt`,
//! `IPv6ExtHdrRouting` and `IPv6ExtHdrFragment`, with builders for the TLV options of the
//! first two (see [`opt`]).

pub mod opt;

use std::net::Ipv6Addr;

use crate::checksum;
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Pseudo, Truncated, WriteCx};
use crate::layer;
use crate::bind::Bind;
use crate::layers::ip::{auto_proto, IP_PROTOS};
use crate::layers::ipv6::NO_NEXT_HEADER;

/// Next-header values announcing each extension header.
pub const PROTO_HOP_BY_HOP: u8 = 0;
pub const PROTO_ROUTING: u8 = 43;
pub const PROTO_FRAGMENT: u8 = 44;
pub const PROTO_DEST_OPT: u8 = 60;

/// Declares HopByHop or DestOpt: both are a next header, a length and TLV options.
macro_rules! options_header {
    ($S:ident, $scapy:literal, $long:literal, $doc:literal) => {
        layer! {
            #[doc = $doc]
            $S: $scapy, $long {
                /// Next header. Auto: announces the next layer, 59 (none) otherwise.
                nh: Option<u8> [fmt(Fmt::Enum(IP_PROTOS))] = None,
                /// Header length in 8-byte units, not counting the first 8. Auto: from the options as padded.
                len: Option<u8> = None,
                /// Not on the wire (scapy's phantom field): nonzero pads to 8-byte multiples with Pad1/PadN.
                autopad: u8 = 1,
                /// Options as raw TLV bytes; [`opt`] builds them (opt::aligned places several as scapy does).
                options: Vec<u8> = Vec::new(),
            }
        }

        impl $S {
            /// Bytes of padding added after the options when the header is built.
            fn trailing_pad(&self) -> usize {
                if self.autopad == 0 {
                    0
                } else {
                    (8 - (2 + self.options.len()) % 8) % 8
                }
            }
        }
    };
}

options_header!(
    HopByHop,
    "IPv6ExtHdrHopByHop",
    "IPv6 Extension Header - Hop-by-Hop Options Header",
    "IPv6 hop-by-hop options header: next header, length, TLV options (a multiple of 8 bytes)."
);
options_header!(
    DestOpt,
    "IPv6ExtHdrDestOpt",
    "IPv6 Extension Header - Destination Options Header",
    "IPv6 destination options header: next header, length, TLV options (a multiple of 8 bytes)."
);

/// The wire part shared by HopByHop and DestOpt.
fn write_options_header(hdr: &mut [u8], nh: Option<u8>, len: Option<u8>, options: &[u8], cx: &WriteCx) {
    hdr[0] = auto_proto(nh, cx, NO_NEXT_HEADER);
    // scapy: (options + 2 + 7) // 8 - 1, options counted with their padding.
    hdr[1] = len.unwrap_or((hdr.len().div_ceil(8) - 1) as u8);
    let (opts, pad) = hdr[2..].split_at_mut(options.len());
    opts.copy_from_slice(options);
    opt::write_padding(pad);
}

/// Writes `total` into a Jumbo option of `options` (written at `hdr[2..]`) that holds 0.
#[cold]
fn fill_jumbo(hdr: &mut [u8], options: &[u8], total: usize) {
    let (tlvs, _) = opt::split(options);
    if let Some(t) = tlvs.iter().find(|t| t.kind == opt::JUMBO && t.data == [0, 0, 0, 0]) {
        let at = 2 + t.offset + 2;
        hdr[at..at + 4].copy_from_slice(&(total as u32).to_be_bytes());
    }
}

/// (nh, len, options, header length) of a HopByHop or DestOpt header.
fn dissect_options_header(data: &[u8]) -> Result<(u8, u8, Vec<u8>, usize), Truncated> {
    let h = data.get(..2).ok_or(Truncated)?;
    let hlen = 8 * (h[1] as usize + 1);
    let options = data.get(2..hlen).ok_or(Truncated)?.to_vec();
    Ok((h[0], h[1], options, hlen))
}

/// Summary of the options: the names of those that are not padding.
fn options_summary(header: &str, options: &[u8]) -> String {
    let names: Vec<String> = opt::split(options).0.iter().filter(|o| !o.is_padding()).map(|o| o.name()).collect();
    if names.is_empty() {
        header.to_string()
    } else {
        format!("{header} {}", names.join(","))
    }
}

/// Problems in the TLVs of an options header.
fn check_options(header: &str, options: &[u8], out: &mut Vec<String>) {
    if let Some(at) = opt::split(options).1 {
        let kind = options[at];
        out.push(format!(
            "{header} option 0x{kind:02x} at byte {} runs past the end of the header",
            at + 2
        ));
    }
}

impl Proto for HopByHop {
    const EXTENDS_PSEUDO: bool = true;
    fn pseudo(&self, outer: Option<Pseudo>) -> Option<Pseudo> {
        outer
    }

    const BINDS: &'static [Bind] = &[Bind::ip_proto(PROTO_HOP_BY_HOP).named("hopopt")];

    fn header_len(&self) -> usize {
        2 + self.options.len() + self.trailing_pad()
    }

    /// A Jumbo option whose length is 0 gets the real one when this header and its payload
    /// are over 65535 bytes (RFC 2675: the length counts from the end of the IPv6 header,
    /// which then has plen 0). scapy never fills it (`Jumbo()` builds 0) but cannot build
    /// such a packet either; below 65536 bytes craft keeps the 0 as scapy does.
    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        write_options_header(hdr, self.nh, self.len, &self.options, cx);
        let total = hdr.len() + cx.payload_len;
        if total > 0xffff {
            fill_jumbo(hdr, &self.options, total);
        }
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let (nh, len, options, hlen) = dissect_options_header(data)?;
        let layer = HopByHop { nh: Some(nh), len: Some(len), autopad: 1, options };
        Ok(Decoded { layer, hlen, total_len: None, next: crate::bind::ip_next(nh) })
    }

    fn summary(&self) -> String {
        options_summary("IPv6 hop-by-hop", &self.options)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_options("IPv6 hop-by-hop", &self.options, out);
    }
}

impl Proto for DestOpt {
    const EXTENDS_PSEUDO: bool = true;
    const BINDS: &'static [Bind] = &[Bind::ip_proto(PROTO_DEST_OPT).named("ipv6_opts")];

    fn header_len(&self) -> usize {
        2 + self.options.len() + self.trailing_pad()
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        write_options_header(hdr, self.nh, self.len, &self.options, cx);
    }

    /// A home address option (mobile IPv6) makes the home address the checksum source,
    /// as in scapy and RFC 6275.
    fn pseudo(&self, outer: Option<Pseudo>) -> Option<Pseudo> {
        let Some(home) = opt::home_address_of(&self.options) else { return outer };
        outer.map(|p| Pseudo { src_sum: checksum::addr_sum(&home.octets()), ..p })
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let (nh, len, options, hlen) = dissect_options_header(data)?;
        let layer = DestOpt { nh: Some(nh), len: Some(len), autopad: 1, options };
        Ok(Decoded { layer, hlen, total_len: None, next: crate::bind::ip_next(nh) })
    }

    fn summary(&self) -> String {
        options_summary("IPv6 dest-opts", &self.options)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_options("IPv6 dest-opts", &self.options, out);
    }
}

layer! {
    /// IPv6 routing header in the type 0 layout (8 bytes, then 16 per address), used for
    /// every routing type as scapy does.
    ///
    /// Differs from scapy: an odd `len` (a header of `8 * (len + 1)` bytes, not a whole
    /// number of addresses after its 8 fixed bytes) is read as the kernel, tshark and
    /// etherparse read it: the last 8 bytes belong to the header, kept in `trailer` (shown
    /// only when not empty), and the next header is decoded after them. scapy keeps only
    /// whole addresses and reads those 8 bytes as the start of the payload.
    Routing: "IPv6ExtHdrRouting", "IPv6 Option Header Routing" {
        /// Next header. Auto: announces the next layer, 59 (none) otherwise.
        nh: Option<u8> [fmt(Fmt::Enum(IP_PROTOS))] = None,
        /// Header length in 8-byte units, not counting the first 8. Auto: 2 per address,
        /// plus the trailer's 8-byte units.
        len: Option<u8> = None,
        /// Routing type (0: source route, deprecated by RFC 5095; 2: mobile IPv6).
        r#type("type"): u8 = 0,
        /// Segments left to visit. Auto: the number of addresses.
        segleft: Option<u8> = None,
        /// Reserved word after segleft.
        reserved: u32 = 0,
        /// Addresses to visit; the last one is the final destination.
        addresses: Vec<Ipv6Addr> = Vec::new(),
        /// Bytes after the last whole address, written as given: an odd `len`'s last 8
        /// bytes when dissected. Not a scapy field (see the layer's doc).
        trailer: Vec<u8> = Vec::new(),
    }
}

impl Routing {
    /// Where the packet finally goes, when the header still has hops to visit: the L4
    /// checksum uses it (scapy's in6_pseudoheader; an auto segleft counts as nonzero).
    pub fn final_destination(&self) -> Option<Ipv6Addr> {
        if self.segleft == Some(0) {
            return None;
        }
        self.addresses.last().copied()
    }
}

impl Proto for Routing {
    const EXTENDS_PSEUDO: bool = true;
    const BINDS: &'static [Bind] = &[Bind::ip_proto(PROTO_ROUTING).named("ipv6_route")];

    fn header_len(&self) -> usize {
        8 + 16 * self.addresses.len() + self.trailer.len()
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        let count = self.addresses.len();
        hdr[0] = auto_proto(self.nh, cx, NO_NEXT_HEADER);
        hdr[1] = self.len.unwrap_or((2 * count + self.trailer.len().div_ceil(8)) as u8);
        hdr[2] = self.r#type;
        hdr[3] = self.segleft.unwrap_or(count as u8);
        hdr[4..8].copy_from_slice(&self.reserved.to_be_bytes());
        let (addrs, trailer) = hdr[8..].split_at_mut(16 * count);
        for (slot, addr) in addrs.chunks_exact_mut(16).zip(&self.addresses) {
            slot.copy_from_slice(&addr.octets());
        }
        trailer.copy_from_slice(&self.trailer);
    }

    fn present(&self, field: &str) -> bool {
        field != "trailer" || !self.trailer.is_empty()
    }

    fn pseudo(&self, outer: Option<Pseudo>) -> Option<Pseudo> {
        let Some(dst) = self.final_destination() else { return outer };
        outer.map(|p| Pseudo { dst_sum: checksum::addr_sum(&dst.octets()), ..p })
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = data.get(..8).ok_or(Truncated)?;
        // The header is 8 * (len + 1) bytes, as the kernel reads it. scapy keeps only whole
        // addresses and leaves an odd len's last 8 bytes to the payload; craft keeps them
        // in `trailer` so that the next header is read where the kernel reads it.
        let hlen = 8 * (h[1] as usize + 1);
        let body = data.get(8..hlen).ok_or(Truncated)?;
        let (addrs, trailer) = body.split_at(16 * (h[1] as usize / 2));
        let addresses = addrs.chunks_exact(16).map(|a| Ipv6Addr::from(<[u8; 16]>::try_from(a).unwrap())).collect();
        let layer = Routing {
            nh: Some(h[0]),
            len: Some(h[1]),
            r#type: h[2],
            segleft: Some(h[3]),
            reserved: u32::from_be_bytes(h[4..8].try_into().unwrap()),
            addresses,
            trailer: trailer.to_vec(),
        };
        Ok(Decoded { layer, hlen, total_len: None, next: crate::bind::ip_next(h[0]) })
    }

    fn summary(&self) -> String {
        let segleft = self.segleft.unwrap_or(self.addresses.len() as u8);
        let mut s = format!("IPv6 routing type {} segleft {segleft}", self.r#type);
        if !self.addresses.is_empty() {
            let hops: Vec<String> = self.addresses.iter().map(Ipv6Addr::to_string).collect();
            s.push_str(&format!(" via {}", hops.join(",")));
        }
        s
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        let count = self.addresses.len();
        let segleft = self.segleft.unwrap_or(count as u8);
        if segleft as usize > count {
            out.push(format!(
                "IPv6 routing segleft {segleft} is more than the {count} addresses listed: \
                 the next router answers with a parameter problem"
            ));
        }
        if let Some(len) = self.len.filter(|l| l % 2 == 1) {
            out.push(format!(
                "IPv6 routing len {len} is odd: the header's last 8 bytes are not a whole address \
                 (kept as `trailer`; scapy reads them as payload)"
            ));
        }
        if !self.trailer.len().is_multiple_of(8) {
            out.push(format!(
                "IPv6 routing trailer is {} bytes, not a multiple of 8: the header does not end on an 8-byte unit",
                self.trailer.len()
            ));
        }
        if self.r#type == 0 && segleft != 0 {
            out.push("IPv6 routing type 0 is deprecated (RFC 5095): routers drop it while segleft is not 0".into());
        }
    }
}

layer! {
    /// IPv6 fragment header: 8 bytes.
    Fragment: "IPv6ExtHdrFragment", "IPv6 Extension Header - Fragmentation header" {
        /// Next header. Auto: announces the next layer, 59 (none) otherwise.
        nh: Option<u8> [fmt(Fmt::Enum(IP_PROTOS))] = None,
        /// Reserved byte after nh.
        res1: u8 = 0,
        /// Offset of this fragment's data in 8-byte units.
        offset: u16 [bits(13)] = 0,
        /// Reserved bits after offset.
        res2: u8 [bits(2)] = 0,
        /// More fragments follow: 1 on all fragments but the last.
        m: u8 [bits(1)] = 0,
        /// Identification shared by the fragments of one packet.
        id: u32 = 0,
    }
}

impl Proto for Fragment {
    const EXTENDS_PSEUDO: bool = true;
    fn pseudo(&self, outer: Option<Pseudo>) -> Option<Pseudo> {
        outer
    }

    const BINDS: &'static [Bind] = &[Bind::ip_proto(PROTO_FRAGMENT).named("ipv6_frag")];

    fn header_len(&self) -> usize {
        8
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        hdr[0] = auto_proto(self.nh, cx, NO_NEXT_HEADER);
        hdr[1] = self.res1;
        let word = ((self.offset & 0x1fff) << 3) | ((self.res2 as u16 & 3) << 1) | (self.m as u16 & 1);
        hdr[2..4].copy_from_slice(&word.to_be_bytes());
        hdr[4..8].copy_from_slice(&self.id.to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = data.get(..8).ok_or(Truncated)?;
        let word = u16::from_be_bytes([h[2], h[3]]);
        let layer = Fragment {
            nh: Some(h[0]),
            res1: h[1],
            offset: word >> 3,
            res2: ((word >> 1) & 3) as u8,
            m: (word & 1) as u8,
            id: u32::from_be_bytes(h[4..8].try_into().unwrap()),
        };
        // Like scapy: a later fragment's payload is not a header.
        let next = if layer.offset != 0 { Next::Raw } else { crate::bind::ip_next(h[0]) };
        Ok(Decoded { layer, hlen: 8, total_len: None, next })
    }

    fn summary(&self) -> String {
        let more = if self.m != 0 { " more" } else { "" };
        format!("IPv6 fragment id {:#x} offset {}{more}", self.id, self.offset as usize * 8)
    }

    fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        let data_len = seg.len().saturating_sub(8);
        if self.m != 0 && !data_len.is_multiple_of(8) {
            out.push(format!(
                "IPv6 fragment with more fragments to come carries {data_len} bytes, not a multiple of 8"
            ));
        }
        let end = self.offset as usize * 8 + data_len;
        if end > 65535 {
            out.push(format!("IPv6 fragment ends at byte {end}, past the 65535 bytes a packet can hold"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Value;
    use crate::layer::Fields;
    use crate::layers::icmpv6::Icmpv6EchoRequest;
    use crate::layers::ipv6::Ipv6;
    use crate::layers::tcp::Tcp;
    use crate::layers::udp::Udp;
    use crate::packet::{Layer, LayerKind, Packet};

    fn ipv6() -> Ipv6 {
        Ipv6::new().src("2001:db8::1").dst("2001:db8::2")
    }

    fn udp() -> Udp {
        Udp::new().sport(1234).dport(5678)
    }

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::unhex(s)
    }

    /// Bytes of `p` after its 40-byte IPv6 header.
    fn after_ipv6(p: Packet) -> Vec<u8> {
        p.build()[40..].to_vec()
    }

    fn alone(l: impl Into<Layer>) -> Vec<u8> {
        Packet::from(l.into()).build()
    }

    #[test]
    fn default_hop_by_hop_is_padded_to_eight() {
        assert_eq!(alone(HopByHop::new()), hex("3b00010400000000"));
        assert_eq!(alone(DestOpt::new()), hex("3b00010400000000"));
    }

    #[test]
    fn hop_by_hop_before_udp_matches_scapy() {
        // ipv6ext_hbh_default_udp
        let b = (ipv6() / HopByHop::new() / udp()).build();
        let want = "600000000010004020010db800000000000000000000000120010db8000000000000000000000002110001040000000004d2162e00088969";
        assert_eq!(b, hex(want));
    }

    #[test]
    fn autopad_off_writes_options_as_given() {
        // ipv6ext_hbh_autopad_off_buildonly
        let b = after_ipv6(ipv6() / HopByHop::new().autopad(0) / udp());
        assert_eq!(b, hex("110004d2162e00088969"));
        let b = alone(HopByHop::new().autopad(0).options(opt::router_alert(0)));
        assert_eq!(b, hex("3b0005020000"));
    }

    #[test]
    fn aligned_options_match_scapy_autopad() {
        let cases: [(Vec<Vec<u8>>, &str); 6] = [
            (vec![opt::router_alert(0)], "3b00050200000100"),
            (vec![opt::jumbo(70000)], "3b00c20400011170"),
            (vec![opt::router_alert(0), opt::jumbo(70000)], "3b0105020000c2040001117001020000"),
            (vec![opt::pad1(), opt::jumbo(70000)], "3b0100010100c2040001117001020000"),
            (vec![opt::padn(5)], "3b010105000000000001050000000000"),
            (vec![opt::pad1(); 5], "3b00000000000000"),
        ];
        for (options, want) in cases {
            let b = alone(HopByHop::new().options(opt::aligned(&options)));
            assert_eq!(b, hex(want), "{options:?}");
        }
        let hao = opt::aligned(&[opt::home_address("2001:db8::1".parse().unwrap())]);
        assert_eq!(alone(DestOpt::new().options(hao)), hex("3b0201020000c91020010db8000000000000000000000001"));
    }

    #[test]
    fn forced_len_and_nh_are_verbatim() {
        let b = after_ipv6(ipv6() / HopByHop::new().nh(59).len(5) / &b"raw"[..]);
        assert_eq!(b, hex("3b05010400000000726177"));
    }

    #[test]
    fn routing_matches_scapy() {
        // ipv6ext_routing_two_addrs: the UDP checksum uses the last address.
        let r = Routing::new().addresses(vec!["2001:db8::10".parse().unwrap(), "2001:db8::11".parse().unwrap()]);
        let b = (ipv6() / r / udp()).build();
        let want = "6000000000302b4020010db800000000000000000000000120010db8000000000000000000000002110400020000000020010db800000000000000000000001020010db800000000000000000000001104d2162e0008895a";
        assert_eq!(b, hex(want));
    }

    #[test]
    fn routing_checksum_uses_the_final_destination() {
        let last: Ipv6Addr = "2001:db8::11".parse().unwrap();
        let r = Routing::new().addresses(vec!["2001:db8::10".parse().unwrap(), last]);
        let b = (ipv6() / r / udp() / &b"x"[..]).build();
        let seg = &b[40 + 40..];
        let pseudo = checksum::partial(&b[8..24]) + checksum::partial(&last.octets()) + 17 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0);
    }

    #[test]
    fn routing_with_segleft_0_keeps_the_ipv6_destination() {
        let r = Routing::new().segleft(0).addresses(vec!["2001:db8::10".parse().unwrap()]);
        let with = after_ipv6(ipv6() / r / udp());
        let without = after_ipv6(ipv6() / udp());
        assert_eq!(with[24..], without[..]);
    }

    #[test]
    fn innermost_routing_header_wins() {
        let inner: Ipv6Addr = "2001:db8::99".parse().unwrap();
        let outer = Routing::new().addresses(vec!["2001:db8::10".parse().unwrap()]);
        let p = ipv6() / outer / Routing::new().addresses(vec![inner]) / udp();
        let b = p.build();
        let seg = &b[40 + 24 + 24..];
        let pseudo = checksum::partial(&b[8..24]) + checksum::partial(&inner.octets()) + 17 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0);
    }

    #[test]
    fn home_address_option_is_the_checksum_source() {
        let home: Ipv6Addr = "2001:db8::77".parse().unwrap();
        let d = DestOpt::new().options(opt::aligned(&[opt::home_address(home)]));
        let b = (ipv6() / d / udp()).build();
        let seg = &b[40 + 24..];
        let pseudo = checksum::partial(&home.octets()) + checksum::partial(&b[24..40]) + 17 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0);
    }

    #[test]
    fn routing_checksum_for_icmpv6_matches_scapy() {
        // ipv6ext_routing_icmpv6
        let r = Routing::new().addresses(vec!["2001:db8::10".parse().unwrap()]);
        let b = after_ipv6(ipv6() / r / Icmpv6EchoRequest::new().id(1).seq(2));
        assert_eq!(&b[24..], hex("8000243700010002"));
    }

    #[test]
    fn fragment_matches_scapy() {
        // ipv6ext_frag_offset_m and ipv6ext_frag_res_bits
        let b = after_ipv6(ipv6() / Fragment::new().offset(185).m(1).id(7) / &b"middle"[..]);
        assert_eq!(b, hex("3b0005c9000000076d6964646c65"));
        let b = after_ipv6(ipv6() / Fragment::new().res1(0xff).res2(3).id(1) / udp());
        assert_eq!(&b[..8], hex("11ff000600000001"));
    }

    #[test]
    fn later_fragment_payload_is_raw() {
        let b = (ipv6() / Fragment::new().offset(1) / udp()).build();
        let p = Packet::dissect(&b, LayerKind::Ipv6);
        let kinds: Vec<_> = p.layers.iter().map(Layer::kind).collect();
        assert_eq!(kinds, [LayerKind::Ipv6, LayerKind::Fragment, LayerKind::Raw]);
        let b = (ipv6() / Fragment::new() / udp()).build();
        assert_eq!(Packet::dissect(&b, LayerKind::Ipv6).layers[2].kind(), LayerKind::Udp);
    }

    #[test]
    fn chain_dissects_and_rebuilds() {
        let p = ipv6()
            / HopByHop::new()
            / DestOpt::new()
            / Routing::new().addresses(vec!["2001:db8::10".parse().unwrap()])
            / Fragment::new().id(1)
            / Tcp::new();
        let b = p.build();
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        let kinds: Vec<_> = d.layers.iter().map(Layer::kind).collect();
        use LayerKind as K;
        assert_eq!(kinds, [K::Ipv6, K::HopByHop, K::DestOpt, K::Routing, K::Fragment, K::Tcp]);
        assert_eq!(d.build(), b);
    }

    #[test]
    fn truncated_headers_become_marked_raw() {
        let routing = Routing::new().addresses(vec![Ipv6Addr::LOCALHOST]);
        let full = (ipv6() / HopByHop::new() / routing / Fragment::new() / udp()).build();
        // Cut inside each extension header in turn.
        let cuts = [
            (41, "IPv6ExtHdrHopByHop"),
            (47, "IPv6ExtHdrHopByHop"),
            (50, "IPv6ExtHdrRouting"),
            (70, "IPv6ExtHdrRouting"),
            (75, "IPv6ExtHdrFragment"),
        ];
        for (cut, layer) in cuts {
            let p = Packet::dissect(&full[..cut], LayerKind::Ipv6);
            let Some(Layer::Raw(raw)) = p.layers.last() else { panic!("{cut}: {p:?}") };
            assert_eq!(raw.truncated, Some(layer), "cut at {cut}");
            assert_eq!(p.build(), full[..cut]);
        }
    }

    #[test]
    fn routing_with_odd_len_keeps_its_last_8_bytes() {
        // len 3: one whole address, then 8 bytes that belong to the header (the kernel reads
        // 8 * (len + 1) = 32 bytes); scapy would leave them to the payload.
        let mut b = hex("1103000100000000");
        b.extend([0xaa; 16]);
        b.extend([0xbb; 8]);
        b.extend(hex("0035003500080000"));
        let d = Routing::dissect(&b, &DissectCx::default()).unwrap();
        assert_eq!(d.hlen, 32);
        assert_eq!(d.layer.addresses, [Ipv6Addr::from([0xaa; 16])]);
        assert_eq!(d.layer.trailer, [0xbb; 8]);
        assert_eq!(Layer::from(d.layer.clone()).header_len(), 32);
        let mut problems = Vec::new();
        d.layer.check(&b, &DissectCx::default(), &mut problems);
        assert!(problems.iter().any(|p| p.contains("len 3 is odd")), "{problems:?}");
        // Cut inside the trailer: cut short, not a shorter header.
        assert!(Routing::dissect(&b[..30], &DissectCx::default()).is_err());
        // Built as given, auto len counting the trailer.
        let r = Routing::new().nh(17).segleft(1).addresses(vec![Ipv6Addr::from([0xaa; 16])]).trailer(vec![0xbb; 8]);
        assert_eq!(alone(r.clone()), b[..32]);
        assert!(Layer::from(r).present("trailer"));
        assert!(!Layer::from(Routing::new()).present("trailer"));
    }

    #[test]
    fn routing_with_odd_len_round_trips_and_decodes_what_follows() {
        // The etherparse oracle's reproducer: len 1, no address; the ICMPv6 header starts
        // after the 16 bytes of the routing header (type 0xb2), not 8 bytes early (0x43).
        let frame = hex(
            "b5b2bf3848a8c9f9e96e102386dd6dd1d13d00242bdbab221592daa147982c640a7abee06aca0e0ce171eca6c517681200fdbe0fa2013a0101010000000043f4ace43113778eb2f343856ac6bf4b8000649379a5e94b7bc7a9ee",
        );
        let p = Packet::dissect(&frame, LayerKind::Ether);
        let Layer::Routing(r) = &p.layers[2] else { panic!("{:?}", p.layers) };
        assert_eq!((r.len, r.addresses.len()), (Some(1), 0));
        assert_eq!(r.trailer, hex("43f4ace43113778e"));
        assert_eq!(p.layers[3].kind().name(), "ICMPv6Unknown");
        assert_eq!(p.layers[3].get("type"), Some(Value::Int(0xb2)));
        assert_eq!(p.build(), frame);
        let problems = crate::check::check_bytes(&frame, LayerKind::Ether, &DissectCx::default());
        assert!(problems.iter().any(|p| p.to_string().contains("routing len 1 is odd")), "{problems:?}");
    }

    #[test]
    fn checks_find_layer_problems() {
        let run = |l: Layer, seg: &[u8]| {
            let mut out = Vec::new();
            l.check(seg, &DissectCx::default(), &mut out);
            out
        };
        let broken = HopByHop::new().options(hex("0508000000"));
        assert!(run(broken.into(), &[])[0].contains("runs past"));
        assert!(run(HopByHop::new().options(opt::aligned(&[opt::router_alert(0)])).into(), &[]).is_empty());
        let r = Routing::new().segleft(3).r#type(2).addresses(vec![Ipv6Addr::LOCALHOST]);
        assert!(run(r.into(), &[])[0].contains("segleft 3"));
        let r0 = Routing::new().addresses(vec![Ipv6Addr::LOCALHOST]);
        assert!(run(r0.into(), &[])[0].contains("deprecated"));
        let frag = Fragment::new().m(1);
        assert!(run(frag.clone().into(), &[0; 8 + 5])[0].contains("multiple of 8"));
        assert!(run(frag.into(), &[0; 8 + 16]).is_empty());
        assert!(run(Fragment::new().offset(8191).into(), &[0; 8 + 16])[0].contains("65535"));
    }

    #[test]
    fn fields_by_name() {
        let mut r = Routing::new();
        r.set("type", &Value::Int(2)).unwrap();
        r.set("addresses", &Value::List(vec![Value::Str("::1".into())])).unwrap();
        assert_eq!(r.r#type, 2);
        assert_eq!(r.addresses, [Ipv6Addr::LOCALHOST]);
        assert!(Fragment::new().set("offset", &Value::Int(8192)).is_err());
        assert_eq!(Layer::from(r).summary(), "IPv6 routing type 2 segleft 1 via ::1");
        let h = HopByHop::new().options(opt::aligned(&[opt::router_alert(0)]));
        assert_eq!(Layer::from(h).summary(), "IPv6 hop-by-hop router-alert");
        assert_eq!(Layer::from(Fragment::new().offset(2).m(1).id(5)).summary(), "IPv6 fragment id 0x5 offset 16 more");
    }

    const MINE: [LayerKind; 4] = [LayerKind::HopByHop, LayerKind::DestOpt, LayerKind::Routing, LayerKind::Fragment];

    #[test]
    fn no_panics_on_any_bytes() {
        crate::layers::testing::random_bytes(0x2545f4914f6cdd1d, 5000, 80, |_, bytes| {
            for kind in MINE {
                crate::layers::testing::dissect_any(&bytes, kind, &MINE);
            }
        });
    }
}
