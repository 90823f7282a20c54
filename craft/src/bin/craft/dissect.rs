//! `craft dissect`: hex strings, stdin lines or a capture file, printed in any format.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use clap::Args;
use craft::packet::Packet;

use crate::capture::for_each_record_shown;
use crate::input::{for_each_hex, DissectOpts, Start};
use crate::output::{Format, Out};

#[derive(Args)]
pub(crate) struct DissectArgs {
    #[arg(required_unless_present = "pcap")]
    hex: Vec<String>,
    /// Read packets from a pcap or pcapng file (- for stdin) instead of hex; each is shown
    /// with its frame number, timestamp and length (marked when the capture cut it short).
    #[arg(long, value_name = "FILE", conflicts_with = "hex")]
    pcap: Option<String>,
    /// The first layer of the bytes.
    #[arg(long = "as", value_enum, default_value = "ether")]
    start: Start,
    #[arg(long, short, value_enum, default_value = "show")]
    format: Format,
    #[command(flatten)]
    dissect: DissectOpts,
}

pub(crate) fn run(a: DissectArgs) -> Result<ExitCode, String> {
    let cx = a.dissect.cx();
    let interactive = a.hex == ["-"] && io::stdin().is_terminal();
    let mut out = Out::new(io::stdout().lock(), a.format, true).flush_each(interactive);
    // One packet reused for every record: dissect_into overwrites it in place.
    let mut pkt = Packet::new();
    let done = match &a.pcap {
        Some(file) => for_each_record_shown(file, |frame, data, first| {
            if a.format.needs_packet() {
                pkt.dissect_into(data, first, &cx);
            }
            out.packet(&pkt, Some(data), Some(frame))
        })
        .map(drop),
        None => for_each_hex(&a.hex, |bytes| {
            pkt.dissect_into(&bytes, a.start.kind(), &cx);
            out.packet(&pkt, Some(&bytes), None)
        }),
    };
    // Whatever was read before an error is printed.
    out.finish()?;
    done.map(|()| ExitCode::SUCCESS)
}
