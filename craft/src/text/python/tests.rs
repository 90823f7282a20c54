use super::*;

/// A compact form of an expression tree, to compare with what is expected.
fn sx(e: &Expr) -> String {
    let list = |items: &[Expr]| items.iter().map(sx).collect::<Vec<_>>().join(" ");
    match &e.kind {
        ExprKind::None => "None".into(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => format!("{f:?}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
        ExprKind::FStr(pieces) => {
            let p: Vec<String> = pieces
                .iter()
                .map(|p| match p {
                    FPiece::Lit(s) => format!("{s:?}"),
                    FPiece::Expr { expr, conv, spec } => format!("{{{} {conv:?} {spec:?}}}", sx(expr)),
                })
                .collect();
            format!("(f {})", p.join(" "))
        }
        ExprKind::Name(n) => n.clone(),
        ExprKind::List(items) => format!("[{}]", list(items)),
        ExprKind::Tuple(items) => format!("(tuple {})", list(items)),
        ExprKind::Set(items) => format!("(set {})", list(items)),
        ExprKind::Dict(items) => {
            format!("{{{}}}", items.iter().map(|(k, v)| format!("{}:{}", sx(k), sx(v))).collect::<Vec<_>>().join(" "))
        }
        ExprKind::Attr { value, name, .. } => format!("(. {} {name})", sx(value)),
        ExprKind::Subscript { value, index } => format!("([] {} {})", sx(value), sx(index)),
        ExprKind::Slice { lo, hi, step } => {
            let b = |x: &Option<Box<Expr>>| x.as_ref().map_or("_".to_string(), |e| sx(e));
            format!("(: {} {} {})", b(lo), b(hi), b(step))
        }
        ExprKind::Call { func, args } => {
            let a: Vec<String> = args
                .iter()
                .map(|a| match a {
                    Arg::Pos(e) => sx(e),
                    Arg::Kw { name, value, .. } => format!("{name}={}", sx(value)),
                    Arg::Star(e) => format!("*{}", sx(e)),
                    Arg::StarStar(e) => format!("**{}", sx(e)),
                })
                .collect();
            format!("(call {} {})", sx(func), a.join(" "))
        }
        ExprKind::Unary(op, e) => format!("({op:?} {})", sx(e)),
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), sx(a), sx(b)),
        ExprKind::Compare(a, ops) => {
            let rest: Vec<String> = ops.iter().map(|(op, e)| format!("{op:?} {}", sx(e))).collect();
            format!("(cmp {} {})", sx(a), rest.join(" "))
        }
        ExprKind::And(a, b) => format!("(and {} {})", sx(a), sx(b)),
        ExprKind::Or(a, b) => format!("(or {} {})", sx(a), sx(b)),
        ExprKind::IfElse { cond, then, orelse } => format!("(if {} {} {})", sx(cond), sx(then), sx(orelse)),
        ExprKind::Lambda { params, body } => {
            format!("(lambda {} {})", params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(","), sx(body))
        }
        ExprKind::Comp { kind, elt, value, clauses } => {
            let c: Vec<String> = clauses
                .iter()
                .map(|c| match c {
                    Clause::For { target, iter } => format!("for {} in {}", sx(target), sx(iter)),
                    Clause::If(e) => format!("if {}", sx(e)),
                })
                .collect();
            let v = value.as_ref().map_or(String::new(), |v| format!(":{}", sx(v)));
            format!("({kind:?} {}{v} {})", sx(elt), c.join(" "))
        }
    }
}

fn ex(src: &str) -> String {
    sx(&parse_expression(src).unwrap_or_else(|e| panic!("{src}: {e}")))
}

fn ex_err(src: &str) -> String {
    parse_expression(src).unwrap_err().to_string()
}

fn stmts(src: &str) -> Vec<Stmt> {
    parse_module(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn st_err(src: &str) -> String {
    parse_module(src).unwrap_err().to_string()
}

#[test]
fn layer_expressions() {
    assert_eq!(
        ex("Ether(dst='02:00:00:00:00:33')/IP(dst=\"10.0.0.2\", ttl=3)/TCP(flags='S')/b'\\x00'"),
        "(/ (/ (/ (call Ether dst=\"02:00:00:00:00:33\") (call IP dst=\"10.0.0.2\" ttl=3)) (call TCP flags=\"S\")) b\"\\0\")"
    );
    assert_eq!(ex("IP(b'E', ttl=3)"), "(call IP b\"E\" ttl=3)");
    assert_eq!(ex("'katran test pkt'*100"), "(* \"katran test pkt\" 100)");
}

#[test]
fn precedence() {
    assert_eq!(ex("1 + 2 * 3 ** -2"), "(+ 1 (* 2 (** 3 -2)))");
    assert_eq!(ex("-2 ** 2"), "(Neg (** 2 2))");
    assert_eq!(ex("a or b and not c"), "(or a (and b (Not c)))");
    assert_eq!(ex("TCP in p and p[TCP].flags & 0x12 == 0x12"), "(and (cmp TCP In p) (cmp (& (. ([] p TCP) flags) 18) Eq 18))");
    assert_eq!(ex("a < b <= c"), "(cmp a Lt b Le c)");
    assert_eq!(ex("x not in y"), "(cmp x NotIn y)");
    assert_eq!(ex("x is not None"), "(cmp x IsNot None)");
    assert_eq!(ex("1 if a else 2"), "(if a 1 2)");
    assert_eq!(ex("lambda p: p.summary()"), "(lambda p (call (. p summary) ))");
    assert_eq!(ex("a | b ^ c & d << 1"), "(| a (^ b (& c (<< d 1))))");
    assert_eq!(ex("~x // 2 % 3"), "(% (// (Invert x) 2) 3)");
}

#[test]
fn containers_and_trailers() {
    assert_eq!(ex("[]"), "[]");
    assert_eq!(ex("(1,)"), "(tuple 1)");
    assert_eq!(ex("(1)"), "1");
    assert_eq!(ex("1, 2"), "(tuple 1 2)");
    assert_eq!(ex("{'a': 1, 2: b}"), "{\"a\":1 2:b}");
    assert_eq!(ex("{1, 2}"), "(set 1 2)");
    assert_eq!(ex("x[1:], x[::2], x[:-1]"), "(tuple ([] x (: 1 _ _)) ([] x (: _ _ 2)) ([] x (: _ -1 _)))");
    assert_eq!(ex("[p[IP].src for p in pkts if TCP in p]"), "(List (. ([] p IP) src) for p in pkts if (cmp TCP In p))");
    assert_eq!(ex("sum(len(p) for p in ps)"), "(call sum (Gen (call len p) for p in ps))");
    assert_eq!(ex("{k: v for k, v in d}"), "(Dict k:v for (tuple k v) in d)");
    assert_eq!(ex("f(*a, **k)"), "(call f *a **k)");
    assert_eq!(ex("bytes.fromhex('00')"), "(call (. bytes fromhex) \"00\")");
}

#[test]
fn strings_and_f_strings() {
    assert_eq!(ex("'a' 'b'"), "\"ab\"");
    assert_eq!(ex("f'{p.ttl}'"), "(f {(. p ttl) None \"\"})");
    assert_eq!(ex("'x=' f'{a!r:>4}' 'y'"), "(f \"x=\" {a Some('r') \">4\"} \"y\")");
    assert_eq!(ex_err("b'a' 'b'"), "1:6: cannot join bytes and str literals");
    assert_eq!(ex_err("f'{a b}'"), "1:6: expected '}' after the f-string's expression, found 'b'");
    assert_eq!(ex("1.5e3"), "1500.0");
}

#[test]
fn statements() {
    let s = stmts("p = IP()/TCP(); p[IP].ttl = 1\nans, unans = sr(p)\np /= 'x'\ndel p[IP].chksum\nimport os\nfrom scapy.all import *\n");
    assert_eq!(s.len(), 7);
    assert!(matches!(&s[0].kind, StmtKind::Assign { targets, .. } if targets.len() == 1));
    assert!(matches!(&s[2].kind, StmtKind::Assign { targets, .. } if matches!(targets[0].kind, ExprKind::Tuple(_))));
    assert!(matches!(&s[3].kind, StmtKind::AugAssign { op: BinOp::Div, .. }));
    assert!(matches!(&s[4].kind, StmtKind::Del(t) if t.len() == 1));
    assert!(matches!(&s[5].kind, StmtKind::Import(names) if names.is_empty()));
    let imports = stmts("from scapy.layers.inet import IP as IPX, TCP\nfrom x import (a,\n b,)\nimport os.path as p, sys\n");
    assert!(matches!(&imports[0].kind, StmtKind::Import(n) if n.len() == 2 && n[0].1 == "IPX" && n[1].1 == "TCP"));
    assert!(matches!(&imports[1].kind, StmtKind::Import(n) if n.len() == 2));
    assert_eq!(s[1].pos, crate::text::Pos { line: 1, col: 17 });

    let s = stmts("for x in range(3): print(x)\nfor i, p in enumerate(ps):\n    if p: print(i)\n    else:\n        pass\nx = 1 if y else 2\n");
    assert_eq!(s.len(), 3);
    let StmtKind::For { body, .. } = &s[1].kind else { panic!() };
    let StmtKind::If { orelse, .. } = &body[0].kind else { panic!() };
    assert!(matches!(orelse[0].kind, StmtKind::Pass));

    let s = stmts("def f(p, n=2):\n    return p * n\nwhile x: x -= 1\ntry:\n    a\nexcept Exception as e:\n    b\n");
    assert!(matches!(&s[0].kind, StmtKind::Def { params, .. } if params.len() == 2));
    assert!(matches!(&s[2].kind, StmtKind::Try { handler: Some((Some(_), _)), .. }));
    assert!(matches!(&stmts("if a: b\nelif c: d\nelse: e\n")[0].kind, StmtKind::If { orelse, .. } if matches!(orelse[0].kind, StmtKind::If { .. })));
}

#[test]
fn statement_errors() {
    assert_eq!(st_err("p[IP].ttl == = 1"), "1:14: expected an expression, found '='");
    assert_eq!(st_err("f() = 1"), "1:1: cannot assign to a function call");
    assert_eq!(st_err("1 = x"), "1:1: cannot assign to this: a target is a name, x.attr, x[index] or a tuple of them");
    assert_eq!(st_err("for x in y\n"), "1:11: expected ':' to end the for line, found the end of the line");
    assert_eq!(st_err("if x:\nprint(1)\n"), "2:1: expected an indented block after the if line, found 'print'");
    assert_eq!(st_err("  x = 1"), "1:3: unexpected indentation");
    assert_eq!(st_err("class A: pass"), "1:1: classes are not supported in craft-repl");
    assert_eq!(st_err("else: x"), "1:1: 'else' without a matching block before it");
    assert_eq!(st_err("IP(ttl=3"), "1:9: expected ',' or ')' to close the call, found the end of the input");
    assert_eq!(st_err("x = (1 2)"), "1:8: expected ',' or ')', found the integer 2");
    assert_eq!(st_err("f(a=1, 2)"), "1:8: a positional argument cannot follow keyword arguments");
    assert_eq!(st_err("f(a=1, a=2)"), "1:8: keyword argument 'a' repeated");
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}1{}", "(".repeat(30), ")".repeat(30));
    assert!(parse_expression(&ok).is_ok());
    for deep in ["(".repeat(100_000), "[".repeat(100_000), "-".repeat(100_000), "not ".repeat(100_000), "f(".repeat(100_000)] {
        assert!(parse_module(&deep).unwrap_err().msg.contains("nesting is deeper"), "{}", &deep[..10]);
    }
}

#[test]
fn interactive_continuation() {
    assert!(needs_more("p = IP(dst='1.2.3.4',"));
    assert!(needs_more("for x in y:"));
    assert!(needs_more("for x in y:\n  print(x)"));
    assert!(!needs_more("for x in y:\n  print(x)\n\n"));
    assert!(needs_more("s = '''abc"));
    assert!(needs_more("x = 1 + \\"));
    assert!(!needs_more("x = 1"));
    assert!(!needs_more("x = )"));
    assert!(!needs_more("'unterminated"));
}
