//! The `craft` command line: build, dissect, check, ls, and live send / sr / sniff.

mod live;

use std::fs::File;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use craft::check::{check_bytes, Problem};
use craft::layer::DissectCx;
use craft::packet::{LayerKind, Packet};
use craft::pcap::{self, WriteFormat};
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
        /// Output format (hex unless -w is given, which then prints nothing by default).
        #[arg(long, short, value_enum)]
        format: Option<Format>,
        /// Also write the packets to a capture file: pcapng if it ends in .pcapng, else pcap.
        #[arg(long = "write", short = 'w', value_name = "FILE")]
        write: Option<String>,
    },
    /// Dissect hex strings (or -: one per line on stdin), or the packets of a capture file.
    Dissect {
        #[arg(required_unless_present = "pcap")]
        hex: Vec<String>,
        /// Read packets from a pcap or pcapng file (- for stdin) instead of hex.
        #[arg(long, value_name = "FILE", conflicts_with = "hex")]
        pcap: Option<String>,
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
    /// Send packets: Ether frames as built on --iface, IP/IPv6 packets routed (needs root).
    Send(live::SendArgs),
    /// Send packets and match their answers, like scapy's sr/srp; exits 1 if some go unanswered.
    Sr(live::SrArgs),
    /// Capture packets on an interface, printing them as they arrive; Ctrl-C stops.
    Sniff(live::SniffArgs),
    /// Send packets and say what happened to each (`send --explain`): dropped or not, where
    /// and why (needs root: CAP_BPF and CAP_PERFMON).
    Explain(live::SendArgs),
    /// Print every packet the kernel drops, with its reason, function, interface, namespace
    /// and headers, until Ctrl-C or --timeout (needs root).
    WatchDrops(live::WatchArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum Format {
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
        Cmd::Build { source, format, write } => {
            // With -w the file is the output; stdout stays quiet unless asked.
            let format = format.or(if write.is_some() { None } else { Some(Format::Hex) });
            if format == Some(Format::Raw) && io::stdout().is_terminal() {
                return Err("refusing to write raw bytes to a terminal: redirect stdout or use --format hex".into());
            }
            let mut capture = write.as_deref().map(CaptureOut::new);
            for_each_source_packet(&source, |pkts| {
                if let Some(c) = capture.as_mut() {
                    c.write(&pkts)?;
                }
                format.map_or(Ok(()), |f| emit(&mut out, &pkts, f, false))
            })?;
            if let Some(c) = capture {
                c.finish()?;
            }
        }
        Cmd::Dissect { pcap: Some(file), format, .. } => dissect_capture(&mut out, &file, format)?,
        Cmd::Dissect { hex, start, format, .. } => {
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
        Cmd::Send(a) => return live::send(a),
        Cmd::Sr(a) => return live::sr(&mut out, a),
        Cmd::Sniff(a) => return live::sniff(&mut out, a),
        Cmd::Explain(mut a) => {
            a.explain.explain = true;
            return live::send(a);
        }
        Cmd::WatchDrops(a) => return live::watch_drops(&mut out, a),
    }
    Ok(ExitCode::SUCCESS)
}

/// Dissects every packet of a capture file, the first layer given by its linktype.
fn dissect_capture(out: &mut impl Write, file: &str, format: Format) -> Result<(), String> {
    let input: Box<dyn io::Read> = if file == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(file).map_err(|e| format!("{file}: {e}"))?)
    };
    let mut reader = pcap::Reader::new(input).map_err(|e| format!("{file}: {e}"))?;
    let cx = DissectCx::default();
    // One packet reused for every record: dissect_into overwrites it in place.
    let mut pkt = [Packet::new()];
    while let Some(rec) = reader.next_record().map_err(|e| format!("{file}: {e}"))? {
        pkt[0].dissect_into(rec.data, rec.first_layer(), &cx);
        emit(out, &pkt, format, true)?;
    }
    Ok(())
}

/// The capture file `craft build -w` writes, opened at the first packet: its linktype
/// (Ethernet or RAW) follows that packet's first layer.
struct CaptureOut {
    path: String,
    writer: Option<(pcap::Writer<BufWriter<File>>, u32)>,
    count: usize,
}

impl CaptureOut {
    fn new(path: &str) -> CaptureOut {
        CaptureOut { path: path.to_string(), writer: None, count: 0 }
    }

    fn write(&mut self, pkts: &[Packet]) -> Result<(), String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        for p in pkts {
            self.count += 1;
            let linktype = match p.layers.first().map(|l| l.kind()) {
                Some(LayerKind::Ether) => pcap::LINKTYPE_ETHERNET,
                _ => pcap::LINKTYPE_RAW,
            };
            let (w, file_linktype) = match &mut self.writer {
                Some(w) => w,
                None => self.writer.insert((self.open(linktype)?, linktype)),
            };
            if linktype != *file_linktype {
                return Err(format!(
                    "{}: packet {} ({}) needs linktype {linktype} but the file has {}: one file holds one kind",
                    self.path,
                    self.count,
                    p.summary(),
                    *file_linktype
                ));
            }
            let bytes = p.build();
            w.write(now, &bytes, bytes.len() as u32).map_err(|e| format!("{}: {e}", self.path))?;
        }
        Ok(())
    }

    fn open(&self, linktype: u32) -> Result<pcap::Writer<BufWriter<File>>, String> {
        let format = if self.path.ends_with(".pcapng") { WriteFormat::PcapNg } else { WriteFormat::PcapMicros };
        let file = File::create(&self.path).map_err(|e| format!("{}: {e}", self.path))?;
        pcap::Writer::new(BufWriter::new(file), format, linktype, pcap::MAX_RECORD as u32)
            .map_err(|e| format!("{}: {e}", self.path))
    }

    /// Flushes; with no packet at all, still leaves a valid (empty, Ethernet) file.
    fn finish(mut self) -> Result<(), String> {
        let (w, _) = match self.writer.take() {
            Some(w) => w,
            None => (self.open(pcap::LINKTYPE_ETHERNET)?, 0),
        };
        w.into_inner().map_err(|e| format!("{}: {e}", self.path))?;
        Ok(())
    }
}

pub(crate) fn io_err(e: io::Error) -> String {
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
pub(crate) fn for_each_source_packet(source: &str, mut f: impl FnMut(Vec<Packet>) -> Result<(), String>) -> Result<(), String> {
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

pub(crate) fn emit(out: &mut impl Write, pkts: &[Packet], format: Format, dissected: bool) -> Result<(), String> {
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
            Format::Hex => format!("{}\n", craft::field::hex(&p.build())),
            // JSON of a built packet shows it as built: auto fields resolved.
            Format::Json if dissected => format!("{}\n", text::to_json(p)),
            Format::Json => format!("{}\n", text::to_json(&p.resolved())),
            // A dissected packet has every field resolved: show() prints it as it is.
            Format::Show | Format::Show2 if dissected => p.show(),
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
