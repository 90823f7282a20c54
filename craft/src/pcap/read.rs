//! Reading pcap and pcapng: the format's rules once, over a [`Source`] of bytes, and the
//! two readers that feed them: [`Reader`] (any `Read`, plain or gzip, through one reused
//! buffer) and [`SliceReader`] (a file already in memory, records borrowed from it).

use std::io::{self, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::{
    err, is_decoded, Error, Notice, OwnedRecord, Record, WriteFormat, GZIP_MAGIC, LINKTYPE_ETHERNET, MAX_BLOCK,
    MAX_RECORD, OPT_ENDOFOPT, OPT_IF_TSOFFSET, OPT_IF_TSRESOL, PCAPNG_BYTE_ORDER, PCAPNG_EPB, PCAPNG_IDB, PCAPNG_PB,
    PCAPNG_SHB, PCAPNG_SPB, PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS,
};

// ---- where the bytes come from ----

/// The bytes a reader parses, taken in order. The format rules ([`Parser`]) see only
/// this, so the streaming and the borrowing reader share every check and every error.
trait Source {
    /// Bytes consumed so far: the file offset of the next byte.
    fn offset(&self) -> u64;
    /// The next `len` bytes, or fewer at the end of the input. The record a [`Meta`] names
    /// lies in the bytes of the last call.
    fn take(&mut self, len: usize) -> Result<&[u8], Error>;
    /// As `take`, for a header: its bytes hold no record, so a source that must remember
    /// where the record is (a slice) need not.
    #[inline]
    fn take_header(&mut self, len: usize) -> Result<&[u8], Error> {
        self.take(len)
    }
    /// Passes over the next `len` bytes without keeping them: how many there were.
    fn skip(&mut self, len: usize) -> Result<u64, Error>;
}

/// A file in memory: taking is slicing.
struct SliceSource<'a> {
    /// The file's length: the offset is what is consumed of it (one counter fewer to
    /// keep per take).
    len: usize,
    rest: &'a [u8],
    /// The bytes of the last `take`, where the current record lies.
    last: &'a [u8],
}

impl<'a> SliceSource<'a> {
    fn new(file: &'a [u8]) -> SliceSource<'a> {
        SliceSource { len: file.len(), rest: file, last: &[] }
    }

    /// The next `len` bytes, or fewer at the end.
    #[inline]
    fn split_off(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        taken
    }
}

impl Source for SliceSource<'_> {
    #[inline]
    fn offset(&self) -> u64 {
        (self.len - self.rest.len()) as u64
    }

    #[inline]
    fn take(&mut self, len: usize) -> Result<&[u8], Error> {
        let taken = self.split_off(len);
        self.last = taken;
        Ok(taken)
    }

    #[inline]
    fn take_header(&mut self, len: usize) -> Result<&[u8], Error> {
        Ok(self.split_off(len))
    }

    fn skip(&mut self, len: usize) -> Result<u64, Error> {
        let got = self.rest.len().min(len);
        self.rest = &self.rest[got..];
        Ok(got as u64)
    }
}

/// The input with the bytes read to detect gzip put back in front.
type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// The file as given, or decompressed on the fly when it is gzip (`.pcap.gz`).
enum Input<R: Read> {
    Plain(BufReader<Peeked<R>>),
    Gzip(BufReader<MultiGzDecoder<Peeked<R>>>),
}

impl<R: Read> Input<R> {
    /// Looks at the first two bytes: gzip's magic means a compressed capture, whatever the
    /// file is called.
    fn detect(mut input: R) -> Result<Input<R>, Error> {
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < head.len() {
            match input.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return err(0, format!("read error: {e}")),
            }
        }
        let peeked = io::Cursor::new(head[..n].to_vec()).chain(input);
        Ok(if head[..n] == GZIP_MAGIC {
            // Multi-member: `cat a.pcap.gz b.gz` and pigz output are one stream.
            Input::Gzip(BufReader::with_capacity(64 * 1024, MultiGzDecoder::new(peeked)))
        } else {
            Input::Plain(BufReader::with_capacity(64 * 1024, peeked))
        })
    }
}

impl<R: Read> Read for Input<R> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Gzip(r) => r.read(buf),
        }
    }
}

/// A stream: each take is read into one reused buffer.
struct StreamSource<R: Read> {
    input: Input<R>,
    offset: u64,
    /// Never shrunk, so a record no longer than one before it costs no allocation and no
    /// zeroing; the last take is at its start.
    buf: Vec<u8>,
}

impl<R: Read> Source for StreamSource<R> {
    fn offset(&self) -> u64 {
        self.offset
    }

    fn take(&mut self, len: usize) -> Result<&[u8], Error> {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let mut n = 0;
        while n < len {
            match self.input.read(&mut self.buf[n..len]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return err(self.offset + n as u64, format!("read error: {e}")),
            }
        }
        self.offset += n as u64;
        Ok(&self.buf[..n])
    }

    fn skip(&mut self, len: usize) -> Result<u64, Error> {
        let got = io::copy(&mut (&mut self.input).take(len as u64), &mut io::sink())
            .map_err(|e| Error { offset: self.offset, message: format!("read error: {e}") })?;
        self.offset += got;
        Ok(got)
    }
}

// ---- the format's rules ----

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

    #[inline]
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }

    /// The first `N` u32 of `b`: one bounds check and one byte-order test for a whole
    /// header, where the hot paths read several fields.
    #[inline]
    fn u32s<const N: usize>(self, b: &[u8]) -> Option<[u32; N]> {
        let mut words = [0u32; N];
        for (w, chunk) in words.iter_mut().zip(b.get(..4 * N)?.chunks_exact(4)) {
            let v = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            *w = if self.big { v.swap_bytes() } else { v };
        }
        Some(words)
    }

    fn i64(self, b: &[u8], at: usize) -> Option<i64> {
        let a: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big { i64::from_be_bytes(a) } else { i64::from_le_bytes(a) })
    }
}

/// Timestamp units per second, turned into nanoseconds without overflow.
#[derive(Clone, Copy, Debug)]
struct TsUnit {
    /// At most 2^64 (see `from_tsresol`): a u64 keeps the hot comparisons single words.
    per_second: u64,
}

impl TsUnit {
    const MICROS: TsUnit = TsUnit { per_second: 1_000_000 };

    #[inline]
    fn to_ns(self, ticks: u64) -> u64 {
        // The common resolutions skip the 128-bit division.
        match self.per_second {
            1_000_000_000 => ticks,
            1_000_000 => ticks.saturating_mul(1000),
            p => u64::try_from(u128::from(ticks) * 1_000_000_000 / u128::from(p)).unwrap_or(u64::MAX),
        }
    }

    /// pcapng `if_tsresol`: a negative power of 10, or of 2 when the top bit is set.
    fn from_tsresol(v: u8) -> Option<TsUnit> {
        let exp = u32::from(v & 0x7f);
        let per_second = if v & 0x80 != 0 { 1u128.checked_shl(exp)? } else { 10u128.checked_pow(exp)? };
        // A resolution above 2^64 ticks per second cannot tell two 64-bit stamps apart.
        u64::try_from(per_second).ok().map(|per_second| TsUnit { per_second })
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
    /// `ns_per_tick`: 1000 for a µs file, 1 for ns (the two units of classic pcap).
    Pcap { endian: Endian, ns_per_tick: u64, linktype: u32, snaplen: u32 },
    PcapNg { endian: Endian, interfaces: Vec<Interface> },
}

impl Format {
    fn endian(&self) -> Endian {
        match *self {
            Format::PcapNg { endian, .. } | Format::Pcap { endian, .. } => endian,
        }
    }

    fn link(&self) -> Option<(u32, u32)> {
        match self {
            Format::Pcap { linktype, snaplen, .. } => Some((*linktype, *snaplen)),
            Format::PcapNg { interfaces, .. } => interfaces.first().map(|i| (i.linktype, i.snaplen)),
        }
    }

    fn write_format(&self) -> WriteFormat {
        match self {
            Format::Pcap { ns_per_tick: 1000, .. } => WriteFormat::PcapMicros,
            Format::Pcap { .. } => WriteFormat::PcapNanos,
            Format::PcapNg { .. } => WriteFormat::PcapNg,
        }
    }
}

/// Where the next record's bytes are in the last take of the [`Source`] and what else it
/// says: a [`Record`] without the borrow.
#[derive(Clone, Copy, Debug)]
struct Meta {
    ts_ns: u64,
    start: usize,
    len: usize,
    orig_len: u32,
    linktype: u32,
    interface: u32,
    drops: Option<u64>,
}

/// What a reader says besides records: link types not decoded, blocks skipped.
struct Notes {
    /// Set once the end of the file, or an error, has been reached.
    done: bool,
    /// The last link type records were checked for: decoded, or already noted.
    seen_linktype: u32,
    /// Link types not decoded, each noted once.
    undecoded: Vec<u32>,
    /// pcapng block types skipped, with how many of each.
    skipped: Vec<(u32, u64)>,
    /// How many notices `take` has handed out: (link types, whether blocks were).
    taken: (usize, bool),
}

impl Notes {
    fn new() -> Notes {
        Notes { done: false, seen_linktype: LINKTYPE_ETHERNET, undecoded: Vec::new(), skipped: Vec::new(), taken: (0, false) }
    }

    /// Notes a link type that is not decoded, once. Cheap when it is the last one seen.
    #[inline]
    fn see_linktype(&mut self, linktype: u32) {
        if linktype != self.seen_linktype {
            self.seen_linktype = linktype;
            if !is_decoded(linktype) && !self.undecoded.contains(&linktype) {
                self.undecoded.push(linktype);
            }
        }
    }

    /// Counts a skipped block of type `kind`.
    fn note_skipped(&mut self, kind: u32) {
        if let Some((_, n)) = self.skipped.iter_mut().find(|(k, _)| *k == kind) {
            *n += 1;
        } else if self.skipped.len() < 64 {
            // Bounded: a hostile file could name a new type in every block. Past 64 types
            // the rest go uncounted.
            self.skipped.push((kind, 1));
        }
    }

    /// See [`Reader::take_notices`].
    fn take(&mut self) -> Vec<Notice> {
        let mut out: Vec<Notice> = self.undecoded[self.taken.0..].iter().map(|&lt| Notice::LinkType(lt)).collect();
        self.taken.0 = self.undecoded.len();
        if self.done && !self.taken.1 {
            self.taken.1 = true;
            out.extend(self.skipped.iter().map(|&(kind, count)| Notice::SkippedBlocks { kind, count }));
        }
        out
    }
}

/// The state of a read (format, interfaces, notes) and every rule of the two formats,
/// applied to bytes from any [`Source`].
struct Parser {
    format: Format,
    notes: Notes,
}

/// A record header (pcap) or block header (pcapng) cut short by the end of the file.
#[cold]
fn truncated_header<T>(at: u64, what: &str, got: usize, len: usize) -> Result<T, Error> {
    err(at, format!("truncated {what}: {got} of {len} bytes"))
}

impl Parser {
    /// Reads the file header and detects the format from its magic number.
    fn open(src: &mut impl Source, gzip: bool) -> Result<Parser, Error> {
        let mut p = Parser { format: Format::PcapNg { endian: Endian { big: false }, interfaces: Vec::new() }, notes: Notes::new() };
        let gz = if gzip { " (gzip-compressed)" } else { "" };
        let magic: [u8; 4] = match *src.take(4)? {
            [] => return err(0, format!("empty file{gz}: expected a pcap or pcapng header")),
            [a, b, c, d] => [a, b, c, d],
            ref short => return err(0, format!("truncated file header{gz}: {} of 4 magic bytes", short.len())),
        };
        if u32::from_be_bytes(magic) == PCAPNG_SHB {
            p.read_section_header(src, 0)?;
        } else {
            p.format = read_pcap_header(src, magic)?;
        }
        Ok(p)
    }

    /// The next record, or `None` at a clean end of file.
    #[inline]
    fn next(&mut self, src: &mut impl Source) -> Result<Option<Meta>, Error> {
        let next = match self.format {
            Format::Pcap { endian, ns_per_tick, linktype, .. } => next_pcap(src, endian, ns_per_tick, linktype),
            Format::PcapNg { .. } => self.next_pcapng(src),
        };
        match next {
            Ok(Some(m)) => self.notes.see_linktype(m.linktype),
            Ok(None) | Err(_) => self.notes.done = true,
        }
        next
    }

    #[inline]
    fn next_pcapng(&mut self, src: &mut impl Source) -> Result<Option<Meta>, Error> {
        loop {
            let at = src.offset();
            let hdr = src.take_header(8)?;
            if hdr.is_empty() {
                return Ok(None);
            }
            let Ok(hdr) = <[u8; 8]>::try_from(hdr) else {
                return truncated_header(at, "block header", hdr.len(), 8);
            };
            if u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) == PCAPNG_SHB {
                // A new section: its own byte order, and interfaces start over.
                self.read_section_header_after(src, at, hdr)?;
                continue;
            }
            let endian = self.format.endian();
            let kind = endian.u32(&hdr, 0).unwrap_or(0);
            let total = endian.u32(&hdr, 4).unwrap_or(0) as usize;
            if total < 12 || !total.is_multiple_of(4) {
                return err(at, format!("bad block length {total} (block type {kind}): must be a multiple of 4, at least 12"));
            }
            match kind {
                PCAPNG_IDB => {
                    let iface = read_interface(read_block_body(src, endian, total, at)?, endian, at)?;
                    self.add_interface(iface, at)?;
                }
                PCAPNG_EPB | PCAPNG_PB | PCAPNG_SPB => {
                    let body = read_block_body(src, endian, total, at)?;
                    return packet_block(&self.format, kind, body, at).map(Some);
                }
                _ => {
                    skip_block(src, total - 8, at)?;
                    self.notes.note_skipped(kind);
                }
            }
        }
    }

    /// The SHB at `at`, whose 4 magic bytes were already read.
    fn read_section_header(&mut self, src: &mut impl Source, at: u64) -> Result<(), Error> {
        let Ok(rest) = <[u8; 4]>::try_from(src.take(4)?) else {
            return err(at, "truncated section header block");
        };
        let t = PCAPNG_SHB.to_be_bytes();
        self.read_section_header_after(src, at, [t[0], t[1], t[2], t[3], rest[0], rest[1], rest[2], rest[3]])
    }

    /// The SHB at `at`, whose 8-byte block header was already read.
    fn read_section_header_after(&mut self, src: &mut impl Source, at: u64, hdr: [u8; 8]) -> Result<(), Error> {
        let Ok(bom) = <[u8; 4]>::try_from(src.take(4)?) else {
            return err(at, "truncated section header block: no byte-order magic");
        };
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
        skip_block(src, total - 12, at)?;
        self.format = Format::PcapNg { endian, interfaces: Vec::new() };
        Ok(())
    }

    fn add_interface(&mut self, iface: Interface, at: u64) -> Result<(), Error> {
        let Format::PcapNg { interfaces, .. } = &mut self.format else {
            return err(at, "interface block in a classic pcap file");
        };
        if interfaces.len() >= 65536 {
            return err(at, "more than 65536 interfaces: corrupt file?");
        }
        interfaces.push(iface);
        Ok(())
    }
}

/// The classic pcap file header after its `magic`.
fn read_pcap_header(src: &mut impl Source, magic: [u8; 4]) -> Result<Format, Error> {
    let (endian, ns_per_tick) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
        (PCAP_MAGIC_MICROS, _) => (Endian { big: false }, 1000),
        (PCAP_MAGIC_NANOS, _) => (Endian { big: false }, 1),
        (_, PCAP_MAGIC_MICROS) => (Endian { big: true }, 1000),
        (_, PCAP_MAGIC_NANOS) => (Endian { big: true }, 1),
        (_, m) => return err(0, format!("bad magic 0x{m:08x}: not a pcap or pcapng file")),
    };
    let rest = src.take(20)?;
    if rest.len() < 20 {
        return err(0, format!("truncated pcap file header: {} of 24 bytes", 4 + rest.len()));
    }
    // The top bits of the link-layer field carry FCS information, not the type.
    let linktype = endian.u32(rest, 16).unwrap_or(0) & 0xffff;
    let snaplen = endian.u32(rest, 12).unwrap_or(0);
    Ok(Format::Pcap { endian, ns_per_tick, linktype, snaplen })
}

/// The next classic pcap record: its 16-byte header, then its data.
#[inline]
fn next_pcap(src: &mut impl Source, endian: Endian, ns_per_tick: u64, linktype: u32) -> Result<Option<Meta>, Error> {
    let at = src.offset();
    let hdr = src.take_header(16)?;
    let Some([secs, frac, caplen, orig_len]) = endian.u32s(hdr) else {
        return if hdr.is_empty() { Ok(None) } else { truncated_header(at, "record header", hdr.len(), 16) };
    };
    let caplen = caplen as usize;
    if caplen > MAX_RECORD {
        return err(at, format!("record length {caplen} exceeds the {MAX_RECORD}-byte limit: corrupt file?"));
    }
    let got = src.take(caplen)?.len();
    if got < caplen {
        return truncated_header(at, "record data", got, caplen);
    }
    let ts_ns = pcap_ts(secs, frac, ns_per_tick);
    Ok(Some(Meta { ts_ns, start: 0, len: caplen, orig_len, linktype, interface: 0, drops: None }))
}

/// A classic pcap record's time in ns.
#[inline(always)]
fn pcap_ts(secs: u32, frac: u32, ns_per_tick: u64) -> u64 {
    // 32-bit seconds and fraction cannot overflow 64 bits of ns: (2^32-1) * (10^9 + 10^3) < 2^64.
    u64::from(secs) * 1_000_000_000 + u64::from(frac) * ns_per_tick
}

/// [`next_pcap`] on a file in memory, for a record that is all there and within
/// [`MAX_RECORD`]: the record straight from the bytes, nothing kept but what is left of
/// them. None otherwise (the end of the file, a record cut short, a bad length), and
/// `next_pcap` says which.
#[inline(always)]
fn whole_pcap_record<'a>(rest: &mut &'a [u8], endian: Endian, ns_per_tick: u64, linktype: u32) -> Option<Record<'a>> {
    let (hdr, body) = rest.split_first_chunk::<16>()?;
    let [secs, frac, caplen, orig_len] = endian.u32s(hdr)?;
    let caplen = caplen as usize;
    if caplen > MAX_RECORD || caplen > body.len() {
        return None;
    }
    let (data, after) = body.split_at(caplen);
    *rest = after;
    Some(Record { ts_ns: pcap_ts(secs, frac, ns_per_tick), data, orig_len, linktype, interface: 0, drops: None })
}

/// The rest of a pcapng block of `total` bytes whose 8-byte header was read: its body,
/// without the trailing length (checked against `total`).
#[inline(always)]
fn read_block_body(src: &mut impl Source, endian: Endian, total: usize, at: u64) -> Result<&[u8], Error> {
    if total > MAX_BLOCK {
        return err(at, format!("block length {total} exceeds the {MAX_BLOCK}-byte limit: corrupt file?"));
    }
    let rest = src.take(total - 8)?;
    if rest.len() < total - 8 {
        return truncated_header(at, "block", rest.len(), total - 8);
    }
    let trailer = endian.u32(rest, total - 12).unwrap_or(0) as usize;
    if trailer != total {
        return err(at, format!("block length {total} does not match its trailing copy {trailer}"));
    }
    Ok(&rest[..total - 12])
}

/// Passes over `len` bytes of the block at `at`.
fn skip_block(src: &mut impl Source, len: usize, at: u64) -> Result<(), Error> {
    let got = src.skip(len)?;
    if got < len as u64 {
        return err(at, format!("truncated block: {got} of {len} bytes after its header"));
    }
    Ok(())
}

/// An Interface Description Block's body: link type, snaplen, and the options that change
/// how its packets' timestamps read.
fn read_interface(body: &[u8], endian: Endian, at: u64) -> Result<Interface, Error> {
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
    Ok(iface)
}

/// An EPB, PB or SPB's body (without its trailer): where its packet is, and when.
#[inline(always)]
fn packet_block(format: &Format, kind: u32, body: &[u8], at: u64) -> Result<Meta, Error> {
    let Format::PcapNg { endian, interfaces } = format else {
        return err(at, "packet block in a classic pcap file");
    };
    let endian = *endian;
    let field = |i: usize| endian.u32(body, i * 4);
    let (iface_id, drops, ts, caplen, orig_len, start) = match kind {
        PCAPNG_EPB => {
            let Some([id, hi, lo, cap, orig]) = endian.u32s(body) else {
                return err(at, "truncated enhanced packet block");
            };
            (id, None, u64::from(hi) << 32 | u64::from(lo), cap as usize, orig, 20)
        }
        PCAPNG_PB => {
            // As an EPB, but a 16-bit interface id and a 16-bit drops count.
            let (Some(id), Some(drops), Some(hi), Some(lo), Some(cap), Some(orig)) =
                (endian.u16(body, 0), endian.u16(body, 2), field(1), field(2), field(3), field(4))
            else {
                return err(at, "truncated packet block");
            };
            let drops = (drops != 0xffff).then_some(u64::from(drops));
            (u32::from(id), drops, u64::from(hi) << 32 | u64::from(lo), cap as usize, orig, 20)
        }
        _ => {
            let Some(orig) = field(0) else { return err(at, "truncated simple packet block") };
            // An SPB's captured length is implied: the packet, cut at the snaplen, fills the block.
            let snap = interfaces.first().map_or(u32::MAX, |i| if i.snaplen == 0 { u32::MAX } else { i.snaplen });
            let cap = (orig.min(snap) as usize).min(body.len() - 4);
            (0, None, 0, cap, orig, 4)
        }
    };
    let Some(iface) = interfaces.get(iface_id as usize) else {
        return err(at, format!("packet for interface {iface_id}, but only {} interfaces are described", interfaces.len()));
    };
    if body.len() < start + caplen {
        return err(at, format!("captured length {caplen} overruns its block of {} bytes", body.len() + 12));
    }
    let ts_ns = if kind == PCAPNG_SPB {
        0
    } else {
        let offset_ns = iface.offset_s.saturating_mul(1_000_000_000);
        iface.unit.to_ns(ts).saturating_add_signed(offset_ns)
    };
    Ok(Meta { ts_ns, start, len: caplen, orig_len, linktype: iface.linktype, interface: iface_id, drops })
}

/// The record `m` names in `last`, the bytes of the source's last take.
#[inline]
fn record(m: Meta, last: &[u8]) -> Record<'_> {
    Record {
        ts_ns: m.ts_ns,
        data: &last[m.start..m.start + m.len],
        orig_len: m.orig_len,
        linktype: m.linktype,
        interface: m.interface,
        drops: m.drops,
    }
}

// ---- the readers ----

/// A streaming reader of pcap (µs or ns, either byte order) and pcapng files, plain or
/// gzip-compressed (detected by its magic, not the file name; error offsets are then
/// offsets in the decompressed capture).
///
/// Records are read one at a time into one reused buffer: [`Reader::next_record`] lends
/// the bytes until the next call, so reading allocates nothing per packet. For a file
/// already in memory, [`SliceReader`] lends them straight from it.
pub struct Reader<R: Read> {
    src: StreamSource<R>,
    parser: Parser,
    /// Set by the iterator after an error.
    failed: bool,
}

impl<R: Read> Reader<R> {
    /// Reads the file header and detects the format from its magic number.
    pub fn new(input: R) -> Result<Reader<R>, Error> {
        let mut src = StreamSource { input: Input::detect(input)?, offset: 0, buf: Vec::with_capacity(2048) };
        let gzip = matches!(src.input, Input::Gzip(_));
        let parser = Parser::open(&mut src, gzip)?;
        Ok(Reader { src, parser, failed: false })
    }

    /// Whether the file is pcapng (else classic pcap).
    pub fn is_pcapng(&self) -> bool {
        matches!(self.parser.format, Format::PcapNg { .. })
    }

    /// Whether the file is gzip-compressed (read decompressed).
    pub fn is_gzip(&self) -> bool {
        matches!(self.src.input, Input::Gzip(_))
    }

    /// The link type and snaplen of a classic pcap file, or of the first interface of the
    /// current pcapng section (None before its interface block; a snaplen of 0 there means
    /// no limit).
    pub fn link(&self) -> Option<(u32, u32)> {
        self.parser.format.link()
    }

    /// The format that writes this file's records back with their timestamps whole: pcap
    /// in µs or ns as the file, pcapng for pcapng.
    pub fn write_format(&self) -> WriteFormat {
        self.parser.format.write_format()
    }

    /// What the reader passed over since the last call, each said once per file: a link
    /// type it does not decode as soon as a record of it is read, and the pcapng block
    /// types it skipped (with how many) once the end of the file or an error is reached.
    /// Print them after the packets (or call after each record: a link type is then said
    /// before its first packet).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.parser.notes.take()
    }

    /// The next record, or `None` at a clean end of file. The bytes are valid until the
    /// next call.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        let next = self.parser.next(&mut self.src)?;
        Ok(next.map(|m| record(m, &self.src.buf)))
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

/// A reader of a pcap or pcapng file already in memory (read whole, or mapped): the same
/// formats, checks, notices and errors as [`Reader`], but each [`Record`] borrows its
/// bytes from the file itself (nothing is copied), so records outlive the next read.
///
/// A gzip-compressed file is refused (its records are not in the bytes given): read it
/// with [`Reader`], which decompresses as it goes.
pub struct SliceReader<'a> {
    src: SliceSource<'a>,
    parser: Parser,
    /// Set by the iterator after an error.
    failed: bool,
}

impl<'a> SliceReader<'a> {
    /// Reads the file header and detects the format from its magic number.
    pub fn new(file: &'a [u8]) -> Result<SliceReader<'a>, Error> {
        if file.starts_with(&GZIP_MAGIC) {
            return err(
                0,
                "gzip-compressed capture: records cannot be borrowed from compressed bytes; \
                 read it with pcap::Reader, which decompresses as it reads",
            );
        }
        let mut src = SliceSource::new(file);
        let parser = Parser::open(&mut src, false)?;
        Ok(SliceReader { src, parser, failed: false })
    }

    /// Whether the file is pcapng (else classic pcap).
    pub fn is_pcapng(&self) -> bool {
        matches!(self.parser.format, Format::PcapNg { .. })
    }

    /// As [`Reader::link`].
    pub fn link(&self) -> Option<(u32, u32)> {
        self.parser.format.link()
    }

    /// As [`Reader::write_format`].
    pub fn write_format(&self) -> WriteFormat {
        self.parser.format.write_format()
    }

    /// As [`Reader::take_notices`].
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.parser.notes.take()
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.src.rest
    }

    /// The next record, borrowed from the file, or `None` at a clean end of file.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record<'a>>, Error> {
        // A whole classic pcap record needs none of the parser's state: straight from the
        // bytes.
        if let Format::Pcap { endian, ns_per_tick, linktype, .. } = self.parser.format {
            if let Some(r) = whole_pcap_record(&mut self.src.rest, endian, ns_per_tick, linktype) {
                self.parser.notes.see_linktype(linktype);
                return Ok(Some(r));
            }
        }
        let next = self.parser.next(&mut self.src)?;
        Ok(next.map(|m| record(m, self.src.last)))
    }
}

/// Records borrowed from the file; stops after the first error.
impl<'a> Iterator for SliceReader<'a> {
    type Item = Result<Record<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_record();
        self.failed = next.is_err();
        next.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::{WriteFormat, Writer};

    /// How a file opened: whether pcapng, its link and snaplen, the format to write it back.
    type Opened = (bool, Option<(u32, u32)>, WriteFormat);

    /// Everything a reader says of a file: how it opened (format, link, write format) or
    /// why not, each record with the notices taken after it, the error that ended the
    /// read (if any), and the notices taken at the end.
    #[derive(Debug, PartialEq)]
    struct Transcript {
        opened: Result<Opened, String>,
        records: Vec<(OwnedRecord, Vec<Notice>)>,
        end: Option<String>,
        notices: Vec<Notice>,
    }

    /// The transcript of a reader (both have the same methods, not a common trait).
    macro_rules! transcript {
        ($opened:expr) => {
            match $opened {
                Err(e) => Transcript { opened: Err(e.to_string()), records: vec![], end: None, notices: vec![] },
                Ok(mut r) => {
                    let opened = Ok((r.is_pcapng(), r.link(), r.write_format()));
                    let mut records = vec![];
                    let end = loop {
                        match r.next_record() {
                            Ok(Some(rec)) => {
                                let rec = rec.to_owned();
                                records.push((rec, r.take_notices()));
                            }
                            Ok(None) => break None,
                            Err(e) => break Some(e.to_string()),
                        }
                    };
                    Transcript { opened, records, end, notices: r.take_notices() }
                }
            }
        };
    }

    /// The slice reader says exactly what the streaming reader says (gzip aside).
    fn assert_agree(file: &[u8]) {
        let slice = transcript!(SliceReader::new(file));
        if file.starts_with(&GZIP_MAGIC) {
            // Not borrowable: refused, with where to go instead.
            assert!(slice.opened.unwrap_err().contains("read it with pcap::Reader"));
            return;
        }
        assert_eq!(slice, transcript!(Reader::new(file)), "{file:02x?}");
    }

    /// pcapng blocks by hand, in either byte order.
    struct Ng {
        big: bool,
        out: Vec<u8>,
    }

    impl Ng {
        fn u16(&self, v: u16) -> [u8; 2] {
            if self.big { v.to_be_bytes() } else { v.to_le_bytes() }
        }
        fn u32(&self, v: u32) -> [u8; 4] {
            if self.big { v.to_be_bytes() } else { v.to_le_bytes() }
        }
        fn block(&mut self, kind: u32, body: &[u8]) {
            let padded = body.len().next_multiple_of(4);
            let total = self.u32(12 + padded as u32);
            let kind = self.u32(kind);
            self.out.extend(kind);
            self.out.extend(total);
            self.out.extend(body);
            self.out.resize(self.out.len() + padded - body.len(), 0);
            self.out.extend(total);
        }
        fn shb(&mut self) {
            let mut b = self.u32(PCAPNG_BYTE_ORDER).to_vec();
            b.extend(self.u16(1));
            b.extend(self.u16(0));
            b.extend([0xff; 8]);
            b.extend(self.u16(3)); // shb_os, passed over
            b.extend(self.u16(5));
            b.extend(b"linux\0\0\0");
            b.extend([0; 4]);
            self.block(PCAPNG_SHB, &b);
        }
        /// An interface with `if_tsresol` and `if_tsoffset` when given.
        fn idb(&mut self, linktype: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) {
            let mut b = self.u16(linktype).to_vec();
            b.extend([0, 0]);
            b.extend(self.u32(snaplen));
            if let Some(r) = tsresol {
                b.extend(self.u16(OPT_IF_TSRESOL));
                b.extend(self.u16(1));
                b.extend([r, 0, 0, 0]);
            }
            if let Some(o) = tsoffset {
                b.extend(self.u16(OPT_IF_TSOFFSET));
                b.extend(self.u16(8));
                b.extend(if self.big { o.to_be_bytes() } else { o.to_le_bytes() });
            }
            b.extend([0; 4]);
            self.block(PCAPNG_IDB, &b);
        }
        fn epb(&mut self, iface: u32, ticks: u64, data: &[u8], orig: u32) {
            let mut b = vec![];
            for v in [iface, (ticks >> 32) as u32, ticks as u32, data.len() as u32, orig] {
                b.extend(self.u32(v));
            }
            b.extend(data);
            self.block(PCAPNG_EPB, &b);
        }
        fn pb(&mut self, iface: u16, drops: u16, ticks: u64, data: &[u8], orig: u32) {
            let mut b = self.u16(iface).to_vec();
            b.extend(self.u16(drops));
            for v in [(ticks >> 32) as u32, ticks as u32, data.len() as u32, orig] {
                b.extend(self.u32(v));
            }
            b.extend(data);
            self.block(PCAPNG_PB, &b);
        }
        fn spb(&mut self, data: &[u8], orig: u32) {
            let mut b = self.u32(orig).to_vec();
            b.extend(data);
            self.block(PCAPNG_SPB, &b);
        }
    }

    /// A classic pcap by hand, in either byte order.
    fn pcap(big: bool, magic: u32, linktype: u32, recs: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let w32 = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut f = w32(magic).to_vec();
        f.extend(if big { [0, 2, 0, 4] } else { [2, 0, 4, 0] });
        f.extend([0; 8]);
        f.extend(w32(65535));
        f.extend(w32(linktype));
        for &(sec, frac, data, orig) in recs {
            for v in [sec, frac, data.len() as u32, orig] {
                f.extend(w32(v));
            }
            f.extend(data);
        }
        f
    }

    /// Small files with every feature: both pcap magics and byte orders, pcapng sections in
    /// both byte orders, resolutions (decimal, 2^-n), offsets, EPB/PB/SPB, skipped blocks,
    /// link types not decoded, snaplens.
    fn sample_files() -> Vec<Vec<u8>> {
        let eth: Vec<u8> = (0..54).collect();
        let mut files = vec![
            pcap(false, PCAP_MAGIC_MICROS, 1, &[(1, 2, &eth, 54), (3, 999_999, &eth[..20], 60)]),
            pcap(true, PCAP_MAGIC_NANOS, 9, &[(1, 5, &eth[..7], 7), (2, 6, b"", 0)]),
            pcap(true, PCAP_MAGIC_MICROS, 101, &[(u32::MAX, u32::MAX, &[0x45, 0], 2)]),
            pcap(false, PCAP_MAGIC_NANOS, 0x1000_0001, &[(7, 8, &eth[..1], 100)]),
        ];
        for format in [WriteFormat::PcapMicros, WriteFormat::PcapNanos, WriteFormat::PcapNg] {
            let mut w = Writer::new(Vec::new(), format, 1, 40).unwrap();
            w.write(1_700_000_000_123_456_789, &eth, 54).unwrap();
            w.write(5, &eth[..3], 3).unwrap();
            files.push(w.into_inner().unwrap());
        }
        let mut be = Ng { big: true, out: vec![] };
        be.shb();
        be.idb(1, 0, Some(3), None); // ms
        be.block(5, &[0; 16]); // statistics: skipped
        be.idb(101, 40, Some(0x80 | 20), Some(-2)); // 2^-20 s, 2 s earlier
        be.epb(0, 1_700_000_000_123, &eth, 54);
        be.epb(1, 3 << 20 | 1 << 19, &eth[..40], 1000);
        be.spb(&eth, 54);
        be.pb(1, 0xffff, 1 << 20, &eth[..5], 5);
        be.block(0x4000_0bad, &[1; 8]); // custom: skipped
        let mut le = Ng { big: false, out: vec![] };
        le.shb();
        le.idb(9, 0, None, Some(10)); // PPP, µs, 10 s later
        le.pb(0, 3, 42, &eth[..9], 9);
        le.block(4, &[0; 4]);
        le.spb(&eth[..10], 60);
        le.idb(276, 0, Some(9), None);
        le.epb(1, 7, &eth[..11], 11);
        be.out.extend(le.out);
        files.push(be.out);
        files
    }

    #[test]
    fn slice_reader_agrees_on_sample_files() {
        for file in sample_files() {
            let t = transcript!(SliceReader::new(&file));
            assert!(t.end.is_none() && !t.records.is_empty(), "{t:?}");
            assert_agree(&file);
        }
    }

    #[test]
    fn slice_reader_agrees_on_every_prefix() {
        for file in sample_files() {
            for len in 0..=file.len() {
                assert_agree(&file[..len]);
            }
        }
    }

    #[test]
    fn slice_reader_agrees_on_flipped_bytes() {
        // xorshift: the same flips on every run.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for file in sample_files() {
            for _ in 0..2000 {
                let mut f = file.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % f.len() as u64) as usize;
                    f[at] ^= 1 << (next() % 8);
                }
                assert_agree(&f);
            }
        }
    }

    #[test]
    fn slice_reader_refuses_gzip_and_records_outlive_it() {
        let e = SliceReader::new(&[0x1f, 0x8b, 8, 0]).err().unwrap();
        assert_eq!(e.offset, 0);
        assert!(e.message.contains("gzip") && e.message.contains("pcap::Reader"), "{e}");
        let file = sample_files().remove(0);
        let recs: Vec<Record<'_>> = SliceReader::new(&file).unwrap().map(Result::unwrap).collect();
        assert_eq!(recs.len(), 2);
        assert!(std::ptr::eq(recs[0].data.as_ptr(), file[40..].as_ptr()), "borrowed, not copied");
    }

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
}
