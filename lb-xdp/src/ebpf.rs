//! The compiled XDP programs, embedded at build time.

/// The director object (program `director`).
pub static DIRECTOR: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-xdp-director"));
/// The decap object (program `decap`).
pub static DECAP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-xdp-decap"));
/// The director with its test-only fault switches (program `director`, map `FAULTS`):
/// only with the feature `faults`, for `lb-xdp-faults`.
#[cfg(feature = "faults")]
pub static DIRECTOR_FAULTS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-xdp-director-faults"));
