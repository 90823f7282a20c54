//! Attributes and subscripts: `p.ttl`, `p[IP]`, `s.upper`, `x[1:3]`, `conf.iface`.

use craft::packet::LayerKind;
use craft::text::Pos;

use crate::interp::{err, index_of, Interp, R};
use crate::packets;
use crate::value::{PktRef, Val};

/// Packet methods and attributes besides fields.
pub const PACKET_ATTRS: &[&str] = &[
    "summary", "show", "show2", "command", "sprintf", "copy", "haslayer", "getlayer", "payload", "name", "fields",
    "hexdump", "build", "layers", "lastlayer", "firstlayer", "remove_payload", "hide_defaults", "time", "setfieldval",
    "getfieldval",
];
pub const STR_METHODS: &[&str] = &[
    "upper", "lower", "strip", "lstrip", "rstrip", "split", "join", "startswith", "endswith", "replace", "find",
    "count", "encode", "format", "zfill", "ljust", "rjust", "center", "isdigit", "splitlines", "index",
];
pub const BYTES_METHODS: &[&str] = &["hex", "decode", "startswith", "endswith", "find", "count", "split", "replace", "strip", "join", "index"];
pub const LIST_METHODS: &[&str] = &["append", "extend", "pop", "insert", "index", "count", "sort", "reverse", "copy", "clear", "remove"];
pub const DICT_METHODS: &[&str] = &["keys", "values", "items", "get", "update", "pop", "setdefault", "copy", "clear"];
pub const PLIST_METHODS: &[&str] = &["summary", "nsummary", "show", "filter", "hexdump", "res"];

/// `obj.name`.
pub fn get_attr(me: &Interp, obj: &Val, name: &str, pos: Pos) -> R<Val> {
    let method = |list: &[&'static str]| list.iter().find(|m| **m == name).map(|m| Val::Method(Box::new(obj.clone()), m));
    let found = match obj {
        Val::Packet(p) => return packet_attr(p, obj, name, pos),
        Val::Str(_) => method(STR_METHODS),
        Val::Bytes(_) => method(BYTES_METHODS),
        Val::List(_) => method(LIST_METHODS),
        Val::Dict(_) => method(DICT_METHODS),
        Val::Packets(_) => method(PLIST_METHODS),
        Val::Type("bytes") if name == "fromhex" => Some(Val::Method(Box::new(obj.clone()), "fromhex")),
        Val::Type("str") if name == "join" => Some(Val::Method(Box::new(obj.clone()), "join")),
        Val::Flags(f) => match name {
            "value" => Some(Val::Int(f.bits as i128)),
            "flagrepr" => Some(Val::Method(Box::new(obj.clone()), "flagrepr")),
            _ => match f.letters.iter().position(|l| *l == name) {
                Some(i) => Some(Val::Bool(f.bits & (1 << i) != 0)),
                None if name.chars().all(|c| f.letters.contains(&c.to_string().as_str())) && !name.is_empty() => {
                    craft::field::parse_flags(name, f.letters).ok().map(|b| Val::Bool(f.bits & b == b))
                }
                None => None,
            },
        },
        Val::Conf => Some(conf_get(me, name, pos)?),
        Val::Sniffer(s) => crate::sniffer::attr(s, obj, name),
        Val::Class(k) => match name {
            "name" => Some(Val::str(k.long_name())),
            "__name__" => Some(Val::str(k.name())),
            _ => None,
        },
        _ => None,
    };
    match found {
        Some(v) => Ok(v),
        None => {
            let names = attr_names(obj);
            let hint = craft::layer::closest(name, names.iter().copied()).map_or(String::new(), |c| format!("; did you mean '{c}'?"));
            err(pos, format!("'{}' object has no attribute '{name}'{hint}", obj.type_name()))
        }
    }
}

/// The attribute names of a value, for hints and completion.
pub fn attr_names(obj: &Val) -> Vec<&'static str> {
    match obj {
        Val::Packet(p) => {
            let pkt = p.pkt.borrow();
            let mut v: Vec<&'static str> =
                pkt.packet.layers[p.start.min(pkt.packet.layers.len())..].iter().flat_map(|l| l.kind().fields().iter().map(|f| f.name)).collect();
            v.extend(PACKET_ATTRS);
            v
        }
        Val::Str(_) => STR_METHODS.to_vec(),
        Val::Bytes(_) => BYTES_METHODS.to_vec(),
        Val::List(_) => LIST_METHODS.to_vec(),
        Val::Dict(_) => DICT_METHODS.to_vec(),
        Val::Packets(_) => PLIST_METHODS.to_vec(),
        Val::Conf => crate::interp::CONF_ATTRS.to_vec(),
        Val::Sniffer(_) => crate::sniffer::ATTRS.to_vec(),
        Val::Flags(f) => {
            let mut v = f.letters.to_vec();
            v.push("value");
            v
        }
        Val::Type("bytes") => vec!["fromhex"],
        _ => Vec::new(),
    }
}

fn packet_attr(p: &PktRef, obj: &Val, name: &str, pos: Pos) -> R<Val> {
    if let Some(v) = packets::get_field(p, name) {
        return Ok(v);
    }
    let pkt = p.pkt.borrow();
    let n = pkt.packet.layers.len();
    match name {
        "payload" => {
            // Past the last layer: an empty view, scapy's NoPayload (repr '', false).
            return Ok(Val::Packet(PktRef { pkt: p.pkt.clone(), start: (p.start + 1).min(n) }));
        }
        "name" => return Ok(Val::str(pkt.packet.layers.get(p.start).map_or("NoPayload", |l| l.kind().long_name()))),
        "time" => return Ok(pkt.time.map_or(Val::None, Val::Float)),
        "fields" => {
            let Some(l) = pkt.packet.layers.get(p.start) else { return Ok(Val::Dict(Default::default())) };
            let kind = l.kind();
            let items = kind
                .fields()
                .iter()
                .filter(|f| pkt.is_given(p.start, f.name))
                .filter_map(|f| Some((Val::str(f.name), Val::from_field(&l.get(f.name)?, f.fmt))))
                .collect::<Vec<_>>();
            return Ok(Val::Dict(std::rc::Rc::new(items.into())));
        }
        _ => {}
    }
    if let Some(m) = PACKET_ATTRS.iter().find(|m| **m == name) {
        return Ok(Val::Method(Box::new(obj.clone()), m));
    }
    err(pos, packets::no_attribute(&pkt, p.start, name))
}

fn conf_get(me: &Interp, name: &str, pos: Pos) -> R<Val> {
    Ok(match name {
        "iface" => me.conf.iface.as_deref().map_or(Val::None, Val::str),
        "verb" => Val::Int(me.conf.verb),
        "checkIPaddr" => Val::Bool(me.conf.check_ip_addr),
        "color" => Val::Bool(me.conf.color),
        _ => {
            let hint = craft::layer::closest(name, crate::interp::CONF_ATTRS.iter().copied())
                .map_or(String::new(), |c| format!("; did you mean '{c}'?"));
            return err(pos, format!("conf has no attribute '{name}'{hint} (craft-repl's conf: {})", crate::interp::CONF_ATTRS.join(", ")));
        }
    })
}

/// `obj.name = v`.
pub fn set_attr(me: &mut Interp, obj: &Val, name: &str, v: Val, pos: Pos) -> R<()> {
    match obj {
        Val::Packet(p) => {
            let i = {
                let pkt = p.pkt.borrow();
                match packets::field_layer(&pkt, p.start, name) {
                    Some(i) => i,
                    None => return err(pos, packets::no_attribute(&pkt, p.start, name)),
                }
            };
            packets::set_field(&mut p.pkt.borrow_mut(), i, name, &v, pos)
        }
        Val::Conf => {
            match (name, &v) {
                ("iface", Val::Str(s)) => me.conf.iface = Some(s.to_string()),
                ("iface", Val::None) => me.conf.iface = None,
                ("verb", v) if v.as_int().is_some() => me.conf.verb = v.as_int().unwrap_or(0),
                ("checkIPaddr", v) => me.conf.check_ip_addr = v.truthy(),
                ("color", v) => me.conf.color = v.truthy(),
                _ => {
                    conf_get(me, name, pos)?;
                    return err(pos, format!("conf.{name} cannot be set to a {}", v.type_name()));
                }
            }
            Ok(())
        }
        other => err(pos, format!("cannot set attribute '{name}' of a {}", other.type_name())),
    }
}

/// `del obj.name`: a packet field back to its default.
pub fn del_attr(obj: &Val, name: &str, pos: Pos) -> R<()> {
    match obj {
        Val::Packet(p) => packets::reset_field(p, name, pos),
        other => err(pos, format!("cannot delete attribute '{name}' of a {}", other.type_name())),
    }
}

/// `obj[idx]`.
pub fn get_item(me: &Interp, obj: &Val, idx: &Val, pos: Pos) -> R<Val> {
    match (obj, idx) {
        (Val::Packet(p), Val::Class(k)) => match packets::find_layer(p, *k) {
            Some(i) => Ok(Val::Packet(PktRef { pkt: p.pkt.clone(), start: i })),
            None => err(pos, format!("layer [{}] not found", k.name())),
        },
        (Val::Packet(p), i) if i.as_int().is_some() => {
            // scapy: p[n] is the n-th layer (p.getlayer(n)).
            let n = p.pkt.borrow().packet.layers.len() - p.start.min(p.pkt.borrow().packet.layers.len());
            let k = index_of(i, n, pos)?;
            Ok(Val::Packet(PktRef { pkt: p.pkt.clone(), start: p.start + k }))
        }
        (Val::List(l), i) => Ok(l.borrow()[index_of(i, l.borrow().len(), pos)?].clone()),
        (Val::Tuple(t), i) => Ok(t[index_of(i, t.len(), pos)?].clone()),
        (Val::Packets(l), i) => {
            let items = l.items.borrow();
            Ok(items[index_of(i, items.len(), pos)?].clone())
        }
        (Val::Str(s), i) => {
            let chars: Vec<char> = s.chars().collect();
            Ok(Val::str(chars[index_of(i, chars.len(), pos)?].to_string()))
        }
        (Val::Bytes(b), i) => Ok(Val::Int(b[index_of(i, b.len(), pos)?] as i128)),
        (Val::Range(a, b, c), i) => {
            let n = crate::value::range_len(*a, *b, *c).min(usize::MAX as i128) as usize;
            Ok(Val::Int(a + index_of(i, n, pos)? as i128 * c))
        }
        (Val::Dict(d), k) => match d.borrow().iter().find(|(x, _)| x.py_eq(k)) {
            Some((_, v)) => Ok(v.clone()),
            None => err(pos, format!("KeyError: {}", k.repr())),
        },
        (Val::Packet(_), other) => err(pos, format!("a packet is indexed by a layer class such as IP, not a {}", other.type_name())),
        (other, _) => {
            let _ = me;
            err(pos, format!("'{}' object is not subscriptable", other.type_name()))
        }
    }
}

/// `obj[lo:hi:step]`.
pub fn slice(obj: &Val, lo: Option<i128>, hi: Option<i128>, step: Option<i128>, pos: Pos) -> R<Val> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return err(pos, "slice step cannot be zero");
    }
    let pick = |n: usize| -> Vec<usize> {
        let n = n as i128;
        let clamp = |x: i128, lo_b: i128, hi_b: i128| if x < 0 { (x + n).max(lo_b) } else { x.min(hi_b) };
        let mut out = Vec::new();
        if step > 0 {
            let (mut i, end) = (lo.map_or(0, |x| clamp(x, 0, n)), hi.map_or(n, |x| clamp(x, 0, n)));
            while i < end {
                out.push(i as usize);
                i += step;
            }
        } else {
            let (mut i, end) = (lo.map_or(n - 1, |x| clamp(x, -1, n - 1)), hi.map_or(-1, |x| clamp(x, -1, n - 1)));
            while i > end {
                out.push(i as usize);
                i += step;
            }
        }
        out
    };
    Ok(match obj {
        Val::List(l) => {
            let l = l.borrow();
            Val::list(pick(l.len()).into_iter().map(|i| l[i].clone()).collect())
        }
        Val::Tuple(t) => Val::tuple(pick(t.len()).into_iter().map(|i| t[i].clone()).collect()),
        Val::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            Val::str(pick(chars.len()).into_iter().map(|i| chars[i]).collect::<String>())
        }
        Val::Bytes(b) => Val::bytes(pick(b.len()).into_iter().map(|i| b[i]).collect::<Vec<u8>>()),
        Val::Packets(l) => {
            let items = l.items.borrow();
            Interp::packet_list(l.name, pick(items.len()).into_iter().map(|i| items[i].clone()).collect())
        }
        Val::Range(a, b, c) => {
            let items = crate::value::range_items(*a, *b, *c);
            Val::list(pick(items.len()).into_iter().map(|i| Val::Int(items[i])).collect())
        }
        other => return err(pos, format!("'{}' object cannot be sliced", other.type_name())),
    })
}

/// The layer kind a value names: a class, or a layer name as a string.
pub fn layer_kind_of(v: &Val) -> Option<LayerKind> {
    match v {
        Val::Class(k) => Some(*k),
        Val::Str(s) => LayerKind::from_name(s),
        _ => None,
    }
}
