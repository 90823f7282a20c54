//! craft-repl: an interactive REPL with scapy's syntax. Not built yet: the expression
//! parser it will use lives in `craft::text`.

fn main() -> std::process::ExitCode {
    eprintln!("craft-repl is not implemented yet; use `craft build EXPR` meanwhile");
    std::process::ExitCode::from(2)
}
