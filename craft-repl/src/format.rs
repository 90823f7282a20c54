//! Python's string formatting on values: f-string specs (`{x:04x}`), `str.format`, `%`.

use crate::value::Val;

/// A format spec `[[fill]align][sign][#][0][width][,][.precision][type]`.
struct Spec {
    fill: char,
    align: Option<char>,
    sign: Option<char>,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: bool,
    precision: Option<usize>,
    ty: Option<char>,
}

fn parse_spec(spec: &str) -> Result<Spec, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut s = Spec { fill: ' ', align: None, sign: None, alt: false, zero: false, width: 0, grouping: false, precision: None, ty: None };
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    if chars.len() >= 2 && is_align(chars[1]) {
        s.fill = chars[0];
        s.align = Some(chars[1]);
        i = 2;
    } else if !chars.is_empty() && is_align(chars[0]) {
        s.align = Some(chars[0]);
        i = 1;
    }
    if i < chars.len() && matches!(chars[i], '+' | '-' | ' ') {
        s.sign = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == '#' {
        s.alt = true;
        i += 1;
    }
    if i < chars.len() && chars[i] == '0' {
        s.zero = true;
        i += 1;
    }
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    s.width = chars[start..i].iter().collect::<String>().parse().unwrap_or(0);
    if i < chars.len() && (chars[i] == ',' || chars[i] == '_') {
        s.grouping = true;
        i += 1;
    }
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        s.precision = Some(chars[start..i].iter().collect::<String>().parse().map_err(|_| format!("bad precision in format spec '{spec}'"))?);
    }
    if i < chars.len() {
        s.ty = Some(chars[i]);
        i += 1;
    }
    if i != chars.len() {
        return Err(format!("invalid format spec '{spec}'"));
    }
    Ok(s)
}

/// `format(v, spec)`.
pub fn format_spec(v: &Val, spec: &str) -> Result<String, String> {
    let s = parse_spec(spec)?;
    let numeric = matches!(v, Val::Int(_) | Val::Bool(_) | Val::Float(_) | Val::Flags(_));
    let (sign, body) = match (s.ty, v) {
        (None | Some('s'), Val::Str(t)) => {
            let t: String = match s.precision {
                Some(p) => t.chars().take(p).collect(),
                None => t.to_string(),
            };
            (String::new(), t)
        }
        (Some('d' | 'x' | 'X' | 'o' | 'b' | 'c') | None, v) if v.as_int().is_some() && !matches!(v, Val::Float(_)) => {
            let n = v.as_int().unwrap_or(0);
            let mag = n.unsigned_abs();
            // The 0x prefix goes with the sign, before any zero padding: {:#06x} is 0x0005.
            let prefix = match (s.alt, s.ty) {
                (true, Some('x')) => "0x",
                (true, Some('X')) => "0X",
                (true, Some('o')) => "0o",
                (true, Some('b')) => "0b",
                _ => "",
            };
            let body = match s.ty {
                Some('x') => format!("{mag:x}"),
                Some('X') => format!("{mag:X}"),
                Some('o') => format!("{mag:o}"),
                Some('b') => format!("{mag:b}"),
                Some('c') => char::from_u32(mag as u32).map(String::from).unwrap_or_default(),
                _ if s.grouping => group(&mag.to_string()),
                _ if matches!(v, Val::Flags(_)) && s.ty.is_none() => v.to_str(),
                _ => mag.to_string(),
            };
            (sign_of(n < 0, s.sign) + prefix, body)
        }
        (Some('f' | 'F' | 'e' | 'E' | 'g' | '%') | None, v) if v.as_float().is_some() => {
            let f = v.as_float().unwrap_or(0.0);
            let p = s.precision.unwrap_or(6);
            let body = match s.ty {
                Some('f' | 'F') => format!("{:.p$}", f.abs()),
                Some('e' | 'E') => {
                    let t = format!("{:.p$e}", f.abs());
                    let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
                    let e: i32 = e.parse().unwrap_or(0);
                    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
                }
                Some('%') => format!("{:.p$}%", f.abs() * 100.0),
                _ => match s.precision {
                    Some(p) => format!("{:.p$}", f.abs()),
                    None => crate::value::float_repr(f.abs()),
                },
            };
            (sign_of(f < 0.0, s.sign), body)
        }
        (None, v) => (String::new(), v.to_str()),
        (Some(t), v) => return Err(format!("unknown format code '{t}' for a {}", v.type_name())),
    };
    let len = sign.chars().count() + body.chars().count();
    let pad = s.width.saturating_sub(len);
    let align = s.align.unwrap_or(if s.zero && numeric { '=' } else if numeric { '>' } else { '<' });
    let fill = if s.zero && s.align.is_none() { '0' } else { s.fill };
    let rep = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    Ok(match align {
        '<' => format!("{sign}{body}{}", rep(pad)),
        '^' => format!("{}{sign}{body}{}", rep(pad / 2), rep(pad - pad / 2)),
        '=' => format!("{sign}{}{body}", rep(pad)),
        _ => format!("{}{sign}{body}", rep(pad)),
    })
}

fn sign_of(negative: bool, sign: Option<char>) -> String {
    match (negative, sign) {
        (true, _) => "-".into(),
        (false, Some('+')) => "+".into(),
        (false, Some(' ')) => " ".into(),
        _ => String::new(),
    }
}

fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `"...{}...{name:spec}".format(*args, **kw)`.
pub fn str_format(fmt: &str, args: &[Val], kw: &[(String, Val)]) -> Result<String, String> {
    let mut out = String::new();
    let mut auto = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    field.push(c);
                }
                let (name, spec) = field.split_once(':').unwrap_or((&field, ""));
                let (name, conv) = name.split_once('!').map_or((name, None), |(n, c)| (n, Some(c)));
                let v = if name.is_empty() {
                    auto += 1;
                    args.get(auto - 1)
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i)
                } else {
                    kw.iter().find(|(k, _)| k == name).map(|(_, v)| v)
                };
                let v = v.ok_or_else(|| format!("format: no argument for '{{{field}}}'"))?;
                out.push_str(&match conv {
                    Some("r") => v.repr(),
                    _ => format_spec(v, spec)?,
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `fmt % args`: %s %r %d %i %x %X %o %c %f %%, with flags, width and precision.
pub fn percent(fmt: &str, args: &Val) -> Result<String, String> {
    let items: Vec<Val> = match args {
        Val::Tuple(t) => t.to_vec(),
        v => vec![v.clone()],
    };
    let mut next = items.iter();
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        let conv = loop {
            match chars.next() {
                Some(c) if c.is_ascii_alphabetic() || c == '%' => break c,
                Some(c) => spec.push(c),
                None => return Err("incomplete format".into()),
            }
        };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let v = next.next().ok_or("not enough arguments for format string")?;
        let (flags, rest): (String, String) = {
            let n = spec.chars().take_while(|c| "-+ #0".contains(*c)).count();
            (spec.chars().take(n).collect(), spec.chars().skip(n).collect())
        };
        let align = if flags.contains('-') { "<" } else { "" };
        let zero = if flags.contains('0') && !flags.contains('-') { "0" } else { "" };
        let alt = if flags.contains('#') { "#" } else { "" };
        let sign: String = flags.chars().filter(|c| *c == '+' || *c == ' ').take(1).collect();
        let text = match conv {
            's' => format_spec(&Val::str(v.to_str()), &format!("{align}{rest}"))?,
            'r' => format_spec(&Val::str(v.repr()), &format!("{align}{rest}"))?,
            'd' | 'i' | 'u' => format_spec(&Val::Int(v.as_float().map(|f| f as i128).ok_or("%d format: a number is required")?), &format!("{align}{sign}{zero}{rest}d"))?,
            'x' | 'X' | 'o' | 'c' => {
                let n = v.as_int().ok_or(format!("%{conv} format: an integer is required, not {}", v.type_name()))?;
                format_spec(&Val::Int(n), &format!("{align}{sign}{alt}{zero}{rest}{conv}"))?
            }
            'f' | 'F' | 'e' | 'E' | 'g' => {
                let f = v.as_float().ok_or("must be real number")?;
                format_spec(&Val::Float(f), &format!("{align}{sign}{zero}{rest}{conv}"))?
            }
            other => return Err(format!("unsupported format character '{other}'")),
        };
        out.push_str(&text);
    }
    if next.next().is_some() {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(format_spec(&Val::Int(255), "04x").unwrap(), "00ff");
        assert_eq!(format_spec(&Val::Int(255), "#x").unwrap(), "0xff");
        assert_eq!(format_spec(&Val::Int(5), "#06x").unwrap(), "0x0005");
        assert_eq!(format_spec(&Val::Int(5), "#8x").unwrap(), "     0x5");
        assert_eq!(format_spec(&Val::Int(5), ">4").unwrap(), "   5");
        assert_eq!(format_spec(&Val::str("ab"), "<5").unwrap(), "ab   ");
        assert_eq!(format_spec(&Val::str("ab"), "*^6").unwrap(), "**ab**");
        assert_eq!(format_spec(&Val::Float(1.23456), ".2f").unwrap(), "1.23");
        assert_eq!(format_spec(&Val::Int(-42), "05d").unwrap(), "-0042");
        assert_eq!(format_spec(&Val::Int(1234567), ",").unwrap(), "1,234,567");
    }

    #[test]
    fn percent_and_format() {
        let t = Val::tuple(vec![Val::str("a"), Val::Int(10), Val::Int(255)]);
        assert_eq!(percent("%s=%d %02x%%", &t).unwrap(), "a=10 ff%");
        assert_eq!(percent("%-4s|", &Val::str("x")).unwrap(), "x   |");
        assert_eq!(str_format("{} {name:>3} {0!r}", &[Val::str("x")], &[("name".into(), Val::Int(7))]).unwrap(), "x   7 'x'");
    }
}
