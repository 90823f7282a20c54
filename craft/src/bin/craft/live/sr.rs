//! `craft sr`: send packets and match their answers, as scapy's sr / srp.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clap::Args;
use craft::explain;
use craft::live::{self, filter, Observer, SrOpts, SrResult};
use craft::text;

use super::replay::{pace, PacketInput};
use super::{cancel_on_sigint, exit_code, layer2, print_report, secs, start_explainer, warn, ExplainArgs, Pacing, ReportFormat};
use crate::input::DissectOpts;
use crate::output::{Format, Out};
use crate::progress::{self, Progress, Sink};

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
    // Replies are printed at the end: the line may be drawn while the run lasts, on a
    // terminal stderr, except beside JSON (and not with --explain, which observes the run).
    let mut counts = SrCounts::new(pkts.len());
    let show = progress::shown(std::io::stderr().is_terminal(), false, Sink::stdout()) && a.format != Format::Json && ex.is_none();
    let progress = Progress::start(show, counts.line(pkts.len()));
    let res = match (l2, ex.as_mut()) {
        (Some(dev), None) => live::srp_observed(dev, &pkts, &opts, &mut counts),
        (Some(dev), Some(ex)) => explain::send::srp(ex, dev, &pkts, &opts),
        (None, ex) => {
            let r = match ex {
                None => live::sr_observed(a.iface.as_deref(), &pkts, &opts, &mut counts),
                Some(ex) => explain::send::sr(ex, a.iface.as_deref(), &pkts, &opts),
            };
            r.map(|r| SrResult { answered: r.answered, unanswered: r.unanswered, received: r.received, warnings: r.warnings })
        }
    };
    drop(progress);
    let res = res.map_err(|e| e.to_string())?;
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
    Ok(exit_code(&cancel, if res.unanswered.is_empty() { 0 } else { craft::exit::NEGATIVE }))
}

/// What the progress line of `craft sr` counts, as the run goes: frames sent (retries
/// included), and the requests sent so far that were answered or not (yet).
struct SrCounts {
    sent: Arc<AtomicUsize>,
    asked: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
    was_sent: Vec<bool>,
    was_answered: Vec<bool>,
}

impl SrCounts {
    fn new(requests: usize) -> SrCounts {
        SrCounts {
            sent: Arc::default(),
            asked: Arc::default(),
            answered: Arc::default(),
            was_sent: vec![false; requests],
            was_answered: vec![false; requests],
        }
    }

    /// The line drawn, read from the counts.
    fn line(&self, total: usize) -> impl Fn(usize, f64) -> String + Send + 'static {
        let (sent, asked, answered) = (self.sent.clone(), self.asked.clone(), self.answered.clone());
        move |_, secs| {
            let (n, q, a) = (sent.load(Ordering::Relaxed), asked.load(Ordering::Relaxed), answered.load(Ordering::Relaxed));
            sr_line(n, q, a, total, secs)
        }
    }

    /// Marks request `i` in `seen`; true the first time.
    fn first(seen: &mut Vec<bool>, i: usize) -> bool {
        if i >= seen.len() {
            seen.resize(i + 1, false);
        }
        !std::mem::replace(&mut seen[i], true)
    }
}

impl Observer for SrCounts {
    fn on_send(&mut self, index: usize, _round: u32, _frame: &[u8], _sent_ns: u64) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if SrCounts::first(&mut self.was_sent, index) {
            self.asked.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_recv(&mut self, _frame: &[u8], _ts_ns: u64, answered: &[usize]) {
        for &i in answered {
            if SrCounts::first(&mut self.was_answered, i) {
                self.answered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `sent` frames for `asked` of `total` requests, `answered` of them answered, after `secs`.
fn sr_line(sent: usize, asked: usize, answered: usize, total: usize, secs: f64) -> String {
    let unanswered = asked.saturating_sub(answered);
    format!("sent {sent} packets ({asked}/{total} requests), {answered} answered, {unanswered} unanswered, {:.0} pps", progress::rate(sent, secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_once_and_answers_once() {
        let mut c = SrCounts::new(3);
        let line = c.line(3);
        // Request 0 sent twice (a retry), answered twice (--multi); request 1 unanswered.
        for i in [0, 1, 0] {
            c.on_send(i, 0, &[], 0);
        }
        c.on_recv(&[], 0, &[0]);
        c.on_recv(&[], 0, &[0]);
        c.on_recv(&[], 0, &[]);
        assert_eq!(line(0, 1.0), "sent 3 packets (2/3 requests), 1 answered, 1 unanswered, 3 pps");
        // An index past the requests given (never from live::sr, but no panic).
        c.on_send(7, 0, &[], 0);
        c.on_recv(&[], 0, &[7]);
        assert_eq!(line(0, 2.0), "sent 4 packets (3/3 requests), 2 answered, 1 unanswered, 2 pps");
    }
}
