//! craft-repl: an interactive REPL with scapy's syntax, on craft.
//!
//! The grammar is the library's (`craft::text::python`); this crate evaluates it:
//! values ([`value`]), the interpreter ([`interp`]) with its operators ([`ops`]),
//! attributes ([`attrs`]), methods ([`methods`]), built-ins ([`builtins`]), packets
//! ([`packets`], [`pkt`]), the live functions ([`live`]), scapy's text forms of packets
//! ([`scapy_text`]), and the session and terminal ([`session`], [`terminal`]).

pub mod attrs;
pub mod builtins;
pub mod format;
pub mod interp;
pub mod live;
pub mod methods;
pub mod ops;
pub mod packets;
pub mod pkt;
pub mod scapy_text;
pub mod session;
pub mod signal;
pub mod terminal;
pub mod value;
