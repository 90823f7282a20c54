//! The `craft` command line: build, dissect, check, ls.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use craft::check::{check_bytes, Problem};
use craft::layer::DissectCx;
use craft::packet::{LayerKind, Packet};
use craft::show::{hexdump, ls, ls_all};
use craft::text;

#[derive(Parser)]
#[command(name = "craft", version, about = "Compose, dissect and check network packets (scapy's names, in Rust)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build packets from an expression, a .ron file, or - (stdin, one expression per line).
    Build {
        /// `Ether()/IP(dst="10.0.0.1")/TCP(flags="S")`, a .ron file, or -.
        source: String,
        #[arg(long, short, value_enum, default_value = "hex")]
        format: Format,
    },
    /// Dissect hex strings (or -: one per line on stdin).
    Dissect {
        #[arg(required = true)]
        hex: Vec<String>,
        /// The first layer of the bytes.
        #[arg(long = "as", value_enum, default_value = "ether")]
        start: Start,
        #[arg(long, short, value_enum, default_value = "show")]
        format: Format,
    },
    /// Report everything inconsistent in packets; exits 1 when problems are found.
    Check {
        /// An expression, a .ron file, or - (stdin).
        #[arg(required_unless_present = "hex")]
        source: Option<String>,
        /// Check raw bytes given as hex instead.
        #[arg(long, conflicts_with = "source")]
        hex: Option<String>,
        #[arg(long = "as", value_enum, default_value = "ether")]
        start: Start,
    },
    /// List a layer's fields (types, defaults), or all layers.
    Ls { layer: Option<String> },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    /// Lowercase hex, one packet per line.
    Hex,
    /// One JSON document per packet per line.
    Json,
    /// Fields per layer (auto fields marked).
    Show,
    /// Fields per layer as built.
    Show2,
    /// One line per packet.
    Summary,
    /// The bytes themselves.
    Raw,
    /// scapy's hexdump.
    Hexdump,
    /// A RON packet file.
    Ron,
    /// An expression that rebuilds the packet.
    Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Start {
    Ether,
    Ip,
    Ipv6,
}

impl Start {
    fn kind(self) -> LayerKind {
        match self {
            Start::Ether => LayerKind::Ether,
            Start::Ip => LayerKind::Ip,
            Start::Ipv6 => LayerKind::Ipv6,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("craft: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: Cmd) -> Result<ExitCode, String> {
    let mut out = io::stdout().lock();
    match cmd {
        Cmd::Build { source, format } => {
            if format == Format::Raw && io::stdout().is_terminal() {
                return Err("refusing to write raw bytes to a terminal: redirect stdout or use --format hex".into());
            }
            for_each_source_packet(&source, |pkts| emit(&mut out, &pkts, format, false))?;
        }
        Cmd::Dissect { hex, start, format } => {
            for_each_hex(&hex, |bytes| {
                let p = Packet::dissect(&bytes, start.kind());
                emit(&mut out, &[p], format, true)
            })?;
        }
        Cmd::Check { source, hex, start } => {
            let mut found = 0;
            let mut report = |bytes: &[u8], kind: LayerKind, label: &str| -> Result<(), String> {
                let problems = check_bytes(bytes, kind, &DissectCx::default());
                found += problems.len();
                print_problems(&mut out, label, &problems).map_err(io_err)
            };
            match (hex, source) {
                (Some(h), _) => report(&parse_hex(&h, "--hex")?, start.kind(), "")?,
                (None, Some(src)) => for_each_source_packet(&src, |pkts| {
                    for p in pkts {
                        let kind = p.layers.first().map_or(LayerKind::Raw, |l| l.kind());
                        report(&p.build(), kind, &p.summary())?;
                    }
                    Ok(())
                })?,
                (None, None) => unreachable!("clap requires one of them"),
            }
            if found > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Ls { layer: None } => write!(out, "{}", ls_all()).map_err(io_err)?,
        Cmd::Ls { layer: Some(name) } => {
            let kind = LayerKind::from_name(&name).ok_or_else(|| unknown_layer(&name))?;
            write!(out, "{}", ls(kind)).map_err(io_err)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn io_err(e: io::Error) -> String {
    format!("writing output: {e}")
}

fn unknown_layer(name: &str) -> String {
    let names = LayerKind::ALL.iter().map(|k| k.name());
    match craft::layer::closest(name, names) {
        Some(c) => format!("no layer named '{name}'; did you mean '{c}'?"),
        None => format!("no layer named '{name}' (craft ls lists them)"),
    }
}

/// Calls `f` with the packets of each unit of input: the expression, the RON file, or
/// each line of stdin (so one output line per input line).
fn for_each_source_packet(source: &str, mut f: impl FnMut(Vec<Packet>) -> Result<(), String>) -> Result<(), String> {
    if source == "-" {
        for (n, line) in io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| format!("reading stdin: {e}"))?;
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let pkts = text::parse_expr(&line).map_err(|e| format!("stdin:{}:{}: {}", n + 1, e.col, e.msg))?;
            f(pkts)?;
        }
        return Ok(());
    }
    let path = Path::new(source);
    if source.ends_with(".ron") || (path.is_file() && !source.contains('(')) {
        let src = std::fs::read_to_string(path).map_err(|e| format!("{source}: {e}"))?;
        return f(text::parse_ron(&src, source).map_err(|e| e.to_string())?);
    }
    f(text::parse_expr(source).map_err(|e| format!("expression:{}:{}: {}", e.line, e.col, e.msg))?)
}

/// Calls `f` with the bytes of each hex argument, or of each stdin line for `-`.
fn for_each_hex(args: &[String], mut f: impl FnMut(Vec<u8>) -> Result<(), String>) -> Result<(), String> {
    if args == ["-"] {
        for (n, line) in io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| format!("reading stdin: {e}"))?;
            if !line.trim().is_empty() {
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

/// Hex digits, with optional spaces, colons, a 0x prefix, or scapy hexdump offsets stripped.
fn parse_hex(s: &str, what: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut digits = Vec::with_capacity(s.len());
    for (col, c) in s.chars().enumerate() {
        match c {
            ' ' | ':' | '\t' | '-' => {}
            c if c.is_ascii_hexdigit() => digits.push(c.to_digit(16).unwrap() as u8),
            c => return Err(format!("{what}:{}: '{c}' is not a hex digit", col + 1)),
        }
    }
    if digits.len() % 2 == 1 {
        return Err(format!("{what}: odd number of hex digits ({}): a byte is missing a digit", digits.len()));
    }
    Ok(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

fn emit(out: &mut impl Write, pkts: &[Packet], format: Format, dissected: bool) -> Result<(), String> {
    let w = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(io_err);
    match format {
        Format::Ron => return w(out, &text::to_ron(pkts)),
        Format::Raw => {
            for p in pkts {
                out.write_all(&p.build()).map_err(io_err)?;
            }
            return Ok(());
        }
        _ => {}
    }
    for p in pkts {
        let s = match format {
            Format::Hex => format!("{}\n", to_hex(&p.build())),
            // JSON of a built packet shows it as built: auto fields resolved.
            Format::Json if dissected => format!("{}\n", text::to_json(p)),
            Format::Json => format!("{}\n", text::to_json(&p.resolved())),
            Format::Show if dissected => p.show2(),
            Format::Show => p.show(),
            Format::Show2 => p.show2(),
            Format::Summary => format!("{}\n", p.summary()),
            Format::Hexdump => format!("{}\n", hexdump(&p.build())),
            Format::Command => format!("{}\n", text::command(p)),
            Format::Raw | Format::Ron => unreachable!("handled above"),
        };
        w(out, &s)?;
    }
    Ok(())
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn print_problems(out: &mut impl Write, label: &str, problems: &[Problem]) -> io::Result<()> {
    if problems.is_empty() {
        return writeln!(out, "ok{}{label}", if label.is_empty() { "" } else { ": " });
    }
    if !label.is_empty() {
        writeln!(out, "{label}:")?;
    }
    for p in problems {
        writeln!(out, "  layer {}: {}", p.layer, p.msg)?;
    }
    Ok(())
}
