//! IPv4 (scapy `IP`), with option helpers.

use std::net::Ipv4Addr;

use crate::bind::Bind;
use crate::checksum;
use crate::field::{FieldType, Fmt, IntoField, Value};
use crate::layer::{Decoded, DissectCx, Next, Proto, Pseudo, Span, Truncated, WriteCx};
use crate::layer;

/// IP protocol names, as scapy shows them: from the layers' bindings (see [`crate::bind`]).
pub const IP_PROTOS: &[(u64, &str)] = crate::bind::IP_PROTOS;

/// IP protocol names scapy shows for which craft has no layer.
pub const UNBOUND: &[Bind] = &[
    Bind::ip_proto(2).named("igmp").name_only(),
    Bind::ip_proto(47).named("gre").name_only(),
    Bind::ip_proto(50).named("esp").name_only(),
    Bind::ip_proto(51).named("ah").name_only(),
    Bind::ip_proto(59).named("ipv6_nonxt").name_only(),
    Bind::ip_proto(132).named("sctp").name_only(),
];

/// IP flag names, bit 0 first (scapy's order).
pub const IP_FLAGS: &[&str] = &["MF", "DF", "evil"];

layer! {
    /// IPv4 header: 20 bytes plus options padded to a multiple of 4.
    Ip: "IP", "IP" {
        /// Version; 4. Written verbatim when set, so version=15 makes a broken packet.
        version: u8 [bits(4)] = 4,
        /// Header length in 32-bit words. Auto: from the options.
        ihl: Option<u8> [bits(4)] = None,
        /// Type of service (DSCP and ECN).
        tos: u8 [fmt(Fmt::Hex)] = 0,
        /// Total length. Auto: header + payload. A forced value also sets the L4
        /// pseudo-header length (len - 4*ihl), as in scapy.
        len: Option<u16> = None,
        /// Identification.
        id: u16 = 1,
        /// Flags: MF, DF, evil.
        flags: u8 [bits(3), fmt(Fmt::Flags(IP_FLAGS))] = 0,
        /// Fragment offset in 8-byte units.
        frag: u16 [bits(13)] = 0,
        /// Time to live.
        ttl: u8 = 64,
        /// Protocol. Auto: announces the next layer (6 for TCP), 0 otherwise.
        proto: Option<u8> [fmt(Fmt::Enum(IP_PROTOS))] = None,
        /// Header checksum. Auto: computed over the header.
        chksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Source address. Auto: 127.0.0.1 towards loopback, else 0.0.0.0 offline; the live
        /// layer takes it from the route.
        src: Option<Ipv4Addr> = None,
        /// Destination address.
        dst: Ipv4Addr = Ipv4Addr::LOCALHOST,
        /// Options as bytes, or a list of byte strings joined (see [`opt`] for builders);
        /// padded with zeros to 4 bytes.
        options: IpOptions = IpOptions::default(),
    }
}

/// IPv4 options as their bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpOptions(pub Vec<u8>);

impl IpOptions {
    /// These bytes, reusing the allocation. Out of line: a header without options (the
    /// dissect loop's common case) then keeps its values in registers.
    #[cold]
    #[inline(never)]
    fn set_from(&mut self, bytes: &[u8]) {
        self.0.clear();
        self.0.extend_from_slice(bytes);
    }
}

impl std::ops::Deref for IpOptions {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl FieldType for IpOptions {
    const KIND: &'static str = "IP options";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            // As scapy: a list of options is their concatenation.
            Value::List(items) => {
                let mut all = Vec::new();
                for item in items {
                    all.extend(Vec::<u8>::from_value(item)?);
                }
                Ok(IpOptions(all))
            }
            v => Vec::<u8>::from_value(v).map(IpOptions),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bytes(self.0.clone())
    }
}

impl IntoField<IpOptions> for Vec<u8> {
    fn into_field(self) -> IpOptions {
        IpOptions(self)
    }
}

/// The protocol number for what follows: the user's value, else the next layer's.
#[inline]
pub fn auto_proto(set: Option<u8>, cx: &WriteCx, default: u8) -> u8 {
    set.or_else(|| cx.next.and_then(|n| n.kind().ip_proto())).unwrap_or(default)
}

/// An auto total length: a packet over 65535 bytes (a TSO/GSO segment) gets 0, as Linux
/// writes for BIG TCP; the dissector reads 0 as "to the end of the bytes".
#[inline(always)]
fn auto_len(total: usize) -> u16 {
    if total > 0xffff {
        0
    } else {
        total as u16
    }
}

impl Ip {
    /// Why this header's ihl looks wrong when it announces options that do not parse as
    /// options (one running past the header, or bytes after EOL that are not zero), as
    /// `IP(ihl=6)` without options gives: the 4 bytes read as options belong to the next
    /// header, and everything after is read from the wrong offset. `craft check` then
    /// reports this first and nothing about the layers after it.
    pub fn misframed(&self) -> Option<String> {
        let ihl = self.ihl? as usize;
        if ihl <= 5 || self.options.is_empty() {
            return None;
        }
        let why = opt::malformation(&self.options)?;
        let hex: String = self.options.iter().map(|b| format!("{b:02x}")).collect();
        Some(format!(
            "IP ihl is {ihl} ({} bytes), but its {} option bytes ({hex}) are not options ({why}): \
             ihl is likely wrong, and what follows is read from byte {}",
            4 * ihl,
            self.options.len(),
            4 * ihl
        ))
    }

    /// The source address as built.
    pub fn src_or_default(&self) -> Ipv4Addr {
        self.src.unwrap_or(if self.dst.is_loopback() { Ipv4Addr::LOCALHOST } else { Ipv4Addr::UNSPECIFIED })
    }

    fn options_len(&self) -> usize {
        self.options.len().div_ceil(4) * 4
    }

    /// The last hop of a loose or strict source route: the L4 pseudo-header uses it.
    fn source_route_dst(&self) -> Option<[u8; 4]> {
        if self.options.is_empty() {
            return None;
        }
        let mut found = None;
        for (kind, body) in opt::iter(&self.options) {
            if matches!(kind, opt::LSRR | opt::SSRR) && body.len() >= 5 {
                let addrs = &body[1..];
                let last = (addrs.len() / 4 - 1) * 4;
                found = Some(addrs[last..last + 4].try_into().unwrap());
            }
        }
        found
    }

    /// [`Proto::dissect_in_place`], or with `QUICK` [`Proto::dissect_quick`]: `None` (only
    /// then) when there are options to copy.
    #[inline(always)]
    fn fill<const QUICK: bool>(&mut self, data: &[u8]) -> Option<Result<Span, Truncated>> {
        let h: &[u8; 20] = match data.get(..20) {
            Some(h) => h.try_into().expect("20 bytes"),
            None => return Some(Err(Truncated)),
        };
        // The quick path takes the common header, 20 bytes without options into a layer
        // without any, and leaves the rest (and every error) to the full one.
        if QUICK && (h[0] != 0x45 || !self.options.is_empty()) {
            return None;
        }
        // Version 4 and ihl 5..=15, or not an IPv4 header: the bytes stay Raw, marked
        // malformed (see `malformed`), as tshark stops there.
        if !(0x45..=0x4f).contains(&h[0]) {
            return Some(Err(Truncated));
        }
        let ihl = h[0] & 0xf;
        let hlen = (ihl as usize * 4).max(20);
        let options = match data.get(20..hlen) {
            Some(o) => o,
            None => return Some(Err(Truncated)),
        };
        let copy_options = !options.is_empty() || !self.options.is_empty();
        let ff = u16::from_be_bytes([h[6], h[7]]);
        let len = u16::from_be_bytes([h[2], h[3]]);
        self.version = h[0] >> 4;
        self.ihl = Some(ihl);
        self.tos = h[1];
        self.len = Some(len);
        self.id = u16::from_be_bytes([h[4], h[5]]);
        self.flags = (ff >> 13) as u8;
        self.frag = ff & 0x1fff;
        self.ttl = h[8];
        self.proto = Some(h[9]);
        self.chksum = Some(u16::from_be_bytes([h[10], h[11]]));
        self.src = Some(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
        self.dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        if copy_options {
            self.options.set_from(options);
        }
        // Like scapy: a later fragment's payload is not a header.
        let next = if self.frag != 0 { Next::Raw } else { crate::bind::ip_next(h[9]) };
        Some(Ok(Span { hlen, total_len: Some(len as usize), next }))
    }
}

impl Proto for Ip {
    const BINDS: &'static [Bind] = &[
        Bind::ether_type(0x0800).named("IPv4"),
        Bind::ip_proto(4).named("ipencap"),
        Bind::loopback_af(crate::layers::loopback::AF_INET).named("IPv4"),
    ];
    const WRITES_ALL: bool = true;

    #[inline]
    fn header_len(&self) -> usize {
        20 + self.options_len()
    }

    #[inline(always)]
    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        self.write_summed(hdr, cx);
    }

    // Inlined into the per-layer build step (`packet::build_layer`).
    #[inline(always)]
    fn write_summed(&self, hdr: &mut [u8], cx: &WriteCx) -> Option<u64> {
        let (fixed, opts) = hdr.split_at_mut(20);
        let h: &mut [u8; 20] = fixed.try_into().expect("header_len is at least 20");
        let ver_ihl = (self.version << 4) | (self.ihl.unwrap_or((20 + opts.len()) as u8 / 4) & 0xf);
        let len = self.len.unwrap_or_else(|| auto_len(20 + opts.len() + cx.payload_len));
        let ff = ((self.flags as u16 & 7) << 13) | (self.frag & 0x1fff);
        let proto = auto_proto(self.proto, cx, 0);
        let src = u32::from(self.src_or_default());
        let dst = u32::from(self.dst);
        // The header as big-endian words (checksum field zero), stored whole and summed
        // whole: the checksum comes from the values held, not from re-reading the bytes.
        let w0 = (ver_ihl as u64) << 56 | (self.tos as u64) << 48 | (len as u64) << 32 | (self.id as u64) << 16 | ff as u64;
        let w1 = (self.ttl as u64) << 56 | (proto as u64) << 48 | src as u64;
        if !opts.is_empty() {
            let (set, pad) = opts.split_at_mut(self.options.len());
            set.copy_from_slice(&self.options);
            pad.fill(0);
        }
        let options = if self.options.is_empty() { 0 } else { checksum::partial(&self.options) };
        let sum = checksum::word64(w0) + checksum::word64(w1) + dst as u64 + options;
        let ck = self.chksum.unwrap_or_else(|| checksum::fold(sum));
        h[0..8].copy_from_slice(&w0.to_be_bytes());
        h[8..16].copy_from_slice(&(w1 | (ck as u64) << 32).to_be_bytes());
        h[16..20].copy_from_slice(&dst.to_be_bytes());
        Some(sum + ck as u64)
    }

    #[inline]
    fn pseudo(&self, _outer: Option<Pseudo>) -> Option<Pseudo> {
        let dst = self.source_route_dst().map_or(u32::from(self.dst), u32::from_be_bytes);
        let forced_len = self.len.map(|l| {
            let ihl = self.ihl.map_or(self.header_len() / 4, usize::from);
            (l as usize).saturating_sub(4 * ihl) as u32
        });
        Some(Pseudo {
            src_sum: checksum::word32(u32::from(self.src_or_default())) as u32,
            dst_sum: checksum::word32(dst) as u32,
            forced_len,
        })
    }

    #[inline]
    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut ip = Ip::default();
        Ok(ip.dissect_in_place(data, cx)?.with(ip))
    }

    // Inlined into the dissect loop: returning the span through memory stalled it.
    #[inline(always)]
    fn dissect_in_place(&mut self, data: &[u8], _cx: &DissectCx) -> Result<Span, Truncated> {
        self.fill::<false>(data).expect("only the quick fill declines")
    }

    #[inline(always)]
    fn dissect_quick(&mut self, data: &[u8], _cx: &DissectCx) -> Option<Result<Span, Truncated>> {
        self.fill::<true>(data)
    }

    fn summary(&self) -> String {
        format!("IP {} > {}", self.src_or_default(), self.dst)
    }

    /// Bytes whose first one is not version 4 with an ihl of 5 or more (see [`Ip::fill`]).
    fn malformed(data: &[u8]) -> Option<String> {
        let &first = data.first()?;
        let (version, ihl) = (first >> 4, first & 0xf);
        if version != 4 {
            let what = match version {
                6 => ": an IPv6 header",
                _ => "",
            };
            return Some(format!("IP version is {version}, not 4{what}"));
        }
        (ihl < 5).then(|| format!("IP ihl is {ihl} ({} bytes), below the minimum 5", 4 * ihl as usize))
    }

    fn check(&self, seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if let Some(why) = self.misframed() {
            out.push(why);
        }
        if self.len == Some(0) && seg.len() > self.header_len() {
            out.push(format!(
                "IP len is 0: the packet is taken to run to the end of the bytes ({} in all), as in a \
                 TSO/GSO capture taken before the segment is split; on the wire receivers drop it",
                seg.len()
            ));
        }
        if self.src == Some(self.dst) {
            out.push(format!("IP src == dst ({})", self.dst));
        }
        if self.ttl == 0 {
            out.push("IP ttl is 0: the first router drops it".into());
        }
    }
}

/// IPv4 option builders, each returning the option's bytes; concatenate them into
/// `Ip::options`.
pub mod opt {
    use std::net::Ipv4Addr;

    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const RR: u8 = 7;
    pub const TIMESTAMP: u8 = 68;
    pub const LSRR: u8 = 131;
    pub const SSRR: u8 = 137;
    pub const ROUTER_ALERT: u8 = 148;

    /// End of option list.
    pub fn eol() -> Vec<u8> {
        vec![EOL]
    }
    /// No operation.
    pub fn nop() -> Vec<u8> {
        vec![NOP]
    }
    fn route(kind: u8, pointer: u8, addrs: &[Ipv4Addr]) -> Vec<u8> {
        let mut v = vec![kind, (3 + 4 * addrs.len()) as u8, pointer];
        for a in addrs {
            v.extend_from_slice(&a.octets());
        }
        v
    }
    /// Record route with room for `addrs` (pointer at the first free slot, 4).
    pub fn rr(addrs: &[Ipv4Addr]) -> Vec<u8> {
        route(RR, 4, addrs)
    }
    /// Loose source and record route.
    pub fn lsrr(addrs: &[Ipv4Addr]) -> Vec<u8> {
        route(LSRR, 4, addrs)
    }
    /// Strict source and record route.
    pub fn ssrr(addrs: &[Ipv4Addr]) -> Vec<u8> {
        route(SSRR, 4, addrs)
    }
    /// Timestamp option (flag 0: timestamps only) with these timestamps.
    pub fn timestamp(stamps: &[u32]) -> Vec<u8> {
        let mut v = vec![TIMESTAMP, (4 + 4 * stamps.len()) as u8, 5, 0];
        for t in stamps {
            v.extend_from_slice(&t.to_be_bytes());
        }
        v
    }
    /// Router alert (RFC 2113), value 0: examine packet.
    pub fn router_alert() -> Vec<u8> {
        vec![ROUTER_ALERT, 4, 0, 0]
    }

    /// What is wrong with option bytes that cannot be a header's options, or None: an
    /// option whose length runs past the end (or is below 2), or nonzero bytes after EOL.
    pub fn malformation(b: &[u8]) -> Option<String> {
        let mut at = 0;
        while let Some(&kind) = b.get(at) {
            match kind {
                EOL => {
                    return b[at..].iter().any(|&x| x != 0).then(|| format!("nonzero bytes after EOL at byte {at}"));
                }
                NOP => at += 1,
                _ => match b.get(at + 1) {
                    Some(&len) if len >= 2 && at + len as usize <= b.len() => at += len as usize,
                    Some(&len) => {
                        let how = if len < 2 { "below 2" } else { "past the header" };
                        return Some(format!("option 0x{kind:02x} at byte {at} has length {len}, {how}"));
                    }
                    None => return Some(format!("option 0x{kind:02x} at byte {at} has no length byte")),
                },
            }
        }
        None
    }

    /// Iterates over (kind, body) of options; stops at EOL or a malformed length.
    pub fn iter(mut b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
        std::iter::from_fn(move || {
            let kind = *b.first()?;
            match kind {
                EOL => None,
                NOP => {
                    b = &b[1..];
                    Some((NOP, &b[..0]))
                }
                _ => {
                    let len = *b.get(1)? as usize;
                    if len < 2 || len > b.len() {
                        return None;
                    }
                    let body = &b[2..len];
                    b = &b[len..];
                    Some((kind, body))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Layer, LayerKind, Packet};

    fn ip() -> Ip {
        Ip::new().src("172.17.2.1").dst("172.17.2.2")
    }

    #[test]
    fn header_checksum_and_lengths() {
        let b = Packet::from(Layer::from(ip())).build();
        assert_eq!(b.len(), 20);
        assert_eq!(b[0], 0x45);
        assert_eq!(&b[2..4], [0, 20]);
        assert_eq!(checksum::checksum(&b), 0);
    }

    #[test]
    fn forced_fields_are_verbatim() {
        let b = Packet::from(Layer::from(ip().ihl(4).len(10).chksum(0x1234).version(15))).build();
        assert_eq!(b[0], 0xf4);
        assert_eq!(&b[2..4], [0, 10]);
        assert_eq!(&b[10..12], [0x12, 0x34]);
    }

    #[test]
    fn options_pad_to_four_and_set_ihl() {
        let b = Packet::from(Layer::from(ip().options(opt::nop()))).build();
        assert_eq!(b.len(), 24);
        assert_eq!(b[0], 0x46);
        assert_eq!(&b[20..], [1, 0, 0, 0]);
    }

    #[test]
    fn dissect_round_trip() {
        let orig = ip().ttl(3).flags(2).frag(0).options(opt::router_alert());
        let b = Packet::from(Layer::from(orig)).build();
        let p = Packet::dissect(&b, LayerKind::Ip);
        assert_eq!(p.build(), b);
        let Layer::Ip(d) = &p.layers[0] else { panic!() };
        assert_eq!((d.ttl, d.flags, d.ihl, d.len), (3, 2, Some(6), Some(24)));
    }

    #[test]
    fn a_first_byte_that_is_no_ipv4_header_ends_in_marked_raw() {
        for (first, why) in [(0x44, "IP ihl is 4 (16 bytes), below the minimum 5"), (0x65, "IP version is 6, not 4: an IPv6 header")] {
            let mut b = Packet::from(Layer::from(ip())).build();
            b[0] = first;
            let p = Packet::dissect(&b, LayerKind::Ip);
            let [Layer::Raw(r)] = &p.layers[..] else { panic!("{p:?}") };
            assert_eq!((r.malformed, r.truncated, &r.load), (Some("IP"), None, &b));
            assert_eq!(LayerKind::Ip.malformed(&b).as_deref(), Some(why));
            // Cut short too: the first byte still tells.
            let p = Packet::dissect(&b[..3], LayerKind::Ip);
            assert!(matches!(&p.layers[0], Layer::Raw(r) if r.malformed == Some("IP")), "{p:?}");
        }
        assert_eq!(LayerKind::Ip.malformed(&[0x45]), None);
        assert_eq!(LayerKind::Ip.malformed(&[]), None);
    }

    #[test]
    fn over_65535_bytes_the_auto_len_is_0() {
        let b = (ip().proto(253) / vec![0u8; 70_000]).build();
        assert_eq!(&b[2..4], [0, 0]);
        let p = Packet::dissect(&b, LayerKind::Ip);
        assert_eq!(p.layers.len(), 2);
        assert_eq!(p.build(), b);
    }

    #[test]
    fn options_that_do_not_parse_mean_a_wrong_ihl() {
        assert_eq!(opt::malformation(&[0x7a, 0x69, 0, 0x50]).unwrap(), "option 0x7a at byte 0 has length 105, past the header");
        assert_eq!(opt::malformation(&[0, 0x14, 0, 0x50]).unwrap(), "nonzero bytes after EOL at byte 0");
        assert_eq!(opt::malformation(&[1, 0x83, 1]).unwrap(), "option 0x83 at byte 1 has length 1, below 2");
        assert_eq!(opt::malformation(&[1, 0x44]).unwrap(), "option 0x44 at byte 1 has no length byte");
        assert_eq!(opt::malformation(&opt::router_alert()), None);
        assert_eq!(opt::malformation(&[1, 1, 0, 0]), None);
        assert!(ip().ihl(6).options(vec![0x7a, 0x69, 0, 0x50]).misframed().is_some());
        assert!(ip().ihl(5).misframed().is_none());
    }

    #[test]
    fn option_iter_stops_on_bad_length() {
        let v: Vec<_> = opt::iter(&[1, 0x83, 7, 4, 1, 2, 3, 4, 0x44, 1]).collect();
        assert_eq!(v, vec![(1, &[][..]), (0x83, &[4, 1, 2, 3, 4][..])]);
    }
}
