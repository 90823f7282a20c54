//! Capture files: readers for pcap and pcapng, and writers for both.
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
//! Two readers, one set of rules: [`Reader`] streams any `Read` (a file, stdin, gzip)
//! through one reused buffer, each record lent until the next read; [`SliceReader`] reads
//! a file already in memory and lends each [`Record`] straight from it (no copy, and the
//! records outlive the reader). Both give the same records, notices and errors (with the
//! same byte offsets); the slice reader refuses gzip, whose records are not in the bytes
//! given.
//!
//! ```
//! use craft::pcap::{Reader, SliceReader, Writer, WriteFormat, LINKTYPE_ETHERNET};
//! let mut w = Writer::new(Vec::new(), WriteFormat::PcapMicros, LINKTYPE_ETHERNET, 65535).unwrap();
//! w.write(1_000, &[1, 2, 3], 3).unwrap();
//! w.write(2_000, &[4, 5], 5).unwrap();
//! let file = w.into_inner().unwrap();
//! // Records borrow from `file`: keep them all without copying.
//! let recs: Vec<_> = SliceReader::new(&file).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(recs.iter().map(|r| (r.ts_ns, r.data, r.orig_len)).collect::<Vec<_>>(),
//!            [(1_000, &[1, 2, 3][..], 3), (2_000, &[4, 5][..], 5)]);
//! // The same file cut short: the same error, at the same offset, from both readers.
//! let cut = &file[..file.len() - 1];
//! let slice_err = SliceReader::new(cut).unwrap().last().unwrap().unwrap_err();
//! let stream_err = Reader::new(cut).unwrap().last().unwrap().unwrap_err();
//! assert_eq!(slice_err.to_string(), "at byte 43: truncated record data: 1 of 2 bytes");
//! assert_eq!(stream_err.to_string(), slice_err.to_string());
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
use std::io::{self, Write};

use crate::packet::LayerKind;

mod read;
pub use read::{Reader, SliceReader};

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
