//! `craft sniff`: capture on an interface, each packet printed as it arrives with its
//! frame number, timestamp and length (as `craft dissect --pcap` prints a capture).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use craft::live::{Direction, SniffOpts, Sniffer};
use craft::packet::{LayerKind, Packet};
use craft::pcap::{self, WriteFormat};
use craft::text::Frame;

use super::{cancel_on_sigint, exit_code, secs};
use crate::input::DissectOpts;
use crate::output::{Format, Out};
use crate::progress::{self, Progress};

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Dir {
    In,
    Out,
    Both,
}

#[derive(Args)]
pub struct SniffArgs {
    #[arg(long, short)]
    iface: String,
    /// Stop after this many packets.
    #[arg(long, short)]
    count: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long, short)]
    timeout: Option<f64>,
    /// tcpdump filter, applied in the kernel.
    #[arg(long)]
    filter: Option<String>,
    /// Packets received (in), sent (out), or both, as tcpdump and scapy capture.
    #[arg(long, value_enum, default_value = "both")]
    direction: Dir,
    /// Also write the packets to a capture file: pcapng if it ends in .pcapng, else pcap (ns).
    #[arg(long = "write", short = 'w', value_name = "FILE")]
    write: Option<String>,
    /// How packets are printed.
    #[arg(long, short, value_enum, default_value = "summary")]
    format: Format,
    #[command(flatten)]
    dissect: DissectOpts,
}

pub fn sniff(out: &mut impl Write, a: SniffArgs) -> Result<ExitCode, String> {
    let timeout = a.timeout.map(|t| secs(t, "--timeout")).transpose()?;
    let direction = match a.direction {
        Dir::In => Direction::In,
        Dir::Out => Direction::Out,
        Dir::Both => Direction::Both,
    };
    let cancel = cancel_on_sigint();
    let cx = a.dissect.cx();
    let opts = SniffOpts {
        count: a.count,
        timeout,
        filter: a.filter.clone(),
        direction,
        cancel: Some(cancel.clone()),
        dissect: cx.clone(),
        ..SniffOpts::default()
    };
    let mut sniffer = Sniffer::new(&a.iface, opts).map_err(|e| e.to_string())?;
    let path = a.write.as_deref().unwrap_or("");
    let mut writer = match &a.write {
        Some(_) => {
            let format = if path.ends_with(".pcapng") { WriteFormat::PcapNg } else { WriteFormat::PcapNanos };
            let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
            let snap = sniffer.socket().options().snaplen as u32;
            Some(pcap::Writer::new(BufWriter::new(file), format, pcap::LINKTYPE_ETHERNET, snap).map_err(|e| format!("{path}: {e}"))?)
        }
        None => None,
    };
    eprintln!("craft: sniffing on {}", a.iface);
    let mut buf = Vec::new();
    let mut seen = 0u64;
    let mut pkt = Packet::new();
    let mut o = Out::new(&mut *out, a.format, true).flush_each(true);
    // With -w, the frames written so far (stdout going to a file: see progress::shown).
    let to = path.to_string();
    let progress = match writer {
        Some(_) => Progress::beside_output(move |n, secs| format!("wrote {n} frames to {to}, {:.0} pps", progress::rate(n, secs))),
        None => Progress::start(false, |_, _| String::new()),
    };
    while let Some(meta) = sniffer.next_frame(&mut buf).map_err(|e| e.to_string())? {
        seen += 1;
        let len = meta.orig_len.unwrap_or(meta.len) as u32;
        if let Some(w) = writer.as_mut() {
            w.write(meta.ts_ns, &buf, len).map_err(|e| format!("{path}: {e}"))?;
            progress.add(1);
        }
        pkt.dissect_into(&buf, LayerKind::Ether, &cx);
        let frame = Frame { number: seen, ts_ns: meta.ts_ns, caplen: buf.len(), len, digits: 9 };
        o.packet(&pkt, Some(&buf), Some(&frame))?;
    }
    drop(progress);
    o.finish()?;
    if let Some(w) = writer {
        w.into_inner().and_then(|mut b| b.flush()).map_err(|e| format!("{path}: {e}"))?;
    }
    let drops = sniffer.socket().stats().map_err(|e| e.to_string())?.drops;
    eprintln!("{seen} packets captured, {drops} dropped by the kernel");
    Ok(exit_code(&cancel, 0))
}
