//! Capture files: reading one record at a time with its [`Frame`] (dissect, check, send
//! and sr read them), and the file `craft build -w` writes.

use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use craft::packet::{LayerKind, Packet};
use craft::pcap::{self, WriteFormat};
use craft::text::Frame;

use crate::progress::Progress;

/// Opens a capture (`-` is stdin).
pub(crate) fn open(file: &str) -> Result<pcap::Reader<Box<dyn io::Read>>, String> {
    open_counted(file, None)
}

/// Opens a capture, adding the bytes read to `read`.
fn open_counted(file: &str, read: Option<Arc<AtomicU64>>) -> Result<pcap::Reader<Box<dyn io::Read>>, String> {
    let input: Box<dyn io::Read> = if file == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(file).map_err(|e| format!("{file}: {e}"))?)
    };
    let input = match read {
        Some(read) => Box::new(Counted { input, read }),
        None => input,
    };
    pcap::Reader::new(input).map_err(|e| format!("{file}: {e}"))
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    input: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// [`for_each_record`] for a command printing each record to stdout: with a progress line
/// on stderr when that is a terminal and stdout a file (records read, and how far into the
/// file). Ctrl-C then stops it with [`crate::progress::INTERRUPTED`].
pub(crate) fn for_each_record_shown(file: &str, mut f: impl FnMut(&Frame, &[u8], LayerKind) -> Result<(), String>) -> Result<u64, String> {
    let size = if file == "-" { None } else { std::fs::metadata(file).ok().map(|m| m.len()).filter(|&s| s > 0) };
    let read = Arc::new(AtomicU64::new(0));
    let pos = read.clone();
    let progress = Progress::beside_output(move |n, _| match size {
        Some(size) => format!("read {n} packets, {}%", pos.load(Ordering::Relaxed).min(size) * 100 / size),
        None => format!("read {n} packets"),
    })
    .catch_ctrl_c();
    let reader = open_counted(file, progress.is_shown().then_some(read))?;
    records(file, reader, |frame, data, first| {
        progress.interrupted()?;
        progress.add(1);
        f(frame, data, first)
    })
}

/// Calls `f` with every record of the capture `file`: its frame, bytes and first layer.
/// What the reader passed over (link types it does not decode, pcapng blocks it skipped)
/// is said once on stderr, as it finds it.
pub(crate) fn for_each_record(file: &str, f: impl FnMut(&Frame, &[u8], LayerKind) -> Result<(), String>) -> Result<u64, String> {
    records(file, open(file)?, f)
}

fn records(
    file: &str,
    mut reader: pcap::Reader<Box<dyn io::Read>>,
    mut f: impl FnMut(&Frame, &[u8], LayerKind) -> Result<(), String>,
) -> Result<u64, String> {
    // tcpdump's precision: microseconds for a µs pcap, nanoseconds for the others.
    let digits = if reader.write_format() == WriteFormat::PcapMicros { 6 } else { 9 };
    let mut number = 0;
    let notices = |reader: &mut pcap::Reader<_>| {
        for n in reader.take_notices() {
            craft::exit::warning("craft", format_args!("{file}: {n}"));
        }
    };
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => {
                notices(&mut reader);
                return Err(format!("{file}: {e}"));
            }
        };
        number += 1;
        let frame = Frame { number, ts_ns: rec.ts_ns, caplen: rec.data.len(), len: rec.orig_len, digits };
        let (data, first) = (rec.data, rec.first_layer());
        f(&frame, data, first)?;
        notices(&mut reader);
    }
    notices(&mut reader);
    Ok(number)
}

/// The capture file `craft build -w` writes, opened at the first packet: its linktype
/// follows that packet's first layer.
pub(crate) struct CaptureOut {
    path: String,
    writer: Option<(pcap::Writer<BufWriter<File>>, u32)>,
    count: usize,
}

impl CaptureOut {
    pub(crate) fn new(path: &str) -> CaptureOut {
        CaptureOut { path: path.to_string(), writer: None, count: 0 }
    }

    pub(crate) fn write(&mut self, pkts: &[Packet]) -> Result<(), String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        for p in pkts {
            self.count += 1;
            let linktype = pcap::linktype_for(p.layers.first().map_or(LayerKind::Raw, |l| l.kind()));
            let (w, file_linktype) = match &mut self.writer {
                Some(w) => w,
                None => self.writer.insert((self.open(linktype)?, linktype)),
            };
            if linktype != *file_linktype {
                return Err(format!(
                    "{}: packet {} ({}) needs linktype {linktype} but the file has {}: one file holds one kind",
                    self.path,
                    self.count,
                    p.summary(),
                    *file_linktype
                ));
            }
            let bytes = p.build();
            w.write(now, &bytes, bytes.len() as u32).map_err(|e| format!("{}: {e}", self.path))?;
        }
        Ok(())
    }

    fn open(&self, linktype: u32) -> Result<pcap::Writer<BufWriter<File>>, String> {
        let format = if self.path.ends_with(".pcapng") { WriteFormat::PcapNg } else { WriteFormat::PcapMicros };
        let file = File::create(&self.path).map_err(|e| format!("{}: {e}", self.path))?;
        pcap::Writer::new(BufWriter::new(file), format, linktype, pcap::MAX_RECORD as u32)
            .map_err(|e| format!("{}: {e}", self.path))
    }

    /// Flushes; with no packet at all, still leaves a valid (empty, Ethernet) file.
    pub(crate) fn finish(mut self) -> Result<(), String> {
        let (w, _) = match self.writer.take() {
            Some(w) => w,
            None => (self.open(pcap::LINKTYPE_ETHERNET)?, 0),
        };
        w.into_inner().map_err(|e| format!("{}: {e}", self.path))?;
        Ok(())
    }
}
