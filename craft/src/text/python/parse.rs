//! The parser: recursive descent over the shared lexer's tokens, one function per
//! precedence level of Python's grammar.

use super::ast::*;
use crate::text::lexer::{tokenize_from, Depth, Dialect, FPart, Tok, Token, Tokens};
use crate::text::{Pos, TextError};

/// How deep brackets, unary operators and f-strings nest: each level takes some fifteen
/// stack frames here (one per precedence level) and as many when evaluated.
pub const MAX_NESTING: usize = 32;

/// The most operators one chain may have (`a / b / c ...`): the tree it makes is as deep,
/// and evaluating or dropping it recurses that deep.
pub const MAX_CHAIN: usize = 512;

/// Words that cannot be names.
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass",
    "raise", "return", "try", "while", "with", "yield", "None", "True", "False",
];

/// Keywords of statements craft-repl does not run, with what to write instead.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("class", "classes are not supported in craft-repl"),
    ("with", "'with' is not supported in craft-repl"),
    ("yield", "generators are not supported in craft-repl"),
    ("raise", "'raise' is not supported in craft-repl"),
    ("assert", "'assert' is not supported in craft-repl; use if ...: print(...)"),
    ("async", "'async' is not supported in craft-repl"),
    ("await", "'await' is not supported in craft-repl"),
    ("nonlocal", "'nonlocal' is not supported in craft-repl"),
];

pub(super) struct Parser {
    t: Tokens,
    depth: Depth,
}

fn keyword(tok: &Tok, word: &str) -> bool {
    matches!(tok, Tok::Ident(name) if name == word)
}

impl Parser {
    pub fn new(toks: Vec<Token>) -> Parser {
        Parser { t: Tokens::new(toks), depth: Depth::with_limit(MAX_NESTING) }
    }

    fn peek(&self) -> &Tok {
        &self.t.peek().tok
    }

    fn pos(&self) -> Pos {
        self.t.peek().pos
    }

    fn is_kw(&self, word: &str) -> bool {
        keyword(self.peek(), word)
    }

    fn eat_kw(&mut self, word: &str) -> bool {
        let found = self.is_kw(word);
        if found {
            self.t.next();
        }
        found
    }

    fn expect_kw(&mut self, word: &str, what: &str) -> Result<(), TextError> {
        if self.eat_kw(word) {
            Ok(())
        } else {
            Err(self.t.unexpected(what))
        }
    }

    pub fn at_eof(&self) -> bool {
        *self.peek() == Tok::Eof
    }

    pub fn expect_eof(&self, what: &str) -> Result<(), TextError> {
        if self.at_eof() {
            Ok(())
        } else {
            Err(self.t.unexpected(what))
        }
    }

    // ---- statements ----

    /// All statements up to the end of the input.
    pub fn module(&mut self) -> Result<Vec<Stmt>, TextError> {
        let mut out = Vec::new();
        while !self.at_eof() {
            if *self.peek() == Tok::Newline {
                self.t.next();
                continue;
            }
            if *self.peek() == Tok::Indent {
                return Err(TextError::at(self.pos(), "unexpected indentation"));
            }
            self.statement(&mut out)?;
        }
        Ok(out)
    }

    /// One statement line (several with ';') or one compound statement, into `out`.
    fn statement(&mut self, out: &mut Vec<Stmt>) -> Result<(), TextError> {
        let pos = self.pos();
        if let Tok::Ident(word) = self.peek().clone() {
            if let Some((_, msg)) = UNSUPPORTED.iter().find(|(k, _)| *k == word) {
                return Err(TextError::at(pos, *msg));
            }
            match word.as_str() {
                "if" => return self.if_stmt(pos).map(|s| out.push(s)),
                "for" => {
                    self.t.next();
                    let target = self.target_list()?;
                    self.expect_kw("in", "'in' after the loop variable, as in for x in xs:")?;
                    let iter = self.expr_list()?;
                    let body = self.suite("for")?;
                    let orelse = self.else_suite()?;
                    out.push(Stmt { pos, kind: StmtKind::For { target, iter, body, orelse } });
                    return Ok(());
                }
                "while" => {
                    self.t.next();
                    let cond = self.test()?;
                    let body = self.suite("while")?;
                    out.push(Stmt { pos, kind: StmtKind::While { cond, body } });
                    return Ok(());
                }
                "def" => {
                    self.t.next();
                    let name = self.name("a function name after def")?;
                    self.t.expect("(", "'(' after the function name")?;
                    let params = self.params(")")?;
                    self.t.expect(")", "')' to close the parameters")?;
                    if self.t.eat("->") {
                        self.test()?;
                    }
                    let body = self.suite("def")?;
                    out.push(Stmt { pos, kind: StmtKind::Def { name, params, body } });
                    return Ok(());
                }
                "try" => {
                    self.t.next();
                    let body = self.suite("try")?;
                    let mut handler = None;
                    while self.eat_kw("except") {
                        let mut bind = None;
                        if !self.t.is(":") {
                            self.test()?;
                            if self.eat_kw("as") {
                                bind = Some(self.name("a name after 'as'")?);
                            }
                        }
                        let h = self.suite("except")?;
                        handler.get_or_insert((bind, h));
                    }
                    let finally = if self.eat_kw("finally") { self.suite("finally")? } else { Vec::new() };
                    if handler.is_none() && finally.is_empty() {
                        return Err(self.t.unexpected("'except' or 'finally' after the try block"));
                    }
                    out.push(Stmt { pos, kind: StmtKind::Try { body, handler, finally } });
                    return Ok(());
                }
                _ => {}
            }
        }
        self.simple_line(out)
    }

    /// `if cond: body [elif ...] [else: ...]`, at `if` or `elif`.
    fn if_stmt(&mut self, pos: Pos) -> Result<Stmt, TextError> {
        self.t.next();
        let cond = self.test()?;
        let body = self.suite("if")?;
        let orelse = if self.is_kw("elif") {
            let p = self.pos();
            vec![self.if_stmt(p)?]
        } else {
            self.else_suite()?
        };
        Ok(Stmt { pos, kind: StmtKind::If { cond, body, orelse } })
    }

    fn else_suite(&mut self) -> Result<Vec<Stmt>, TextError> {
        if self.eat_kw("else") {
            self.suite("else")
        } else {
            Ok(Vec::new())
        }
    }

    /// After a block header: `:` and statements on the same line, or an indented block.
    fn suite(&mut self, header: &str) -> Result<Vec<Stmt>, TextError> {
        self.t.expect(":", &format!("':' to end the {header} line"))?;
        let mut body = Vec::new();
        if *self.peek() != Tok::Newline {
            self.simple_line(&mut body)?;
            return Ok(body);
        }
        self.t.next();
        if *self.peek() != Tok::Indent {
            return Err(self.t.unexpected(&format!("an indented block after the {header} line")));
        }
        self.t.next();
        while !matches!(self.peek(), Tok::Dedent | Tok::Eof) {
            if *self.peek() == Tok::Newline {
                self.t.next();
                continue;
            }
            self.statement(&mut body)?;
        }
        if *self.peek() == Tok::Dedent {
            self.t.next();
        }
        Ok(body)
    }

    /// Simple statements separated by ';', up to the end of the line.
    fn simple_line(&mut self, out: &mut Vec<Stmt>) -> Result<(), TextError> {
        loop {
            out.push(self.simple()?);
            if !self.t.eat(";") {
                break;
            }
            if matches!(self.peek(), Tok::Newline | Tok::Eof) {
                break;
            }
        }
        match self.peek() {
            Tok::Newline => {
                self.t.next();
                Ok(())
            }
            Tok::Eof | Tok::Dedent => Ok(()),
            _ => Err(self.t.unexpected("';' or the end of the line")),
        }
    }

    fn simple(&mut self) -> Result<Stmt, TextError> {
        let pos = self.pos();
        let kind = match self.peek().clone() {
            Tok::Ident(w) if w == "pass" => {
                self.t.next();
                StmtKind::Pass
            }
            Tok::Ident(w) if w == "break" => {
                self.t.next();
                StmtKind::Break
            }
            Tok::Ident(w) if w == "continue" => {
                self.t.next();
                StmtKind::Continue
            }
            Tok::Ident(w) if w == "return" => {
                self.t.next();
                let value = if self.line_ends() { None } else { Some(self.expr_list()?) };
                StmtKind::Return(value)
            }
            Tok::Ident(w) if w == "del" => {
                self.t.next();
                let mut targets = vec![self.primary_expr()?];
                while self.t.eat(",") {
                    targets.push(self.primary_expr()?);
                }
                StmtKind::Del(targets)
            }
            Tok::Ident(w) if w == "global" => {
                self.t.next();
                let mut names = vec![self.name("a name after global")?];
                while self.t.eat(",") {
                    names.push(self.name("a name")?);
                }
                StmtKind::Global(names)
            }
            Tok::Ident(w) if w == "import" => {
                // Modules are accepted and ignored: everything craft-repl has is always there.
                self.t.next();
                loop {
                    self.dotted_name()?;
                    if self.eat_kw("as") {
                        self.name("a name after 'as'")?;
                    }
                    if !self.t.eat(",") {
                        break;
                    }
                }
                StmtKind::Import(Vec::new())
            }
            Tok::Ident(w) if w == "from" => {
                self.t.next();
                self.dotted_name()?;
                self.expect_kw("import", "'import' after the module name")?;
                let mut names = Vec::new();
                if !self.t.eat("*") {
                    let parens = self.t.eat("(");
                    loop {
                        let pos = self.pos();
                        let name = self.name("a name to import")?;
                        let alias = if self.eat_kw("as") { self.name("a name after 'as'")? } else { name.clone() };
                        names.push((name, alias, pos));
                        if !self.t.eat(",") || (parens && self.t.is(")")) {
                            break;
                        }
                    }
                    if parens {
                        self.t.expect(")", "')' to close the imported names")?;
                    }
                }
                StmtKind::Import(names)
            }
            Tok::Ident(w) if matches!(w.as_str(), "else" | "elif" | "except" | "finally") => {
                return Err(TextError::at(pos, format!("'{w}' without a matching block before it")));
            }
            _ => self.expr_stmt()?,
        };
        Ok(Stmt { pos, kind })
    }

    /// `a.b.c`, a module name.
    fn dotted_name(&mut self) -> Result<(), TextError> {
        while self.t.eat(".") {}
        self.name("a module name")?;
        while self.t.eat(".") {
            self.name("a name after '.'")?;
        }
        Ok(())
    }

    fn line_ends(&self) -> bool {
        matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Dedent) || self.t.is(";")
    }

    /// An expression statement, an assignment or an augmented assignment.
    fn expr_stmt(&mut self) -> Result<StmtKind, TextError> {
        let first = self.expr_list()?;
        if let Tok::Punct(p) = self.peek() {
            if let Some(op) = aug_op(p) {
                let op_pos = self.pos();
                self.t.next();
                check_target(&first, false)?;
                if matches!(first.kind, ExprKind::Tuple(_)) {
                    return Err(TextError::at(op_pos, "an augmented assignment takes one target, not a tuple"));
                }
                let value = self.expr_list()?;
                return Ok(StmtKind::AugAssign { target: first, op, value });
            }
        }
        if !self.t.is("=") {
            return Ok(StmtKind::Expr(first));
        }
        let mut targets = vec![first];
        while self.t.eat("=") {
            targets.push(self.expr_list()?);
        }
        let value = targets.pop().unwrap_or(Expr { pos: Pos::START, kind: ExprKind::None });
        for t in &targets {
            check_target(t, true)?;
        }
        Ok(StmtKind::Assign { targets, value })
    }

    fn name(&mut self, what: &str) -> Result<String, TextError> {
        match self.peek().clone() {
            Tok::Ident(n) if !KEYWORDS.contains(&n.as_str()) => {
                self.t.next();
                Ok(n)
            }
            _ => Err(self.t.unexpected(what)),
        }
    }

    /// Parameters of a def or lambda, up to `close` (not taken).
    fn params(&mut self, close: &str) -> Result<Vec<Param>, TextError> {
        let mut params: Vec<Param> = Vec::new();
        while !self.t.is(close) {
            let pos = self.pos();
            let name = self.name("a parameter name")?;
            if self.t.is(":") && close == ")" {
                // An annotation: skipped.
                self.t.next();
                self.test()?;
            }
            let default = if self.t.eat("=") { Some(self.test()?) } else { None };
            if default.is_none() && params.iter().any(|p| p.default.is_some()) {
                return Err(TextError::at(pos, "a parameter without a default cannot follow one with a default"));
            }
            params.push(Param { name, default });
            if !self.t.eat(",") {
                break;
            }
        }
        Ok(params)
    }

    // ---- expressions ----

    /// Targets of a `for`: names, attributes, subscripts, tuples of them.
    fn target_list(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        let first = self.bitor()?;
        let target = if self.t.is(",") {
            let mut items = vec![first];
            while self.t.eat(",") {
                if self.is_kw("in") {
                    break;
                }
                items.push(self.bitor()?);
            }
            Expr { pos, kind: ExprKind::Tuple(items) }
        } else {
            first
        };
        check_target(&target, true)?;
        Ok(target)
    }

    /// `a, b, c` (a tuple) or a single expression.
    pub fn expr_list(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        let first = self.star_or_test()?;
        if !self.t.is(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.t.eat(",") {
            if self.ends_list() {
                break;
            }
            items.push(self.star_or_test()?);
        }
        Ok(Expr { pos, kind: ExprKind::Tuple(items) })
    }

    fn ends_list(&self) -> bool {
        matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Dedent)
            || [")", "]", "}", "=", ";", ":"].iter().any(|p| self.t.is(p))
            || matches!(self.peek(), Tok::Punct(p) if aug_op(p).is_some())
    }

    fn star_or_test(&mut self) -> Result<Expr, TextError> {
        if self.t.is("*") {
            return Err(TextError::at(self.pos(), "starred expressions are only supported in calls: f(*xs)"));
        }
        self.test()
    }

    /// A full expression: a lambda, a conditional expression, or what they are made of.
    pub fn test(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        if self.eat_kw("lambda") {
            let params = self.params(":")?;
            self.t.expect(":", "':' after the lambda's parameters")?;
            self.depth.enter(pos)?;
            let body = self.test()?;
            self.depth.leave();
            return Ok(Expr { pos, kind: ExprKind::Lambda { params, body: Box::new(body) } });
        }
        let value = self.or_test()?;
        if !self.eat_kw("if") {
            return Ok(value);
        }
        let cond = self.or_test()?;
        self.expect_kw("else", "'else' in a conditional expression: a if cond else b")?;
        self.depth.enter(pos)?;
        let orelse = self.test()?;
        self.depth.leave();
        Ok(Expr { pos, kind: ExprKind::IfElse { cond: Box::new(cond), then: Box::new(value), orelse: Box::new(orelse) } })
    }

    /// A test without a conditional expression (comprehension conditions).
    fn or_test(&mut self) -> Result<Expr, TextError> {
        let mut left = self.and_test()?;
        let mut n = 0;
        while self.eat_kw("or") {
            n += 1;
            if n > MAX_CHAIN {
                return Err(TextError::at(self.pos(), format!("more than {MAX_CHAIN} operators in a row: split the expression")));
            }
            let right = self.and_test()?;
            left = Expr { pos: left.pos, kind: ExprKind::Or(Box::new(left), Box::new(right)) };
        }
        Ok(left)
    }

    fn and_test(&mut self) -> Result<Expr, TextError> {
        let mut left = self.not_test()?;
        let mut n = 0;
        while self.eat_kw("and") {
            n += 1;
            if n > MAX_CHAIN {
                return Err(TextError::at(self.pos(), format!("more than {MAX_CHAIN} operators in a row: split the expression")));
            }
            let right = self.not_test()?;
            left = Expr { pos: left.pos, kind: ExprKind::And(Box::new(left), Box::new(right)) };
        }
        Ok(left)
    }

    fn not_test(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        if self.eat_kw("not") {
            self.depth.enter(pos)?;
            let inner = self.not_test()?;
            self.depth.leave();
            return Ok(Expr { pos, kind: ExprKind::Unary(UnOp::Not, Box::new(inner)) });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, TextError> {
        let left = self.bitor()?;
        let mut ops = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Punct("==") => CmpOp::Eq,
                Tok::Punct("!=") => CmpOp::Ne,
                Tok::Punct("<") => CmpOp::Lt,
                Tok::Punct("<=") => CmpOp::Le,
                Tok::Punct(">") => CmpOp::Gt,
                Tok::Punct(">=") => CmpOp::Ge,
                t if keyword(t, "in") => CmpOp::In,
                t if keyword(t, "is") => {
                    self.t.next();
                    let op = if self.eat_kw("not") { CmpOp::IsNot } else { CmpOp::Is };
                    ops.push((op, self.bitor()?));
                    continue;
                }
                t if keyword(t, "not") && keyword(&self.t.nth(1).tok, "in") => {
                    self.t.next();
                    CmpOp::NotIn
                }
                _ => break,
            };
            self.t.next();
            ops.push((op, self.bitor()?));
        }
        if ops.is_empty() {
            return Ok(left);
        }
        Ok(Expr { pos: left.pos, kind: ExprKind::Compare(Box::new(left), ops) })
    }

    /// Left-associative binary operators of one precedence level.
    fn binary(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Parser) -> Result<Expr, TextError>,
    ) -> Result<Expr, TextError> {
        let mut left = next(self)?;
        let mut n = 0;
        loop {
            let Some(op) = ops.iter().find(|(p, _)| self.t.is(p)).map(|(_, op)| *op) else {
                return Ok(left);
            };
            n += 1;
            if n > MAX_CHAIN {
                return Err(TextError::at(self.pos(), format!("more than {MAX_CHAIN} operators in a row: split the expression")));
            }
            self.t.next();
            let right = next(self)?;
            left = Expr { pos: left.pos, kind: ExprKind::Binary(op, Box::new(left), Box::new(right)) };
        }
    }

    fn bitor(&mut self) -> Result<Expr, TextError> {
        self.binary(&[("|", BinOp::BitOr)], Parser::bitxor)
    }

    fn bitxor(&mut self) -> Result<Expr, TextError> {
        self.binary(&[("^", BinOp::BitXor)], Parser::bitand)
    }

    fn bitand(&mut self) -> Result<Expr, TextError> {
        self.binary(&[("&", BinOp::BitAnd)], Parser::shift)
    }

    fn shift(&mut self) -> Result<Expr, TextError> {
        self.binary(&[("<<", BinOp::Shl), (">>", BinOp::Shr)], Parser::arith)
    }

    fn arith(&mut self) -> Result<Expr, TextError> {
        self.binary(&[("+", BinOp::Add), ("-", BinOp::Sub)], Parser::term)
    }

    fn term(&mut self) -> Result<Expr, TextError> {
        let ops = [("*", BinOp::Mul), ("/", BinOp::Div), ("//", BinOp::FloorDiv), ("%", BinOp::Mod)];
        self.binary(&ops, Parser::factor)
    }

    fn factor(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        let op = match self.peek() {
            Tok::Punct("-") => UnOp::Neg,
            Tok::Punct("+") => UnOp::Plus,
            Tok::Punct("~") => UnOp::Invert,
            _ => return self.power(),
        };
        self.t.next();
        self.depth.enter(pos)?;
        let inner = self.factor()?;
        self.depth.leave();
        // Fold signs into literals, so that -9223372036854775808 is one int.
        let kind = match (op, inner.kind) {
            (UnOp::Neg, ExprKind::Int(i)) => ExprKind::Int(-i),
            (UnOp::Neg, ExprKind::Float(f)) => ExprKind::Float(-f),
            (_, kind) => ExprKind::Unary(op, Box::new(Expr { pos: inner.pos, kind })),
        };
        Ok(Expr { pos, kind })
    }

    fn power(&mut self) -> Result<Expr, TextError> {
        let base = self.primary_expr()?;
        if !self.t.eat("**") {
            return Ok(base);
        }
        let exp = self.factor()?;
        Ok(Expr { pos: base.pos, kind: ExprKind::Binary(BinOp::Pow, Box::new(base), Box::new(exp)) })
    }

    /// An atom and its trailers: calls, subscripts, attributes.
    fn primary_expr(&mut self) -> Result<Expr, TextError> {
        let mut e = self.atom()?;
        loop {
            let pos = self.pos();
            if self.t.eat("(") {
                self.depth.enter(pos)?;
                let args = self.call_args()?;
                self.depth.leave();
                e = Expr { pos: e.pos, kind: ExprKind::Call { func: Box::new(e), args } };
            } else if self.t.eat("[") {
                self.depth.enter(pos)?;
                let index = self.subscript()?;
                self.t.expect("]", "']' to close the subscript")?;
                self.depth.leave();
                e = Expr { pos: e.pos, kind: ExprKind::Subscript { value: Box::new(e), index: Box::new(index) } };
            } else if self.t.eat(".") {
                let name_pos = self.pos();
                let Tok::Ident(name) = self.peek().clone() else {
                    return Err(self.t.unexpected("an attribute name after '.'"));
                };
                self.t.next();
                e = Expr { pos: e.pos, kind: ExprKind::Attr { value: Box::new(e), name, name_pos } };
            } else {
                return Ok(e);
            }
        }
    }

    /// Arguments after '(' up to and with ')'.
    fn call_args(&mut self) -> Result<Vec<Arg>, TextError> {
        let mut args: Vec<Arg> = Vec::new();
        loop {
            if self.t.eat(")") {
                return Ok(args);
            }
            let pos = self.pos();
            let arg = if self.t.eat("**") {
                Arg::StarStar(self.test()?)
            } else if self.t.eat("*") {
                Arg::Star(self.test()?)
            } else if let (Tok::Ident(name), Tok::Punct("=")) = (self.peek().clone(), &self.t.nth(1).tok) {
                self.t.next();
                self.t.next();
                if args.iter().any(|a| matches!(a, Arg::Kw { name: n, .. } if *n == name)) {
                    return Err(TextError::at(pos, format!("keyword argument '{name}' repeated")));
                }
                Arg::Kw { name, pos, value: self.test()? }
            } else {
                let value = self.test()?;
                if self.is_kw("for") {
                    let clauses = self.comp_clauses()?;
                    let kind = ExprKind::Comp { kind: CompKind::Gen, elt: Box::new(value), value: None, clauses };
                    Arg::Pos(Expr { pos, kind })
                } else {
                    if args.iter().any(|a| matches!(a, Arg::Kw { .. } | Arg::StarStar(_))) {
                        return Err(TextError::at(pos, "a positional argument cannot follow keyword arguments"));
                    }
                    Arg::Pos(value)
                }
            };
            let bare_name = match &arg {
                Arg::Pos(Expr { kind: ExprKind::Name(n), .. }) => Some(n.clone()),
                _ => None,
            };
            args.push(arg);
            if self.t.eat(",") {
                continue;
            }
            if let (Some(n), false) = (bare_name, self.t.is(")")) {
                // `IP(ttl 3)`: a keyword argument missing its '='.
                return Err(self.t.unexpected(&format!("'=' after {n}, as in {n}=value")));
            }
            self.t.expect(")", "',' or ')' to close the call")?;
            return Ok(args);
        }
    }

    /// An index, a slice `lo:hi:step`, or a tuple of them.
    fn subscript(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        let first = self.slice_item()?;
        if !self.t.is(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.t.eat(",") {
            if self.t.is("]") {
                break;
            }
            items.push(self.slice_item()?);
        }
        Ok(Expr { pos, kind: ExprKind::Tuple(items) })
    }

    fn slice_item(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        let bound = |p: &mut Parser| -> Result<Option<Box<Expr>>, TextError> {
            if p.t.is(":") || p.t.is("]") || p.t.is(",") {
                Ok(None)
            } else {
                Ok(Some(Box::new(p.test()?)))
            }
        };
        let lo = bound(self)?;
        if !self.t.eat(":") {
            return lo.map(|e| *e).ok_or_else(|| self.t.unexpected("an index"));
        }
        let hi = bound(self)?;
        let step = if self.t.eat(":") { bound(self)? } else { None };
        Ok(Expr { pos, kind: ExprKind::Slice { lo, hi, step } })
    }

    fn comp_clauses(&mut self) -> Result<Vec<Clause>, TextError> {
        let mut clauses = Vec::new();
        while self.eat_kw("for") {
            let target = self.target_list()?;
            self.expect_kw("in", "'in' in a comprehension: [x for x in xs]")?;
            let iter = self.or_test()?;
            clauses.push(Clause::For { target, iter });
            while self.eat_kw("if") {
                clauses.push(Clause::If(self.or_test()?));
            }
        }
        Ok(clauses)
    }

    fn atom(&mut self) -> Result<Expr, TextError> {
        let Token { tok, pos } = self.t.peek().clone();
        let kind = match tok {
            Tok::Int(i) => {
                self.t.next();
                ExprKind::Int(i as i128)
            }
            Tok::Float(f) => {
                self.t.next();
                ExprKind::Float(f)
            }
            Tok::Str(_) | Tok::Bytes(_) | Tok::FStr(_) => return self.strings(),
            Tok::Ident(name) => {
                self.t.next();
                match name.as_str() {
                    "None" => ExprKind::None,
                    "True" => ExprKind::Bool(true),
                    "False" => ExprKind::Bool(false),
                    kw if KEYWORDS.contains(&kw) => {
                        return Err(TextError::at(pos, format!("expected an expression, found the keyword '{kw}'")));
                    }
                    _ => ExprKind::Name(name),
                }
            }
            Tok::Punct("(") => {
                self.t.next();
                self.depth.enter(pos)?;
                let e = self.parens(pos)?;
                self.depth.leave();
                return Ok(e);
            }
            Tok::Punct("[") => {
                self.t.next();
                self.depth.enter(pos)?;
                let kind = self.brackets(pos)?;
                self.depth.leave();
                kind
            }
            Tok::Punct("{") => {
                self.t.next();
                self.depth.enter(pos)?;
                let kind = self.braces()?;
                self.depth.leave();
                kind
            }
            _ => return Err(self.t.unexpected("an expression")),
        };
        Ok(Expr { pos, kind })
    }

    /// After '(': `()`, `(x)`, `(x,)`, `(x, y)`, `(x for ...)`.
    fn parens(&mut self, pos: Pos) -> Result<Expr, TextError> {
        if self.t.eat(")") {
            return Ok(Expr { pos, kind: ExprKind::Tuple(Vec::new()) });
        }
        let first = self.star_or_test()?;
        if self.is_kw("for") {
            let clauses = self.comp_clauses()?;
            self.t.expect(")", "')' to close the generator expression")?;
            let kind = ExprKind::Comp { kind: CompKind::Gen, elt: Box::new(first), value: None, clauses };
            return Ok(Expr { pos, kind });
        }
        if self.t.eat(")") {
            return Ok(first);
        }
        self.t.expect(",", "',' or ')'")?;
        let mut items = vec![first];
        while !self.t.is(")") {
            items.push(self.star_or_test()?);
            if !self.t.eat(",") {
                break;
            }
        }
        self.t.expect(")", "',' or ')'")?;
        Ok(Expr { pos, kind: ExprKind::Tuple(items) })
    }

    /// After '[': a list or a list comprehension.
    fn brackets(&mut self, _pos: Pos) -> Result<ExprKind, TextError> {
        if self.t.eat("]") {
            return Ok(ExprKind::List(Vec::new()));
        }
        let first = self.star_or_test()?;
        if self.is_kw("for") {
            let clauses = self.comp_clauses()?;
            self.t.expect("]", "']' to close the list comprehension")?;
            return Ok(ExprKind::Comp { kind: CompKind::List, elt: Box::new(first), value: None, clauses });
        }
        let mut items = vec![first];
        while self.t.eat(",") {
            if self.t.is("]") {
                break;
            }
            items.push(self.star_or_test()?);
        }
        self.t.expect("]", "',' or ']'")?;
        Ok(ExprKind::List(items))
    }

    /// After '{': a dict, a set, or their comprehensions.
    fn braces(&mut self) -> Result<ExprKind, TextError> {
        if self.t.eat("}") {
            return Ok(ExprKind::Dict(Vec::new()));
        }
        let first = self.test()?;
        if self.t.eat(":") {
            let value = self.test()?;
            if self.is_kw("for") {
                let clauses = self.comp_clauses()?;
                self.t.expect("}", "'}' to close the dict comprehension")?;
                let kind = CompKind::Dict;
                return Ok(ExprKind::Comp { kind, elt: Box::new(first), value: Some(Box::new(value)), clauses });
            }
            let mut items = vec![(first, value)];
            while self.t.eat(",") {
                if self.t.is("}") {
                    break;
                }
                let k = self.test()?;
                self.t.expect(":", "':' between a key and its value")?;
                items.push((k, self.test()?));
            }
            self.t.expect("}", "',' or '}'")?;
            return Ok(ExprKind::Dict(items));
        }
        if self.is_kw("for") {
            let clauses = self.comp_clauses()?;
            self.t.expect("}", "'}' to close the set comprehension")?;
            return Ok(ExprKind::Comp { kind: CompKind::Set, elt: Box::new(first), value: None, clauses });
        }
        let mut items = vec![first];
        while self.t.eat(",") {
            if self.t.is("}") {
                break;
            }
            items.push(self.test()?);
        }
        self.t.expect("}", "',' or '}'")?;
        Ok(ExprKind::Set(items))
    }

    /// Adjacent string literals join; f-strings join with plain strings.
    fn strings(&mut self) -> Result<Expr, TextError> {
        let pos = self.pos();
        let mut bytes: Option<Vec<u8>> = None;
        let mut pieces: Vec<FPiece> = Vec::new();
        let mut has_fstr = false;
        let mut has_str = false;
        loop {
            let Token { tok, pos: tpos } = self.t.peek().clone();
            match tok {
                Tok::Bytes(b) => {
                    if has_str || has_fstr {
                        return Err(TextError::at(tpos, "cannot join bytes and str literals"));
                    }
                    bytes.get_or_insert_with(Vec::new).extend_from_slice(&b);
                }
                Tok::Str(s) => {
                    if bytes.is_some() {
                        return Err(TextError::at(tpos, "cannot join bytes and str literals"));
                    }
                    has_str = true;
                    push_lit(&mut pieces, &s);
                }
                Tok::FStr(parts) => {
                    if bytes.is_some() {
                        return Err(TextError::at(tpos, "cannot join bytes and str literals"));
                    }
                    has_fstr = true;
                    for part in parts {
                        match part {
                            FPart::Lit(s) => push_lit(&mut pieces, &s),
                            FPart::Expr { src, pos, conv, spec } => {
                                let expr = self.f_expr(&src, pos)?;
                                pieces.push(FPiece::Expr { expr: Box::new(expr), conv, spec });
                            }
                        }
                    }
                }
                _ => break,
            }
            self.t.next();
        }
        let kind = match bytes {
            Some(b) => ExprKind::Bytes(b),
            None if !has_fstr => match pieces.pop() {
                Some(FPiece::Lit(s)) => ExprKind::Str(s),
                _ => ExprKind::Str(String::new()),
            },
            None => ExprKind::FStr(pieces),
        };
        Ok(Expr { pos, kind })
    }

    /// The expression inside an f-string's braces.
    fn f_expr(&mut self, src: &str, pos: Pos) -> Result<Expr, TextError> {
        self.depth.enter(pos)?;
        let mut inner = Parser { t: Tokens::new(tokenize_from(src, Dialect::Python, pos, false)?), depth: Depth::with_limit(MAX_NESTING) };
        let e = inner.expr_list()?;
        inner.expect_eof("'}' after the f-string's expression")?;
        self.depth.leave();
        Ok(e)
    }
}

fn push_lit(pieces: &mut Vec<FPiece>, s: &str) {
    if let Some(FPiece::Lit(last)) = pieces.last_mut() {
        last.push_str(s);
    } else {
        pieces.push(FPiece::Lit(s.to_string()));
    }
}

fn aug_op(p: &str) -> Option<BinOp> {
    Some(match p {
        "+=" => BinOp::Add,
        "-=" => BinOp::Sub,
        "*=" => BinOp::Mul,
        "/=" => BinOp::Div,
        "//=" => BinOp::FloorDiv,
        "%=" => BinOp::Mod,
        "**=" => BinOp::Pow,
        "|=" => BinOp::BitOr,
        "&=" => BinOp::BitAnd,
        "^=" => BinOp::BitXor,
        "<<=" => BinOp::Shl,
        ">>=" => BinOp::Shr,
        _ => return None,
    })
}

/// Whether an expression can be assigned to: a name, an attribute, a subscript, or (when
/// `tuples`) a tuple or list of those.
fn check_target(e: &Expr, tuples: bool) -> Result<(), TextError> {
    match &e.kind {
        ExprKind::Name(_) | ExprKind::Attr { .. } | ExprKind::Subscript { .. } => Ok(()),
        ExprKind::Tuple(items) | ExprKind::List(items) if tuples => items.iter().try_for_each(|i| check_target(i, true)),
        ExprKind::Call { .. } => Err(TextError::at(e.pos, "cannot assign to a function call")),
        _ => Err(TextError::at(e.pos, "cannot assign to this: a target is a name, x.attr, x[index] or a tuple of them")),
    }
}
