//! Tokens of both text forms. Python (expressions) and RON differ only in their literals
//! and comments, so one lexer serves both, told which dialect it reads. This module holds
//! what they share (tokens, positions, the character cursor, names, numbers, the parsers'
//! token cursor); [`python`] and [`ron`] hold each dialect's literals and comments.

mod python;
mod ron;

use super::{Pos, TextError};
use python::PY_PUNCT;
use ron::RON_PUNCT;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Python,
    Ron,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// The magnitude of an integer literal; a sign is a token of its own.
    Int(u64),
    Str(String),
    Bytes(Vec<u8>),
    Punct(&'static str),
    /// A Python float literal (`1.5`, `1e3`).
    Float(f64),
    /// A Python f-string: literal text and `{expression!conversion:spec}` parts.
    FStr(Vec<FPart>),
    /// The end of a logical line, in layout mode (statements).
    Newline,
    /// A deeper indentation than the enclosing block's, in layout mode.
    Indent,
    /// A return to an enclosing block's indentation, in layout mode.
    Dedent,
    Eof,
}

/// A part of an f-string.
#[derive(Clone, Debug, PartialEq)]
pub enum FPart {
    Lit(String),
    /// `{src!conv:spec}`; `pos` is where `src` starts.
    Expr { src: String, pos: Pos, conv: Option<char>, spec: String },
}

impl Tok {
    /// How an error message names what was found.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("'{name}'"),
            Tok::Int(i) => format!("the integer {i}"),
            Tok::Str(_) => "a string".into(),
            Tok::Bytes(_) => "bytes".into(),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Float(f) => format!("the float {f}"),
            Tok::FStr(_) => "an f-string".into(),
            Tok::Newline => "the end of the line".into(),
            Tok::Indent => "an indented block".into(),
            Tok::Dedent => "the end of an indented block".into(),
            Tok::Eof => "the end of the input".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// Splits `src` into tokens, ending with `Tok::Eof`.
pub(crate) fn tokenize(src: &str, dialect: Dialect) -> Result<Vec<Token>, TextError> {
    tokenize_from(src, dialect, Pos::START, false)
}

/// Python statements: [`tokenize`], plus `Newline` at the end of each logical line and
/// `Indent`/`Dedent` around indented blocks. Lines inside brackets join, as in Python.
pub(crate) fn tokenize_layout(src: &str) -> Result<Vec<Token>, TextError> {
    tokenize_from(src, Dialect::Python, Pos::START, true)
}

/// Tokens of `src`, which starts at `start` of a larger text (an f-string's expression).
pub(crate) fn tokenize_from(src: &str, dialect: Dialect, start: Pos, layout: bool) -> Result<Vec<Token>, TextError> {
    let mut lx = Lexer { chars: src.chars().collect(), i: 0, line: start.line, col: start.col, dialect, layout, brackets: 0 };
    let mut out: Vec<Token> = Vec::new();
    let mut indents = vec![0usize];
    if layout {
        lx.indentation(&mut indents, &mut out)?;
    }
    loop {
        lx.skip_space()?;
        if layout && lx.peek() == Some('\n') {
            let pos = lx.pos();
            lx.bump();
            if !matches!(out.last(), None | Some(Token { tok: Tok::Newline, .. })) {
                out.push(Token { tok: Tok::Newline, pos });
            }
            lx.indentation(&mut indents, &mut out)?;
            continue;
        }
        let pos = lx.pos();
        let tok = lx.token()?;
        if tok == Tok::Eof {
            if layout && lx.brackets == 0 {
                if !matches!(out.last(), None | Some(Token { tok: Tok::Newline | Tok::Dedent, .. })) {
                    out.push(Token { tok: Tok::Newline, pos });
                }
                for _ in 1..indents.len() {
                    out.push(Token { tok: Tok::Dedent, pos });
                }
            }
            out.push(Token { tok, pos });
            return Ok(out);
        }
        out.push(Token { tok, pos });
    }
}

/// Where decoded string content goes: text or bytes.
enum Sink {
    Str(String),
    Bytes(Vec<u8>),
}

impl Sink {
    fn new(bytes: bool) -> Sink {
        if bytes {
            Sink::Bytes(Vec::new())
        } else {
            Sink::Str(String::new())
        }
    }

    fn push_char(&mut self, c: char) {
        match self {
            Sink::Str(s) => s.push(c),
            Sink::Bytes(b) => b.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }

    fn is_bytes(&self) -> bool {
        matches!(self, Sink::Bytes(_))
    }

    fn into_tok(self) -> Tok {
        match self {
            Sink::Str(s) => Tok::Str(s),
            Sink::Bytes(b) => Tok::Bytes(b),
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
    dialect: Dialect,
    /// Layout mode: line ends and indentation are tokens (outside brackets).
    layout: bool,
    /// Open brackets, in layout mode: line ends inside them are spaces.
    brackets: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.i + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(n, c)| self.peek_at(n) == Some(c))
    }

    fn skip_space(&mut self) -> Result<(), TextError> {
        loop {
            match self.peek() {
                Some('\n') if self.layout && self.brackets == 0 => return Ok(()),
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                // Python's explicit line joining.
                Some('\\') if self.dialect == Dialect::Python && matches!(self.peek_at(1), Some('\n' | '\r')) => {
                    self.bump();
                }
                Some('#') if self.dialect == Dialect::Python => {
                    // The line break ends the statement in layout mode: leave it.
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                Some('/') if self.dialect == Dialect::Ron && self.peek_at(1) == Some('/') => self.skip_line(),
                Some('/') if self.dialect == Dialect::Ron && self.peek_at(1) == Some('*') => self.skip_block_comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn token(&mut self) -> Result<Tok, TextError> {
        let pos = self.pos();
        let Some(c) = self.peek() else { return Ok(Tok::Eof) };
        if c.is_ascii_digit() || (c == '.' && self.dialect == Dialect::Python && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if is_ident_start(c) {
            return match self.dialect {
                Dialect::Python => self.py_word(),
                Dialect::Ron => self.ron_word(),
            };
        }
        match (self.dialect, c) {
            (Dialect::Python, '\'' | '"') => return self.py_string(pos, false, false),
            (Dialect::Ron, '"') => {
                self.bump();
                return self.ron_string(pos, Sink::new(false));
            }
            (Dialect::Ron, '\'') => {
                self.bump();
                return self.ron_char(pos, false);
            }
            _ => {}
        }
        let puncts = match self.dialect {
            Dialect::Python => PY_PUNCT,
            Dialect::Ron => RON_PUNCT,
        };
        for p in puncts {
            if self.starts_with(p) {
                for _ in 0..p.len() {
                    self.bump();
                }
                match *p {
                    "(" | "[" | "{" => self.brackets += 1,
                    ")" | "]" | "}" => self.brackets = self.brackets.saturating_sub(1),
                    _ => {}
                }
                return Ok(Tok::Punct(p));
            }
        }
        Err(TextError::at(pos, format!("unexpected character {c:?}")))
    }

    fn ident(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|c| is_ident_char(*c)) {
            s.push(c);
            self.bump();
        }
        s
    }

    fn hex_digits(&mut self, n: usize, pos: Pos, msg: &str) -> Result<u32, TextError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.bump();
                }
                None => return Err(TextError::at(pos, msg)),
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Tok, TextError> {
        let pos = self.pos();
        let radix = match (self.peek(), self.peek_at(1).map(|c| c.to_ascii_lowercase())) {
            (Some('0'), Some('x')) => 16,
            (Some('0'), Some('o')) => 8,
            (Some('0'), Some('b')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.bump();
            self.bump();
        }
        let mut body = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
            body.push(c);
            self.bump();
        }
        let is_float_dot = self.peek() == Some('.') && !(self.dialect == Dialect::Ron && self.peek_at(1) == Some('.'));
        if radix == 10 && (is_float_dot || body.contains(['e', 'E'])) {
            if self.dialect == Dialect::Ron {
                return Err(TextError::at(pos, "floats are not supported: values are integers, strings or bytes"));
            }
            return self.float(pos, body);
        }
        let digits: String = body.chars().filter(|&c| c != '_').collect();
        let kind = match radix {
            16 => "hexadecimal",
            8 => "octal",
            2 => "binary",
            _ => "decimal",
        };
        if digits.is_empty() {
            return Err(TextError::at(pos, format!("{kind} literal has no digits")));
        }
        if let Some(bad) = digits.chars().find(|c| !c.is_digit(radix)) {
            return Err(TextError::at(pos, format!("invalid digit {bad:?} in {kind} literal")));
        }
        if self.dialect == Dialect::Python && radix == 10 && digits.len() > 1 && digits.starts_with('0') && digits.chars().any(|c| c != '0') {
            return Err(TextError::at(pos, "leading zeros are not allowed in decimal integers; use 0o for octal"));
        }
        let mut v: u64 = 0;
        for c in digits.chars() {
            let d = c.to_digit(radix).unwrap_or(0) as u64;
            v = v
                .checked_mul(radix as u64)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(|| TextError::at(pos, "integer is too large: values are at most 64 bits"))?;
        }
        Ok(Tok::Int(v))
    }
}

/// A cursor over tokens for the parsers; the last token is always `Eof`.
pub(crate) struct Tokens {
    toks: Vec<Token>,
    i: usize,
}

impl Tokens {
    pub fn new(toks: Vec<Token>) -> Tokens {
        debug_assert!(matches!(toks.last(), Some(Token { tok: Tok::Eof, .. })));
        Tokens { toks, i: 0 }
    }

    pub fn peek(&self) -> &Token {
        self.nth(0)
    }

    /// The token `n` after the next one; `Eof` past the end.
    pub fn nth(&self, n: usize) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[(self.i + n).min(last)]
    }

    pub fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    pub fn is(&self, punct: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(p) if *p == punct)
    }

    /// Takes the punctuation if it is next.
    pub fn eat(&mut self, punct: &str) -> bool {
        let found = self.is(punct);
        if found {
            self.next();
        }
        found
    }

    /// Takes the punctuation, or fails with "expected {what}, found ...".
    pub fn expect(&mut self, punct: &str, what: &str) -> Result<Pos, TextError> {
        let pos = self.peek().pos;
        if self.eat(punct) {
            Ok(pos)
        } else {
            Err(self.unexpected(what))
        }
    }

    /// "expected {what}, found {the next token}", at the next token.
    pub fn unexpected(&self, what: &str) -> TextError {
        let t = self.peek();
        TextError::at(t.pos, format!("expected {what}, found {}", t.tok.describe()))
    }
}

/// Counts nesting so that no input recurses without bound.
pub(crate) struct Depth {
    level: usize,
    limit: usize,
}

impl Depth {
    pub fn new() -> Depth {
        Depth::with_limit(crate::text::MAX_NESTING)
    }

    pub fn with_limit(limit: usize) -> Depth {
        Depth { level: 0, limit }
    }

    pub fn enter(&mut self, pos: Pos) -> Result<(), TextError> {
        self.level += 1;
        if self.level > self.limit {
            return Err(TextError::at(pos, format!("nesting is deeper than {} levels", self.limit)));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.level -= 1;
    }
}

#[cfg(test)]
mod test_util {
    //! Helpers for the dialects' tests.
    use super::{tokenize, Dialect, Tok};

    /// The tokens of `src`, without their positions.
    pub(super) fn toks(src: &str, dialect: Dialect) -> Vec<Tok> {
        tokenize(src, dialect).unwrap().into_iter().map(|t| t.tok).collect()
    }

    /// `src` as its one token (and `Eof`).
    pub(super) fn one(src: &str, dialect: Dialect) -> Tok {
        let toks = toks(src, dialect);
        assert_eq!(toks.len(), 2, "{src}: {toks:?}");
        toks[0].clone()
    }

    /// The message of the error `src` makes.
    pub(super) fn err(src: &str, dialect: Dialect) -> String {
        tokenize(src, dialect).unwrap_err().to_string()
    }

    pub(super) fn s(x: &str) -> Tok {
        Tok::Str(x.into())
    }

    pub(super) fn b(x: &[u8]) -> Tok {
        Tok::Bytes(x.to_vec())
    }
}
