//! craft: compose, dissect and check network packets — a Rust answer to scapy.
//!
//! ```
//! use craft::prelude::*;
//! let pkt = Ether::new().dst("02:00:00:00:00:33") / Ip::new().src("172.17.2.1").dst("172.17.2.2")
//!     / Tcp::new().dport(80).flags("S");
//! let bytes = pkt.build();
//! assert_eq!(bytes.len(), 54);
//! let back = Packet::dissect(&bytes, LayerKind::Ether);
//! assert_eq!(back.build(), bytes);
//! ```

pub mod answers;
pub mod bind;
pub mod check;
pub mod checksum;
pub mod exit;
pub mod explain;
pub mod field;
pub mod hex;
pub mod layer;
pub mod layers;
pub mod live;
pub mod packet;
pub mod pcap;
pub mod show;
pub mod signal;
pub mod text;

/// Everything needed to compose and dissect packets.
pub mod prelude {
    pub use crate::field::{Mac, Value};
    pub use crate::layers::*;
    pub use crate::packet::{Layer, LayerKind, Packet};
}
