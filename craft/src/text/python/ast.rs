//! The syntax tree of the Python subset: expressions and statements, each with where it
//! starts in the source.

use crate::text::Pos;

/// An expression and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub pos: Pos,
    pub kind: ExprKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    None,
    Bool(bool),
    /// Python ints are unbounded; 128 bits hold every field value and literal craft reads.
    Int(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    FStr(Vec<FPiece>),
    Name(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Set(Vec<Expr>),
    /// `value.name`; `name_pos` is where the name starts.
    Attr { value: Box<Expr>, name: String, name_pos: Pos },
    /// `value[index]`.
    Subscript { value: Box<Expr>, index: Box<Expr> },
    /// `lo:hi:step`, only as a subscript's index.
    Slice { lo: Option<Box<Expr>>, hi: Option<Box<Expr>>, step: Option<Box<Expr>> },
    Call { func: Box<Expr>, args: Vec<Arg> },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `a < b <= c`: each comparison with the operand on its right.
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    IfElse { cond: Box<Expr>, then: Box<Expr>, orelse: Box<Expr> },
    Lambda { params: Vec<Param>, body: Box<Expr> },
    /// `[elt for x in xs if c]`, `(elt for ...)`, `{elt for ...}`, `{k: v for ...}`.
    Comp { kind: CompKind, elt: Box<Expr>, value: Option<Box<Expr>>, clauses: Vec<Clause> },
}

#[derive(Clone, Debug, PartialEq)]
pub enum FPiece {
    Lit(String),
    /// `{expr!conv:spec}`.
    Expr { expr: Box<Expr>, conv: Option<char>, spec: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Pos(Expr),
    /// `name=value`; `pos` is the name's.
    Kw { name: String, pos: Pos, value: Expr },
    /// `*xs`.
    Star(Expr),
    /// `**kw`.
    StarStar(Expr),
}

/// A parameter of a `def` or `lambda`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub default: Option<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Plus,
    Invert,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    BitOr,
    BitXor,
    BitAnd,
    Shl,
    Shr,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompKind {
    List,
    Gen,
    Set,
    Dict,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    For { target: Expr, iter: Expr },
    If(Expr),
}

/// A statement and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub pos: Pos,
    pub kind: StmtKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Expr(Expr),
    /// `a = b = value`: every target, left to right.
    Assign { targets: Vec<Expr>, value: Expr },
    AugAssign { target: Expr, op: BinOp, value: Expr },
    Del(Vec<Expr>),
    Pass,
    Break,
    Continue,
    Return(Option<Expr>),
    If { cond: Expr, body: Vec<Stmt>, orelse: Vec<Stmt> },
    For { target: Expr, iter: Expr, body: Vec<Stmt>, orelse: Vec<Stmt> },
    While { cond: Expr, body: Vec<Stmt> },
    Def { name: String, params: Vec<Param>, body: Vec<Stmt> },
    /// `try:` with `except` handlers (each catching everything, as craft has no exception
    /// classes) and `finally`.
    Try { body: Vec<Stmt>, handler: Option<(Option<String>, Vec<Stmt>)>, finally: Vec<Stmt> },
    /// `import x`, `from x import *` (nothing to do: every name is always there), `from x
    /// import a as b, c`: the names to bind (name, as), each with where it is.
    Import(Vec<(String, String, Pos)>),
    Global(Vec<String>),
}
