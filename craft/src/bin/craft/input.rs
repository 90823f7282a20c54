//! Reading packets: expressions, RON files and stdin; hex strings; the dissector options
//! the commands that dissect share (`--as`, `--gue-port`).

use std::io::{self, BufRead};
use std::path::Path;

use clap::{Args, ValueEnum};
use craft::layer::DissectCx;
use craft::packet::{LayerKind, Packet};
use craft::text;

/// The first layer of bytes given as hex.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Start {
    Ether,
    Ip,
    Ipv6,
}

impl Start {
    pub(crate) fn kind(self) -> LayerKind {
        match self {
            Start::Ether => LayerKind::Ether,
            Start::Ip => LayerKind::Ip,
            Start::Ipv6 => LayerKind::Ipv6,
        }
    }
}

/// How received or read bytes are dissected.
#[derive(Args, Clone, Default)]
pub(crate) struct DissectOpts {
    /// Decode UDP destination port PORT as GUE too (besides 6080);
    /// repeatable: `--gue-port 9886 --gue-port 19523`.
    #[arg(long = "gue-port", value_name = "PORT")]
    gue_port: Vec<u16>,
}

impl DissectOpts {
    pub(crate) fn cx(&self) -> DissectCx {
        let mut cx = DissectCx::default();
        for &port in &self.gue_port {
            cx.gue_port(port);
        }
        cx
    }
}

/// Calls `f` with the packets of each unit of input: the expression, the RON file, or
/// each line of stdin (so one output line per input line).
///
/// On stdin, a bad line is reported (`craft: stdin:LINE:COL: ...`) and the others go on;
/// the call fails at the end, saying how many lines were bad. Stdin whose first line that
/// is neither blank nor a `#` comment starts with `[` or `//` is one RON document (what
/// `craft dissect --format ron` writes).
pub(crate) fn for_each_source_packet(source: &str, mut f: impl FnMut(Vec<Packet>) -> Result<(), String>) -> Result<(), String> {
    if source == "-" {
        return stdin_packets(&mut io::stdin().lock(), f);
    }
    let path = Path::new(source);
    if source.ends_with(".ron") || (path.is_file() && !source.contains('(')) {
        let src = std::fs::read_to_string(path).map_err(|e| format!("{source}: {e}"))?;
        return f(text::parse_ron(&src, source).map_err(|e| e.to_string())?);
    }
    f(text::parse_expr(source).map_err(|e| format!("expression:{}:{}: {}", e.line, e.col, e.msg))?)
}

fn stdin_packets(input: &mut impl BufRead, mut f: impl FnMut(Vec<Packet>) -> Result<(), String>) -> Result<(), String> {
    let read_err = |e: io::Error| format!("reading stdin: {e}");
    let (mut bad, mut lines) = (0usize, 0usize);
    // Lines read before the first packet line, kept in case the input is RON.
    let mut head = String::new();
    let mut line = String::new();
    for n in 1.. {
        line.clear();
        if input.read_line(&mut line).map_err(read_err)? == 0 {
            break;
        }
        let t = line.trim();
        if lines == 0 && bad == 0 {
            // A `#` comment is not RON (`#![enable(..)]` is): kept as a blank line.
            head.push_str(if t.starts_with('#') && !t.starts_with("#!") { "\n" } else { &line });
            if t.starts_with('[') || t.starts_with("//") {
                input.read_to_string(&mut head).map_err(read_err)?;
                return f(text::parse_ron(&head, "stdin").map_err(|e| e.to_string())?);
            }
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        lines += 1;
        match text::parse_expr(line.trim_end_matches(['\n', '\r'])) {
            Ok(pkts) => f(pkts)?,
            Err(e) => {
                // An error line per bad line, as fatal errors read; the other lines still run.
                eprintln!("craft: error: stdin:{n}:{}: {}", e.col, e.msg);
                bad += 1;
            }
        }
    }
    match bad {
        0 => Ok(()),
        _ => Err(format!("{bad} of {lines} stdin lines failed")),
    }
}

/// Every packet of a source, for the commands that take them all before acting.
pub(crate) fn read_packets(source: &str) -> Result<Vec<Packet>, String> {
    let mut all = Vec::new();
    for_each_source_packet(source, |p| {
        all.extend(p);
        Ok(())
    })?;
    if all.is_empty() {
        return Err(format!("{source}: no packet"));
    }
    Ok(all)
}

/// Calls `f` with the bytes of each hex argument, or of each stdin line for `-` (blank
/// lines and `#` comments skipped, so `craft dissect --pcap F --format hex` reads back).
pub(crate) fn for_each_hex(args: &[String], mut f: impl FnMut(Vec<u8>) -> Result<(), String>) -> Result<(), String> {
    if args == ["-"] {
        for (n, line) in io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| format!("reading stdin: {e}"))?;
            let t = line.trim();
            if !t.is_empty() && !t.starts_with('#') {
                f(parse_hex(&line, &format!("stdin:{}", n + 1))?)?;
            }
        }
        return Ok(());
    }
    for (i, a) in args.iter().enumerate() {
        f(parse_hex(a, &format!("argument {}", i + 1))?)?;
    }
    Ok(())
}

/// Hex digits with spaces, tabs, colons or dashes between them and `0x` before any group
/// (`craft::hex::decode`); errors name `what:column`.
pub(crate) fn parse_hex(s: &str, what: &str) -> Result<Vec<u8>, String> {
    craft::hex::decode(s).map_err(|e| match e {
        craft::hex::HexError::BadDigit { .. } => format!("{what}:{e}"),
        craft::hex::HexError::OddDigits(_) => format!("{what}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> (Vec<String>, Result<(), String>) {
        let mut got = Vec::new();
        let r = stdin_packets(&mut input.as_bytes(), |pkts| {
            got.extend(pkts.iter().map(Packet::summary));
            Ok(())
        });
        (got, r)
    }

    #[test]
    fn bad_lines_are_skipped_and_counted() {
        let (got, r) = run("IP()\nTCP(flags='SX')\n\n# c\nUDP()\nnope(\n");
        assert_eq!(got, ["IP 127.0.0.1 > 127.0.0.1", "UDP 53 > 53"]);
        assert_eq!(r, Err("2 of 4 stdin lines failed".into()));
    }

    #[test]
    fn ron_document_on_stdin() {
        let (got, r) = run("# made by craft\n[\n    // frame 1\n    [IP(ttl: 3), UDP()],\n    [IPv6()],\n]\n");
        assert_eq!(r, Ok(()));
        assert_eq!(got, ["IP 127.0.0.1 > 127.0.0.1 / UDP 53 > 53", "IPv6 ::1 > ::1"]);
        let (_, r) = run("[\n  [IP(tll: 3)],\n]\n");
        assert!(r.unwrap_err().starts_with("stdin:2:"));
    }

    #[test]
    fn gue_ports_add_to_the_default() {
        let o = DissectOpts { gue_port: vec![9886, 6080, 9886] };
        let mut gue: Vec<u16> = o.cx().udp_ports(LayerKind::Gue).collect();
        gue.sort();
        assert_eq!(gue, [6080, 9886]);
    }
}
