//! The `craft` command line: build, dissect, check, ls, and live send / sr / sniff.
//!
//! One module per command (build, dissect, check; `live/` for the live ones), with what
//! they share: reading packets and hex (`input`), capture files (`capture`), and printing
//! packets in every format (`output`).

mod build;
mod capture;
mod check;
mod dissect;
mod input;
mod live;
mod output;
mod progress;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use craft::exit;
use craft::packet::LayerKind;
use craft::show::{ls, ls_all};

#[derive(Parser)]
#[command(name = "craft", version, about = "Compose, dissect and check network packets (scapy's names, in Rust)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build packets from an expression, a .ron file, or - (stdin: one expression per line,
    /// or a RON document).
    Build(build::BuildArgs),
    /// Dissect hex strings (or -: one per line on stdin), or the packets of a capture file.
    Dissect(dissect::DissectArgs),
    /// Report everything inconsistent in packets; exits 1 when problems are found.
    Check(check::CheckArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.cmd) {
        Ok(code) => code,
        // The reader went away (`craft dissect ... | head`): stop quietly, with the status
        // of a process SIGPIPE ended, as tcpdump's would be.
        Err(e) if e == BROKEN_PIPE => ExitCode::from(128 + 13),
        // Ctrl-C during a run with a progress line (which caught it to clear the line).
        Err(e) if e == progress::INTERRUPTED => ExitCode::from(exit::INTERRUPTED),
        Err(e) => exit::error("craft", e),
    }
}

fn run(cmd: Cmd) -> Result<ExitCode, String> {
    match cmd {
        Cmd::Build(a) => build::run(a),
        Cmd::Dissect(a) => dissect::run(a),
        Cmd::Check(a) => check::run(a),
        Cmd::Ls { layer } => {
            let text = match layer {
                None => ls_all(),
                Some(name) => ls(LayerKind::from_name(&name).ok_or_else(|| unknown_layer(&name))?),
            };
            io::stdout().lock().write_all(text.as_bytes()).map_err(io_err)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Send(a) => live::send(a),
        Cmd::Sr(a) => live::sr(&mut io::stdout().lock(), a),
        Cmd::Sniff(a) => live::sniff(&mut io::stdout().lock(), a),
        Cmd::Explain(mut a) => {
            a.explain.explain = true;
            live::send(a)
        }
        Cmd::WatchDrops(a) => live::watch_drops(&mut io::stdout().lock(), a),
    }
}

/// The error of a write to a pipe whose reader has gone.
const BROKEN_PIPE: &str = "writing output: broken pipe";

pub(crate) fn io_err(e: io::Error) -> String {
    match e.kind() {
        io::ErrorKind::BrokenPipe => BROKEN_PIPE.into(),
        _ => format!("writing output: {e}"),
    }
}

fn unknown_layer(name: &str) -> String {
    let names = LayerKind::ALL.iter().map(|k| k.name());
    match craft::layer::closest(name, names) {
        Some(c) => format!("no layer named '{name}'; did you mean '{c}'?"),
        None => format!("no layer named '{name}' (craft ls lists them)"),
    }
}
