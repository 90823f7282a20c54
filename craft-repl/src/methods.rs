//! Methods: of packets (scapy's), packet lists, str, bytes, lists and dicts.

use std::rc::Rc;

use craft::text::Pos;

use crate::interp::{err, index_of, Args, Interp, R};
use crate::scapy_text;
use crate::value::{bytes_repr, PktRef, Val};

/// Positional argument `n`, or the keyword `name`.
pub fn arg<'a>(args: &'a Args, n: usize, name: &str) -> Option<&'a Val> {
    args.pos.get(n).map(|(v, _)| v).or_else(|| args.kw.iter().find(|k| k.name == name).map(|k| &k.value))
}

/// Where argument `n` (or keyword `name`) is, for errors.
pub fn arg_pos(args: &Args, n: usize, name: &str) -> Pos {
    args.pos.get(n).map(|(_, p)| *p).or_else(|| args.kw.iter().find(|k| k.name == name).map(|k| k.pos)).unwrap_or(args.at)
}

fn need<'a>(args: &'a Args, n: usize, name: &str, func: &str) -> R<&'a Val> {
    arg(args, n, name).map_or_else(|| err(args.at, format!("{func}() missing required argument: '{name}'")), Ok)
}

fn str_arg(args: &Args, n: usize, name: &str, func: &str) -> R<String> {
    match need(args, n, name, func)? {
        Val::Str(s) => Ok(s.to_string()),
        other => err(arg_pos(args, n, name), format!("{func}() argument '{name}' must be str, not {}", other.type_name())),
    }
}

fn bytes_like(v: &Val) -> Option<Vec<u8>> {
    match v {
        Val::Bytes(b) => Some(b.to_vec()),
        _ => None,
    }
}

pub fn call(me: &mut Interp, recv: &Val, name: &str, args: Args) -> R<Val> {
    match recv {
        Val::Packet(p) => packet_method(me, p, name, args),
        Val::Packets(l) => list_of_packets(me, l, name, args),
        Val::Sniffer(s) => crate::sniffer::method(me, s, name, args),
        Val::Str(s) => str_method(me, s, name, args),
        Val::Bytes(b) => bytes_method(b, name, args),
        Val::List(l) => list_method(l, name, args),
        Val::Dict(d) => dict_method(d, name, args),
        Val::Type("bytes") if name == "fromhex" => {
            let s = str_arg(&args, 0, "string", "fromhex")?;
            hex_decode(&s).map(Val::bytes).or_else(|m| err(arg_pos(&args, 0, "string"), m))
        }
        Val::Type("str") if name == "join" => str_method(me, &Rc::from(""), "join", args),
        Val::Flags(f) if name == "flagrepr" => Ok(Val::str(f.names())),
        other => err(args.at, format!("'{}' has no method '{name}'", other.type_name())),
    }
}

/// bytes.fromhex: hex digits and whitespace only (no colons or 0x, as Python), decoded by
/// `craft::hex::decode`; errors as Python's, with the 0-based position.
pub fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    let at = |pos: usize| format!("non-hexadecimal number found in fromhex() arg at position {pos}");
    if let Some(pos) = s.chars().position(|c| !c.is_ascii_hexdigit() && !c.is_ascii_whitespace()) {
        return Err(at(pos));
    }
    craft::hex::decode(s).map_err(|e| match e {
        craft::hex::HexError::BadDigit { col, .. } => at(col - 1),
        craft::hex::HexError::OddDigits(_) => at(s.chars().count()),
    })
}

fn packet_method(me: &mut Interp, p: &PktRef, name: &str, args: Args) -> R<Val> {
    let pkt = p.to_pkt();
    let color = me.conf.color;
    Ok(match name {
        "summary" => Val::str(scapy_text::summary(&pkt)),
        "show" | "show2" => {
            let text = if name == "show" { scapy_text::show(&pkt, color) } else { scapy_text::show2_with(&pkt, color, &me.conf.dissect) };
            if arg(&args, 0, "dump").is_some_and(Val::truthy) {
                return Ok(Val::str(text));
            }
            // scapy's show() prints its text and a line break.
            me.print(&format!("{text}\n"));
            Val::None
        }
        "command" => Val::str(scapy_text::command(&pkt)),
        "setfieldval" => {
            let name = str_arg(&args, 0, "attr", "setfieldval")?;
            let v = need(&args, 1, "val", "setfieldval")?.clone();
            let mut whole = p.pkt.borrow_mut();
            crate::packets::set_field(&mut whole, p.start, &name, &v, arg_pos(&args, 0, "attr"))?;
            Val::None
        }
        "getfieldval" => {
            let name = str_arg(&args, 0, "attr", "getfieldval")?;
            match crate::packets::get_field(&PktRef { pkt: p.pkt.clone(), start: p.start }, &name) {
                Some(v) => v,
                None => return err(arg_pos(&args, 0, "attr"), crate::packets::no_attribute(&pkt, 0, &name)),
            }
        }
        "sprintf" => {
            let fmt = str_arg(&args, 0, "fmt", "sprintf")?;
            scapy_text::sprintf(&pkt, &fmt).map(Val::str).or_else(|m| err(arg_pos(&args, 0, "fmt"), m))?
        }
        "copy" => Val::packet(pkt),
        "build" => Val::bytes(pkt.packet.build()),
        "hexdump" => {
            me.print(&format!("{}\n", scapy_text::hexdump(&pkt.packet.build())));
            Val::None
        }
        "haslayer" => {
            let cls = need(&args, 0, "cls", "haslayer")?;
            match crate::attrs::layer_kind_of(cls) {
                // scapy returns True, or 0 when the layer is missing.
                Some(k) if crate::packets::find_layer(p, k).is_some() => Val::Bool(true),
                Some(_) => Val::Int(0),
                None => return err(arg_pos(&args, 0, "cls"), "haslayer() takes a layer class such as TCP"),
            }
        }
        "getlayer" => {
            let cls = need(&args, 0, "cls", "getlayer")?;
            let nb = arg(&args, 1, "nb").and_then(Val::as_int).unwrap_or(1).max(1) as usize;
            let layers = &pkt.packet.layers;
            if let Some(i) = cls.as_int() {
                return Ok(if (i as usize) < layers.len() && i >= 0 {
                    Val::Packet(PktRef { pkt: p.pkt.clone(), start: p.start + i as usize })
                } else {
                    Val::None
                });
            }
            let Some(k) = crate::attrs::layer_kind_of(cls) else {
                return err(arg_pos(&args, 0, "cls"), "getlayer() takes a layer class such as TCP, or an index");
            };
            match layers.iter().enumerate().filter(|(_, l)| l.kind() == k).nth(nb - 1) {
                Some((i, _)) => Val::Packet(PktRef { pkt: p.pkt.clone(), start: p.start + i }),
                None => Val::None,
            }
        }
        "layers" => Val::list(pkt.packet.layers.iter().map(|l| Val::Class(l.kind())).collect()),
        "lastlayer" => Val::Packet(PktRef { pkt: p.pkt.clone(), start: p.start + pkt.packet.layers.len().saturating_sub(1) }),
        "firstlayer" => Val::Packet(PktRef { pkt: p.pkt.clone(), start: 0 }),
        "remove_payload" => {
            let mut whole = p.pkt.borrow_mut();
            let keep = p.start + 1;
            whole.packet.layers.truncate(keep);
            whole.given.truncate(keep);
            whole.sets.retain(|s| s.layer < keep);
            Val::None
        }
        "hide_defaults" => {
            let mut whole = p.pkt.borrow_mut();
            for i in p.start..whole.packet.layers.len() {
                let layer = whole.packet.layers[i].clone();
                let default = layer.kind().new_layer();
                for f in layer.kind().fields() {
                    if layer.get(f.name) == default.get(f.name) {
                        whole.set_given(i, f.name, false);
                    }
                }
            }
            Val::None
        }
        _ => return err(args.at, format!("packets have no method '{name}'")),
    })
}

fn list_of_packets(me: &mut Interp, l: &crate::value::PacketList, name: &str, args: Args) -> R<Val> {
    let items = l.items.borrow().clone();
    let line = |v: &Val| -> String {
        match v {
            Val::Tuple(pair) if pair.len() == 2 => format!("{} ==> {}", one_summary(&pair[0]), one_summary(&pair[1])),
            v => one_summary(v),
        }
    };
    Ok(match name {
        "summary" => {
            let mut s = String::new();
            for v in &items {
                s.push_str(&line(v));
                s.push('\n');
            }
            me.print(&s);
            Val::None
        }
        "nsummary" | "show" => {
            let mut s = String::new();
            for (i, v) in items.iter().enumerate() {
                s.push_str(&format!("{i:04} {}\n", line(v)));
            }
            me.print(&s);
            Val::None
        }
        "hexdump" => {
            for v in &items {
                if let Val::Packet(p) = v {
                    let text = format!("{}\n{}\n", one_summary(v), scapy_text::hexdump(&p.to_pkt().packet.build()));
                    me.print(&text);
                }
            }
            Val::None
        }
        "filter" => {
            let f = need(&args, 0, "func", "filter")?.clone();
            let mut out = Vec::new();
            for v in items {
                if me.call1(&f, v.clone(), args.at)?.truthy() {
                    out.push(v);
                }
            }
            Interp::packet_list(if l.name == "Results" { "Results" } else { "PacketList" }, out)
        }
        "res" => Val::list(items),
        _ => return err(args.at, format!("{} has no method '{name}'", l.name)),
    })
}

fn one_summary(v: &Val) -> String {
    match v {
        Val::Packet(p) => scapy_text::summary(&p.to_pkt()),
        other => other.to_str(),
    }
}

fn str_method(me: &mut Interp, s: &Rc<str>, name: &str, args: Args) -> R<Val> {
    let opt_str = |n: usize, key: &str| -> R<Option<String>> {
        match arg(&args, n, key) {
            None | Some(Val::None) => Ok(None),
            Some(Val::Str(x)) => Ok(Some(x.to_string())),
            Some(other) => err(arg_pos(&args, n, key), format!("{name}() argument must be str, not {}", other.type_name())),
        }
    };
    Ok(match name {
        "upper" => Val::str(s.to_uppercase()),
        "lower" => Val::str(s.to_lowercase()),
        "strip" | "lstrip" | "rstrip" => {
            let chars: Option<Vec<char>> = opt_str(0, "chars")?.map(|c| c.chars().collect());
            let pred = |c: char| chars.as_ref().map_or(c.is_whitespace(), |set| set.contains(&c));
            Val::str(match name {
                "strip" => s.trim_matches(pred),
                "lstrip" => s.trim_start_matches(pred),
                _ => s.trim_end_matches(pred),
            })
        }
        "split" => {
            let parts: Vec<Val> = match opt_str(0, "sep")? {
                Some(sep) if sep.is_empty() => return err(args.at, "empty separator"),
                Some(sep) => s.split(sep.as_str()).map(Val::str).collect(),
                None => s.split_whitespace().map(Val::str).collect(),
            };
            Val::list(parts)
        }
        "splitlines" => Val::list(s.lines().map(Val::str).collect()),
        "join" => {
            let items = me.iter_val(need(&args, 0, "iterable", "join")?, arg_pos(&args, 0, "iterable"))?;
            let mut parts = Vec::new();
            for v in items {
                match v {
                    Val::Str(x) => parts.push(x.to_string()),
                    other => return err(arg_pos(&args, 0, "iterable"), format!("join() expects str items, found {}", other.type_name())),
                }
            }
            Val::str(parts.join(s))
        }
        "startswith" => Val::Bool(s.starts_with(str_arg(&args, 0, "prefix", name)?.as_str())),
        "endswith" => Val::Bool(s.ends_with(str_arg(&args, 0, "suffix", name)?.as_str())),
        "replace" => Val::str(s.replace(&str_arg(&args, 0, "old", name)?, &str_arg(&args, 1, "new", name)?)),
        "find" | "index" => {
            let sub = str_arg(&args, 0, "sub", name)?;
            match s.find(&sub) {
                Some(i) => Val::Int(s[..i].chars().count() as i128),
                None if name == "find" => Val::Int(-1),
                None => return err(args.at, "substring not found"),
            }
        }
        "count" => Val::Int(s.matches(str_arg(&args, 0, "sub", name)?.as_str()).count() as i128),
        "encode" => Val::bytes(s.as_bytes()),
        "isdigit" => Val::Bool(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
        "zfill" | "ljust" | "rjust" | "center" => {
            let width = need(&args, 0, "width", name)?.as_int().unwrap_or(0).max(0) as usize;
            let fill = opt_str(1, "fillchar")?.and_then(|f| f.chars().next()).unwrap_or(' ');
            let n = s.chars().count();
            let pad = width.saturating_sub(n);
            let rep = |k: usize, c: char| std::iter::repeat_n(c, k).collect::<String>();
            Val::str(match name {
                "zfill" => match s.strip_prefix('-') {
                    Some(rest) => format!("-{}{rest}", rep(pad, '0')),
                    None => format!("{}{s}", rep(pad, '0')),
                },
                "ljust" => format!("{s}{}", rep(pad, fill)),
                "rjust" => format!("{}{s}", rep(pad, fill)),
                _ => format!("{}{s}{}", rep(pad / 2, fill), rep(pad - pad / 2, fill)),
            })
        }
        "format" => {
            let vals: Vec<Val> = args.pos.iter().map(|(v, _)| v.clone()).collect();
            let kw: Vec<(String, Val)> = args.kw.iter().map(|k| (k.name.clone(), k.value.clone())).collect();
            crate::format::str_format(s, &vals, &kw).map(Val::str).or_else(|m| err(args.at, m))?
        }
        _ => return err(args.at, format!("str has no method '{name}'")),
    })
}

fn bytes_method(b: &Rc<[u8]>, name: &str, args: Args) -> R<Val> {
    let bytes_arg = |n: usize, key: &str| -> R<Vec<u8>> {
        match arg(&args, n, key) {
            Some(v) => bytes_like(v).map_or_else(|| err(arg_pos(&args, n, key), format!("{name}() takes bytes, not {}", v.type_name())), Ok),
            None => err(args.at, format!("{name}() missing required argument: '{key}'")),
        }
    };
    Ok(match name {
        "hex" => {
            let hex = craft::field::hex(b);
            match arg(&args, 0, "sep") {
                Some(Val::Str(sep)) => {
                    let pairs: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
                    Val::str(pairs.join(sep))
                }
                _ => Val::str(hex),
            }
        }
        "decode" => Val::str(String::from_utf8_lossy(b).into_owned()),
        "startswith" => Val::Bool(b.starts_with(&bytes_arg(0, "prefix")?)),
        "endswith" => Val::Bool(b.ends_with(&bytes_arg(0, "suffix")?)),
        "find" | "index" => {
            let sub = bytes_arg(0, "sub")?;
            match (0..=b.len().saturating_sub(sub.len())).find(|&i| b[i..].starts_with(&sub)) {
                Some(i) => Val::Int(i as i128),
                None if name == "find" => Val::Int(-1),
                None => return err(args.at, "subsection not found"),
            }
        }
        "count" => {
            let sub = bytes_arg(0, "sub")?;
            if sub.is_empty() {
                Val::Int(b.len() as i128 + 1)
            } else {
                let (mut i, mut n) = (0, 0);
                while i + sub.len() <= b.len() {
                    if b[i..].starts_with(&sub) {
                        n += 1;
                        i += sub.len();
                    } else {
                        i += 1;
                    }
                }
                Val::Int(n)
            }
        }
        "replace" => {
            let (old, new) = (bytes_arg(0, "old")?, bytes_arg(1, "new")?);
            if old.is_empty() {
                return Ok(Val::bytes(b.to_vec()));
            }
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i..].starts_with(&old) {
                    out.extend_from_slice(&new);
                    i += old.len();
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            Val::bytes(out)
        }
        "strip" => {
            let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
            let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
            Val::bytes(&b[start..end.max(start)])
        }
        _ => return err(args.at, format!("bytes has no method '{name}' ({})", bytes_repr(b.get(..0).unwrap_or(&[])))),
    })
}

fn list_method(l: &Rc<std::cell::RefCell<Vec<Val>>>, name: &str, args: Args) -> R<Val> {
    Ok(match name {
        "append" => {
            l.borrow_mut().push(need(&args, 0, "object", name)?.clone());
            Val::None
        }
        "extend" => {
            let v = need(&args, 0, "iterable", name)?.clone();
            let items = match &v {
                Val::List(x) => x.borrow().clone(),
                Val::Tuple(t) => t.to_vec(),
                Val::Packets(p) => p.items.borrow().clone(),
                other => return err(arg_pos(&args, 0, "iterable"), format!("extend() takes a list, not {}", other.type_name())),
            };
            l.borrow_mut().extend(items);
            Val::None
        }
        "insert" => {
            let i = need(&args, 0, "index", name)?.as_int().unwrap_or(0);
            let n = l.borrow().len() as i128;
            let at = if i < 0 { (i + n).max(0) } else { i.min(n) } as usize;
            l.borrow_mut().insert(at, need(&args, 1, "object", name)?.clone());
            Val::None
        }
        "pop" => {
            let n = l.borrow().len();
            if n == 0 {
                return err(args.at, "pop from empty list");
            }
            let i = match arg(&args, 0, "index") {
                Some(v) => index_of(v, n, args.at)?,
                None => n - 1,
            };
            l.borrow_mut().remove(i)
        }
        "remove" => {
            let x = need(&args, 0, "value", name)?;
            let i = l.borrow().iter().position(|v| v.py_eq(x));
            match i {
                Some(i) => {
                    l.borrow_mut().remove(i);
                    Val::None
                }
                None => return err(args.at, "list.remove(x): x not in list"),
            }
        }
        "index" => {
            let x = need(&args, 0, "value", name)?;
            match l.borrow().iter().position(|v| v.py_eq(x)) {
                Some(i) => Val::Int(i as i128),
                None => return err(args.at, format!("{} is not in list", x.repr())),
            }
        }
        "count" => {
            let x = need(&args, 0, "value", name)?;
            Val::Int(l.borrow().iter().filter(|v| v.py_eq(x)).count() as i128)
        }
        "sort" => {
            let reverse = arg(&args, 99, "reverse").is_some_and(Val::truthy);
            let mut items = l.borrow().clone();
            crate::builtins::sort_vals(&mut items, args.at)?;
            if reverse {
                items.reverse();
            }
            *l.borrow_mut() = items;
            Val::None
        }
        "reverse" => {
            l.borrow_mut().reverse();
            Val::None
        }
        "copy" => Val::list(l.borrow().clone()),
        "clear" => {
            l.borrow_mut().clear();
            Val::None
        }
        _ => return err(args.at, format!("list has no method '{name}'")),
    })
}

fn dict_method(d: &Rc<std::cell::RefCell<Vec<(Val, Val)>>>, name: &str, args: Args) -> R<Val> {
    let find = |k: &Val| d.borrow().iter().find(|(x, _)| x.py_eq(k)).map(|(_, v)| v.clone());
    Ok(match name {
        "keys" => Val::list(d.borrow().iter().map(|(k, _)| k.clone()).collect()),
        "values" => Val::list(d.borrow().iter().map(|(_, v)| v.clone()).collect()),
        "items" => Val::list(d.borrow().iter().map(|(k, v)| Val::tuple(vec![k.clone(), v.clone()])).collect()),
        "get" => find(need(&args, 0, "key", name)?).unwrap_or_else(|| arg(&args, 1, "default").cloned().unwrap_or(Val::None)),
        "setdefault" => {
            let k = need(&args, 0, "key", name)?.clone();
            match find(&k) {
                Some(v) => v,
                None => {
                    let v = arg(&args, 1, "default").cloned().unwrap_or(Val::None);
                    d.borrow_mut().push((k, v.clone()));
                    v
                }
            }
        }
        "pop" => {
            let k = need(&args, 0, "key", name)?.clone();
            let i = d.borrow().iter().position(|(x, _)| x.py_eq(&k));
            match (i, arg(&args, 1, "default")) {
                (Some(i), _) => d.borrow_mut().remove(i).1,
                (None, Some(def)) => def.clone(),
                (None, None) => return err(args.at, format!("KeyError: {}", k.repr())),
            }
        }
        "update" => {
            if let Some(Val::Dict(other)) = arg(&args, 0, "other") {
                let items = other.borrow().clone();
                let mut me = d.borrow_mut();
                for (k, v) in items {
                    match me.iter_mut().find(|(x, _)| x.py_eq(&k)) {
                        Some(slot) => slot.1 = v,
                        None => me.push((k, v)),
                    }
                }
            }
            for kw in &args.kw {
                let k = Val::str(kw.name.as_str());
                let mut me = d.borrow_mut();
                match me.iter_mut().find(|(x, _)| x.py_eq(&k)) {
                    Some(slot) => slot.1 = kw.value.clone(),
                    None => me.push((k, kw.value.clone())),
                }
            }
            Val::None
        }
        "copy" => Val::Dict(Rc::new(d.borrow().clone().into())),
        "clear" => {
            d.borrow_mut().clear();
            Val::None
        }
        _ => return err(args.at, format!("dict has no method '{name}'")),
    })
}
