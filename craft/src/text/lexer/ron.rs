//! RON's literals and comments: `".."`, raw strings `r#".."#`, byte strings, character
//! literals, `//` and nested `/* */` comments.

use super::{is_ident_start, Lexer, Sink, Tok};
use crate::text::{Pos, TextError};

pub(super) const RON_PUNCT: &[&str] = &["..=", "..", "(", ")", "[", "]", "{", "}", ",", ":", "-", "+", "#", "!", "="];

impl Lexer {
    /// RON block comments nest.
    pub(super) fn skip_block_comment(&mut self) -> Result<(), TextError> {
        let start = self.pos();
        let mut depth = 0usize;
        loop {
            if self.starts_with("/*") {
                self.bump();
                self.bump();
                depth += 1;
            } else if self.starts_with("*/") {
                self.bump();
                self.bump();
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            } else if self.bump().is_none() {
                return Err(TextError::at(start, "unterminated comment: '/*' has no matching '*/'"));
            }
        }
    }
    /// A name, a raw identifier `r#name`, or a prefixed RON string.
    pub(super) fn ron_word(&mut self) -> Result<Tok, TextError> {
        let pos = self.pos();
        match (self.peek(), self.peek_at(1), self.peek_at(2)) {
            (Some('b'), Some('"'), _) => {
                self.bump();
                self.bump();
                return self.ron_string(pos, Sink::new(true));
            }
            (Some('b'), Some('\''), _) => {
                self.bump();
                self.bump();
                return self.ron_char(pos, true);
            }
            (Some('b'), Some('r'), Some('"' | '#')) => {
                self.bump();
                self.bump();
                return self.ron_raw_string(pos, true);
            }
            (Some('r'), Some('"'), _) => {
                self.bump();
                return self.ron_raw_string(pos, false);
            }
            (Some('r'), Some('#'), Some(c)) if is_ident_start(c) => {
                self.bump();
                self.bump();
                return Ok(Tok::Ident(self.ident()));
            }
            (Some('r'), Some('#'), _) => {
                self.bump();
                return self.ron_raw_string(pos, false);
            }
            _ => {}
        }
        Ok(Tok::Ident(self.ident()))
    }

    /// After the opening quote of a RON string or byte string.
    pub(super) fn ron_string(&mut self, start: Pos, mut out: Sink) -> Result<Tok, TextError> {
        loop {
            let pos = self.pos();
            match self.bump() {
                None => return Err(TextError::at(start, "unterminated string: it has no closing '\"'")),
                Some('"') => return Ok(out.into_tok()),
                Some('\\') => {
                    // Continuation: a backslash before a line break skips it and the indentation.
                    if matches!(self.peek(), Some('\n')) || self.starts_with("\r\n") {
                        while self.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                            self.bump();
                        }
                        continue;
                    }
                    self.ron_escape(pos, &mut out)?;
                }
                Some(c) => out.push_char(c),
            }
        }
    }

    fn ron_escape(&mut self, pos: Pos, out: &mut Sink) -> Result<(), TextError> {
        let c = self.bump().ok_or_else(|| TextError::at(pos, "unterminated string: it ends with a backslash"))?;
        let ch = match c {
            '\'' | '"' | '\\' => c,
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            'x' => {
                let v = self.hex_digits(2, pos, "\\x takes exactly two hex digits, as in \\x0a")?;
                match out {
                    Sink::Bytes(b) => {
                        b.push(v as u8);
                        return Ok(());
                    }
                    Sink::Str(_) if v > 0x7f => {
                        return Err(TextError::at(pos, format!("\\x{v:02x} is not ASCII: in a string write \\u{{{v:x}}}")))
                    }
                    Sink::Str(_) => char::from(v as u8),
                }
            }
            'u' => {
                let bad = || TextError::at(pos, "\\u takes 1 to 6 hex digits in braces, as in \\u{e9}");
                if !self.eat('{') {
                    return Err(bad());
                }
                let mut v = 0u32;
                let mut n = 0;
                while let Some(d) = self.peek().and_then(|d| d.to_digit(16)) {
                    if n == 6 {
                        return Err(bad());
                    }
                    v = v * 16 + d;
                    n += 1;
                    self.bump();
                }
                if n == 0 || !self.eat('}') {
                    return Err(bad());
                }
                char::from_u32(v).ok_or_else(|| TextError::at(pos, format!("\\u{{{v:x}}} is not a Unicode character")))?
            }
            other => {
                return Err(TextError::at(
                    pos,
                    format!("unknown escape '\\{other}' (RON has \\\" \\' \\\\ \\n \\r \\t \\0 \\xNN \\u{{NNNN}})"),
                ))
            }
        };
        out.push_char(ch);
        Ok(())
    }

    /// After `r` (or `br`): `#`s, a quote, anything, a quote and as many `#`s.
    fn ron_raw_string(&mut self, start: Pos, bytes: bool) -> Result<Tok, TextError> {
        let mut hashes = 0;
        while self.eat('#') {
            hashes += 1;
        }
        if !self.eat('"') {
            return Err(TextError::at(start, "a raw string is r\"...\" or r#\"...\"#"));
        }
        let mut out = Sink::new(bytes);
        loop {
            match self.bump() {
                None => {
                    return Err(TextError::at(
                        start,
                        format!("unterminated raw string: it has no closing '\"{}'", "#".repeat(hashes)),
                    ))
                }
                Some('"') if (0..hashes).all(|n| self.peek_at(n) == Some('#')) => {
                    for _ in 0..hashes {
                        self.bump();
                    }
                    return Ok(out.into_tok());
                }
                Some(c) => out.push_char(c),
            }
        }
    }

    /// After the opening quote of `'c'` (a one-character string) or `b'c'` (a byte: an int).
    pub(super) fn ron_char(&mut self, start: Pos, byte: bool) -> Result<Tok, TextError> {
        let pos = self.pos();
        let mut out = Sink::new(byte);
        match self.bump() {
            None => return Err(TextError::at(start, "unterminated character literal")),
            Some('\\') => self.ron_escape(pos, &mut out)?,
            Some('\'') => return Err(TextError::at(start, "empty character literal ''")),
            Some(c) => out.push_char(c),
        }
        if !self.eat('\'') {
            return Err(TextError::at(start, "a character literal holds one character, as in 'a' (strings take \"...\")"));
        }
        match out {
            Sink::Bytes(b) if b.len() == 1 => Ok(Tok::Int(b[0] as u64)),
            Sink::Bytes(_) => Err(TextError::at(start, "a byte literal b'.' holds one ASCII character or \\xNN")),
            Sink::Str(s) => Ok(Tok::Str(s)),
        }
    }

}

#[cfg(test)]
mod tests {
    use super::super::test_util::{b, s};
    use super::super::{test_util, Dialect};
    use super::*;

    fn ron(src: &str) -> Vec<Tok> {
        test_util::toks(src, Dialect::Ron)
    }

    fn one_ron(src: &str) -> Tok {
        test_util::one(src, Dialect::Ron)
    }

    fn ron_err(src: &str) -> String {
        test_util::err(src, Dialect::Ron)
    }

    #[test]
    fn ron_literals() {
        assert_eq!(one_ron(r#""a\"b\\\n\t\r\0\x41\u{e9}\'""#), s("a\"b\\\n\t\r\0A\u{e9}'"));
        assert_eq!(one_ron("\"line\\\n    next\""), s("linenext"));
        assert_eq!(one_ron("\"two\nlines\""), s("two\nlines"));
        assert_eq!(one_ron(r#"r"a\x""#), s("a\\x"));
        assert_eq!(one_ron(r###"r##"a"#b"##"###), s("a\"#b"));
        assert_eq!(one_ron(r#"b"\x00\xffA""#), b(&[0, 255, b'A']));
        assert_eq!(one_ron("b\"é\""), b("é".as_bytes()));
        assert_eq!(one_ron(r##"br#"\x"#"##), b(b"\\x"));
        assert_eq!(one_ron("'c'"), s("c"));
        assert_eq!(one_ron(r"'\n'"), s("\n"));
        assert_eq!(one_ron("b'A'"), Tok::Int(65));
        assert_eq!(one_ron(r"b'\xff'"), Tok::Int(255));
        assert_eq!(one_ron("r#type"), Tok::Ident("type".into()));
        assert_eq!(one_ron("0x_ff"), Tok::Int(255));
        assert_eq!(one_ron("007"), Tok::Int(7));
        assert_eq!(ron("1..=5"), vec![Tok::Int(1), Tok::Punct("..="), Tok::Int(5), Tok::Eof]);
        assert_eq!(ron("1..5"), vec![Tok::Int(1), Tok::Punct(".."), Tok::Int(5), Tok::Eof]);
    }

    #[test]
    fn ron_comments() {
        assert_eq!(ron("// x\n1 /* a /* nested */ b */ 2"), vec![Tok::Int(1), Tok::Int(2), Tok::Eof]);
        assert_eq!(ron("1 // trailing"), vec![Tok::Int(1), Tok::Eof]);
        assert_eq!(ron_err("1 /* a /* b */"), "1:3: unterminated comment: '/*' has no matching '*/'");
    }

    #[test]
    fn ron_errors() {
        assert_eq!(ron_err(r#"  "\q""#), "1:4: unknown escape '\\q' (RON has \\\" \\' \\\\ \\n \\r \\t \\0 \\xNN \\u{NNNN})");
        assert_eq!(ron_err(r#""\x80""#), "1:2: \\x80 is not ASCII: in a string write \\u{80}");
        assert_eq!(ron_err(r#""\u{110000}""#), "1:2: \\u{110000} is not a Unicode character");
        assert_eq!(ron_err(r#""\u{1234567}""#), "1:2: \\u takes 1 to 6 hex digits in braces, as in \\u{e9}");
        assert_eq!(ron_err(r#""\u12""#), "1:2: \\u takes 1 to 6 hex digits in braces, as in \\u{e9}");
        assert_eq!(ron_err("\"abc"), "1:1: unterminated string: it has no closing '\"'");
        assert_eq!(ron_err("r#\"abc\""), "1:1: unterminated raw string: it has no closing '\"#'");
        assert_eq!(ron_err("r#1"), "1:1: a raw string is r\"...\" or r#\"...\"#");
        assert_eq!(ron_err("'ab'"), "1:1: a character literal holds one character, as in 'a' (strings take \"...\")");
        assert_eq!(ron_err("''"), "1:1: empty character literal ''");
        assert_eq!(ron_err("b'é'"), "1:1: a byte literal b'.' holds one ASCII character or \\xNN");
        assert_eq!(ron_err("1.5"), "1:1: floats are not supported: values are integers, strings or bytes");
        assert_eq!(ron_err("x = @"), "1:5: unexpected character '@'");
    }
}
