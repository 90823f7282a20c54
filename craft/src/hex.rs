//! Hex, the one place for it: the CLI's hex output and input, JSON's bytes, show's
//! hexdump, craft-repl's `.hex()` / `bytes.fromhex` and the tests all come here.
//!
//! - [`encode`] is the `hex` crate's (lowercase, two digits a byte).
//! - [`encode_into`] appends to a `Vec<u8>` through a 256-pair table: the JSON writer's
//!   path (`craft dissect --pcap F --format json|hex`, ~1M packets/s). With
//!   `hex::encode_to_slice` in its place, `pcap_out` (callgrind, instructions per packet)
//!   went from 8 345 to 11 034 for JSON (+32 %) and 3 185 to 6 524 for hex (2.05x): the
//!   crate looks up each nibble apart, the table one pair per byte (benches/README.md,
//!   "hex"). So this path stays a table; everything else uses the crate.
//! - [`decode`] is lenient, for what people paste: spaces, tabs, colons, dashes between
//!   digits, and a `0x` prefix at the start of the text or of any space-separated group
//!   (`0x45 0x00`); the digits themselves go through `hex::decode_to_slice`. Errors name the
//!   1-based column (in chars) of the first bad character of the text as given.
//! - [`decode_strict`]: plain digit pairs and nothing else (`hex::decode`), for tests and
//!   data files.

use std::fmt;

/// Lowercase hex of `b`, two digits a byte.
pub fn encode(b: &[u8]) -> String {
    hex::encode(b)
}

/// Digit pairs for each byte value, lowercase.
pub(crate) const PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    t
};

/// Appends the lowercase hex of `b` to `out` (the fast path of the JSON and hex writers).
#[inline]
pub fn encode_into(b: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 2 * b.len(), 0);
    for (pair, &x) in out[start..].chunks_exact_mut(2).zip(b) {
        pair.copy_from_slice(&PAIRS[x as usize]);
    }
}

/// Upper-case hex of one byte, two digits (hexdump's form).
#[inline]
pub fn upper_pair(x: u8) -> [u8; 2] {
    PAIRS[x as usize].map(|c| c.to_ascii_uppercase())
}

/// Why [`decode`] refused a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// `ch` at 1-based column `col` (in chars) is neither a hex digit nor a separator.
    BadDigit { ch: char, col: usize },
    /// An odd number of hex digits: the last byte misses one.
    OddDigits(usize),
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::BadDigit { ch, col } => write!(f, "{col}: '{ch}' is not a hex digit"),
            HexError::OddDigits(n) => write!(f, "odd number of hex digits ({n}): a byte is missing a digit"),
        }
    }
}

impl std::error::Error for HexError {}

fn is_separator(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b':' | b'-')
}

/// Lenient hex (see the module doc): spaces, tabs, colons and dashes between digits, `0x`
/// before a group.
pub fn decode(s: &str) -> Result<Vec<u8>, HexError> {
    let bytes = s.as_bytes();
    // The digits alone, with the byte offset of each in `s` for the error's column.
    let mut digits = Vec::with_capacity(bytes.len());
    let mut at = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let group_start = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\r' | b'\n' | b'\x0c');
        if is_separator(c) {
            i += 1;
        } else if group_start && c == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
            i += 2;
        } else {
            digits.push(c);
            at.push(i);
            i += 1;
        }
    }
    let mut out = vec![0u8; digits.len() / 2];
    let column = |byte_at: usize| s[..byte_at].chars().count() + 1;
    match hex::decode_to_slice(&digits[..digits.len() & !1], &mut out) {
        Ok(()) => {}
        Err(hex::FromHexError::InvalidHexCharacter { index, .. }) => {
            let ch = s[at[index]..].chars().next().unwrap_or('?');
            return Err(HexError::BadDigit { ch, col: column(at[index]) });
        }
        Err(e) => unreachable!("even digits into a slice of half their length: {e}"),
    }
    if digits.len() % 2 == 1 {
        let last = *at.last().expect("an odd count is not zero");
        if !digits[digits.len() - 1].is_ascii_hexdigit() {
            let ch = s[last..].chars().next().unwrap_or('?');
            return Err(HexError::BadDigit { ch, col: column(last) });
        }
        return Err(HexError::OddDigits(digits.len()));
    }
    Ok(out)
}

/// Digit pairs and nothing else (either case).
pub fn decode_strict(s: &str) -> Result<Vec<u8>, hex::FromHexError> {
    hex::decode(s)
}

/// [`decode_strict`] for test vectors and data the program itself wrote: panics with the
/// text when it is not hex.
pub fn unhex(s: &str) -> Vec<u8> {
    decode_strict(s).unwrap_or_else(|e| panic!("not hex ({e}): {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_forms_agree() {
        let all: Vec<u8> = (0..=255).collect();
        let mut out = b"x".to_vec();
        encode_into(&all, &mut out);
        assert_eq!(&out[1..], encode(&all).as_bytes());
        assert_eq!(encode(&[0x0a, 0xff]), "0aff");
        assert_eq!(upper_pair(0xab), *b"AB");
    }

    #[test]
    fn lenient_input() {
        assert_eq!(decode("45 00:00-1c\t0a"), Ok(vec![0x45, 0, 0, 0x1c, 0x0a]));
        assert_eq!(decode("  0x4500 0X1c "), Ok(vec![0x45, 0, 0x1c]));
        assert_eq!(decode("0x45 0x00"), Ok(vec![0x45, 0]));
        assert_eq!(decode("ABcd"), Ok(vec![0xab, 0xcd]));
        assert_eq!(decode(""), Ok(vec![]));
        assert_eq!(decode("0x"), Ok(vec![]));
    }

    #[test]
    fn errors_name_the_column_as_given() {
        assert_eq!(decode("4500zz"), Err(HexError::BadDigit { ch: 'z', col: 5 }));
        // Columns count the text as given: leading spaces and the 0x prefix included.
        assert_eq!(decode("  0x45g0"), Err(HexError::BadDigit { ch: 'g', col: 7 }));
        // 0x inside a group is not a prefix.
        assert_eq!(decode("450x00"), Err(HexError::BadDigit { ch: 'x', col: 4 }));
        // A bad last digit of an odd count is named as bad, not as missing.
        assert_eq!(decode("450g"), Err(HexError::BadDigit { ch: 'g', col: 4 }));
        assert_eq!(decode("45g"), Err(HexError::BadDigit { ch: 'g', col: 3 }));
        // Columns are chars, not bytes.
        assert_eq!(decode("é45 ü"), Err(HexError::BadDigit { ch: 'é', col: 1 }));
        assert_eq!(decode("45 ü"), Err(HexError::BadDigit { ch: 'ü', col: 4 }));
        assert_eq!(decode("450"), Err(HexError::OddDigits(3)));
        assert_eq!(decode("4500zz").unwrap_err().to_string(), "5: 'z' is not a hex digit");
        assert!(decode_strict("45 00").is_err());
        assert_eq!(unhex("4500"), [0x45, 0]);
    }
}
