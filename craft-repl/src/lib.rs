//! craft-repl: an interactive REPL with scapy's syntax, on craft.
//!
//! The grammar is the library's (`craft::text::python`); this crate evaluates it:
//! values ([`value`]), the interpreter ([`interp`]) with its operators ([`ops`]),
//! attributes ([`attrs`]), methods ([`methods`]), built-ins ([`builtins`], [`binds`]), packets
//! ([`packets`], [`pkt`]), the live functions ([`live`], [`sniffer`]), scapy's text forms of packets
//! ([`scapy_text`]), and the session and terminal ([`session`], [`terminal`]).

pub mod attrs;
pub mod binds;
pub mod builtins;
pub mod complete;
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
pub mod sniffer;
pub mod terminal;
pub mod value;

/// Stack for the thread that runs statements: the tree-walking evaluator recurses per
/// call and per nested expression, and unoptimised builds take kilobytes a level.
pub const STACK: usize = 256 << 20;

/// Runs `f` on a thread with [`STACK`] bytes of stack (reserved, not committed).
pub fn with_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::Builder::new().name("craft-repl".into()).stack_size(STACK).spawn(f) {
        Ok(handle) => handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        Err(e) => panic!("cannot start the interpreter thread: {e}"),
    }
}
