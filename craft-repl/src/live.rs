//! The live functions: send, sendp, sr, sr1, srp, srp1, srloop, sniff — scapy's names and
//! keyword arguments, on craft::live (which does the sending, routing, matching and
//! capturing; nothing here is a second implementation of it).
//!
//! What they do, and where they differ from scapy:
//!
//! * **Packets.** The first argument is a packet (every packet of its packet set:
//!   `IP(dst="10.0.0.0/30")/ICMP()` is four) or a list of packets. `send`, `sr`, `sr1` and
//!   `srloop` take IP / IPv6 packets, routed as the kernel would (out of `iface=` when
//!   given); `sendp`, `srp` and `srp1` take Ether frames, sent on `iface=`, else
//!   `conf.iface`, else the interface the route to the first packet's destination leaves
//!   by, else the one of the default route.
//! * **Timeouts.** scapy's `sr` without `timeout` waits until every request is answered,
//!   for ever if one is not: here an omitted `timeout` is 2 s (what scapy users write in
//!   practice); `timeout=None`, given explicitly, is scapy's: wait until every request is
//!   answered (or Ctrl-C). `sniff` without `count` and `timeout` runs until Ctrl-C.
//! * **Ctrl-C** stops the running call, which returns what it has (the answers so far, the
//!   rest unanswered; the packets captured so far), as scapy's do; the statement and the
//!   session go on. `srloop` stops looping.
//! * **Output.** With `conf.verb` (or `verbose=`) ≥ 1 the exchanges print scapy's progress
//!   lines on the session's output: `Begin emission:`, `Finished sending N packets.`, one
//!   `*` per answer and `.` per other packet received (verb ≥ 2; after the exchange, not as
//!   they come), `Received N packets, got A answers, remaining U packets`; `send` prints a
//!   `.` per packet and `Sent N packets.`. craft's warnings (a MAC that could not be
//!   resolved) go to stderr, as scapy's logging warnings do.
//! * **Results** are scapy's: `sr`/`srp` give `(ans, unans)`, `ans` a `Results` list of
//!   `(sent, received)` pairs, `unans` an `Unanswered` list; `sr1`/`srp1` the answer or
//!   None; `sniff` a `Sniffed` list. Sent packets are the ones given (their `time` the send
//!   time), received ones are dissected with every field given and `time` the kernel's
//!   receive timestamp.
//! * **Sockets** stay open between calls: craft::live's `SocketCache` keeps one per
//!   interface. A capture opens its own, as craft::live's `Sniffer` does by design.
//! * **AsyncSniffer** (scapy's background sniff) is [`crate::sniffer`]'s, on this file's
//!   argument checks and per-frame handling (`sniff_args`, `on_frame`).
//! * `conf.checkIPaddr = False` (scapy issue #4443's fix) lets an answer come from another
//!   address than the one asked (`SrOpts::check_ip_addr`).
//! * **Not supported:** a negative `retry` (scapy: retry until a round brings nothing
//!   new); `send(loop=1)`.

use std::time::{Duration, Instant};

use craft::live::{self, filter, CancelFlag, Direction, SendOpts, SniffOpts, Sniffer, SrOpts};
use craft::packet::{Layer, LayerKind, Packet};
use craft::text::Pos;

use crate::builtins::packets_of;
use crate::interp::{err, Args, Flow, Interp, R};
use crate::methods::arg;
use crate::pkt::Pkt;
use crate::scapy_text;
use crate::value::Val;

/// State kept between live calls. The sockets themselves are kept by craft::live's
/// `SocketCache`, process-wide.
#[derive(Default)]
pub struct Live {
    /// The AsyncSniffers capturing now (started, not yet stopped or done).
    pub sniffers: Vec<std::rc::Rc<crate::sniffer::AsyncSniffer>>,
}

/// How long sr and friends wait for answers when `timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// `timeout=None`: wait until every request is answered (or Ctrl-C), as scapy.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

pub fn call(me: &mut Interp, name: &str, args: Args) -> R<Val> {
    match name {
        "send" => send(me, &args, false),
        "sendp" => send(me, &args, true),
        "sr" | "srp" => {
            let x = exchange(me, &args, name, name == "srp", false)?;
            let (ans, unans) = x.into_lists();
            Ok(Val::tuple(vec![ans, unans]))
        }
        "sr1" | "srp1" => {
            let x = exchange(me, &args, name, name == "srp1", true)?;
            Ok(x.answers.into_iter().next().map_or(Val::None, |(_, reply)| Val::packet(reply)))
        }
        "srloop" => srloop(me, &args),
        "sniff" => sniff(me, &args),
        "AsyncSniffer" => crate::sniffer::construct(me, &args),
        _ => err(args.at, format!("{name}() is not a live function")),
    }
}

// ---------------------------------------------------------------------------------------
// Arguments

/// A keyword argument and where it is, unless absent.
fn kw<'a>(args: &'a Args, name: &str) -> Option<(&'a Val, Pos)> {
    args.kw.iter().find(|k| k.name == name).map(|k| (&k.value, k.pos))
}

/// Only the packets may be given by position.
fn at_most_positional(args: &Args, func: &str, n: usize) -> R<()> {
    match args.pos.get(n) {
        Some((_, pos)) => {
            let what = if n == 0 { "no positional arguments".to_string() } else { format!("{n} positional argument") };
            err(*pos, format!("{func}() takes {what}; give the others by keyword (iface=..., timeout=...)"))
        }
        None => Ok(()),
    }
}

/// The packets of argument 0 (`x`, `pkts`).
fn packets_arg(me: &Interp, args: &Args, func: &str) -> R<(Vec<Pkt>, Pos)> {
    let Some(v) = arg(args, 0, "x").or_else(|| arg(args, 0, "pkts")) else {
        return err(args.at, format!("{func}() missing required argument: 'pkts'"));
    };
    let pos = args.pos.first().map_or_else(|| kw(args, "pkts").or(kw(args, "x")).map_or(args.at, |(_, p)| p), |(_, p)| *p);
    Ok((packets_of(me, v, pos)?, pos))
}

/// A number of seconds ≥ 0.
fn secs(v: &Val, pos: Pos, func: &str, name: &str) -> R<Duration> {
    match v.as_float() {
        Some(f) if f >= 0.0 && f.is_finite() && !matches!(v, Val::Bool(_)) => Ok(Duration::from_secs_f64(f)),
        _ => err(pos, format!("{func}() {name}= must be a number of seconds (0 or more), not {}", v.repr())),
    }
}

/// An optional number of seconds: absent → `absent`; None → `none`.
fn opt_secs(args: &Args, name: &str, func: &str, absent: Option<Duration>, none: Option<Duration>) -> R<Option<Duration>> {
    match kw(args, name) {
        None => Ok(absent),
        Some((Val::None, _)) => Ok(none),
        Some((v, pos)) => secs(v, pos, func, name).map(Some),
    }
}

/// A whole number ≥ 0, or None when absent or None.
fn opt_count(args: &Args, name: &str, func: &str) -> R<Option<usize>> {
    match kw(args, name) {
        None | Some((Val::None, _)) => Ok(None),
        Some((v, pos)) => match v.as_int() {
            Some(n) if n >= 0 && !matches!(v, Val::Bool(_)) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            _ => err(pos, format!("{func}() {name}= must be a whole number (0 or more), not {}", v.repr())),
        },
    }
}

fn opt_str(args: &Args, name: &str, func: &str) -> R<Option<(String, Pos)>> {
    match kw(args, name) {
        None | Some((Val::None, _)) => Ok(None),
        Some((Val::Str(s), pos)) => Ok(Some((s.to_string(), pos))),
        Some((v, pos)) => err(pos, format!("{func}() {name}= must be a str, not {}", v.type_name())),
    }
}

fn flag_arg(args: &Args, name: &str, default: bool) -> bool {
    kw(args, name).map_or(default, |(v, _)| v.truthy())
}

/// `verbose=`, else `conf.verb`.
fn verbosity(me: &Interp, args: &Args, func: &str) -> R<i128> {
    match kw(args, "verbose") {
        None | Some((Val::None, _)) => Ok(me.conf.verb),
        Some((v, pos)) => v.as_int().map_or_else(|| err(pos, format!("{func}() verbose= must be an int, not {}", v.type_name())), Ok),
    }
}

/// `filter=`, compiled now so that a bad one is reported at the argument, before anything
/// is sent.
fn filter_arg(args: &Args, func: &str) -> R<Option<String>> {
    let Some((f, pos)) = opt_str(args, "filter", func)? else { return Ok(None) };
    if let Err(e) = filter::compile(&f) {
        return io_err(pos, e);
    }
    Ok(Some(f))
}

/// An I/O error from craft::live at `pos`.
pub(crate) fn io_err<T>(pos: Pos, e: std::io::Error) -> R<T> {
    err(pos, e.to_string())
}

/// `iface=`, checked to exist (and be up) so that the error points at it.
fn iface_arg(args: &Args, func: &str) -> R<Option<(String, Pos)>> {
    let Some((name, pos)) = opt_str(args, "iface", func)? else { return Ok(None) };
    live::Iface::lookup_up(&name).or_else(|e| io_err(pos, e))?;
    Ok(Some((name, pos)))
}

/// The interface of the default route (IPv4, else IPv6) of this network namespace, as
/// scapy's `conf.iface` is by default.
fn default_route_iface() -> Option<String> {
    let v4 = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    for line in v4.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
        if cols.len() > 7 && cols[1] == "00000000" && cols[7] == "00000000" {
            return Some(cols[0].to_string());
        }
    }
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    for line in v6.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // dest prefixlen src srcprefixlen nexthop metric refcnt use flags iface
        if cols.len() > 9 && cols[0].bytes().all(|b| b == b'0') && cols[1] == "00" && cols[9] != "lo" {
            return Some(cols[9].to_string());
        }
    }
    None
}

/// Where a packet goes: its first IP / IPv6 destination, or the address an ARP asks for.
fn destination(p: &Packet) -> Option<std::net::IpAddr> {
    p.layers.iter().find_map(|l| match l {
        Layer::Ip(ip) => Some(std::net::IpAddr::V4(ip.dst)),
        Layer::Ipv6(ip) => Some(std::net::IpAddr::V6(ip.dst)),
        Layer::Arp(arp) => Some(std::net::IpAddr::V4(arp.pdst)),
        _ => None,
    })
}

/// The interface layer-2 calls send on: `iface=`, `conf.iface`, the route to the first
/// packet's destination (scapy's iface_hint), the default route's.
fn l2_iface(me: &Interp, args: &Args, func: &str, pkts: &[Pkt]) -> R<String> {
    if let Some((name, _)) = iface_arg(args, func)? {
        return Ok(name);
    }
    if let Some(name) = &me.conf.iface {
        return Ok(name.clone());
    }
    if let Some(r) = pkts.first().and_then(|p| destination(&p.packet)).and_then(|dst| live::route_get(dst).ok()) {
        return Ok(r.ifname);
    }
    default_route_iface().map_or_else(|| err(args.at, format!("{func}(): no interface: give iface=... or set conf.iface")), Ok)
}

/// scapy's default IP / IPv6 source at layer 2: the source of the route to the
/// destination, for the first IP / IPv6 header whose source is unset (craft::live's
/// `sendp` / `srp` send frames as built; its layer-3 calls do this themselves).
fn fill_ip_src(p: &mut Packet) {
    let Some(l) = p.layers.iter_mut().find(|l| matches!(l, Layer::Ip(_) | Layer::Ipv6(_))) else { return };
    match l {
        Layer::Ip(ip) if ip.src.is_none() => {
            if let Ok(Some(std::net::IpAddr::V4(a))) = live::route_get(std::net::IpAddr::V4(ip.dst)).map(|r| r.src) {
                ip.src = Some(a);
            }
        }
        Layer::Ipv6(ip) if ip.src.is_none() => {
            if let Ok(Some(std::net::IpAddr::V6(a))) = live::route_get(std::net::IpAddr::V6(ip.dst)).map(|r| r.src) {
                ip.src = Some(a);
            }
        }
        _ => {}
    }
}

/// The packet as sent (craft::live's, with what it filled in: addresses, the Ether header's
/// source), keeping what the user gave (`given`), so that repr shows what scapy's does and
/// summary what went out; the user's packet if the layers differ.
fn as_sent(user: &Pkt, sent: Packet, ns: u64) -> Pkt {
    let mut p = user.clone();
    let same = sent.layers.len() == p.packet.layers.len()
        && sent.layers.iter().zip(&p.packet.layers).all(|(a, b)| a.kind() == b.kind());
    if same {
        p.packet = sent;
    }
    p.time = ns_to_secs(ns);
    p
}

/// Every packet must start with Ether (layer 2) or IP / IPv6 (layer 3).
fn check_first_layers(pkts: &[Pkt], l2: bool, func: &str, pos: Pos) -> R<()> {
    for p in pkts {
        let first = p.packet.layers.first().map(|l| l.kind());
        let ok = if l2 { first == Some(LayerKind::Ether) } else { matches!(first, Some(LayerKind::Ip | LayerKind::Ipv6)) };
        if !ok {
            let what = first.map_or("nothing".to_string(), |k| k.name().to_string());
            let msg = if l2 {
                format!("{func}() sends Ether frames, and this packet starts with {what}: use {}() for IP packets, or put Ether()/ in front", l3_name(func))
            } else {
                format!("{func}() sends IP or IPv6 packets (routed), and this packet starts with {what}: use {}() for Ether frames", l2_name(func))
            };
            return err(pos, msg);
        }
    }
    Ok(())
}

/// The layer-3 function of a layer-2 one.
fn l3_name(func: &str) -> &'static str {
    match func {
        "sendp" => "send",
        "srp1" => "sr1",
        _ => "sr",
    }
}

/// The layer-2 function of a layer-3 one.
fn l2_name(func: &str) -> &'static str {
    match func {
        "send" => "sendp",
        "sr1" => "srp1",
        _ => "srp",
    }
}

fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
}

// ---------------------------------------------------------------------------------------
// Ctrl-C

/// The flag live calls stop on (Ctrl-C), if the session installed it.
fn cancel_flag() -> Option<CancelFlag> {
    crate::signal::flag()
}

/// A Ctrl-C that stopped a live call was its business (scapy's calls catch
/// KeyboardInterrupt): clear it so that the statement goes on.
fn consume(cancel: &Option<CancelFlag>) {
    if let Some(c) = cancel {
        c.reset();
    }
}

fn cancelled(cancel: &Option<CancelFlag>) -> bool {
    cancel.as_ref().is_some_and(CancelFlag::is_cancelled)
}

/// Sleep until `at`, looking at `cancel`: false if Ctrl-C was pressed.
fn sleep_until(at: Instant, cancel: &Option<CancelFlag>) -> bool {
    loop {
        if cancelled(cancel) {
            return false;
        }
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(live::CANCEL_CHECK));
    }
}

/// Whether an error is Ctrl-C inside a user function (prn=, lfilter=).
fn is_interrupt(e: &Flow) -> bool {
    matches!(e, Flow::Error(e) if e.msg == "KeyboardInterrupt")
}

// ---------------------------------------------------------------------------------------
// explain=True

/// With `explain=True`, the drop watcher (craft::explain), started before anything is
/// sent; `explain_wait=` seconds of grace after the last packet (1 s by default). Without
/// the privileges it needs, one line saying what is missing, and the packets are still sent.
/// `trace=True` (implies `explain=True`) adds each packet's path to the report.
fn explainer(me: &mut Interp, args: &Args, func: &str) -> R<Option<craft::explain::Explainer>> {
    let trace = flag_arg(args, "trace", false);
    if !flag_arg(args, "explain", false) && !trace {
        return Ok(None);
    }
    let mut opts = craft::explain::ExplainOpts { trace, ..craft::explain::ExplainOpts::default() };
    if let Some(w) = opt_secs(args, "explain_wait", func, None, None)? {
        opts.wait = w;
    }
    match craft::explain::Explainer::start(opts) {
        Ok(ex) => Ok(Some(ex)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            me.print(&format!("WARNING: {func}(explain=True) needs root (CAP_BPF and CAP_PERFMON): sending without it\n"));
            Ok(None)
        }
        Err(e) => {
            me.print(&format!("WARNING: {func}(explain=True): {e}: sending without it\n"));
            Ok(None)
        }
    }
}

/// The library's report of what happened to the packets (Ctrl-C cuts the grace period short).
fn print_explained(me: &mut Interp, ex: Option<craft::explain::Explainer>, cancel: &Option<CancelFlag>) {
    let Some(ex) = ex else { return };
    match ex.finish(cancel.as_ref()) {
        Ok(r) => me.print(&r.text()),
        Err(e) => me.print(&format!("WARNING: explain: {e}\n")),
    }
}

// ---------------------------------------------------------------------------------------
// send, sendp

fn send(me: &mut Interp, args: &Args, l2: bool) -> R<Val> {
    let func = if l2 { "sendp" } else { "send" };
    at_most_positional(args, func, 1)?;
    let (pkts, ppos) = packets_arg(me, args, func)?;
    check_first_layers(&pkts, l2, func, ppos)?;
    let count = opt_count(args, "count", func)?.unwrap_or(1);
    let inter = opt_secs(args, "inter", func, None, None)?.filter(|d| !d.is_zero());
    let verb = verbosity(me, args, func)?;
    let return_packets = flag_arg(args, "return_packets", false);
    let mut packets: Vec<Packet> = pkts.iter().map(|p| p.packet.clone()).collect();
    if l2 {
        packets.iter_mut().for_each(fill_ip_src);
    }
    let cancel = cancel_flag();
    let opts = SendOpts { count, inter, cancel: cancel.clone(), ..SendOpts::default() };
    let mut ex = explainer(me, args, func)?;
    let sent = if l2 {
        let iface = l2_iface(me, args, func, &pkts)?;
        let r = match ex.as_mut() {
            None => live::sendp(&iface, &packets, opts),
            Some(ex) => craft::explain::send::sendp(ex, &iface, &packets, opts),
        }
        .or_else(|e| io_err(args.at, e))?;
        warn(&r.warnings);
        r.sent
    } else {
        let iface = iface_arg(args, func)?.map(|(name, _)| name);
        let r = match ex.as_mut() {
            None => live::send(iface.as_deref(), &packets, opts),
            Some(ex) => craft::explain::send::send(ex, iface.as_deref(), &packets, opts),
        }
        .or_else(|e| io_err(args.at, e))?;
        warn(&r.warnings);
        r.sent
    };
    if verb >= 1 {
        me.print(&format!("{}\nSent {sent} packets.\n", ".".repeat(sent)));
    }
    print_explained(me, ex, &cancel);
    consume(&cancel);
    if !return_packets {
        return Ok(Val::None);
    }
    let items = pkts.iter().cycle().take(sent.min(pkts.len().saturating_mul(count))).map(|p| Val::packet(p.clone())).collect();
    Ok(Interp::packet_list("PacketList", items))
}

// ---------------------------------------------------------------------------------------
// sr, sr1, srp, srp1

/// What an exchange found, as the REPL shows it.
struct Exchanged {
    /// (sent, received), sorted by the request's position then time.
    answers: Vec<(Pkt, Pkt)>,
    unanswered: Vec<Pkt>,
}

impl Exchanged {
    fn into_lists(self) -> (Val, Val) {
        let ans = self.answers.into_iter().map(|(s, r)| Val::tuple(vec![Val::packet(s), Val::packet(r)])).collect();
        let unans = self.unanswered.into_iter().map(Val::packet).collect();
        (Interp::packet_list("Results", ans), Interp::packet_list("Unanswered", unans))
    }
}

fn ns_to_secs(ns: u64) -> Option<f64> {
    (ns != 0).then(|| ns as f64 / 1e9)
}

/// craft::live's answers and unanswered requests as the REPL's packets: (sent, received)
/// pairs, the sent packets as given (see [`as_sent`]), the received ones dissected with
/// their kernel timestamps; the requests nothing answered, in the order given.
fn sort_out(pkts: &[Pkt], answered: Vec<live::Answer>, unanswered: Vec<Packet>) -> (Vec<(Pkt, Pkt)>, Vec<Pkt>) {
    let mut done = vec![false; pkts.len()];
    let mut answers = Vec::with_capacity(answered.len());
    for a in answered {
        let Some(user) = pkts.get(a.index) else { continue };
        done[a.index] = true;
        let sent = as_sent(user, a.request, a.sent_ns);
        let mut reply = Pkt::dissected(a.reply);
        reply.time = ns_to_secs(a.recv_ns);
        answers.push((sent, reply));
    }
    // craft::live lists the unanswered requests in the order given.
    let mut rest = unanswered.into_iter();
    let unans = pkts
        .iter()
        .zip(&done)
        .filter(|(_, &d)| !d)
        .map(|(user, _)| match rest.next() {
            Some(sent) => {
                let mut p = as_sent(user, sent, 0);
                p.time = user.time;
                p
            }
            None => user.clone(),
        })
        .collect();
    (answers, unans)
}

/// The options of sr and friends.
struct SrArgs {
    opts: SrOpts,
    verb: i128,
}

fn sr_args(me: &Interp, args: &Args, func: &str, one: bool) -> R<SrArgs> {
    let timeout = opt_secs(args, "timeout", func, Some(DEFAULT_TIMEOUT), Some(FOREVER))?.unwrap_or(DEFAULT_TIMEOUT);
    let retry = match kw(args, "retry") {
        None | Some((Val::None, _)) => 0,
        Some((v, pos)) => match v.as_int() {
            Some(n) if n < 0 => {
                return err(pos, format!("{func}() retry={n}: a negative retry (scapy's retry until a round brings no new answer) is not supported; give how many times to send again"))
            }
            Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
            None => return err(pos, format!("{func}() retry= must be an int, not {}", v.type_name())),
        },
    };
    let multi = !one && flag_arg(args, "multi", false);
    let inter = opt_secs(args, "inter", func, None, None)?.filter(|d| !d.is_zero());
    let filter = filter_arg(args, func)?;
    let verb = verbosity(me, args, func)?;
    let check_ip_addr = me.conf.check_ip_addr;
    let dissect = me.conf.dissect.clone();
    Ok(SrArgs { opts: SrOpts { timeout, retry, multi, inter, filter, cancel: cancel_flag(), check_ip_addr, dissect, ..SrOpts::default() }, verb })
}

/// sr, srp, sr1, srp1: send, collect the answers, print scapy's progress lines.
fn exchange(me: &mut Interp, args: &Args, func: &str, l2: bool, one: bool) -> R<Exchanged> {
    at_most_positional(args, func, 1)?;
    let (pkts, ppos) = packets_arg(me, args, func)?;
    check_first_layers(&pkts, l2, func, ppos)?;
    let SrArgs { opts, verb } = sr_args(me, args, func, one)?;
    let iface = if l2 {
        if pkts.is_empty() {
            None
        } else {
            Some(l2_iface(me, args, func, &pkts)?)
        }
    } else {
        iface_arg(args, func)?.map(|(name, _)| name)
    };
    let mut packets: Vec<Packet> = pkts.iter().map(|p| p.packet.clone()).collect();
    if l2 {
        packets.iter_mut().for_each(fill_ip_src);
    }
    if verb >= 1 {
        me.print("Begin emission:\n");
    }
    let cancel = opts.cancel.clone();
    let mut ex = explainer(me, args, func)?;
    let result = match (&iface, l2) {
        (_, _) if packets.is_empty() => live::SrResult::default(),
        (Some(dev), true) => match ex.as_mut() {
            None => live::srp(dev, &packets, &opts),
            Some(ex) => craft::explain::send::srp(ex, dev, &packets, &opts),
        }
        .or_else(|e| {
            consume(&cancel);
            io_err(args.at, e)
        })?,
        _ => {
            let r = match ex.as_mut() {
                None => live::sr(iface.as_deref(), &packets, &opts),
                Some(ex) => craft::explain::send::sr(ex, iface.as_deref(), &packets, &opts),
            }
            .or_else(|e| {
                consume(&cancel);
                io_err(args.at, e)
            })?;
            live::SrResult { answered: r.answered, unanswered: r.unanswered, received: r.received, warnings: r.warnings }
        }
    };
    warn(&result.warnings);
    let (answers, unanswered) = sort_out(&pkts, result.answered, result.unanswered);
    if verb >= 1 {
        let mut s = format!("Finished sending {} packets.\n", pkts.len());
        if verb > 1 {
            s.push_str(&"*".repeat(answers.len()));
            s.push_str(&".".repeat(result.received.saturating_sub(answers.len())));
        }
        s.push_str(&format!(
            "\nReceived {} packets, got {} answers, remaining {} packets\n",
            result.received,
            answers.len(),
            unanswered.len()
        ));
        me.print(&s);
    }
    print_explained(me, ex, &cancel);
    consume(&cancel);
    Ok(Exchanged { answers, unanswered })
}

// ---------------------------------------------------------------------------------------
// srloop

/// scapy's srloop: sr the packets every `inter` seconds, `count` times (for ever without
/// it, until Ctrl-C), printing each round's answers; (Results, PacketList) of all rounds.
fn srloop(me: &mut Interp, args: &Args) -> R<Val> {
    let func = "srloop";
    at_most_positional(args, func, 1)?;
    let (pkts, ppos) = packets_arg(me, args, func)?;
    check_first_layers(&pkts, false, func, ppos)?;
    let count = opt_count(args, "count", func)?;
    let inter = opt_secs(args, "inter", func, Some(Duration::from_secs(1)), None)?.unwrap_or_default();
    // scapy: min(2 * inter, 5) unless given.
    let default_timeout = (inter * 2).min(Duration::from_secs(5));
    let timeout = opt_secs(args, "timeout", func, Some(default_timeout), Some(default_timeout))?.unwrap_or(default_timeout);
    let filter = filter_arg(args, func)?;
    let verb = verbosity(me, args, func)?;
    let iface = iface_arg(args, func)?.map(|(name, _)| name);
    let packets: Vec<Packet> = pkts.iter().map(|p| p.packet.clone()).collect();
    let cancel = cancel_flag();
    let opts = SrOpts {
        timeout,
        filter,
        cancel: cancel.clone(),
        check_ip_addr: me.conf.check_ip_addr,
        dissect: me.conf.dissect.clone(),
        ..SrOpts::default()
    };
    let (mut ans, mut unans) = (Vec::new(), Vec::new());
    let (mut n, mut r) = (0usize, 0usize);
    let mut round = 0usize;
    while count.is_none_or(|c| round < c) && !cancelled(&cancel) {
        round += 1;
        let start = Instant::now();
        let res = live::sr(iface.as_deref(), &packets, &opts);
        let res = res.or_else(|e| {
            consume(&cancel);
            io_err(args.at, e)
        })?;
        warn(&res.warnings);
        let (round_ans, round_unans) = sort_out(&pkts, res.answered, res.unanswered);
        if cancelled(&cancel) && round_ans.is_empty() {
            // Stopped before its answers could come: not a round.
            break;
        }
        n += round_ans.len() + round_unans.len();
        r += round_ans.len();
        if verb > 1 {
            let mut s = String::new();
            let mut lines = |tag: &str, summaries: Vec<String>| {
                if summaries.is_empty() {
                    return;
                }
                let msg = format!("{tag} {}:", summaries.len());
                for (i, line) in summaries.iter().enumerate() {
                    let head = if i == 0 { msg.clone() } else { " ".repeat(msg.len()) };
                    s.push_str(&format!("{head} {line}\n"));
                }
            };
            lines("RECV", round_ans.iter().map(|(_, reply)| scapy_text::summary(reply)).collect());
            lines("fail", round_unans.iter().map(scapy_text::summary).collect());
            me.print(&s);
        } else if verb == 1 {
            let s = format!("{}{}", if round_ans.is_empty() { "" } else { "*" }, if round_unans.is_empty() { "" } else { "." });
            me.print(&s);
        }
        ans.extend(round_ans.into_iter().map(|(s, r)| Val::tuple(vec![Val::packet(s), Val::packet(r)])));
        unans.extend(round_unans.into_iter().map(Val::packet));
        if count.is_some_and(|c| round >= c) || !sleep_until(start + inter, &cancel) {
            break;
        }
    }
    consume(&cancel);
    if verb >= 1 && n > 0 {
        let hits = 100.0 * r as f64 / n as f64;
        me.print(&format!("\nSent {n} packets, received {r} packets. {hits:3.1}% hits.\n"));
    }
    Ok(Val::tuple(vec![Interp::packet_list("Results", ans), Interp::packet_list("PacketList", unans)]))
}

// ---------------------------------------------------------------------------------------
// sniff

/// A user function (prn=, lfilter=, stop_filter=), unless absent or None.
fn func_arg(args: &Args, name: &str) -> Option<(Val, Pos)> {
    match kw(args, name) {
        None | Some((Val::None, _)) => None,
        Some((v, pos)) => Some((v.clone(), pos)),
    }
}

/// sniff's arguments (AsyncSniffer's too), checked: the interface exists, the filter
/// compiles, so that a bad one is reported at the argument.
pub(crate) struct SniffArgs {
    pub iface: String,
    /// None: no limit (scapy's count=0).
    pub count: Option<usize>,
    pub timeout: Option<Duration>,
    pub filter: Option<String>,
    pub prn: Option<(Val, Pos)>,
    pub lfilter: Option<(Val, Pos)>,
    pub stop_filter: Option<(Val, Pos)>,
    pub store: bool,
}

pub(crate) fn sniff_args(me: &Interp, args: &Args, func: &str) -> R<SniffArgs> {
    at_most_positional(args, func, 0)?;
    let iface = match iface_arg(args, func)? {
        Some((name, _)) => name,
        None => match me.conf.iface.clone().or_else(default_route_iface) {
            Some(name) => name,
            None => return err(args.at, format!("{func}(): no interface: give iface=... or set conf.iface")),
        },
    };
    Ok(SniffArgs {
        iface,
        // scapy: count=0 is no limit.
        count: opt_count(args, "count", func)?.filter(|&c| c > 0),
        timeout: opt_secs(args, "timeout", func, None, None)?,
        filter: filter_arg(args, func)?,
        prn: func_arg(args, "prn"),
        lfilter: func_arg(args, "lfilter"),
        stop_filter: func_arg(args, "stop_filter"),
        store: flag_arg(args, "store", true),
    })
}

impl SniffArgs {
    /// Opens the capture (it captures from here on). scapy's capture sees both
    /// directions; count, lfilter and store are applied by [`on_frame`]'s caller.
    pub(crate) fn open(&self, cancel: Option<CancelFlag>) -> std::io::Result<Sniffer> {
        let opts = SniffOpts {
            count: None,
            timeout: self.timeout,
            filter: self.filter.clone(),
            direction: Direction::Both,
            store: false,
            cancel,
            ..SniffOpts::default()
        };
        Sniffer::new(&self.iface, opts)
    }
}

/// One captured frame through lfilter, prn and stop_filter, as scapy's sniff does: `kept`
/// is given each packet lfilter lets through (the packet itself when `store`) and returns
/// how many it was given so far. True when the capture is done (`count` reached, or
/// stop_filter said so).
pub(crate) fn on_frame(me: &mut Interp, a: &SniffArgs, frame: &[u8], ts_ns: u64, kept: &mut dyn FnMut(Option<Val>) -> usize) -> R<bool> {
    let mut pkt = Pkt::dissect_with(frame, LayerKind::Ether, &me.conf.dissect);
    pkt.time = ns_to_secs(ts_ns);
    let v = Val::packet(pkt);
    if let Some((f, pos)) = &a.lfilter {
        if !me.call1(f, v.clone(), *pos)?.truthy() {
            return Ok(false);
        }
    }
    let seen = kept(a.store.then(|| v.clone()));
    if let Some((f, pos)) = &a.prn {
        let shown = me.call1(f, v.clone(), *pos)?;
        if !matches!(shown, Val::None) {
            me.print(&format!("{}\n", shown.to_str()));
        }
    }
    if let Some((f, pos)) = &a.stop_filter {
        if me.call1(f, v, *pos)?.truthy() {
            return Ok(true);
        }
    }
    Ok(a.count.is_some_and(|c| seen >= c))
}

fn sniff(me: &mut Interp, args: &Args) -> R<Val> {
    let a = sniff_args(me, args, "sniff")?;
    let cancel = cancel_flag();
    let mut sniffer = a.open(cancel.clone()).or_else(|e| io_err(args.at, e))?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut seen = 0;
    let r = (|| -> R<()> {
        while let Some(meta) = sniffer.next_frame(&mut buf).or_else(|e| io_err(args.at, e))? {
            let done = on_frame(me, &a, &buf, meta.ts_ns, &mut |v| {
                seen += 1;
                out.extend(v);
                seen
            })?;
            if done {
                break;
            }
        }
        Ok(())
    })();
    consume(&cancel);
    match r {
        // Ctrl-C inside prn / lfilter: the capture stops, as scapy's does.
        Err(e) if !is_interrupt(&e) => return Err(e),
        _ => {}
    }
    Ok(Interp::packet_list("Sniffed", out))
}
