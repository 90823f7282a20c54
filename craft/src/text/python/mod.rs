//! The Python subset that scapy users type: craft-repl's grammar, and the one the CLI's
//! expressions are a part of (`craft build EXPR` parses with [`parse_expression`] and
//! accepts the layer expressions in it).
//!
//! Statements: expression statements, `=` (chained, tuple targets), augmented assignment
//! (`p /= TCP()`), `del`, `pass`, `break`, `continue`, `return`, `global`, `if`/`elif`/`else`,
//! `for`/`else`, `while`, `def`, `try`/`except`/`finally`, `import`/`from` (accepted,
//! nothing to do), `;` between statements, `#` comments, blocks on the header's line or
//! indented below it. Expressions: Python's precedence levels from `lambda` and `a if c else
//! b` down to calls, subscripts, slices and attributes; literals of every kind the CLI
//! reads plus floats and f-strings; lists, tuples, dicts, sets and their comprehensions.
//!
//! Written by hand on the lexer that RON and the CLI share, not with nom: that lexer already
//! has Python's literals with column-precise errors, every node needs its line:col for
//! the REPL's caret, and "expected X, found Y" messages come from peeking one token — a
//! combinator parser over characters would have duplicated the literal rules (a second
//! parser for the same syntax, which the design rules out) and made those messages harder.

mod ast;
mod parse;

pub use ast::*;

use super::lexer::{tokenize, tokenize_layout, Dialect, Tok};
use super::TextError;
use parse::Parser;

/// Parses statements: a line typed at the prompt, a block, or a whole script.
pub fn parse_module(src: &str) -> Result<Vec<Stmt>, TextError> {
    let mut p = Parser::new(tokenize_layout(src)?);
    p.module()
}

/// Parses one expression (a tuple when it has top-level commas).
pub fn parse_expression(src: &str) -> Result<Expr, TextError> {
    let mut p = Parser::new(tokenize(src, Dialect::Python)?);
    let e = p.expr_list()?;
    p.expect_eof("an operator or the end of the expression")?;
    Ok(e)
}

/// Whether interactive input needs another line: a bracket or a triple-quoted string is
/// open, the last line ends with a backslash, or a block was started (`for x in y:`) and
/// no blank line has ended it yet — Python's interactive rules.
pub fn needs_more(src: &str) -> bool {
    let last_line = src.trim_end_matches('\n').rsplit('\n').next().unwrap_or("");
    if last_line.ends_with('\\') && !src.ends_with("\n\n") {
        return true;
    }
    let toks = match tokenize(src, Dialect::Python) {
        Ok(toks) => toks,
        // An open triple-quoted string waits for its end; other errors are reported now.
        Err(e) => return e.msg.starts_with("unterminated string") && (src.contains("'''") || src.contains("\"\"\"")),
    };
    let mut depth: i64 = 0;
    for t in &toks {
        match t.tok {
            Tok::Punct("(" | "[" | "{") => depth += 1,
            Tok::Punct(")" | "]" | "}") => depth -= 1,
            _ => {}
        }
    }
    if depth > 0 {
        return true;
    }
    let block = toks.first().is_some_and(|t| {
        matches!(&t.tok, Tok::Ident(w) if ["if", "for", "while", "def", "try", "with", "class"].contains(&w.as_str()))
    }) || src.lines().any(|l| l.trim_end().ends_with(':') && !l.trim_start().starts_with('#'));
    block && !(src.ends_with("\n\n") || src.trim_end_matches([' ', '\t']).ends_with("\n\n"))
}

#[cfg(test)]
mod tests;
