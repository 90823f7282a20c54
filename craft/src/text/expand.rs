//! From layers as written to packets: field values go through `Layer::set`, and values
//! that do not fit their field but name a set of values (a list, a range, a network)
//! make a packet set, as in scapy.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::field::{FieldInfo, Value};
use crate::layer::unknown_field;
use crate::layers::Raw;
use crate::packet::{Layer, LayerKind, Packet};

use super::spec::{FieldArg, LayerSpec, Lit, Node};
use super::{Pos, TextError, MAX_PACKETS};

/// The packets of one expression or RON packet: a base packet and, for each field given
/// a set of values, its alternatives. Packets are made on demand, in scapy's order.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketSet {
    base: Packet,
    /// Slowest-varying first: by layer, then by field from the last declared.
    slots: Vec<Slot>,
    len: usize,
}

#[derive(Clone, Debug, PartialEq)]
struct Slot {
    layer: usize,
    field: &'static str,
    alts: Vec<Value>,
}

impl PacketSet {
    /// How many packets the set makes: at least 1, at most [`MAX_PACKETS`].
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a set with no packets is an error when it is parsed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packet at `index`, in scapy's order.
    pub fn get(&self, index: usize) -> Option<Packet> {
        (index < self.len).then(|| self.make(index))
    }

    pub fn iter(&self) -> impl Iterator<Item = Packet> + '_ {
        (0..self.len).map(|i| self.make(i))
    }

    fn make(&self, mut index: usize) -> Packet {
        let mut p = self.base.clone();
        for slot in self.slots.iter().rev() {
            let n = slot.alts.len();
            if let Some(layer) = p.layers.get_mut(slot.layer) {
                // Each alternative was set on a layer of this kind when the set was built.
                let _ = layer.set(slot.field, &slot.alts[index % n]);
            }
            index /= n;
        }
        p
    }
}

/// Builds the packet set of one packet, making at most `budget` packets.
pub(crate) fn build(layers: &[LayerSpec], budget: usize) -> Result<PacketSet, TextError> {
    let mut set = PacketSet { base: Packet::new(), slots: Vec::new(), len: 1 };
    if budget == 0 {
        let pos = layers.iter().find_map(|l| match l {
            LayerSpec::Call { pos, .. } => Some(*pos),
            LayerSpec::Raw(_) => None,
        });
        return Err(too_many(pos.unwrap_or(Pos::START), "this packet"));
    }
    for spec in layers {
        match spec {
            LayerSpec::Raw(load) => set.base.layers.push(Raw::new().load(load.clone()).into()),
            LayerSpec::Call { kind, pos, dissect, fields } => {
                let index = set.base.layers.len();
                match dissect {
                    Some(bytes) if !bytes.is_empty() => set.base.layers.extend(Packet::dissect(bytes, *kind).layers),
                    _ => {}
                }
                if set.base.layers.len() == index {
                    set.base.layers.push(kind.new_layer());
                }
                if !fields.is_empty() && set.base.layers[index].kind() != *kind {
                    let name = kind.name();
                    let msg = format!("the bytes given to {name} are too short to dissect as {name}, so its fields cannot be set");
                    return Err(TextError::at(*pos, msg));
                }
                set_fields(&mut set, index, *kind, fields, budget)?;
            }
        }
    }
    Ok(set)
}

/// Sets the fields of the layer at `index`; sets of values become slots.
fn set_fields(set: &mut PacketSet, index: usize, kind: LayerKind, fields: &[FieldArg], budget: usize) -> Result<(), TextError> {
    let mut slots: Vec<(usize, Slot)> = Vec::new();
    for (i, arg) in fields.iter().enumerate() {
        let label = format!("{} field '{}'", kind.name(), arg.name);
        if fields[..i].iter().any(|a| a.name == arg.name) {
            return Err(TextError::at(arg.name_pos, format!("{label} is given twice")));
        }
        let layer = &mut set.base.layers[index];
        if let Some(note) = kind.metadata_fields().iter().find(|f| f.name == arg.name) {
            set_note(layer, note, &arg.value, &label)?;
            continue;
        }
        let name = kind.field_name(&arg.name);
        let Some((decl, info)) = kind.fields().iter().enumerate().find(|(_, f)| f.name == name) else {
            return Err(TextError::at(arg.name_pos, unknown_field(kind.name(), &arg.name, kind.fields())));
        };
        let mut value = arg.value.value();
        // scapy's short MACs: Ether(src="0x1") is 01:00:00:00:00:00 (as in craft-repl).
        if let (true, Value::Str(s)) = (info.kind == "MAC", &value) {
            if let Some(mac) = super::short_mac(s) {
                value = Value::Str(mac);
            }
        }
        let why = match layer.set(info.name, &value) {
            Ok(()) => continue,
            Err(why) => why,
        };
        // scapy never expands a list field (TCP options): the list is the value.
        let scratch = kind.new_layer();
        if matches!(scratch.get(info.name), Some(Value::List(_))) {
            // A str as option data is its UTF-8 bytes, as in scapy and craft-repl.
            if let Some(bytes_value) = super::strs_after_names(&value) {
                if layer.set(info.name, &bytes_value).is_ok() {
                    continue;
                }
            }
            return Err(TextError::at(arg.value.pos, format!("{label}: {why}")));
        }
        let mac = info.kind == "MAC";
        let mut ex = Expander { scratch, field: info.name, label, alts: Vec::new(), limit: budget / set.len, mac };
        ex.expand(&arg.value, why)?;
        match ex.alts.len() {
            0 => return Err(TextError::at(arg.value.pos, format!("{}: an empty set of values makes no packets", ex.label))),
            1 => {
                let _ = layer.set(info.name, &ex.alts[0]);
            }
            n => {
                set.len *= n;
                slots.push((decl, Slot { layer: index, field: info.name, alts: ex.alts }));
            }
        }
    }
    // scapy varies the field declared last slowest.
    slots.sort_by_key(|(decl, _)| std::cmp::Reverse(*decl));
    set.slots.extend(slots.into_iter().map(|(_, s)| s));
    Ok(())
}

/// A metadata field (see [`crate::field::FieldInfo::metadata`]): `Raw(truncated="TCP")`,
/// the dissector's note that these bytes are a cut-short TCP header; the value is a layer's
/// name or None.
fn set_note(layer: &mut Layer, note: &FieldInfo, value: &Node, label: &str) -> Result<(), TextError> {
    let name = match &value.lit {
        Lit::None => None,
        Lit::Str(name) => match LayerKind::from_name(name) {
            Some(k) => Some(k.name()),
            None => return Err(TextError::at(value.pos, format!("{label}: '{name}' is not a layer name"))),
        },
        _ => return Err(TextError::at(value.pos, format!("{label}: expected a layer name, such as \"TCP\""))),
    };
    layer.set_metadata(note.name, name);
    Ok(())
}

fn too_many(pos: Pos, what: &str) -> TextError {
    TextError::at(pos, format!("too many packets: {what} makes more than {MAX_PACKETS} in all (the limit)"))
}

/// Collects the alternatives of one field, checking each on a scratch layer.
struct Expander {
    scratch: Layer,
    field: &'static str,
    label: String,
    alts: Vec<Value>,
    /// The most alternatives this field may have, given the other fields' sets.
    limit: usize,
    /// A MAC field: each short MAC of a set is padded, as scapy does (`src=["0x1", "0x2"]`).
    mac: bool,
}

impl Expander {
    /// Expands a value that `set` refused with `why`, as scapy does: a list (or a tuple that
    /// is not a range) stands for its elements, each a value, a range or a network; a range
    /// and a network stand for their members. Nothing deeper: `[[1, 2]]` is not a set.
    fn expand(&mut self, node: &Node, why: String) -> Result<(), TextError> {
        match &node.lit {
            Lit::Tuple(items) if int_range(items).is_some() => self.members(node, why),
            Lit::List(items) | Lit::Tuple(items) => items.iter().try_for_each(|item| self.element(item)),
            _ => self.members(node, why),
        }
    }

    fn element(&mut self, node: &Node) -> Result<(), TextError> {
        let mut v = node.value();
        if let (true, Value::Str(s)) = (self.mac, &v) {
            if let Some(mac) = super::short_mac(s) {
                v = Value::Str(mac);
            }
        }
        match self.scratch.set(self.field, &v) {
            Ok(()) => self.push(v, node.pos, "this set of values"),
            Err(why) => self.members(node, why),
        }
    }

    /// The members of a range or a network, or the error `why`.
    fn members(&mut self, node: &Node, why: String) -> Result<(), TextError> {
        match &node.lit {
            Lit::Tuple(items) => match int_range(items) {
                Some((lo, hi, step)) => self.range(node, lo, hi, step),
                None => Err(TextError::at(node.pos, format!("{}: {why}", self.label))),
            },
            Lit::Str(s) if s.contains('/') => self.network(node, s, why),
            _ => Err(TextError::at(node.pos, format!("{}: {why}", self.label))),
        }
    }

    fn push(&mut self, v: Value, pos: Pos, what: &str) -> Result<(), TextError> {
        if self.alts.len() >= self.limit {
            return Err(too_many(pos, what));
        }
        self.alts.push(v);
        Ok(())
    }

    fn check(&mut self, v: &Value, pos: Pos, within: &str) -> Result<(), TextError> {
        self.scratch.set(self.field, v).map_err(|e| TextError::at(pos, format!("{}: {e} (in {within})", self.label)))
    }

    /// Python's `range(lo, hi + 1, step)`, as scapy does with `(lo, hi[, step])`.
    fn range(&mut self, node: &Node, lo: i64, hi: i64, step: i64) -> Result<(), TextError> {
        let repr = node.value().repr();
        let what = format!("the range {repr}");
        if step == 0 {
            return Err(TextError::at(node.pos, format!("{}: the step of the range {repr} is 0", self.label)));
        }
        let (lo, stop, step) = (lo as i128, hi as i128 + 1, step as i128);
        let count = if step > 0 { (stop - lo + step - 1).max(0) / step } else { (lo - stop - step - 1).max(0) / -step };
        if count == 0 {
            return Err(TextError::at(node.pos, format!("{}: the range {repr} is empty (it is (low, high))", self.label)));
        }
        if count > (self.limit - self.alts.len()) as i128 {
            return Err(too_many(node.pos, &what));
        }
        for k in 0..count {
            let v = Value::Int((lo + k * step) as i64);
            self.check(&v, node.pos, &what)?;
            self.push(v, node.pos, &what)?;
        }
        Ok(())
    }

    /// Every address of an IPv4 or IPv6 network, like scapy's Net: "10.0.0.0/30".
    fn network(&mut self, node: &Node, s: &str, why: String) -> Result<(), TextError> {
        let fail = |msg: String| TextError::at(node.pos, msg);
        let Some((addr, prefix)) = s.split_once('/') else { return Err(fail(format!("{}: {why}", self.label))) };
        let (start, bits, v6) = if let Ok(a) = addr.parse::<Ipv4Addr>() {
            (u32::from(a) as u128, 32, false)
        } else if let Ok(a) = addr.parse::<Ipv6Addr>() {
            (u128::from(a), 128, true)
        } else {
            return Err(fail(format!("{}: {why}", self.label)));
        };
        let prefix: u32 = match prefix.parse() {
            Ok(p) if p <= bits && !prefix.starts_with('+') => p,
            _ => return Err(fail(format!("{}: '{s}': the prefix length must be 0 to {bits}", self.label))),
        };
        let host_bits = bits - prefix;
        let what = format!("the network {s}");
        let room = (self.limit - self.alts.len()) as u128;
        if host_bits >= 64 || (1u128 << host_bits) > room {
            let n = if host_bits >= 64 { format!("2^{host_bits}") } else { (1u128 << host_bits).to_string() };
            return Err(too_many(node.pos, &format!("{what} ({n} addresses)")));
        }
        let first = start & !((1u128 << host_bits) - 1);
        for k in 0..(1u128 << host_bits) {
            let a = first + k;
            let text = if v6 { Ipv6Addr::from(a).to_string() } else { Ipv4Addr::from(a as u32).to_string() };
            let v = Value::Str(text);
            self.check(&v, node.pos, &what)?;
            self.push(v, node.pos, &what)?;
        }
        Ok(())
    }
}

/// A value for field `field` of a `kind` layer as the REPL gives it: `Ok(None)` when it fits
/// the field, `Ok(Some(alternatives))` when it names a set of values (a list, a range
/// `(lo, hi)`, a network "10.0.0.0/30") — the rules of expressions — else why it fits neither.
pub fn alternatives(kind: LayerKind, field: &str, v: &Value, limit: usize) -> Result<Option<Vec<Value>>, String> {
    let mut scratch = kind.new_layer();
    let Some(info) = kind.fields().iter().find(|f| f.name == field) else {
        return Err(unknown_field(kind.name(), field, kind.fields()));
    };
    let why = match scratch.set(info.name, v) {
        Ok(()) => return Ok(None),
        Err(why) => why,
    };
    if matches!(scratch.get(info.name), Some(Value::List(_))) {
        return Err(why);
    }
    let mac = info.kind == "MAC";
    let mut ex = Expander { scratch, field: info.name, label: String::new(), alts: Vec::new(), limit, mac };
    ex.expand(&node_of(v), why).map_err(|e| e.msg.trim_start_matches(": ").to_string())?;
    if ex.alts.is_empty() {
        return Err("an empty set of values makes no packets".into());
    }
    Ok(Some(ex.alts))
}

/// A value as a literal without a position.
fn node_of(v: &Value) -> Node {
    let lit = match v {
        Value::None => Lit::None,
        Value::Bool(b) => Lit::Bool(*b),
        Value::Int(i) => Lit::Int(*i),
        Value::Str(s) => Lit::Str(s.clone()),
        Value::Bytes(b) => Lit::Bytes(b.clone()),
        Value::List(items) => Lit::List(items.iter().map(node_of).collect()),
        Value::Tuple(items) => Lit::Tuple(items.iter().map(node_of).collect()),
    };
    Node::new(Pos::START, lit)
}

/// `(lo, hi)` or `(lo, hi, step)` of integers.
fn int_range(items: &[Node]) -> Option<(i64, i64, i64)> {
    let int = |n: &Node| match n.lit {
        Lit::Int(i) => Some(i),
        _ => None,
    };
    match items {
        [a, b] => Some((int(a)?, int(b)?, 1)),
        [a, b, c] => Some((int(a)?, int(b)?, int(c)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{parse_expr, parse_expr_set};

    fn err(src: &str) -> String {
        parse_expr_set(src).unwrap_err().to_string()
    }

    fn field(src: &str, layer: usize, name: &str) -> Vec<Value> {
        parse_expr(src).unwrap().iter().map(|p| p.layers[layer].get(name).unwrap()).collect()
    }

    fn ints(v: &[i64]) -> Vec<Value> {
        v.iter().map(|&i| Value::Int(i)).collect()
    }

    fn strs(v: &[&str]) -> Vec<Value> {
        v.iter().map(|s| Value::Str(s.to_string())).collect()
    }

    #[test]
    fn values_that_fit_are_set() {
        let p = parse_expr("IP(ttl=3, dst='10.0.0.1', flags='DF', proto='tcp')/TCP(flags='SA', options=[('MSS', 1460), ('NOP', None)])").unwrap();
        assert_eq!(p.len(), 1);
        let (ip, tcp) = (&p[0].layers[0], &p[0].layers[1]);
        assert_eq!(ip.get("ttl"), Some(Value::Int(3)));
        assert_eq!(ip.get("dst"), Some(Value::Str("10.0.0.1".into())));
        assert_eq!(ip.get("flags"), Some(Value::Int(2)));
        assert_eq!(ip.get("proto"), Some(Value::Int(6)));
        assert_eq!(tcp.get("flags"), Some(Value::Int(0x12)));
        assert_eq!(tcp.get("options").unwrap().repr(), "[('MSS', 1460), ('NOP', None)]");
    }

    #[test]
    fn short_macs_in_a_set_are_padded() {
        // scapy 2.8: Ether(src=["0x1", "0x2"]) makes two packets, src 01:00:.. and 02:00:..
        assert_eq!(field("Ether(src=['0x1', '0x2:0x3'])", 0, "src"), strs(&["01:00:00:00:00:00", "02:03:00:00:00:00"]));
        let alts = alternatives(LayerKind::Ether, "dst", &Value::List(strs(&["0x1", "02:00:00:00:00:09"])), 10).unwrap();
        assert_eq!(alts, Some(strs(&["01:00:00:00:00:00", "02:00:00:00:00:09"])));
        assert!(err("Ether(src=['0x1', 'zz'])").contains("'zz' is not a MAC address"), "{}", err("Ether(src=['0x1', 'zz'])"));
    }

    fn built_hex(src: &str) -> String {
        let p = parse_expr(src).unwrap();
        assert_eq!(p.len(), 1, "{src}");
        crate::field::hex(&p[0].build())
    }

    #[test]
    fn scapy_spellings_build_scapys_bytes() {
        // scapy 2.8: bytes(Ether(src='0x1',dst='0x2')/IP(src='10.0.0.1',dst='10.0.0.2')).hex()
        assert_eq!(
            built_hex("Ether(src='0x1', dst='0x2')/IP(src='10.0.0.1', dst='10.0.0.2')"),
            "02000000000001000000000008004500001400010000400066e70a0000010a000002"
        );
        // bytes(Ether(src='0x1:0x2',dst='01:02')).hex()
        assert_eq!(built_hex("Ether(src='0x1:0x2', dst='01:02')"), "0102000000000102000000009000");
        // bytes(IP(src='10.0.0.1',dst='10.0.0.2')/UDP()/(b'\x00'*20)).hex()
        assert_eq!(
            built_hex("IP(src='10.0.0.1', dst='10.0.0.2')/UDP()/(b'\\x00'*20)"),
            "4500003000010000401166ba0a0000010a00000200350035001ceb490000000000000000000000000000000000000000"
        );
        // bytes(IP(src='10.0.0.1',dst='10.0.0.2')/UDP()/(3*'x')).hex()
        assert_eq!(
            built_hex("IP(src='10.0.0.1', dst='10.0.0.2')/UDP()/(3*'x')"),
            "4500001f00010000401166cb0a0000010a00000200350035000bfaf2787878"
        );
        // A str as bytes is UTF-8, in options and payloads alike (scapy's bytes_encode):
        // bytes(IP(src='10.0.0.1',dst='10.0.0.2')/TCP(options=[(0xb7,'\x01\x04\x00\x00')])/Raw(load='\xe9')).hex()
        assert_eq!(
            built_hex("IP(src='10.0.0.1', dst='10.0.0.2')/TCP(options=[(0xb7, '\\x01\\x04\\x00\\x00')])/Raw(load='\\xe9')"),
            "4500003200010000400666c30a0000010a00000200140050000000000000000070022000dfbd0000b706010400000000c3a9"
        );
        // bytes(IP(src='10.0.0.1',dst='10.0.0.2')/TCP(options=[('NOP',None),(0xb7,'\u20ac')])/'\u20ac').hex()
        assert_eq!(
            built_hex("IP(src='10.0.0.1', dst='10.0.0.2')/TCP(options=[('NOP', None), (0xb7, '\\u20ac')])/'\\u20ac'"),
            "4500003300010000400666c20a0000010a0000020014005000000000000000007002200042a8000001b705e282ac0000e282ac"
        );
        assert_eq!(
            err("TCP(options=[(0xb7, 3)])"),
            "1:13: TCP field 'options': option kind 183 takes bytes, found an integer"
        );
    }

    #[test]
    fn lists_ranges_and_networks_expand() {
        assert_eq!(field("IP(ttl=[1, 5, 9])", 0, "ttl"), ints(&[1, 5, 9]));
        assert_eq!(field("IP(ttl=(1, 4))", 0, "ttl"), ints(&[1, 2, 3, 4]));
        assert_eq!(field("IP(ttl=(1, 5, 2))", 0, "ttl"), ints(&[1, 3, 5]));
        assert_eq!(field("IP(ttl=(5, 1, -2))", 0, "ttl"), ints(&[5, 3]));
        assert_eq!(field("IP(ttl=(3, 3))", 0, "ttl"), ints(&[3]));
        assert_eq!(field("IP(ttl=[1, (5, 7)])", 0, "ttl"), ints(&[1, 5, 6, 7]));
        assert_eq!(field("IP(dst='10.0.0.1/30')", 0, "dst"), strs(&["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]));
        assert_eq!(field("IP(dst='10.0.0.0/32')", 0, "dst"), strs(&["10.0.0.0"]));
        assert_eq!(field("IP(dst=['10.0.0.0/31', '1.1.1.1'])", 0, "dst"), strs(&["10.0.0.0", "10.0.0.1", "1.1.1.1"]));
        assert_eq!(field("IP(dst=('1.1.1.1', '1.1.1.2'))", 0, "dst"), strs(&["1.1.1.1", "1.1.1.2"]));
        assert_eq!(field("IPv6(dst='2001:db8::5/127')", 0, "dst"), strs(&["2001:db8::4", "2001:db8::5"]));
        assert_eq!(field("TCP(flags=['S', 'SA'])", 0, "flags"), ints(&[2, 0x12]));
        assert_eq!(field("ARP(op=['who-has', 'is-at'])", 0, "op"), ints(&[1, 2]));
        // A string field takes the network as text.
        assert_eq!(field("Raw(load='10.0.0.0/30')", 0, "load"), vec![Value::Bytes(b"10.0.0.0/30".to_vec())]);
    }

    #[test]
    fn product_order_is_scapys() {
        // scapy: [p.summary() for p in IP(dst=['1.1.1.1','2.2.2.2'], ttl=(1,2))]
        let p = parse_expr("IP(dst=['1.1.1.1', '2.2.2.2'], ttl=(1, 2))").unwrap();
        let got: Vec<(Value, Value)> = p.iter().map(|p| (p.layers[0].get("dst").unwrap(), p.layers[0].get("ttl").unwrap())).collect();
        let want = [("1.1.1.1", 1), ("1.1.1.1", 2), ("2.2.2.2", 1), ("2.2.2.2", 2)];
        assert_eq!(got, want.iter().map(|(d, t)| (Value::Str(d.to_string()), Value::Int(*t))).collect::<Vec<_>>());
        // Keyword order does not matter: declaration order does (scapy gives the same).
        let q = parse_expr("IP(ttl=(1, 2), dst=['1.1.1.1', '2.2.2.2'])").unwrap();
        assert_eq!(p, q);
        // scapy: [(p.ttl, p.id, p.tos) for p in IP(tos=[0,1], ttl=[3,4], id=[1,2])]
        let p = parse_expr("IP(tos=[0, 1], ttl=[3, 4], id=[1, 2])").unwrap();
        let got: Vec<[Value; 3]> = p
            .iter()
            .map(|p| ["ttl", "id", "tos"].map(|f| p.layers[0].get(f).unwrap()))
            .collect();
        let want = [(3, 1, 0), (3, 1, 1), (3, 2, 0), (3, 2, 1), (4, 1, 0), (4, 1, 1), (4, 2, 0), (4, 2, 1)];
        assert_eq!(got, want.iter().map(|(a, b, c)| [Value::Int(*a), Value::Int(*b), Value::Int(*c)]).collect::<Vec<_>>());
        // The outer layer varies slowest.
        let p = parse_expr("IP(dst=['1.1.1.1', '2.2.2.2'])/TCP(dport=[1, 2])").unwrap();
        let got: Vec<(Value, Value)> = p.iter().map(|p| (p.layers[0].get("dst").unwrap(), p.layers[1].get("dport").unwrap())).collect();
        assert_eq!(got[1], (Value::Str("1.1.1.1".into()), Value::Int(2)));
        assert_eq!(got[2], (Value::Str("2.2.2.2".into()), Value::Int(1)));
    }

    #[test]
    fn packet_sets_are_lazy_and_indexed() {
        let set = parse_expr_set("IP(dst='10.0.0.0/24')/TCP(dport=(1, 1000))").unwrap();
        assert_eq!(set.len(), 256_000);
        let p = set.get(1001).unwrap();
        assert_eq!(p.layers[0].get("dst"), Some(Value::Str("10.0.0.1".into())));
        assert_eq!(p.layers[1].get("dport"), Some(Value::Int(2)));
        assert_eq!(set.get(256_000), None);
        assert_eq!(set.iter().nth(1001), Some(p));
        assert!(!set.is_empty());
    }

    #[test]
    fn the_limit_is_a_million() {
        assert_eq!(parse_expr_set("IP(dst='10.0.0.0/13')/TCP(dport=(1, 1))").unwrap().len(), 1 << 19);
        assert_eq!(parse_expr_set("IP(dst='10.0.0.0/24', ttl=(1, 255))/TCP(dport=(1, 15))").unwrap().len(), 979_200);
        assert_eq!(
            err("IP(dst='10.0.0.0/8')"),
            "1:8: too many packets: the network 10.0.0.0/8 (16777216 addresses) makes more than 1000000 in all (the limit)"
        );
        assert_eq!(
            err("IP(dst='10.0.0.0/24')/TCP(dport=(1, 65535))"),
            "1:33: too many packets: the range (1, 65535) makes more than 1000000 in all (the limit)"
        );
        assert_eq!(
            err("IPv6(dst='::/0')"),
            "1:10: too many packets: the network ::/0 (2^128 addresses) makes more than 1000000 in all (the limit)"
        );
        let list: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
        let src = format!("TCP(sport=(1, 1000), dport=[{}])", list.join(","));
        assert!(err(&src).contains("too many packets: this set of values makes more than 1000000"), "{}", err(&src));
    }

    #[test]
    fn bad_values_name_layer_field_and_position() {
        assert_eq!(err("IP(ttl=300)"), "1:8: IP field 'ttl': 300 is out of range 0..=255");
        assert_eq!(err("IP(src='172.17.2.1', ttl=300)"), "1:26: IP field 'ttl': 300 is out of range 0..=255");
        assert_eq!(err("IP(ihl=16)"), "1:8: IP field 'ihl': 16 does not fit in 4 bits (0..=15)");
        assert_eq!(err("IP(dst='10.0.0')"), "1:8: IP field 'dst': '10.0.0' is not an IPv4 address");
        assert_eq!(err("IP(tll=3)"), "1:4: IP has no field 'tll'; did you mean 'ttl'?");
        assert_eq!(err("IP(ttl=1, ttl=2)"), "1:11: keyword argument 'ttl' repeated");
        assert_eq!(err("TCP(flags='SX')"), "1:11: TCP field 'flags': unknown flag 'X' in 'SX' (flags: F S R P A U E C N)");
        assert_eq!(err("IP(ttl=[1, 300])"), "1:12: IP field 'ttl': 300 is out of range 0..=255");
        assert_eq!(err("IP(ttl=(250, 300))"), "1:8: IP field 'ttl': 256 is out of range 0..=255 (in the range (250, 300))");
        assert_eq!(err("IP(ttl=(3, 1))"), "1:8: IP field 'ttl': the range (3, 1) is empty (it is (low, high))");
        assert_eq!(err("IP(ttl=(1, 3, 0))"), "1:8: IP field 'ttl': the step of the range (1, 3, 0) is 0");
        assert_eq!(err("IP(ttl=[])"), "1:8: IP field 'ttl': an empty set of values makes no packets");
        assert_eq!(err("IPv6(dst='10.0.0.0/31')"), "1:10: IPv6 field 'dst': '10.0.0.0' is not an IPv6 address (in the network 10.0.0.0/31)");
        assert_eq!(err("IP(dst='10.0.0.0/33')"), "1:8: IP field 'dst': '10.0.0.0/33': the prefix length must be 0 to 32");
        assert_eq!(err("IP(dst='foo/24')"), "1:8: IP field 'dst': 'foo/24' is not an IPv4 address");
        assert_eq!(err("Ether(dst='02:00:00:00:00:01/4')"), "1:11: Ether field 'dst': '02:00:00:00:00:01/4' is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)");
        // A list field is never a set of values: its own error is the one that helps.
        assert_eq!(
            err("TCP(options=[('MSS', 99999)])"),
            "1:13: TCP field 'options': expected an integer up to 65535, found 99999"
        );
        assert_eq!(
            err("TCP(options=[[('NOP', None)], [('EOL', None)]])"),
            "1:13: TCP field 'options': a TCP option is a (name, value) pair, found [('NOP', None)]"
        );
        // Sets go one level deep, as in scapy.
        assert_eq!(err("IP(ttl=[1, [2, 3]])"), "1:12: IP field 'ttl': expected an integer, found a list");
        assert_eq!(err("IP(ttl=[(1, 2, 3, 4)])"), "1:9: IP field 'ttl': expected an integer, found a tuple");
        assert_eq!(err("IP(ttl='x')"), "1:8: IP field 'ttl': expected an integer, found a string");
    }

    #[test]
    fn dissect_calls() {
        let bytes = (crate::layers::Ip::new().dst("10.0.0.2") / crate::layers::Udp::new()).build();
        let lit: String = bytes.iter().map(|b| format!("\\x{b:02x}")).collect();
        let p = parse_expr(&format!("Ether()/IP(b'{lit}', ttl=[1, 2])/b'x'")).unwrap();
        assert_eq!(p.len(), 2);
        let kinds: Vec<LayerKind> = p[1].layers.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, [LayerKind::Ether, LayerKind::Ip, LayerKind::Udp, LayerKind::Raw]);
        assert_eq!(p[1].layers[1].get("ttl"), Some(Value::Int(2)));
        assert_eq!(p[1].layers[1].get("dst"), Some(Value::Str("10.0.0.2".into())));
        // Empty bytes: the layer with its defaults, as scapy's IP(b'').
        assert_eq!(parse_expr("IP(b'')").unwrap()[0], Packet::from(LayerKind::Ip.new_layer()));
        assert_eq!(
            err("IP(b'\\x45', ttl=1)"),
            "1:1: the bytes given to IP are too short to dissect as IP, so its fields cannot be set"
        );
    }

    #[test]
    fn raw_truncated_mark() {
        let p = parse_expr("Raw(load=b'\\x45', truncated='IP')").unwrap();
        let Layer::Raw(r) = &p[0].layers[0] else { panic!() };
        assert_eq!(r.truncated, Some("IP"));
        assert_eq!(err("Raw(truncated='Nope')"), "1:15: Raw field 'truncated': 'Nope' is not a layer name");
        assert_eq!(err("Raw(truncated=3)"), "1:15: Raw field 'truncated': expected a layer name, such as \"TCP\"");
    }

    #[test]
    fn budget_zero_is_an_error() {
        let layers = super::super::expr::parse("IP()").unwrap();
        assert_eq!(
            build(&layers, 0).unwrap_err().to_string(),
            "1:1: too many packets: this packet makes more than 1000000 in all (the limit)"
        );
    }
}
