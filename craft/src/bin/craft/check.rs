//! `craft check`: everything inconsistent in packets built from a source, in bytes given
//! as hex, or in every packet of a capture.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;
use craft::check::{check_bytes, check_captured, Problem};
use craft::packet::{LayerKind, Packet};

use crate::capture::for_each_record_shown;
use crate::input::{for_each_source_packet, parse_hex, DissectOpts, Start};
use crate::io_err;

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// An expression, a .ron file, or - (stdin).
    #[arg(required_unless_present_any = ["hex", "pcap"])]
    source: Option<String>,
    /// Check raw bytes given as hex instead.
    #[arg(long, conflicts_with_all = ["source", "pcap"])]
    hex: Option<String>,
    /// Check every packet of a pcap or pcapng file (- for stdin): one line per packet with
    /// problems, then how many had some.
    #[arg(long, value_name = "FILE", conflicts_with = "source")]
    pcap: Option<String>,
    /// The first layer of the --hex bytes.
    #[arg(long = "as", value_enum, default_value = "ether")]
    start: Start,
    #[command(flatten)]
    dissect: DissectOpts,
}

pub(crate) fn run(a: CheckArgs) -> Result<ExitCode, String> {
    let cx = a.dissect.cx();
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut found = 0;
    if let Some(file) = &a.pcap {
        let mut bad = 0u64;
        let total = for_each_record_shown(file, |frame, data, first| {
            let problems = check_captured(data, frame.len as usize, first, &cx);
            if problems.is_empty() {
                return Ok(());
            }
            bad += 1;
            let summary = Packet::dissect_with(data, first, &cx).summary();
            let line = frame.summary_line(&summary);
            let findings: Vec<String> = problems.iter().map(|p| format!("layer {}: {}", p.layer, p.msg)).collect();
            writeln!(out, "{}: {}", line.trim_end(), findings.join("; ")).map_err(io_err)
        });
        // On a read error the findings so far are still printed (BufWriter flushes on drop).
        let total = total?;
        writeln!(out, "{bad} of {total} packets with problems").map_err(io_err)?;
        found = bad as usize;
    } else {
        let mut report = |bytes: &[u8], kind: LayerKind, label: &str| -> Result<(), String> {
            let problems = check_bytes(bytes, kind, &cx);
            found += problems.len();
            print_problems(&mut out, label, &problems).map_err(io_err)
        };
        match (&a.hex, &a.source) {
            (Some(h), _) => report(&parse_hex(h, "--hex")?, a.start.kind(), "")?,
            (None, Some(src)) => for_each_source_packet(src, |pkts| {
                for p in pkts {
                    let kind = p.layers.first().map_or(LayerKind::Raw, |l| l.kind());
                    report(&p.build(), kind, &p.summary())?;
                }
                Ok(())
            })?,
            (None, None) => unreachable!("clap requires one of them"),
        }
    }
    out.flush().map_err(io_err)?;
    Ok(ExitCode::from(if found > 0 { craft::exit::NEGATIVE } else { 0 }))
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
