//! The interactive terminal, on rustyline: `>>> ` and `... ` prompts, history kept in a
//! file, tab completion and hints ([`crate::complete`]), syntax colour, multi-line input
//! while brackets or a block are open. Ctrl-C clears the line being typed (a running
//! statement is stopped by [`crate::signal`]'s handler, which rustyline puts back after each
//! line it reads); Ctrl-D on an empty line exits.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use craft::text::python::needs_more;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::history::{DefaultHistory, History};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, ColorMode, CompletionType, ConditionalEventHandler, Config, Context, EditMode, Editor, Event, EventContext, EventHandler,
    Helper, KeyCode, KeyEvent, Modifiers, RepeatCount,
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

struct ReplHelper {
    interp: Rc<RefCell<Interp>>,
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
        let Ok(me) = self.interp.try_borrow() else { return Ok((pos, Vec::new())) };
        let (start, cands) = complete::complete(&me, line, pos);
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
        let me = self.interp.try_borrow().ok()?;
        let (display, completion) = complete::hint(&me, line, pos)?;
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
    let mut interp = Interp::new(Box::new(std::io::stdout()));
    interp.echo = true;
    interp.conf.color = color;
    let interp = Rc::new(RefCell::new(interp));

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
            eprintln!("craft-repl: cannot use the terminal ({e}); reading lines");
            let mut me = Interp::new(Box::new(std::io::stdout()));
            me.echo = true;
            let ok = crate::session::run_lines(&mut me, std::io::stdin().lock(), "<stdin>");
            return ExitCode::from(if ok { 0 } else { 1 });
        }
    };
    rl.set_helper(Some(ReplHelper { interp: interp.clone(), color }));
    rl.bind_sequence(KeyEvent(KeyCode::Enter, Modifiers::NONE), EventHandler::Conditional(Box::new(Enter)));
    let _ = rl.history_mut().ignore_dups(true);

    println!("craft-repl {} — scapy's syntax on craft. help(), ls(), lsc(); Ctrl-D exits.", env!("CARGO_PKG_VERSION"));

    let history = history_path();
    if let Some(path) = &history {
        if path.exists() {
            let _ = rl.load_history(path);
        }
    }

    let _modes = TermModes::set();
    let mut line_no = 1;
    loop {
        let buffer = match rl.readline(PROMPT) {
            Ok(b) => b,
            // Ctrl-C while typing: the line is dropped, a new prompt.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("craft-repl: {e}");
                return ExitCode::from(1);
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
        let text = format!("{}\n", logical(entry));
        let lines = text.lines().count();
        let step = run_chunk(&mut interp.borrow_mut(), &text, "<stdin>", line_no);
        line_no += lines;
        if step == Step::Exit {
            return ExitCode::SUCCESS;
        }
    }
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
