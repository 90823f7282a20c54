//! Capture files: a streaming reader for pcap and pcapng, and writers for both.
//!
//! ```
//! use craft::pcap::{Reader, Writer, WriteFormat, LINKTYPE_ETHERNET};
//! let mut file = Vec::new();
//! let mut w = Writer::new(&mut file, WriteFormat::PcapNg, LINKTYPE_ETHERNET, 65535).unwrap();
//! w.write(1_700_000_000_123_456_789, &[0u8; 60], 60).unwrap();
//! drop(w);
//! let mut r = Reader::new(&file[..]).unwrap();
//! let rec = r.next_record().unwrap().unwrap();
//! assert_eq!((rec.ts_ns, rec.data.len(), rec.orig_len), (1_700_000_000_123_456_789, 60, 60));
//! assert!(r.next_record().unwrap().is_none());
//! ```
//!
//! Why not the `pcap-file` crate (the one the issue names): 2.0.0, its latest stable
//! release, builds with our toolchain and has borrowed reads, but it reads Enhanced Packet
//! Block timestamps as microseconds whatever the interface's `if_tsresol` says (fixed
//! upstream in courvoif/pcap-file#37, released only in the 3.0 pre-releases), has separate
//! readers for pcap and pcapng (no format detection), and its errors carry no file
//! offset. The part we need is small, so it lives here: one reader that detects the
//! format, honours per-interface linktype/resolution/offset, reuses one buffer for every
//! record (no allocation per packet) and reports errors with the byte offset.
//!
//! Input is never trusted: every length is checked against what is left of the block and
//! against [`MAX_RECORD`], so a hostile file gives an [`Error`], never a panic or a huge
//! allocation.

use std::fmt;
use std::io::{self, BufReader, Read, Write};

use crate::packet::LayerKind;

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;

/// The largest captured length accepted (and tcpdump's default snaplen): anything larger
/// is a corrupt length field, not a packet.
pub const MAX_RECORD: usize = 256 * 1024;
/// pcapng blocks we keep in memory (SHB, IDB, EPB, SPB) may carry options besides the
/// packet; other blocks are skipped without being buffered, whatever their length.
const MAX_BLOCK: usize = MAX_RECORD + 64 * 1024;

const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BYTE_ORDER: u32 = 0x1a2b_3c4d;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// The first layer of a record of `linktype`: what to pass to `Packet::dissect`.
pub fn first_layer(linktype: u32, data: &[u8]) -> LayerKind {
    match linktype {
        LINKTYPE_ETHERNET => LayerKind::Ether,
        LINKTYPE_IPV4 => LayerKind::Ip,
        LINKTYPE_IPV6 => LayerKind::Ipv6,
        // RAW carries IPv4 or IPv6: the version nibble says which.
        LINKTYPE_RAW => match data.first().map(|b| b >> 4) {
            Some(4) => LayerKind::Ip,
            Some(6) => LayerKind::Ipv6,
            _ => LayerKind::Raw,
        },
        _ => LayerKind::Raw,
    }
}

/// What went wrong reading a capture, and where: `offset` is the byte offset in the file
/// of the header or record at fault.
#[derive(Debug)]
pub struct Error {
    pub offset: u64,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for Error {}

fn err<T>(offset: u64, message: impl Into<String>) -> Result<T, Error> {
    Err(Error { offset, message: message.into() })
}

/// One captured packet, borrowed from the reader's buffer until the next read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The captured bytes (at most the snaplen).
    pub data: &'a [u8],
    /// The packet's length on the wire, which exceeds `data.len()` when the capture cut it.
    pub orig_len: u32,
    pub linktype: u32,
}

impl Record<'_> {
    /// The first layer to dissect `data` with.
    pub fn first_layer(&self) -> LayerKind {
        first_layer(self.linktype, self.data)
    }

    pub fn to_owned(&self) -> OwnedRecord {
        OwnedRecord { ts_ns: self.ts_ns, data: self.data.to_vec(), orig_len: self.orig_len, linktype: self.linktype }
    }
}

/// A record that owns its bytes: what the [`Iterator`] over a [`Reader`] yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    pub ts_ns: u64,
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub linktype: u32,
}

/// Reads u16/u32 in the byte order of the file (or of the current pcapng section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }

    fn i64(self, b: &[u8], at: usize) -> Option<i64> {
        let a: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big { i64::from_be_bytes(a) } else { i64::from_le_bytes(a) })
    }
}

/// Timestamp units per second, turned into nanoseconds without overflow.
#[derive(Clone, Copy, Debug)]
struct TsUnit {
    per_second: u128,
}

impl TsUnit {
    const MICROS: TsUnit = TsUnit { per_second: 1_000_000 };
    const NANOS: TsUnit = TsUnit { per_second: 1_000_000_000 };

    fn to_ns(self, ticks: u64) -> u64 {
        // The common resolutions skip the 128-bit division.
        match self.per_second {
            1_000_000_000 => ticks,
            1_000_000 => ticks.saturating_mul(1000),
            p => u64::try_from(u128::from(ticks) * 1_000_000_000 / p).unwrap_or(u64::MAX),
        }
    }

    /// pcapng `if_tsresol`: a negative power of 10, or of 2 when the top bit is set.
    fn from_tsresol(v: u8) -> Option<TsUnit> {
        let exp = u32::from(v & 0x7f);
        let per_second = if v & 0x80 != 0 { 1u128.checked_shl(exp)? } else { 10u128.checked_pow(exp)? };
        // A resolution above 2^64 ticks per second cannot tell two 64-bit stamps apart.
        (per_second <= u128::from(u64::MAX)).then_some(TsUnit { per_second })
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    unit: TsUnit,
    offset_s: i64,
}

enum Format {
    Pcap { endian: Endian, unit: TsUnit, linktype: u32 },
    PcapNg { endian: Endian, interfaces: Vec<Interface> },
}

/// A streaming reader of pcap (µs or ns, either byte order) and pcapng files.
///
/// Records are read one at a time into one reused buffer: [`Reader::next_record`] lends
/// the bytes until the next call, so reading allocates nothing per packet.
pub struct Reader<R: Read> {
    input: BufReader<R>,
    /// Bytes consumed so far: where the next header starts.
    offset: u64,
    format: Format,
    buf: Vec<u8>,
    /// Set by the iterator after an error.
    failed: bool,
}

impl<R: Read> Reader<R> {
    /// Reads the file header and detects the format from its magic number.
    pub fn new(input: R) -> Result<Reader<R>, Error> {
        let mut r = Reader {
            input: BufReader::with_capacity(64 * 1024, input),
            offset: 0,
            format: Format::PcapNg { endian: Endian { big: false }, interfaces: Vec::new() },
            buf: Vec::with_capacity(2048),
            failed: false,
        };
        let mut magic = [0u8; 4];
        match r.read_up_to(&mut magic)? {
            0 => return err(0, "empty file: expected a pcap or pcapng header"),
            4 => {}
            n => return err(0, format!("truncated file header: {n} of 4 magic bytes")),
        }
        if u32::from_be_bytes(magic) == PCAPNG_SHB {
            r.read_section_header(0)?;
        } else {
            r.format = r.read_pcap_header(magic)?;
        }
        Ok(r)
    }

    /// Whether the file is pcapng (else classic pcap).
    pub fn is_pcapng(&self) -> bool {
        matches!(self.format, Format::PcapNg { .. })
    }

    /// The next record, or `None` at a clean end of file. The bytes are valid until the
    /// next call.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        match self.format {
            Format::Pcap { endian, unit, linktype } => self.next_pcap(endian, unit, linktype),
            Format::PcapNg { .. } => self.next_pcapng(),
        }
    }

    /// Like [`Reader::next_record`] but copies the bytes into `out` (cleared first):
    /// returns (ts_ns, orig_len, linktype). Reuse `out` to avoid allocating per packet.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> Result<Option<(u64, u32, u32)>, Error> {
        out.clear();
        Ok(self.next_record()?.map(|r| {
            out.extend_from_slice(r.data);
            (r.ts_ns, r.orig_len, r.linktype)
        }))
    }

    fn read_pcap_header(&mut self, magic: [u8; 4]) -> Result<Format, Error> {
        let (endian, unit) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (PCAP_MAGIC_MICROS, _) => (Endian { big: false }, TsUnit::MICROS),
            (PCAP_MAGIC_NANOS, _) => (Endian { big: false }, TsUnit::NANOS),
            (_, PCAP_MAGIC_MICROS) => (Endian { big: true }, TsUnit::MICROS),
            (_, PCAP_MAGIC_NANOS) => (Endian { big: true }, TsUnit::NANOS),
            (_, m) => return err(0, format!("bad magic 0x{m:08x}: not a pcap or pcapng file")),
        };
        let mut rest = [0u8; 20];
        let n = self.read_up_to(&mut rest)?;
        if n < rest.len() {
            return err(0, format!("truncated pcap file header: {} of 24 bytes", 4 + n));
        }
        // The top bits of the link-layer field carry FCS information, not the type.
        let linktype = endian.u32(&rest, 16).unwrap_or(0) & 0xffff;
        Ok(Format::Pcap { endian, unit, linktype })
    }

    fn next_pcap(&mut self, endian: Endian, unit: TsUnit, linktype: u32) -> Result<Option<Record<'_>>, Error> {
        let at = self.offset;
        let mut hdr = [0u8; 16];
        match self.read_up_to(&mut hdr)? {
            0 => return Ok(None),
            16 => {}
            n => return err(at, format!("truncated record header: {n} of 16 bytes")),
        }
        let field = |i: usize| endian.u32(&hdr, i * 4).unwrap_or(0);
        let (secs, frac, caplen, orig_len) = (field(0), field(1), field(2) as usize, field(3));
        if caplen > MAX_RECORD {
            return err(at, format!("record length {caplen} exceeds the {MAX_RECORD}-byte limit: corrupt file?"));
        }
        self.fill_buf(caplen, at, "record data")?;
        let ts_ns = u64::from(secs).saturating_mul(1_000_000_000).saturating_add(unit.to_ns(u64::from(frac)));
        Ok(Some(Record { ts_ns, data: &self.buf, orig_len, linktype }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Record<'_>>, Error> {
        loop {
            let at = self.offset;
            let mut hdr = [0u8; 8];
            match self.read_up_to(&mut hdr)? {
                0 => return Ok(None),
                8 => {}
                n => return err(at, format!("truncated block header: {n} of 8 bytes")),
            }
            if u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) == PCAPNG_SHB {
                // A new section: its own byte order, and interfaces start over.
                self.read_section_header_after(at, hdr)?;
                continue;
            }
            let endian = self.pcapng_endian();
            let kind = endian.u32(&hdr, 0).unwrap_or(0);
            let total = endian.u32(&hdr, 4).unwrap_or(0) as usize;
            if total < 12 || !total.is_multiple_of(4) {
                return err(at, format!("bad block length {total} (block type {kind}): must be a multiple of 4, at least 12"));
            }
            match kind {
                PCAPNG_IDB => {
                    self.read_block_body(total, at)?;
                    self.read_interface(at)?;
                }
                PCAPNG_EPB | PCAPNG_SPB => {
                    self.read_block_body(total, at)?;
                    return self.packet_block(kind, at).map(Some);
                }
                _ => self.skip(total - 8, at)?,
            }
        }
    }

    fn pcapng_endian(&self) -> Endian {
        match self.format {
            Format::PcapNg { endian, .. } => endian,
            Format::Pcap { endian, .. } => endian,
        }
    }

    /// The SHB at `at`, whose 4 magic bytes were already read.
    fn read_section_header(&mut self, at: u64) -> Result<(), Error> {
        let mut rest = [0u8; 4];
        if self.read_up_to(&mut rest)? < 4 {
            return err(at, "truncated section header block");
        }
        let t = PCAPNG_SHB.to_be_bytes();
        self.read_section_header_after(at, [t[0], t[1], t[2], t[3], rest[0], rest[1], rest[2], rest[3]])
    }

    /// The SHB at `at`, whose 8-byte block header was already read.
    fn read_section_header_after(&mut self, at: u64, hdr: [u8; 8]) -> Result<(), Error> {
        let mut bom = [0u8; 4];
        if self.read_up_to(&mut bom)? < 4 {
            return err(at, "truncated section header block: no byte-order magic");
        }
        let endian = match u32::from_le_bytes(bom) {
            PCAPNG_BYTE_ORDER => Endian { big: false },
            m if m.swap_bytes() == PCAPNG_BYTE_ORDER => Endian { big: true },
            m => return err(at + 8, format!("bad pcapng byte-order magic 0x{m:08x} (expected 0x1a2b3c4d)")),
        };
        let total = endian.u32(&hdr, 4).unwrap_or(0) as usize;
        if !(28..=MAX_BLOCK).contains(&total) || !total.is_multiple_of(4) {
            return err(at, format!("bad section header block length {total}"));
        }
        // Options (comments, hardware, OS) are not needed: skip them and the trailer.
        self.skip(total - 12, at)?;
        self.format = Format::PcapNg { endian, interfaces: Vec::new() };
        Ok(())
    }

    /// Reads the rest of a block of `total` bytes into `buf`, checking the trailing length.
    fn read_block_body(&mut self, total: usize, at: u64) -> Result<(), Error> {
        if total > MAX_BLOCK {
            return err(at, format!("block length {total} exceeds the {MAX_BLOCK}-byte limit: corrupt file?"));
        }
        self.fill_buf(total - 8, at, "block")?;
        let endian = self.pcapng_endian();
        let trailer = endian.u32(&self.buf, total - 12).unwrap_or(0) as usize;
        if trailer != total {
            return err(at, format!("block length {total} does not match its trailing copy {trailer}"));
        }
        self.buf.truncate(total - 12);
        Ok(())
    }

    fn read_interface(&mut self, at: u64) -> Result<(), Error> {
        let endian = self.pcapng_endian();
        let body = &self.buf;
        let (Some(linktype), Some(snaplen)) = (endian.u16(body, 0), endian.u32(body, 4)) else {
            return err(at, "truncated interface description block");
        };
        let mut iface = Interface { linktype: u32::from(linktype), snaplen, unit: TsUnit::MICROS, offset_s: 0 };
        let mut pos = 8;
        while let (Some(code), Some(len)) = (endian.u16(body, pos), endian.u16(body, pos + 2)) {
            let value = pos + 4;
            let Some(v) = body.get(value..value + usize::from(len)) else {
                return err(at, format!("interface option {code} overruns its block"));
            };
            match code {
                OPT_ENDOFOPT => break,
                OPT_IF_TSRESOL if len == 1 => {
                    iface.unit = TsUnit::from_tsresol(v[0])
                        .ok_or_else(|| Error { offset: at, message: format!("if_tsresol 0x{:02x} out of range", v[0]) })?;
                }
                OPT_IF_TSOFFSET if len == 8 => iface.offset_s = endian.i64(v, 0).unwrap_or(0),
                _ => {}
            }
            pos = value + usize::from(len).next_multiple_of(4);
        }
        let Format::PcapNg { interfaces, .. } = &mut self.format else {
            return err(at, "interface block in a classic pcap file");
        };
        if interfaces.len() >= 65536 {
            return err(at, "more than 65536 interfaces: corrupt file?");
        }
        interfaces.push(iface);
        Ok(())
    }

    /// An EPB or SPB already in `buf` (without its trailer) as a record.
    fn packet_block(&mut self, kind: u32, at: u64) -> Result<Record<'_>, Error> {
        let Format::PcapNg { endian, interfaces } = &self.format else {
            return err(at, "packet block in a classic pcap file");
        };
        let (endian, body) = (*endian, &self.buf[..]);
        let field = |i: usize| endian.u32(body, i * 4);
        let (iface_id, ts, caplen, orig_len, start) = if kind == PCAPNG_EPB {
            let (Some(id), Some(hi), Some(lo), Some(cap), Some(orig)) = (field(0), field(1), field(2), field(3), field(4)) else {
                return err(at, "truncated enhanced packet block");
            };
            (id, u64::from(hi) << 32 | u64::from(lo), cap as usize, orig, 20)
        } else {
            let Some(orig) = field(0) else { return err(at, "truncated simple packet block") };
            // An SPB's captured length is implied: the packet, cut at the snaplen, fills the block.
            let snap = interfaces.first().map_or(u32::MAX, |i| if i.snaplen == 0 { u32::MAX } else { i.snaplen });
            let cap = (orig.min(snap) as usize).min(body.len() - 4);
            (0, 0, cap, orig, 4)
        };
        let Some(iface) = interfaces.get(iface_id as usize) else {
            return err(at, format!("packet for interface {iface_id}, but only {} interfaces are described", interfaces.len()));
        };
        let Some(data) = body.get(start..start + caplen) else {
            return err(at, format!("captured length {caplen} overruns its block of {} bytes", body.len() + 12));
        };
        let ts_ns = if kind == PCAPNG_SPB {
            0
        } else {
            let offset_ns = iface.offset_s.saturating_mul(1_000_000_000);
            iface.unit.to_ns(ts).saturating_add_signed(offset_ns)
        };
        Ok(Record { ts_ns, data, orig_len, linktype: iface.linktype })
    }

    /// Reads exactly `len` bytes into `buf` (reused: no allocation once it is big enough).
    fn fill_buf(&mut self, len: usize, at: u64, what: &str) -> Result<(), Error> {
        self.buf.resize(len, 0);
        let mut buf = std::mem::take(&mut self.buf);
        let got = self.read_up_to(&mut buf);
        self.buf = buf;
        let got = got?;
        if got < len {
            return err(at, format!("truncated {what}: {got} of {len} bytes"));
        }
        Ok(())
    }

    /// Discards `len` bytes without buffering them.
    fn skip(&mut self, len: usize, at: u64) -> Result<(), Error> {
        let got = io::copy(&mut (&mut self.input).take(len as u64), &mut io::sink())
            .map_err(|e| Error { offset: self.offset, message: format!("read error: {e}") })?;
        self.offset += got;
        if got < len as u64 {
            return err(at, format!("truncated block: {got} of {len} bytes after its header"));
        }
        Ok(())
    }

    /// Fills `buf` as far as the input goes: fewer bytes only at the end of the input.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut n = 0;
        while n < buf.len() {
            match self.input.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return err(self.offset + n as u64, format!("read error: {e}")),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Owned records, one allocation each: convenient, not the fast path
/// (that is [`Reader::next_record`]). Stops after the first error.
impl<R: Read> Iterator for Reader<R> {
    type Item = Result<OwnedRecord, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_record() {
            Ok(r) => r.map(|r| Ok(r.to_owned())),
            Err(e) => {
                // Further reads would start mid-record: end here.
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The file formats [`Writer`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFormat {
    /// Classic pcap, microsecond timestamps.
    PcapMicros,
    /// Classic pcap, nanosecond timestamps.
    PcapNanos,
    /// pcapng: one section, one interface (nanosecond `if_tsresol`), Enhanced Packet Blocks.
    PcapNg,
}

/// Writes packets to a pcap or pcapng file, little endian. Wrap `out` in a `BufWriter`
/// when it is a file: each packet is a few small writes.
pub struct Writer<W: Write> {
    out: W,
    format: WriteFormat,
    snaplen: u32,
}

impl<W: Write> Writer<W> {
    /// Writes the file header. Packets longer than `snaplen` are cut to it.
    pub fn new(mut out: W, format: WriteFormat, linktype: u32, snaplen: u32) -> io::Result<Writer<W>> {
        match format {
            WriteFormat::PcapMicros | WriteFormat::PcapNanos => {
                let magic = if format == WriteFormat::PcapMicros { PCAP_MAGIC_MICROS } else { PCAP_MAGIC_NANOS };
                let mut h = Vec::with_capacity(24);
                h.extend_from_slice(&magic.to_le_bytes());
                h.extend_from_slice(&2u16.to_le_bytes());
                h.extend_from_slice(&4u16.to_le_bytes());
                h.extend_from_slice(&[0; 8]); // thiszone, sigfigs: always 0
                h.extend_from_slice(&snaplen.to_le_bytes());
                h.extend_from_slice(&linktype.to_le_bytes());
                out.write_all(&h)?;
            }
            WriteFormat::PcapNg => {
                let mut h = Vec::with_capacity(60);
                // Section header: 28 bytes, no options, section length unknown (-1).
                for v in [PCAPNG_SHB, 28, PCAPNG_BYTE_ORDER] {
                    h.extend_from_slice(&v.to_le_bytes());
                }
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&0u16.to_le_bytes());
                h.extend_from_slice(&(-1i64).to_le_bytes());
                h.extend_from_slice(&28u32.to_le_bytes());
                // Interface: 32 bytes with if_tsresol = 9 (ns) so no precision is lost.
                for v in [PCAPNG_IDB, 32, linktype & 0xffff, snaplen] {
                    h.extend_from_slice(&v.to_le_bytes());
                }
                h.extend_from_slice(&OPT_IF_TSRESOL.to_le_bytes());
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&[9, 0, 0, 0]);
                h.extend_from_slice(&[0; 4]); // opt_endofopt
                h.extend_from_slice(&32u32.to_le_bytes());
                out.write_all(&h)?;
            }
        }
        Ok(Writer { out, format, snaplen })
    }

    /// Writes one packet captured at `ts_ns` (ns since the epoch) that was `orig_len`
    /// bytes on the wire; `data` beyond the snaplen is cut.
    pub fn write(&mut self, ts_ns: u64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let data = &data[..data.len().min(self.snaplen as usize)];
        let caplen = data.len() as u32; // at most snaplen, a u32
        let orig_len = orig_len.max(caplen);
        match self.format {
            WriteFormat::PcapMicros | WriteFormat::PcapNanos => {
                let secs = (ts_ns / 1_000_000_000) as u32; // pcap seconds are 32-bit: wraps in 2106
                let frac = (ts_ns % 1_000_000_000) as u32;
                let frac = if self.format == WriteFormat::PcapMicros { frac / 1000 } else { frac };
                let mut h = [0u8; 16];
                for (i, v) in [secs, frac, caplen, orig_len].into_iter().enumerate() {
                    h[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
                }
                self.out.write_all(&h)?;
                self.out.write_all(data)
            }
            WriteFormat::PcapNg => {
                let pad = data.len().next_multiple_of(4) - data.len();
                let total = (32 + data.len() + pad) as u32;
                let mut h = [0u8; 28];
                let words = [PCAPNG_EPB, total, 0, (ts_ns >> 32) as u32, ts_ns as u32, caplen, orig_len];
                for (i, v) in words.into_iter().enumerate() {
                    h[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
                }
                self.out.write_all(&h)?;
                self.out.write_all(data)?;
                self.out.write_all(&[0u8; 3][..pad])?;
                self.out.write_all(&total.to_le_bytes())
            }
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and hands back the output.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_decimal_and_binary() {
        assert_eq!(TsUnit::from_tsresol(6).unwrap().to_ns(1_500_000), 1_500_000_000);
        assert_eq!(TsUnit::from_tsresol(9).unwrap().to_ns(7), 7);
        assert_eq!(TsUnit::from_tsresol(3).unwrap().to_ns(2), 2_000_000);
        assert_eq!(TsUnit::from_tsresol(12).unwrap().to_ns(5_000), 5); // picoseconds
        assert_eq!(TsUnit::from_tsresol(0x80 | 10).unwrap().to_ns(1024), 1_000_000_000);
        assert!(TsUnit::from_tsresol(20).is_none(), "10^20 per second does not fit 64 bits");
        assert!(TsUnit::from_tsresol(0x80 | 64).is_none());
        assert_eq!(TsUnit::MICROS.to_ns(u64::MAX), u64::MAX, "saturates, never overflows");
    }

    #[test]
    fn endian_reads_stay_in_bounds() {
        let le = Endian { big: false };
        let be = Endian { big: true };
        assert_eq!(le.u32(&[1, 0, 0, 0], 0), Some(1));
        assert_eq!(be.u32(&[0, 0, 0, 1], 0), Some(1));
        assert_eq!(be.u16(&[1, 2], 0), Some(0x0102));
        assert_eq!(le.u32(&[1, 0, 0], 0), None);
        assert_eq!(le.u16(&[1, 2], 1), None);
    }

    #[test]
    fn pcap_header_is_24_bytes_and_pcapng_header_60() {
        let pcap = Writer::new(Vec::new(), WriteFormat::PcapMicros, 1, 65535).unwrap().into_inner().unwrap();
        assert_eq!(pcap.len(), 24);
        assert_eq!(pcap[..4], [0xd4, 0xc3, 0xb2, 0xa1]);
        let ng = Writer::new(Vec::new(), WriteFormat::PcapNg, 1, 65535).unwrap().into_inner().unwrap();
        assert_eq!(ng.len(), 60);
        let mut r = Reader::new(&ng[..]).unwrap();
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn epb_pads_data_to_four_bytes() {
        let mut w = Writer::new(Vec::new(), WriteFormat::PcapNg, 1, 65535).unwrap();
        w.write(0, &[1, 2, 3, 4, 5], 5).unwrap();
        let f = w.into_inner().unwrap();
        assert_eq!(f.len(), 60 + 40);
        let r = Reader::new(&f[..]).unwrap().next().unwrap().unwrap();
        assert_eq!(r.data, [1, 2, 3, 4, 5]);
    }
}
