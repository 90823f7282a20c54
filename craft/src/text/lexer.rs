//! Tokens of both text forms. Python (expressions) and RON differ only in their literals
//! and comments, so one lexer serves both, told which dialect it reads.

use super::{Pos, TextError};

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

const PY_PUNCT: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=", "/=", "%=",
    "|=", "&=", "^=", "->", ":=", "(", ")", "[", "]", "{", "}", ",", "=", "/", ":", "-", "+", ";", "*", "%", ".",
    "<", ">", "|", "&", "^", "~", "@",
];
const RON_PUNCT: &[&str] = &["..=", "..", "(", ")", "[", "]", "{", "}", ",", ":", "-", "+", "#", "!", "="];

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

    /// At the start of a line in layout mode: skips blank and comment-only lines, then
    /// pushes `Indent` or `Dedent`s for the next line's indentation.
    fn indentation(&mut self, indents: &mut Vec<usize>, out: &mut Vec<Token>) -> Result<(), TextError> {
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

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// RON block comments nest.
    fn skip_block_comment(&mut self) -> Result<(), TextError> {
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

    /// A name, or a string with a prefix (`b'..'`, `r".."`, `rb'..'`).
    fn py_word(&mut self) -> Result<Tok, TextError> {
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

    fn py_string(&mut self, start: Pos, raw: bool, bytes: bool) -> Result<Tok, TextError> {
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

    /// A name, a raw identifier `r#name`, or a prefixed RON string.
    fn ron_word(&mut self) -> Result<Tok, TextError> {
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
    fn ron_string(&mut self, start: Pos, mut out: Sink) -> Result<Tok, TextError> {
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
    fn ron_char(&mut self, start: Pos, byte: bool) -> Result<Tok, TextError> {
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

impl Lexer {
    /// The rest of a Python float whose digits before the point (or exponent) are `body`.
    fn float(&mut self, pos: Pos, mut body: String) -> Result<Tok, TextError> {
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
        Depth::with_limit(super::MAX_NESTING)
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
mod tests {
    use super::*;

    fn py(src: &str) -> Vec<Tok> {
        tokenize(src, Dialect::Python).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn ron(src: &str) -> Vec<Tok> {
        tokenize(src, Dialect::Ron).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn one_py(src: &str) -> Tok {
        let toks = py(src);
        assert_eq!(toks.len(), 2, "{src}: {toks:?}");
        toks[0].clone()
    }

    fn one_ron(src: &str) -> Tok {
        let toks = ron(src);
        assert_eq!(toks.len(), 2, "{src}: {toks:?}");
        toks[0].clone()
    }

    fn py_err(src: &str) -> String {
        tokenize(src, Dialect::Python).unwrap_err().to_string()
    }

    fn ron_err(src: &str) -> String {
        tokenize(src, Dialect::Ron).unwrap_err().to_string()
    }

    fn s(x: &str) -> Tok {
        Tok::Str(x.into())
    }

    fn b(x: &[u8]) -> Tok {
        Tok::Bytes(x.to_vec())
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
