//! What the expression and RON parsers produce: layers with their field values as
//! written, each with its position, before values are checked and packet sets expanded.

use crate::field::Value;
use crate::layer::closest;
use crate::packet::LayerKind;

use super::{Pos, TextError};

/// A literal value with its position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub pos: Pos,
    pub lit: Lit,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Node>),
    Tuple(Vec<Node>),
}

impl Node {
    pub fn new(pos: Pos, lit: Lit) -> Node {
        Node { pos, lit }
    }

    /// The dynamic value, as `Layer::set` takes it.
    pub fn value(&self) -> Value {
        match &self.lit {
            Lit::None => Value::None,
            Lit::Bool(b) => Value::Bool(*b),
            Lit::Int(i) => Value::Int(*i),
            Lit::Str(s) => Value::Str(s.clone()),
            Lit::Bytes(b) => Value::Bytes(b.clone()),
            Lit::List(items) => Value::List(items.iter().map(Node::value).collect()),
            Lit::Tuple(items) => Value::Tuple(items.iter().map(Node::value).collect()),
        }
    }
}

/// `name=value` in an expression, `name: value` in RON.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldArg {
    pub name: String,
    pub name_pos: Pos,
    pub value: Node,
}

/// One layer as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LayerSpec {
    /// `IP(ttl=3)`, or `IP(b'...', ttl=3)`: the bytes are dissected as that layer first.
    Call { kind: LayerKind, pos: Pos, dissect: Option<Vec<u8>>, fields: Vec<FieldArg> },
    /// A bytes or string literal standing for `Raw(load=...)`.
    Raw(Vec<u8>),
}

/// The layer kind for a scapy class name, or an error with a hint.
pub(crate) fn layer_kind(name: &str, pos: Pos) -> Result<LayerKind, TextError> {
    if let Some(kind) = LayerKind::from_name(name) {
        return Ok(kind);
    }
    let names = || LayerKind::ALL.iter().map(|k| k.name());
    let msg = match closest(name, names()) {
        Some(c) => format!("unknown layer '{name}'; did you mean '{c}'?"),
        None => format!("unknown layer '{name}' (layers: {})", names().collect::<Vec<_>>().join(", ")),
    };
    Err(TextError::at(pos, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_resolve_with_hints() {
        assert_eq!(layer_kind("IP", Pos::START).unwrap(), LayerKind::Ip);
        assert_eq!(layer_kind("IPerror", Pos::START).unwrap(), LayerKind::Ip);
        let e = layer_kind("IPP", Pos { line: 2, col: 5 }).unwrap_err();
        assert_eq!(e.to_string(), "2:5: unknown layer 'IPP'; did you mean 'IP'?");
        let e = layer_kind("Zzzzzzzzzzzzzzz", Pos::START).unwrap_err();
        assert!(e.msg.starts_with("unknown layer 'Zzzzzzzzzzzzzzz' (layers: Ether, "), "{}", e.msg);
    }

    #[test]
    fn nodes_become_values() {
        let p = Pos::START;
        let n = Node::new(
            p,
            Lit::List(vec![
                Node::new(p, Lit::Tuple(vec![Node::new(p, Lit::Str("MSS".into())), Node::new(p, Lit::Int(1460))])),
                Node::new(p, Lit::None),
                Node::new(p, Lit::Bool(true)),
                Node::new(p, Lit::Bytes(vec![1])),
            ]),
        );
        assert_eq!(
            n.value(),
            Value::List(vec![
                Value::Tuple(vec![Value::Str("MSS".into()), Value::Int(1460)]),
                Value::None,
                Value::Bool(true),
                Value::Bytes(vec![1]),
            ])
        );
    }
}
