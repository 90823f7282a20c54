//! Values as scapy takes them, shared by the expression path (`craft build EXPR`) and
//! craft-repl: short MACs (`"0x1"`), str where bytes are expected (UTF-8, as scapy's
//! `bytes_encode`), and bounded repetition of str and bytes (`"x"*100`).

use crate::field::{Mac, Value};

/// The most bytes (or list items) a repetition such as `b"\x00"*20` may make.
pub const MAX_REPEAT: usize = 10_000_000;

/// How many times to repeat something of `unit` bytes or items `n` times: a negative count
/// gives nothing, as in Python; a result of more than [`MAX_REPEAT`] is refused.
pub fn repeat_count(n: i128, unit: usize) -> Result<usize, String> {
    let n = n.max(0);
    if n.saturating_mul(unit as i128) > MAX_REPEAT as i128 {
        return Err(format!("repeat count {n} makes too large a result (more than {MAX_REPEAT} bytes or items)"));
    }
    Ok(n as usize)
}

/// scapy's mac2str on a short form: "0x1" is one byte, 01, padded with zeros to six
/// (`Ether(src="0x1")` builds 01:00:00:00:00:00). None when `s` is a full MAC or not one.
pub fn short_mac(s: &str) -> Option<String> {
    if s.parse::<Mac>().is_ok() {
        return None;
    }
    let mut bytes = Vec::new();
    for part in s.split(':') {
        let hex = part.trim_start_matches("0x").trim_start_matches("0X");
        bytes.push(u8::from_str_radix(hex, 16).ok()?);
    }
    bytes.resize(6, 0);
    Some(Mac(bytes[..6].try_into().ok()?).to_string())
}

/// The value with every str that follows the first item of a tuple made bytes (option
/// data after an option name: `TCP(options=[(0xb7, '\x01\x04')])`), UTF-8 encoded as
/// scapy's `bytes_encode` does; None when it has no such str.
pub fn strs_after_names(v: &Value) -> Option<Value> {
    fn walk(v: &Value, after_name: bool, changed: &mut bool) -> Value {
        match v {
            Value::Str(s) if after_name => {
                *changed = true;
                Value::Bytes(s.as_bytes().to_vec())
            }
            Value::List(items) => Value::List(items.iter().map(|i| walk(i, false, changed)).collect()),
            Value::Tuple(items) => Value::Tuple(items.iter().enumerate().map(|(k, i)| walk(i, k > 0, changed)).collect()),
            other => other.clone(),
        }
    }
    let mut changed = false;
    let out = walk(v, false, &mut changed);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_macs_pad_as_scapy() {
        // scapy 2.8: Ether(src='0x1').build()[6:12] == b'\x01\0\0\0\0\0'
        assert_eq!(short_mac("0x1").as_deref(), Some("01:00:00:00:00:00"));
        // Ether(src='0x1:0x2'), Ether(src='01:02'): 01:02:00:00:00:00
        assert_eq!(short_mac("0x1:0x2").as_deref(), Some("01:02:00:00:00:00"));
        assert_eq!(short_mac("01:02").as_deref(), Some("01:02:00:00:00:00"));
        assert_eq!(short_mac("02:00:00:00:00:01"), None);
        assert_eq!(short_mac("zz"), None);
        assert_eq!(short_mac("0x100"), None);
    }

    #[test]
    fn repeat_is_bounded() {
        assert_eq!(repeat_count(100, 15), Ok(100));
        assert_eq!(repeat_count(-3, 1), Ok(0));
        assert_eq!(repeat_count(10_000_000, 1), Ok(10_000_000));
        assert_eq!(
            repeat_count(10_000_001, 1).unwrap_err(),
            "repeat count 10000001 makes too large a result (more than 10000000 bytes or items)"
        );
        assert!(repeat_count(i128::MAX, 2).is_err());
    }

    #[test]
    fn option_strs_become_utf8_bytes() {
        let v = Value::List(vec![Value::Tuple(vec![Value::Int(0xb7), Value::Str("\u{1}\u{4}é".into())])]);
        let want = Value::List(vec![Value::Tuple(vec![Value::Int(0xb7), Value::Bytes(vec![1, 4, 0xc3, 0xa9])])]);
        assert_eq!(strs_after_names(&v), Some(want));
        assert_eq!(strs_after_names(&Value::List(vec![Value::Tuple(vec![Value::Str("NOP".into()), Value::None])])), None);
    }
}
