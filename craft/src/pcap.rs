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

use flate2::read::MultiGzDecoder;

use crate::packet::LayerKind;

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
/// DLT_RAW as some BSDs number it in files (libpcap writes 101; tshark reads both as raw IP).
pub const LINKTYPE_RAW_BSD: u32 = 12;
/// DLT_RAW as OpenBSD numbers it (libpcap writes 101; tshark reads both as raw IP).
pub const LINKTYPE_RAW_OPENBSD: u32 = 14;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// The largest captured length accepted (and tcpdump's default snaplen): anything larger
/// is a corrupt length field, not a packet.
pub const MAX_RECORD: usize = 256 * 1024;
/// pcapng blocks we keep in memory (SHB, IDB, EPB, SPB, PB) may carry options besides the
/// packet; other blocks are skipped without being buffered, whatever their length.
const MAX_BLOCK: usize = MAX_RECORD + 64 * 1024;

const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BYTE_ORDER: u32 = 0x1a2b_3c4d;
const PCAPNG_IDB: u32 = 1;
/// The obsolete Packet Block, which old tools (and some still) write instead of the EPB.
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;
/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The first layer of a record of `linktype`: what to pass to `Packet::dissect`. Link
/// types craft does not decode (see [`is_decoded`]) give Raw.
pub fn first_layer(linktype: u32, data: &[u8]) -> LayerKind {
    match linktype {
        LINKTYPE_ETHERNET => LayerKind::Ether,
        LINKTYPE_LINUX_SLL => LayerKind::CookedLinux,
        LINKTYPE_LINUX_SLL2 => LayerKind::CookedLinuxV2,
        LINKTYPE_NULL => LayerKind::Loopback,
        LINKTYPE_LOOP => LayerKind::LoopbackOpenBSD,
        LINKTYPE_IPV4 => LayerKind::Ip,
        LINKTYPE_IPV6 => LayerKind::Ipv6,
        // Raw IP carries IPv4 or IPv6: the version nibble says which.
        LINKTYPE_RAW | LINKTYPE_RAW_BSD | LINKTYPE_RAW_OPENBSD => match data.first().map(|b| b >> 4) {
            Some(4) => LayerKind::Ip,
            Some(6) => LayerKind::Ipv6,
            _ => LayerKind::Raw,
        },
        _ => LayerKind::Raw,
    }
}

/// Whether craft decodes records of `linktype` (else they are shown as Raw).
pub fn is_decoded(linktype: u32) -> bool {
    matches!(
        linktype,
        LINKTYPE_NULL
            | LINKTYPE_ETHERNET
            | LINKTYPE_RAW_BSD
            | LINKTYPE_RAW_OPENBSD
            | LINKTYPE_RAW
            | LINKTYPE_LOOP
            | LINKTYPE_LINUX_SLL
            | LINKTYPE_IPV4
            | LINKTYPE_IPV6
            | LINKTYPE_LINUX_SLL2
    )
}

/// The link type to write packets whose first layer is `kind` with: its own for the link
/// layers, raw IP for anything else.
pub fn linktype_for(kind: LayerKind) -> u32 {
    match kind {
        LayerKind::Ether => LINKTYPE_ETHERNET,
        LayerKind::CookedLinux => LINKTYPE_LINUX_SLL,
        LayerKind::CookedLinuxV2 => LINKTYPE_LINUX_SLL2,
        LayerKind::Loopback => LINKTYPE_NULL,
        LayerKind::LoopbackOpenBSD => LINKTYPE_LOOP,
        _ => LINKTYPE_RAW,
    }
}

/// tcpdump's name of a link type (LINKTYPE_ without the prefix), for the common ones.
pub fn linktype_name(linktype: u32) -> Option<&'static str> {
    Some(match linktype {
        LINKTYPE_NULL => "NULL",
        LINKTYPE_ETHERNET => "ETHERNET",
        6 => "IEEE802_5",
        7 => "ARCNET_BSD",
        8 => "SLIP",
        9 => "PPP",
        10 => "FDDI",
        LINKTYPE_RAW_BSD | LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW => "RAW",
        50 => "PPP_HDLC",
        51 => "PPP_ETHER",
        100 => "ATM_RFC1483",
        104 => "C_HDLC",
        105 => "IEEE802_11",
        107 => "FRELAY",
        LINKTYPE_LOOP => "LOOP",
        LINKTYPE_LINUX_SLL => "LINUX_SLL",
        114 => "LTALK",
        117 => "PFLOG",
        119 => "IEEE802_11_PRISM",
        122 => "IP_OVER_FC",
        127 => "IEEE802_11_RADIOTAP",
        138 => "APPLE_IP_OVER_IEEE1394",
        139 => "MTP2_WITH_PHDR",
        143 => "DOCSIS",
        147..=162 => "USER",
        163 => "IEEE802_11_AVS",
        165 => "BACNET_MS_TP",
        166 => "PPP_PPPD",
        169 => "GPRS_LLC",
        177 => "LINUX_LAPD",
        187 => "BLUETOOTH_HCI_H4",
        189 => "USB_LINUX",
        192 => "PPI",
        195 => "IEEE802_15_4_WITHFCS",
        197 => "ERF",
        201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
        204 => "PPP_WITH_DIR",
        215 => "IEEE802_15_4_NONASK_PHY",
        220 => "USB_LINUX_MMAPPED",
        227 => "CAN_SOCKETCAN",
        LINKTYPE_IPV4 => "IPV4",
        LINKTYPE_IPV6 => "IPV6",
        230 => "IEEE802_15_4_NOFCS",
        235 => "DVB_CI",
        239 => "NFLOG",
        240 => "NETANALYZER",
        247 => "IPNET",
        249 => "USBPCAP",
        251 => "BLUETOOTH_LE_LL",
        252 => "WIRESHARK_UPPER_PDU",
        253 => "NETLINK",
        254 => "BLUETOOTH_LINUX_MONITOR",
        256 => "BLUETOOTH_LE_LL_WITH_PHDR",
        263 => "NORDIC_BLE",
        LINKTYPE_LINUX_SLL2 => "LINUX_SLL2",
        _ => return None,
    })
}

/// pcapng's name of a block type, for what the reader skips.
fn block_name(kind: u32) -> Option<&'static str> {
    Some(match kind {
        4 => "Name Resolution",
        5 => "Interface Statistics",
        7 => "IRIG Timestamp",
        8 => "ARINC 429",
        9 => "systemd Journal Export",
        10 => "Decryption Secrets",
        0x0000_0bad | 0x4000_0bad => "Custom",
        0x8000_0001..=0x8000_0003 => "Darwin process event",
        _ => return None,
    })
}

/// Something a reader passed over that the user should know about; each is said once per
/// file (see [`Reader::take_notices`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Records of a link type craft does not decode: they are shown as Raw.
    LinkType(u32),
    /// pcapng blocks of a type craft does not read, and how many were skipped.
    SkippedBlocks { kind: u32, count: u64 },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Notice::LinkType(lt) => match linktype_name(lt) {
                Some(name) => write!(f, "link type {lt} ({name}) is not decoded: packets shown as Raw"),
                None => write!(f, "link type {lt} is not decoded: packets shown as Raw"),
            },
            Notice::SkippedBlocks { kind, count } => {
                let blocks = if count == 1 { "block" } else { "blocks" };
                if kind < 0x100 {
                    write!(f, "skipped {count} pcapng {blocks} of type {kind}")?;
                } else {
                    write!(f, "skipped {count} pcapng {blocks} of type {kind:#x}")?;
                }
                match block_name(kind) {
                    Some(name) => write!(f, " ({name})"),
                    None => write!(f, " (unknown)"),
                }
            }
        }
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
    /// The pcapng interface it was captured on (its index in the section); 0 in pcap.
    pub interface: u32,
    /// Packets lost between this one and the one before, when the file says (the drops
    /// count of an obsolete pcapng Packet Block, 0xffff there meaning unknown).
    pub drops: Option<u64>,
}

impl Record<'_> {
    /// The first layer to dissect `data` with.
    pub fn first_layer(&self) -> LayerKind {
        first_layer(self.linktype, self.data)
    }

    pub fn to_owned(&self) -> OwnedRecord {
        OwnedRecord {
            ts_ns: self.ts_ns,
            data: self.data.to_vec(),
            orig_len: self.orig_len,
            linktype: self.linktype,
            interface: self.interface,
            drops: self.drops,
        }
    }
}

/// A record that owns its bytes: what the [`Iterator`] over a [`Reader`] yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    pub ts_ns: u64,
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub linktype: u32,
    pub interface: u32,
    pub drops: Option<u64>,
}

impl OwnedRecord {
    /// The first layer to dissect `data` with.
    pub fn first_layer(&self) -> LayerKind {
        first_layer(self.linktype, &self.data)
    }
}

/// Where the next record's bytes are in the reader's buffer, and what else it says: a
/// [`Record`] without the borrow.
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
    Pcap { endian: Endian, unit: TsUnit, linktype: u32, snaplen: u32 },
    PcapNg { endian: Endian, interfaces: Vec<Interface> },
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

/// A streaming reader of pcap (µs or ns, either byte order) and pcapng files, plain or
/// gzip-compressed (detected by its magic, not the file name; error offsets are then
/// offsets in the decompressed capture).
///
/// Records are read one at a time into one reused buffer: [`Reader::next_record`] lends
/// the bytes until the next call, so reading allocates nothing per packet.
pub struct Reader<R: Read> {
    input: Input<R>,
    /// Bytes consumed so far: where the next header starts.
    offset: u64,
    format: Format,
    buf: Vec<u8>,
    /// Set by the iterator after an error.
    failed: bool,
    /// Set once the end of the file, or an error, has been reached.
    done: bool,
    /// The last link type records were checked for: decoded, or already noted.
    seen_linktype: u32,
    /// Link types not decoded, each noted once.
    undecoded: Vec<u32>,
    /// pcapng block types skipped, with how many of each.
    skipped: Vec<(u32, u64)>,
    /// How many notices `take_notices` has handed out: (link types, whether blocks were).
    taken: (usize, bool),
}

impl<R: Read> Reader<R> {
    /// Reads the file header and detects the format from its magic number.
    pub fn new(input: R) -> Result<Reader<R>, Error> {
        let mut r = Reader {
            input: Input::detect(input)?,
            offset: 0,
            format: Format::PcapNg { endian: Endian { big: false }, interfaces: Vec::new() },
            buf: Vec::with_capacity(2048),
            failed: false,
            done: false,
            seen_linktype: LINKTYPE_ETHERNET,
            undecoded: Vec::new(),
            skipped: Vec::new(),
            taken: (0, false),
        };
        let mut magic = [0u8; 4];
        let gz = if r.is_gzip() { " (gzip-compressed)" } else { "" };
        match r.read_up_to(&mut magic)? {
            0 => return err(0, format!("empty file{gz}: expected a pcap or pcapng header")),
            4 => {}
            n => return err(0, format!("truncated file header{gz}: {n} of 4 magic bytes")),
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

    /// Whether the file is gzip-compressed (read decompressed).
    pub fn is_gzip(&self) -> bool {
        matches!(self.input, Input::Gzip(_))
    }

    /// The link type and snaplen of a classic pcap file, or of the first interface of the
    /// current pcapng section (None before its interface block; a snaplen of 0 there means
    /// no limit).
    pub fn link(&self) -> Option<(u32, u32)> {
        match &self.format {
            Format::Pcap { linktype, snaplen, .. } => Some((*linktype, *snaplen)),
            Format::PcapNg { interfaces, .. } => interfaces.first().map(|i| (i.linktype, i.snaplen)),
        }
    }

    /// The format that writes this file's records back with their timestamps whole: pcap
    /// in µs or ns as the file, pcapng for pcapng.
    pub fn write_format(&self) -> WriteFormat {
        match self.format {
            Format::Pcap { unit, .. } if unit.per_second == TsUnit::MICROS.per_second => WriteFormat::PcapMicros,
            Format::Pcap { .. } => WriteFormat::PcapNanos,
            Format::PcapNg { .. } => WriteFormat::PcapNg,
        }
    }

    /// What the reader passed over since the last call, each said once per file: a link
    /// type it does not decode as soon as a record of it is read, and the pcapng block
    /// types it skipped (with how many) once the end of the file or an error is reached.
    /// Print them after the packets (or call after each record: a link type is then said
    /// before its first packet).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        let mut out: Vec<Notice> = self.undecoded[self.taken.0..].iter().map(|&lt| Notice::LinkType(lt)).collect();
        self.taken.0 = self.undecoded.len();
        if self.done && !self.taken.1 {
            self.taken.1 = true;
            out.extend(self.skipped.iter().map(|&(kind, count)| Notice::SkippedBlocks { kind, count }));
        }
        out
    }

    /// The next record, or `None` at a clean end of file. The bytes are valid until the
    /// next call.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        let next = match self.format {
            Format::Pcap { endian, unit, linktype, .. } => self.next_pcap(endian, unit, linktype),
            Format::PcapNg { .. } => self.next_pcapng(),
        };
        match next {
            Ok(Some(m)) => {
                self.see_linktype(m.linktype);
                Ok(Some(Record {
                    ts_ns: m.ts_ns,
                    data: &self.buf[m.start..m.start + m.len],
                    orig_len: m.orig_len,
                    linktype: m.linktype,
                    interface: m.interface,
                    drops: m.drops,
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
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
        let snaplen = endian.u32(&rest, 12).unwrap_or(0);
        Ok(Format::Pcap { endian, unit, linktype, snaplen })
    }

    fn next_pcap(&mut self, endian: Endian, unit: TsUnit, linktype: u32) -> Result<Option<Meta>, Error> {
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
        Ok(Some(Meta { ts_ns, start: 0, len: caplen, orig_len, linktype, interface: 0, drops: None }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Meta>, Error> {
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
                PCAPNG_EPB | PCAPNG_PB | PCAPNG_SPB => {
                    self.read_block_body(total, at)?;
                    return self.packet_block(kind, at).map(Some);
                }
                _ => {
                    self.skip(total - 8, at)?;
                    self.note_skipped(kind);
                }
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

    /// An EPB, PB or SPB already in `buf` (without its trailer): where its packet is.
    fn packet_block(&self, kind: u32, at: u64) -> Result<Meta, Error> {
        let Format::PcapNg { endian, interfaces } = &self.format else {
            return err(at, "packet block in a classic pcap file");
        };
        let (endian, body) = (*endian, &self.buf[..]);
        let field = |i: usize| endian.u32(body, i * 4);
        let (iface_id, drops, ts, caplen, orig_len, start) = match kind {
            PCAPNG_EPB => {
                let (Some(id), Some(hi), Some(lo), Some(cap), Some(orig)) = (field(0), field(1), field(2), field(3), field(4))
                else {
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
