//! RON's literal values: `true`, `Some(x)`, ranges `a..=b`, `(x)` a one-element tuple.
//! (Python's are read by [`super::python`].)

use super::lexer::{Depth, Tok, Token, Tokens};
use super::spec::{Lit, Node};
use super::{Pos, TextError};

/// Parses one value.
pub(crate) fn value(t: &mut Tokens, depth: &mut Depth) -> Result<Node, TextError> {
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
        Tok::Str(s) => Lit::Str(s),
        Tok::Bytes(b) => Lit::Bytes(b),
        Tok::Ident(name) => match name.as_str() {
            "None" => Lit::None,
            "true" | "True" => Lit::Bool(true),
            "false" | "False" => Lit::Bool(false),
            "Some" => {
                t.expect("(", "'(' after Some")?;
                depth.enter(pos)?;
                let inner = value(t, depth)?;
                t.expect(")", "')' to close Some(")?;
                depth.leave();
                return Ok(inner);
            }
            _ => return Err(unknown_name(t, pos, &name)),
        },
        Tok::Punct("[") => Lit::List(sequence(t, depth, pos, "]")?),
        Tok::Punct("(") => Lit::Tuple(sequence(t, depth, pos, ")")?),
        other => {
            let msg = format!("expected a value, found {}", other.describe());
            return Err(TextError::at(pos, msg));
        }
    };
    let node = Node::new(pos, lit);
    if t.is("..=") || t.is("..") {
        return ron_range(t, node);
    }
    Ok(node)
}

/// An integer literal's magnitude with its sign, as an i64.
fn signed(pos: Pos, magnitude: u64, negative: bool) -> Result<i64, TextError> {
    let v = if negative { -(magnitude as i128) } else { magnitude as i128 };
    i64::try_from(v).map_err(|_| TextError::at(pos, format!("integer {v} does not fit in a signed 64-bit value")))
}

/// Items up to `close`, comma separated, a trailing comma allowed.
fn sequence(t: &mut Tokens, depth: &mut Depth, open: Pos, close: &str) -> Result<Vec<Node>, TextError> {
    depth.enter(open)?;
    let mut items = Vec::new();
    loop {
        if t.eat(close) {
            break;
        }
        items.push(value(t, depth)?);
        if t.eat(",") {
            continue;
        }
        t.expect(close, &format!("',' or '{close}'"))?;
        break;
    }
    depth.leave();
    Ok(items)
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

fn unknown_name(t: &Tokens, pos: Pos, name: &str) -> TextError {
    let examples = "3, \"text\", b\"\\x00\", None, true, [..] or (..)";
    let msg = if t.is("(") && crate::packet::LayerKind::from_name(name).is_some() {
        format!("{name}(...) is not a value: layers are joined with '/', as in IP()/{name}()")
    } else if t.is("(") {
        format!("{name}(...) is not a value: a value is a literal such as {examples}")
    } else {
        format!("unknown name '{name}': a value is a literal such as {examples}; strings take quotes: \"{name}\"")
    };
    TextError::at(pos, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lexer::{tokenize, Dialect};

    fn parse(src: &str) -> Result<Node, TextError> {
        let mut t = Tokens::new(tokenize(src, Dialect::Ron)?);
        let v = value(&mut t, &mut Depth::new())?;
        if t.peek().tok != Tok::Eof {
            return Err(t.unexpected("the end"));
        }
        Ok(v)
    }

    fn ron(src: &str) -> crate::field::Value {
        parse(src).unwrap().value()
    }

    fn ron_err(src: &str) -> String {
        parse(src).unwrap_err().to_string()
    }

    use crate::field::Value::{self, *};

    fn int(i: i64) -> Value {
        Int(i)
    }

    fn st(s: &str) -> Value {
        Str(s.into())
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(parse(&deep).unwrap_err().to_string(), "1:65: nesting is deeper than 64 levels");
        let deep = "(".repeat(100_000);
        assert_eq!(parse(&deep).unwrap_err().to_string(), "1:65: nesting is deeper than 64 levels");
        let deep = "Some(".repeat(100_000);
        assert_eq!(parse(&deep).unwrap_err().to_string(), "1:321: nesting is deeper than 64 levels");
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
