//! TCP (scapy `TCP`), with its options.

use crate::checksum;
use crate::field::{FieldType, Fmt, Value};
use crate::layer::{Decoded, DissectCx, Next, Proto, Span, Truncated, WriteCx};
use crate::layer;

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// TCP flag letters, bit 0 first (scapy's order).
pub const TCP_FLAGS: &[&str] = &["F", "S", "R", "P", "A", "U", "E", "C", "N"];

/// One TCP option, by scapy's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    /// End of option list (kind 0).
    Eol,
    /// No operation (kind 1).
    Nop,
    /// Maximum segment size (kind 2).
    Mss(u16),
    /// Window scale shift (kind 3).
    WScale(u8),
    /// SACK permitted (kind 4).
    SAckOK,
    /// SACK blocks: left and right edges (kind 5).
    SAck(Vec<u32>),
    /// Timestamps: (TSval, TSecr) (kind 8).
    Timestamp(u32, u32),
    /// Any other kind, or a known kind whose length is off, with its value bytes.
    Unknown(u8, Vec<u8>),
    /// Bytes that do not form an option (after EOL, or a length past the end).
    Trailing(Vec<u8>),
}

impl TcpOption {
    fn len(&self) -> usize {
        match self {
            TcpOption::Eol | TcpOption::Nop => 1,
            TcpOption::Mss(_) => 4,
            TcpOption::WScale(_) => 3,
            TcpOption::SAckOK => 2,
            TcpOption::SAck(e) => 2 + 4 * e.len(),
            TcpOption::Timestamp(..) => 10,
            TcpOption::Unknown(_, v) => 2 + v.len(),
            TcpOption::Trailing(v) => v.len(),
        }
    }

    fn write(&self, out: &mut [u8]) {
        let len = self.len() as u8;
        match self {
            TcpOption::Eol => out[0] = 0,
            TcpOption::Nop => out[0] = 1,
            TcpOption::Mss(m) => {
                out[..2].copy_from_slice(&[2, len]);
                out[2..4].copy_from_slice(&m.to_be_bytes());
            }
            TcpOption::WScale(s) => out[..3].copy_from_slice(&[3, len, *s]),
            TcpOption::SAckOK => out[..2].copy_from_slice(&[4, len]),
            TcpOption::SAck(edges) => {
                out[..2].copy_from_slice(&[5, len]);
                for (i, e) in edges.iter().enumerate() {
                    out[2 + 4 * i..6 + 4 * i].copy_from_slice(&e.to_be_bytes());
                }
            }
            TcpOption::Timestamp(v, e) => {
                out[..2].copy_from_slice(&[8, len]);
                out[2..6].copy_from_slice(&v.to_be_bytes());
                out[6..10].copy_from_slice(&e.to_be_bytes());
            }
            TcpOption::Unknown(kind, v) => {
                out[0] = *kind;
                out[1] = len;
                out[2..2 + v.len()].copy_from_slice(v);
            }
            TcpOption::Trailing(v) => out[..v.len()].copy_from_slice(v),
        }
    }

    /// Parses options as scapy does: EOL ends the list; what follows is kept as Trailing
    /// unless it is zero padding.
    pub fn parse(b: &[u8]) -> Vec<TcpOption> {
        let mut opts = Vec::new();
        TcpOption::parse_into(b, &mut opts);
        opts
    }

    /// [`TcpOption::parse`] appending to `opts`.
    pub fn parse_into(all: &[u8], opts: &mut Vec<TcpOption>) {
        let mut b = all;
        while let Some(&kind) = b.first() {
            match kind {
                0 => {
                    opts.push(TcpOption::Eol);
                    let rest = &b[1..];
                    // Zeros that padding to 4 bytes gives back are implicit; any others stay.
                    let used = all.len() - rest.len();
                    if rest.iter().any(|&x| x != 0) || used.div_ceil(4) * 4 != all.len() {
                        opts.push(TcpOption::Trailing(rest.to_vec()));
                    }
                    return;
                }
                1 => {
                    opts.push(TcpOption::Nop);
                    b = &b[1..];
                    continue;
                }
                _ => {}
            }
            let len = match b.get(1) {
                Some(&l) if l >= 2 && l as usize <= b.len() => l as usize,
                _ => {
                    opts.push(TcpOption::Trailing(b.to_vec()));
                    return;
                }
            };
            let v = &b[2..len];
            let be32 = |i: usize| u32::from_be_bytes(v[i..i + 4].try_into().unwrap());
            opts.push(match (kind, v.len()) {
                (2, 2) => TcpOption::Mss(u16::from_be_bytes([v[0], v[1]])),
                (3, 1) => TcpOption::WScale(v[0]),
                (4, 0) => TcpOption::SAckOK,
                (5, n) if n % 4 == 0 => TcpOption::SAck((0..n / 4).map(|i| be32(4 * i)).collect()),
                (8, 8) => TcpOption::Timestamp(be32(0), be32(4)),
                _ => TcpOption::Unknown(kind, v.to_vec()),
            });
            b = &b[len..];
        }
    }

    fn to_value(&self) -> Value {
        let pair = |n: &str, v: Value| Value::Tuple(vec![Value::Str(n.into()), v]);
        let ints = |v: &[u32]| Value::Tuple(v.iter().map(|&i| Value::Int(i as i64)).collect());
        match self {
            TcpOption::Eol => pair("EOL", Value::None),
            TcpOption::Nop => pair("NOP", Value::None),
            TcpOption::Mss(m) => pair("MSS", Value::Int(*m as i64)),
            TcpOption::WScale(s) => pair("WScale", Value::Int(*s as i64)),
            TcpOption::SAckOK => pair("SAckOK", Value::Bytes(vec![])),
            TcpOption::SAck(e) => pair("SAck", ints(e)),
            TcpOption::Timestamp(v, e) => pair("Timestamp", ints(&[*v, *e])),
            TcpOption::Unknown(k, v) => Value::Tuple(vec![Value::Int(*k as i64), Value::Bytes(v.clone())]),
            TcpOption::Trailing(v) => Value::Bytes(v.clone()),
        }
    }

    fn from_value(v: &Value) -> Result<TcpOption, String> {
        let int = |v: &Value, max: u64| -> Result<u64, String> {
            match v {
                Value::Int(i) if *i >= 0 && *i as u64 <= max => Ok(*i as u64),
                other => Err(format!("expected an integer up to {max}, found {}", other.repr())),
            }
        };
        let ints = |v: &Value| -> Result<Vec<u32>, String> {
            match v {
                Value::Tuple(items) | Value::List(items) => {
                    items.iter().map(|i| int(i, u32::MAX as u64).map(|x| x as u32)).collect()
                }
                Value::Int(_) => Ok(vec![int(v, u32::MAX as u64)? as u32]),
                other => Err(format!("expected a tuple of integers, found {}", other.kind())),
            }
        };
        let (name, val) = match v {
            Value::Bytes(b) => return Ok(TcpOption::Trailing(b.clone())),
            Value::Tuple(t) | Value::List(t) if t.len() == 2 => (&t[0], &t[1]),
            other => return Err(format!("a TCP option is a (name, value) pair, found {}", other.repr())),
        };
        Ok(match name {
            Value::Str(n) => match (n.as_str(), val) {
                ("EOL", _) => TcpOption::Eol,
                ("NOP", _) => TcpOption::Nop,
                ("MSS", v) => TcpOption::Mss(int(v, 0xffff)? as u16),
                ("WScale", v) => TcpOption::WScale(int(v, 0xff)? as u8),
                ("SAckOK", _) => TcpOption::SAckOK,
                ("SAck", v) => TcpOption::SAck(ints(v)?),
                ("Timestamp", v) => match ints(v)?[..] {
                    [a, b] => TcpOption::Timestamp(a, b),
                    _ => return Err("Timestamp takes (TSval, TSecr)".into()),
                },
                (other, _) => {
                    return Err(format!(
                        "unknown TCP option '{other}' (known: EOL, NOP, MSS, WScale, SAckOK, SAck, Timestamp; or (kind, b'...'))"
                    ))
                }
            },
            Value::Int(k) => {
                let kind = int(&Value::Int(*k), 255)? as u8;
                match val {
                    Value::Bytes(b) => TcpOption::Unknown(kind, b.clone()),
                    Value::None => TcpOption::Unknown(kind, vec![]),
                    other => return Err(format!("option kind {kind} takes bytes, found {}", other.kind())),
                }
            }
            other => return Err(format!("a TCP option name is a string or a kind number, found {}", other.kind())),
        })
    }
}

/// The options of a TCP header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions(pub Vec<TcpOption>);

impl TcpOptions {
    /// Length on the wire, before padding.
    fn len(&self) -> usize {
        self.0.iter().map(TcpOption::len).sum()
    }

    /// The options parsed from their bytes, reusing the list. Out of line: a header without
    /// options (the dissect loop's common case) then keeps its values in registers.
    #[cold]
    #[inline(never)]
    fn set_from(&mut self, bytes: &[u8]) {
        self.0.clear();
        TcpOption::parse_into(bytes, &mut self.0);
    }
}

impl FieldType for TcpOptions {
    const KIND: &'static str = "TCP options";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::List(items) => items.iter().map(TcpOption::from_value).collect::<Result<_, _>>().map(TcpOptions),
            Value::Bytes(b) => Ok(TcpOptions(TcpOption::parse(b))),
            other => Err(format!("expected a list of (name, value) options, found {}", other.kind())),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.0.iter().map(TcpOption::to_value).collect())
    }
}

impl From<Vec<TcpOption>> for TcpOptions {
    fn from(v: Vec<TcpOption>) -> Self {
        TcpOptions(v)
    }
}

impl crate::field::IntoField<TcpOptions> for Vec<TcpOption> {
    fn into_field(self) -> TcpOptions {
        TcpOptions(self)
    }
}

/// TCP flags: 9 bits, FIN first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN (`F`); the bits follow [`TCP_FLAGS`]' order.
    pub const FIN: TcpFlags = TcpFlags(1 << 0);
    /// SYN (`S`).
    pub const SYN: TcpFlags = TcpFlags(1 << 1);
    /// RST (`R`).
    pub const RST: TcpFlags = TcpFlags(1 << 2);
    /// PSH (`P`).
    pub const PSH: TcpFlags = TcpFlags(1 << 3);
    /// ACK (`A`).
    pub const ACK: TcpFlags = TcpFlags(1 << 4);
    /// URG (`U`).
    pub const URG: TcpFlags = TcpFlags(1 << 5);
    /// ECE (`E`).
    pub const ECE: TcpFlags = TcpFlags(1 << 6);
    /// CWR (`C`).
    pub const CWR: TcpFlags = TcpFlags(1 << 7);
    /// NS (`N`, the ECN nonce).
    pub const NS: TcpFlags = TcpFlags(1 << 8);

    /// Whether `flag` is set.
    pub fn has(self, flag: TcpFlags) -> bool {
        self.0 & flag.0 != 0
    }
}

impl FieldType for TcpFlags {
    const KIND: &'static str = "flags";
    fn from_value(v: &Value) -> Result<Self, String> {
        u16::from_value(v).map(TcpFlags)
    }
    fn to_value(&self) -> Value {
        Value::Int(self.0 as i64)
    }
}

impl crate::field::IntoField<TcpFlags> for u16 {
    fn into_field(self) -> TcpFlags {
        TcpFlags(self)
    }
}

impl TcpFlags {
    /// Flags from letters (`"SA"`), one table lookup a letter; `None` for anything else
    /// (the `+`-joined form included: [`crate::field::parse_flags`] takes that). A
    /// `const fn`: `const SA: TcpFlags = TcpFlags::lit("SA");` is parsed by the compiler.
    pub const fn from_letters(s: &str) -> Option<TcpFlags> {
        // The bit of each letter of TCP_FLAGS, plus one; 0 for other bytes.
        const BIT: [u8; 128] = {
            let mut t = [0u8; 128];
            let mut i = 0;
            while i < TCP_FLAGS.len() {
                t[TCP_FLAGS[i].as_bytes()[0] as usize] = i as u8 + 1;
                i += 1;
            }
            t
        };
        let b = s.as_bytes();
        let mut bits = 0u16;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c >= 128 || BIT[c as usize] == 0 {
                return None;
            }
            bits |= 1 << (BIT[c as usize] - 1);
            i += 1;
        }
        Some(TcpFlags(bits))
    }

    /// Flags from letters, at compile time in a `const`; panics on any other byte.
    pub const fn lit(s: &str) -> TcpFlags {
        match TcpFlags::from_letters(s) {
            Some(f) => f,
            None => panic!("not TCP flag letters (FSRPAUECN)"),
        }
    }
}

/// Flags from letters in Rust code ("SA"); a bad letter panics like a bad literal.
impl crate::field::IntoField<TcpFlags> for &str {
    #[inline]
    fn into_field(self) -> TcpFlags {
        match TcpFlags::from_letters(self) {
            Some(f) => f,
            None => flags_slow(self),
        }
    }
}

/// Flags written otherwise (`"S+A"`), or a bad literal's panic.
#[cold]
#[inline(never)]
fn flags_slow(s: &str) -> TcpFlags {
    match crate::field::parse_flags(s, TCP_FLAGS) {
        Ok(f) => TcpFlags(f as u16),
        Err(e) => panic!("invalid TCP flags literal: {e}"),
    }
}

layer! {
    /// TCP header: 20 bytes plus options padded to a multiple of 4.
    Tcp: "TCP", "TCP" {
        /// Source port.
        sport: u16 = 20,
        /// Destination port.
        dport: u16 = 80,
        /// Sequence number.
        seq: u32 = 0,
        /// Acknowledgment number.
        ack: u32 = 0,
        /// Data offset: header length in 32-bit words. Auto: from the options.
        dataofs: Option<u8> [bits(4)] = None,
        /// Reserved bits.
        reserved: u8 [bits(3)] = 0,
        /// Flags: letters FSRPAUECN ("SA") or an int.
        flags: TcpFlags [bits(9), fmt(Fmt::Flags(TCP_FLAGS))] = TcpFlags(0x002),
        /// Receive window.
        window: u16 = 8192,
        /// Checksum over the IP pseudo-header. Auto: computed.
        chksum: Option<u16> [fmt(Fmt::Hex)] = None,
        /// Urgent pointer.
        urgptr: u16 = 0,
        /// Options: [('MSS', 1460), ('NOP', None), ...]; padded with zeros to 4 bytes.
        options: TcpOptions = TcpOptions::default(),
    }
}

impl Tcp {
    /// [`Proto::dissect_in_place`], or with `QUICK` [`Proto::dissect_quick`]: `None` (only
    /// then) when there are options to copy.
    #[inline(always)]
    fn fill<const QUICK: bool>(&mut self, data: &[u8]) -> Option<Result<Span, Truncated>> {
        let h: &[u8; 20] = match data.get(..20) {
            Some(h) => h.try_into().expect("20 bytes"),
            None => return Some(Err(Truncated)),
        };
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let long = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let dataofs = h[12] >> 4;
        // The quick path takes the 20-byte header into a layer without options, and leaves
        // options (and every error) to the full one.
        if QUICK && (dataofs != 5 || !self.options.0.is_empty()) {
            return None;
        }
        let hlen = (dataofs as usize * 4).max(20);
        let options = match data.get(20..hlen) {
            Some(o) => o,
            None => return Some(Err(Truncated)),
        };
        let copy_options = !options.is_empty() || !self.options.0.is_empty();
        self.sport = word(0);
        self.dport = word(2);
        self.seq = long(4);
        self.ack = long(8);
        self.dataofs = Some(dataofs);
        self.reserved = (h[12] >> 1) & 7;
        self.flags = TcpFlags(word(12) & 0x1ff);
        self.window = word(14);
        self.chksum = Some(word(16));
        self.urgptr = word(18);
        if copy_options {
            self.options.set_from(options);
        }
        Some(Ok(Span { hlen, total_len: None, next: Next::Raw }))
    }
}

impl Proto for Tcp {
    const BINDS: &'static [crate::bind::Bind] = &[crate::bind::Bind::ip_proto(PROTO_TCP).named("tcp")];
    const USES_PSEUDO: bool = true;
    const USES_PAYLOAD_SUM: bool = true;
    const WRITES_ALL: bool = true;

    #[inline]
    fn header_len(&self) -> usize {
        20 + self.options.len().div_ceil(4) * 4
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
        let dataofs = self.dataofs.unwrap_or(((20 + opts.len()) / 4) as u8);
        let word = ((dataofs as u16 & 0xf) << 12) | ((self.reserved as u16 & 7) << 9) | (self.flags.0 & 0x1ff);
        // The fixed header as big-endian words, stored whole and summed whole: the
        // checksum comes from the values held, not from re-reading the bytes just stored.
        let w0 = (self.sport as u64) << 48 | (self.dport as u64) << 32 | self.seq as u64;
        let w1 = (self.ack as u64) << 32 | (word as u64) << 16 | self.window as u64;
        h[0..8].copy_from_slice(&w0.to_be_bytes());
        h[8..16].copy_from_slice(&w1.to_be_bytes());
        if !opts.is_empty() {
            let mut at = 0;
            for o in &self.options.0 {
                o.write(&mut opts[at..]);
                at += o.len();
            }
            opts[at..].fill(0);
        }
        let header = checksum::word64(w0) + checksum::word64(w1) + self.urgptr as u64;
        let header = if opts.is_empty() { header } else { header + checksum::partial(opts) };
        let ck = match (self.chksum, cx.pseudo) {
            (Some(ck), _) => ck,
            // No IP header to sum over (TCP in GUE, or alone): 0, as scapy.
            (None, None) => 0,
            (None, Some(p)) => {
                let seg_len = 20 + opts.len() + cx.payload_len;
                checksum::fold(header + cx.payload_sum + p.sum(PROTO_TCP, seg_len) as u64)
            }
        };
        h[16..20].copy_from_slice(&((ck as u32) << 16 | self.urgptr as u32).to_be_bytes());
        Some(header + ck as u64)
    }

    #[inline]
    fn dissect(data: &[u8], cx: &DissectCx) -> Result<Decoded<Self>, Truncated> {
        let mut tcp = Tcp::default();
        Ok(tcp.dissect_in_place(data, cx)?.with(tcp))
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
        format!("TCP {} > {} {}", self.sport, self.dport, crate::field::flags_str(self.flags.0 as u64, TCP_FLAGS))
    }

    fn check(&self, _seg: &[u8], _cx: &DissectCx, out: &mut Vec<String>) {
        if let Some(d) = self.dataofs.filter(|&d| d < 5) {
            out.push(format!("TCP dataofs {d} is below the minimum of 5 (20 bytes)"));
        }
        let f = self.flags.0;
        if f & 0x02 != 0 && f & 0x01 != 0 {
            out.push("TCP has both SYN and FIN set".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The named bits are the letters' bits.
    #[test]
    fn flag_consts_follow_the_letters() {
        let named = [TcpFlags::FIN, TcpFlags::SYN, TcpFlags::RST, TcpFlags::PSH, TcpFlags::ACK, TcpFlags::URG, TcpFlags::ECE, TcpFlags::CWR, TcpFlags::NS];
        for (flag, letter) in named.iter().zip(TCP_FLAGS) {
            assert_eq!(u64::from(flag.0), crate::field::parse_flags(letter, TCP_FLAGS).unwrap(), "{letter}");
        }
        assert!(TcpFlags(0x12).has(TcpFlags::ACK) && !TcpFlags(0x12).has(TcpFlags::RST));
        // The table lookup agrees with parse_flags wherever it answers.
        for s in ["", "S", "SA", "FSRPAUECN", "AS", "SS", "s", "S+A", "X", "Sé", "S A"] {
            let table = TcpFlags::from_letters(s).map(|f| u64::from(f.0));
            let slow = crate::field::parse_flags(s, TCP_FLAGS).ok();
            assert!(table.is_none() || table == slow, "{s:?}: {table:?} vs {slow:?}");
        }
        assert_eq!(TcpFlags::from_letters("S+A"), None);
        const SA: TcpFlags = TcpFlags::lit("SA");
        assert_eq!(SA.0, 0x12);
    }
    use crate::layers::ip::Ip;
    use crate::packet::{Layer, LayerKind, Packet};

    #[test]
    fn syn_with_options_round_trips() {
        let opts = vec![TcpOption::Mss(1460), TcpOption::Nop, TcpOption::WScale(7), TcpOption::SAckOK];
        let p = Ip::new().src("10.0.0.1").dst("10.0.0.2") / Tcp::new().sport(49138).options(opts).flags("S");
        let b = p.build();
        assert_eq!(b.len(), 20 + 32);
        assert_eq!(b[32] >> 4, 8);
        let d = Packet::dissect(&b, LayerKind::Ip);
        assert_eq!(d.build(), b);
        let Layer::Tcp(t) = &d.layers[1] else { panic!("{d:?}") };
        assert_eq!(t.options.0[0], TcpOption::Mss(1460));
        let seg = &b[20..];
        let pseudo = checksum::partial(&b[12..20]) + 6 + seg.len() as u64;
        assert_eq!(checksum::fold(pseudo + checksum::partial(seg)), 0);
    }

    #[test]
    fn option_values_round_trip() {
        let opts = TcpOptions(vec![
            TcpOption::Timestamp(1, 2),
            TcpOption::SAck(vec![1, 2]),
            TcpOption::Unknown(99, vec![1]),
            TcpOption::Eol,
        ]);
        assert_eq!(TcpOptions::from_value(&opts.to_value()).unwrap(), opts);
    }

    #[test]
    fn garbage_after_eol_is_kept() {
        let parsed = TcpOption::parse(&[0, 7, 0]);
        assert_eq!(parsed, vec![TcpOption::Eol, TcpOption::Trailing(vec![7, 0])]);
        // Zeros past the padding of the options to 4 bytes are kept too (found by fuzzing).
        let parsed = TcpOption::parse(&[0; 8]);
        assert_eq!(parsed, vec![TcpOption::Eol, TcpOption::Trailing(vec![0; 7])]);
        assert_eq!(TcpOption::parse(&[1, 0, 0, 0]), vec![TcpOption::Nop, TcpOption::Eol]);
        assert_eq!(TcpOption::parse(&[2, 9, 1]), vec![TcpOption::Trailing(vec![2, 9, 1])]);
    }
}
