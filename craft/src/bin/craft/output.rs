//! Printing packets in every `--format`, optionally with where they came from in a capture
//! ([`Frame`]: number, timestamp, lengths).
//!
//! Output goes through one buffer written out 64 KiB at a time (or after every packet for
//! live and interactive use), and the hot formats (JSON, hex) are written straight into
//! it: a capture of many packets costs few write calls and no allocation per byte.

use std::io::Write;

use clap::ValueEnum;
use craft::packet::Packet;
use craft::show::hexdump;
use craft::text::{self, Frame};

use crate::io_err;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum Format {
    /// Lowercase hex, one packet per line.
    Hex,
    /// One JSON document per packet per line.
    Json,
    /// Fields per layer (auto fields marked).
    Show,
    /// Fields per layer as built.
    Show2,
    /// One line per packet.
    Summary,
    /// The bytes themselves.
    Raw,
    /// scapy's hexdump.
    Hexdump,
    /// A RON packet file: one list of packets (which `craft build` reads back).
    Ron,
    /// An expression that rebuilds the packet.
    Command,
}

impl Format {
    /// Whether printing needs the packet dissected (hex and raw print the bytes).
    pub(crate) fn needs_packet(self) -> bool {
        !matches!(self, Format::Hex | Format::Raw)
    }
}

/// Flushed when it holds this much.
const CHUNK: usize = 64 * 1024;

/// Packets printed in one format to `w`.
pub(crate) struct Out<W: Write> {
    w: W,
    buf: Vec<u8>,
    format: Format,
    /// Dissected packets are printed as they are; built ones with their auto fields resolved.
    dissected: bool,
    /// Write out after every packet (live commands, stdin read line by line).
    flush_each: bool,
    /// The RON list's `[` is written: `finish` closes it.
    ron_open: bool,
}

impl<W: Write> Out<W> {
    pub(crate) fn new(w: W, format: Format, dissected: bool) -> Out<W> {
        Out { w, buf: Vec::with_capacity(CHUNK + 4096), format, dissected, flush_each: false, ron_open: false }
    }

    /// Write out after every packet.
    pub(crate) fn flush_each(mut self, yes: bool) -> Out<W> {
        self.flush_each = yes;
        self
    }

    /// Prints one packet; `wire` is its bytes when known (a capture's record: hex and raw
    /// print them as captured, without rebuilding), `frame` where it came from.
    pub(crate) fn packet(&mut self, p: &Packet, wire: Option<&[u8]>, frame: Option<&Frame>) -> Result<(), String> {
        let built;
        let bytes = match wire {
            Some(b) => b,
            None if matches!(self.format, Format::Hex | Format::Raw | Format::Hexdump) => {
                built = p.build();
                &built
            }
            None => &[],
        };
        let buf = &mut self.buf;
        let comment = |buf: &mut Vec<u8>| {
            if let Some(f) = frame {
                f.write_comment_line(buf);
            }
        };
        match self.format {
            Format::Json => match frame {
                Some(f) => f.write_json(p, buf),
                None => {
                    if self.dissected {
                        text::write_json(p, buf);
                    } else {
                        // JSON of a built packet shows it as built: auto fields resolved.
                        text::write_json(&p.resolved(), buf);
                    }
                    buf.push(b'\n');
                }
            },
            Format::Hex => match frame {
                Some(f) => f.write_hex(bytes, buf),
                None => {
                    text::json_write::hex(bytes, buf);
                    buf.push(b'\n');
                }
            },
            Format::Raw => buf.extend_from_slice(bytes),
            Format::Summary => {
                let s = p.summary();
                match frame {
                    Some(f) => f.write_summary_line(&s, buf),
                    None => {
                        buf.extend_from_slice(s.as_bytes());
                        buf.push(b'\n');
                    }
                }
            }
            Format::Ron => {
                if !self.ron_open {
                    buf.extend_from_slice(b"[\n");
                    self.ron_open = true;
                }
                if let Some(f) = frame {
                    buf.extend_from_slice(b"    // ");
                    buf.extend_from_slice(&f.comment_line().as_bytes()[2..]);
                }
                buf.extend_from_slice(text::to_ron_item(p).as_bytes());
            }
            Format::Show | Format::Show2 | Format::Hexdump | Format::Command => {
                comment(buf);
                let s = match self.format {
                    // A dissected packet has every field resolved: show() prints it as it is.
                    Format::Show2 if !self.dissected => p.show2(),
                    Format::Show | Format::Show2 => p.show(),
                    Format::Hexdump => format!("{}\n", hexdump(bytes)),
                    _ => format!("{}\n", text::command(p)),
                };
                buf.extend_from_slice(s.as_bytes());
            }
        }
        if self.flush_each || self.buf.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(())
    }

    /// Text between packets (check's findings, sniff's lines), written out at once when
    /// flushing after every packet.
    pub(crate) fn text(&mut self, s: &str) -> Result<(), String> {
        self.buf.extend_from_slice(s.as_bytes());
        if self.flush_each || self.buf.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<(), String> {
        self.w.write_all(&self.buf).map_err(io_err)?;
        self.buf.clear();
        if self.flush_each {
            self.w.flush().map_err(io_err)?;
        }
        Ok(())
    }

    /// Closes the RON list (an empty one if no packet came), writes out what is left.
    pub(crate) fn finish(mut self) -> Result<(), String> {
        if self.format == Format::Ron {
            self.buf.extend_from_slice(if self.ron_open { b"]\n" } else { b"[]\n" });
        }
        self.write_out()?;
        self.w.flush().map_err(io_err)
    }
}
