//! scapy expressions: `Ether()/IP(dst='10.0.0.1')/TCP(flags='S')/b'data'` — the part of
//! the REPL's grammar ([`super::python`]) that names packets: parsed by that grammar, then
//! lowered to layers as written.

use super::python::{parse_expression, Arg, BinOp, Expr, ExprKind, UnOp};
use super::spec::{layer_kind, FieldArg, LayerSpec, Lit, Node};
use super::{Pos, TextError};

/// Parses an expression into its layers, as written.
pub(crate) fn parse(src: &str) -> Result<Vec<LayerSpec>, TextError> {
    if src.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        let end = end_pos(src);
        let msg = "empty expression: write layers such as IP(dst='10.0.0.1')/TCP(dport=80)";
        return Err(TextError::at(end, msg));
    }
    let e = parse_expression(src)?;
    let mut layers = Vec::new();
    lower(&e, &mut layers)?;
    Ok(layers)
}

/// Where the input ends (after a trailing comment).
fn end_pos(src: &str) -> Pos {
    let line = src.split('\n').count();
    let col = src.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, col }
}

/// The layers of `a / b / c`, in order.
fn lower(e: &Expr, out: &mut Vec<LayerSpec>) -> Result<(), TextError> {
    match &e.kind {
        ExprKind::Binary(BinOp::Div, a, b) => {
            lower(a, out)?;
            lower(b, out)
        }
        ExprKind::Str(s) => {
            out.push(LayerSpec::Raw(s.clone().into_bytes()));
            Ok(())
        }
        ExprKind::Bytes(b) => {
            out.push(LayerSpec::Raw(b.clone()));
            Ok(())
        }
        ExprKind::Binary(BinOp::Mul, ..) if repetition(e)?.is_some() => {
            match repetition(e)? {
                Some(Lit::Str(s)) => out.push(LayerSpec::Raw(s.into_bytes())),
                Some(Lit::Bytes(b)) => out.push(LayerSpec::Raw(b)),
                _ => {}
            }
            Ok(())
        }
        ExprKind::Binary(BinOp::Mul, a, _) if matches!(a.kind, ExprKind::Binary(BinOp::Div, ..)) => {
            let msg = "'*' repeats the whole packet on its left: repeat the payload in parentheses, as in IP()/('data'*100)";
            Err(TextError::at(e.pos, msg))
        }
        ExprKind::Call { func, args } => {
            let ExprKind::Name(name) = &func.kind else {
                return Err(TextError::at(func.pos, "expected a layer such as IP(...)"));
            };
            let kind = layer_kind(name, func.pos)?;
            let mut dissect = None;
            let mut fields = Vec::new();
            for a in args {
                match a {
                    Arg::Kw { name, pos, value } => {
                        fields.push(FieldArg { name: name.clone(), name_pos: *pos, value: literal(value)? })
                    }
                    Arg::Pos(v) => {
                        if dissect.is_some() {
                            let msg = format!("{}(...) takes one positional argument: the bytes to dissect", kind.name());
                            return Err(TextError::at(v.pos, msg));
                        }
                        dissect = Some(match &v.kind {
                            ExprKind::Bytes(b) => b.clone(),
                            ExprKind::Str(s) => s.clone().into_bytes(),
                            ExprKind::Binary(BinOp::Mul, ..) if repetition(v)?.is_some() => match repetition(v)? {
                                Some(Lit::Str(s)) => s.into_bytes(),
                                Some(Lit::Bytes(b)) => b,
                                _ => Vec::new(),
                            },
                            ExprKind::Call { .. } => return Err(literal(v).err().unwrap_or_else(|| TextError::at(v.pos, "a call is not a value"))),
                            ExprKind::Name(n) if crate::packet::LayerKind::from_name(n).is_none() => {
                                return Err(TextError::at(v.pos, format!("'{n}' alone is not an argument: set a field as {n}=value")));
                            }
                            _ => {
                                let msg = format!(
                                    "{0}(...) takes bytes to dissect as its positional argument, found {1}; set fields by name: {0}(field=value)",
                                    kind.name(),
                                    describe(v)
                                );
                                return Err(TextError::at(v.pos, msg));
                            }
                        });
                    }
                    Arg::Star(v) | Arg::StarStar(v) => {
                        return Err(TextError::at(v.pos, "* and ** arguments are not supported in packet expressions"));
                    }
                }
            }
            out.push(LayerSpec::Call { kind, pos: func.pos, dissect, fields });
            Ok(())
        }
        ExprKind::Name(name) if crate::packet::LayerKind::from_name(name).is_some() => {
            let msg = format!("expected '(' after {name}: a layer is written {name}(...)");
            Err(TextError::at(e.pos, msg))
        }
        ExprKind::Binary(op, ..) => {
            let msg = format!("layers are joined with '/', not '{}'", op.symbol());
            Err(TextError::at(e.pos, msg))
        }
        _ => Err(TextError::at(e.pos, format!("expected a layer such as IP(...) or a bytes literal, found {}", describe(e)))),
    }
}

/// A field's value: a literal (ints, strings, bytes, None, booleans, lists, tuples).
fn literal(e: &Expr) -> Result<Node, TextError> {
    let lit = match &e.kind {
        ExprKind::None => Lit::None,
        ExprKind::Bool(b) => Lit::Bool(*b),
        ExprKind::Int(i) => match i64::try_from(*i) {
            Ok(i) => Lit::Int(i),
            Err(_) => return Err(TextError::at(e.pos, format!("integer {i} does not fit in a signed 64-bit value"))),
        },
        ExprKind::Unary(UnOp::Plus, inner) if matches!(inner.kind, ExprKind::Int(_)) => return literal(inner),
        ExprKind::Str(s) => Lit::Str(s.clone()),
        ExprKind::Bytes(b) => Lit::Bytes(b.clone()),
        ExprKind::List(items) => Lit::List(items.iter().map(literal).collect::<Result<_, _>>()?),
        ExprKind::Tuple(items) => Lit::Tuple(items.iter().map(literal).collect::<Result<_, _>>()?),
        ExprKind::Binary(BinOp::Mul, ..) if repetition(e)?.is_some() => repetition(e)?.unwrap_or(Lit::None),
        ExprKind::Call { func, .. } => {
            let msg = match &func.kind {
                ExprKind::Name(n) if crate::packet::LayerKind::from_name(n).is_some() => {
                    format!("{n}(...) is not a value: layers are joined with '/', as in IP()/{n}()")
                }
                ExprKind::Name(n) => format!("{n}(...) is not a value: {VALUES}; craft-repl evaluates calls"),
                _ => format!("a call is not a value: {VALUES}"),
            };
            return Err(TextError::at(e.pos, msg));
        }
        ExprKind::Name(n) => {
            let msg = format!("unknown name '{n}': {VALUES}; strings take quotes: '{n}'");
            return Err(TextError::at(e.pos, msg));
        }
        ExprKind::Float(_) => return Err(TextError::at(e.pos, "floats are not supported: values are integers, strings or bytes")),
        _ => return Err(TextError::at(e.pos, format!("expected a value, found {}; {VALUES}", describe(e)))),
    };
    Ok(Node::new(e.pos, lit))
}

/// `'x'*100`, `100*b'\x00'`, `('ab'*2)*3`: a str or bytes literal repeated, as in Python
/// (a negative count gives an empty one), by the rule craft-repl follows
/// ([`super::repeat_count`]: at most [`super::MAX_REPEAT`] bytes). None when `e` is not a
/// product with a str or bytes side.
fn repetition(e: &Expr) -> Result<Option<Lit>, TextError> {
    let ExprKind::Binary(BinOp::Mul, a, b) = &e.kind else { return Ok(None) };
    let text = |x: &Expr| -> Result<Option<Lit>, TextError> {
        Ok(match &x.kind {
            ExprKind::Str(s) => Some(Lit::Str(s.clone())),
            ExprKind::Bytes(b) => Some(Lit::Bytes(b.clone())),
            _ => repetition(x)?,
        })
    };
    let (lit, count) = match (text(a)?, text(b)?) {
        (Some(_), Some(_)) => return Err(TextError::at(e.pos, "a string or bytes can only be repeated by an integer, as in 'ab'*3")),
        (Some(lit), None) => (lit, b),
        (None, Some(lit)) => (lit, a),
        (None, None) => return Ok(None),
    };
    let n = match &count.kind {
        ExprKind::Int(n) => *n,
        ExprKind::Unary(UnOp::Neg, inner) => match inner.kind {
            ExprKind::Int(n) => -n,
            _ => return Err(TextError::at(count.pos, format!("a string or bytes is repeated by an integer literal, not {}", describe(count)))),
        },
        _ => return Err(TextError::at(count.pos, format!("a string or bytes is repeated by an integer literal, not {}", describe(count)))),
    };
    let too_large = |m: String| TextError::at(e.pos, m);
    Ok(Some(match lit {
        Lit::Str(s) => Lit::Str(s.repeat(super::repeat_count(n, s.len()).map_err(too_large)?)),
        Lit::Bytes(b) => Lit::Bytes(b.repeat(super::repeat_count(n, b.len()).map_err(too_large)?)),
        other => other,
    }))
}

const VALUES: &str = "a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..)";

/// How an error names an expression that is not what was expected.
fn describe(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(i) => format!("the integer {i}"),
        ExprKind::Float(f) => format!("the float {f}"),
        ExprKind::Str(_) | ExprKind::FStr(_) => "a string".into(),
        ExprKind::Bytes(_) => "bytes".into(),
        ExprKind::Name(n) => format!("'{n}'"),
        ExprKind::None | ExprKind::Bool(_) => "a constant".into(),
        ExprKind::List(_) => "a list".into(),
        ExprKind::Tuple(_) => "a tuple".into(),
        ExprKind::Dict(_) | ExprKind::Set(_) => "a dict or set".into(),
        ExprKind::Call { .. } => "a call".into(),
        ExprKind::Binary(op, ..) => format!("an expression with '{}'", op.symbol()),
        _ => "an expression".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::LayerKind;
    use crate::text::Pos;

    fn err(src: &str) -> String {
        parse(src).unwrap_err().to_string()
    }

    fn kinds(src: &str) -> Vec<Option<LayerKind>> {
        parse(src)
            .unwrap()
            .iter()
            .map(|l| match l {
                LayerSpec::Call { kind, .. } => Some(*kind),
                LayerSpec::Raw(_) => None,
            })
            .collect()
    }

    #[test]
    fn layers_and_fields() {
        let layers = parse("Ether(dst='02:00:00:00:00:33')/IP(src=\"172.17.2.1\", ttl=3,)/TCP()").unwrap();
        assert_eq!(layers.len(), 3);
        let LayerSpec::Call { kind, pos, dissect, fields } = &layers[1] else { panic!() };
        assert_eq!(*kind, LayerKind::Ip);
        assert_eq!(*pos, Pos { line: 1, col: 32 });
        assert_eq!(*dissect, None);
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].name, "ttl");
        assert_eq!(fields[1].name_pos, Pos { line: 1, col: 53 });
        assert_eq!(fields[1].value.lit, Lit::Int(3));
        assert_eq!(fields[1].value.pos, Pos { line: 1, col: 57 });
    }

    #[test]
    fn literals_become_raw() {
        let layers = parse("IP()/b'\\x00\\x01'/'hi'/b'a' b'b'").unwrap();
        assert_eq!(layers[1], LayerSpec::Raw(vec![0, 1]));
        assert_eq!(layers[2], LayerSpec::Raw(b"hi".to_vec()));
        assert_eq!(layers[3], LayerSpec::Raw(b"ab".to_vec()));
        assert_eq!(parse("b'x'/IP()").unwrap()[0], LayerSpec::Raw(b"x".to_vec()));
    }

    #[test]
    fn grouping_and_aliases() {
        assert_eq!(
            kinds("Ether()/(IP()/(UDP()))/ b''"),
            vec![Some(LayerKind::Ether), Some(LayerKind::Ip), Some(LayerKind::Udp), None]
        );
        assert_eq!(kinds("IPerror()/TCPerror()"), vec![Some(LayerKind::Ip), Some(LayerKind::Tcp)]);
        assert_eq!(kinds(" \n IP ( ) \n / \n TCP ( ) \n "), vec![Some(LayerKind::Ip), Some(LayerKind::Tcp)]);
        assert_eq!(kinds("IP() # a comment"), vec![Some(LayerKind::Ip)]);
    }

    #[test]
    fn positional_bytes_dissect() {
        let layers = parse("Ether(b'\\xff\\xff', type=2)").unwrap();
        let LayerSpec::Call { dissect, fields, .. } = &layers[0] else { panic!() };
        assert_eq!(dissect.as_deref(), Some(&[0xff, 0xff][..]));
        assert_eq!(fields.len(), 1);
        let LayerSpec::Call { dissect, .. } = &parse("Raw('abc')").unwrap()[0] else { panic!() };
        assert_eq!(dissect.as_deref(), Some(&b"abc"[..]));
    }

    #[test]
    fn errors() {
        assert_eq!(err(""), "1:1: empty expression: write layers such as IP(dst='10.0.0.1')/TCP(dport=80)");
        assert_eq!(err("  # only a comment"), "1:19: empty expression: write layers such as IP(dst='10.0.0.1')/TCP(dport=80)");
        assert_eq!(err("IPP()"), "1:1: unknown layer 'IPP'; did you mean 'IP'?");
        assert_eq!(err("IP()/Tcp()"), "1:6: unknown layer 'Tcp'; did you mean 'TCP'?");
        assert_eq!(err("IP/TCP()"), "1:1: expected '(' after IP: a layer is written IP(...)");
        assert_eq!(err("IP() TCP()"), "1:6: expected an operator or the end of the expression, found 'TCP'");
        assert_eq!(err("IP()/"), "1:6: expected an expression, found the end of the input");
        assert_eq!(err("IP()//TCP()"), "1:1: layers are joined with '/', not '//'");
        assert_eq!(err("IP()+TCP()"), "1:1: layers are joined with '/', not '+'");
        assert_eq!(err("IP(ttl=3"), "1:9: expected ',' or ')' to close the call, found the end of the input");
        assert_eq!(err("IP(ttl 3)"), "1:8: expected '=' after ttl, as in ttl=value, found the integer 3");
        assert_eq!(err("IP(ttl)"), "1:4: 'ttl' alone is not an argument: set a field as ttl=value");
        assert_eq!(err("IP(ttl=3 id=4)"), "1:10: expected ',' or ')' to close the call, found 'id'");
        assert_eq!(err("IP(ttl=)"), "1:8: expected an expression, found ')'");
        assert_eq!(err("IP(ttl=3, b'x')"), "1:11: a positional argument cannot follow keyword arguments");
        assert_eq!(err("IP(ttl=3, ttl=4)"), "1:11: keyword argument 'ttl' repeated");
        assert_eq!(err("IP(b'x', b'y')"), "1:10: IP(...) takes one positional argument: the bytes to dissect");
        assert_eq!(
            err("IP(3)"),
            "1:4: IP(...) takes bytes to dissect as its positional argument, found the integer 3; set fields by name: IP(field=value)"
        );
        assert_eq!(err("(IP()"), "1:6: expected ',' or ')', found the end of the input");
        assert_eq!(err("3"), "1:1: expected a layer such as IP(...) or a bytes literal, found the integer 3");
        assert_eq!(err("IP(TCP())"), "1:4: TCP(...) is not a value: layers are joined with '/', as in IP()/TCP()");
        assert_eq!(err("IP(ttl=TCP())"), "1:8: TCP(...) is not a value: layers are joined with '/', as in IP()/TCP()");
        assert_eq!(err("IP(ttl=x)"), "1:8: unknown name 'x': a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..); strings take quotes: 'x'");
        assert_eq!(err("IP(ttl=1.5)"), "1:8: floats are not supported: values are integers, strings or bytes");
        assert_eq!(err("IP(ttl=1+2)"), "1:8: expected a value, found an expression with '+'; a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..)");
    }

    #[test]
    fn str_and_bytes_repeat() {
        // scapy: 'katran test pkt'*100, b'\x00'*20, 100*'x', ('ab'*2)*3, 'x'*-1 (Python's)
        assert_eq!(parse("'katran test pkt'*100").unwrap(), vec![LayerSpec::Raw(b"katran test pkt".repeat(100))]);
        assert_eq!(parse("IP()/(b'\\x00'*20)").unwrap()[1], LayerSpec::Raw(vec![0; 20]));
        assert_eq!(parse("100*'x'").unwrap(), vec![LayerSpec::Raw(vec![b'x'; 100])]);
        assert_eq!(parse("('ab'*2)*3").unwrap(), vec![LayerSpec::Raw(b"ab".repeat(6))]);
        assert_eq!(parse("'x'*-1").unwrap(), vec![LayerSpec::Raw(vec![])]);
        let LayerSpec::Call { dissect, fields, .. } = &parse("Raw('ab'*2, load=b'\\x01'*3)").unwrap()[0] else { panic!() };
        assert_eq!(dissect.as_deref(), Some(&b"abab"[..]));
        assert_eq!(fields[0].value.lit, Lit::Bytes(vec![1; 3]));
        assert_eq!(fields[0].value.pos, Pos { line: 1, col: 18 });
    }

    #[test]
    fn repetition_errors() {
        assert_eq!(err("Raw(load='x'*10000001)"), "1:10: repeat count 10000001 makes too large a result (more than 10000000 bytes or items)");
        assert_eq!(err("b'ab'*5000001"), "1:1: repeat count 5000001 makes too large a result (more than 10000000 bytes or items)");
        assert_eq!(err("IP()/\n  ('x'*99999999)"), "2:4: repeat count 99999999 makes too large a result (more than 10000000 bytes or items)");
        assert_eq!(err("Raw(load='x'*'y')"), "1:10: a string or bytes can only be repeated by an integer, as in 'ab'*3");
        assert_eq!(err("Raw(load='x'*n)"), "1:14: a string or bytes is repeated by an integer literal, not 'n'");
        assert_eq!(err("Raw(load='x'*1.5)"), "1:14: a string or bytes is repeated by an integer literal, not the float 1.5");
        assert_eq!(err("IP()/'x'*2"), "1:1: '*' repeats the whole packet on its left: repeat the payload in parentheses, as in IP()/('data'*100)");
        assert_eq!(err("IP(ttl=3*2)"), "1:8: expected a value, found an expression with '*'; a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..)");
        assert_eq!(err("IP()*2"), "1:1: layers are joined with '/', not '*'");
    }

    #[test]
    fn parenthesised_expressions_are_bounded() {
        let src = format!("{}IP(){}", "(".repeat(31), ")".repeat(31));
        assert_eq!(parse(&src).unwrap().len(), 1);
        let src = "(".repeat(50_000);
        assert_eq!(err(&src), "1:33: nesting is deeper than 32 levels");
        let src = "IP()/".repeat(20_000) + "IP()";
        assert_eq!(err(&src), "1:2565: more than 512 operators in a row: split the expression");
    }
}
