//! Multicast listener discovery: MLDv1 (RFC 2710) query, report and done; MLDv2 (RFC 3810)
//! query with its sources, and report, whose multicast address records are layers after
//! it (`ICMPv6MLDMultAddrRec`), as ND options follow ND messages.
//!
//! Type 130 is an MLDv2 query when the message has 28 bytes or more, else MLDv1 (RFC 3810
//! 8.1), as scapy decides. Where craft differs from scapy:
//! - scapy holds a report's records in its `records` field; craft has them as layers, so
//!   scapy's `ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(...)])` is
//!   `ICMPv6MLReport2()/ICMPv6MLDMultAddrRec(...)` here (`records_number` counts the
//!   records that follow).
//! - A record's `auxdata_len` counts 32-bit words, as RFC 3810 5.2.6 and tshark; scapy
//!   counts bytes. No MLDv2 sender puts aux data in a record (RFC 3810 says it must not).

use std::net::Ipv6Addr;

use super::{Peek, addr, be16, head, write_head, ICMPV6_TYPES};
use crate::field::Fmt;
use crate::layer::{Decoded, DissectCx, Next, Proto, Truncated, WriteCx};
use crate::layer;
use crate::packet::LayerKind;

/// Multicast address record types (RFC 3810 5.2.12).
pub const RECORD_TYPES: &[(u64, &str)] = &[
    (1, "MODE_IS_INCLUDE"),
    (2, "MODE_IS_EXCLUDE"),
    (3, "CHANGE_TO_INCLUDE_MODE"),
    (4, "CHANGE_TO_EXCLUDE_MODE"),
    (5, "ALLOW_NEW_SOURCES"),
    (6, "BLOCK_OLD_SOURCES"),
];

/// Declares one of the three MLDv1 messages: same 24-byte layout.
macro_rules! mldv1 {
    ($(#[doc = $doc:literal])* $S:ident, $scapy:literal, $long:literal, $type:literal, $mrd:literal, $what:literal) => {
        layer! {
            $(#[doc = $doc])*
            $S: $scapy, $long {
                /// Message type.
                r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = $type,
                /// Code.
                code: u8 = 0,
                /// Checksum over the IPv6 pseudo-header. Auto: computed.
                cksum: Option<u16> [fmt(Fmt::Hex)] = None,
                /// Maximum response delay in ms (queries; 0 in reports and dones).
                mrd: u16 = $mrd,
                /// Reserved.
                reserved: u16 = 0,
                /// The multicast address (:: in a general query).
                mladdr: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
            }
        }

        impl Proto for $S {
            icmpv6_message!();

            fn header_len(&self) -> usize {
                24
            }

            fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
                write_head(hdr, self.r#type, self.code, self.cksum);
                hdr[4..6].copy_from_slice(&self.mrd.to_be_bytes());
                hdr[6..8].copy_from_slice(&self.reserved.to_be_bytes());
                hdr[8..24].copy_from_slice(&self.mladdr.octets());
            }

            fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
                let h = head(data, 24)?;
                let layer = $S {
                    r#type: h[0],
                    code: h[1],
                    cksum: Some(be16(h, 2)),
                    mrd: be16(h, 4),
                    reserved: be16(h, 6),
                    mladdr: addr(h, 8),
                };
                Ok(Decoded { layer, hlen: 24, total_len: None, next: Next::Raw })
            }

            fn summary(&self) -> String {
                format!("ICMPv6 MLD {} {}", $what, self.mladdr)
            }

            fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
                check_mladdr($what, &self.mladdr, $type == 130, out);
            }
        }
    };
}

mldv1!(
    /// MLDv1 query (RFC 2710): 24 bytes. Sent to ff02::1 with hop limit 1.
    Icmpv6MlQuery, "ICMPv6MLQuery", "MLD - Multicast Listener Query", 130, 10000, "query"
);
mldv1!(
    /// MLDv1 report (RFC 2710): 24 bytes, to the group reported, with hop limit 1.
    Icmpv6MlReport, "ICMPv6MLReport", "MLD - Multicast Listener Report", 131, 0, "report"
);
mldv1!(
    /// MLDv1 done (RFC 2710): 24 bytes, to ff02::2 with hop limit 1.
    Icmpv6MlDone, "ICMPv6MLDone", "MLD - Multicast Listener Done", 132, 0, "done"
);

/// A query's multicast address is :: (general) or multicast; a report's or done's multicast.
fn check_mladdr(what: &str, a: &Ipv6Addr, query: bool, out: &mut Vec<String>) {
    if !(a.is_multicast() || query && a.is_unspecified()) {
        out.push(format!("ICMPv6 MLD {what} mladdr {a} is not a multicast address"));
    }
}

layer! {
    /// MLDv2 query (RFC 3810): 28 bytes, then 16 per source. Sent to ff02::1 with hop limit 1.
    Icmpv6MlQuery2: "ICMPv6MLQuery2", "MLDv2 - Multicast Listener Query" {
        /// Message type: 130.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 130,
        /// Code.
        code: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Maximum response code (ms below 32768, else a floating-point value).
        mrd: u16 = 10000,
        /// Reserved.
        reserved: u16 = 0,
        /// The multicast address (:: in a general query).
        mladdr: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
        /// Reserved bits.
        resv("Resv"): u8 [bits(4)] = 0,
        /// S flag: routers suppress their timer updates.
        suppress("S"): u8 [bits(1)] = 0,
        /// Querier's robustness variable.
        qrv("QRV"): u8 [bits(3)] = 0,
        /// Querier's query interval code.
        qqic("QQIC"): u8 = 0,
        /// Number of sources. Auto: from `sources`.
        sources_number: Option<u16> = None,
        /// The sources asked about (a group-and-source-specific query).
        sources: Vec<Ipv6Addr> = Vec::new(),
    }
}

layer! {
    /// MLDv2 report (RFC 3810): 8 bytes, then its multicast address records as
    /// `ICMPv6MLDMultAddrRec` layers. Sent to ff02::16 with hop limit 1.
    Icmpv6MlReport2: "ICMPv6MLReport2", "MLDv2 - Multicast Listener Report" {
        /// Message type: 143.
        r#type("type"): u8 [fmt(Fmt::Enum(ICMPV6_TYPES))] = 143,
        /// Reserved byte (the code).
        res: u8 = 0,
        /// Checksum over the IPv6 pseudo-header. Auto: computed.
        cksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Reserved.
        reserved: u16 = 0,
        /// Number of records. Auto: the records that follow (their bytes, counted).
        records_number: Option<u16> = None,
    }
}

layer! {
    /// One multicast address record of an MLDv2 report: 20 bytes, 16 per source, then the
    /// aux data.
    Icmpv6MldMultAddrRec: "ICMPv6MLDMultAddrRec", "ICMPv6 MLDv2 - Multicast Address Record" {
        /// Record type: 1 MODE_IS_INCLUDE, 2 MODE_IS_EXCLUDE, 3 CHANGE_TO_INCLUDE_MODE,
        /// 4 CHANGE_TO_EXCLUDE_MODE, 5 ALLOW_NEW_SOURCES, 6 BLOCK_OLD_SOURCES.
        rtype: u8 = 4,
        /// Aux data length in 32-bit words (RFC 3810; scapy counts bytes). Auto: from `auxdata`.
        auxdata_len: Option<u8> = None,
        /// Number of sources. Auto: from `sources`.
        sources_number: Option<u16> = None,
        /// The multicast address.
        dst: Ipv6Addr = Ipv6Addr::UNSPECIFIED,
        /// The sources.
        sources: Vec<Ipv6Addr> = Vec::new(),
        /// Aux data; padded with zeros to 32-bit words.
        auxdata: Vec<u8> = Vec::new(),
    }
}

/// How MLDv2 reports dissect what follows them: records while bytes remain.
pub(super) fn classify_record(rest: &[u8]) -> Next {
    if rest.is_empty() {
        Next::Raw
    } else {
        Next::Layer(LayerKind::Icmpv6MldMultAddrRec)
    }
}

/// A record's size by its header, or None when its 4 first bytes are not there.
fn record_len(b: &[u8]) -> Option<usize> {
    let h = b.get(..4)?;
    Some(20 + 16 * be16(h, 2) as usize + 4 * h[1] as usize)
}

/// Whole records at the start of `b`.
fn count_records(mut b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(len) = record_len(b).filter(|&l| l <= b.len()) {
        n += 1;
        b = &b[len..];
    }
    n
}

fn sources_of(b: &[u8]) -> Vec<Ipv6Addr> {
    b.chunks_exact(16).map(|a| addr(a, 0)).collect()
}

fn write_sources(out: &mut [u8], sources: &[Ipv6Addr]) {
    for (slot, a) in out.chunks_exact_mut(16).zip(sources) {
        slot.copy_from_slice(&a.octets());
    }
}

impl Proto for Icmpv6MlQuery2 {
    icmpv6_message!();

    fn header_len(&self) -> usize {
        28 + 16 * self.sources.len()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        write_head(hdr, self.r#type, self.code, self.cksum);
        hdr[4..6].copy_from_slice(&self.mrd.to_be_bytes());
        hdr[6..8].copy_from_slice(&self.reserved.to_be_bytes());
        hdr[8..24].copy_from_slice(&self.mladdr.octets());
        hdr[24] = (self.resv & 0xf) << 4 | (self.suppress & 1) << 3 | (self.qrv & 7);
        hdr[25] = self.qqic;
        let n = self.sources_number.unwrap_or(self.sources.len() as u16);
        hdr[26..28].copy_from_slice(&n.to_be_bytes());
        write_sources(&mut hdr[28..], &self.sources);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 28)?;
        let n = be16(h, 26);
        let hlen = 28 + 16 * n as usize;
        let sources = sources_of(data.get(28..hlen).ok_or(Truncated)?);
        let layer = Icmpv6MlQuery2 {
            r#type: h[0],
            code: h[1],
            cksum: Some(be16(h, 2)),
            mrd: be16(h, 4),
            reserved: be16(h, 6),
            mladdr: addr(h, 8),
            resv: h[24] >> 4,
            suppress: (h[24] >> 3) & 1,
            qrv: h[24] & 7,
            qqic: h[25],
            sources_number: Some(n),
            sources,
        };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Raw })
    }

    fn summary(&self) -> String {
        format!("ICMPv6 MLDv2 query {} ({} sources)", self.mladdr, self.sources.len())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        check_mladdr("v2 query", &self.mladdr, true, out);
    }
}

impl Proto for Icmpv6MlReport2 {
    icmpv6_message!();

    fn header_len(&self) -> usize {
        8
    }

    fn write(&self, hdr: &mut [u8], cx: &WriteCx) {
        write_head(hdr, self.r#type, self.res, self.cksum);
        hdr[4..6].copy_from_slice(&self.reserved.to_be_bytes());
        let n = self.records_number.unwrap_or_else(|| count_records(cx.payload).min(0xffff) as u16);
        hdr[6..8].copy_from_slice(&n.to_be_bytes());
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 8)?;
        let layer = Icmpv6MlReport2 {
            r#type: h[0],
            res: h[1],
            cksum: Some(be16(h, 2)),
            reserved: be16(h, 4),
            records_number: Some(be16(h, 6)),
        };
        Ok(Decoded { layer, hlen: 8, total_len: None, next: Next::Peek(Peek::MldRecord) })
    }

    fn summary(&self) -> String {
        match self.records_number {
            Some(n) => format!("ICMPv6 MLDv2 report ({n} records)"),
            None => "ICMPv6 MLDv2 report".into(),
        }
    }
}

impl Icmpv6MldMultAddrRec {
    /// Zeros after `auxdata` up to a 32-bit word.
    fn aux_pad(&self) -> usize {
        (4 - self.auxdata.len() % 4) % 4
    }
}

impl Proto for Icmpv6MldMultAddrRec {
    fn header_len(&self) -> usize {
        20 + 16 * self.sources.len() + self.auxdata.len() + self.aux_pad()
    }

    fn write(&self, hdr: &mut [u8], _cx: &WriteCx) {
        hdr[0] = self.rtype;
        let words = (self.auxdata.len() + self.aux_pad()) / 4;
        hdr[1] = self.auxdata_len.unwrap_or(words.min(255) as u8);
        let n = self.sources_number.unwrap_or(self.sources.len() as u16);
        hdr[2..4].copy_from_slice(&n.to_be_bytes());
        hdr[4..20].copy_from_slice(&self.dst.octets());
        let aux_at = 20 + 16 * self.sources.len();
        write_sources(&mut hdr[20..aux_at], &self.sources);
        let (aux, pad) = hdr[aux_at..].split_at_mut(self.auxdata.len());
        aux.copy_from_slice(&self.auxdata);
        pad.fill(0);
    }

    fn dissect(data: &[u8], _cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let h = head(data, 20)?;
        let n = be16(h, 2) as usize;
        let hlen = record_len(h).expect("20 bytes");
        let body = data.get(20..hlen).ok_or(Truncated)?;
        let (sources, auxdata) = body.split_at(16 * n);
        let layer = Icmpv6MldMultAddrRec {
            rtype: h[0],
            auxdata_len: Some(h[1]),
            sources_number: Some(n as u16),
            dst: addr(h, 4),
            sources: sources_of(sources),
            auxdata: auxdata.to_vec(),
        };
        Ok(Decoded { layer, hlen, total_len: None, next: Next::Peek(Peek::MldRecord) })
    }

    fn summary(&self) -> String {
        let kind = super::code_name(RECORD_TYPES, self.rtype);
        format!("MLDv2 record {kind} {} ({} sources)", self.dst, self.sources.len())
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if !(1..=6).contains(&self.rtype) {
            out.push(format!("MLDv2 record type {} is unknown: receivers ignore the record", self.rtype));
        }
        if !self.dst.is_multicast() {
            out.push(format!("MLDv2 record dst {} is not a multicast address", self.dst));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::icmpv6::test_util::{hex, ipv6, kinds, problems};
    use crate::packet::{Layer, Packet};

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn mldv1_messages() {
        let p = ipv6().dst("ff02::1") / Icmpv6MlQuery::new();
        let b = p.build();
        assert_eq!(b[7], 1, "hop limit 1, as scapy");
        assert_eq!(&b[40..], hex("820029df2710000000000000000000000000000000000000"));
        assert_eq!(kinds(&Packet::dissect(&b, LayerKind::Ipv6)), [LayerKind::Ipv6, LayerKind::Icmpv6MlQuery]);
        let r = (ipv6().dst("ff02::fb") / Icmpv6MlReport::new().mladdr("ff02::fb")).build();
        assert_eq!(kinds(&Packet::dissect(&r, LayerKind::Ipv6)), [LayerKind::Ipv6, LayerKind::Icmpv6MlReport]);
        let d = (ipv6().dst("ff02::2") / Icmpv6MlDone::new().mladdr("ff02::fb")).build();
        assert_eq!(kinds(&Packet::dissect(&d, LayerKind::Ipv6)), [LayerKind::Ipv6, LayerKind::Icmpv6MlDone]);
        assert!(problems(Icmpv6MlReport::new(), &[])[0].contains("not a multicast"));
        assert!(problems(Icmpv6MlQuery::new(), &[]).is_empty());
    }

    #[test]
    fn query_version_by_length() {
        let v2 = (ipv6().dst("ff02::1") / Icmpv6MlQuery2::new().sources(vec![a("2001:db8::5")])).build();
        assert_eq!(&v2[40..], hex("8200fc0b27100000000000000000000000000000000000000000000120010db8000000000000000000000005"));
        let d = Packet::dissect(&v2, LayerKind::Ipv6);
        assert_eq!(kinds(&d), [LayerKind::Ipv6, LayerKind::Icmpv6MlQuery2]);
        assert_eq!(d.build(), v2);
        // 24 bytes: MLDv1 even for a v2 layer cut there.
        let d = Packet::dissect(&v2[..64], LayerKind::Ipv6);
        assert_eq!(kinds(&d), [LayerKind::Ipv6, LayerKind::Icmpv6MlQuery]);
        // A sources_number past the bytes: cut short.
        let d = Packet::dissect(&v2[..80], LayerKind::Ipv6);
        let Some(Layer::Raw(r)) = d.layers.last() else { panic!("{d:?}") };
        assert_eq!(r.truncated, Some("ICMPv6MLQuery2"));
    }

    #[test]
    fn report2_counts_its_records() {
        // scapy: ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(dst='ff02::fb'), ...]).
        let p = ipv6().dst("ff02::16")
            / Icmpv6MlReport2::new()
            / Icmpv6MldMultAddrRec::new().dst("ff02::fb")
            / Icmpv6MldMultAddrRec::new().rtype(1).dst("ff05::1:3").sources(vec![a("2001:db8::1"), a("2001:db8::2")]);
        let b = p.build();
        assert_eq!(b[7], 1);
        assert_eq!(&b[44..48], [0, 0, 0, 2]);
        assert_eq!(&b[48..52], [4, 0, 0, 0]);
        assert_eq!(&b[40..], hex("8f00e4200000000204000000ff0200000000000000000000000000fb01000002ff05000000000000000000000001000320010db800000000000000000000000120010db8000000000000000000000002"));
        let d = Packet::dissect(&b, LayerKind::Ipv6);
        use LayerKind as K;
        assert_eq!(kinds(&d), [K::Ipv6, K::Icmpv6MlReport2, K::Icmpv6MldMultAddrRec, K::Icmpv6MldMultAddrRec]);
        assert_eq!(d.build(), b);
        assert_eq!(d.layers[3].summary(), "MLDv2 record MODE_IS_INCLUDE ff05::1:3 (2 sources)");
    }

    #[test]
    fn aux_data_counts_words() {
        let r = Icmpv6MldMultAddrRec::new().dst("ff02::fb").auxdata(b"abcde".to_vec());
        let b = Packet::from(Layer::from(r)).build();
        assert_eq!(b.len(), 20 + 8);
        assert_eq!(b[1], 2);
        assert_eq!(&b[20..], b"abcde\0\0\0");
        let d = Packet::dissect(&b, LayerKind::Icmpv6MldMultAddrRec);
        assert_eq!(d.layers.len(), 1);
        assert_eq!(d.build(), b);
    }
}
