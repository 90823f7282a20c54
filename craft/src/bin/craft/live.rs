//! `craft send`, `craft sr` and `craft sniff`: the live commands (Linux, root or CAP_NET_RAW).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use craft::field::Mac;
use craft::live::{self, filter, Direction, Iface, Observer, PacketSocket, PktType, SendOpts, SocketCache, SocketOptions, SrOpts};
use craft::packet::{Layer, LayerKind, Packet};
use craft::pcap::{self, WriteFormat};
use craft::prelude::Ether;
use craft::text;

use crate::{emit, for_each_source_packet, io_err, Format};

#[derive(Args)]
pub struct SendArgs {
    /// Interface to send on (required for Ether frames; for IP/IPv6 it replaces the route's).
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
}

#[derive(Args)]
pub struct SrArgs {
    /// Interface to send on (required for Ether frames; for IP/IPv6 it replaces the route's).
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
    /// How replies are printed.
    #[arg(long, short, value_enum, default_value = "summary")]
    format: Format,
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

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// From now on Ctrl-C sets a flag the loops check instead of killing the process.
fn catch_sigint() {
    let handler = on_sigint as extern "C" fn(libc::c_int);
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------
// Packets to frames

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

/// Frames ready to send on one interface.
struct Frames {
    iface: String,
    frames: Vec<Packet>,
}

/// Ether frames go as they are (on --iface); IP / IPv6 packets are routed (fill_l3), or put
/// on --iface when given. Warnings go to stderr. All frames must leave by one interface.
fn to_frames(pkts: Vec<Packet>, iface: Option<&str>, resolve: Duration) -> Result<Frames, String> {
    if let Some(name) = iface {
        Iface::lookup_up(name).map_err(|e| e.to_string())?;
        // Fails early and clearly without root or CAP_NET_RAW.
        SocketCache::global().get(name).map_err(|e| e.to_string())?;
    }
    let mut out_iface: Option<String> = iface.map(str::to_string);
    let mut frames = Vec::with_capacity(pkts.len());
    for p in pkts {
        let (dev, frame, warnings) = match p.layers.first().map(|l| l.kind()) {
            Some(LayerKind::Ether) => {
                let dev = iface.ok_or_else(|| format!("{}: sending Ether frames needs --iface", p.summary()))?;
                (dev.to_string(), p, Vec::new())
            }
            Some(LayerKind::Ip | LayerKind::Ipv6) => match iface {
                None => {
                    let f = live::fill_l3(&p, resolve).map_err(|e| e.to_string())?;
                    (f.iface.name, f.frame, f.warnings)
                }
                Some(dev) => fill_l3_on(&p, dev, resolve).map_err(|e| e.to_string())?,
            },
            _ => return Err(format!("{}: a packet to send must start with Ether, IP or IPv6", p.summary())),
        };
        for w in warnings {
            eprintln!("craft: warning: {w}");
        }
        match &out_iface {
            Some(d) if *d != dev => {
                return Err(format!("packets leave by different interfaces ({d} and {dev}): give --iface"))
            }
            Some(_) => {}
            None => out_iface = Some(dev),
        }
        frames.push(frame);
    }
    Ok(Frames { iface: out_iface.expect("at least one packet"), frames })
}

/// fill_l3 on a given interface: the route's own resolution when the route goes through it,
/// else the destination is taken as on-link there.
fn fill_l3_on(p: &Packet, dev: &str, resolve: Duration) -> io::Result<(String, Packet, Vec<String>)> {
    let (dst, src) = match p.layers.first() {
        Some(Layer::Ip(ip)) => (IpAddr::V4(ip.dst), ip.src.map(IpAddr::V4)),
        Some(Layer::Ipv6(ip)) => (IpAddr::V6(ip.dst), ip.src.map(IpAddr::V6)),
        _ => unreachable!("checked by the caller"),
    };
    if live::route_get(dst).is_ok_and(|r| r.ifname == dev) {
        let f = live::fill_l3(p, resolve)?;
        return Ok((f.iface.name, f.frame, f.warnings));
    }
    let iface = Iface::lookup_up(dev)?;
    let mut warnings = Vec::new();
    if src.is_none() {
        warnings.push(format!("the route to {dst} does not go through {dev}: the source address stays unset"));
    }
    let asker = src.unwrap_or(if dst.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) });
    let mac = match live::group_mac(dst) {
        Some(m) => m,
        None => match live::resolve_mac(&iface, dst, asker, resolve)? {
            Some(m) => m,
            None => {
                warnings.push(format!("could not resolve the MAC of {dst} on {dev}; sending to broadcast"));
                Mac::BROADCAST
            }
        },
    };
    let frame = Packet::from(Layer::Ether(Ether::new().src(iface.mac).dst(mac))) / p.clone();
    Ok((dev.to_string(), frame, warnings))
}

// ---------------------------------------------------------------------------------------
// send

pub fn send(a: SendArgs) -> Result<ExitCode, String> {
    let gap = match (a.rate, a.interval) {
        (Some(r), _) if !(r > 0.0 && r.is_finite()) => return Err(format!("--rate {r}: must be more than 0")),
        (Some(r), _) => Some(secs(1.0 / r, "--rate")?),
        (None, Some(i)) => Some(secs(i, "--interval")?),
        (None, None) => None,
    };
    let pkts = read_packets(&a.source)?;
    let Frames { iface, frames } = to_frames(pkts, a.iface.as_deref(), Duration::from_secs(1))?;
    let total = frames.len() * a.count;
    let tty = io::stderr().is_terminal();
    catch_sigint();
    let t0 = Instant::now();
    let mut sent = 0usize;
    let mut last_draw = t0;
    let mut progress = |sent: usize, force: bool| {
        if tty && (force || last_draw.elapsed() >= Duration::from_millis(200)) {
            last_draw = Instant::now();
            let el = t0.elapsed().as_secs_f64();
            let rate = if el > 0.0 { sent as f64 / el } else { 0.0 };
            eprint!("\r\x1b[Ksent {sent}/{total} packets, {rate:.0} pps");
        }
    };
    let err = |e: io::Error| e.to_string();
    match gap {
        Some(gap) => {
            for i in 0..total {
                if interrupted() {
                    break;
                }
                let at = t0 + gap.mul_f64(i as f64);
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                let j = i % frames.len();
                sent += live::sendp(&iface, &frames[j..=j], SendOpts::default()).map_err(err)?.sent;
                progress(sent, false);
            }
        }
        None => {
            // Chunks of whole lists, so the progress line moves and Ctrl-C is heard.
            let per_chunk = (4096 / frames.len()).max(1);
            let mut done = 0;
            while done < a.count && !interrupted() {
                let n = per_chunk.min(a.count - done);
                sent += live::sendp(&iface, &frames, SendOpts { count: n, ..SendOpts::default() }).map_err(err)?.sent;
                done += n;
                progress(sent, false);
            }
        }
    }
    progress(sent, true);
    if tty {
        eprintln!();
    }
    let el = t0.elapsed().as_secs_f64();
    let rate = if el > 0.0 { sent as f64 / el } else { 0.0 };
    eprintln!("sent {sent} packets in {el:.3} s ({rate:.0} pps)");
    Ok(if interrupted() { ExitCode::from(130) } else { ExitCode::SUCCESS })
}

// ---------------------------------------------------------------------------------------
// sr

#[derive(Default)]
struct CountRecv(usize);

impl Observer for CountRecv {
    fn on_recv(&mut self, _frame: &[u8], _ts_ns: u64, _answered: &[usize]) {
        self.0 += 1;
    }
}

pub fn sr(out: &mut impl Write, a: SrArgs) -> Result<ExitCode, String> {
    let timeout = secs(a.timeout, "--timeout")?;
    if let Some(f) = &a.filter {
        filter::compile(f).map_err(|e| e.to_string())?;
    }
    let pkts = read_packets(&a.source)?;
    let resolve = timeout.clamp(Duration::from_millis(200), Duration::from_secs(2));
    let Frames { iface, frames } = to_frames(pkts, a.iface.as_deref(), resolve)?;
    let opts = SrOpts { timeout, retry: a.retry, multi: a.multi, inter: None, filter: a.filter.clone() };
    let mut recv = CountRecv::default();
    let res = live::srp_observed(&iface, &frames, &opts, &mut recv).map_err(|e| e.to_string())?;
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
        recv.0,
        res.answered.len(),
        res.unanswered.len()
    );
    Ok(if res.unanswered.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

// ---------------------------------------------------------------------------------------
// sniff

fn ts(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

pub fn sniff(out: &mut impl Write, a: SniffArgs) -> Result<ExitCode, String> {
    let timeout = a.timeout.map(|t| secs(t, "--timeout")).transpose()?;
    let prog = a.filter.as_deref().map(filter::compile).transpose().map_err(|e| e.to_string())?;
    let direction = match a.direction {
        Dir::In => Direction::In,
        Dir::Out => Direction::Out,
        Dir::Both => Direction::Both,
    };
    let sopts = SocketOptions { ignore_outgoing: direction == Direction::In, ..SocketOptions::default() };
    let sock = PacketSocket::open_with(&a.iface, sopts).map_err(|e| e.to_string())?;
    if let Some(p) = &prog {
        sock.attach_filter(p).map_err(|e| e.to_string())?;
    }
    let mut writer = match &a.write {
        Some(path) => {
            let format = if path.ends_with(".pcapng") { WriteFormat::PcapNg } else { WriteFormat::PcapNanos };
            let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
            let snap = sock.options().snaplen as u32;
            Some(pcap::Writer::new(BufWriter::new(file), format, pcap::LINKTYPE_ETHERNET, snap).map_err(|e| format!("{path}: {e}"))?)
        }
        None => None,
    };
    catch_sigint();
    eprintln!("craft: sniffing on {}", a.iface);
    let start = Instant::now();
    let deadline = timeout.map(|t| start + t);
    let mut buf = Vec::new();
    let mut seen = 0usize;
    let mut pkt = [Packet::new()];
    let cx = craft::layer::DissectCx::default();
    loop {
        if interrupted() || a.count.is_some_and(|c| seen >= c) {
            break;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break;
        }
        // Short waits, so Ctrl-C is heard within 100 ms.
        let mut until = now + Duration::from_millis(100);
        if let Some(d) = deadline {
            until = until.min(d);
        }
        let Some(meta) = sock.recv(&mut buf, until).map_err(|e| e.to_string())? else { continue };
        let keep = match direction {
            Direction::In => meta.pkttype != PktType::Outgoing,
            Direction::Out => meta.pkttype == PktType::Outgoing,
            Direction::Both => true,
        };
        if !keep {
            continue;
        }
        seen += 1;
        if let Some(w) = writer.as_mut() {
            let orig = meta.orig_len.unwrap_or(meta.len) as u32;
            w.write(meta.ts_ns, &buf, orig).map_err(|e| format!("{}: {e}", a.write.as_deref().unwrap_or("")))?;
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
        let path = a.write.as_deref().unwrap_or("");
        w.into_inner().and_then(|mut b| b.flush()).map_err(|e| format!("{path}: {e}"))?;
    }
    let drops = sock.stats().map_err(|e| e.to_string())?.drops;
    eprintln!("{seen} packets captured, {drops} dropped by the kernel");
    Ok(ExitCode::SUCCESS)
}
