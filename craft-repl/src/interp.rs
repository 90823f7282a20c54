//! The interpreter: runs statements of `craft::text::python`'s grammar on [`Val`]s.

use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use craft::layer::{closest, DissectCx};
use craft::packet::LayerKind;
use craft::text::python::*;
use craft::text::{Pos, TextError};

use crate::value::{range_items, Func, FuncBody, PacketList, Val};

/// An error with where it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub pos: Pos,
    pub msg: String,
}

impl From<TextError> for Error {
    fn from(e: TextError) -> Error {
        Error { pos: Pos { line: e.line, col: e.col }, msg: e.msg }
    }
}

/// Why evaluation stopped early: an error, or a loop or function's control flow.
pub enum Flow {
    Error(Error),
    Break,
    Continue,
    Return(Val),
}

pub type R<T> = Result<T, Flow>;

pub fn err<T>(pos: Pos, msg: impl Into<String>) -> R<T> {
    Err(Flow::Error(Error { pos, msg: msg.into() }))
}

/// scapy's `conf`: defaults for the live functions.
#[derive(Clone, Debug)]
pub struct Conf {
    pub iface: Option<String>,
    pub verb: i128,
    pub check_ip_addr: bool,
    pub color: bool,
    /// How every dissection of the session reads UDP payloads (`IP(b"...")`, rdpcap,
    /// sniff, sr answers, show2): the registry's port bindings and those `bind_layers`
    /// added (`split_layers` removed).
    pub dissect: DissectCx,
}

impl Default for Conf {
    fn default() -> Conf {
        Conf { iface: None, verb: 2, check_ip_addr: true, color: false, dissect: DissectCx::default() }
    }
}

/// The names of conf's attributes.
pub const CONF_ATTRS: &[&str] = &["iface", "verb", "checkIPaddr", "color"];

/// Deepest call nesting of user functions.
const MAX_CALLS: usize = 100;

/// A session's state: variables, conf, where output goes.
pub struct Interp {
    pub globals: HashMap<String, Val>,
    frames: Vec<HashMap<String, Val>>,
    pub conf: Conf,
    pub out: Box<dyn Write>,
    /// Whether expression statements print their repr (interactive and piped input).
    pub echo: bool,
    /// No live I/O and no files (fuzzing): those calls fail instead.
    pub sandbox: bool,
    /// Statements and loop rounds left to run, if bounded (fuzzing).
    pub steps: Option<u64>,
    /// The live functions' sockets and state, kept between calls.
    pub live: crate::live::Live,
}

impl Interp {
    pub fn new(out: Box<dyn Write>) -> Interp {
        Interp { globals: HashMap::new(), frames: Vec::new(), conf: Conf::default(), out, echo: false, sandbox: false, steps: None, live: Default::default() }
    }

    /// Runs source text (a line, a block, a script); bare expressions echo their repr.
    pub fn run(&mut self, src: &str) -> Result<(), Error> {
        let stmts = parse_module(src)?;
        for s in &stmts {
            // What AsyncSniffers captured meanwhile, between statements.
            if !self.live.sniffers.is_empty() {
                for e in crate::sniffer::pump(self, usize::MAX).errors {
                    eprint!("{e}");
                }
            }
            match self.exec(s) {
                Ok(()) => {}
                Err(Flow::Error(e)) => return Err(e),
                Err(Flow::Break | Flow::Continue) => {
                    return Err(Error { pos: s.pos, msg: "'break' or 'continue' outside a loop".into() })
                }
                Err(Flow::Return(_)) => return Err(Error { pos: s.pos, msg: "'return' outside a function".into() }),
            }
        }
        Ok(())
    }

    /// Fails when the session may not do `what` (live I/O, files): in a sandbox.
    pub fn allow(&self, what: &str, pos: Pos) -> R<()> {
        if self.sandbox {
            return err(pos, format!("{what} is not allowed in this session"));
        }
        Ok(())
    }

    /// Writes to the session's output; a closed pipe is not an error worth stopping for.
    pub fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn exec_block(&mut self, body: &[Stmt]) -> R<()> {
        for s in body {
            self.exec(s)?;
        }
        Ok(())
    }

    /// Counts one step against the budget, if there is one; checks for Ctrl-C.
    fn step(&mut self, pos: Pos) -> R<()> {
        if let Some(n) = &mut self.steps {
            if *n == 0 {
                return err(pos, "the step budget is spent");
            }
            *n -= 1;
        }
        crate::signal::check(pos)
    }

    fn exec(&mut self, s: &Stmt) -> R<()> {
        self.step(s.pos)?;
        match &s.kind {
            StmtKind::Expr(e) => {
                let v = self.eval(e)?;
                if self.echo && self.frames.is_empty() && !matches!(v, Val::None) {
                    let text = v.repr();
                    self.print(&format!("{text}\n"));
                    self.globals.insert("_".into(), v);
                }
            }
            StmtKind::Assign { targets, value } => {
                let v = self.eval(value)?;
                for t in targets {
                    self.assign(t, v.clone())?;
                }
            }
            StmtKind::AugAssign { target, op, value } => {
                let cur = self.eval(target)?;
                let rhs = self.eval(value)?;
                let v = self.augmented(*op, cur, rhs, s.pos)?;
                self.assign(target, v)?;
            }
            StmtKind::Del(targets) => {
                for t in targets {
                    self.delete(t)?;
                }
            }
            StmtKind::Pass | StmtKind::Global(_) => {}
            StmtKind::Import(names) => {
                for (name, alias, pos) in names {
                    match self.lookup(name) {
                        Some(v) => self.set_var(alias, v),
                        None => return err(*pos, format!("cannot import name '{name}': craft-repl has no such layer or function")),
                    }
                }
            }
            StmtKind::Break => return Err(Flow::Break),
            StmtKind::Continue => return Err(Flow::Continue),
            StmtKind::Return(v) => {
                let v = match v {
                    Some(e) => self.eval(e)?,
                    None => Val::None,
                };
                return Err(Flow::Return(v));
            }
            StmtKind::If { cond, body, orelse } => {
                if self.eval(cond)?.truthy() {
                    self.exec_block(body)?;
                } else {
                    self.exec_block(orelse)?;
                }
            }
            StmtKind::For { target, iter, body, orelse } => {
                let items = self.iterate(iter)?;
                let mut broke = false;
                for item in items {
                    self.assign(target, item)?;
                    match self.exec_block(body) {
                        Ok(()) | Err(Flow::Continue) => {}
                        Err(Flow::Break) => {
                            broke = true;
                            break;
                        }
                        Err(other) => return Err(other),
                    }
                }
                if !broke {
                    self.exec_block(orelse)?;
                }
            }
            StmtKind::While { cond, body } => {
                while self.eval(cond)?.truthy() {
                    self.step(s.pos)?;
                    match self.exec_block(body) {
                        Ok(()) | Err(Flow::Continue) => {}
                        Err(Flow::Break) => break,
                        Err(other) => return Err(other),
                    }
                }
            }
            StmtKind::Def { name, params, body } => {
                let defaults = self.defaults(params)?;
                let f = Func { name: name.clone(), params: params.clone(), defaults, body: FuncBody::Block(body.clone()) };
                self.set_var(name, Val::Func(Rc::new(f)));
            }
            StmtKind::Try { body, handler, finally } => {
                let r = self.exec_block(body);
                let r = match (r, handler) {
                    (Err(Flow::Error(e)), Some((bind, h))) => {
                        if let Some(name) = bind {
                            self.set_var(name, Val::str(e.msg.as_str()));
                        }
                        self.exec_block(h)
                    }
                    (r, _) => r,
                };
                self.exec_block(finally)?;
                r?;
            }
        }
        Ok(())
    }

    fn defaults(&mut self, params: &[Param]) -> R<Vec<Option<Val>>> {
        params.iter().map(|p| p.default.as_ref().map(|d| self.eval(d)).transpose()).collect()
    }

    // ---- names ----

    fn set_var(&mut self, name: &str, v: Val) {
        match self.frames.last_mut() {
            Some(frame) => {
                frame.insert(name.to_string(), v);
            }
            None => {
                self.globals.insert(name.to_string(), v);
            }
        }
    }

    /// A variable, a layer class, a built-in; None if the name means nothing.
    pub fn lookup(&self, name: &str) -> Option<Val> {
        if let Some(v) = self.frames.last().and_then(|f| f.get(name)) {
            return Some(v.clone());
        }
        if let Some(v) = self.globals.get(name) {
            return Some(v.clone());
        }
        if let Some(k) = LayerKind::from_name(name) {
            return Some(Val::Class(k));
        }
        crate::builtins::lookup(name)
    }

    /// Every name a user can type now, for completion and hints.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.globals.keys().cloned().collect();
        out.extend(LayerKind::ALL.iter().map(|k| k.name().to_string()));
        out.extend(crate::builtins::NAMES.iter().map(|s| s.to_string()));
        out.sort();
        out.dedup();
        out
    }

    fn unknown_name(&self, name: &str, pos: Pos) -> Flow {
        // The user's own names first: 'pp' is more likely 'p' than 'IP'.
        let mut vars: Vec<&str> = self.globals.keys().map(String::as_str).collect();
        vars.extend(self.frames.last().into_iter().flat_map(|f| f.keys().map(String::as_str)));
        let names = self.names();
        let msg = match closest(name, vars.into_iter()).or_else(|| closest(name, names.iter().map(String::as_str))) {
            Some(c) => format!("name '{name}' is not defined; did you mean '{c}'?"),
            None => format!("name '{name}' is not defined"),
        };
        Flow::Error(Error { pos, msg })
    }

    // ---- assignment ----

    fn assign(&mut self, target: &Expr, v: Val) -> R<()> {
        match &target.kind {
            ExprKind::Name(n) => {
                self.set_var(n, v);
                Ok(())
            }
            ExprKind::Attr { value, name, name_pos } => {
                let obj = self.eval(value)?;
                crate::attrs::set_attr(self, &obj, name, v, *name_pos)
            }
            ExprKind::Subscript { value, index } => {
                let obj = self.eval(value)?;
                let idx = self.eval(index)?;
                self.set_item(&obj, idx, v, target.pos)
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                let vals = self.iter_val(&v, target.pos)?;
                if vals.len() != items.len() {
                    let msg = if vals.len() > items.len() {
                        format!("too many values to unpack (expected {})", items.len())
                    } else {
                        format!("not enough values to unpack (expected {}, got {})", items.len(), vals.len())
                    };
                    return err(target.pos, msg);
                }
                for (t, v) in items.iter().zip(vals) {
                    self.assign(t, v)?;
                }
                Ok(())
            }
            _ => err(target.pos, "cannot assign to this"),
        }
    }

    fn set_item(&mut self, obj: &Val, idx: Val, v: Val, pos: Pos) -> R<()> {
        match obj {
            Val::List(l) => {
                let n = l.borrow().len();
                let i = index_of(&idx, n, pos)?;
                l.borrow_mut()[i] = v;
                Ok(())
            }
            Val::Dict(d) => {
                let mut d = d.borrow_mut();
                match d.iter_mut().find(|(k, _)| k.py_eq(&idx)) {
                    Some(slot) => slot.1 = v,
                    None => d.push((idx, v)),
                }
                Ok(())
            }
            other => err(pos, format!("'{}' object does not support item assignment", other.type_name())),
        }
    }

    fn delete(&mut self, target: &Expr) -> R<()> {
        match &target.kind {
            ExprKind::Name(n) => {
                let removed = match self.frames.last_mut() {
                    Some(f) => f.remove(n),
                    None => self.globals.remove(n),
                };
                match removed {
                    Some(_) => Ok(()),
                    None => Err(self.unknown_name(n, target.pos)),
                }
            }
            ExprKind::Attr { value, name, name_pos } => {
                let obj = self.eval(value)?;
                crate::attrs::del_attr(&obj, name, *name_pos)
            }
            ExprKind::Subscript { value, index } => {
                let obj = self.eval(value)?;
                let idx = self.eval(index)?;
                match &obj {
                    Val::List(l) => {
                        let n = l.borrow().len();
                        let i = index_of(&idx, n, target.pos)?;
                        l.borrow_mut().remove(i);
                        Ok(())
                    }
                    Val::Dict(d) => {
                        let mut d = d.borrow_mut();
                        match d.iter().position(|(k, _)| k.py_eq(&idx)) {
                            Some(i) => {
                                d.remove(i);
                                Ok(())
                            }
                            None => err(target.pos, format!("KeyError: {}", idx.repr())),
                        }
                    }
                    other => err(target.pos, format!("'{}' object does not support item deletion", other.type_name())),
                }
            }
            _ => err(target.pos, "cannot delete this"),
        }
    }

    // ---- expressions ----

    pub fn eval(&mut self, e: &Expr) -> R<Val> {
        Ok(match &e.kind {
            ExprKind::None => Val::None,
            ExprKind::Bool(b) => Val::Bool(*b),
            ExprKind::Int(i) => Val::Int(*i),
            ExprKind::Float(f) => Val::Float(*f),
            ExprKind::Str(s) => Val::str(s.as_str()),
            ExprKind::Bytes(b) => Val::bytes(b.as_slice()),
            ExprKind::FStr(pieces) => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        FPiece::Lit(t) => s.push_str(t),
                        FPiece::Expr { expr, conv, spec } => {
                            let v = self.eval(expr)?;
                            let v = match conv {
                                Some('r') | Some('a') => Val::str(v.repr()),
                                Some('s') => Val::str(v.to_str()),
                                _ => v,
                            };
                            let text = if spec.is_empty() {
                                v.to_str()
                            } else {
                                crate::format::format_spec(&v, spec).map_err(|m| Flow::Error(Error { pos: expr.pos, msg: m }))?
                            };
                            s.push_str(&text);
                        }
                    }
                }
                Val::str(s)
            }
            ExprKind::Name(n) => match self.lookup(n) {
                Some(v) => v,
                None => return Err(self.unknown_name(n, e.pos)),
            },
            ExprKind::List(items) => Val::list(self.eval_all(items)?),
            ExprKind::Tuple(items) => Val::tuple(self.eval_all(items)?),
            ExprKind::Set(items) => {
                let mut out: Vec<Val> = Vec::new();
                for v in self.eval_all(items)? {
                    if !out.iter().any(|x| x.py_eq(&v)) {
                        out.push(v);
                    }
                }
                Val::Set(Rc::new(out.into()))
            }
            ExprKind::Dict(items) => {
                let mut out: Vec<(Val, Val)> = Vec::new();
                for (k, v) in items {
                    let k = self.eval(k)?;
                    let v = self.eval(v)?;
                    match out.iter_mut().find(|(x, _)| x.py_eq(&k)) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Val::Dict(Rc::new(out.into()))
            }
            ExprKind::Attr { value, name, name_pos } => {
                let obj = self.eval(value)?;
                crate::attrs::get_attr(self, &obj, name, *name_pos)?
            }
            ExprKind::Subscript { value, index } => {
                let obj = self.eval(value)?;
                if let ExprKind::Slice { lo: Some(cls), hi: Some(nth), step: None } = &index.kind {
                    // scapy's p[TCP:2]: the second TCP layer.
                    if let (Val::Packet(p), Val::Class(k)) = (&obj, self.eval(cls)?) {
                        let n = self.eval(nth)?.as_int().unwrap_or(1).max(1) as usize;
                        let pkt = p.pkt.borrow();
                        let found = (p.start..pkt.packet.layers.len()).filter(|&i| pkt.packet.layers[i].kind() == k).nth(n - 1);
                        return match found {
                            Some(i) => Ok(Val::Packet(crate::value::PktRef { pkt: p.pkt.clone(), start: i })),
                            None => err(index.pos, format!("layer [{}:{n}] not found", k.name())),
                        };
                    }
                }
                if let ExprKind::Slice { lo, hi, step } = &index.kind {
                    let b = |me: &mut Interp, x: &Option<Box<Expr>>| -> R<Option<i128>> {
                        match x {
                            None => Ok(None),
                            Some(x) => match me.eval(x)? {
                                Val::None => Ok(None),
                                v => v.as_int().map(Some).ok_or(()).or_else(|_| err(x.pos, "slice indices must be integers")),
                            },
                        }
                    };
                    let (lo, hi, step) = (b(self, lo)?, b(self, hi)?, b(self, step)?);
                    return crate::attrs::slice(&obj, lo, hi, step, e.pos);
                }
                let idx = self.eval(index)?;
                crate::attrs::get_item(self, &obj, &idx, index.pos)?
            }
            ExprKind::Slice { .. } => return err(e.pos, "a slice is only allowed inside [ ]"),
            ExprKind::Call { func, args } => {
                let f = self.eval(func)?;
                let mut pos_args = Vec::new();
                let mut kw_args = Vec::new();
                for a in args {
                    match a {
                        Arg::Pos(x) => pos_args.push((self.eval(x)?, x.pos)),
                        Arg::Kw { name, pos, value } => kw_args.push(KwArg { name: name.clone(), pos: *pos, value: self.eval(value)? }),
                        Arg::Star(x) => {
                            let v = self.eval(x)?;
                            for item in self.iter_val(&v, x.pos)? {
                                pos_args.push((item, x.pos));
                            }
                        }
                        Arg::StarStar(x) => match self.eval(x)? {
                            Val::Dict(d) => {
                                for (k, v) in d.borrow().iter() {
                                    let Val::Str(name) = k else { return err(x.pos, "keywords must be strings") };
                                    kw_args.push(KwArg { name: name.to_string(), pos: x.pos, value: v.clone() });
                                }
                            }
                            other => return err(x.pos, format!("argument after ** must be a dict, not {}", other.type_name())),
                        },
                    }
                }
                self.call(&f, Args { pos: pos_args, kw: kw_args, at: e.pos, callee: func.pos })?
            }
            ExprKind::Unary(op, x) => {
                let v = self.eval(x)?;
                match (op, &v) {
                    (UnOp::Not, v) => Val::Bool(!v.truthy()),
                    (UnOp::Neg, Val::Float(f)) => Val::Float(-f),
                    (UnOp::Plus, Val::Float(f)) => Val::Float(*f),
                    (UnOp::Neg, v) if v.as_int().is_some() => match v.as_int().unwrap_or(0).checked_neg() {
                        Some(n) => Val::Int(n),
                        None => return err(e.pos, "integer overflow: craft-repl's ints hold 128 bits"),
                    },
                    (UnOp::Plus, v) if v.as_int().is_some() => Val::Int(v.as_int().unwrap_or(0)),
                    (UnOp::Invert, v) if v.as_int().is_some() => Val::Int(!v.as_int().unwrap_or(0)),
                    _ => return err(e.pos, format!("bad operand type for unary operator: '{}'", v.type_name())),
                }
            }
            ExprKind::Binary(op, a, b) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                crate::ops::binary(*op, x, y, e.pos)?
            }
            ExprKind::Compare(first, ops) => {
                let mut left = self.eval(first)?;
                for (op, rhs) in ops {
                    let right = self.eval(rhs)?;
                    if !crate::ops::compare(self, *op, &left, &right, rhs.pos)? {
                        return Ok(Val::Bool(false));
                    }
                    left = right;
                }
                Val::Bool(true)
            }
            ExprKind::And(a, b) => {
                let x = self.eval(a)?;
                if !x.truthy() {
                    x
                } else {
                    self.eval(b)?
                }
            }
            ExprKind::Or(a, b) => {
                let x = self.eval(a)?;
                if x.truthy() {
                    x
                } else {
                    self.eval(b)?
                }
            }
            ExprKind::IfElse { cond, then, orelse } => {
                if self.eval(cond)?.truthy() {
                    self.eval(then)?
                } else {
                    self.eval(orelse)?
                }
            }
            ExprKind::Lambda { params, body } => {
                let defaults = self.defaults(params)?;
                let f = Func { name: "<lambda>".into(), params: params.clone(), defaults, body: FuncBody::Lambda((**body).clone()) };
                Val::Func(Rc::new(f))
            }
            ExprKind::Comp { kind, elt, value, clauses } => {
                let mut out = Vec::new();
                self.comprehension(clauses, &mut |me| {
                    let k = me.eval(elt)?;
                    let v = match value {
                        Some(v) => Some(me.eval(v)?),
                        None => None,
                    };
                    out.push((k, v));
                    Ok(())
                })?;
                match kind {
                    CompKind::List | CompKind::Gen => Val::list(out.into_iter().map(|(k, _)| k).collect()),
                    CompKind::Set => {
                        let mut items: Vec<Val> = Vec::new();
                        for (k, _) in out {
                            if !items.iter().any(|x| x.py_eq(&k)) {
                                items.push(k);
                            }
                        }
                        Val::Set(Rc::new(items.into()))
                    }
                    CompKind::Dict => {
                        let mut items: Vec<(Val, Val)> = Vec::new();
                        for (k, v) in out {
                            let v = v.unwrap_or(Val::None);
                            match items.iter_mut().find(|(x, _)| x.py_eq(&k)) {
                                Some(slot) => slot.1 = v,
                                None => items.push((k, v)),
                            }
                        }
                        Val::Dict(Rc::new(items.into()))
                    }
                }
            }
        })
    }

    fn eval_all(&mut self, items: &[Expr]) -> R<Vec<Val>> {
        items.iter().map(|x| self.eval(x)).collect()
    }

    /// Runs `body` for each binding the comprehension's clauses make. Comprehension
    /// variables live in the current scope (Python 2's rule; harmless at a prompt).
    fn comprehension(&mut self, clauses: &[Clause], body: &mut dyn FnMut(&mut Interp) -> R<()>) -> R<()> {
        let Some((first, rest)) = clauses.split_first() else {
            return body(self);
        };
        match first {
            Clause::For { target, iter } => {
                for item in self.iterate(iter)? {
                    self.step(iter.pos)?;
                    self.assign(target, item)?;
                    self.comprehension(rest, body)?;
                }
                Ok(())
            }
            Clause::If(cond) => {
                if self.eval(cond)?.truthy() {
                    self.comprehension(rest, body)?;
                }
                Ok(())
            }
        }
    }

    fn iterate(&mut self, e: &Expr) -> R<Vec<Val>> {
        let v = self.eval(e)?;
        self.iter_val(&v, e.pos)
    }

    /// The items of an iterable value.
    pub fn iter_val(&self, v: &Val, pos: Pos) -> R<Vec<Val>> {
        Ok(match v {
            Val::List(l) | Val::Set(l) => l.borrow().clone(),
            Val::Tuple(t) => t.to_vec(),
            Val::Dict(d) => d.borrow().iter().map(|(k, _)| k.clone()).collect(),
            Val::Str(s) => s.chars().map(|c| Val::str(c.to_string())).collect(),
            Val::Bytes(b) => b.iter().map(|&x| Val::Int(x as i128)).collect(),
            Val::Range(a, b, c) => {
                if crate::value::range_len(*a, *b, *c) > crate::value::MAX_ITEMS as i128 {
                    return err(pos, format!("{} has more than {} items: too many to go through", v.repr(), crate::value::MAX_ITEMS));
                }
                range_items(*a, *b, *c).into_iter().map(Val::Int).collect()
            }
            Val::Packets(l) => l.items.borrow().clone(),
            Val::Packet(r) => r.to_pkt().expand().into_iter().map(Val::packet).collect(),
            other => return err(pos, format!("'{}' object is not iterable", other.type_name())),
        })
    }

    fn augmented(&mut self, op: BinOp, cur: Val, rhs: Val, pos: Pos) -> R<Val> {
        // Lists grow in place, as in Python.
        if let (BinOp::Add, Val::List(l)) = (op, &cur) {
            let items = self.iter_val(&rhs, pos)?;
            l.borrow_mut().extend(items);
            return Ok(cur);
        }
        crate::ops::binary(op, cur, rhs, pos)
    }

    // ---- calls ----

    pub fn call(&mut self, f: &Val, args: Args) -> R<Val> {
        match f {
            Val::Builtin(name) => crate::builtins::call(self, name, args),
            Val::Type(name) => crate::builtins::call(self, name, args),
            Val::Class(kind) => crate::packets::construct(self, *kind, args),
            Val::Method(recv, name) => crate::methods::call(self, recv, name, args),
            Val::Func(func) => self.call_func(func, args),
            other => err(args.callee, format!("'{}' object is not callable", other.type_name())),
        }
    }

    fn call_func(&mut self, f: &Rc<Func>, args: Args) -> R<Val> {
        if self.frames.len() >= MAX_CALLS {
            return err(args.at, "maximum recursion depth exceeded");
        }
        self.step(args.at)?;
        let mut frame = HashMap::new();
        if args.pos.len() > f.params.len() {
            let msg = format!("{}() takes {} positional arguments but {} were given", f.name, f.params.len(), args.pos.len());
            return err(args.at, msg);
        }
        for (p, (v, _)) in f.params.iter().zip(args.pos) {
            frame.insert(p.name.clone(), v);
        }
        for kw in args.kw {
            if !f.params.iter().any(|p| p.name == kw.name) {
                let hint = closest(&kw.name, f.params.iter().map(|p| p.name.as_str()))
                    .map_or(String::new(), |c| format!("; did you mean '{c}'?"));
                return err(kw.pos, format!("{}() got an unexpected keyword argument '{}'{hint}", f.name, kw.name));
            }
            frame.insert(kw.name, kw.value);
        }
        for (p, d) in f.params.iter().zip(&f.defaults) {
            if !frame.contains_key(&p.name) {
                match d {
                    Some(v) => {
                        frame.insert(p.name.clone(), v.clone());
                    }
                    None => return err(args.at, format!("{}() missing required argument: '{}'", f.name, p.name)),
                }
            }
        }
        self.frames.push(frame);
        let r = match &f.body {
            FuncBody::Lambda(e) => self.eval(e),
            FuncBody::Block(body) => match self.exec_block(body) {
                Ok(()) => Ok(Val::None),
                Err(Flow::Return(v)) => Ok(v),
                Err(Flow::Break | Flow::Continue) => err(args.at, "'break' or 'continue' outside a loop"),
                Err(e) => Err(e),
            },
        };
        self.frames.pop();
        r
    }

    /// Calls a user-given callable (prn=, lfilter=) with one value.
    pub fn call1(&mut self, f: &Val, v: Val, at: Pos) -> R<Val> {
        self.call(f, Args { pos: vec![(v, at)], kw: Vec::new(), at, callee: at })
    }

    /// A list of packets scapy would name `name`.
    pub fn packet_list(name: &'static str, items: Vec<Val>) -> Val {
        Val::Packets(Rc::new(PacketList { name, items: std::cell::RefCell::new(items) }))
    }
}

/// A keyword argument.
#[derive(Clone, Debug)]
pub struct KwArg {
    pub name: String,
    pub pos: Pos,
    pub value: Val,
}

/// A call's arguments, with where they are.
#[derive(Clone, Debug)]
pub struct Args {
    pub pos: Vec<(Val, Pos)>,
    pub kw: Vec<KwArg>,
    /// The call.
    pub at: Pos,
    /// The called expression.
    pub callee: Pos,
}

/// A Python index into a sequence of `n`: negative counts from the end.
pub fn index_of(idx: &Val, n: usize, pos: Pos) -> R<usize> {
    let Some(i) = idx.as_int() else {
        return err(pos, format!("indices must be integers, not {}", idx.type_name()));
    };
    let j = if i < 0 { i + n as i128 } else { i };
    if j < 0 || j >= n as i128 {
        return err(pos, format!("index {i} is out of range (length {n})"));
    }
    Ok(j as usize)
}
