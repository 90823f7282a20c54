//! The grammar and the interpreter never panic, whatever is typed: token soup and
//! near-valid statements, run in a sandbox (no live I/O, no files) with a step budget.

use craft_repl::interp::Interp;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "p", "q", "x", "IP", "TCP", "UDP", "Ether", "ICMP", "IPv6", "Raw", "ARP", "Dot1Q", "raw", "len", "range", "list", "sorted",
    "hexdump", "ls", "str", "bytes", "int", "hex", "repr", "sum", "dict", "conf", "check", "print", "lambda", "for", "in",
    "if", "else", "not", "and", "or", "del", "def", "return", "while", "True", "False", "None", "import", "from", "=", "==",
    "/", "//", "*", "**", "%", "+", "-", "~", "<<", ">>", "&", "|", "^", "<", ">", "(", ")", "[", "]", "{", "}", ":", ",",
    ".", ";", "\n", "\n    ", "0", "1", "-1", "255", "65536", "2**127", "1.5", "'S'", "'10.0.0.0/30'", "b'\\x00E'", "\"a\"",
    "f'{x}'", "ttl", "dst", "src", "flags", "load", "options", "payload", "summary()", "show()", "copy()", "sprintf('%IP.src%')",
    "(1, 3)", "[80, 443]", "[('MSS', 1460)]", "_",
];

fn run(src: &str) {
    let src = src.to_string();
    craft_repl::with_stack(move || run_here(&src));
}

fn run_here(src: &str) {
    let mut me = Interp::new(Box::new(std::io::sink()));
    me.echo = true;
    me.sandbox = true;
    me.steps = Some(10_000);
    for chunk in src.split("\n\n") {
        let _ = me.run(chunk);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        run(&toks.join(" "));
    }

    #[test]
    fn bytes_never_panic(src in "\\PC{0,80}") {
        run(&src);
    }
}

#[test]
fn near_valid_statements_never_panic() {
    let stmts = [
        "p = IP(dst='10.0.0.0/30', ttl=(1, 3))/TCP(dport=[80, 443], flags='SA')/'x'*3",
        "[q.summary() for q in p]",
        "p[TCP].flags |= 0x10; p[TCP].flags.A",
        "del p[IP].ttl; p.ttl",
        "x = Ether(raw(Ether(dst='02:00:00:00:00:01')/IPv6()/UDP()/b'\\x00'*100)); x[UDP:1].payload",
        "-(-2**127)", "2**127 // -1", "(-2**127) // -1", "(-2**127) % -1", "abs(-2**127)", "1 << 200", "range(-2**127, 2**127)[5]",
        "list(range(10**9))", "'x' * 10**12", "[0] * 10**9", "bytes(10**12)", "sorted([1, 'a'])", "max([])",
        "def f(n): return f(n + 1)\nf(0)", "while True: pass", "[x for x in range(10**6)]",
        "IP(b'\\x45' * 3000)", "IP(ttl='x')", "TCP(options=[('MSS',)])", "IP(dst='10.0.0.0/0')", "IP(dst='::/0')",
        "conf.iface = 3", "conf.verb = 'x'", "sniff()", "wrpcap('/tmp/x', IP())", "'%s %d' % ('a',)", "'{0:>{1}}'.format(1, 2)",
        "f'{1:z}'", "IP().sprintf('%IP.nope%')", "hexdump(b'')", "ls(IP)", "help(IP)", "help(sr)", "int('0x', 16)",
    ];
    for s in stmts {
        run(s);
    }
}
