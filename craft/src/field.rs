//! Field values: the typed storage of each layer field and its dynamic form ([`Value`]),
//! which the expression parser, RON, JSON, show and ls all go through.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A field value in dynamic form, as written in an expression or a RON file.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`: the field is computed (auto).
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
}

impl Value {
    /// A short description of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Str(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "a list",
            Value::Tuple(_) => "a tuple",
        }
    }

    /// Python-style repr, as scapy's `command()` prints it.
    pub fn repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Value::Bytes(b) => bytes_repr(b),
            Value::List(items) => format!("[{}]", join(items, Value::repr)),
            Value::Tuple(items) if items.len() == 1 => format!("({},)", items[0].repr()),
            Value::Tuple(items) => format!("({})", join(items, Value::repr)),
        }
    }
}

fn join(items: &[Value], f: fn(&Value) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(", ")
}

/// Lowercase hex of bytes, two digits a byte: the one encoder for the CLI's hex output,
/// JSON and craft-repl's `.hex()`.
pub fn hex(b: &[u8]) -> String {
    crate::hex::encode(b)
}

/// `b'...'` with Python's escaping.
pub fn bytes_repr(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 3);
    s.push_str("b'");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

/// A MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    pub const ZERO: Mac = Mac([0; 6]);
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl Mac {
    /// Parses six hex bytes of one or two digits separated by `:` or `-`
    /// (`02:00:00:00:00:33`), as [`FromStr`] does; `None` for anything else. A `const fn`:
    /// [`Mac::lit`] in a `const` is parsed by the compiler, and at run time it is one pass over the bytes.
    #[inline(always)]
    pub const fn parse(s: &str) -> Option<Mac> {
        match Mac::parse_canonical(s.as_bytes()) {
            Some(m) => Some(m),
            None => Mac::parse_any(s.as_bytes()),
        }
    }

    /// The common form, `xx:xx:xx:xx:xx:xx` (or with `-`), as straight-line code: a table
    /// lookup per digit, which the compiler folds away for a literal once inlined.
    #[inline(always)]
    const fn parse_canonical(b: &[u8]) -> Option<Mac> {
        // Hex digit values; 0x10 marks a byte that is not one.
        const HEX: [u8; 256] = {
            let mut t = [0x10u8; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                t[b'A' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        };
        if b.len() != 17 {
            return None;
        }
        let Some(b) = b.first_chunk::<17>() else { return None };
        let mut out = [0u8; 6];
        let mut bad = 0u8;
        let mut i = 0;
        while i < 6 {
            let (hi, lo) = (HEX[b[3 * i] as usize], HEX[b[3 * i + 1] as usize]);
            bad |= hi | lo;
            out[i] = (hi << 4) | (lo & 0xf);
            if i < 5 && b[3 * i + 2] != b':' && b[3 * i + 2] != b'-' {
                return None;
            }
            i += 1;
        }
        if bad & 0x10 != 0 {
            return None;
        }
        Some(Mac(out))
    }

    /// Any form [`Mac::parse`] takes.
    #[inline(never)]
    const fn parse_any(b: &[u8]) -> Option<Mac> {
        let mut out = [0u8; 6];
        let (mut i, mut part) = (0, 0);
        loop {
            // One part: one or two hex digits (or, as `from_str_radix` takes it, `+` and one).
            let plus = i < b.len() && b[i] == b'+';
            if plus {
                i += 1;
            }
            let mut digits = plus as usize;
            let mut v = 0u8;
            while i < b.len() && digits < 3 {
                let d = match b[i] {
                    c @ b'0'..=b'9' => c - b'0',
                    c @ b'a'..=b'f' => c - b'a' + 10,
                    c @ b'A'..=b'F' => c - b'A' + 10,
                    _ => break,
                };
                v = (v << 4) | d;
                digits += 1;
                i += 1;
            }
            if digits == plus as usize || digits > 2 {
                return None;
            }
            out[part] = v;
            part += 1;
            if part == 6 {
                return if i == b.len() { Some(Mac(out)) } else { None };
            }
            if i == b.len() || !(b[i] == b':' || b[i] == b'-') {
                return None;
            }
            i += 1;
        }
    }

    /// A MAC address literal, parsed at compile time when used in a `const`:
    /// `const DST: Mac = Mac::lit("02:00:00:00:00:33");`. Panics (a compile error in a
    /// const) when `s` is not a MAC address.
    pub const fn lit(s: &str) -> Mac {
        match Mac::parse(s) {
            Some(m) => m,
            None => panic!("not a MAC address literal (expected six hex bytes like 02:00:00:00:00:01)"),
        }
    }
}

impl FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        Mac::parse(s).ok_or_else(|| format!("'{s}' is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)"))
    }
}

/// Parses a dotted-quad IPv4 address exactly as `Ipv4Addr::from_str` does (four decimal
/// parts 0..=255, no leading zeros, nothing else), in one pass over the bytes; `None` for
/// anything else. A `const fn`, like [`ipv4_lit`].
#[inline(always)]
pub const fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    // Straight-line code (no loop), which the compiler folds away for a literal once
    // inlined: four parts, each followed by a dot but the last.
    let b = s.as_bytes();
    let (a, i) = match ipv4_part(b, 0) {
        Some(p) => p,
        None => return None,
    };
    let (c1, i) = match ipv4_dot_part(b, i) {
        Some(p) => p,
        None => return None,
    };
    let (c2, i) = match ipv4_dot_part(b, i) {
        Some(p) => p,
        None => return None,
    };
    let (c3, i) = match ipv4_dot_part(b, i) {
        Some(p) => p,
        None => return None,
    };
    if i != b.len() {
        return None;
    }
    Some(Ipv4Addr::new(a, c1, c2, c3))
}

#[inline(always)]
const fn ipv4_digit(b: &[u8], j: usize) -> bool {
    j < b.len() && b[j].is_ascii_digit()
}

/// A dot at `i`, then [`ipv4_part`].
#[inline(always)]
const fn ipv4_dot_part(b: &[u8], i: usize) -> Option<(u8, usize)> {
    if i >= b.len() || b[i] != b'.' {
        return None;
    }
    ipv4_part(b, i + 1)
}

/// One decimal part at `i`: 1 to 3 digits, 0..=255, no leading zero; the value and where
/// the part ends.
#[inline(always)]
const fn ipv4_part(b: &[u8], i: usize) -> Option<(u8, usize)> {
    if !ipv4_digit(b, i) {
        return None;
    }
    let mut v = (b[i] - b'0') as u32;
    let mut j = i + 1;
    if ipv4_digit(b, j) {
        if b[i] == b'0' {
            return None;
        }
        v = v * 10 + (b[j] - b'0') as u32;
        j += 1;
        if ipv4_digit(b, j) {
            v = v * 10 + (b[j] - b'0') as u32;
            j += 1;
            if ipv4_digit(b, j) || v > 255 {
                return None;
            }
        }
    }
    Some((v as u8, j))
}

/// An IPv4 address literal, parsed at compile time when used in a `const`:
/// `const SRC: Ipv4Addr = ipv4_lit("172.17.2.1");`. Panics (a compile error in a const)
/// when `s` is not an IPv4 address.
pub const fn ipv4_lit(s: &str) -> Ipv4Addr {
    match parse_ipv4(s) {
        Some(a) => a,
        None => panic!("not an IPv4 address literal (expected a dotted quad like 10.0.0.1)"),
    }
}

impl From<[u8; 6]> for Mac {
    fn from(b: [u8; 6]) -> Mac {
        Mac(b)
    }
}

/// How a field's value is shown (show, ls) and which names it accepts.
#[derive(Clone, Copy, Debug)]
pub enum Fmt {
    Dec,
    Hex,
    /// Named values: shown by name, and a name is accepted where an int is expected.
    Enum(&'static [(u64, &'static str)]),
    /// Flag letters, bit 0 first (scapy's FlagsField): "SA", "DF".
    Flags(&'static [&'static str]),
}

/// What a derived field is: an auto field whose value follows from the rest of the packet,
/// which `craft check` recomputes and compares (in this order: lengths first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Derived {
    /// A length of the header and payload, or of the payload (IP `len`, IPv6 `plen`).
    Length,
    /// The header's own length (IP `ihl`, TCP `dataofs`, GUE `hlen`).
    HeaderLength,
    /// A checksum (`chksum`, `cksum`).
    Checksum,
    /// A number of items that follow (MLDv2 `records_number`).
    Count,
}

/// The derived fields by the names scapy gives them: the default of
/// [`FieldInfo::derived`] for an auto field (a layer declares otherwise with
/// `[derived(..)]`). Auto fields named otherwise (Ether `type`, UDP `dport`, VXLAN `flags`)
/// select or announce rather than follow from the bytes.
const DERIVED_NAMES: &[(&str, Derived)] = &[
    ("len", Derived::Length),
    ("plen", Derived::Length),
    ("ihl", Derived::HeaderLength),
    ("dataofs", Derived::HeaderLength),
    ("hlen", Derived::HeaderLength),
    ("chksum", Derived::Checksum),
    ("cksum", Derived::Checksum),
    ("records_number", Derived::Count),
    ("sources_number", Derived::Count),
    ("auxdata_len", Derived::Count),
];

const fn derived_by_name(name: &str) -> Option<Derived> {
    let mut i = 0;
    while i < DERIVED_NAMES.len() {
        let (n, d) = DERIVED_NAMES[i];
        if n.len() == name.len() {
            let (a, b) = (n.as_bytes(), name.as_bytes());
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return Some(d);
            }
        }
        i += 1;
    }
    None
}

/// Static description of one field of a layer: drives ls, show, set by name.
#[derive(Clone, Copy, Debug)]
pub struct FieldInfo {
    /// scapy's field name.
    pub name: &'static str,
    /// Storage type, as `ls` shows it.
    pub kind: &'static str,
    /// Width in bits for bit fields; 0 means the natural width of the type.
    pub bits: u8,
    pub fmt: Fmt,
    /// True when the default is None: computed at build time unless set.
    pub auto: bool,
    /// For an auto field computed from the rest of the packet (a length, a checksum):
    /// which kind. `craft check` recomputes these and reports the ones that differ.
    pub derived: Option<Derived>,
    /// Not on the wire: the dissector's notes about the bytes (Raw's `truncated`). Shown
    /// apart from the fields (see [`crate::show`], [`crate::text`]).
    pub metadata: bool,
    pub doc: &'static str,
}

impl FieldInfo {
    pub const fn new(name: &'static str, kind: &'static str, auto: bool, doc: &'static str) -> Self {
        let derived = if auto { derived_by_name(name) } else { None };
        FieldInfo { name, kind, bits: 0, fmt: Fmt::Dec, auto, derived, metadata: false, doc }
    }
    /// Declares what the field derives from (or, with None, that it does not), whatever
    /// its name says.
    pub const fn derived(mut self, derived: Option<Derived>) -> Self {
        self.derived = derived;
        self
    }
    /// Declares the field metadata: not on the wire (see [`FieldInfo::metadata`]).
    pub const fn metadata(mut self, metadata: bool) -> Self {
        self.metadata = metadata;
        self
    }
    pub const fn bits(mut self, bits: u8) -> Self {
        self.bits = bits;
        self
    }
    pub const fn fmt(mut self, fmt: Fmt) -> Self {
        self.fmt = fmt;
        self
    }

    /// Converts a dynamic value for this field: names of enum values and flag strings
    /// become ints; ints are checked against the bit width.
    pub fn normalize(&self, v: &Value) -> Result<Value, String> {
        let v = match (self.fmt, v) {
            (Fmt::Enum(names), Value::Str(s)) => match names.iter().find(|(_, n)| n == s) {
                Some((num, _)) => Value::Int(*num as i64),
                None => return Err(format!("unknown name '{s}' (known: {})", enum_names(names))),
            },
            (Fmt::Flags(letters), Value::Str(s)) => Value::Int(parse_flags(s, letters)? as i64),
            _ => v.clone(),
        };
        if let (Value::Int(i), bits) = (&v, self.bits) {
            if bits > 0 && (*i < 0 || *i >= 1i64 << bits) {
                return Err(format!("{i} does not fit in {bits} bits (0..={})", (1i64 << bits) - 1));
            }
        }
        Ok(v)
    }

    /// Shows a value the way scapy's show() does: enum names, flag letters, hex.
    pub fn show(&self, v: &Value) -> String {
        match (self.fmt, v) {
            (Fmt::Hex, Value::Int(i)) => format!("{i:#x}"),
            (Fmt::Enum(names), Value::Int(i)) => match names.iter().find(|(n, _)| *n as i64 == *i) {
                Some((_, name)) => name.to_string(),
                None => i.to_string(),
            },
            (Fmt::Flags(letters), Value::Int(i)) => flags_str(*i as u64, letters),
            _ => show_value(v),
        }
    }
}

fn enum_names(names: &[(u64, &str)]) -> String {
    names.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}

/// Parses flag letters ("SA") or names joined by '+' ("DF+MF") into bits. Single letters
/// may be joined by '+' too ("A+D"), as scapy takes them for a FlagsField whose names are
/// a list (VXLAN's gpflags).
pub fn parse_flags(s: &str, letters: &[&str]) -> Result<u64, String> {
    let bit = |t: &str| match letters.iter().position(|l| *l == t) {
        Some(i) => Ok(1u64 << i),
        None => Err(format!("unknown flag '{t}' in '{s}' (flags: {})", letters.join(" "))),
    };
    if letters.iter().any(|l| l.len() > 1) || s.contains('+') {
        s.split(['+', ' ', '|']).filter(|t| !t.is_empty()).try_fold(0, |bits, t| Ok(bits | bit(t)?))
    } else {
        s.char_indices().try_fold(0, |bits, (i, c)| Ok(bits | bit(&s[i..i + c.len_utf8()])?))
    }
}

/// Flag bits as letters ("SA") or names joined by '+' ("DF+MF").
pub fn flags_str(bits: u64, letters: &[&str]) -> String {
    let multi_char = letters.iter().any(|l| l.len() > 1);
    let mut set: Vec<&str> = Vec::new();
    for (i, l) in letters.iter().enumerate() {
        if bits & (1 << i) != 0 {
            set.push(l);
        }
    }
    let extra = bits >> letters.len();
    let mut s = set.join(if multi_char { "+" } else { "" });
    if extra != 0 {
        // Bits without a name: keep them visible rather than dropping them.
        if !s.is_empty() {
            s.push('+');
        }
        s.push_str(&format!("{:#x}", extra << letters.len()));
    }
    s
}

/// Top-level strings (addresses) bare, as scapy shows them; anything nested as a repr.
fn show_value(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.repr(),
    }
}

/// A type that can be stored in a layer field.
pub trait FieldType: Sized + Clone {
    /// The type's name for `ls`.
    const KIND: &'static str;
    /// True for `Option<T>`: None means computed at build time.
    const AUTO: bool = false;
    fn from_value(v: &Value) -> Result<Self, String>;
    fn to_value(&self) -> Value;
    /// Appends the value as JSON, as [`crate::text::to_json`] shows it. The default goes
    /// through [`to_value`](Self::to_value); the common types write their digits directly,
    /// allocating nothing (the hot path of `craft dissect --format json`).
    fn write_json(&self, out: &mut Vec<u8>) {
        crate::text::json_write::value(&self.to_value(), out);
    }
}

fn int_from(v: &Value, max: u64) -> Result<u64, String> {
    match v {
        Value::Int(i) if *i >= 0 && (*i as u64) <= max => Ok(*i as u64),
        Value::Int(i) => Err(format!("{i} is out of range 0..={max}")),
        Value::Bool(b) => Ok(*b as u64),
        other => Err(format!("expected an integer, found {}", other.kind())),
    }
}

macro_rules! int_field {
    ($($t:ty => $kind:literal),*) => {$(
        impl FieldType for $t {
            const KIND: &'static str = $kind;
            fn from_value(v: &Value) -> Result<Self, String> {
                int_from(v, <$t>::MAX as u64).map(|i| i as $t)
            }
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
            fn write_json(&self, out: &mut Vec<u8>) {
                crate::text::json_write::uint(*self as u64, out);
            }
        }
    )*};
}
int_field!(u8 => "byte", u16 => "short", u32 => "int");

impl FieldType for Mac {
    const KIND: &'static str = "MAC";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Str(s) => s.parse(),
            Value::Bytes(b) if b.len() == 6 => Ok(Mac(b.as_slice().try_into().unwrap())),
            other => Err(format!("expected a MAC address string, found {}", other.kind())),
        }
    }
    fn to_value(&self) -> Value {
        Value::Str(self.to_string())
    }
    fn write_json(&self, out: &mut Vec<u8>) {
        crate::text::json_write::mac(&self.0, out);
    }
}

impl FieldType for Ipv4Addr {
    const KIND: &'static str = "IPv4";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Str(s) => s.parse().map_err(|_| format!("'{s}' is not an IPv4 address")),
            other => Err(format!("expected an IPv4 address string, found {}", other.kind())),
        }
    }
    fn to_value(&self) -> Value {
        Value::Str(self.to_string())
    }
    fn write_json(&self, out: &mut Vec<u8>) {
        crate::text::json_write::ipv4(self, out);
    }
}

impl FieldType for Ipv6Addr {
    const KIND: &'static str = "IPv6";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Str(s) => s.parse().map_err(|_| format!("'{s}' is not an IPv6 address")),
            other => Err(format!("expected an IPv6 address string, found {}", other.kind())),
        }
    }
    fn to_value(&self) -> Value {
        Value::Str(self.to_string())
    }
    fn write_json(&self, out: &mut Vec<u8>) {
        crate::text::json_write::display_str(self, out);
    }
}

impl FieldType for Vec<u8> {
    const KIND: &'static str = "bytes";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            // scapy accepts str for byte fields and encodes it.
            Value::Str(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {}", other.kind())),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
    fn write_json(&self, out: &mut Vec<u8>) {
        crate::text::json_write::hex_str(self, out);
    }
}

impl FieldType for Vec<Ipv6Addr> {
    const KIND: &'static str = "list of IPv6";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::List(items) => items.iter().map(Ipv6Addr::from_value).collect(),
            other => Err(format!("expected a list of IPv6 addresses, found {}", other.kind())),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(|a| a.to_value()).collect())
    }
}

/// Domain names (scapy's DomainNameListField): each label at most 63 bytes.
impl FieldType for Vec<String> {
    const KIND: &'static str = "list of names";
    fn from_value(v: &Value) -> Result<Self, String> {
        let Value::List(items) = v else { return Err(format!("expected a list of domain names, found {}", v.kind())) };
        items
            .iter()
            .map(|i| match i {
                Value::Str(s) if s.split('.').all(|l| l.len() <= 63) => Ok(s.clone()),
                Value::Str(s) => Err(format!("'{s}' has a label over 63 bytes")),
                other => Err(format!("expected a domain name, found {}", other.kind())),
            })
            .collect()
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(|s| Value::Str(s.clone())).collect())
    }
}

/// `None` means auto: the value is computed when the packet is built.
impl<T: FieldType> FieldType for Option<T> {
    const KIND: &'static str = T::KIND;
    const AUTO: bool = true;
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::None => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
    fn to_value(&self) -> Value {
        match self {
            None => Value::None,
            Some(v) => v.to_value(),
        }
    }
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            None => out.extend_from_slice(b"null"),
            Some(v) => v.write_json(out),
        }
    }
}

/// Conversions accepted by the typed builder methods (`Ip::new().ttl(3).dst("10.0.0.1")`).
pub trait IntoField<T> {
    fn into_field(self) -> T;
}

impl<T> IntoField<T> for T {
    fn into_field(self) -> T {
        self
    }
}

impl<T> IntoField<Option<T>> for T {
    fn into_field(self) -> Option<T> {
        Some(self)
    }
}

/// String literals in Rust code are programmer input, like `Regex::new(...).unwrap()`:
/// a bad literal panics with a clear message. Untrusted text goes through `set()`.
macro_rules! str_into_field {
    ($($t:ty),*) => {$(
        impl IntoField<$t> for &str {
            fn into_field(self) -> $t {
                match self.parse::<$t>() {
                    Ok(v) => v,
                    Err(e) => panic!("invalid {} literal '{self}': {e}", <$t as FieldType>::KIND),
                }
            }
        }
        impl IntoField<Option<$t>> for &str {
            fn into_field(self) -> Option<$t> {
                Some(IntoField::<$t>::into_field(self))
            }
        }
    )*};
}
str_into_field!(Ipv6Addr);

/// MAC and IPv4 literals: parsed in one pass over the bytes ([`Mac::parse`],
/// [`parse_ipv4`]), which the compiler can fold for a literal once inlined; the error is
/// out of line. Still cheaper: a `const` made with [`Mac::lit`] / [`ipv4_lit`], or typed
/// values (`[u8; 6]`, `[u8; 4]`, `Mac`, `Ipv4Addr`).
macro_rules! fast_str_into_field {
    ($($t:ty => $parse:expr),*) => {$(
        impl IntoField<$t> for &str {
            #[inline(always)]
            fn into_field(self) -> $t {
                match $parse(self) {
                    Some(v) => v,
                    None => bad_literal::<$t>(self),
                }
            }
        }
        impl IntoField<Option<$t>> for &str {
            #[inline(always)]
            fn into_field(self) -> Option<$t> {
                Some(IntoField::<$t>::into_field(self))
            }
        }
    )*};
}
fast_str_into_field!(Mac => Mac::parse, Ipv4Addr => parse_ipv4);

/// The panic of a bad literal, with the parser's message.
#[cold]
#[inline(never)]
fn bad_literal<T: FromStr + FieldType>(s: &str) -> T
where
    T::Err: fmt::Display,
{
    match s.parse::<T>() {
        Ok(v) => v,
        Err(e) => panic!("invalid {} literal '{s}': {e}", T::KIND),
    }
}

impl IntoField<Vec<u8>> for &[u8] {
    fn into_field(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> IntoField<Vec<u8>> for &[u8; N] {
    fn into_field(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl IntoField<Ipv4Addr> for [u8; 4] {
    fn into_field(self) -> Ipv4Addr {
        self.into()
    }
}

impl IntoField<Option<Ipv4Addr>> for [u8; 4] {
    fn into_field(self) -> Option<Ipv4Addr> {
        Some(self.into())
    }
}

impl IntoField<Option<Mac>> for [u8; 6] {
    fn into_field(self) -> Option<Mac> {
        Some(Mac(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_and_show() {
        let m: Mac = "02:00:00:00:00:3a".parse().unwrap();
        assert_eq!(m.0, [2, 0, 0, 0, 0, 0x3a]);
        assert_eq!(m.to_string(), "02:00:00:00:00:3a");
        assert!("02:00:00:00:00".parse::<Mac>().is_err());
        assert!("02:00:00:00:00:00:01".parse::<Mac>().is_err());
        assert!("zz:00:00:00:00:00".parse::<Mac>().is_err());
    }

    /// The one-pass parsers accept exactly what the std / split parsers accept.
    #[test]
    fn fast_parsers_match_the_slow_ones() {
        let slow_mac = |s: &str| -> Option<Mac> {
            let mut out = [0u8; 6];
            let mut parts = s.split([':', '-']);
            for byte in out.iter_mut() {
                let p = parts.next()?;
                if p.is_empty() || p.len() > 2 {
                    return None;
                }
                *byte = u8::from_str_radix(p, 16).ok()?;
            }
            parts.next().is_none().then_some(Mac(out))
        };
        let macs = [
            "02:00:00:00:00:33", "ff-FF-0a-0B-c-d", "ff-FF-0a-0B-Cc-dD", "02:00:00:00:00:33:", "02:00:00:00:00:3g", "g2:00:00:00:00:33", "02:00:00:00:00/33", "2:0:0:0:0:1", "02:00:00:00:00", "02:00:00:00:00:00:01",
            "02:00:00:00:00:3", "02:00:00:00:00:", ":02:00:00:00:00:33", "02::00:00:00:00", "002:00:00:00:00:33",
            "+2:00:00:00:00:33", "+:00:00:00:00:33", "+22:00:00:00:00:33", "02:+f:00:00:00:33", "02:00:00:00:00:33 ", "", "zz:00:00:00:00:00", "02:00:00:00:00-33", "0x:00:00:00:00:00",
        ];
        for m in macs {
            assert_eq!(Mac::parse(m), slow_mac(m), "{m:?}");
        }
        let ips = [
            "172.17.2.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3",
            "1.2.3.4 ", " 1.2.3.4", "1.2.3.04", "1000.1.1.1", "1.2.3.-4", "", "1.2.3.4.", "+1.2.3.4", "0.00.0.0",
            "1.2.3.255", "1.2.3.2555",
        ];
        for a in ips {
            assert_eq!(parse_ipv4(a), a.parse::<Ipv4Addr>().ok(), "{a:?}");
        }
        // And on strings made of the characters that matter (a fixed pseudo-random walk).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..50_000 {
            let len = next(20) as usize;
            let ip: String = (0..len).map(|_| b"0123456789...25"[next(15) as usize] as char).collect();
            assert_eq!(parse_ipv4(&ip), ip.parse::<Ipv4Addr>().ok(), "{ip:?}");
            let mac: String = (0..len).map(|_| b"0aF9:::-+g"[next(10) as usize] as char).collect();
            assert_eq!(Mac::parse(&mac), slow_mac(&mac), "{mac:?}");
        }
        const M: Mac = Mac::lit("02:00:00:00:00:33");
        const A: Ipv4Addr = ipv4_lit("172.17.2.1");
        assert_eq!((M.0, A.octets()), ([2, 0, 0, 0, 0, 0x33], [172, 17, 2, 1]));
    }

    #[test]
    fn flags_round_trip() {
        const TCP: &[&str] = &["F", "S", "R", "P", "A", "U", "E", "C", "N"];
        assert_eq!(parse_flags("SA", TCP).unwrap(), 0x12);
        assert_eq!(flags_str(0x12, TCP), "SA");
        assert!(parse_flags("SX", TCP).is_err());
        assert_eq!(parse_flags("S+A", TCP).unwrap(), 0x12);
        assert!(parse_flags("S+", TCP).is_ok() && parse_flags("SA+F", TCP).is_err());
        const IP: &[&str] = &["MF", "DF", "evil"];
        assert_eq!(parse_flags("DF+MF", IP).unwrap(), 3);
        assert_eq!(flags_str(2, IP), "DF");
    }

    #[test]
    fn derived_follows_scapy_names_unless_declared() {
        assert_eq!(FieldInfo::new("chksum", "short", true, "").derived, Some(Derived::Checksum));
        assert_eq!(FieldInfo::new("chksum", "short", false, "").derived, None);
        assert_eq!(FieldInfo::new("lens", "short", true, "").derived, None);
        assert_eq!(FieldInfo::new("len", "short", true, "").derived(None).derived, None);
    }

    #[test]
    fn bit_width_is_checked() {
        let f = FieldInfo::new("ihl", "byte", true, "").bits(4);
        assert!(f.normalize(&Value::Int(15)).is_ok());
        assert!(f.normalize(&Value::Int(16)).unwrap_err().contains("4 bits"));
    }

    #[test]
    fn bytes_repr_escapes() {
        assert_eq!(bytes_repr(b"a\x00'\\"), r"b'a\x00\'\\'");
    }
}
