//! ND options other than the link-layer addresses: prefix information, redirected header
//! and MTU (RFC 4861), route information (RFC 4191), recursive DNS servers and DNS search
//! lists (RFC 8106), and `ICMPv6NDOptUnknown` for
//! every other type. Each is a layer after the ND message, as in scapy; each hands on to
//! the next option.
//!
//! scapy holds the redirected header's packet (`pkt`) as a nested IPv6 packet; craft holds
//! its bytes (they are an IPv6 header and the start of its payload, cut to 8-byte units),
//! since a field cannot hold layers.

use std::net::Ipv6Addr;

use super::{Peek, addr, be16, be32, head};
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;

layer! {
    /// ND option with a prefix a router advertises: 32 bytes.
    Icmpv6NdOptPrefixInfo: "ICMPv6NDOptPrefixInfo", "ICMPv6 Neighbor Discovery Option - Prefix Information" {
        /// Option type: 3.
        r#type("type"): u8 = 3,
        /// Option length in 8-byte units: 4.
        len: u8 = 4,
        /// Prefix length in bits.
        prefixlen: u8 = 64,
        /// L flag: the prefix is on-link.
        onlink_flag("L"): u8 [bits(1)] = 1,
        /// A flag: hosts may form addresses in it (SLAAC).
        autonomous_flag("A"): u8 [bits(1)] = 1,
        /// R flag: `prefix` is the router's full address (mobile IPv6, RFC 6275).
        router_flag("R"): u8 [bits(1)] = 0,
        /// Reserved bits after the flags.
        res1: u8 [bits(5)] = 0,
        /// How long the prefix stays on-link, in seconds; 0xffffffff: forever.
        validlifetime: u32 [fmt(Fmt::Hex)] = 0xffff_ffff,
        /// How long addresses formed in it stay preferred, in seconds; 0xffffffff: forever.
        preferredlifetime: u32 [fmt(Fmt::Hex)] = 0xffff_ffff,
        /// Reserved word.
        res2: u32 [fmt(Fmt::Hex)] = 0,
        /// The prefix (bits past `prefixlen` should be 0).
        prefix: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
    }
}

layer! {
    /// ND option with the link MTU a router advertises: 8 bytes.
    Icmpv6NdOptMtu: "ICMPv6NDOptMTU", "ICMPv6 Neighbor Discovery Option - MTU" {
        /// Option type: 5.
        r#type("type"): u8 = 5,
        /// Option length in 8-byte units: 1.
        len: u8 = 1,
        /// Reserved.
        res: u16 [fmt(Fmt::Hex)] = 0,
        /// The link's MTU.
        mtu: u32 = 1280,
    }
}

layer! {
    /// ND option quoting the packet a redirect is about: 8 bytes, then as much of that
    /// packet as fits, in 8-byte units.
    Icmpv6NdOptRedirectedHdr: "ICMPv6NDOptRedirectedHdr", "ICMPv6 Neighbor Discovery Option - Redirected Header" {
        /// Option type: 4.
        r#type("type"): u8 = 4,
        /// Option length in 8-byte units. Auto: from `pkt`.
        len: Option<u8> = None,
        /// Reserved: 6 bytes (shorter values are padded with zeros, as scapy).
        res: Vec<u8> = vec![0; 6],
        /// The redirected packet's bytes (an IPv6 header first); built cut to a multiple of 8
        /// bytes, as scapy's TruncPktLenField.
        pkt: Vec<u8> = Vec::new(),
    }
}

layer! {
    /// ND option listing recursive DNS servers (RFC 8106): 8 bytes, then 16 per address.
    Icmpv6NdOptRdnss: "ICMPv6NDOptRDNSS", "ICMPv6 Neighbor Discovery Option - Recursive DNS Server Option" {
        /// Option type: 25.
        r#type("type"): u8 = 25,
        /// Option length in 8-byte units. Auto: 1 + 2 per address.
        len: Option<u8> = None,
        /// Reserved.
        res: u16 = 0,
        /// How long the servers may be used, in seconds; 0xffffffff: forever.
        lifetime: u32 = 0xffff_ffff,
        /// The servers' addresses.
        dns: Vec<Ipv6Addr> = Vec::new(),
    }
}

layer! {
    /// ND option with a route a router advertises (RFC 4191): 8 bytes, then as much of the
    /// prefix as `len` says (0, 8 or 16 bytes).
    Icmpv6NdOptRouteInfo: "ICMPv6NDOptRouteInfo", "ICMPv6 Neighbor Discovery Option - Route Information Option" {
        /// Option type: 24.
        r#type("type"): u8 = 24,
        /// Option length in 8-byte units. Auto: 3 with a prefix, else 1.
        len: Option<u8> = None,
        /// Prefix length in bits; None builds 0, as scapy.
        plen: Option<u8> = None,
        /// Reserved bits before the preference.
        res1: u8 [bits(3)] = 0,
        /// The route's preference: 0 medium, 1 high, 2 reserved, 3 low.
        prf: u8 [bits(2), fmt(Fmt::Enum(super::router::RA_PREFERENCES))] = 0,
        /// Reserved bits after the preference.
        res2: u8 [bits(3)] = 0,
        /// How long the route is valid, in seconds; 0xffffffff: forever.
        rtlifetime: u32 = 0xffff_ffff,
        /// The prefix; None is no prefix (len 1) unless len asks for its bytes.
        prefix: Option<Ipv6Addr> = None,
        /// craft's own: the bytes after the prefix's 16 when len is over 3 and they are not
        /// all zeros (scapy writes zeros there and drops what it reads), so that nothing is
        /// lost; shown only when not empty.
        trailer: Vec<u8> = Vec::new(),
    }
}

layer! {
    /// ND option listing DNS search domains (RFC 8106): 8 bytes, then the names in DNS
    /// wire form, padded with zeros to 8-byte units.
    Icmpv6NdOptDnssl: "ICMPv6NDOptDNSSL", "ICMPv6 Neighbor Discovery Option - DNS Search List Option" {
        /// Option type: 31.
        r#type("type"): u8 = 31,
        /// Option length in 8-byte units. Auto: 1 + the names' padded bytes / 8.
        len: Option<u8> = None,
        /// Reserved; None builds 0, as scapy.
        res: Option<u16> = None,
        /// How long the names may be used, in seconds; 0xffffffff: forever.
        lifetime: u32 = 0xffff_ffff,
        /// The search domains ("example.com"; dissected with a final dot, as scapy).
        searchlist: Vec<String> = Vec::new(),
        /// craft's own: the bytes after the 8-byte header as dissected, when the names read
        /// from them would not build back the same bytes (a label that is not UTF-8 or
        /// holds a dot, a length past the option, bytes in the padding), so that nothing
        /// is lost; written instead of `searchlist` when not empty, shown only then.
        raw: Vec<u8> = Vec::new(),
    }
}

layer! {
    /// Any other ND option: type, length and data.
    Icmpv6NdOptUnknown: "ICMPv6NDOptUnknown", "ICMPv6 Neighbor Discovery Option - Scapy Unimplemented" {
        /// Option type.
        r#type("type"): u8 = 0,
        /// Option length in 8-byte units. Auto: from `data` as padded.
        len: Option<u8> = None,
        /// The option's data; padded with zeros so that the option fills 8-byte units.
        data: Vec<u8> = Vec::new(),
    }
}

/// An ND option's length field from its size in bytes (at most 255 units).
fn units(bytes: usize) -> u8 {
    (bytes / 8).min(255) as u8
}

/// The option's length in bytes by its len field: at least one unit, as scapy reads it.
fn option_bytes(len: u8) -> usize {
    8 * len.max(1) as usize
}

/// Checks an option's len against the size it must have.
fn check_len(what: &str, len: u8, want: u8, out: &mut Vec<String>) {
    if len == 0 {
        out.push(format!("ND {what} option len is 0: receivers drop the message"));
    } else if len != want {
        out.push(format!("ND {what} option len is {len}, should be {want}: receivers drop the message"));
    }
}

impl Icmpv6NdOptPrefixInfo {
    fn flag_letters(&self) -> String {
        let flags = [(self.onlink_flag, 'L'), (self.autonomous_flag, 'A'), (self.router_flag, 'R')];
        flags.iter().filter(|(bit, _)| bit & 1 != 0).map(|(_, c)| *c).collect()
    }
}

impl Proto for Icmpv6NdOptPrefixInfo {
    fn header_len(&self) -> usize {
        32
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len;
        hdr[2] = self.prefixlen;
        hdr[3] = (self.onlink_flag & 1) << 7 | (self.autonomous_flag & 1) << 6 | (self.router_flag & 1) << 5 | (self.res1 & 0x1f);
        hdr[4..8].copy_from_slice(&self.validlifetime.to_be_bytes());
        hdr[8..12].copy_from_slice(&self.preferredlifetime.to_be_bytes());
        hdr[12..16].copy_from_slice(&self.res2.to_be_bytes());
        hdr[16..32].copy_from_slice(&self.prefix.octets());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 32)?;
        let layer = Icmpv6NdOptPrefixInfo {
            r#type: h[0],
            len: h[1],
            prefixlen: h[2],
            onlink_flag: h[3] >> 7,
            autonomous_flag: (h[3] >> 6) & 1,
            router_flag: (h[3] >> 5) & 1,
            res1: h[3] & 0x1f,
            validlifetime: be32(h, 4),
            preferredlifetime: be32(h, 8),
            res2: be32(h, 12),
            prefix: addr(h, 16),
        };
        // As scapy: 32 bytes whatever len says; the next option follows.
        Ok(Decoded { layer, hlen: 32, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        format!("ND prefix {}/{} [{}]", self.prefix, self.prefixlen, self.flag_letters())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_len("prefix-info", self.len, 4, out);
        if self.prefixlen > 128 {
            out.push(format!("ND prefix-info prefixlen {} is over 128", self.prefixlen));
        }
        if self.preferredlifetime > self.validlifetime {
            out.push(format!(
                "ND prefix-info preferredlifetime {} is over validlifetime {}: hosts ignore the prefix",
                self.preferredlifetime, self.validlifetime
            ));
        }
    }
}

impl Proto for Icmpv6NdOptMtu {
    fn header_len(&self) -> usize {
        8
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len;
        hdr[2..4].copy_from_slice(&self.res.to_be_bytes());
        hdr[4..8].copy_from_slice(&self.mtu.to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let layer = Icmpv6NdOptMtu { r#type: h[0], len: h[1], res: be16(h, 2), mtu: be32(h, 4) };
        Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        format!("ND mtu {}", self.mtu)
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_len("mtu", self.len, 1, out);
        if self.mtu < super::IPV6_MIN_MTU {
            out.push(format!("ND mtu {} is below the IPv6 minimum of {}: hosts ignore it", self.mtu, super::IPV6_MIN_MTU));
        }
    }
}

impl Icmpv6NdOptRedirectedHdr {
    /// The bytes of `pkt` that are built: whole 8-byte units.
    fn pkt_built(&self) -> &[u8] {
        &self.pkt[..self.pkt.len() / 8 * 8]
    }
}

impl Proto for Icmpv6NdOptRedirectedHdr {
    fn header_len(&self) -> usize {
        8 + self.pkt_built().len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len.unwrap_or(units(hdr.len()));
        let res = &self.res[..self.res.len().min(6)];
        hdr[2..2 + res.len()].copy_from_slice(res);
        hdr[2 + res.len()..8].fill(0);
        hdr[8..].copy_from_slice(self.pkt_built());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let hlen = option_bytes(h[1]);
        let pkt = data.get(8..hlen).ok_or(Truncated)?.to_vec();
        let layer = Icmpv6NdOptRedirectedHdr { r#type: h[0], len: Some(h[1]), res: h[2..8].to_vec(), pkt };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        format!("ND redirected-hdr {} bytes", self.pkt_built().len())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if self.len == Some(0) {
            out.push("ND redirected-hdr option len is 0: receivers drop the message".into());
        }
        if !self.pkt.len().is_multiple_of(8) {
            out.push(format!("ND redirected-hdr pkt has {} bytes: only whole 8-byte units are sent", self.pkt.len()));
        }
    }
}

impl Proto for Icmpv6NdOptRdnss {
    fn header_len(&self) -> usize {
        8 + 16 * self.dns.len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len.unwrap_or(units(hdr.len()));
        hdr[2..4].copy_from_slice(&self.res.to_be_bytes());
        hdr[4..8].copy_from_slice(&self.lifetime.to_be_bytes());
        for (slot, a) in hdr[8..].chunks_exact_mut(16).zip(&self.dns) {
            slot.copy_from_slice(&a.octets());
        }
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        // Like the routing header: only whole addresses belong to the option; with an even
        // len the last 8 bytes are left to the next option.
        let count = (h[1].max(1) as usize - 1) / 2;
        let hlen = 8 + 16 * count;
        let body = data.get(8..hlen).ok_or(Truncated)?;
        let dns = body.chunks_exact(16).map(|a| addr(a, 0)).collect();
        let layer = Icmpv6NdOptRdnss { r#type: h[0], len: Some(h[1]), res: be16(h, 2), lifetime: be32(h, 4), dns };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        let dns: Vec<String> = self.dns.iter().map(Ipv6Addr::to_string).collect();
        format!("ND rdnss {}", dns.join(", "))
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if let Some(len) = self.len.filter(|l| *l < 3 || l % 2 == 0) {
            out.push(format!("ND rdnss option len is {len}: it must be odd and at least 3 (RFC 8106), receivers ignore it"));
        }
    }
}

impl Icmpv6NdOptRouteInfo {
    /// The prefix's bytes on the wire, as scapy's _IP6PrefixField: all 16 when len is auto
    /// (none without a prefix); else 0 for len 0 or 1, 8 for len 2, 16 for len 3, and
    /// zeros after the 16 for a longer len.
    fn prefix_bytes(&self) -> usize {
        match (self.len, self.prefix) {
            (None, Some(_)) => 16,
            (None, None) | (Some(0 | 1), _) => 0,
            (Some(l @ (2 | 3)), _) => 8 * (l as usize - 1),
            (Some(l), _) => 16 + 8 * (l as usize - 3),
        }
    }
}

impl Icmpv6NdOptRouteInfo {
    /// Bytes after the 16 of the prefix: as `len` says, else the trailer's, to 8 bytes.
    fn trailer_bytes(&self) -> usize {
        match self.len {
            None => self.trailer.len().div_ceil(8) * 8,
            Some(_) => self.prefix_bytes().saturating_sub(16),
        }
    }
}

impl Proto for Icmpv6NdOptRouteInfo {
    fn header_len(&self) -> usize {
        match self.len {
            None if !self.trailer.is_empty() => 24 + self.trailer_bytes(),
            _ => 8 + self.prefix_bytes(),
        }
    }

    fn present(&self, field: &str) -> bool {
        field != "trailer" || !self.trailer.is_empty()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len.unwrap_or(units(hdr.len()));
        hdr[2] = self.plen.unwrap_or(0);
        hdr[3] = (self.res1 & 7) << 5 | (self.prf & 3) << 3 | (self.res2 & 7);
        hdr[4..8].copy_from_slice(&self.rtlifetime.to_be_bytes());
        let prefix = self.prefix.unwrap_or(Ipv6Addr::UNSPECIFIED).octets();
        let n = (hdr.len() - 8).min(16);
        hdr[8..8 + n].copy_from_slice(&prefix[..n]);
        hdr[8 + n..].fill(0);
        if let Some(rest) = hdr.get_mut(24..) {
            let k = rest.len().min(self.trailer.len());
            rest[..k].copy_from_slice(&self.trailer[..k]);
        }
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let hlen = option_bytes(h[1]);
        let body = data.get(8..hlen).ok_or(Truncated)?;
        // As scapy: the bytes given, padded with zeros to an address.
        let mut prefix = [0u8; 16];
        let n = body.len().min(16);
        prefix[..n].copy_from_slice(&body[..n]);
        let layer = Icmpv6NdOptRouteInfo {
            r#type: h[0],
            len: Some(h[1]),
            plen: Some(h[2]),
            res1: h[3] >> 5,
            prf: (h[3] >> 3) & 3,
            res2: h[3] & 7,
            rtlifetime: be32(h, 4),
            prefix: Some(Ipv6Addr::from(prefix)),
            trailer: body.get(16..).filter(|t| t.iter().any(|&b| b != 0)).map(<[u8]>::to_vec).unwrap_or_default(),
        };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        let prf = super::code_name(super::router::RA_PREFERENCES, self.prf);
        format!("ND route-info {}/{} prf {prf}", self.prefix.unwrap_or(Ipv6Addr::UNSPECIFIED), self.plen.unwrap_or(0))
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        let len = self.len.unwrap_or(units(self.header_len()));
        let plen = self.plen.unwrap_or(0);
        // RFC 4191 2.3: len 1 for a prefix length of 0, 2 up to 64, 3 up to 128.
        if !(1..=3).contains(&len) {
            out.push(format!("ND route-info option len is {len}: it must be 1 to 3 (RFC 4191), receivers ignore it"));
        } else if plen > 128 || (len == 1 && plen > 0) || (len == 2 && plen > 64) {
            out.push(format!("ND route-info prefix length {plen} does not fit len {len} (RFC 4191): receivers ignore it"));
        }
        if self.prf == 2 {
            out.push("ND route-info prf is 2 (reserved): receivers ignore the option (RFC 4191)".into());
        }
    }
}

/// Domain names in DNS wire form as scapy's DomainNameListField writes them: each name's
/// labels, then a zero byte unless the name already ends in one (a final dot).
fn names_wire(names: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in names {
        let start = out.len();
        for label in name.split('.') {
            out.push(label.len().min(255) as u8);
            out.extend_from_slice(label.as_bytes());
        }
        if out.len() == start || out.last() != Some(&0) {
            out.push(0);
        }
    }
    out
}

/// Domain names from DNS wire form, as scapy reads a padded DomainNameListField: each name
/// with a final dot, zeros between names skipped.
fn names_of(mut b: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    while !b.is_empty() {
        let mut labels = Vec::new();
        while let Some(&n) = b.first().filter(|&&n| n != 0) {
            let end = (1 + n as usize).min(b.len());
            labels.push(String::from_utf8_lossy(&b[1..end]).into_owned());
            b = &b[end..];
        }
        if !labels.is_empty() {
            names.push(labels.join(".") + ".");
        }
        if b.first() == Some(&0) {
            b = &b[1..];
        }
    }
    names
}

impl Icmpv6NdOptDnssl {
    /// The bytes after the header: `raw` when set, else the names padded to 8-byte units.
    fn wire(&self) -> Vec<u8> {
        if !self.raw.is_empty() {
            return self.raw.clone();
        }
        padded_names(&self.searchlist)
    }
}

/// Names in DNS wire form, padded with zeros to 8-byte units.
fn padded_names(names: &[String]) -> Vec<u8> {
    let mut w = names_wire(names);
    w.resize(w.len().div_ceil(8) * 8, 0);
    w
}

impl Proto for Icmpv6NdOptDnssl {
    fn header_len(&self) -> usize {
        8 + self.wire().len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len.unwrap_or(units(hdr.len()));
        hdr[2..4].copy_from_slice(&self.res.unwrap_or(0).to_be_bytes());
        hdr[4..8].copy_from_slice(&self.lifetime.to_be_bytes());
        hdr[8..].copy_from_slice(&self.wire());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let hlen = option_bytes(h[1]);
        let body = data.get(8..hlen).ok_or(Truncated)?;
        let searchlist = names_of(body);
        let raw = if padded_names(&searchlist) == body { Vec::new() } else { body.to_vec() };
        let layer = Icmpv6NdOptDnssl { r#type: h[0], len: Some(h[1]), res: Some(be16(h, 2)), lifetime: be32(h, 4), searchlist, raw };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn present(&self, field: &str) -> bool {
        field != "raw" || !self.raw.is_empty()
    }

    fn summary(&self) -> String {
        format!("ND dnssl {}", self.searchlist.join(", "))
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        let len = self.len.unwrap_or(units(self.header_len()));
        if len < 2 {
            out.push(format!("ND dnssl option len is {len}: it must be at least 2 (RFC 8106), receivers ignore it"));
        }
        if let Some(long) = self.searchlist.iter().find(|n| n.len() > 254) {
            out.push(format!("ND dnssl name '{long}' is over 253 characters: not a domain name"));
        }
    }
}

impl Icmpv6NdOptUnknown {
    /// Zeros after `data` so that the option fills whole 8-byte units.
    fn pad(&self) -> usize {
        (8 - (2 + self.data.len()) % 8) % 8
    }
}

impl Proto for Icmpv6NdOptUnknown {
    fn header_len(&self) -> usize {
        2 + self.data.len() + self.pad()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.r#type;
        hdr[1] = self.len.unwrap_or(units(hdr.len()));
        let (data, pad) = hdr[2..].split_at_mut(self.data.len());
        data.copy_from_slice(&self.data);
        pad.fill(0);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 2)?;
        let hlen = option_bytes(h[1]);
        let body = data.get(2..hlen).ok_or(Truncated)?.to_vec();
        let layer = Icmpv6NdOptUnknown { r#type: h[0], len: Some(h[1]), data: body };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::NdOption) })
    }

    fn summary(&self) -> String {
        format!("ND option {} ({} bytes)", self.r#type, self.header_len())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if self.len == Some(0) {
            out.push(format!("ND option {} len is 0: receivers drop the message", self.r#type));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::icmpv6::test_util::{hex, ipv6, kinds, problems};
    use crate::layers::icmpv6::Icmpv6NdRedirect;
    use crate::layers::udp::Udp;
    use crate::field::Value;
    use crate::packet::{Layer, LayerKind, Packet};

    fn alone(l: impl Into<Layer>) -> Vec<u8> {
        Packet::from(l.into()).build()
    }

    #[test]
    fn options_match_scapy() {
        assert_eq!(alone(Icmpv6NdOptRdnss::new().dns(vec!["2001:db8::53".parse().unwrap()])), hex("19030000ffffffff20010db8000000000000000000000053"));
        assert_eq!(alone(Icmpv6NdOptRdnss::new()), hex("19010000ffffffff"));
        assert_eq!(alone(Icmpv6NdOptUnknown::new().r#type(14).data(b"abc".to_vec())), hex("0e01616263000000"));
        assert_eq!(alone(Icmpv6NdOptUnknown::new()), hex("0001000000000000"));
        assert_eq!(alone(Icmpv6NdOptRedirectedHdr::new()), hex("0401000000000000"));
        let twenty = Icmpv6NdOptRedirectedHdr::new().pkt(vec![b'x'; 20]);
        assert_eq!(alone(twenty), hex("040300000000000078787878787878787878787878787878"));
        assert_eq!(alone(Icmpv6NdOptMtu::new()), hex("0501000000000500"));
        let prefix = Icmpv6NdOptPrefixInfo::new().prefix("2001:db8::");
        assert_eq!(alone(prefix), hex("030440c0ffffffffffffffff0000000020010db8000000000000000000000000"));
    }

    #[test]
    fn dnssl_names_as_scapy() {
        // scapy 2.8: bytes(ICMPv6NDOptDNSSL(searchlist=['example.com', 'a'])).hex(), and
        // ICMPv6NDOptDNSSL(those bytes).searchlist == ['example.com.', 'a.']
        let names = vec!["example.com".to_string(), "a".to_string()];
        let b = alone(Icmpv6NdOptDnssl::new().searchlist(names));
        assert_eq!(b, hex("1f030000ffffffff076578616d706c6503636f6d00016100"));
        assert_eq!(alone(Icmpv6NdOptDnssl::new()), hex("1f010000ffffffff"));
        // A final dot writes the same bytes.
        assert_eq!(alone(Icmpv6NdOptDnssl::new().searchlist(vec!["example.com.".into(), "a.".into()])), b);
        let d = Packet::dissect(&[&b[..], &hex("0501000000000500")].concat(), LayerKind::Icmpv6NdOptDnssl);
        assert_eq!(kinds(&d), [LayerKind::Icmpv6NdOptDnssl, LayerKind::Icmpv6NdOptMtu]);
        let Layer::Icmpv6NdOptDnssl(o) = &d.layers[0] else { panic!() };
        assert_eq!(o.searchlist, ["example.com.", "a."]);
        assert!(o.raw.is_empty(), "names that build back the same bytes keep no raw copy");
        assert!(!d.layers[0].present("raw"));
        assert_eq!(d.layers[0].summary(), "ND dnssl example.com., a.");
        assert_eq!(&d.build()[..b.len()], b);
        // A label that is not UTF-8 (found by the dissect property test) reads as a name
        // with U+FFFD, and the bytes are kept in `raw`: lossless.
        let odd = hex("1f020000ffffffff02ff410000000000");
        let d = Packet::dissect(&odd, LayerKind::Icmpv6NdOptDnssl);
        let Layer::Icmpv6NdOptDnssl(o) = &d.layers[0] else { panic!("{:?}", kinds(&d)) };
        assert_eq!(o.searchlist, ["\u{fffd}A."]);
        assert_eq!(o.raw, hex("02ff410000000000"));
        assert!(d.layers[0].present("raw"));
        assert_eq!(d.build(), odd);
        // A label over 63 bytes is refused.
        let long = Value::List(vec![Value::Str("x".repeat(64))]);
        assert!(Layer::from(Icmpv6NdOptDnssl::new()).set("searchlist", &long).unwrap_err().contains("over 63"));
    }

    #[test]
    fn route_info_prefix_follows_len_as_scapy() {
        // scapy 2.8: bytes(ICMPv6NDOptRouteInfo()).hex(), then with prefix="2001:db8::",
        // plen=32; with len=2, plen=64, prefix="2001:db8::1"; with len=1 and that prefix.
        assert_eq!(alone(Icmpv6NdOptRouteInfo::new()), hex("18010000ffffffff"));
        let p = Icmpv6NdOptRouteInfo::new().prefix("2001:db8::").plen(32);
        assert_eq!(alone(p), hex("18032000ffffffff20010db8000000000000000000000000"));
        let p = Icmpv6NdOptRouteInfo::new().len(2).plen(64).prefix("2001:db8::1");
        assert_eq!(alone(p), hex("18024000ffffffff20010db800000000"));
        assert_eq!(alone(Icmpv6NdOptRouteInfo::new().len(1).prefix("2001:db8::1")), hex("18010000ffffffff"));
        // len 4: the address and 8 more zeros, as scapy's _IP6PrefixField.
        assert_eq!(alone(Icmpv6NdOptRouteInfo::new().len(4)).len(), 32);
        // Non-zero bytes there (scapy drops them) are kept in craft's trailer: lossless.
        let odd = hex("18044000ffffffff20010db800000000000000000000000019290000ffffffff");
        let d = Packet::dissect(&odd, LayerKind::Icmpv6NdOptRouteInfo);
        let Layer::Icmpv6NdOptRouteInfo(r) = &d.layers[0] else { panic!("{:?}", kinds(&d)) };
        assert_eq!(r.trailer, hex("19290000ffffffff"));
        assert_eq!(d.build(), odd);
        // Dissected: the bytes given, zero-padded; prf 3 (low); then the next option.
        let d = Packet::dissect(&hex("18024018ffffffff20010db8000100020501000000000500"), LayerKind::Icmpv6NdOptRouteInfo);
        assert_eq!(kinds(&d), [LayerKind::Icmpv6NdOptRouteInfo, LayerKind::Icmpv6NdOptMtu]);
        let Layer::Icmpv6NdOptRouteInfo(r) = &d.layers[0] else { panic!() };
        assert_eq!((r.prefix, r.plen, r.prf), (Some("2001:db8:1:2::".parse().unwrap()), Some(64), 3));
        assert_eq!(d.layers[0].summary(), "ND route-info 2001:db8:1:2::/64 prf Low");
        assert_eq!(d.build(), hex("18024018ffffffff20010db8000100020501000000000500"));
    }

    #[test]
    fn redirect_quotes_a_packet() {
        let quoted = (ipv6() / Udp::new().sport(1).dport(2) / &b"0123456789"[..]).build();
        let p = ipv6() / Icmpv6NdRedirect::new().tgt("fe80::1").dst("2001:db8::2") / Icmpv6NdOptRedirectedHdr::new().pkt(quoted.clone());
        let b = p.build();
        // 58 bytes quoted: 56 are sent, len (56 + 8) / 8 = 8.
        assert_eq!(b.len(), 40 + 40 + 8 + 56);
        assert_eq!(b[81], 8);
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        assert_eq!(kinds(&d), [LayerKind::Ipv6, LayerKind::Icmpv6NdRedirect, LayerKind::Icmpv6NdOptRedirectedHdr]);
        let Layer::Icmpv6NdOptRedirectedHdr(r) = &d.layers[2] else { panic!() };
        assert_eq!(r.pkt, quoted[..56]);
        assert_eq!(d.build(), b);
    }

    #[test]
    fn lengths_come_from_the_bytes() {
        // RDNSS len 2: half an address, left to the next option (an unknown one here).
        let b = hex("1902000000000000110100000000000000");
        let d = Packet::dissect(&[&hex("85000000")[..], &[0; 4], &b].concat(), LayerKind::Icmpv6NdRs);
        use LayerKind as K;
        assert_eq!(kinds(&d), [K::Icmpv6NdRs, K::Icmpv6NdOptRdnss, K::Icmpv6NdOptUnknown, K::Raw]);
        // Unknown len 0 reads 8 bytes, as scapy.
        let d = Packet::dissect(&hex("0e000000000000000e01"), LayerKind::Icmpv6NdOptUnknown);
        assert_eq!(kinds(&d), [K::Icmpv6NdOptUnknown, K::Raw]);
        let Layer::Raw(r) = &d.layers[1] else { panic!() };
        assert_eq!(r.truncated, Some("ICMPv6NDOptUnknown"));
        assert!(problems(d.layers[0].clone(), &[])[0].contains("len is 0"));
    }

    #[test]
    fn checks() {
        assert!(problems(Icmpv6NdOptMtu::new().mtu(1000), &[])[0].contains("below the IPv6 minimum"));
        assert!(problems(Icmpv6NdOptMtu::new().len(2), &[])[0].contains("len is 2, should be 1"));
        assert!(problems(Icmpv6NdOptPrefixInfo::new().preferredlifetime(10).validlifetime(5), &[])[0].contains("ignore"));
        assert!(problems(Icmpv6NdOptRdnss::new().len(2), &[])[0].contains("odd"));
        assert!(problems(Icmpv6NdOptPrefixInfo::new(), &[]).is_empty());
        assert!(problems(Icmpv6NdOptRouteInfo::new().prefix("2001:db8::").plen(48), &[]).is_empty());
        assert!(problems(Icmpv6NdOptRouteInfo::new().len(2).plen(96), &[])[0].contains("does not fit len 2"));
        assert!(problems(Icmpv6NdOptRouteInfo::new().len(4), &[])[0].contains("1 to 3"));
        assert!(problems(Icmpv6NdOptRouteInfo::new().prf(2), &[])[0].contains("reserved"));
        assert!(problems(Icmpv6NdOptDnssl::new().searchlist(vec!["example.com".into()]), &[]).is_empty());
        assert!(problems(Icmpv6NdOptDnssl::new(), &[])[0].contains("at least 2"));
    }
}
