//! `craft send`, `craft sr` and `craft sniff`: the live commands (Linux, root or CAP_NET_RAW).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use craft::explain::{self, DropWatch, ExplainOpts, Explainer};
use craft::live::{self, filter, CancelFlag, Direction, SendOpts, SniffOpts, Sniffer, SrOpts, SrResult};
use craft::packet::{LayerKind, Packet};
use craft::pcap::{self, WriteFormat};
use craft::text;

use crate::{emit, for_each_source_packet, io_err, Format};

#[derive(Args)]
pub struct SendArgs {
    /// Interface to send on (required for Ether frames; IP/IPv6 packets leave by it instead of
    /// by their route, the source address being the interface's when unset).
    #[arg(long, short)]
    iface: Option<String>,
    /// An expression, a .ron file, or - (stdin, one expression per line).
    source: String,
    /// How many times the packets are sent.
    #[arg(long, short, default_value_t = 1)]
    count: usize,
    /// Packets per second.
    #[arg(long, conflicts_with = "interval")]
    rate: Option<f64>,
    /// Seconds between packets.
    #[arg(long)]
    interval: Option<f64>,
    #[command(flatten)]
    pub explain: ExplainArgs,
    /// How the --explain report is printed.
    #[arg(long, short, value_enum, default_value = "text")]
    format: ReportFormat,
}

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

#[derive(Args)]
pub struct SrArgs {
    /// Interface to send on (required for Ether frames; IP/IPv6 packets leave by it instead of
    /// by their route, the source address being the interface's when unset).
    #[arg(long, short)]
    iface: Option<String>,
    /// An expression, a .ron file, or - (stdin, one expression per line).
    source: String,
    /// Seconds to wait for answers after the last packet.
    #[arg(long, short, default_value_t = 2.0)]
    timeout: f64,
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
    explain: ExplainArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Dir {
    In,
    Out,
    Both,
}

#[derive(Args)]
pub struct SniffArgs {
    #[arg(long, short)]
    iface: String,
    /// Stop after this many packets.
    #[arg(long, short)]
    count: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long, short)]
    timeout: Option<f64>,
    /// tcpdump filter, applied in the kernel.
    #[arg(long)]
    filter: Option<String>,
    #[arg(long, value_enum, default_value = "in")]
    direction: Dir,
    /// Also write the packets to a capture file: pcapng if it ends in .pcapng, else pcap (ns).
    #[arg(long = "write", short = 'w', value_name = "FILE")]
    write: Option<String>,
    /// How packets are printed.
    #[arg(long, short, value_enum, default_value = "summary")]
    format: Format,
}

// ---------------------------------------------------------------------------------------
// Ctrl-C

/// From now on the first Ctrl-C sets the flag returned (the live call stops and returns what
/// it has) instead of killing the process; a second Ctrl-C kills it as usual.
fn cancel_on_sigint() -> CancelFlag {
    craft::live::cancel_on_sigint(true)
}

/// 130 (128 + SIGINT, as shells report it) when Ctrl-C stopped the call, else `code`.
fn exit_code(cancel: &CancelFlag, code: u8) -> ExitCode {
    ExitCode::from(if cancel.is_cancelled() { 130 } else { code })
}

// ---------------------------------------------------------------------------------------
// Packets

fn secs(s: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("{what}: {s} is not a number of seconds"))
}

fn read_packets(source: &str) -> Result<Vec<Packet>, String> {
    let mut all = Vec::new();
    for_each_source_packet(source, |p| {
        all.extend(p);
        Ok(())
    })?;
    if all.is_empty() {
        return Err(format!("{source}: no packet"));
    }
    Ok(all)
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
        eprintln!("craft: warning: {w}");
    }
}

// ---------------------------------------------------------------------------------------
// send

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
    let pkts = read_packets(&a.source)?;
    let l2 = layer2(&pkts, a.iface.as_deref())?;
    let cancel = cancel_on_sigint();
    let progress = Arc::new(AtomicUsize::new(0));
    let opts = SendOpts { count: a.count, inter, cancel: Some(cancel.clone()), progress: Some(progress.clone()), ..SendOpts::default() };
    let mut ex = start_explainer(&a.explain)?;
    let t0 = Instant::now();
    let sent = with_progress(pkts.len() * a.count, &progress, || {
        let (sent, warnings) = match (l2, ex.as_mut()) {
            (Some(dev), None) => live::sendp(dev, &pkts, opts).map(|r| (r.sent, r.warnings)),
            (Some(dev), Some(ex)) => explain::send::sendp(ex, dev, &pkts, opts).map(|r| (r.sent, r.warnings)),
            (None, None) => live::send(a.iface.as_deref(), &pkts, opts).map(|r| (r.sent, r.warnings)),
            (None, Some(ex)) => explain::send::send(ex, a.iface.as_deref(), &pkts, opts).map(|r| (r.sent, r.warnings)),
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
            eprintln!("craft: --explain needs root (CAP_BPF and CAP_PERFMON): sending without it");
            Ok(None)
        }
        Err(e) => {
            eprintln!("craft: --explain: {e}: sending without it");
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

// ---------------------------------------------------------------------------------------
// watch-drops

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

// ---------------------------------------------------------------------------------------
// sr

pub fn sr(out: &mut impl Write, a: SrArgs) -> Result<ExitCode, String> {
    let timeout = secs(a.timeout, "--timeout")?;
    if let Some(f) = &a.filter {
        // Before any routing or sending.
        filter::compile(f).map_err(|e| e.to_string())?;
    }
    let pkts = read_packets(&a.source)?;
    let l2 = layer2(&pkts, a.iface.as_deref())?;
    let cancel = cancel_on_sigint();
    let opts = SrOpts { timeout, retry: a.retry, multi: a.multi, filter: a.filter.clone(), cancel: Some(cancel.clone()), ..SrOpts::default() };
    let mut ex = start_explainer(&a.explain)?;
    let res = match (l2, ex.as_mut()) {
        (Some(dev), None) => live::srp(dev, &pkts, &opts),
        (Some(dev), Some(ex)) => explain::send::srp(ex, dev, &pkts, &opts),
        (None, ex) => {
            let r = match ex {
                None => live::sr(a.iface.as_deref(), &pkts, &opts),
                Some(ex) => explain::send::sr(ex, a.iface.as_deref(), &pkts, &opts),
            };
            r.map(|r| {
                warn(&r.warnings);
                SrResult { answered: r.answered, unanswered: r.unanswered, received: r.received }
            })
        }
    }
    .map_err(|e| e.to_string())?;
    for ans in &res.answered {
        let req = ans.request.summary();
        let rtt = ans.rtt().as_micros();
        match a.format {
            Format::Summary => writeln!(out, "{req} ==> {}  rtt={rtt} us", ans.reply.summary()).map_err(io_err)?,
            Format::Json => {
                let j = serde_json::json!({"request": req, "reply": text::to_json(&ans.reply), "rtt_us": rtt as u64});
                writeln!(out, "{j}").map_err(io_err)?;
            }
            f => {
                writeln!(out, "{req} ==> rtt={rtt} us").map_err(io_err)?;
                emit(out, std::slice::from_ref(&ans.reply), f, true)?;
            }
        }
    }
    for p in &res.unanswered {
        match a.format {
            Format::Json => {
                let j = serde_json::json!({"request": p.summary(), "reply": null});
                writeln!(out, "{j}").map_err(io_err)?;
            }
            _ => writeln!(out, "unanswered: {}", p.summary()).map_err(io_err)?,
        }
    }
    out.flush().map_err(io_err)?;
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

// ---------------------------------------------------------------------------------------
// sniff

fn ts(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

pub fn sniff(out: &mut impl Write, a: SniffArgs) -> Result<ExitCode, String> {
    let timeout = a.timeout.map(|t| secs(t, "--timeout")).transpose()?;
    let direction = match a.direction {
        Dir::In => Direction::In,
        Dir::Out => Direction::Out,
        Dir::Both => Direction::Both,
    };
    let cancel = cancel_on_sigint();
    let opts = SniffOpts { count: a.count, timeout, filter: a.filter.clone(), direction, cancel: Some(cancel.clone()), ..SniffOpts::default() };
    let mut sniffer = Sniffer::new(&a.iface, opts).map_err(|e| e.to_string())?;
    let path = a.write.as_deref().unwrap_or("");
    let mut writer = match &a.write {
        Some(_) => {
            let format = if path.ends_with(".pcapng") { WriteFormat::PcapNg } else { WriteFormat::PcapNanos };
            let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
            let snap = sniffer.socket().options().snaplen as u32;
            Some(pcap::Writer::new(BufWriter::new(file), format, pcap::LINKTYPE_ETHERNET, snap).map_err(|e| format!("{path}: {e}"))?)
        }
        None => None,
    };
    eprintln!("craft: sniffing on {}", a.iface);
    let mut buf = Vec::new();
    let mut seen = 0usize;
    let mut pkt = [Packet::new()];
    let cx = craft::layer::DissectCx::default();
    while let Some(meta) = sniffer.next_frame(&mut buf).map_err(|e| e.to_string())? {
        seen += 1;
        if let Some(w) = writer.as_mut() {
            let orig = meta.orig_len.unwrap_or(meta.len) as u32;
            w.write(meta.ts_ns, &buf, orig).map_err(|e| format!("{path}: {e}"))?;
        }
        pkt[0].dissect_into(&buf, LayerKind::Ether, &cx);
        let t = ts(meta.ts_ns);
        match a.format {
            Format::Summary => writeln!(out, "{t} {}", pkt[0].summary()).map_err(io_err)?,
            Format::Json => {
                let j = serde_json::json!({"ts_ns": meta.ts_ns, "packet": text::to_json(&pkt[0])});
                writeln!(out, "{j}").map_err(io_err)?;
            }
            Format::Hex | Format::Command => {
                write!(out, "{t} ").map_err(io_err)?;
                emit(out, &pkt, a.format, true)?;
            }
            f => {
                writeln!(out, "{t}").map_err(io_err)?;
                emit(out, &pkt, f, true)?;
            }
        }
        out.flush().map_err(io_err)?;
    }
    if let Some(w) = writer {
        w.into_inner().and_then(|mut b| b.flush()).map_err(|e| format!("{path}: {e}"))?;
    }
    let drops = sniffer.socket().stats().map_err(|e| e.to_string())?.drops;
    eprintln!("{seen} packets captured, {drops} dropped by the kernel");
    Ok(exit_code(&cancel, 0))
}
