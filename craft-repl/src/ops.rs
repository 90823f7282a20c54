//! Operators: arithmetic, `/` between layers, comparisons, `in`.

use craft::text::python::{BinOp, CmpOp};
use craft::text::Pos;

use crate::interp::{err, Interp, R};
use crate::packets;
use crate::value::{FlagVal, Val};

/// `x op y`.
pub fn binary(op: BinOp, x: Val, y: Val, pos: Pos) -> R<Val> {
    // scapy's '/' stacks layers; str and bytes become Raw.
    if op == BinOp::Div && (matches!(x, Val::Packet(_) | Val::Class(_)) || matches!(y, Val::Packet(_) | Val::Class(_))) {
        return packets::stack(x, y, pos);
    }
    // Flag values keep their kind through bit operations: flags | 0x10.
    match (&x, &y) {
        (Val::Flags(f), other) | (other, Val::Flags(f))
            if matches!(op, BinOp::BitOr | BinOp::BitAnd | BinOp::BitXor) && other.as_int().is_some() =>
        {
            let (a, b) = (f.bits as i128, other.as_int().unwrap_or(0));
            let bits = match op {
                BinOp::BitOr => a | b,
                BinOp::BitAnd => a & b,
                _ => a ^ b,
            };
            return Ok(Val::Flags(FlagVal { bits: bits as u64, letters: f.letters }));
        }
        _ => {}
    }
    match (&x, &y) {
        (Val::Float(_), _) | (_, Val::Float(_)) if x.as_float().is_some() && y.as_float().is_some() => {
            float_op(op, x.as_float().unwrap_or(0.0), y.as_float().unwrap_or(0.0), pos)
        }
        _ if x.as_int().is_some() && y.as_int().is_some() => {
            int_op(op, x.as_int().unwrap_or(0), y.as_int().unwrap_or(0), pos)
        }
        (Val::Str(a), Val::Str(b)) if op == BinOp::Add => Ok(Val::str(format!("{a}{b}"))),
        (Val::Bytes(a), Val::Bytes(b)) if op == BinOp::Add => Ok(Val::bytes([&a[..], &b[..]].concat())),
        (Val::List(a), Val::List(b)) if op == BinOp::Add => {
            Ok(Val::list(a.borrow().iter().chain(b.borrow().iter()).cloned().collect()))
        }
        (Val::Tuple(a), Val::Tuple(b)) if op == BinOp::Add => Ok(Val::tuple(a.iter().chain(b.iter()).cloned().collect())),
        (Val::Str(s), n) | (n, Val::Str(s)) if op == BinOp::Mul && n.as_int().is_some() => {
            Ok(Val::str(s.repeat(count(n, s.len(), pos)?)))
        }
        (Val::Bytes(b), n) | (n, Val::Bytes(b)) if op == BinOp::Mul && n.as_int().is_some() => {
            Ok(Val::bytes(b.repeat(count(n, b.len(), pos)?)))
        }
        (Val::List(l), n) | (n, Val::List(l)) if op == BinOp::Mul && n.as_int().is_some() => {
            let items = l.borrow();
            Ok(Val::list((0..count(n, items.len(), pos)?).flat_map(|_| items.iter().cloned()).collect()))
        }
        (Val::Str(fmt), args) if op == BinOp::Mod => match crate::format::percent(fmt, args) {
            Ok(s) => Ok(Val::str(s)),
            Err(m) => err(pos, m),
        },
        (Val::Packets(a), Val::Packets(b)) if op == BinOp::Add => {
            let items = a.items.borrow().iter().chain(b.items.borrow().iter()).cloned().collect();
            Ok(Interp::packet_list(a.name, items))
        }
        _ => err(
            pos,
            format!("unsupported operand types for {}: '{}' and '{}'", op.symbol(), x.type_name(), y.type_name()),
        ),
    }
}

/// A repeat count for `unit` bytes or items, by craft's shared rule
/// ([`craft::text::repeat_count`]): negative counts give nothing, as in Python.
fn count(n: &Val, unit: usize, pos: Pos) -> R<usize> {
    craft::text::repeat_count(n.as_int().unwrap_or(0), unit).or_else(|m| err(pos, m))
}

fn int_op(op: BinOp, a: i128, b: i128, pos: Pos) -> R<Val> {
    let overflow = || err(pos, "integer overflow: craft-repl's ints hold 128 bits");
    let v = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div => {
            if b == 0 {
                return err(pos, "division by zero");
            }
            return Ok(Val::Float(a as f64 / b as f64));
        }
        BinOp::FloorDiv | BinOp::Mod if b == 0 => return err(pos, "integer division or modulo by zero"),
        // Python's floor division and modulo: rounded toward minus infinity.
        BinOp::FloorDiv => match (a.checked_div(b), a.checked_rem(b)) {
            (Some(q), Some(r)) if r != 0 && ((r < 0) != (b < 0)) => Some(q - 1),
            (q, _) => q,
        },
        BinOp::Mod => a.checked_rem(b).map(|r| if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r }),
        BinOp::Pow => {
            if b < 0 {
                return Ok(Val::Float((a as f64).powf(b as f64)));
            }
            u32::try_from(b).ok().and_then(|e| a.checked_pow(e))
        }
        BinOp::BitOr => Some(a | b),
        BinOp::BitXor => Some(a ^ b),
        BinOp::BitAnd => Some(a & b),
        BinOp::Shl => u32::try_from(b).ok().filter(|s| *s < 127).and_then(|s| a.checked_mul(1i128 << s)),
        BinOp::Shr => {
            if b < 0 {
                return err(pos, "negative shift count");
            }
            Some(a >> b.min(127))
        }
    };
    match v {
        Some(v) => Ok(Val::Int(v)),
        None => overflow(),
    }
}

fn float_op(op: BinOp, a: f64, b: f64, pos: Pos) -> R<Val> {
    Ok(Val::Float(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div | BinOp::FloorDiv | BinOp::Mod if b == 0.0 => return err(pos, "float division by zero"),
        BinOp::Div => a / b,
        BinOp::FloorDiv => (a / b).floor(),
        BinOp::Mod => a - b * (a / b).floor(),
        BinOp::Pow => a.powf(b),
        _ => return err(pos, format!("unsupported operand types for {}: 'float'", op.symbol())),
    }))
}

/// `a op b` for comparisons and membership.
pub fn compare(me: &Interp, op: CmpOp, a: &Val, b: &Val, pos: Pos) -> R<bool> {
    Ok(match op {
        CmpOp::Eq => a.py_eq(b),
        CmpOp::Ne => !a.py_eq(b),
        CmpOp::Is => same(a, b),
        CmpOp::IsNot => !same(a, b),
        CmpOp::In => contains(me, b, a, pos)?,
        CmpOp::NotIn => !contains(me, b, a, pos)?,
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let ord = order(a, b).ok_or(()).or_else(|_| {
                err(pos, format!("'{}' not supported between '{}' and '{}'", cmp_symbol(op), a.type_name(), b.type_name()))
            })?;
            match op {
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
    })
}

fn cmp_symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        _ => ">=",
    }
}

/// `is`: identity for containers and packets, equality for immutable scalars.
fn same(a: &Val, b: &Val) -> bool {
    use std::rc::Rc;
    match (a, b) {
        (Val::None, Val::None) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::List(x), Val::List(y)) => Rc::ptr_eq(x, y),
        (Val::Dict(x), Val::Dict(y)) => Rc::ptr_eq(x, y),
        (Val::Packet(x), Val::Packet(y)) => Rc::ptr_eq(&x.pkt, &y.pkt) && x.start == y.start,
        (Val::Int(_) | Val::Str(_) | Val::Class(_) | Val::Type(_) | Val::Builtin(_), _) => a.py_eq(b),
        _ => false,
    }
}

/// Python's ordering, where it is defined.
pub fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bytes(x), Val::Bytes(y)) => Some(x.cmp(y)),
        (Val::Float(_), _) | (_, Val::Float(_)) => a.as_float()?.partial_cmp(&b.as_float()?),
        (Val::List(x), Val::List(y)) => seq_order(&x.borrow(), &y.borrow()),
        (Val::Tuple(x), Val::Tuple(y)) => seq_order(x, y),
        _ => Some(a.as_int()?.cmp(&b.as_int()?)),
    }
}

fn seq_order(a: &[Val], b: &[Val]) -> Option<std::cmp::Ordering> {
    for (x, y) in a.iter().zip(b) {
        match order(x, y)? {
            std::cmp::Ordering::Equal => {}
            o => return Some(o),
        }
    }
    Some(a.len().cmp(&b.len()))
}

/// `needle in haystack`.
fn contains(me: &Interp, haystack: &Val, needle: &Val, pos: Pos) -> R<bool> {
    Ok(match (haystack, needle) {
        (Val::Packet(p), Val::Class(k)) => packets::find_layer(p, *k).is_some(),
        (Val::Str(h), Val::Str(n)) => h.contains(&**n),
        (Val::Bytes(h), Val::Bytes(n)) => n.is_empty() || h.windows(n.len()).any(|w| w == &n[..]),
        (Val::Bytes(h), n) if n.as_int().is_some() => h.iter().any(|&b| b as i128 == n.as_int().unwrap_or(-1)),
        (Val::Dict(d), n) => d.borrow().iter().any(|(k, _)| k.py_eq(n)),
        (Val::Range(a, b, c), n) => {
            let Some(i) = n.as_int() else { return Ok(false) };
            let inside = if *c > 0 { *a <= i && i < *b } else { *b < i && i <= *a };
            inside && (i - a) % c == 0
        }
        (Val::Flags(f), Val::Str(s)) => craft::field::parse_flags(s, f.letters).is_ok_and(|b| b & f.bits == b && b != 0),
        (h, n) => me.iter_val(h, pos)?.iter().any(|x| x.py_eq(n)),
    })
}
