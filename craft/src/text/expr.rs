//! scapy expressions: `Ether()/IP(dst='10.0.0.1')/TCP(flags='S')/b'data'`.

use super::lexer::{tokenize, Depth, Dialect, Tok, Token, Tokens};
use super::spec::{layer_kind, FieldArg, LayerSpec, Lit};
use super::values::value;
use super::TextError;

/// Parses an expression into its layers, as written.
pub(crate) fn parse(src: &str) -> Result<Vec<LayerSpec>, TextError> {
    let mut p = Parser { t: Tokens::new(tokenize(src, Dialect::Python)?), depth: Depth::new() };
    if p.t.peek().tok == Tok::Eof {
        let msg = "empty expression: write layers such as IP(dst='10.0.0.1')/TCP(dport=80)";
        return Err(TextError::at(p.t.peek().pos, msg));
    }
    let layers = p.expr()?;
    if p.t.peek().tok != Tok::Eof {
        return Err(p.t.unexpected("'/' between layers or the end of the expression"));
    }
    Ok(layers)
}

struct Parser {
    t: Tokens,
    depth: Depth,
}

impl Parser {
    /// term { "/" term }
    fn expr(&mut self) -> Result<Vec<LayerSpec>, TextError> {
        let mut layers = self.term()?;
        while self.t.eat("/") {
            layers.extend(self.term()?);
        }
        Ok(layers)
    }

    /// A layer call, a bytes or string literal (Raw), or a parenthesised expression.
    fn term(&mut self) -> Result<Vec<LayerSpec>, TextError> {
        let Token { tok, pos } = self.t.peek().clone();
        match tok {
            Tok::Str(_) | Tok::Bytes(_) => {
                let node = value(&mut self.t, &mut self.depth, Dialect::Python)?;
                let load = match node.lit {
                    Lit::Str(s) => s.into_bytes(),
                    Lit::Bytes(b) => b,
                    _ => return Err(TextError::at(pos, "expected a bytes or string literal")),
                };
                Ok(vec![LayerSpec::Raw(load)])
            }
            Tok::Punct("(") => {
                self.t.next();
                self.depth.enter(pos)?;
                let layers = self.expr()?;
                self.t.expect(")", "'/' or ')'")?;
                self.depth.leave();
                Ok(layers)
            }
            Tok::Ident(name) => {
                self.t.next();
                let kind = layer_kind(&name, pos)?;
                self.t.expect("(", &format!("'(' after {name}: a layer is written {name}(...)"))?;
                let (dissect, fields) = self.args(kind.name())?;
                Ok(vec![LayerSpec::Call { kind, pos, dissect, fields }])
            }
            _ => Err(self.t.unexpected("a layer such as IP(...) or a bytes literal")),
        }
    }

    /// The arguments of a layer call, after its '(' up to and with its ')'.
    fn args(&mut self, layer: &str) -> Result<(Option<Vec<u8>>, Vec<FieldArg>), TextError> {
        let mut dissect = None;
        let mut fields = Vec::new();
        loop {
            if self.t.eat(")") {
                break;
            }
            let next = self.t.peek().clone();
            match (&next.tok, &self.t.nth(1).tok) {
                (Tok::Ident(name), Tok::Punct("=")) => {
                    self.t.next();
                    self.t.next();
                    let value = value(&mut self.t, &mut self.depth, Dialect::Python)?;
                    fields.push(FieldArg { name: name.clone(), name_pos: next.pos, value });
                }
                (Tok::Ident(name), after) if !matches!(name.as_str(), "None" | "True" | "False") && *after != Tok::Punct("(") => {
                    let msg = format!("expected '=' after {name}, as in {name}=value, found {}", after.describe());
                    return Err(TextError::at(self.t.nth(1).pos, msg));
                }
                _ => {
                    if !fields.is_empty() {
                        return Err(TextError::at(next.pos, "a positional argument cannot follow field=value arguments"));
                    }
                    if dissect.is_some() {
                        let msg = format!("{layer}(...) takes one positional argument: the bytes to dissect");
                        return Err(TextError::at(next.pos, msg));
                    }
                    let v = value(&mut self.t, &mut self.depth, Dialect::Python)?;
                    let bytes = match &v.lit {
                        Lit::Bytes(b) => b.clone(),
                        Lit::Str(s) => s.clone().into_bytes(),
                        _ => {
                            let msg = format!(
                                "{layer}(...) takes bytes to dissect as its positional argument, found {}; set fields by name: {layer}(field=value)",
                                v.value().kind()
                            );
                            return Err(TextError::at(v.pos, msg));
                        }
                    };
                    dissect = Some(bytes);
                }
            }
            if self.t.eat(",") {
                continue;
            }
            self.t.expect(")", &format!("',' or ')' to close {layer}("))?;
            break;
        }
        Ok((dissect, fields))
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
        assert_eq!(err("IP/TCP()"), "1:3: expected '(' after IP: a layer is written IP(...), found '/'");
        assert_eq!(err("IP() TCP()"), "1:6: expected '/' between layers or the end of the expression, found 'TCP'");
        assert_eq!(err("IP()/"), "1:6: expected a layer such as IP(...) or a bytes literal, found the end of the input");
        assert_eq!(err("IP()//TCP()"), "1:5: expected '/' between layers or the end of the expression, found '//'");
        assert_eq!(err("IP(ttl=3"), "1:9: expected ',' or ')' to close IP(, found the end of the input");
        assert_eq!(err("IP(ttl 3)"), "1:8: expected '=' after ttl, as in ttl=value, found the integer 3");
        assert_eq!(err("IP(ttl)"), "1:7: expected '=' after ttl, as in ttl=value, found ')'");
        assert_eq!(err("IP(ttl=3 id=4)"), "1:10: expected ',' or ')' to close IP(, found 'id'");
        assert_eq!(err("IP(ttl=)"), "1:8: expected a value, found ')'");
        assert_eq!(err("IP(ttl=3, b'x')"), "1:11: a positional argument cannot follow field=value arguments");
        assert_eq!(err("IP(b'x', b'y')"), "1:10: IP(...) takes one positional argument: the bytes to dissect");
        assert_eq!(
            err("IP(3)"),
            "1:4: IP(...) takes bytes to dissect as its positional argument, found an integer; set fields by name: IP(field=value)"
        );
        assert_eq!(err("(IP()"), "1:6: expected '/' or ')', found the end of the input");
        assert_eq!(err("3"), "1:1: expected a layer such as IP(...) or a bytes literal, found the integer 3");
        assert_eq!(err("IP(TCP())"), "1:4: TCP(...) is not a value: layers are joined with '/', as in IP()/TCP()");
        assert_eq!(err("IP(ttl=x)"), "1:8: unknown name 'x': a value is a literal such as 3, 'text', b'\\x00', None, True, [..] or (..); strings take quotes: 'x'");
    }

    #[test]
    fn parenthesised_expressions_are_bounded() {
        let src = format!("{}IP(){}", "(".repeat(64), ")".repeat(64));
        assert_eq!(parse(&src).unwrap().len(), 1);
        let src = "(".repeat(50_000);
        assert_eq!(err(&src), "1:65: nesting is deeper than 64 levels");
    }
}
