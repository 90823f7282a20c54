//! `lb-xdp-faults`: lb-xdp's director with test-only fault switches (feature `faults`;
//! fixtures' reproducers of issue #10 run it). Same options as `lb-xdp director`, plus
//! `--fault NAME` (repeatable). Never a production binary: the real director is `lb-xdp`'s.
use anyhow::Result;
use clap::{Parser, Subcommand};
use lb_xdp::daemon::DirectorArgs;
use lb_xdp::director::Director;
use lb_xdp::faults::Fault;
use lb_xdp::sys;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "lb-xdp-faults", about = "lb-xdp's director with test-only fault switches (for reproducers)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the faulty director on IF until interrupted (as `lb-xdp director`).
    Director {
        #[command(flatten)]
        args: DirectorArgs,
        /// A bug to switch on: csum-not-zeroed, adjust-head-sign (none: as the real one).
        #[arg(long)]
        fault: Vec<Fault>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => craft::exit::error("lb-xdp-faults", sys::describe(&err)),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Director { args, fault } => {
            let names: Vec<&str> = fault.iter().map(|f| f.name()).collect();
            // On stderr: the first line on stdout is the director's ("...; Ctrl-C to stop").
            eprintln!("lb-xdp-faults: faults switched on: {}", if names.is_empty() { "none".to_string() } else { names.join(", ") });
            args.run(|| Director::load_with_faults(&fault))
        }
    }
}
