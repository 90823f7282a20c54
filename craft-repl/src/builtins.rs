//! Built-in functions: Python's (len, range, sorted...) and scapy's (raw, hexdump, ls,
//! rdpcap, wrpcap...). The live ones (send, sr, sniff...) are in [`crate::live`].

use std::io::BufWriter;

use craft::packet::LayerKind;
use craft::text::Pos;

use crate::interp::{err, Args, Interp, R};
use crate::methods::{arg, arg_pos};
use crate::pkt::Pkt;
use crate::scapy_text;
use crate::value::Val;

/// Each built-in: name and the signature `help()` shows.
pub const BUILTINS: &[(&str, &str)] = &[
    ("print", "print(*values, sep=' ', end='\\n')"),
    ("len", "len(obj)"),
    ("range", "range(stop) / range(start, stop[, step])"),
    ("list", "list(iterable=())"),
    ("tuple", "tuple(iterable=())"),
    ("dict", "dict(**kwargs)"),
    ("set", "set(iterable=())"),
    ("sorted", "sorted(iterable, key=None, reverse=False)"),
    ("reversed", "reversed(seq)"),
    ("sum", "sum(iterable, start=0)"),
    ("min", "min(iterable) / min(a, b, ...), key=None"),
    ("max", "max(iterable) / max(a, b, ...), key=None"),
    ("abs", "abs(x)"),
    ("any", "any(iterable)"),
    ("all", "all(iterable)"),
    ("enumerate", "enumerate(iterable, start=0)"),
    ("zip", "zip(*iterables)"),
    ("map", "map(func, iterable)"),
    ("filter", "filter(func, iterable)"),
    ("repr", "repr(obj)"),
    ("hex", "hex(x)"),
    ("oct", "oct(x)"),
    ("bin", "bin(x)"),
    ("chr", "chr(i)"),
    ("ord", "ord(c)"),
    ("round", "round(x, ndigits=None)"),
    ("divmod", "divmod(a, b)"),
    ("isinstance", "isinstance(obj, cls)"),
    ("type", "type(obj)"),
    ("format", "format(value, spec='')"),
    ("dir", "dir(obj)"),
    ("help", "help(obj): a layer's fields with their docs, a function's signature"),
    ("exit", "exit(): leave craft-repl"),
    ("quit", "quit(): leave craft-repl"),
    ("raw", "raw(pkt) -> bytes: the packet built"),
    ("bytes_hex", "bytes_hex(pkt) -> bytes: the packet's bytes in hex"),
    ("hexdump", "hexdump(pkt_or_bytes, dump=False)"),
    ("linehexdump", "linehexdump(pkt_or_bytes, dump=False)"),
    ("ls", "ls(layer=None): a layer's fields, or every layer"),
    ("lsc", "lsc(): the functions"),
    ("checksum", "checksum(bytes) -> int: the Internet checksum"),
    ("rdpcap", "rdpcap(filename, count=-1) -> PacketList"),
    ("wrpcap", "wrpcap(filename, pkts, linktype=None)"),
    ("load", "load(filename) -> packet or list: a RON packet file"),
    ("save", "save(pkt_or_list, filename): write a RON packet file"),
    ("bind_layers", "bind_layers(lower, upper, dport=None, sport=None): dissect UDP port dport (or sport) as upper; UDP ports only"),
    ("split_layers", "split_layers(lower, upper, dport=None, sport=None): remove a UDP port binding (all of upper's without a port)"),
    ("check", "check(pkt) -> list of str: craft's consistency check (wrong lengths, checksums, ...)"),
    ("send", "send(pkts, iface=None, count=1, inter=0, verbose=None, return_packets=False, explain=False, explain_wait=1, trace=False)"),
    ("sendp", "sendp(pkts, iface=None, count=1, inter=0, verbose=None, return_packets=False, explain=False, explain_wait=1, trace=False)"),
    ("sr", "sr(pkts, iface=None, timeout=2, retry=0, multi=False, inter=0, filter=None, verbose=None, explain=False, explain_wait=1, trace=False) -> (ans, unans)"),
    ("sr1", "sr1(pkts, iface=None, timeout=2, retry=0, inter=0, filter=None, verbose=None, explain=False, explain_wait=1, trace=False) -> answer or None"),
    ("srp", "srp(pkts, iface=None, timeout=2, retry=0, multi=False, inter=0, filter=None, verbose=None, explain=False, explain_wait=1, trace=False) -> (ans, unans)"),
    ("srp1", "srp1(pkts, iface=None, timeout=2, retry=0, inter=0, filter=None, verbose=None, explain=False, explain_wait=1, trace=False) -> answer or None"),
    ("srloop", "srloop(pkts, iface=None, count=None, inter=1, timeout=2, filter=None, verbose=None) -> (ans, unans)"),
    ("sniff", "sniff(iface=None, count=0, timeout=None, filter=None, prn=None, lfilter=None, stop_filter=None, store=True) -> PacketList"),
    ("AsyncSniffer", "AsyncSniffer(iface=None, count=0, timeout=None, filter=None, prn=None, lfilter=None, stop_filter=None, store=True): a sniff in the background; t.start(), t.stop() -> PacketList, t.join(), t.running, t.results"),
];

/// Names that are types: callable, and namespaces (`bytes.fromhex`).
const TYPES: &[&str] = &["int", "str", "bytes", "float", "bool", "bytearray"];

/// Every built-in name, for completion.
pub const NAMES: &[&str] = &[
    "print", "len", "range", "list", "tuple", "dict", "set", "sorted", "reversed", "sum", "min", "max", "abs", "any", "all",
    "enumerate", "zip", "map", "filter", "repr", "hex", "oct", "bin", "chr", "ord", "round", "divmod", "isinstance", "type",
    "format", "dir", "help", "exit", "quit", "raw", "bytes_hex", "hexdump", "linehexdump", "ls", "lsc", "checksum", "rdpcap",
    "wrpcap", "load", "save", "bind_layers", "split_layers", "check", "send", "sendp", "sr", "sr1", "srp", "srp1", "srloop", "sniff", "AsyncSniffer", "int", "str", "bytes",
    "float", "bool", "bytearray", "conf",
];

pub fn lookup(name: &str) -> Option<Val> {
    if name == "conf" {
        return Some(Val::Conf);
    }
    if let Some(t) = TYPES.iter().find(|t| **t == name) {
        return Some(Val::Type(t));
    }
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(n, _)| Val::Builtin(n))
}

/// The signature of a built-in, for help() and hints.
pub fn signature(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Keyword arguments a built-in takes, for completion and "did you mean".
pub fn keywords(name: &str) -> Vec<&'static str> {
    let Some(sig) = signature(name) else { return Vec::new() };
    sig.split(['(', ',', ')', ' ', '['])
        .filter_map(|part| part.split_once('=').map(|(k, _)| k))
        .filter(|k| !k.is_empty())
        .collect()
}

fn one<'a>(args: &'a Args, name: &str) -> R<&'a Val> {
    match args.pos.first() {
        Some((v, _)) => Ok(v),
        None => err(args.at, format!("{name}() takes one argument")),
    }
}

/// Rejects keywords a built-in does not take, with a hint.
fn check_keywords(name: &str, args: &Args) -> R<()> {
    let known = keywords(name);
    for kw in &args.kw {
        if !known.contains(&kw.name.as_str()) {
            let hint = craft::layer::closest(&kw.name, known.iter().copied()).map_or(String::new(), |c| format!("; did you mean '{c}'?"));
            return err(kw.pos, format!("{name}() got an unexpected keyword argument '{}'{hint}", kw.name));
        }
    }
    Ok(())
}

/// The bytes of a packet or bytes value.
pub fn to_bytes(v: &Val, pos: Pos, func: &str) -> R<Vec<u8>> {
    match v {
        Val::Packet(p) => Ok(p.to_pkt().packet.build()),
        Val::Bytes(b) => Ok(b.to_vec()),
        Val::Str(s) => Ok(s.as_bytes().to_vec()),
        other => err(pos, format!("{func}() takes a packet or bytes, not {}", other.type_name())),
    }
}

pub fn call(me: &mut Interp, name: &str, args: Args) -> R<Val> {
    // bind_layers/split_layers name what they do not take themselves (scapy takes any field).
    if !matches!(name, "print" | "dict" | "bind_layers" | "split_layers") && !TYPES.contains(&name) {
        check_keywords(name, &args)?;
    }
    let at = args.at;
    let p0 = arg_pos(&args, 0, "");
    Ok(match name {
        "print" => {
            let sep = match arg(&args, 99, "sep") {
                Some(Val::Str(s)) => s.to_string(),
                _ => " ".into(),
            };
            let end = match arg(&args, 99, "end") {
                Some(Val::Str(s)) => s.to_string(),
                _ => "\n".into(),
            };
            let text: Vec<String> = args.pos.iter().map(|(v, _)| v.to_str()).collect();
            me.print(&format!("{}{end}", text.join(&sep)));
            Val::None
        }
        "len" => {
            let v = one(&args, name)?;
            Val::Int(match v {
                Val::Str(s) => s.chars().count(),
                Val::Bytes(b) => b.len(),
                Val::List(l) | Val::Set(l) => l.borrow().len(),
                Val::Tuple(t) => t.len(),
                Val::Dict(d) => d.borrow().len(),
                Val::Packets(l) => l.items.borrow().len(),
                Val::Packet(p) => p.to_pkt().packet.build().len(),
                Val::Range(a, b, c) => crate::value::range_len(*a, *b, *c) as usize,
                other => return err(p0, format!("object of type '{}' has no len()", other.type_name())),
            } as i128)
        }
        "range" => {
            let ints: Vec<i128> = args
                .pos
                .iter()
                .map(|(v, p)| v.as_int().map_or_else(|| err(*p, format!("range() takes integers, not {}", v.type_name())), Ok))
                .collect::<R<_>>()?;
            match ints[..] {
                [stop] => Val::Range(0, stop, 1),
                [start, stop] => Val::Range(start, stop, 1),
                [_, _, 0] => return err(at, "range() arg 3 must not be zero"),
                [start, stop, step] => Val::Range(start, stop, step),
                _ => return err(at, "range() takes 1 to 3 arguments"),
            }
        }
        "list" | "tuple" | "set" => {
            let items = match args.pos.first() {
                Some((v, p)) => me.iter_val(v, *p)?,
                None => Vec::new(),
            };
            match name {
                "list" => Val::list(items),
                "tuple" => Val::tuple(items),
                _ => {
                    let mut out: Vec<Val> = Vec::new();
                    for v in items {
                        if !out.iter().any(|x| x.py_eq(&v)) {
                            out.push(v);
                        }
                    }
                    Val::Set(std::rc::Rc::new(out.into()))
                }
            }
        }
        "dict" => {
            let mut items: Vec<(Val, Val)> = Vec::new();
            if let Some((v, p)) = args.pos.first() {
                match v {
                    Val::Dict(d) => items = d.borrow().clone(),
                    v => {
                        for pair in me.iter_val(v, *p)? {
                            let kv = me.iter_val(&pair, *p)?;
                            if kv.len() != 2 {
                                return err(*p, "dict() takes (key, value) pairs");
                            }
                            items.push((kv[0].clone(), kv[1].clone()));
                        }
                    }
                }
            }
            for kw in &args.kw {
                items.push((Val::str(kw.name.as_str()), kw.value.clone()));
            }
            Val::Dict(std::rc::Rc::new(items.into()))
        }
        "sorted" => {
            let mut items = me.iter_val(one(&args, name)?, p0)?;
            if let Some(key) = arg(&args, 99, "key").filter(|k| !matches!(k, Val::None)).cloned() {
                let mut keyed = Vec::new();
                for v in items {
                    keyed.push((me.call1(&key, v.clone(), at)?, v));
                }
                let mut err_at = None;
                keyed.sort_by(|a, b| {
                    crate::ops::order(&a.0, &b.0).unwrap_or_else(|| {
                        err_at = Some(at);
                        std::cmp::Ordering::Equal
                    })
                });
                if err_at.is_some() {
                    return err(at, "sorted(): the keys cannot be compared");
                }
                items = keyed.into_iter().map(|(_, v)| v).collect();
            } else {
                sort_vals(&mut items, at)?;
            }
            if arg(&args, 99, "reverse").is_some_and(Val::truthy) {
                items.reverse();
            }
            Val::list(items)
        }
        "reversed" => {
            let mut items = me.iter_val(one(&args, name)?, p0)?;
            items.reverse();
            Val::list(items)
        }
        "sum" => {
            let mut total = arg(&args, 1, "start").cloned().unwrap_or(Val::Int(0));
            for v in me.iter_val(one(&args, name)?, p0)? {
                total = crate::ops::binary(craft::text::python::BinOp::Add, total, v, p0)?;
            }
            total
        }
        "min" | "max" => {
            let items = if args.pos.len() == 1 { me.iter_val(&args.pos[0].0, p0)? } else { args.pos.iter().map(|(v, _)| v.clone()).collect() };
            let key = arg(&args, 99, "key").filter(|k| !matches!(k, Val::None)).cloned();
            // (key, value) of the best so far.
            let mut best: Option<(Val, Val)> = None;
            for v in items {
                let k = match &key {
                    Some(f) => me.call1(f, v.clone(), at)?,
                    None => v.clone(),
                };
                best = Some(match best {
                    None => (k, v),
                    Some((bk, b)) => {
                        let ord = crate::ops::order(&k, &bk).map_or_else(|| err(at, format!("{name}(): values cannot be compared")), Ok)?;
                        if (name == "min" && ord.is_lt()) || (name == "max" && ord.is_gt()) {
                            (k, v)
                        } else {
                            (bk, b)
                        }
                    }
                });
            }
            match best {
                Some((_, v)) => v,
                None => return err(at, format!("{name}() arg is an empty sequence")),
            }
        }
        "abs" => match one(&args, name)? {
            Val::Float(f) => Val::Float(f.abs()),
            v => match v.as_int().map_or_else(|| err(p0, "abs() takes a number"), Ok)?.checked_abs() {
                Some(n) => Val::Int(n),
                None => return err(p0, "integer overflow: craft-repl's ints hold 128 bits"),
            },
        },
        "any" => Val::Bool(me.iter_val(one(&args, name)?, p0)?.iter().any(Val::truthy)),
        "all" => Val::Bool(me.iter_val(one(&args, name)?, p0)?.iter().all(Val::truthy)),
        "enumerate" => {
            let start = arg(&args, 1, "start").and_then(Val::as_int).unwrap_or(0);
            let items = me.iter_val(one(&args, name)?, p0)?;
            Val::list(items.into_iter().enumerate().map(|(i, v)| Val::tuple(vec![Val::Int(start + i as i128), v])).collect())
        }
        "zip" => {
            let lists: Vec<Vec<Val>> = args.pos.iter().map(|(v, p)| me.iter_val(v, *p)).collect::<R<_>>()?;
            let n = lists.iter().map(Vec::len).min().unwrap_or(0);
            Val::list((0..n).map(|i| Val::tuple(lists.iter().map(|l| l[i].clone()).collect())).collect())
        }
        "map" | "filter" => {
            let f = one(&args, name)?.clone();
            let Some((src, p)) = args.pos.get(1) else { return err(at, format!("{name}() takes a function and an iterable")) };
            let mut out = Vec::new();
            for v in me.iter_val(src, *p)? {
                if name == "map" {
                    out.push(me.call1(&f, v, at)?);
                } else if matches!(f, Val::None) && v.truthy() || !matches!(f, Val::None) && me.call1(&f, v.clone(), at)?.truthy() {
                    out.push(v);
                }
            }
            Val::list(out)
        }
        "repr" => Val::str(one(&args, name)?.repr()),
        "hex" | "oct" | "bin" => {
            let v = one(&args, name)?;
            let Some(n) = v.as_int() else { return err(p0, format!("'{}' object cannot be interpreted as an integer", v.type_name())) };
            let sign = if n < 0 { "-" } else { "" };
            let m = n.unsigned_abs();
            Val::str(match name {
                "hex" => format!("{sign}0x{m:x}"),
                "oct" => format!("{sign}0o{m:o}"),
                _ => format!("{sign}0b{m:b}"),
            })
        }
        "chr" => {
            let n = one(&args, name)?.as_int().unwrap_or(-1);
            match u32::try_from(n).ok().and_then(char::from_u32) {
                Some(c) => Val::str(c.to_string()),
                None => return err(p0, "chr() arg not in range(0x110000)"),
            }
        }
        "ord" => match one(&args, name)? {
            Val::Str(s) if s.chars().count() == 1 => Val::Int(s.chars().next().map_or(0, |c| c as i128)),
            Val::Bytes(b) if b.len() == 1 => Val::Int(b[0] as i128),
            other => return err(p0, format!("ord() expected a character, found {}", other.repr())),
        },
        "round" => {
            let v = one(&args, name)?;
            match arg(&args, 1, "ndigits").and_then(Val::as_int) {
                Some(d) => {
                    let m = 10f64.powi(d as i32);
                    Val::Float((v.as_float().unwrap_or(0.0) * m).round_ties_even() / m)
                }
                None => Val::Int(v.as_float().unwrap_or(0.0).round_ties_even() as i128),
            }
        }
        "divmod" => {
            let (a, b) = (one(&args, name)?.clone(), args.pos.get(1).map(|x| x.0.clone()).unwrap_or(Val::Int(1)));
            let q = crate::ops::binary(craft::text::python::BinOp::FloorDiv, a.clone(), b.clone(), at)?;
            let r = crate::ops::binary(craft::text::python::BinOp::Mod, a, b, at)?;
            Val::tuple(vec![q, r])
        }
        "isinstance" => {
            let v = one(&args, name)?;
            let Some((cls, _)) = args.pos.get(1) else { return err(at, "isinstance() takes an object and a class") };
            let classes = match cls {
                Val::Tuple(t) => t.to_vec(),
                c => vec![c.clone()],
            };
            Val::Bool(classes.iter().any(|c| match (c, v) {
                (Val::Type(t), v) => *t == v.type_name() || (*t == "int" && matches!(v, Val::Bool(_))),
                (Val::Class(k), Val::Packet(p)) => p.pkt.borrow().packet.layers.get(p.start).is_some_and(|l| l.kind() == *k),
                _ => false,
            }))
        }
        "type" => match one(&args, name)? {
            Val::Packet(p) => p.pkt.borrow().packet.layers.get(p.start).map_or(Val::None, |l| Val::Class(l.kind())),
            v => Val::Type(v.type_name()),
        },
        "format" => {
            let spec = match arg(&args, 1, "spec") {
                Some(Val::Str(s)) => s.to_string(),
                _ => String::new(),
            };
            crate::format::format_spec(one(&args, name)?, &spec).map(Val::str).or_else(|m| err(at, m))?
        }
        "dir" => match args.pos.first() {
            None => Val::list(me.names().into_iter().map(Val::str).collect()),
            Some((v, _)) => Val::list(crate::attrs::attr_names(v).into_iter().map(Val::str).collect()),
        },
        "help" => {
            let text = help(args.pos.first().map(|(v, _)| v));
            me.print(&text);
            Val::None
        }
        "exit" | "quit" => return Err(crate::interp::Flow::Error(crate::interp::Error { pos: at, msg: EXIT.into() })),
        "raw" | "bytes_hex" => {
            let b = to_bytes(one(&args, name)?, p0, name)?;
            if name == "raw" {
                Val::bytes(b)
            } else {
                Val::bytes(craft::field::hex(&b).into_bytes())
            }
        }
        "hexdump" | "linehexdump" => {
            let b = to_bytes(one(&args, name)?, p0, name)?;
            let text = if name == "hexdump" {
                scapy_text::hexdump(&b)
            } else {
                let hex: Vec<String> = b.iter().map(|x| format!("{x:02X}")).collect();
                let ascii: String = b.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }).collect();
                format!("{}  {ascii}", hex.join(" "))
            };
            if arg(&args, 1, "dump").is_some_and(Val::truthy) {
                return Ok(Val::str(text));
            }
            me.print(&format!("{text}\n"));
            Val::None
        }
        "ls" => {
            let text = match args.pos.first() {
                None => LayerKind::ALL.iter().map(|k| format!("{:<10}: {}\n", k.name(), k.long_name())).collect::<String>(),
                Some((v, p)) => match crate::attrs::layer_kind_of(v) {
                    Some(k) => scapy_text::ls_layer(k),
                    None => match v {
                        Val::Packet(r) => r.pkt.borrow().packet.layers.get(r.start).map_or(String::new(), |l| scapy_text::ls_layer(l.kind())),
                        other => return err(*p, format!("ls() takes a layer such as IP, not {}", other.type_name())),
                    },
                },
            };
            me.print(&text);
            Val::None
        }
        "lsc" => {
            let text: String = BUILTINS.iter().map(|(n, s)| format!("{n:<12}: {s}\n")).collect();
            me.print(&text);
            Val::None
        }
        "checksum" => {
            let b = to_bytes(one(&args, name)?, p0, name)?;
            Val::Int(craft::checksum::checksum(&b) as i128)
        }
        "bind_layers" => crate::binds::bind_layers(me, &args)?,
        "split_layers" => crate::binds::split_layers(me, &args)?,
        "check" => {
            let p = match one(&args, name)? {
                Val::Packet(p) => p.to_pkt(),
                other => return err(p0, format!("check() takes a packet, not {}", other.type_name())),
            };
            Val::list(craft::check::check_packet(&p.packet).into_iter().map(|pr| Val::str(pr.msg)).collect())
        }
        "rdpcap" | "wrpcap" | "load" | "save" | "send" | "sendp" | "sr" | "sr1" | "srp" | "srp1" | "srloop" | "sniff"
        | "AsyncSniffer"
            if me.sandbox =>
        {
            return err(at, format!("{name}() is not allowed in this session"));
        }
        "rdpcap" => rdpcap(me, &args)?,
        "wrpcap" => {
            wrpcap(me, &args)?;
            Val::None
        }
        "load" => load(&args)?,
        "save" => {
            save(me, &args)?;
            Val::None
        }
        "send" | "sendp" | "sr" | "sr1" | "srp" | "srp1" | "srloop" | "sniff" | "AsyncSniffer" => crate::live::call(me, name, args)?,
        "int" => match args.pos.first() {
            None => Val::Int(0),
            Some((Val::Str(s), p)) => {
                let base = arg(&args, 1, "base").and_then(Val::as_int).unwrap_or(10) as u32;
                let t = s.trim().replace('_', "");
                let (neg, t) = match t.strip_prefix('-') {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, t.trim_start_matches('+').to_string()),
                };
                let (base, digits) = match (base, t.get(..2).map(str::to_ascii_lowercase).as_deref()) {
                    (0 | 16, Some("0x")) => (16, &t[2..]),
                    (0 | 8, Some("0o")) => (8, &t[2..]),
                    (0 | 2, Some("0b")) => (2, &t[2..]),
                    (0, _) => (10, &t[..]),
                    (b, _) => (b, &t[..]),
                };
                match i128::from_str_radix(digits, base) {
                    Ok(n) => Val::Int(if neg { -n } else { n }),
                    Err(_) => return err(*p, format!("invalid literal for int() with base {base}: {}", crate::value::str_repr(s))),
                }
            }
            Some((Val::Float(f), _)) => Val::Int(f.trunc() as i128),
            Some((Val::Bytes(b), p)) => {
                let s = String::from_utf8_lossy(b).trim().to_string();
                Val::Int(s.parse().or_else(|_| err(*p, format!("invalid literal for int() with base 10: {}", crate::value::bytes_repr(b))))?)
            }
            Some((Val::Packet(_), p)) => return err(*p, "int() of a packet: use bytes_hex or raw"),
            Some((v, p)) => Val::Int(v.as_int().map_or_else(|| err(*p, format!("int() argument must be a string or a number, not '{}'", v.type_name())), Ok)?),
        },
        "float" => match args.pos.first() {
            None => Val::Float(0.0),
            Some((Val::Str(s), p)) => Val::Float(s.trim().parse().or_else(|_| err(*p, format!("could not convert string to float: {}", crate::value::str_repr(s))))?),
            Some((v, p)) => Val::Float(v.as_float().map_or_else(|| err(*p, "float() takes a number or a string"), Ok)?),
        },
        "bool" => Val::Bool(args.pos.first().is_some_and(|(v, _)| v.truthy())),
        "str" => match args.pos.first() {
            None => Val::str(""),
            Some((Val::Bytes(b), _)) if arg(&args, 1, "encoding").is_some() => Val::str(String::from_utf8_lossy(b).into_owned()),
            Some((v, _)) => Val::str(v.to_str()),
        },
        "bytes" | "bytearray" => match args.pos.first() {
            None => Val::bytes(Vec::new()),
            Some((Val::Packet(p), _)) => Val::bytes(p.to_pkt().packet.build()),
            Some((Val::Str(s), _)) => Val::bytes(s.as_bytes()),
            Some((Val::Bytes(b), _)) => Val::Bytes(b.clone()),
            Some((v, p)) if v.as_int().is_some() => {
                let n = v.as_int().unwrap_or(0);
                if !(0..=100_000_000).contains(&n) {
                    return err(*p, "bytes(n): n out of range");
                }
                Val::bytes(vec![0u8; n as usize])
            }
            Some((v, p)) => {
                let items = me.iter_val(v, *p)?;
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    match i.as_int() {
                        Some(b @ 0..=255) => out.push(b as u8),
                        _ => return err(*p, "bytes must be in range(0, 256)"),
                    }
                }
                Val::bytes(out)
            }
        },
        other => return err(at, format!("'{other}' is not callable")),
    })
}

/// The message of `exit()`: the session loop ends on it.
pub const EXIT: &str = "\u{0}exit";

/// Sorts values in Python's order, or fails if two cannot be compared.
pub fn sort_vals(items: &mut [Val], at: Pos) -> R<()> {
    let mut bad = false;
    items.sort_by(|a, b| {
        crate::ops::order(a, b).unwrap_or_else(|| {
            bad = true;
            std::cmp::Ordering::Equal
        })
    });
    if bad {
        return err(at, "'<' not supported between these values");
    }
    Ok(())
}

/// help(x): a layer's fields with their docs, a function's signature.
fn help(v: Option<&Val>) -> String {
    match v {
        None => "craft-repl: scapy's syntax on craft. Layers: ls(). Functions: lsc(). help(IP), help(sr).\n".into(),
        Some(Val::Class(k)) => layer_help(*k),
        Some(Val::Packet(p)) => p.pkt.borrow().packet.layers.get(p.start).map_or(String::new(), |l| layer_help(l.kind())),
        Some(Val::Builtin(n)) => format!("{}\n", signature(n).unwrap_or(n)),
        Some(Val::Func(f)) => {
            let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
            format!("{}({})\n", f.name, params.join(", "))
        }
        Some(Val::Method(recv, name)) => format!("{}.{name}(...)\n", recv.type_name()),
        Some(other) => format!("{}: {}\n", other.type_name(), other.repr()),
    }
}

fn layer_help(k: LayerKind) -> String {
    let mut s = format!("{} ({}): fields\n", k.name(), k.long_name());
    for f in k.fields() {
        let auto = if f.auto { " (auto)" } else { "" };
        s.push_str(&format!("  {:<10} {:<8}{auto} {}\n", f.name, f.kind, f.doc.trim()));
    }
    s
}

fn path_arg(args: &Args, n: usize, name: &str, func: &str) -> R<String> {
    match arg(args, n, name) {
        Some(Val::Str(s)) => Ok(s.to_string()),
        Some(other) => err(arg_pos(args, n, name), format!("{func}(): the file name is a str, not {}", other.type_name())),
        None => err(args.at, format!("{func}() missing required argument: '{name}'")),
    }
}

fn rdpcap(me: &Interp, args: &Args) -> R<Val> {
    let path = path_arg(args, 0, "filename", "rdpcap")?;
    let at = arg_pos(args, 0, "filename");
    let count = arg(args, 1, "count").and_then(Val::as_int).unwrap_or(-1);
    let file = std::fs::File::open(&path).or_else(|e| err(at, format!("{path}: {e}")))?;
    let mut reader = craft::pcap::Reader::new(std::io::BufReader::new(file)).or_else(|e| err(at, format!("{path}: {e}")))?;
    let mut out = Vec::new();
    while count < 0 || (out.len() as i128) < count {
        match reader.next_record() {
            Ok(Some(rec)) => {
                let mut p = Pkt::dissect_with(rec.data, rec.first_layer(), &me.conf.dissect);
                p.time = Some(rec.ts_ns as f64 / 1e9);
                out.push(Val::packet(p));
            }
            Ok(None) => break,
            Err(e) => return err(at, format!("{path}: {e}")),
        }
    }
    Ok(Interp::packet_list("PacketList", out))
}

/// The packets a value stands for: a packet (every packet of a set), or a list of them.
pub fn packets_of(me: &Interp, v: &Val, pos: Pos) -> R<Vec<Pkt>> {
    match v {
        Val::Packet(p) => Ok(p.to_pkt().expand()),
        other => {
            let mut out = Vec::new();
            for item in me.iter_val(other, pos)? {
                match item {
                    Val::Packet(p) => out.extend(p.to_pkt().expand()),
                    Val::Tuple(pair) if pair.len() == 2 => {
                        if let Val::Packet(p) = &pair[1] {
                            out.push(p.to_pkt());
                        }
                    }
                    other => return err(pos, format!("expected packets, found a {}", other.type_name())),
                }
            }
            Ok(out)
        }
    }
}

fn wrpcap(me: &Interp, args: &Args) -> R<()> {
    let path = path_arg(args, 0, "filename", "wrpcap")?;
    let at = arg_pos(args, 0, "filename");
    let Some(v) = arg(args, 1, "pkt") else { return err(args.at, "wrpcap() missing required argument: 'pkt'") };
    let pkts = packets_of(me, v, arg_pos(args, 1, "pkt"))?;
    let linktype = match pkts.first().and_then(|p| p.packet.layers.first()).map(|l| l.kind()) {
        Some(LayerKind::Ip) | Some(LayerKind::Ipv6) => 101,
        _ => 1,
    };
    let file = std::fs::File::create(&path).or_else(|e| err(at, format!("{path}: {e}")))?;
    let format = if path.ends_with(".pcapng") { craft::pcap::WriteFormat::PcapNg } else { craft::pcap::WriteFormat::PcapMicros };
    let io = |e: std::io::Error| crate::interp::Flow::Error(crate::interp::Error { pos: at, msg: format!("{path}: {e}") });
    let mut w = craft::pcap::Writer::new(BufWriter::new(file), format, linktype, 262144).map_err(io)?;
    for p in &pkts {
        let bytes = p.packet.build();
        let ts = (p.time.unwrap_or(0.0) * 1e9) as u64;
        w.write(ts, &bytes, bytes.len() as u32).map_err(io)?;
    }
    w.flush().map_err(io)
}

fn load(args: &Args) -> R<Val> {
    let path = path_arg(args, 0, "filename", "load")?;
    let at = arg_pos(args, 0, "filename");
    let src = std::fs::read_to_string(&path).or_else(|e| err(at, format!("{path}: {e}")))?;
    let packets = craft::text::parse_ron(&src, &path).or_else(|e| err(at, e.to_string()))?;
    let mut vals: Vec<Val> = packets.into_iter().map(|p| Val::packet(Pkt::given_as_changed(p))).collect();
    Ok(if vals.len() == 1 { vals.remove(0) } else { Val::list(vals) })
}

fn save(me: &Interp, args: &Args) -> R<()> {
    let Some(v) = arg(args, 0, "pkt") else { return err(args.at, "save() missing required argument: 'pkt'") };
    let pkts = packets_of(me, v, arg_pos(args, 0, "pkt"))?;
    let path = path_arg(args, 1, "filename", "save")?;
    let packets: Vec<craft::packet::Packet> = pkts.into_iter().map(|p| p.packet).collect();
    let text = craft::text::to_ron(&packets);
    std::fs::write(&path, text).or_else(|e| err(arg_pos(args, 1, "filename"), format!("{path}: {e}")))
}
