//! The text forms of packets: scapy expressions, RON packet files, JSON, and scapy's
//! `command()`. The CLI (`craft build`, `craft dissect`, `craft check`) and the REPL share
//! this code.
//!
//! # Expressions
//!
//! [`parse_expr`] reads scapy's syntax — the packet-building part of the REPL's Python
//! grammar ([`python`]), which parses it; the layers and literal field values are then
//! taken from the syntax tree:
//! `Ether(dst='02:00:00:00:00:33')/IP(dst="10.0.0.2", ttl=3)/TCP(flags='S', options=[('MSS', 1460)])/b'\x00\x01'`.
//!
//! ```text
//! expr   = term { "/" term }
//! term   = NAME "(" [ args ] ")"       a layer by scapy class name (aliases like IPerror too)
//!        | text                        becomes Raw(load=...)
//!        | "(" expr ")"
//! text   = STRING | BYTES | text "*" INT | INT "*" text    'x'*100: repeated, as in Python
//! args   = arg { "," arg } [ "," ]
//! arg    = NAME "=" value              a field
//!        | text                        first only: dissect these bytes as this layer
//! value  = INT | text | None | True | False
//!        | "[" [ value { "," value } [ "," ] ] "]"          list
//!        | "(" ")" | "(" value "," { value "," } [ value ] ")"   tuple; "(" value ")" is value
//! ```
//!
//! Values are taken as scapy and craft-repl take them (the rules are shared, in
//! [`short_mac`], [`strs_after_names`], [`repeat_count`]): a short MAC `"0x1"` is padded with
//! zeros (`01:00:00:00:00:00`); a str where bytes are expected (a payload, option data as
//! in `(0xb7, '\x01\x04')`) is its UTF-8 bytes, as scapy's `bytes_encode`; a repetition
//! makes at most [`MAX_REPEAT`] bytes.
//!
//! Strings are Python's: `'..'`, `".."`, triple-quoted, prefixes `r`, `u`, `b`, `rb`, `br`,
//! escapes `\x41 \n \t \r \0 \101 \\ \' \"` (and `\u \U` in str); adjacent literals join.
//! Ints are decimal, `0x`, `0o`, `0b`, with `_` separators and a sign. `#` starts a comment.
//!
//! # Packet sets
//!
//! As in scapy, a field value that does not fit its field is tried as a set of values:
//! a list or tuple (each element), a tuple of ints `(lo, hi)` or `(lo, hi, step)` (Python's
//! `range(lo, hi + 1, step)`), an IPv4 or IPv6 network `"10.0.0.0/30"` (every address of the
//! network). A value that fits is never expanded: TCP `options` is a list. The packets are
//! the cartesian product in scapy's order: the first layer varies slowest; within a layer
//! the field declared last varies slowest. At most [`MAX_PACKETS`] in all.
//!
//! # RON packet files
//!
//! [`parse_ron`] reads a packet as a list of layers, or a list of packets:
//! `[Ether(dst: "02:00:00:00:00:33"), IP(dst: "10.0.0.2", ttl: 3), TCP(flags: "S"), Raw(load: b"\x00\x01")]`.
//! Layers are `Name(field: value, ..)`, `Name()` or `Name`; `Name(b"..")` dissects bytes.
//! Values are RON's: `".."`, `r".."`, `r#".."#`, `b".."`, `br".."`, `'c'`, `b'c'`, ints
//! (with sign, `0x`, `0o`, `0b`, `_`), `true`/`false` (and `True`/`False`), `None`,
//! `Some(x)` (= x), lists, tuples and ranges `1..=5`, `1..6` (= the tuple `(1, 5)`).
//! `//` and nested `/* */` comments; `#![enable(..)]` extensions are skipped. A `Raw` layer
//! takes `truncated: "TCP"` too, so saved dissections load back unchanged.
//! [`to_ron`] writes only the fields that differ from the layer's default, enum and flag
//! fields by name, one packet per group of lines.
//! [`to_ron_item`] is one packet of that list, for writing many into one document.
//!
//! # JSON
//!
//! [`to_json`] gives a list of layers `{"name": "IP", "fields": {..}}`, fields in scapy's
//! declaration order, only those present (scapy's ConditionalField). Values: ints as
//! numbers, booleans as booleans, None (auto) as null, strings (addresses) as strings,
//! bytes as lowercase hex strings, lists and tuples as arrays. A Raw layer that the
//! dissector marked as a cut-short header has `"truncated": "<layer name>"`.
//! [`write_json`] writes the same text straight into a byte buffer (what the CLI prints),
//! and [`Frame`] adds where a packet of a capture came from (number, timestamp, lengths).
//!
//! # Errors
//!
//! Every error is a [`TextError`]: `file:line:col: message`, columns counting characters
//! from 1. Bad values name the layer and field and point at the value:
//! `1:23: IP field 'ttl': 300 is out of range 0..=255`.
//!
//! Parsing is bounded: nesting stops at [`MAX_NESTING`] levels, packet sets at
//! [`MAX_PACKETS`], and no input panics.

mod command;
mod expand;
mod expr;
mod frame;
mod json;
pub mod json_write;
mod lexer;
pub mod python;
mod ron;
mod scapy_values;
mod spec;
mod values;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::packet::Packet;

pub use command::{command, layer_command};
pub use expand::{alternatives, PacketSet};
pub use frame::Frame;
pub use json::to_json;
pub use json_write::write_json;
pub use ron::{to_ron, to_ron_item};
pub use scapy_values::{repeat_count, short_mac, strs_after_names, MAX_REPEAT};

/// The most packets one expression or file may make.
pub const MAX_PACKETS: usize = 1_000_000;

/// The deepest nesting of lists, tuples and parentheses accepted.
pub const MAX_NESTING: usize = 64;

/// A parse or value error, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    /// The file name, for RON files.
    pub file: Option<String>,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        write!(f, "{}:{}: {}", self.line, self.col, self.msg)
    }
}

impl std::error::Error for TextError {}

/// A position in the source: line and column, both from 1, columns in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, col: 1 };
}

impl TextError {
    pub fn at(pos: Pos, msg: impl Into<String>) -> TextError {
        TextError { file: None, line: pos.line, col: pos.col, msg: msg.into() }
    }

    fn in_file(mut self, file: &str) -> TextError {
        self.file = Some(file.to_string());
        self
    }
}

/// Parses a scapy expression into its packets (more than one for a packet set).
pub fn parse_expr(src: &str) -> Result<Vec<Packet>, TextError> {
    Ok(parse_expr_set(src)?.iter().collect())
}

/// Parses a scapy expression into a packet set, whose packets are made on demand.
pub fn parse_expr_set(src: &str) -> Result<PacketSet, TextError> {
    let layers = expr::parse(src)?;
    expand::build(&layers, MAX_PACKETS)
}

/// Parses a RON packet file (one packet, or a list of packets); `file` names it in errors.
pub fn parse_ron(src: &str, file: &str) -> Result<Vec<Packet>, TextError> {
    Ok(parse_ron_sets(src, file)?.iter().flat_map(PacketSet::iter).collect())
}

/// Parses a RON packet file into one packet set per packet written in it.
pub fn parse_ron_sets(src: &str, file: &str) -> Result<Vec<PacketSet>, TextError> {
    let packets = ron::parse(src).map_err(|e| e.in_file(file))?;
    let mut sets = Vec::with_capacity(packets.len());
    let mut left = MAX_PACKETS;
    for layers in &packets {
        let set = expand::build(layers, left).map_err(|e| e.in_file(file))?;
        left -= set.len();
        sets.push(set);
    }
    Ok(sets)
}
