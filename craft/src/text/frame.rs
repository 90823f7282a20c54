//! Where a packet of a capture came from: its frame number, timestamp, length on the wire
//! and length captured, as `craft dissect --pcap` and `craft sniff` print them.
//!
//! - summary, as `tcpdump -# -tt`: `    3  1700000000.000002 Ether / IP … / TCP 1 > 80 S, length 54`
//! - other text forms, one line before the packet: `# frame 3: 1700000000.000002, length 54`
//! - JSON: `{"frame":3,"ts_ns":1700000000000002000,"len":54,"caplen":54,"truncated":false,"packet":[..]}`
//!
//! A frame the capture cut short (caplen below the length on the wire) is marked
//! `[truncated: 40 of 66 bytes captured]` (JSON: `"truncated":true`).

use super::json_write;
use crate::packet::Packet;

/// One captured frame's place and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// From 1, in file order.
    pub number: u64,
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Bytes captured.
    pub caplen: usize,
    /// Bytes on the wire.
    pub len: u32,
    /// Digits after the second's point: 6 for a capture in microseconds, else 9.
    pub digits: u8,
}

impl Frame {
    /// Whether the capture holds less than the wire carried.
    pub fn truncated(&self) -> bool {
        self.caplen < self.len as usize
    }

    /// `1700000000.000002` (6 or 9 digits).
    pub fn ts(&self) -> String {
        let mut out = Vec::with_capacity(20);
        self.write_ts(&mut out);
        String::from_utf8(out).expect("digits")
    }

    fn write_ts(&self, out: &mut Vec<u8>) {
        let (s, ns) = (self.ts_ns / 1_000_000_000, self.ts_ns % 1_000_000_000);
        json_write::uint(s, out);
        out.push(b'.');
        let (frac, width) = if self.digits == 6 { (ns / 1000, 6) } else { (ns, 9) };
        let mut digits = [b'0'; 9];
        let mut f = frac;
        for d in digits[..width].iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        out.extend_from_slice(&digits[..width]);
    }

    /// `, length 66` and, when cut, ` [truncated: 40 of 66 bytes captured]`.
    fn write_lengths(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b", length ");
        json_write::uint(self.len.into(), out);
        if self.truncated() {
            out.extend_from_slice(b" [truncated: ");
            json_write::uint(self.caplen as u64, out);
            out.extend_from_slice(b" of ");
            json_write::uint(self.len.into(), out);
            out.extend_from_slice(b" bytes captured]");
        }
    }

    /// The summary line, tcpdump's layout (`-# -tt`): number, timestamp, summary, length.
    pub fn summary_line(&self, summary: &str) -> String {
        let mut out = Vec::with_capacity(summary.len() + 48);
        self.write_summary_line(summary, &mut out);
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    /// [`summary_line`](Self::summary_line), appended to `out`.
    pub fn write_summary_line(&self, summary: &str, out: &mut Vec<u8>) {
        let start = out.len();
        json_write::uint(self.number, out);
        // Right-aligned in 5 columns, as tcpdump -#.
        let width = out.len() - start;
        if width < 5 {
            out.splice(start..start, std::iter::repeat_n(b' ', 5 - width));
        }
        out.extend_from_slice(b"  ");
        self.write_ts(out);
        out.push(b' ');
        out.extend_from_slice(summary.as_bytes());
        self.write_lengths(out);
        out.push(b'\n');
    }

    /// `# frame 3: 1700000000.000002, length 54`, the line before a packet in the other
    /// text forms (`#` starts a comment for `craft build -` and `craft dissect -`).
    pub fn comment_line(&self) -> String {
        let mut out = Vec::with_capacity(64);
        self.write_comment_line(&mut out);
        String::from_utf8(out).expect("ASCII")
    }

    /// [`comment_line`](Self::comment_line), appended to `out`.
    pub fn write_comment_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"# frame ");
        json_write::uint(self.number, out);
        out.extend_from_slice(b": ");
        self.write_ts(out);
        self.write_lengths(out);
        out.push(b'\n');
    }

    /// The frame and its packet as one JSON line (newline included).
    pub fn write_json(&self, p: &Packet, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"frame\":");
        json_write::uint(self.number, out);
        out.extend_from_slice(b",\"ts_ns\":");
        json_write::uint(self.ts_ns, out);
        out.extend_from_slice(b",\"len\":");
        json_write::uint(self.len.into(), out);
        out.extend_from_slice(b",\"caplen\":");
        json_write::uint(self.caplen as u64, out);
        out.extend_from_slice(if self.truncated() { b",\"truncated\":true" } else { b",\"truncated\":false" });
        out.extend_from_slice(b",\"packet\":");
        json_write::write_json(p, out);
        out.extend_from_slice(b"}\n");
    }

    /// The frame's bytes as one hex line, after its comment line.
    pub fn write_hex(&self, bytes: &[u8], out: &mut Vec<u8>) {
        self.write_comment_line(out);
        json_write::hex(bytes, out);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::LayerKind;

    #[test]
    fn lines_and_json() {
        let f = Frame { number: 3, ts_ns: 1_700_000_000_000_002_000, caplen: 54, len: 54, digits: 6 };
        assert_eq!(f.summary_line("Ether / Raw"), "    3  1700000000.000002 Ether / Raw, length 54\n");
        assert_eq!(f.comment_line(), "# frame 3: 1700000000.000002, length 54\n");
        let cut = Frame { caplen: 40, len: 66, digits: 9, ..f };
        assert_eq!(cut.comment_line(), "# frame 3: 1700000000.000002000, length 66 [truncated: 40 of 66 bytes captured]\n");
        let p = Packet::dissect(&[0u8; 14], LayerKind::Ether);
        let mut out = Vec::new();
        cut.write_json(&p, &mut out);
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!((j["frame"].as_u64(), j["len"].as_u64(), j["caplen"].as_u64()), (Some(3), Some(66), Some(40)));
        assert_eq!((j["truncated"].as_bool(), j["ts_ns"].as_u64()), (Some(true), Some(1_700_000_000_000_002_000)));
        assert_eq!(j["packet"], crate::text::to_json(&p));
    }
}
