//! Tab completion, hints and syntax colour for the terminal, without a terminal: each
//! function takes the edited text and the cursor and reads the session's names.
//!
//! What completes: after `expr.` (an expression of names, attributes and subscripts such as
//! `p[IP].`, `conf.`, `bytes.`) the value's attributes — the expression is evaluated
//! without side effects (names, attributes, subscripts; never a call); inside an unclosed
//! `Name(` the keyword arguments `field=` of that layer, built-in or function, then names;
//! elsewhere variables, layer names, built-ins and keywords. Text typed on continuation
//! lines may carry the `... ` prompt the terminal puts in the buffer: it is skipped.

use craft::packet::LayerKind;
use craft::text::python::{parse_expression, Expr, ExprKind, UnOp};

use crate::attrs::{attr_names, get_attr, get_item};
use crate::interp::Interp;
use crate::value::Val;

/// The continuation prompt, kept in the edit buffer at the start of each added line.
pub const CONT: &str = "... ";

/// Keywords that start a statement: offered only where a statement starts.
const STMT_KEYWORDS: &[&str] =
    &["if", "elif", "else", "for", "while", "def", "del", "try", "except", "finally", "pass", "return", "import", "from", "global"];
/// Keywords inside expressions.
const EXPR_KEYWORDS: &[&str] = &["and", "or", "not", "in", "is", "if", "else", "for", "lambda", "None", "True", "False"];
/// Keywords that only mean something inside a loop.
const LOOP_KEYWORDS: &[&str] = &["break", "continue"];

/// The text as the interpreter reads it: the `... ` prompts at line starts removed.
pub fn logical(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(line.strip_prefix(CONT).unwrap_or(line));
        } else {
            out.push_str(line);
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// What a scan of the text before the cursor found.
struct Scan {
    /// The cursor is inside a string literal or a comment.
    in_string: bool,
    /// Open brackets: the bracket and its byte offset.
    open: Vec<(char, usize)>,
}

/// Scans Python text for strings, comments and brackets.
fn scan(s: &str) -> Scan {
    let b = s.as_bytes();
    let mut open = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => match s[i..].find('\n') {
                Some(n) => i += n,
                None => return Scan { in_string: true, open },
            },
            q @ (b'\'' | b'"') => {
                let triple = b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q;
                let raw = i > 0 && matches!(b[i - 1], b'r' | b'R') && (i < 2 || !is_ident(b[i - 2] as char) || matches!(b[i - 2], b'b' | b'B' | b'f' | b'F'));
                let mut j = if triple { i + 3 } else { i + 1 };
                let mut closed = false;
                while j < b.len() {
                    if b[j] == b'\\' && !raw {
                        j += 2;
                        continue;
                    }
                    if b[j] == b'\n' && !triple {
                        closed = true; // an unterminated one-line string: the error is the parser's
                        break;
                    }
                    if b[j] == q && (!triple || (b.len() >= j + 3 && b[j + 1] == q && b[j + 2] == q)) {
                        j += if triple { 3 } else { 1 };
                        closed = true;
                        break;
                    }
                    j += 1;
                }
                if !closed {
                    return Scan { in_string: true, open };
                }
                i = j;
                continue;
            }
            b'(' | b'[' | b'{' => open.push((b[i] as char, i)),
            b')' | b']' | b'}' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    Scan { in_string: false, open }
}

/// Where the expression of names, attributes and subscripts that ends at `end` starts.
fn receiver_start(s: &str, end: usize) -> usize {
    let b = s.as_bytes();
    let mut i = end;
    loop {
        // One primary: a name, or a string literal, then any subscripts before it.
        let before = i;
        while i > 0 && b[i - 1] == b']' {
            let mut depth = 0;
            let mut j = i;
            while j > 0 {
                j -= 1;
                match b[j] {
                    b']' => depth += 1,
                    b'[' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if depth != 0 {
                return before;
            }
            i = j;
        }
        if i > 0 && matches!(b[i - 1], b'\'' | b'"') {
            let q = b[i - 1];
            match s[..i - 1].rfind(q as char) {
                Some(j) => {
                    i = j;
                    while i > 0 && matches!(b[i - 1], b'b' | b'B' | b'r' | b'R') {
                        i -= 1;
                    }
                }
                None => return before,
            }
        } else {
            let name_end = i;
            while i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
                i -= 1;
            }
            if i == name_end {
                return before;
            }
        }
        if i > 0 && b[i - 1] == b'.' {
            i -= 1;
        } else {
            return i;
        }
    }
}

/// Evaluates names, attributes, subscripts and literals; None for anything else (calls,
/// operators): completion must not run code.
pub fn eval_pure(me: &Interp, e: &Expr) -> Option<Val> {
    Some(match &e.kind {
        ExprKind::Name(n) => me.lookup(n)?,
        ExprKind::Attr { value, name, .. } => get_attr(me, &eval_pure(me, value)?, name, e.pos).ok()?,
        ExprKind::Subscript { value, index } => get_item(me, &eval_pure(me, value)?, &eval_pure(me, index)?, e.pos).ok()?,
        ExprKind::Int(i) => Val::Int(*i),
        ExprKind::Str(s) => Val::str(s.as_str()),
        ExprKind::Bytes(b) => Val::bytes(b.clone()),
        ExprKind::Bool(b) => Val::Bool(*b),
        ExprKind::None => Val::None,
        ExprKind::Unary(UnOp::Neg, v) => match eval_pure(me, v)? {
            Val::Int(i) => Val::Int(-i),
            _ => return None,
        },
        _ => return None,
    })
}

fn eval_text(me: &Interp, text: &str) -> Option<Val> {
    let text = text.trim();
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    eval_pure(me, &parse_expression(text).ok()?)
}

/// The function being called at the end of `s` (which ends just before its `(`).
fn callee(me: &Interp, s: &str) -> Option<(String, Val)> {
    let start = receiver_start(s, s.len());
    let text = &s[start..];
    Some((text.to_string(), eval_text(me, text)?))
}

/// The keyword arguments a callable takes.
fn keyword_names(f: &Val) -> Vec<String> {
    match f {
        Val::Class(k) => k.fields().iter().map(|f| f.name.to_string()).collect(),
        Val::Builtin(n) => crate::builtins::keywords(n).into_iter().map(str::to_string).collect(),
        Val::Func(func) => func.params.iter().map(|p| p.name.clone()).filter(|n| !n.starts_with('*')).collect(),
        _ => Vec::new(),
    }
}

/// The signature shown while a call is open.
fn signature(f: &Val) -> Option<String> {
    match f {
        Val::Class(k) => Some(format!("{}({})", k.name(), k.fields().iter().map(|f| f.name).collect::<Vec<_>>().join(", "))),
        Val::Builtin(n) => crate::builtins::signature(n).map(str::to_string),
        Val::Func(func) => {
            let params: Vec<&str> = func.params.iter().map(|p| p.name.as_str()).collect();
            Some(format!("{}({})", func.name, params.join(", ")))
        }
        _ => None,
    }
}

/// The context of the cursor.
struct At<'a> {
    /// The logical text before the cursor.
    before: String,
    /// Where the word under the cursor starts in `before`.
    word_start: usize,
    scan: Scan,
    me: &'a Interp,
}

impl At<'_> {
    fn word(&self) -> &str {
        &self.before[self.word_start..]
    }

    /// The innermost unclosed `(` that follows a callee: its name and value.
    fn call(&self) -> Option<(String, Val)> {
        let &(c, at) = self.scan.open.last()?;
        if c != '(' {
            return None;
        }
        callee(self.me, &self.before[..at])
    }

    /// Whether the word is where a keyword argument's name goes: right after `(` or `,`.
    fn at_argument_name(&self) -> bool {
        let Some(&('(', at)) = self.scan.open.last() else { return false };
        let prev = self.before[at..self.word_start].trim_end();
        prev.ends_with('(') || prev.ends_with(',')
    }

    /// Whether the word starts a statement (only indentation before it on its line).
    fn at_statement_start(&self) -> bool {
        self.scan.open.is_empty() && {
            let line_start = self.before[..self.word_start].rfind('\n').map_or(0, |i| i + 1);
            let head = &self.before[line_start..self.word_start];
            head.trim().is_empty() || head.trim_end().ends_with(':') || head.trim_end().ends_with(';')
        }
    }
}

fn context<'a>(me: &'a Interp, line: &str, pos: usize) -> Option<At<'a>> {
    let pos = pos.min(line.len());
    if !line.is_char_boundary(pos) {
        return None;
    }
    let before = logical(&line[..pos]);
    let scan = scan(&before);
    if scan.in_string {
        return None;
    }
    let word_start = before.char_indices().rev().take_while(|(_, c)| is_ident(*c)).last().map_or(before.len(), |(i, _)| i);
    Some(At { before, word_start, scan, me })
}

/// Completions of the word under the cursor: where the replaced text starts in `line` and
/// the candidates (each replaces the text from there to the cursor).
pub fn complete(me: &Interp, line: &str, pos: usize) -> (usize, Vec<String>) {
    let Some(at) = context(me, line, pos) else { return (pos, Vec::new()) };
    // The word is the same in the buffer and in the logical text: it ends at the cursor.
    let start = pos - at.word().len();
    let word = at.word();
    // Indentation: Tab with only spaces before it on the line.
    let line_head = &at.before[at.before.rfind('\n').map_or(0, |i| i + 1)..];
    if line_head.chars().all(|c| c == ' ' || c == '\t') && (!line_head.is_empty() || at.before.contains('\n')) {
        return (pos, vec!["    ".to_string()]);
    }
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return (start, Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    let push = |s: String, out: &mut Vec<String>| {
        if s.starts_with(word) && (word.starts_with('_') || !s.starts_with('_')) && !out.contains(&s) {
            out.push(s);
        }
    };
    if at.word_start > 0 && at.before[..at.word_start].ends_with('.') {
        let dot = at.word_start - 1;
        let rs = receiver_start(&at.before, dot);
        if let Some(v) = eval_text(me, &at.before[rs..dot]) {
            for name in attr_names(&v) {
                push(name.to_string(), &mut out);
            }
        }
        return (start, out);
    }
    if at.at_argument_name() {
        if let Some((_, f)) = at.call() {
            for k in keyword_names(&f) {
                push(format!("{k}="), &mut out);
            }
        }
    }
    let mut names = me.names();
    if at.at_statement_start() {
        names.extend(STMT_KEYWORDS.iter().map(|s| s.to_string()));
        let logical_all = logical(line);
        if logical_all.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("for ") || t.starts_with("while ")
        }) {
            names.extend(LOOP_KEYWORDS.iter().map(|s| s.to_string()));
        }
    }
    names.extend(EXPR_KEYWORDS.iter().map(|s| s.to_string()));
    names.sort();
    names.dedup();
    for n in names {
        push(n, &mut out);
    }
    (start, out)
}

/// What to show greyed after the cursor: the rest of the only completion (and that text,
/// which the right arrow accepts), or the signature of the function being called.
pub fn hint(me: &Interp, line: &str, pos: usize) -> Option<(String, Option<String>)> {
    if pos != line.len() || line.trim().is_empty() {
        return None;
    }
    let at = context(me, line, pos)?;
    if !at.word().is_empty() {
        let (start, cands) = complete(me, line, pos);
        if let [only] = cands.as_slice() {
            let typed = &line[start..pos];
            if only.len() > typed.len() && only.starts_with(typed) {
                let rest = only[typed.len()..].to_string();
                return Some((rest.clone(), Some(rest)));
            }
        }
        return None;
    }
    let (_, f) = at.call()?;
    let sig = signature(&f)?;
    let mut shown: String = sig.chars().take(120).collect();
    if shown.len() < sig.len() {
        shown.push('…');
    }
    Some((format!("  # {shown}"), None))
}

/// Python's keywords, for colour.
fn is_keyword(w: &str) -> bool {
    STMT_KEYWORDS.contains(&w) || EXPR_KEYWORDS.contains(&w) || LOOP_KEYWORDS.contains(&w) || w == "with" || w == "as"
}

fn is_layer(w: &str) -> bool {
    LayerKind::ALL.iter().any(|k| k.name() == w)
}

const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const KEYWORD: &str = "\x1b[1;35m";
const LAYER: &str = "\x1b[1;33m";
const COMMENT: &str = "\x1b[90m";
const PROMPT: &str = "\x1b[90m";
const RESET: &str = "\x1b[0m";

/// The text with ANSI colours: strings, numbers, keywords, layer class names, comments,
/// and the `... ` prompts. Display width is unchanged.
pub fn highlight(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    let paint = |out: &mut String, color: &str, s: &str| {
        out.push_str(color);
        out.push_str(s);
        out.push_str(RESET);
    };
    while i < b.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        let line_start = i == 0 || b[i - 1] == b'\n';
        if line_start && i > 0 && text[i..].starts_with(CONT) {
            paint(&mut out, PROMPT, CONT);
            i += CONT.len();
            continue;
        }
        if c == '#' {
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            paint(&mut out, COMMENT, &text[i..end]);
            i = end;
            continue;
        }
        if c == '\'' || c == '"' {
            let end = string_end(text, i);
            paint(&mut out, STRING, &text[i..end]);
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            let end = text[i..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).map_or(text.len(), |n| i + n);
            paint(&mut out, NUMBER, &text[i..end]);
            i = end;
            continue;
        }
        if is_ident(c) {
            let end = text[i..].find(|c: char| !is_ident(c)).map_or(text.len(), |n| i + n);
            let w = &text[i..end];
            // A string prefix: b'..', r"..", f'..', rb'..'.
            if end < b.len() && matches!(b[end], b'\'' | b'"') && w.len() <= 2 && w.chars().all(|c| "bBrRfFuU".contains(c)) {
                let send = string_end(text, end);
                paint(&mut out, STRING, &text[i..send]);
                i = send;
                continue;
            }
            let after_dot = i > 0 && b[i - 1] == b'.';
            if !after_dot && is_keyword(w) {
                paint(&mut out, KEYWORD, w);
            } else if !after_dot && is_layer(w) {
                paint(&mut out, LAYER, w);
            } else {
                out.push_str(w);
            }
            i = end;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Where the string literal starting at `i` (at its quote) ends: after its closing quote,
/// or at the end of the line (one-line) or text (triple-quoted) when it is open.
fn string_end(text: &str, i: usize) -> usize {
    let b = text.as_bytes();
    let q = b[i];
    let triple = b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        if b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == b'\n' && !triple {
            return j;
        }
        if b[j] == q && (!triple || (b.len() >= j + 3 && b[j + 1] == q && b[j + 2] == q)) {
            return j + if triple { 3 } else { 1 };
        }
        j += 1;
    }
    b.len().min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp() -> Interp {
        let mut me = Interp::new(Box::new(std::io::sink()));
        me.run("p = IP()/TCP()\nraw_bytes = b'ab'\ns = 'x'\ndef f(alpha, beta=2): return alpha\n").unwrap();
        me
    }

    fn comp(me: &Interp, line: &str) -> Vec<String> {
        let (start, c) = complete(me, line, line.len());
        assert!(start <= line.len());
        c
    }

    /// The line after completing with the longest common prefix.
    fn apply(me: &Interp, line: &str) -> String {
        let (start, c) = complete(me, line, line.len());
        let Some(first) = c.first() else { return line.to_string() };
        let mut common = first.clone();
        for x in &c[1..] {
            while !x.starts_with(&common) {
                common.pop();
            }
        }
        format!("{}{}", &line[..start], common)
    }

    #[test]
    fn layer_keywords() {
        let me = interp();
        assert_eq!(apply(&me, "IP(ds"), "IP(dst=");
        assert_eq!(apply(&me, "IP(src='1.2.3.4', tt"), "IP(src='1.2.3.4', ttl=");
        assert!(comp(&me, "TCP(").contains(&"dport=".to_string()));
        // After `=` a value goes: no keyword names.
        assert!(!comp(&me, "IP(dst=").iter().any(|c| c.ends_with('=')));
        assert_eq!(apply(&me, "Ether()/IP(ds"), "Ether()/IP(dst=");
    }

    #[test]
    fn builtin_and_function_keywords() {
        let me = interp();
        assert_eq!(apply(&me, "sniff(ifa"), "sniff(iface=");
        assert_eq!(apply(&me, "sniff(count=3, time"), "sniff(count=3, timeout=");
        assert_eq!(apply(&me, "f(be"), "f(beta=");
    }

    #[test]
    fn attributes() {
        let me = interp();
        assert_eq!(apply(&me, "p[TCP].dp"), "p[TCP].dport");
        assert_eq!(apply(&me, "p[IP].tt"), "p[IP].ttl");
        assert_eq!(apply(&me, "p[1].dp"), "p[1].dport");
        assert_eq!(apply(&me, "p.dp"), "p.dport");
        assert_eq!(apply(&me, "p.sum"), "p.summary");
        assert_eq!(apply(&me, "conf.ve"), "conf.verb");
        assert_eq!(apply(&me, "bytes.fr"), "bytes.fromhex");
        assert_eq!(apply(&me, "raw_bytes.he"), "raw_bytes.hex");
        assert_eq!(apply(&me, "'abc'.upp"), "'abc'.upper");
        assert_eq!(apply(&me, "x = p[TCP].flags.val"), "x = p[TCP].flags.value");
        assert!(comp(&me, "conf.").contains(&"iface".to_string()));
        // Calls are not evaluated.
        assert!(comp(&me, "IP().").is_empty());
        assert!(comp(&me, "nothere.").is_empty());
        assert!(comp(&me, "1.").is_empty());
    }

    #[test]
    fn names() {
        let me = interp();
        assert_eq!(apply(&me, "con"), "conf");
        assert_eq!(apply(&me, "snif"), "sniff");
        assert_eq!(apply(&me, "x = raw_b"), "x = raw_bytes");
        assert_eq!(apply(&me, "Ethe"), "Ether");
        assert!(comp(&me, "wh").contains(&"while".to_string()));
        assert!(comp(&me, "x = Tr").contains(&"True".to_string()));
        // continue only in a loop.
        assert!(!comp(&me, "con").contains(&"continue".to_string()));
        assert!(comp(&me, "for x in y:\n... \tcon").contains(&"continue".to_string()));
        // Inside strings and comments: nothing.
        assert!(comp(&me, "'con").is_empty());
        assert!(comp(&me, "x = 1 # con").is_empty());
        // Indentation on a continuation line.
        assert_eq!(comp(&me, "for x in y:\n... "), vec!["    "]);
    }

    #[test]
    fn hints() {
        let me = interp();
        assert_eq!(hint(&me, "snif", 4), Some(("f".to_string(), Some("f".to_string()))));
        let (h, c) = hint(&me, "sniff(", 6).unwrap();
        assert!(h.contains("sniff(iface=None"), "{h}");
        assert_eq!(c, None);
        let (h, _) = hint(&me, "TCP(sport=1, ", 13).unwrap();
        assert!(h.contains("TCP(sport, dport"), "{h}");
        let (h, _) = hint(&me, "f(", 2).unwrap();
        assert!(h.contains("f(alpha, beta)"), "{h}");
        assert_eq!(hint(&me, "", 0), None);
        assert_eq!(hint(&me, "sniff(", 3), None);
    }

    #[test]
    fn colours() {
        let h = highlight("p = IP(dst='1.2.3.4', ttl=64) # hi");
        assert!(h.contains("\x1b[1;33mIP\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[32m'1.2.3.4'\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[36m64\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[90m# hi\x1b[0m"), "{h:?}");
        let h = highlight("for x in b'ab':\n... pass");
        assert!(h.contains("\x1b[1;35mfor\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[32mb'ab'\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[90m... \x1b[0m"), "{h:?}");
        // Colour adds only escapes.
        let strip = |s: &str| {
            let mut out = String::new();
            let mut it = s.chars();
            while let Some(c) = it.next() {
                if c == '\x1b' {
                    for c in it.by_ref() {
                        if c == 'm' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        for t in ["x = 'unterminated", "'''a\nb", "p.ttl = 0x40", "é = 'ü'"] {
            assert_eq!(strip(&highlight(t)), t);
        }
    }

    #[test]
    fn logical_text() {
        assert_eq!(logical("for x in y:\n...     print(x)\n... "), "for x in y:\n    print(x)\n");
        assert_eq!(logical("a\nb"), "a\nb");
    }
}
