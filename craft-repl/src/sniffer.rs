//! scapy's AsyncSniffer: a capture that runs while the session goes on.
//!
//! `t = AsyncSniffer(iface=..., prn=..., ...)` takes sniff's keywords, checked then (the
//! interface exists, the filter compiles: errors point at the argument). `t.start()` opens
//! the capture (it captures from there on: no frame sent after `start()` returned is
//! missed) and hands it to a thread that only receives: raw frames and their kernel
//! timestamps come back over a channel, nothing else crosses threads. The session's thread,
//! which owns the interpreter, does the rest as `sniff` does (dissect, lfilter, prn, store,
//! count, stop_filter) whenever it is free: between statements, while the prompt waits for
//! input (the terminal prints prn's output above the prompt and the line being typed), and
//! in `t.stop()` / `t.join()`.
//!
//! As scapy's: `t.stop()` stops the capture and returns the packets (a `Sniffed` list,
//! empty with store=False), and fails with "Not running" when the capture had ended;
//! `t.results` is None until it ended; `t.running`; `t.join(timeout=None)` waits for the
//! end (count=, timeout=, stop_filter=). A prn or lfilter that fails stops the capture
//! with its error printed. At the end of the session running captures are stopped.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use craft::live::{CancelFlag, Sniffer};

use crate::interp::{err, Args, Flow, Interp, R};
use crate::live::{io_err, on_frame, sniff_args, SniffArgs};
use crate::methods::arg;
use crate::value::Val;

/// An AsyncSniffer's attributes, for completion.
pub const ATTRS: &[&str] = &["start", "stop", "join", "running", "results"];

pub struct AsyncSniffer {
    args: SniffArgs,
    st: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// The capture, while it runs.
    run: Option<Run>,
    /// Packets kept so far (store=True).
    out: Vec<Val>,
    /// Packets lfilter let through so far.
    seen: usize,
    /// The `Sniffed` list, once the capture ended.
    results: Option<Val>,
    /// Its frames are being handled (prn may call `t.stop()`: no second pump inside).
    busy: bool,
}

/// A capture thread and what it sends.
struct Run {
    rx: Receiver<Msg>,
    cancel: CancelFlag,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Run {
    /// Stops the thread (within craft::live's CANCEL_CHECK) and joins it.
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// From the capture thread: a frame (kernel timestamp in ns, bytes), or why it stopped.
enum Msg {
    Frame(u64, Vec<u8>),
    Failed(String),
}

impl std::fmt::Debug for AsyncSniffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSniffer").field("iface", &self.args.iface).field("running", &self.running()).finish()
    }
}

impl AsyncSniffer {
    pub fn running(&self) -> bool {
        self.st.borrow().run.is_some()
    }

    pub fn repr(&self) -> String {
        format!("<AsyncSniffer: iface={} running={}>", crate::value::str_repr(&self.args.iface), if self.running() { "True" } else { "False" })
    }
}

/// `AsyncSniffer(...)`.
pub fn construct(me: &Interp, args: &Args) -> R<Val> {
    let args = sniff_args(me, args, "AsyncSniffer")?;
    Ok(Val::Sniffer(Rc::new(AsyncSniffer { args, st: RefCell::default() })))
}

/// `t.name`.
pub fn attr(s: &AsyncSniffer, obj: &Val, name: &str) -> Option<Val> {
    match name {
        "running" => Some(Val::Bool(s.running())),
        "results" => Some(s.st.borrow().results.clone().unwrap_or(Val::None)),
        _ => ["start", "stop", "join"].into_iter().find(|m| *m == name).map(|m| Val::Method(Box::new(obj.clone()), m)),
    }
}

/// Only these keywords, no positional arguments.
fn only_keywords(args: &Args, func: &str, known: &[&str]) -> R<()> {
    if let Some((_, pos)) = args.pos.first() {
        return err(*pos, format!("{func}() takes no positional arguments"));
    }
    for kw in &args.kw {
        if !known.contains(&kw.name.as_str()) {
            let hint = craft::layer::closest(&kw.name, known.iter().copied()).map_or(String::new(), |c| format!("; did you mean '{c}'?"));
            return err(kw.pos, format!("{func}() got an unexpected keyword argument '{}'{hint}", kw.name));
        }
    }
    Ok(())
}

/// `t.start()`, `t.stop()`, `t.join()`.
pub fn method(me: &mut Interp, s: &Rc<AsyncSniffer>, name: &str, args: Args) -> R<Val> {
    match name {
        "start" => {
            only_keywords(&args, "start", &[])?;
            start(me, s, &args)?;
            Ok(Val::None)
        }
        "stop" => {
            only_keywords(&args, "stop", &["join"])?;
            if !s.running() {
                return err(args.at, "Not running ! (check .running attr)");
            }
            if let Some(run) = &s.st.borrow().run {
                run.cancel.cancel();
            }
            if !arg(&args, 0, "join").is_none_or(Val::truthy) {
                return Ok(Val::None);
            }
            join(me, s, &args, None)?;
            Ok(s.st.borrow().results.clone().unwrap_or(Val::None))
        }
        "join" => {
            only_keywords(&args, "join", &["timeout"])?;
            let timeout = match args.kw.first() {
                None => None,
                Some(k) if matches!(k.value, Val::None) => None,
                Some(k) => match k.value.as_float() {
                    Some(f) if f >= 0.0 && f.is_finite() && !matches!(k.value, Val::Bool(_)) => Some(Duration::from_secs_f64(f)),
                    _ => return err(k.pos, format!("join() timeout= must be a number of seconds (0 or more), not {}", k.value.repr())),
                },
            };
            join(me, s, &args, timeout)?;
            Ok(Val::None)
        }
        _ => err(args.at, format!("'AsyncSniffer' has no method '{name}'")),
    }
}

fn start(me: &mut Interp, s: &Rc<AsyncSniffer>, args: &Args) -> R<()> {
    me.allow("AsyncSniffer", args.at)?;
    if s.running() {
        return err(args.at, "AsyncSniffer is already running: stop() it first");
    }
    let cancel = CancelFlag::new();
    let sniffer = s.args.open(Some(cancel.clone())).or_else(|e| io_err(args.at, e))?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new().name("craft-sniff".into()).spawn(move || capture(sniffer, tx));
    let thread = thread.or_else(|e| io_err(args.at, e))?;
    let mut st = s.st.borrow_mut();
    st.run = Some(Run { rx, cancel, thread: Some(thread) });
    st.out.clear();
    st.seen = 0;
    st.results = None;
    drop(st);
    me.live.sniffers.push(s.clone());
    Ok(())
}

/// The capture thread: frames as they come, until the capture ends or nobody listens.
fn capture(mut sniffer: Sniffer, tx: Sender<Msg>) {
    let mut buf = Vec::new();
    loop {
        match sniffer.next_frame(&mut buf) {
            Ok(Some(meta)) => {
                if tx.send(Msg::Frame(meta.ts_ns, buf.clone())).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Msg::Failed(e.to_string()));
                return;
            }
        }
    }
}

/// Waits until the capture ends (or `timeout`, or Ctrl-C), handling its frames.
fn join(me: &mut Interp, s: &Rc<AsyncSniffer>, args: &Args, timeout: Option<Duration>) -> R<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let mut errors = Vec::new();
        pump_one(me, s, usize::MAX, &mut errors);
        for e in errors {
            eprint!("{e}");
        }
        if !s.running() || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        crate::signal::check(args.at)?;
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What [`pump`] did.
#[derive(Default)]
pub struct Pumped {
    /// The errors that stopped captures, as lines to show.
    pub errors: Vec<String>,
    /// Frames are left (a capture had more than `max`).
    pub more: bool,
}

/// Handles the frames every running AsyncSniffer captured so far, at most `max` of each
/// (prn's output on the session's output).
pub fn pump(me: &mut Interp, max: usize) -> Pumped {
    let mut p = Pumped::default();
    for s in me.live.sniffers.clone() {
        p.more |= pump_one(me, &s, max, &mut p.errors);
    }
    p
}

/// Handles up to `max` frames of one capture; true if some are left.
fn pump_one(me: &mut Interp, s: &Rc<AsyncSniffer>, max: usize, errors: &mut Vec<String>) -> bool {
    {
        let mut st = s.st.borrow_mut();
        if st.busy || st.run.is_none() {
            return false;
        }
        st.busy = true;
    }
    let mut more = false;
    for n in 0.. {
        if n == max {
            more = true;
            break;
        }
        let msg = match &s.st.borrow().run {
            Some(run) => run.rx.try_recv(),
            None => break,
        };
        let done = match msg {
            Ok(Msg::Frame(ts, frame)) => {
                let mut kept = |v: Option<Val>| {
                    let mut st = s.st.borrow_mut();
                    st.seen += 1;
                    st.out.extend(v);
                    st.seen
                };
                match on_frame(me, &s.args, &frame, ts, &mut kept) {
                    Ok(done) => done,
                    Err(Flow::Error(e)) => {
                        errors.push(format!("AsyncSniffer on '{}' stopped: {}\n", s.args.iface, e.msg));
                        true
                    }
                    Err(_) => true,
                }
            }
            Ok(Msg::Failed(e)) => {
                errors.push(format!("AsyncSniffer on '{}' stopped: {e}\n", s.args.iface));
                true
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => true,
        };
        if done {
            finish(me, s);
            break;
        }
    }
    s.st.borrow_mut().busy = false;
    more
}

/// The capture ended: its thread stopped and joined, the results made.
fn finish(me: &mut Interp, s: &Rc<AsyncSniffer>) {
    let run = s.st.borrow_mut().run.take();
    drop(run);
    let mut st = s.st.borrow_mut();
    let out = std::mem::take(&mut st.out);
    st.results = Some(Interp::packet_list("Sniffed", out));
    drop(st);
    me.live.sniffers.retain(|x| !Rc::ptr_eq(x, s));
}

/// Stops every running capture and joins its thread, without handling what is left (the
/// session ends).
pub fn stop_all(me: &mut Interp) {
    let all = std::mem::take(&mut me.live.sniffers);
    // Ask them all first: each thread notices within craft::live's CANCEL_CHECK.
    for s in &all {
        if let Some(run) = &s.st.borrow().run {
            run.cancel.cancel();
        }
    }
    for s in &all {
        let run = s.st.borrow_mut().run.take();
        drop(run);
    }
}
