//! Python's reprs, Python's `%` formatting and scapy's `sprintf`.

use craft::field::Value;

use super::model::{Repr, View};

/// Python's `repr(bytes)`: single quotes, unless the bytes hold `'` and no `"`.
pub fn py_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { '"' } else { '\'' };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// Python's `repr(str)`.
pub fn py_str_repr(t: &str) -> String {
    let quote = if t.contains('\'') && !t.contains('"') { '"' } else { '\'' };
    let mut s = String::with_capacity(t.len() + 2);
    s.push(quote);
    for c in t.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if c == quote => {
                s.push('\\');
                s.push(quote);
            }
            c if (c as u32) < 0x20 || ('\x7f'..'\u{a0}').contains(&c) => s.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push(quote);
    s
}

/// Python's `repr()` of a value.
pub fn py_repr(v: &Value) -> String {
    let join = |items: &[Value]| items.iter().map(py_repr).collect::<Vec<_>>().join(", ");
    match v {
        Value::None => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => py_str_repr(s),
        Value::Bytes(b) => py_bytes_repr(b),
        Value::List(items) => format!("[{}]", join(items)),
        Value::Tuple(items) if items.len() == 1 => format!("({},)", py_repr(&items[0])),
        Value::Tuple(items) => format!("({})", join(items)),
    }
}

/// A value for Python's `%` operator.
enum PyVal {
    Int(i64),
    Str(String),
    /// A FlagValue: an int whose str is its letters.
    Flags(i64, String),
}

/// Python's `("%" + spec) % val` for the common conversions (s, d, i, x, X, o).
fn percent(spec: &str, val: &PyVal) -> Result<String, String> {
    let bad = || format!("unsupported format character in '%{spec}'");
    let conv = spec.chars().last().ok_or_else(bad)?;
    let body = &spec[..spec.len() - conv.len_utf8()];
    let flags: String = body.chars().take_while(|c| "-+ #0".contains(*c)).collect();
    let rest = &body[flags.len()..];
    let (width, prec) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p)),
        None => (rest, None),
    };
    let num = |s: &str| -> Result<usize, String> { if s.is_empty() { Ok(0) } else { s.parse().map_err(|_| bad()) } };
    let width = num(width)?;
    let prec = prec.map(num).transpose()?;
    let left = flags.contains('-');
    let pad = |s: String, zero: bool, sign_len: usize| -> String {
        if s.chars().count() >= width {
            return s;
        }
        let n = width - s.chars().count();
        if left {
            format!("{s}{}", " ".repeat(n))
        } else if zero {
            format!("{}{}{}", &s[..sign_len], "0".repeat(n), &s[sign_len..])
        } else {
            format!("{}{s}", " ".repeat(n))
        }
    };
    match conv {
        's' => {
            let mut s = match val {
                PyVal::Int(i) => i.to_string(),
                PyVal::Str(s) | PyVal::Flags(_, s) => s.clone(),
            };
            if let Some(p) = prec {
                s = s.chars().take(p).collect();
            }
            Ok(pad(s, false, 0))
        }
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let n = match val {
                PyVal::Int(i) | PyVal::Flags(i, _) => *i,
                PyVal::Str(_) => {
                    return Err(match conv {
                        'd' | 'i' | 'u' => format!("%{conv} format: a real number is required, not str"),
                        _ => format!("%{conv} format: an integer is required, not str"),
                    })
                }
            };
            let mag = n.unsigned_abs();
            let mut digits = match conv {
                'x' => format!("{mag:x}"),
                'X' => format!("{mag:X}"),
                'o' => format!("{mag:o}"),
                _ => mag.to_string(),
            };
            if let Some(p) = prec {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let sign = if n < 0 {
                "-"
            } else if flags.contains('+') {
                "+"
            } else if flags.contains(' ') {
                " "
            } else {
                ""
            };
            let prefix = match (flags.contains('#'), conv) {
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                (true, 'o') => "0o",
                _ => "",
            };
            let head = format!("{sign}{prefix}");
            Ok(pad(format!("{head}{digits}"), flags.contains('0') && prec.is_none(), head.len()))
        }
        _ => Err(bad()),
    }
}

/// scapy's `Packet.sprintf` with relax=1, from the first layer.
pub(super) fn sprintf(v: &View, fmt: &str) -> Result<String, String> {
    let mut fmt = fmt.to_string();
    // Conditions, innermost (last) first.
    while let Some(i) = fmt.rfind('{') {
        let j = fmt[i + 1..].find('}').ok_or_else(|| "substring not found".to_string())?;
        let cond = &fmt[i + 1..i + 1 + j];
        let k = cond.find(':').ok_or_else(|| format!("Bad condition in format string: [{cond}] (read sprintf doc!)"))?;
        let (mut name, body) = (&cond[..k], &cond[k + 1..]);
        let mut res = false;
        if let Some(n) = name.strip_prefix('!') {
            res = true;
            name = n;
        }
        if haslayer(v, name) {
            res = !res;
        }
        let body = if res { body.to_string() } else { String::new() };
        fmt = format!("{}{}{}", &fmt[..i], body, &fmt[i + j + 2..]);
    }
    let mut s = String::new();
    let mut rest = fmt.as_str();
    while let Some(i) = rest.find('%') {
        s.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        match rest.chars().next() {
            Some('%') => {
                s.push('%');
                rest = &rest[1..];
                continue;
            }
            Some('(') => {
                s.push('{');
                rest = &rest[1..];
                continue;
            }
            Some(')') => {
                s.push('}');
                rest = &rest[1..];
                continue;
            }
            _ => {}
        }
        let bad = || {
            let head: String = rest.chars().take(25).collect();
            let more = if rest.chars().count() > 25 { "..." } else { "" };
            format!("Bad format string [%{head}{more}]")
        };
        let end = rest.find('%').ok_or_else(bad)?;
        let directive = &rest[..end];
        let parts: Vec<&str> = directive.split(',').collect();
        let (f, clsfld) = match parts[..] {
            [c] => ("s", c),
            [f, c] => (f, c),
            _ => return Err(bad()),
        };
        let (cls, fld) = match clsfld.split('.').collect::<Vec<_>>()[..] {
            [fld] => (None, fld),
            [cls, fld] => (Some(cls), fld),
            _ => return Err(bad()),
        };
        let (cls, num) = match cls.map(|c| c.split_once(':')) {
            Some(Some((c, n))) => (Some(c), n.parse::<usize>().map_err(|_| bad())?),
            _ => (cls, 1),
        };
        rest = &rest[end + 1..];
        if fld == "time" {
            return Err("%.time%: craft-repl packets have no time".into());
        }
        s.push_str(&directive_value(v, f, cls, fld, num)?);
    }
    s.push_str(rest);
    Ok(s)
}

/// scapy's `haslayer("NAME")`: a layer with that class name or `name`.
fn haslayer(v: &View, name: &str) -> bool {
    (0..v.len()).any(|i| v.class_name(i) == name || v.long_name(i) == name)
}

/// The value of one `%fmt,cls:num.fld%` directive, walking the layers as scapy does.
fn directive_value(v: &View, f: &str, cls: Option<&str>, fld: &str, num: usize) -> Result<String, String> {
    if v.len() == 0 {
        return Ok("??".into());
    }
    let cls = cls.unwrap_or_else(|| v.class_name(0));
    let mut num = num;
    for i in 0..v.len() {
        if v.class_name(i) != cls {
            continue;
        }
        let field = v.field(i, fld);
        if field.is_none() && fld != "name" {
            continue;
        }
        if num > 1 {
            num -= 1;
            continue;
        }
        let (spec, raw) = match f.strip_suffix('r') {
            Some(s) => (if s.is_empty() { "s" } else { s }, true),
            None => (f, false),
        };
        let val = match field {
            None => PyVal::Str(v.long_name(i).to_string()),
            Some(field) => {
                let value = v.getfieldval(i, &field);
                if raw {
                    match (field.repr, &value) {
                        (Repr::Flags(l), Value::Int(n)) => PyVal::Flags(*n, craft::field::flags_str(*n as u64, l)),
                        (_, Value::Int(n)) => PyVal::Int(*n),
                        (_, Value::Str(s)) => PyVal::Str(s.clone()),
                        (_, other) => PyVal::Str(py_repr(other)),
                    }
                } else {
                    PyVal::Str(v.i2repr(i, &field, &value))
                }
            }
        };
        return percent(spec, &val);
    }
    Ok("??".into())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        assert_eq!(py_bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(py_bytes_repr(b"it's \"q\""), "b'it\\'s \"q\"'");
        assert_eq!(py_bytes_repr(b"\x00\xff\n"), "b'\\x00\\xff\\n'");
        assert_eq!(py_str_repr("a'b"), "\"a'b\"");
    }

    #[test]
    fn percent_formats() {
        assert_eq!(percent("-6s", &PyVal::Str("ab".into())).unwrap(), "ab    ");
        assert_eq!(percent("5s", &PyVal::Str("ab".into())).unwrap(), "   ab");
        assert_eq!(percent("03x", &PyVal::Int(64)).unwrap(), "040");
        assert_eq!(percent("#x", &PyVal::Int(255)).unwrap(), "0xff");
        assert_eq!(percent("d", &PyVal::Flags(18, "SA".into())).unwrap(), "18");
        assert_eq!(percent("s", &PyVal::Flags(18, "SA".into())).unwrap(), "SA");
        assert!(percent("x", &PyVal::Str("a".into())).is_err());
    }
}
