//! The compiled XDP programs, embedded at build time.

/// The director object (program `director`).
pub static DIRECTOR: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-xdp-director"));
/// The decap object (program `decap`).
pub static DECAP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-xdp-decap"));
