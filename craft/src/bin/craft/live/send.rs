//! `craft send` (and `craft explain`): packets out, Ether frames on --iface, IP packets
//! routed; a capture replayed at its own pace with --pace.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use clap::Args;
use craft::explain;
use craft::live::{self, SendOpts};

use super::replay::{pace, PacketInput};
use super::{cancel_on_sigint, exit_code, layer2, print_report, secs, start_explainer, warn, ExplainArgs, ReportFormat};
use crate::input::DissectOpts;

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
    /// Packets per second.
    #[arg(long, conflicts_with = "interval")]
    rate: Option<f64>,
    /// Seconds between packets.
    #[arg(long)]
    interval: Option<f64>,
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

/// Seconds since `t0` and packets per second for `n` packets sent since then.
fn rate(n: usize, t0: Instant) -> (f64, f64) {
    let el = t0.elapsed().as_secs_f64();
    (el, if el > 0.0 { n as f64 / el } else { 0.0 })
}

/// Run `send` while a progress line on stderr (a tty only) shows `progress` every 200 ms.
fn with_progress<T>(total: usize, progress: &AtomicUsize, send: impl FnOnce() -> T) -> T {
    if !io::stderr().is_terminal() {
        return send();
    }
    let t0 = Instant::now();
    let draw = || {
        let sent = progress.load(Ordering::Relaxed);
        let (_, rate) = rate(sent, t0);
        eprint!("\r\x1b[Ksent {sent}/{total} packets, {rate:.0} pps");
    };
    let (done, wait) = mpsc::channel::<()>();
    let out = std::thread::scope(|s| {
        let draw = &draw;
        s.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(Duration::from_millis(200)) {
                draw();
            }
        });
        let out = send();
        drop(done);
        out
    });
    draw();
    eprintln!();
    out
}

pub fn send(a: SendArgs) -> Result<ExitCode, String> {
    let inter = match (a.rate, a.interval) {
        (Some(r), _) if !(r > 0.0 && r.is_finite()) => return Err(format!("--rate {r}: must be more than 0")),
        (Some(r), _) => Some(secs(1.0 / r, "--rate")?),
        (None, Some(i)) => Some(secs(i, "--interval")?),
        (None, None) => None,
    };
    let loaded = a.input.load(&a.dissect.cx())?;
    let pkts = &loaded.pkts;
    let l2 = layer2(pkts, a.iface.as_deref())?;
    let schedule = match (&loaded.ts_ns, a.pace) {
        (Some(ts), true) => Some(pace(ts).into()),
        _ => None,
    };
    let cancel = cancel_on_sigint();
    let progress = Arc::new(AtomicUsize::new(0));
    let opts = SendOpts { count: a.count, inter, schedule, cancel: Some(cancel.clone()), progress: Some(progress.clone()), ..SendOpts::default() };
    let mut ex = start_explainer(&a.explain)?;
    let t0 = Instant::now();
    let sent = with_progress(pkts.len() * a.count, &progress, || {
        let (sent, warnings) = match (l2, ex.as_mut(), &loaded.wire) {
            // Bytes given (hex, a capture): sent exactly as they are.
            (Some(dev), None, Some(frames)) => live::sendp_frames(dev, frames, opts).map(|r| (r.sent, r.warnings)),
            (Some(dev), None, None) => live::sendp(dev, pkts, opts).map(|r| (r.sent, r.warnings)),
            (Some(dev), Some(ex), _) => explain::send::sendp(ex, dev, pkts, opts).map(|r| (r.sent, r.warnings)),
            (None, None, _) => live::send(a.iface.as_deref(), pkts, opts).map(|r| (r.sent, r.warnings)),
            (None, Some(ex), _) => explain::send::send(ex, a.iface.as_deref(), pkts, opts).map(|r| (r.sent, r.warnings)),
        }?;
        warn(&warnings);
        Ok::<_, io::Error>(sent)
    })
    .map_err(|e| e.to_string())?;
    let (el, rate) = rate(sent, t0);
    eprintln!("sent {sent} packets in {el:.3} s ({rate:.0} pps)");
    if let Some(ex) = ex {
        print_report(&mut io::stdout().lock(), ex, &cancel, a.format)?;
    }
    Ok(exit_code(&cancel, 0))
}
