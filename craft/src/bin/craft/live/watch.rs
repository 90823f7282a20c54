//! `craft watch-drops`: every packet the kernel drops, as it happens.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use craft::explain::{self, DropWatch};

use super::{cancel_on_sigint, exit_code, secs, ReportFormat};
use crate::io_err;

#[derive(Args)]
pub struct WatchArgs {
    /// Only drops in this network namespace (a name of /var/run/netns, or "all").
    #[arg(long, default_value = "all")]
    netns: String,
    /// A tcpdump expression applied in user space to each dropped packet (with its Ethernet
    /// header as received, or one carrying the packet's protocol when it had none).
    #[arg(long)]
    filter: Option<String>,
    /// Stop after this many seconds (else Ctrl-C stops).
    #[arg(long, short)]
    timeout: Option<f64>,
    #[arg(long, short, value_enum, default_value = "text")]
    format: ReportFormat,
}

pub fn watch_drops(out: &mut impl Write, a: WatchArgs) -> Result<ExitCode, String> {
    let timeout = a.timeout.map(|t| secs(t, "--timeout")).transpose()?;
    let only = match a.netns.as_str() {
        "all" => None,
        name => Some(explain::netns::netns_inode(name).map_err(|e| e.to_string())?),
    };
    let filter = a.filter.as_deref().map(explain::watch::DropFilter::new).transpose().map_err(|e| e.to_string())?;
    let mut watch = DropWatch::start().map_err(|e| e.to_string())?;
    let cancel = cancel_on_sigint();
    let t0 = Instant::now();
    let deadline = timeout.map(|t| t0 + t);
    eprintln!("craft: watching drops ({}); Ctrl-C stops", if only.is_some() { a.netns.as_str() } else { "all namespaces" });
    let (mut shown, mut skipped) = (0usize, 0usize);
    let mut names = explain::netns::netns_names();
    while !cancel.is_cancelled() {
        let left = deadline.map_or(Duration::from_millis(200), |d| d.saturating_duration_since(Instant::now()).min(Duration::from_millis(200)));
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let evs = watch.poll(left).map_err(|e| e.to_string())?;
        for ev in evs {
            if only.is_some_and(|n| n != ev.netns) || filter.as_ref().is_some_and(|f| !f.matches(&ev)) {
                skipped += 1;
                continue;
            }
            if ev.netns != 0 && !names.contains_key(&ev.netns) {
                names = explain::netns::netns_names();
            }
            shown += 1;
            let t = t0.elapsed().as_secs_f64();
            match a.format {
                ReportFormat::Text => writeln!(out, "{t:.6} {}", explain::watch::event_line(&ev, &names)),
                ReportFormat::Json => {
                    let mut j = explain::watch::event_json(&ev, &names);
                    j["t"] = t.into();
                    writeln!(out, "{j}")
                }
            }
            .map_err(io_err)?;
        }
        out.flush().map_err(io_err)?;
    }
    let lost = watch.lost().map_err(|e| e.to_string())?;
    eprintln!("{shown} drops shown, {skipped} filtered out, {lost} lost (ring buffer full)");
    Ok(exit_code(&cancel, 0))
}
