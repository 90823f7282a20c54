//! Literal values, in either dialect. They differ little: Python has `True` and groups
//! with `(x)`, RON has `true`, `Some(x)`, ranges `a..=b`, and `(x)` is a one-element tuple.

use super::lexer::{Depth, Dialect, Tok, Token, Tokens};
use super::spec::{Lit, Node};
use super::{Pos, TextError};

/// Parses one value.
pub(crate) fn value(t: &mut Tokens, depth: &mut Depth, d: Dialect) -> Result<Node, TextError> {
    let Token { tok, pos } = t.next();
    let lit = match tok {
        Tok::Int(m) => Lit::Int(signed(pos, m, false)?),
        Tok::Punct(sign @ ("-" | "+")) => match t.next() {
            Token { tok: Tok::Int(m), .. } => Lit::Int(signed(pos, m, sign == "-")?),
            other => {
                let msg = format!("expected an integer after '{sign}', found {}", other.tok.describe());
                return Err(TextError::at(other.pos, msg));
            }
        },
        Tok::Str(s) => match d {
            Dialect::Python => adjacent_literals(t, Lit::Str(s))?,
            Dialect::Ron => Lit::Str(s),
        },
        Tok::Bytes(b) => match d {
            Dialect::Python => adjacent_literals(t, Lit::Bytes(b))?,
            Dialect::Ron => Lit::Bytes(b),
        },
        Tok::Ident(name) => match (d, name.as_str()) {
            (_, "None") => Lit::None,
            (Dialect::Python, "True") | (Dialect::Ron, "true" | "True") => Lit::Bool(true),
            (Dialect::Python, "False") | (Dialect::Ron, "false" | "False") => Lit::Bool(false),
            (Dialect::Ron, "Some") => {
                t.expect("(", "'(' after Some")?;
                depth.enter(pos)?;
                let inner = value(t, depth, d)?;
                t.expect(")", "')' to close Some(")?;
                depth.leave();
                return Ok(inner);
            }
            _ => return Err(unknown_name(t, pos, &name, d)),
        },
        Tok::Punct("[") => Lit::List(sequence(t, depth, d, pos, "]")?),
        Tok::Punct("(") => match d {
            Dialect::Ron => Lit::Tuple(sequence(t, depth, d, pos, ")")?),
            Dialect::Python => return python_parens(t, depth, pos),
        },
        other => {
            let msg = format!("expected a value, found {}", other.describe());
            return Err(TextError::at(pos, msg));
        }
    };
    let node = Node::new(pos, lit);
    if d == Dialect::Ron && (t.is("..=") || t.is("..")) {
        return ron_range(t, node);
    }
    Ok(node)
}

/// An integer literal's magnitude with its sign, as an i64.
fn signed(pos: Pos, magnitude: u64, negative: bool) -> Result<i64, TextError> {
    let v = if negative { -(magnitude as i128) } else { magnitude as i128 };
    i64::try_from(v).map_err(|_| TextError::at(pos, format!("integer {v} does not fit in a signed 64-bit value")))
}

/// Python joins adjacent literals: `'ab' 'cd'` is `'abcd'`.
fn adjacent_literals(t: &mut Tokens, mut lit: Lit) -> Result<Lit, TextError> {
    loop {
        match (&mut lit, &t.peek().tok) {
            (Lit::Str(a), Tok::Str(b)) => a.push_str(b),
            (Lit::Bytes(a), Tok::Bytes(b)) => a.extend_from_slice(b),
            (_, Tok::Str(_) | Tok::Bytes(_)) => {
                return Err(TextError::at(t.peek().pos, "cannot join bytes and str literals"));
            }
            _ => return Ok(lit),
        }
        t.next();
    }
}

/// Items up to `close`, comma separated, a trailing comma allowed.
fn sequence(t: &mut Tokens, depth: &mut Depth, d: Dialect, open: Pos, close: &str) -> Result<Vec<Node>, TextError> {
    depth.enter(open)?;
    let mut items = Vec::new();
    loop {
        if t.eat(close) {
            break;
        }
        items.push(value(t, depth, d)?);
        if t.eat(",") {
            continue;
        }
        t.expect(close, &format!("',' or '{close}'"))?;
        break;
    }
    depth.leave();
    Ok(items)
}

/// `()` is the empty tuple, `(x)` is x, `(x,)` and `(x, y)` are tuples.
fn python_parens(t: &mut Tokens, depth: &mut Depth, open: Pos) -> Result<Node, TextError> {
    depth.enter(open)?;
    if t.eat(")") {
        depth.leave();
        return Ok(Node::new(open, Lit::Tuple(Vec::new())));
    }
    let first = value(t, depth, Dialect::Python)?;
    if t.eat(")") {
        depth.leave();
        return Ok(first);
    }
    t.expect(",", "',' or ')'")?;
    let mut items = vec![first];
    items.extend(sequence(t, depth, Dialect::Python, open, ")")?);
    depth.leave();
    Ok(Node::new(open, Lit::Tuple(items)))
}

/// `lo..=hi` and `lo..hi`: the packet-set range `(lo, hi)` (inclusive).
fn ron_range(t: &mut Tokens, lo: Node) -> Result<Node, TextError> {
    let op = if t.eat("..=") { "..=" } else { t.expect("..", "'..'")?; ".." };
    // The upper bound is an integer, not a value: no recursion, no chained ranges.
    let Token { tok, pos } = t.next();
    let hi = match tok {
        Tok::Int(m) => signed(pos, m, false)?,
        Tok::Punct(sign @ ("-" | "+")) => match t.next().tok {
            Tok::Int(m) => signed(pos, m, sign == "-")?,
            _ => return Err(TextError::at(pos, "a range takes integers: 1..=5")),
        },
        _ => return Err(TextError::at(pos, "a range takes integers: 1..=5")),
    };
    let Lit::Int(lo_int) = lo.lit else {
        return Err(TextError::at(lo.pos, "a range takes integers: 1..=5"));
    };
    let last = if op == "..=" { Some(hi) } else { hi.checked_sub(1) };
    match last {
        Some(last) if last >= lo_int => {
            Ok(Node::new(lo.pos, Lit::Tuple(vec![lo, Node::new(pos, Lit::Int(last))])))
        }
        _ => Err(TextError::at(lo.pos, format!("the range {lo_int}{op}{hi} is empty"))),
    }
}

fn unknown_name(t: &Tokens, pos: Pos, name: &str, d: Dialect) -> TextError {
    let (q, examples) = match d {
        Dialect::Python => ('\'', "3, 'text', b'\\x00', None, True, [..] or (..)"),
        Dialect::Ron => ('"', "3, \"text\", b\"\\x00\", None, true, [..] or (..)"),
    };
    let msg = if t.is("(") && crate::packet::LayerKind::from_name(name).is_some() {
        format!("{name}(...) is not a value: layers are joined with '/', as in IP()/{name}()")
    } else if t.is("(") {
        format!("{name}(...) is not a value: a value is a literal such as {examples}")
    } else {
        format!("unknown name '{name}': a value is a literal such as {examples}; strings take quotes: {q}{name}{q}")
    };
    TextError::at(pos, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lexer::tokenize;

    fn parse(src: &str, d: Dialect) -> Result<Node, TextError> {
        let mut t = Tokens::new(tokenize(src, d)?);
        let v = value(&mut t, &mut Depth::new(), d)?;
        if t.peek().tok != Tok::Eof {
            return Err(t.unexpected("the end"));
        }
        Ok(v)
    }

    fn py(src: &str) -> crate::field::Value {
        parse(src, Dialect::Python).unwrap().value()
    }

    fn ron(src: &str) -> crate::field::Value {
        parse(src, Dialect::Ron).unwrap().value()
    }

    fn py_err(src: &str) -> String {
        parse(src, Dialect::Python).unwrap_err().to_string()
    }

    fn ron_err(src: &str) -> String {
        parse(src, Dialect::Ron).unwrap_err().to_string()
    }

    use crate::field::Value::{self, *};

    fn int(i: i64) -> Value {
        Int(i)
    }

    fn st(s: &str) -> Value {
        Str(s.into())
    }

    #[test]
    fn python_scalars() {
        assert_eq!(py("3"), int(3));
        assert_eq!(py("-3"), int(-3));
        assert_eq!(py("- 3"), int(-3));
        assert_eq!(py("+0x10"), int(16));
        assert_eq!(py("-9223372036854775808"), int(i64::MIN));
        assert_eq!(py("9223372036854775807"), int(i64::MAX));
        assert_eq!(py("None"), None);
        assert_eq!(py("True"), Bool(true));
        assert_eq!(py("False"), Bool(false));
        assert_eq!(py("'a' \"b\" 'c'"), st("abc"));
        assert_eq!(py("b'a' b'\\x00'"), Bytes(vec![b'a', 0]));
    }

    #[test]
    fn python_containers() {
        assert_eq!(py("[]"), List(vec![]));
        assert_eq!(py("[1, 2,]"), List(vec![int(1), int(2)]));
        assert_eq!(py("()"), Tuple(vec![]));
        assert_eq!(py("(1)"), int(1));
        assert_eq!(py("((1))"), int(1));
        assert_eq!(py("(1,)"), Tuple(vec![int(1)]));
        assert_eq!(py("(1, 2)"), Tuple(vec![int(1), int(2)]));
        assert_eq!(py("(1, 2,)"), Tuple(vec![int(1), int(2)]));
        assert_eq!(
            py("[('MSS', 1460), ('NOP', None)]"),
            List(vec![Tuple(vec![st("MSS"), int(1460)]), Tuple(vec![st("NOP"), None])])
        );
        assert_eq!(py("[\n 1 ,\n\t2 ]"), List(vec![int(1), int(2)]));
    }

    #[test]
    fn python_errors() {
        assert_eq!(py_err("9223372036854775808"), "1:1: integer 9223372036854775808 does not fit in a signed 64-bit value");
        assert_eq!(py_err("-'a'"), "1:2: expected an integer after '-', found a string");
        assert_eq!(py_err("'a' b'b'"), "1:5: cannot join bytes and str literals");
        assert_eq!(py_err("true"), "1:1: unknown name 'true': a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..); strings take quotes: 'true'");
        assert_eq!(py_err("RandShort()"), "1:1: RandShort(...) is not a value: a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..)");
        assert_eq!(py_err("[1 2]"), "1:4: expected ',' or ']', found the integer 2");
        assert_eq!(py_err("(1 2)"), "1:4: expected ',' or ')', found the integer 2");
        assert_eq!(py_err("(1, 2"), "1:6: expected ',' or ')', found the end of the input");
        assert_eq!(py_err("[,]"), "1:2: expected a value, found ','");
        assert_eq!(py_err(""), "1:1: expected a value, found the end of the input");
        assert_eq!(py_err("Some(1)"), "1:1: Some(...) is not a value: a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..)");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        assert!(parse(&ok, Dialect::Python).is_ok());
        let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(parse(&deep, Dialect::Python).unwrap_err().to_string(), "1:65: nesting is deeper than 64 levels");
        let deep = "(".repeat(100_000);
        assert_eq!(parse(&deep, Dialect::Python).unwrap_err().to_string(), "1:65: nesting is deeper than 64 levels");
        let deep = "Some(".repeat(100_000);
        assert_eq!(parse(&deep, Dialect::Ron).unwrap_err().to_string(), "1:321: nesting is deeper than 64 levels");
    }

    #[test]
    fn ron_values() {
        assert_eq!(ron("true"), Bool(true));
        assert_eq!(ron("True"), Bool(true));
        assert_eq!(ron("false"), Bool(false));
        assert_eq!(ron("False"), Bool(false));
        assert_eq!(ron("None"), None);
        assert_eq!(ron("Some(3)"), int(3));
        assert_eq!(ron("Some( \"x\" )"), st("x"));
        assert_eq!(ron("(1)"), Tuple(vec![int(1)]));
        assert_eq!(ron("(1,)"), Tuple(vec![int(1)]));
        assert_eq!(ron("()"), Tuple(vec![]));
        assert_eq!(ron("[(\"MSS\", 1460), (\"NOP\", None),]"), List(vec![Tuple(vec![st("MSS"), int(1460)]), Tuple(vec![st("NOP"), None])]));
        assert_eq!(ron("1..=5"), Tuple(vec![int(1), int(5)]));
        assert_eq!(ron("1..6"), Tuple(vec![int(1), int(5)]));
        assert_eq!(ron("-2..=-1"), Tuple(vec![int(-2), int(-1)]));
        assert_eq!(ron("b'A'"), int(65));
        assert_eq!(ron("'x'"), st("x"));
        assert_eq!(ron("\"a\""), st("a"));
    }

    #[test]
    fn ron_errors() {
        assert_eq!(ron_err("\"a\" \"b\""), "1:5: expected the end, found a string");
        assert_eq!(ron_err("S"), "1:1: unknown name 'S': a value is a literal such as 3, \"text\", b\"\\x00\", None, true, [..] or (..); strings take quotes: \"S\"");
        assert_eq!(ron_err("Some 3"), "1:6: expected '(' after Some, found the integer 3");
        assert_eq!(ron_err("Some(3"), "1:7: expected ')' to close Some(, found the end of the input");
        assert_eq!(ron_err("5..=1"), "1:1: the range 5..=1 is empty");
        assert_eq!(ron_err("5..5"), "1:1: the range 5..5 is empty");
        assert_eq!(ron_err("\"a\"..=3"), "1:1: a range takes integers: 1..=5");
        assert_eq!(ron_err("1..=\"b\""), "1:5: a range takes integers: 1..=5");
        assert_eq!(ron_err("1..=2..=3"), "1:6: expected the end, found '..='");
        assert_eq!(ron_err("{}"), "1:1: expected a value, found '{'");
    }
}
