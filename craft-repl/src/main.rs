fn main() -> std::process::ExitCode {
    eprintln!("craft-repl is not implemented yet; use `craft build EXPR` meanwhile");
    std::process::ExitCode::from(2)
}
