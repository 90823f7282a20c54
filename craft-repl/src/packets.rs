//! Packets in the REPL: layer constructors, `/`, finding layers, setting fields the way
//! scapy accepts them.

use craft::field::Value;
use craft::layer::unknown_field;
use craft::packet::{LayerKind, Packet};
use craft::text::Pos;

use crate::interp::{err, Args, Interp, R};
use crate::pkt::{FieldSet, Pkt};
use crate::value::{PktRef, Val};

/// The most packets one packet set may stand for.
pub const MAX_SET: usize = craft::text::MAX_PACKETS;

/// `IP(dst="10.0.0.1", ttl=3)`, or `IP(b"...")` to dissect bytes.
pub fn construct(me: &mut Interp, kind: LayerKind, args: Args) -> R<Val> {
    if args.pos.len() > 1 {
        return err(args.pos[1].1, format!("{}() takes at most one positional argument: the bytes to dissect", kind.name()));
    }
    let mut pkt = match args.pos.first() {
        None => Pkt::fresh(Packet::from(kind.new_layer())),
        Some((Val::Bytes(b), _)) => Pkt::dissect_with(b, kind, &me.conf.dissect),
        Some((Val::Str(s), _)) => Pkt::dissect_with(s.as_bytes(), kind, &me.conf.dissect),
        Some((Val::Packet(p), _)) => Pkt::dissect_with(&p.to_pkt().packet.build(), kind, &me.conf.dissect),
        Some((other, pos)) => {
            let msg = format!(
                "{}() takes bytes to dissect as its positional argument, not {}; set fields by name: {}(field=value)",
                kind.name(),
                other.type_name(),
                kind.name()
            );
            return err(*pos, msg);
        }
    };
    for kw in &args.kw {
        set_field(&mut pkt, 0, &kw.name, &kw.value, kw.pos)?;
    }
    Ok(Val::packet(pkt))
}

/// Sets field `name` of layer `i`, as scapy takes values: names for enums and flags, str
/// for bytes, a short MAC such as "0x1", a list or range or network for a packet set.
pub fn set_field(pkt: &mut Pkt, i: usize, name: &str, v: &Val, pos: Pos) -> R<()> {
    let Some(layer) = pkt.packet.layers.get(i) else { return err(pos, "no such layer") };
    let kind = layer.kind();
    let fname = kind.field_name(name);
    let Some(info) = kind.fields().iter().find(|f| f.name == fname) else {
        return err(pos, unknown_field(kind.name(), name, kind.fields()));
    };
    let label = format!("{} field '{}'", kind.name(), info.name);
    let Some(mut value) = v.to_field() else {
        return err(pos, format!("{label}: cannot be set from a {}", v.type_name()));
    };
    // Names that depend on other fields (ICMP code names per type).
    if let (Value::Str(s), Some(names)) = (&value, pkt.packet.layers[i].names(info.name)) {
        if let Some((n, _)) = names.iter().find(|(_, name)| name == s) {
            value = Value::Int(*n as i64);
        }
    }
    let mut written = None;
    if info.kind == "MAC" {
        if let Value::Str(s) = &value {
            if let Some(mac) = craft::text::short_mac(s) {
                // Shown as written, as scapy keeps it: Ether(src="0x1") shows src=0x1.
                written = Some(value.clone());
                value = Value::Str(mac);
            }
        }
    }
    let alts = match craft::text::alternatives(kind, info.name, &value, MAX_SET) {
        Ok(alts) => alts,
        // scapy takes str for bytes inside lists too: TCP(options=[(0xb7, "1234abcd")]).
        Err(why) => match craft::text::strs_after_names(&value) {
            Some(bytes_value) => {
                let alts = craft::text::alternatives(kind, info.name, &bytes_value, MAX_SET).or_else(|_| err(pos, format!("{label}: {why}")))?;
                // Shown as written, as scapy keeps the str.
                written = Some(std::mem::replace(&mut value, bytes_value));
                alts
            }
            None => return err(pos, format!("{label}: {why}")),
        },
    };
    pkt.sets.retain(|s| !(s.layer == i && s.field == info.name));
    let first = match alts {
        None if written.is_some() => {
            pkt.sets.push(FieldSet { layer: i, field: info.name, alts: vec![value.clone()], written: written.unwrap_or(Value::None) });
            value.clone()
        }
        None => value.clone(),
        Some(alts) => {
            let first = alts[0].clone();
            let n = pkt.count();
            if n.saturating_mul(alts.len()) > MAX_SET {
                return err(pos, format!("{label}: too many packets (more than {MAX_SET})"));
            }
            pkt.sets.push(FieldSet { layer: i, field: info.name, alts, written: value });
            first
        }
    };
    if let Err(why) = pkt.packet.layers[i].set(info.name, &first) {
        return err(pos, format!("{label}: {why}"));
    }
    let given = !matches!(v, Val::None);
    pkt.set_given(i, info.name, given);
    Ok(())
}

/// Puts a field back to its default (`del p.ttl`): auto again for auto fields.
pub fn reset_field(p: &PktRef, name: &str, pos: Pos) -> R<()> {
    let mut pkt = p.pkt.borrow_mut();
    let Some(i) = field_layer(&pkt, p.start, name) else {
        return err(pos, no_attribute(&pkt, p.start, name));
    };
    let kind = pkt.packet.layers[i].kind();
    let fname = kind.field_name(name).to_string();
    let default = kind.new_layer().get(&fname).unwrap_or(Value::None);
    let _ = pkt.packet.layers[i].set(&fname, &default);
    pkt.sets.retain(|s| !(s.layer == i && s.field == fname));
    pkt.set_given(i, &fname, false);
    Ok(())
}

/// The first layer from `start` on that has field `name` (scapy's attribute fall-through).
pub fn field_layer(pkt: &Pkt, start: usize, name: &str) -> Option<usize> {
    (start..pkt.packet.layers.len()).find(|&i| {
        let l = &pkt.packet.layers[i];
        let kind = l.kind();
        let f = kind.field_name(name);
        kind.fields().iter().any(|x| x.name == f)
    })
}

/// A field's value, from the first layer that has it.
pub fn get_field(p: &PktRef, name: &str) -> Option<Val> {
    let pkt = p.pkt.borrow();
    let i = field_layer(&pkt, p.start, name)?;
    let layer = &pkt.packet.layers[i];
    let kind = layer.kind();
    let fname = kind.field_name(name);
    if let Some(set) = pkt.sets.iter().find(|s| s.layer == i && s.field == fname) {
        return Some(Val::from_field(&set.written, craft::field::Fmt::Dec));
    }
    let info = kind.fields().iter().find(|f| f.name == fname)?;
    let v = match layer.get(fname)? {
        // Unset: what scapy reads there (`proto` set by the layer above, Ether type 0x9000).
        craft::field::Value::None => crate::scapy_text::getfieldval(&pkt, i, fname).unwrap_or(craft::field::Value::None),
        v => v,
    };
    Some(Val::from_field(&v, info.fmt))
}

/// "'IP' object has no attribute 'x'; did you mean ...".
pub fn no_attribute(pkt: &Pkt, start: usize, name: &str) -> String {
    let Some(first) = pkt.packet.layers.get(start) else { return format!("the packet has no attribute '{name}'") };
    let mut names: Vec<&str> = pkt.packet.layers[start..].iter().flat_map(|l| l.kind().fields().iter().map(|f| f.name)).collect();
    names.extend(crate::attrs::PACKET_ATTRS);
    let hint = craft::layer::closest(name, names.iter().copied()).map_or(String::new(), |c| format!("; did you mean '{c}'?"));
    format!("'{}' object has no attribute '{name}'{hint}", first.kind().name())
}

/// The index of the first layer of `kind` from the view's start on.
pub fn find_layer(p: &PktRef, kind: LayerKind) -> Option<usize> {
    let pkt = p.pkt.borrow();
    (p.start..pkt.packet.layers.len()).find(|&i| pkt.packet.layers[i].kind() == kind)
}

/// The packet a value stands for on one side of '/'.
fn operand(v: Val, pos: Pos) -> R<Pkt> {
    Ok(match v {
        Val::Packet(p) => p.to_pkt(),
        Val::Str(s) => raw(s.as_bytes()),
        Val::Bytes(b) => raw(&b),
        Val::Class(k) => {
            return err(pos, format!("{0} is a layer class: call it to make a layer, as in {0}()", k.name()));
        }
        other => return err(pos, format!("cannot stack a {} on a packet: use layers, str or bytes", other.type_name())),
    })
}

/// A Raw layer with its load given.
pub fn raw(load: &[u8]) -> Pkt {
    let mut p = Pkt::fresh(Packet::from(craft::packet::Layer::from(load)));
    p.set_given(0, "load", true);
    p
}

/// `x / y`.
pub fn stack(x: Val, y: Val, pos: Pos) -> R<Val> {
    let a = operand(x, pos)?;
    let b = operand(y, pos)?;
    if a.count().saturating_mul(b.count()) > MAX_SET {
        return err(pos, format!("too many packets (more than {MAX_SET})"));
    }
    Ok(Val::packet(a.stack(b)))
}
