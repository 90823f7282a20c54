//! `craft build`: packets from an expression, a RON file or stdin, printed and/or written
//! to a capture file.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use clap::Args;

use crate::capture::CaptureOut;
use crate::input::for_each_source_packet;
use crate::output::{Format, Out};

#[derive(Args)]
pub(crate) struct BuildArgs {
    /// `Ether()/IP(dst="10.0.0.1")/TCP(flags="S")`, a .ron file, or - (stdin: one
    /// expression per line, a bad line reported and skipped; or a RON document).
    source: String,
    /// Output format (hex unless -w is given, which then prints nothing by default).
    #[arg(long, short, value_enum)]
    format: Option<Format>,
    /// Also write the packets to a capture file: pcapng if it ends in .pcapng, else pcap.
    #[arg(long = "write", short = 'w', value_name = "FILE")]
    write: Option<String>,
}

pub(crate) fn run(a: BuildArgs) -> Result<ExitCode, String> {
    // With -w the file is the output; stdout stays quiet unless asked.
    let format = a.format.or(if a.write.is_some() { None } else { Some(Format::Hex) });
    if format == Some(Format::Raw) && io::stdout().is_terminal() {
        return Err("refusing to write raw bytes to a terminal: redirect stdout or use --format hex".into());
    }
    let mut capture = a.write.as_deref().map(CaptureOut::new);
    // Stdin read line by line from a terminal: each line's packets at once.
    let interactive = a.source == "-" && io::stdin().is_terminal();
    let mut out = format.map(|f| Out::new(io::stdout().lock(), f, false).flush_each(interactive));
    let built = for_each_source_packet(&a.source, |pkts| {
        if let Some(c) = capture.as_mut() {
            c.write(&pkts)?;
        }
        match out.as_mut() {
            Some(out) => pkts.iter().try_for_each(|p| out.packet(p, None, None)),
            None => Ok(()),
        }
    });
    // What was built before a bad line is still printed and written.
    if let Some(out) = out {
        out.finish()?;
    }
    if let Some(c) = capture {
        c.finish()?;
    }
    built.map(|()| ExitCode::SUCCESS)
}
