//! `craft send`, `craft sr`, `craft sniff` and `craft watch-drops`: the live commands
//! (Linux, root or CAP_NET_RAW). One module per command; what they share is here.

mod replay;
mod send;
mod sniff;
mod sr;
mod watch;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use craft::explain::{ExplainOpts, Explainer};
use craft::live::CancelFlag;
use craft::packet::{LayerKind, Packet};

use crate::io_err;

pub use send::{send, SendArgs};
pub use sniff::{sniff, SniffArgs};
pub use sr::{sr, SrArgs};
pub use watch::{watch_drops, WatchArgs};

/// `--explain` and `--explain-wait`, shared by send and sr.
#[derive(Args)]
pub struct ExplainArgs {
    /// Say what happened to each packet: watch the kernel's drops (kfree_skb) while sending
    /// and for --explain-wait seconds after, then print, per packet, dropped or not and
    /// where and why (needs root: CAP_BPF and CAP_PERFMON; without, the packets are sent
    /// unexplained).
    #[arg(long)]
    pub explain: bool,
    /// Seconds to keep watching for drops after the last packet.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    pub explain_wait: f64,
    /// With the --explain report, each packet's path: every interface and namespace where
    /// the kernel saw it (rx, tx, XDP redirects) up to its drop, and how it changed between
    /// hops (implies --explain).
    #[arg(long)]
    pub trace: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum ReportFormat {
    /// One line per packet.
    Text,
    /// One JSON record per line.
    Json,
}

/// From now on the first Ctrl-C sets the flag returned (the live call stops and returns what
/// it has) instead of killing the process; a second Ctrl-C kills it as usual.
fn cancel_on_sigint() -> CancelFlag {
    craft::signal::cancel_on_sigint(true)
}

/// 130 (128 + SIGINT, as shells report it) when Ctrl-C stopped the call, else `code`.
fn exit_code(cancel: &CancelFlag, code: u8) -> ExitCode {
    ExitCode::from(if cancel.is_cancelled() { craft::exit::INTERRUPTED } else { code })
}

/// How fast packets leave: `--rate` or `--interval` (send and sr).
#[derive(clap::Args)]
pub struct Pacing {
    /// Packets per second.
    #[arg(long, conflicts_with = "interval")]
    rate: Option<f64>,
    /// Seconds between packets.
    #[arg(long)]
    interval: Option<f64>,
}

impl Pacing {
    /// The gap between two packets, None: as fast as possible.
    fn inter(&self) -> Result<Option<Duration>, String> {
        match (self.rate, self.interval) {
            (Some(r), _) if !(r > 0.0 && r.is_finite()) => Err(format!("--rate {r}: must be more than 0")),
            (Some(r), _) => Ok(Some(secs(1.0 / r, "--rate")?)),
            (None, Some(i)) => Ok(Some(secs(i, "--interval")?)),
            (None, None) => Ok(None),
        }
    }
}

fn secs(s: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("{what}: {s} is not a number of seconds"))
}

/// The interface Ether frames go out on as built (Some), or None when the packets are IP /
/// IPv6, to be routed by craft::live's L3 calls (out of --iface when given).
fn layer2<'a>(pkts: &[Packet], iface: Option<&'a str>) -> Result<Option<&'a str>, String> {
    let kind = |p: &Packet| p.layers.first().map(|l| l.kind());
    for p in pkts {
        if !matches!(kind(p), Some(LayerKind::Ether | LayerKind::Ip | LayerKind::Ipv6)) {
            return Err(format!("{}: a packet to send must start with Ether, IP or IPv6", p.summary()));
        }
    }
    let ether = pkts.iter().filter(|p| kind(p) == Some(LayerKind::Ether)).count();
    if ether == 0 {
        return Ok(None);
    }
    if ether < pkts.len() {
        return Err("the packets mix Ether frames and IP packets: send them separately".into());
    }
    iface.map(Some).ok_or_else(|| format!("{}: sending Ether frames needs --iface", pkts[0].summary()))
}

fn warn(warnings: &[String]) {
    for w in warnings {
        craft::exit::warning("craft", w);
    }
}

/// The explainer --explain asks for; without the privileges it needs, one line on stderr
/// saying what is missing, and None: the packets are still sent.
fn start_explainer(a: &ExplainArgs) -> Result<Option<Explainer>, String> {
    if !a.explain && !a.trace {
        return Ok(None);
    }
    let wait = secs(a.explain_wait, "--explain-wait")?;
    match Explainer::start(ExplainOpts { wait, trace: a.trace, ..ExplainOpts::default() }) {
        Ok(ex) => Ok(Some(ex)),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            craft::exit::warning("craft", "--explain needs root (CAP_BPF and CAP_PERFMON): sending without it");
            Ok(None)
        }
        Err(e) => {
            craft::exit::warning("craft", format_args!("--explain: {e}: sending without it"));
            Ok(None)
        }
    }
}

/// Wait out the grace period (Ctrl-C cuts it short) and print the report.
fn print_report(out: &mut impl Write, ex: Explainer, cancel: &CancelFlag, format: ReportFormat) -> Result<(), String> {
    let report = ex.finish(Some(cancel)).map_err(|e| format!("--explain: {e}"))?;
    let text = match format {
        ReportFormat::Text => report.text(),
        ReportFormat::Json => report.json(),
    };
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(io_err)
}
