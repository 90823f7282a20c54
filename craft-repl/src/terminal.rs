//! The interactive terminal, on rustyline: `>>> ` and `... ` prompts, history kept in a
//! file, tab completion and hints ([`crate::complete`]), syntax colour, multi-line input
//! while brackets or a block are open. Ctrl-C clears the line being typed (a running
//! statement is stopped by [`crate::signal`]'s handler, which rustyline puts back after each
//! line it reads); Ctrl-D on an empty line exits.
//!
//! Two threads: rustyline reads lines on its own thread, and this one (which owns the
//! interpreter: its values are not Send) runs them. The reader sends each complete input
//! and waits for the statement to finish before it shows the next prompt; while the user
//! types, this thread is idle: it answers the completer's and hinter's questions (asked
//! over a channel, with a short timeout so that a busy interpreter never freezes typing)
//! and handles what background captures (AsyncSniffer) bring, printing prn's output
//! through rustyline's external printer, above the prompt and the line being typed, which
//! are redrawn.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use craft::text::python::needs_more;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::history::{DefaultHistory, History};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, ColorMode, CompletionType, ConditionalEventHandler, Config, Context, EditMode, Editor, Event, EventContext, EventHandler,
    ExternalPrinter, Helper, KeyCode, KeyEvent, Modifiers, RepeatCount,
};

use crate::complete::{self, logical, CONT};
use crate::interp::Interp;
use crate::session::{run_chunk, Step};

const PROMPT: &str = ">>> ";

/// Where history is kept: `$CRAFT_HISTORY`, else `$XDG_STATE_HOME/craft/history`, else
/// `~/.craft_history`.
pub fn history_path() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(p) = var("CRAFT_HISTORY") {
        return Some(PathBuf::from(p));
    }
    if let Some(dir) = var("XDG_STATE_HOME") {
        return Some(PathBuf::from(dir).join("craft").join("history"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".craft_history"))
}

/// Whether output is coloured: stdout is a terminal and NO_COLOR is not set (to a
/// non-empty value, as no-color.org says).
pub fn color_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// What the reader thread sends the interpreter's thread.
enum ToInterp {
    /// A complete input, to run; the reader waits for the reply before the next prompt.
    Input(String),
    /// Ctrl-D: the reader has ended.
    Eof,
    /// The terminal failed: the reader has ended.
    Failed(String),
    Complete { line: String, pos: usize, reply: mpsc::Sender<(usize, Vec<String>)> },
    Hint { line: String, pos: usize, reply: mpsc::Sender<Option<(String, Option<String>)>> },
}

/// How long the completer waits for the interpreter's thread (idle while the user types,
/// unless a background capture's prn is running).
const COMPLETE_WAIT: Duration = Duration::from_millis(300);
/// How long a hint (asked at each key) may take before typing goes on without it.
const HINT_WAIT: Duration = Duration::from_millis(50);
/// How often the idle interpreter looks at what background captures brought.
const PUMP_EVERY: Duration = Duration::from_millis(20);
/// How many frames of each capture it handles before it looks at the terminal's questions.
const PUMP_BATCH: usize = 64;

struct ReplHelper {
    /// To the interpreter's thread, which owns the session's names.
    ask: mpsc::Sender<ToInterp>,
    color: bool,
}

struct ReplHint {
    display: String,
    completion: Option<String>,
}

impl Hint for ReplHint {
    fn display(&self) -> &str {
        &self.display
    }
    fn completion(&self) -> Option<&str> {
        self.completion.as_deref()
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (reply, answer) = mpsc::channel();
        let _ = self.ask.send(ToInterp::Complete { line: line.to_string(), pos, reply });
        let Ok((start, cands)) = answer.recv_timeout(COMPLETE_WAIT) else { return Ok((pos, Vec::new())) };
        Ok((start, cands.into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect()))
    }
}

impl Hinter for ReplHelper {
    type Hint = ReplHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<ReplHint> {
        // Without colour a hint would look typed.
        if !self.color {
            return None;
        }
        let (reply, answer) = mpsc::channel();
        self.ask.send(ToInterp::Hint { line: line.to_string(), pos, reply }).ok()?;
        let (display, completion) = answer.recv_timeout(HINT_WAIT).ok()??;
        Some(ReplHint { display, completion })
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(complete::highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[90m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.color && kind != CmdKind::ForcedRefresh
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if incomplete(ctx.input()) { ValidationResult::Incomplete } else { ValidationResult::Valid(None) })
    }
}

impl Helper for ReplHelper {}

/// Whether the buffer needs another line. An indented empty last line counts as blank: it
/// ends a block, as the empty line does in Python.
fn incomplete(buffer: &str) -> bool {
    let text = logical(buffer);
    needs_more(&format!("{}\n", text.trim_end_matches([' ', '\t'])))
}

/// Enter: runs the input when it is complete; else starts a `... ` line, indented like
/// the line before (one level more after a `:`).
struct Enter;

impl ConditionalEventHandler for Enter {
    fn handle(&self, _evt: &Event, _n: RepeatCount, _positive: bool, ctx: &EventContext) -> Option<Cmd> {
        if !incomplete(ctx.line()) {
            return None;
        }
        let line = ctx.line();
        let before = logical(line.get(..ctx.pos()).unwrap_or(line));
        let current = before.rsplit('\n').next().unwrap_or("");
        let mut indent: String = current.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        if current.trim_end().ends_with(':') {
            indent.push_str("    ");
        }
        Some(Cmd::Insert(1, format!("\n{CONT}{indent}")))
    }
}

/// The history entry of an input: the text as typed, without a last empty `... ` line.
fn history_entry(buffer: &str) -> &str {
    let mut s = buffer.trim_end_matches([' ', '\t']);
    while let Some(rest) = s.strip_suffix(&format!("\n{}", CONT.trim_end())).or_else(|| s.strip_suffix('\n')) {
        s = rest.trim_end_matches([' ', '\t']);
    }
    s
}

/// The terminal's modes while the session runs: no `^C` echoed when Ctrl-C stops a running
/// statement (its message or the next prompt starts the line clean). Put back on drop.
struct TermModes(Option<libc::termios>);

impl TermModes {
    fn set() -> TermModes {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return TermModes(None);
            }
            let mut quiet = t;
            quiet.c_lflag &= !libc::ECHOCTL;
            libc::tcsetattr(0, libc::TCSANOW, &quiet);
            TermModes(Some(t))
        }
    }
}

impl Drop for TermModes {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            // SAFETY: puts back the modes read at start.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}

pub fn run() -> ExitCode {
    let color = color_wanted();
    let mut me = Interp::new(Box::new(std::io::stdout()));
    me.echo = true;
    me.conf.color = color;

    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(false)
        .completion_type(CompletionType::List)
        .edit_mode(EditMode::Emacs)
        .color_mode(if color { ColorMode::Enabled } else { ColorMode::Disabled })
        .tab_stop(4)
        .build();
    let mut rl: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            craft::exit::warning("craft-repl", format_args!("cannot use the terminal ({e}); reading lines"));
            let ok = crate::session::run_lines(&mut me, std::io::stdin().lock(), "<stdin>");
            return ExitCode::from(if ok { 0 } else { 1 });
        }
    };
    let (ask, inbox) = mpsc::channel();
    rl.set_helper(Some(ReplHelper { ask: ask.clone(), color }));
    rl.bind_sequence(KeyEvent(KeyCode::Enter, Modifiers::NONE), EventHandler::Conditional(Box::new(Enter)));
    let _ = rl.history_mut().ignore_dups(true);
    // Output between statements (prn of a background capture) goes above the prompt.
    let printer: Option<Box<dyn ExternalPrinter>> = match rl.create_external_printer() {
        Ok(p) => Some(Box::new(p)),
        Err(_) => None,
    };

    println!("craft-repl {} — scapy's syntax on craft. help(), ls(), lsc(); Ctrl-D exits.", env!("CARGO_PKG_VERSION"));

    let history = history_path();
    if let Some(path) = &history {
        if path.exists() {
            let _ = rl.load_history(path);
        }
    }

    let _modes = TermModes::set();
    let (done, next) = mpsc::channel::<()>();
    let reader = std::thread::Builder::new()
        .name("craft-readline".into())
        .stack_size(crate::STACK)
        .spawn(move || read_inputs(rl, history, ask, next));
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            return craft::exit::error("craft-repl", format_args!("cannot start the terminal's thread: {e}"));
        }
    };
    let code = serve(&mut me, &inbox, done, printer);
    // Background captures stop with the session; their threads are joined.
    crate::sniffer::stop_all(&mut me);
    let _ = reader.join();
    code
}

/// The reader thread: reads inputs, sends them, waits for each to have run (`next`, which
/// ends when the session does) before the next prompt.
fn read_inputs(mut rl: Editor<ReplHelper, DefaultHistory>, history: Option<PathBuf>, ask: mpsc::Sender<ToInterp>, next: mpsc::Receiver<()>) {
    loop {
        let buffer = match rl.readline(PROMPT) {
            Ok(b) => b,
            // Ctrl-C while typing: the line is dropped, a new prompt.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                let _ = ask.send(ToInterp::Eof);
                return;
            }
            Err(e) => {
                let _ = ask.send(ToInterp::Failed(e.to_string()));
                return;
            }
        };
        let entry = history_entry(&buffer);
        if entry.trim().is_empty() {
            continue;
        }
        if rl.add_history_entry(entry).unwrap_or(false) {
            if let Some(path) = &history {
                save_history(&mut rl, path);
            }
        }
        if ask.send(ToInterp::Input(entry.to_string())).is_err() || next.recv().is_err() {
            return;
        }
    }
}

/// The interpreter's side: runs the inputs, answers completion and hints, handles what
/// background captures bring while it waits. Returns when the session ends; dropping
/// `done` then ends the reader.
fn serve(me: &mut Interp, inbox: &mpsc::Receiver<ToInterp>, done: mpsc::Sender<()>, mut printer: Option<Box<dyn ExternalPrinter>>) -> ExitCode {
    let mut line_no = 1;
    let mut more = false;
    loop {
        let msg = if more {
            inbox.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else if me.live.sniffers.is_empty() {
            inbox.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            inbox.recv_timeout(PUMP_EVERY)
        };
        match msg {
            Ok(ToInterp::Input(entry)) => {
                let text = format!("{}\n", logical(&entry));
                let lines = text.lines().count();
                let step = run_chunk(me, &text, "<stdin>", line_no);
                line_no += lines;
                if step == Step::Exit {
                    return ExitCode::SUCCESS;
                }
                let _ = done.send(());
            }
            Ok(ToInterp::Complete { line, pos, reply }) => {
                let _ = reply.send(complete::complete(me, &line, pos));
            }
            Ok(ToInterp::Hint { line, pos, reply }) => {
                let _ = reply.send(complete::hint(me, &line, pos));
            }
            Ok(ToInterp::Eof) | Err(RecvTimeoutError::Disconnected) => return ExitCode::SUCCESS,
            Ok(ToInterp::Failed(e)) => {
                return craft::exit::error("craft-repl", e);
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        more = !me.live.sniffers.is_empty() && pump_idle(me, &mut printer);
    }
}

/// A writer into a shared buffer: the session's output while the prompt is shown.
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Handles what background captures brought while the prompt waits: their output (prn's,
/// and the errors that stopped one) is printed above the prompt, which is redrawn with the
/// line being typed. True if frames are left for the next round.
fn pump_idle(me: &mut Interp, printer: &mut Option<Box<dyn ExternalPrinter>>) -> bool {
    let buf = Rc::new(RefCell::new(Vec::new()));
    let out = std::mem::replace(&mut me.out, Box::new(Capture(buf.clone())));
    // A Ctrl-C of the last statement is not prn's.
    crate::signal::clear();
    let pumped = crate::sniffer::pump(me, PUMP_BATCH);
    me.out = out;
    let mut text = String::from_utf8_lossy(&buf.borrow()).into_owned();
    pumped.errors.iter().for_each(|e| text.push_str(e));
    if !text.is_empty() {
        match printer {
            Some(p) => {
                let _ = p.print(text);
            }
            None => me.print(&text),
        }
    }
    pumped.more
}

/// Appends the new entry to the history file; errors are ignored (history is a comfort).
fn save_history(rl: &mut Editor<ReplHelper, DefaultHistory>, path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            let _ = std::fs::create_dir_all(dir);
        }
    }
    let _ = rl.append_history(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries() {
        assert_eq!(history_entry("x = 1"), "x = 1");
        assert_eq!(history_entry("for x in y:\n...     print(x)\n...     "), "for x in y:\n...     print(x)");
        assert_eq!(history_entry("for x in y:\n...     print(x)\n... "), "for x in y:\n...     print(x)");
    }
}
