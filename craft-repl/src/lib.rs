//! craft-repl: an interactive REPL with scapy's syntax, on craft.
//!
//! The grammar lives in the library (`craft::text::python`); this crate evaluates it:
//! values ([`value`]), the interpreter ([`interp`]), scapy's text forms of packets
//! ([`scapy_text`]), and the terminal ([`terminal`]).

pub mod pkt;
pub mod scapy_text;
