//! Python's literals and layout: strings with their prefixes and escapes, f-strings,
//! floats, `#` comments, and the `Indent`/`Dedent`/`Newline` tokens of statements.

use super::{FPart, Lexer, Sink, Tok, Token};
use crate::text::{Pos, TextError};

pub(super) const PY_PUNCT: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=", "/=", "%=",
    "|=", "&=", "^=", "->", ":=", "(", ")", "[", "]", "{", "}", ",", "=", "/", ":", "-", "+", ";", "*", "%", ".",
    "<", ">", "|", "&", "^", "~", "@",
];

impl Lexer {
    /// At the start of a line in layout mode: skips blank and comment-only lines, then
    /// pushes `Indent` or `Dedent`s for the next line's indentation.
    pub(super) fn indentation(&mut self, indents: &mut Vec<usize>, out: &mut Vec<Token>) -> Result<(), TextError> {
        loop {
            let mut width = 0;
            while let Some(c) = self.peek().filter(|c| matches!(c, ' ' | '\t' | '\r' | '\x0c')) {
                width = if c == '\t' { (width / 8 + 1) * 8 } else { width + 1 };
                self.bump();
            }
            match self.peek() {
                Some('\n') => {
                    self.bump();
                    continue;
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                None => return Ok(()),
                _ => {}
            }
            let pos = self.pos();
            let current = *indents.last().unwrap_or(&0);
            if width > current {
                indents.push(width);
                out.push(Token { tok: Tok::Indent, pos });
            } else {
                while width < *indents.last().unwrap_or(&0) {
                    indents.pop();
                    out.push(Token { tok: Tok::Dedent, pos });
                }
                if width != *indents.last().unwrap_or(&0) {
                    return Err(TextError::at(pos, "this line's indentation matches no enclosing block"));
                }
            }
            return Ok(());
        }
    }

    /// A name, or a string with a prefix (`b'..'`, `r".."`, `rb'..'`).
    pub(super) fn py_word(&mut self) -> Result<Tok, TextError> {
        let pos = self.pos();
        let word = self.ident();
        if !matches!(self.peek(), Some('\'' | '"')) {
            return Ok(Tok::Ident(word));
        }
        let prefix = word.to_ascii_lowercase();
        match prefix.as_str() {
            "r" => self.py_string(pos, true, false),
            "u" => self.py_string(pos, false, false),
            "b" => self.py_string(pos, false, true),
            "br" | "rb" => self.py_string(pos, true, true),
            "f" | "rf" | "fr" => self.f_string(pos, prefix.contains('r')),
            _ => Ok(Tok::Ident(word)),
        }
    }

    /// At a Python string's opening quote: takes it (three for a triple-quoted string).
    fn open_quote(&mut self) -> (char, bool) {
        let quote = self.bump().unwrap_or('\'');
        let triple = self.peek() == Some(quote) && self.peek_at(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        (quote, triple)
    }

    /// After a quote like the opening one: whether it ends the string, taking the other two
    /// quotes of a triple-quoted string's end.
    fn closes(&mut self, triple: bool) -> bool {
        if !triple {
            return true;
        }
        let quote = self.chars[self.i - 1];
        if self.peek() == Some(quote) && self.peek_at(1) == Some(quote) {
            self.bump();
            self.bump();
            return true;
        }
        false
    }

    pub(super) fn py_string(&mut self, start: Pos, raw: bool, bytes: bool) -> Result<Tok, TextError> {
        let (quote, triple) = self.open_quote();
        let unterminated = || {
            TextError::at(start, "unterminated string: it has no closing quote (write a line break as \\n)")
        };
        let mut out = Sink::new(bytes);
        loop {
            let pos = self.pos();
            let c = self.bump().ok_or_else(unterminated)?;
            match c {
                c if c == quote && self.closes(triple) => break,
                '\n' if !triple => return Err(unterminated()),
                '\\' if raw => {
                    // A raw string keeps the backslash; it still protects the next quote.
                    out.push_char('\\');
                    let next = self.bump().ok_or_else(unterminated)?;
                    if bytes && !next.is_ascii() {
                        return Err(TextError::at(pos, "bytes can only contain ASCII characters"));
                    }
                    out.push_char(next);
                }
                '\\' => self.py_escape(pos, &mut out)?,
                c if bytes && !c.is_ascii() => {
                    return Err(TextError::at(
                        pos,
                        format!("bytes can only contain ASCII characters; write {c:?} as \\x escapes"),
                    ))
                }
                c => out.push_char(c),
            }
        }
        Ok(out.into_tok())
    }

    /// After a backslash: Python's escapes. Unknown escapes keep the backslash, as Python does.
    fn py_escape(&mut self, pos: Pos, out: &mut Sink) -> Result<(), TextError> {
        let Some(c) = self.bump() else {
            return Err(TextError::at(pos, "unterminated string: it ends with a backslash"));
        };
        let simple = match c {
            '\n' => return Ok(()),
            '\r' => {
                self.eat('\n');
                return Ok(());
            }
            '\\' | '\'' | '"' => c,
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.bump();
                        }
                        None => break,
                    }
                }
                return self.push_code(pos, out, v, &format!("octal escape \\{v:o}"));
            }
            'x' => {
                let v = self.hex_digits(2, pos, "\\x takes exactly two hex digits, as in \\x0a")?;
                return self.push_code(pos, out, v, "");
            }
            'u' | 'U' if !out.is_bytes() => {
                let n = if c == 'u' { 4 } else { 8 };
                let v = self.hex_digits(n, pos, &format!("\\{c} takes exactly {n} hex digits"))?;
                let ch = char::from_u32(v)
                    .ok_or_else(|| TextError::at(pos, format!("\\{c}{v:x} is not a Unicode character")))?;
                out.push_char(ch);
                return Ok(());
            }
            'N' if !out.is_bytes() => {
                return Err(TextError::at(pos, "\\N{...} named escapes are not supported; use \\u or \\x"))
            }
            other => {
                out.push_char('\\');
                other
            }
        };
        out.push_char(simple);
        Ok(())
    }

    /// A numeric escape: a byte in bytes, a code point in text.
    fn push_code(&self, pos: Pos, out: &mut Sink, v: u32, what: &str) -> Result<(), TextError> {
        match out {
            Sink::Bytes(b) => match u8::try_from(v) {
                Ok(byte) => b.push(byte),
                Err(_) => return Err(TextError::at(pos, format!("{what} is larger than a byte (\\377)"))),
            },
            // Up to \777 and \xff: always a valid code point.
            Sink::Str(s) => s.push(char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
        Ok(())
    }

    /// The rest of a Python float whose digits before the point (or exponent) are `body`.
    pub(super) fn float(&mut self, pos: Pos, mut body: String) -> Result<Tok, TextError> {
        let take_digits = |lx: &mut Lexer, s: &mut String| {
            while let Some(c) = lx.peek().filter(|c| c.is_ascii_digit() || *c == '_') {
                s.push(c);
                lx.bump();
            }
        };
        if !body.contains(['e', 'E']) && self.eat('.') {
            body.push('.');
            take_digits(self, &mut body);
            if matches!(self.peek(), Some('e' | 'E')) {
                body.push('e');
                self.bump();
                if let Some(sign) = self.peek().filter(|c| matches!(c, '+' | '-')) {
                    body.push(sign);
                    self.bump();
                }
                take_digits(self, &mut body);
            }
        } else if body.ends_with(['e', 'E']) && matches!(self.peek(), Some('+' | '-')) {
            body.push(self.bump().unwrap_or('+'));
            take_digits(self, &mut body);
        }
        let digits: String = body.chars().filter(|&c| c != '_').collect();
        digits.parse::<f64>().map(Tok::Float).map_err(|_| TextError::at(pos, format!("invalid float literal '{body}'")))
    }

    /// After an `f` prefix: literal text with `{expression}` parts; `{{` and `}}` are braces.
    fn f_string(&mut self, start: Pos, raw: bool) -> Result<Tok, TextError> {
        let (quote, triple) = self.open_quote();
        let unterminated = || TextError::at(start, "unterminated f-string: it has no closing quote");
        let mut parts = Vec::new();
        let mut lit = Sink::new(false);
        loop {
            let pos = self.pos();
            let c = self.bump().ok_or_else(unterminated)?;
            match c {
                c if c == quote && self.closes(triple) => break,
                '\n' if !triple => return Err(unterminated()),
                '{' if self.eat('{') => lit.push_char('{'),
                '}' if self.eat('}') => lit.push_char('}'),
                '}' => return Err(TextError::at(pos, "single '}' is not allowed in an f-string: write '}}'")),
                '{' => {
                    if let Sink::Str(s) = std::mem::replace(&mut lit, Sink::new(false)) {
                        if !s.is_empty() {
                            parts.push(FPart::Lit(s));
                        }
                    }
                    parts.push(self.f_field(pos, quote)?);
                }
                '\\' if raw => lit.push_char('\\'),
                '\\' => self.py_escape(pos, &mut lit)?,
                c => lit.push_char(c),
            }
        }
        if let Sink::Str(s) = lit {
            if !s.is_empty() {
                parts.push(FPart::Lit(s));
            }
        }
        Ok(Tok::FStr(parts))
    }

    /// After the `{` of an f-string field: `expression[!conv][:spec]}`.
    fn f_field(&mut self, open: Pos, quote: char) -> Result<FPart, TextError> {
        let pos = self.pos();
        let mut src = String::new();
        let mut depth = 0usize;
        let mut in_str: Option<char> = None;
        let unclosed = || TextError::at(open, "f-string: '{' was never closed");
        loop {
            let c = self.peek().ok_or_else(unclosed)?;
            if let Some(q) = in_str {
                if c == q {
                    in_str = None;
                }
            } else if c == quote || c == '\n' {
                return Err(unclosed());
            } else if matches!(c, '\'' | '"') {
                in_str = Some(c);
            } else if matches!(c, '(' | '[' | '{') {
                depth += 1;
            } else if matches!(c, ')' | ']') || (c == '}' && depth > 0) {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && (c == '}' || c == ':' || (c == '!' && self.peek_at(1) != Some('='))) {
                break;
            }
            src.push(c);
            self.bump();
        }
        let mut conv = None;
        if self.eat('!') {
            conv = Some(self.bump().filter(|c| matches!(c, 'r' | 's' | 'a')).ok_or_else(|| {
                TextError::at(self.pos(), "f-string: expected 'r', 's' or 'a' after '!'")
            })?);
        }
        let mut spec = String::new();
        if self.eat(':') {
            while let Some(c) = self.peek().filter(|c| *c != '}' && *c != quote && *c != '\n') {
                spec.push(c);
                self.bump();
            }
        }
        if !self.eat('}') {
            return Err(unclosed());
        }
        if src.trim().is_empty() {
            return Err(TextError::at(open, "f-string: empty expression in '{}'"));
        }
        Ok(FPart::Expr { src, pos, conv, spec })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{b, s};
    use super::super::{test_util, tokenize, tokenize_layout, Dialect};
    use super::*;

    fn py(src: &str) -> Vec<Tok> {
        test_util::toks(src, Dialect::Python)
    }

    fn one_py(src: &str) -> Tok {
        test_util::one(src, Dialect::Python)
    }

    fn py_err(src: &str) -> String {
        test_util::err(src, Dialect::Python)
    }

    #[test]
    fn python_integers() {
        assert_eq!(one_py("0"), Tok::Int(0));
        assert_eq!(one_py("00"), Tok::Int(0));
        assert_eq!(one_py("1460"), Tok::Int(1460));
        assert_eq!(one_py("1_000_000"), Tok::Int(1_000_000));
        assert_eq!(one_py("0x0800"), Tok::Int(0x800));
        assert_eq!(one_py("0XfF"), Tok::Int(255));
        assert_eq!(one_py("0o17"), Tok::Int(15));
        assert_eq!(one_py("0b101"), Tok::Int(5));
        assert_eq!(one_py("18446744073709551615"), Tok::Int(u64::MAX));
        assert_eq!(py("-5"), vec![Tok::Punct("-"), Tok::Int(5), Tok::Eof]);
    }

    #[test]
    fn python_integer_errors() {
        assert_eq!(py_err("012"), "1:1: leading zeros are not allowed in decimal integers; use 0o for octal");
        assert_eq!(py_err("0x"), "1:1: hexadecimal literal has no digits");
        assert_eq!(py_err("0o8"), "1:1: invalid digit '8' in octal literal");
        assert_eq!(py_err("12ab"), "1:1: invalid digit 'a' in decimal literal");
        assert_eq!(py_err("18446744073709551616"), "1:1: integer is too large: values are at most 64 bits");
    }

    #[test]
    fn python_floats() {
        assert_eq!(one_py(" 1.5"), Tok::Float(1.5));
        assert_eq!(one_py("1e5"), Tok::Float(1e5));
        assert_eq!(one_py("2.5e-3"), Tok::Float(2.5e-3));
        assert_eq!(one_py(".25"), Tok::Float(0.25));
        assert_eq!(one_py("1_000.5"), Tok::Float(1000.5));
        assert_eq!(py("p.ttl"), vec![Tok::Ident("p".into()), Tok::Punct("."), Tok::Ident("ttl".into()), Tok::Eof]);
    }

    #[test]
    fn python_f_strings() {
        let parts = |src: &str| match one_py(src) {
            Tok::FStr(parts) => parts,
            other => panic!("{other:?}"),
        };
        assert_eq!(parts("f'a{{b}}'"), vec![FPart::Lit("a{b}".into())]);
        assert_eq!(
            parts("f\"x={p[IP].ttl!r:>5} {d['k']}\\n\""),
            vec![
                FPart::Lit("x=".into()),
                FPart::Expr { src: "p[IP].ttl".into(), pos: Pos { line: 1, col: 6 }, conv: Some('r'), spec: ">5".into() },
                FPart::Lit(" ".into()),
                FPart::Expr { src: "d['k']".into(), pos: Pos { line: 1, col: 23 }, conv: None, spec: String::new() },
                FPart::Lit("\n".into()),
            ]
        );
        assert_eq!(py_err("f'{x'"), "1:3: f-string: '{' was never closed");
        assert_eq!(py_err("f'}'"), "1:3: single '}' is not allowed in an f-string: write '}}'");
        assert_eq!(py_err("f'{}'"), "1:3: f-string: empty expression in '{}'");
    }

    #[test]
    fn layout_tokens() {
        let toks: Vec<Tok> = tokenize_layout("for x in y:\n  a = (1,\n 2)\n\n  # c\n  b\nc\n").unwrap().into_iter().map(|t| t.tok).collect();
        let id = |s: &str| Tok::Ident(s.into());
        assert_eq!(
            toks,
            vec![
                id("for"), id("x"), id("in"), id("y"), Tok::Punct(":"), Tok::Newline, Tok::Indent,
                id("a"), Tok::Punct("="), Tok::Punct("("), Tok::Int(1), Tok::Punct(","), Tok::Int(2), Tok::Punct(")"), Tok::Newline,
                id("b"), Tok::Newline, Tok::Dedent, id("c"), Tok::Newline, Tok::Eof
            ]
        );
        let e = tokenize_layout("if a:\n    b\n  c\n").unwrap_err();
        assert_eq!(e.to_string(), "3:3: this line's indentation matches no enclosing block");
    }

    #[test]
    fn python_strings() {
        assert_eq!(one_py("'abc'"), s("abc"));
        assert_eq!(one_py("\"a'b\""), s("a'b"));
        assert_eq!(one_py(r"'a\'b\\c'"), s("a'b\\c"));
        assert_eq!(one_py(r"'\n\t\r\a\b\f\v\0'"), s("\n\t\r\x07\x08\x0c\x0b\0"));
        assert_eq!(one_py(r"'\x41\101\u00e9\U0001F600'"), s("AA\u{e9}\u{1F600}"));
        assert_eq!(one_py(r"'\d\q'"), s("\\d\\q"));
        assert_eq!(one_py("'a\\\nb'"), s("ab"));
        assert_eq!(one_py("'é'"), s("é"));
        assert_eq!(one_py("u'x'"), s("x"));
        assert_eq!(one_py(r"r'\x41\''"), s("\\x41\\'"));
        assert_eq!(one_py(r"R'\n'"), s("\\n"));
        assert_eq!(one_py("'''a\n'b'\n'''"), s("a\n'b'\n"));
        assert_eq!(one_py("\"\"\"x\"\"\""), s("x"));
        assert_eq!(one_py("''"), s(""));
    }

    #[test]
    fn python_bytes() {
        assert_eq!(one_py(r"b'\x00\x01'"), b(&[0, 1]));
        assert_eq!(one_py(r"B'\xFF'"), b(&[255]));
        assert_eq!(one_py(r"b'\n\t\\\''"), b(b"\n\t\\'"));
        assert_eq!(one_py(r#"b"\"x""#), b(b"\"x"));
        assert_eq!(one_py(r"b'\377\0'"), b(&[255, 0]));
        assert_eq!(one_py(r"b'\u0041'"), b(b"\\u0041"));
        assert_eq!(one_py(r"rb'\x00'"), b(b"\\x00"));
        assert_eq!(one_py(r"Br'\x00'"), b(b"\\x00"));
        assert_eq!(one_py("b''"), b(b""));
    }

    #[test]
    fn python_string_errors() {
        assert_eq!(py_err("x='abc"), "1:3: unterminated string: it has no closing quote (write a line break as \\n)");
        assert_eq!(py_err("'ab\ncd'"), "1:1: unterminated string: it has no closing quote (write a line break as \\n)");
        assert_eq!(py_err(r"r'\'"), "1:1: unterminated string: it has no closing quote (write a line break as \\n)");
        assert_eq!(py_err(r"b'\x4'"), "1:3: \\x takes exactly two hex digits, as in \\x0a");
        assert_eq!(py_err(r"b'\777'"), "1:3: octal escape \\777 is larger than a byte (\\377)");
        assert_eq!(py_err("b'é'"), "1:3: bytes can only contain ASCII characters; write 'é' as \\x escapes");
        assert_eq!(py_err(r"'\u12'"), "1:2: \\u takes exactly 4 hex digits");
        assert_eq!(py_err(r"'\U0011FFFF'"), "1:2: \\U11ffff is not a Unicode character");
        assert_eq!(py_err(r"'\N{DASH}'"), "1:2: \\N{...} named escapes are not supported; use \\u or \\x");
        assert_eq!(py_err("'\\"), "1:2: unterminated string: it ends with a backslash");
    }

    #[test]
    fn python_names_punctuation_comments() {
        assert_eq!(
            py("IP(ttl=3)/ b # comment\n,"),
            vec![
                Tok::Ident("IP".into()),
                Tok::Punct("("),
                Tok::Ident("ttl".into()),
                Tok::Punct("="),
                Tok::Int(3),
                Tok::Punct(")"),
                Tok::Punct("/"),
                Tok::Ident("b".into()),
                Tok::Punct(","),
                Tok::Eof,
            ]
        );
        assert_eq!(py("a\\\nb"), vec![Tok::Ident("a".into()), Tok::Ident("b".into()), Tok::Eof]);
        assert_eq!(py_err("IP()\n  $"), "2:3: unexpected character '$'");
        assert_eq!(py_err("IP()?"), "1:5: unexpected character '?'");
    }

    #[test]
    fn positions_count_characters() {
        let toks = tokenize("é'x' \n  y", Dialect::Python).unwrap_err();
        assert_eq!(toks.to_string(), "1:1: unexpected character 'é'");
        let toks = tokenize("'é' \n  y", Dialect::Python).unwrap();
        assert_eq!(toks[1].pos, Pos { line: 2, col: 3 });
        assert_eq!(toks[2].pos, Pos { line: 2, col: 4 });
    }

}
