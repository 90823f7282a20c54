//! craft-repl: scapy's syntax on craft. `craft-repl` (interactive), `craft-repl -c CODE`,
//! `craft-repl SCRIPT`, or statements piped on stdin.

use std::io::IsTerminal;
use std::process::ExitCode;

use craft::exit;
use craft_repl::interp::Interp;
use craft_repl::session::{run_lines, run_program, Source};

const USAGE: &str = "usage: craft-repl [-c CODE | SCRIPT]\n\
  craft-repl           interactive (statements piped on stdin run one per line)\n\
  craft-repl -c CODE   run CODE\n\
  craft-repl SCRIPT    run the statements in SCRIPT\n";

fn main() -> ExitCode {
    craft_repl::with_stack(run)
}

fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = Box::new(std::io::stdout());
    let ok = match args.as_slice() {
        [] if std::io::stdin().is_terminal() => return craft_repl::terminal::run(),
        [] => {
            let mut me = Interp::new(stdout);
            me.echo = true;
            run_lines(&mut me, std::io::stdin().lock(), "<stdin>")
        }
        [flag] if flag == "-h" || flag == "--help" => {
            print!("{USAGE}");
            true
        }
        [flag, code] if flag == "-c" => {
            let mut me = Interp::new(stdout);
            run_program(&mut me, &Source { name: "<string>", text: code, first_line: 1 })
        }
        [path] if !path.starts_with('-') => match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut me = Interp::new(stdout);
                run_program(&mut me, &Source { name: path, text: &text, first_line: 1 })
            }
            Err(e) => return exit::error("craft-repl", format_args!("{path}: {e}")),
        },
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(exit::ERROR);
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        // A statement failed (its error is printed): Python's status for an uncaught exception.
        ExitCode::from(exit::NEGATIVE)
    }
}
