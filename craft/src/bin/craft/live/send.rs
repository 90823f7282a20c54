//! `craft send` (and `craft explain`): packets out, Ether frames on --iface, IP packets
//! routed; a capture replayed at its own pace with --pace.

use std::io;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use craft::explain;
use craft::live::{self, SendOpts};

use super::replay::{pace, PacketInput};
use super::{cancel_on_sigint, exit_code, layer2, print_report, start_explainer, warn, ExplainArgs, Pacing, ReportFormat};
use crate::input::DissectOpts;
use crate::progress::{self, Progress};

#[derive(Args)]
pub struct SendArgs {
    /// Interface to send on (required for Ether frames; IP/IPv6 packets leave by it instead of
    /// by their route, the source address being the interface's when unset).
    #[arg(long, short)]
    iface: Option<String>,
    #[command(flatten)]
    input: PacketInput,
    /// How many times the packets are sent.
    #[arg(long, short, default_value_t = 1)]
    count: usize,
    #[command(flatten)]
    pacing: Pacing,
    /// With --pcap: send the frames at the pace they were captured (the gaps between their
    /// timestamps); with --count, each round right after the one before.
    #[arg(long, requires = "pcap", conflicts_with_all = ["rate", "interval"])]
    pace: bool,
    #[command(flatten)]
    dissect: DissectOpts,
    #[command(flatten)]
    pub explain: ExplainArgs,
    /// How the --explain report is printed.
    #[arg(long, short, value_enum, default_value = "text")]
    format: ReportFormat,
}

pub fn send(a: SendArgs) -> Result<ExitCode, String> {
    let inter = a.pacing.inter()?;
    let loaded = a.input.load(&a.dissect.cx())?;
    let pkts = &loaded.pkts;
    let l2 = layer2(pkts, a.iface.as_deref())?;
    let schedule = match (&loaded.ts_ns, a.pace) {
        (Some(ts), true) => Some(pace(ts).into()),
        _ => None,
    };
    let cancel = cancel_on_sigint();
    let mut ex = start_explainer(&a.explain)?;
    let total = pkts.len() * a.count;
    let progress = Progress::on_tty(move |n, secs| format!("sent {n}/{total} packets, {:.0} pps", progress::rate(n, secs)));
    let opts = SendOpts { count: a.count, inter, schedule, cancel: Some(cancel.clone()), progress: Some(progress.counter()), ..SendOpts::default() };
    let t0 = Instant::now();
    let (sent, warnings) = match (l2, ex.as_mut(), &loaded.wire) {
        // Bytes given (hex, a capture): sent exactly as they are.
        (Some(dev), None, Some(frames)) => live::sendp_frames(dev, frames, opts).map(|r| (r.sent, r.warnings)),
        (Some(dev), None, None) => live::sendp(dev, pkts, opts).map(|r| (r.sent, r.warnings)),
        (Some(dev), Some(ex), _) => explain::send::sendp(ex, dev, pkts, opts).map(|r| (r.sent, r.warnings)),
        (None, None, _) => live::send(a.iface.as_deref(), pkts, opts).map(|r| (r.sent, r.warnings)),
        (None, Some(ex), _) => explain::send::send(ex, a.iface.as_deref(), pkts, opts).map(|r| (r.sent, r.warnings)),
    }
    .map_err(|e| e.to_string())?;
    // The line cleared before anything else is said.
    drop(progress);
    warn(&warnings);
    let el = t0.elapsed().as_secs_f64();
    let rate = progress::rate(sent, el);
    eprintln!("sent {sent} packets in {el:.3} s ({rate:.0} pps)");
    if let Some(ex) = ex {
        print_report(&mut io::stdout().lock(), ex, &cancel, a.format)?;
    }
    Ok(exit_code(&cancel, 0))
}
