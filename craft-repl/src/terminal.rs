//! The interactive terminal, on rustyline.

use std::process::ExitCode;

pub fn run() -> ExitCode {
    let mut me = crate::interp::Interp::new(Box::new(std::io::stdout()));
    me.echo = true;
    let ok = crate::session::run_lines(&mut me, std::io::stdin().lock(), "<stdin>");
    ExitCode::from(if ok { 0 } else { 1 })
}
