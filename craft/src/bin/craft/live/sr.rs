//! `craft sr`: send packets and match their answers, as scapy's sr / srp.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use craft::explain;
use craft::live::{self, filter, SrOpts, SrResult};
use craft::text;

use super::replay::{pace, PacketInput};
use super::{cancel_on_sigint, exit_code, layer2, print_report, secs, start_explainer, warn, ExplainArgs, Pacing, ReportFormat};
use crate::input::DissectOpts;
use crate::output::{Format, Out};

#[derive(Args)]
pub struct SrArgs {
    /// Interface to send on (required for Ether frames; IP/IPv6 packets leave by it instead of
    /// by their route, the source address being the interface's when unset).
    #[arg(long, short)]
    iface: Option<String>,
    #[command(flatten)]
    input: PacketInput,
    /// Seconds to wait for answers after the last packet.
    #[arg(long, short, default_value_t = 2.0)]
    timeout: f64,
    #[command(flatten)]
    pacing: Pacing,
    /// With --pcap: send the requests at the pace they were captured (the gaps between their
    /// timestamps); a retry keeps the gaps between the requests it sends again.
    #[arg(long, requires = "pcap", conflicts_with_all = ["rate", "interval"])]
    pace: bool,
    /// How many times the unanswered packets are sent again.
    #[arg(long, short, default_value_t = 0)]
    retry: u32,
    /// Keep collecting answers (several per request) until the timeout.
    #[arg(long)]
    multi: bool,
    /// tcpdump filter applied to received frames.
    #[arg(long)]
    filter: Option<String>,
    /// How replies are printed (json: the --explain report too).
    #[arg(long, short, value_enum, default_value = "summary")]
    format: Format,
    #[command(flatten)]
    dissect: DissectOpts,
    #[command(flatten)]
    explain: ExplainArgs,
}

pub fn sr(out: &mut impl Write, a: SrArgs) -> Result<ExitCode, String> {
    let timeout = secs(a.timeout, "--timeout")?;
    if let Some(f) = &a.filter {
        // Before any routing or sending.
        filter::compile(f).map_err(|e| e.to_string())?;
    }
    let cx = a.dissect.cx();
    let loaded = a.input.load(&cx)?;
    let schedule = match (&loaded.ts_ns, a.pace) {
        (Some(ts), true) => Some(pace(ts).into()),
        _ => None,
    };
    let pkts = loaded.pkts;
    let l2 = layer2(&pkts, a.iface.as_deref())?;
    let cancel = cancel_on_sigint();
    let opts = SrOpts {
        timeout,
        inter: a.pacing.inter()?,
        schedule,
        retry: a.retry,
        multi: a.multi,
        filter: a.filter.clone(),
        cancel: Some(cancel.clone()),
        dissect: cx,
        ..SrOpts::default()
    };
    let mut ex = start_explainer(&a.explain)?;
    let res = match (l2, ex.as_mut()) {
        (Some(dev), None) => live::srp(dev, &pkts, &opts),
        (Some(dev), Some(ex)) => explain::send::srp(ex, dev, &pkts, &opts),
        (None, ex) => {
            let r = match ex {
                None => live::sr(a.iface.as_deref(), &pkts, &opts),
                Some(ex) => explain::send::sr(ex, a.iface.as_deref(), &pkts, &opts),
            };
            r.map(|r| SrResult { answered: r.answered, unanswered: r.unanswered, received: r.received, warnings: r.warnings })
        }
    }
    .map_err(|e| e.to_string())?;
    warn(&res.warnings);
    let mut o = Out::new(&mut *out, a.format, true);
    for ans in &res.answered {
        let req = ans.request.summary();
        let rtt = ans.rtt().as_micros();
        match a.format {
            Format::Summary => o.text(&format!("{req} ==> {}  rtt={rtt} us\n", ans.reply.summary()))?,
            Format::Json => {
                let j = serde_json::json!({"request": req, "reply": text::to_json(&ans.reply), "rtt_us": rtt as u64});
                o.text(&format!("{j}\n"))?;
            }
            f => {
                let comment = if f == Format::Ron { "    // " } else { "" };
                o.text(&format!("{comment}{req} ==> rtt={rtt} us\n"))?;
                o.packet(&ans.reply, None, None)?;
            }
        }
    }
    for p in &res.unanswered {
        match a.format {
            Format::Json => o.text(&format!("{}\n", serde_json::json!({"request": p.summary(), "reply": null})))?,
            Format::Ron => o.text(&format!("    // unanswered: {}\n", p.summary()))?,
            _ => o.text(&format!("unanswered: {}\n", p.summary()))?,
        }
    }
    o.finish()?;
    eprintln!(
        "Received {} packets, got {} answers, remaining {} packets",
        res.received,
        res.answered.len(),
        res.unanswered.len()
    );
    if let Some(ex) = ex {
        let format = if a.format == Format::Json { ReportFormat::Json } else { ReportFormat::Text };
        print_report(out, ex, &cancel, format)?;
    }
    Ok(exit_code(&cancel, if res.unanswered.is_empty() { 0 } else { 1 }))
}
