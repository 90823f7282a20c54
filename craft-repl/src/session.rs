//! Running input: a script, `-c` code, piped lines; errors shown with a caret.

use std::io::BufRead;

use craft::text::python::needs_more;

use crate::interp::{Error, Interp};

/// Where the input comes from, for error messages.
pub struct Source<'a> {
    /// `<stdin>`, `<string>`, or the script's path.
    pub name: &'a str,
    pub text: &'a str,
    /// The line of the whole input that `text` starts at (from 1).
    pub first_line: usize,
}

/// An error as shown: `name:line:col: message`, the line, and a caret under the column.
pub fn report(e: &Error, src: &Source) -> String {
    let line = src.first_line + e.pos.line - 1;
    let mut s = format!("{}:{}:{}: {}\n", src.name, line, e.pos.col, e.msg);
    if let Some(text) = src.text.lines().nth(e.pos.line - 1) {
        let caret: String = text.chars().take(e.pos.col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        s.push_str(&format!("    {text}\n    {caret}^\n"));
    }
    s
}

/// Whether an error is `exit()`.
pub fn is_exit(e: &Error) -> bool {
    e.msg == crate::builtins::EXIT
}

/// Runs a whole program (a script, `-c`): stops at the first error, as Python does.
/// Returns whether it ran without error.
pub fn run_program(me: &mut Interp, src: &Source) -> bool {
    crate::signal::arm();
    let ok = match me.run(src.text) {
        Ok(()) => true,
        Err(e) if is_exit(&e) => true,
        Err(e) => {
            eprint!("{}", report(&e, src));
            false
        }
    };
    // Background captures (AsyncSniffer) end with the program.
    crate::sniffer::stop_all(me);
    ok
}

/// Runs statements read line by line (piped stdin), as typed at a prompt: a blank line ends
/// a block, a failing statement does not stop the rest. What background captures
/// (AsyncSniffer) bring is handled between statements; at the end of the input they are
/// stopped. Returns whether all ran well.
pub fn run_lines(me: &mut Interp, input: impl BufRead, name: &str) -> bool {
    let ok = run_lines_until_end(me, input, name);
    crate::sniffer::stop_all(me);
    ok
}

fn run_lines_until_end(me: &mut Interp, input: impl BufRead, name: &str) -> bool {
    let mut ok = true;
    let mut chunk = String::new();
    let mut first_line = 1;
    let mut line_no = 0;
    for line in input.lines() {
        let Ok(line) = line else { break };
        line_no += 1;
        if chunk.is_empty() {
            if line.trim().is_empty() {
                continue;
            }
            first_line = line_no;
        }
        chunk.push_str(&line);
        chunk.push('\n');
        if needs_more(&chunk) {
            continue;
        }
        match run_chunk(me, &chunk, name, first_line) {
            Step::Ok => {}
            Step::Failed => ok = false,
            Step::Exit => return ok,
        }
        chunk.clear();
    }
    if !chunk.trim().is_empty() && run_chunk(me, &chunk, name, first_line) == Step::Failed {
        ok = false;
    }
    ok
}

#[derive(PartialEq)]
pub enum Step {
    Ok,
    Failed,
    Exit,
}

/// Runs one complete input (a statement or a block); reports its error on stderr.
pub fn run_chunk(me: &mut Interp, text: &str, name: &str, first_line: usize) -> Step {
    crate::signal::arm();
    match me.run(text) {
        Ok(()) => Step::Ok,
        Err(e) if is_exit(&e) => Step::Exit,
        Err(e) => {
            eprint!("{}", report(&e, &Source { name, text, first_line }));
            Step::Failed
        }
    }
}
