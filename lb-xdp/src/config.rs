//! The director's configuration file (`lb.ron`):
//!
//! ```ron
//! (
//!     next_hop_mac: "02:00:00:00:00:01",   // outer Ether destination (router or backend)
//!     src_v4: "10.0.0.2",                  // outer IPv4 source (needed for IPv4 backends)
//!     src_v6: "fd00::2",                   // outer IPv6 source (needed for IPv6 backends)
//!     gue_port: 6080,                      // default 6080
//!     gue_variant: 0,                      // 0 (default) or 1
//!     redirect: "eth1",                    // default: XDP_TX back out the ingress
//!     vips: [
//!         (addr: "10.100.0.1", port: 80, proto: tcp, backends: [
//!             (addr: "10.0.1.1", weight: 1),
//!             (addr: "10.0.1.2"),           // weight 1
//!         ]),
//!         (addr: "fd00:100::1", port: 0, proto: udp, backends: [(addr: "fd00:1::1")]),
//!     ],
//! )
//! ```
//! `port: 0` serves every port of the protocol.
use anyhow::{bail, Context as _, Result};
use lb_xdp_common::{DEFAULT_GUE_PORT, MAX_VIPS, MAX_VIP_BACKENDS, PROTO_TCP, PROTO_UDP};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(deserialize_with = "deserialize_mac")]
    pub next_hop_mac: Mac,
    #[serde(default)]
    pub src_v4: Option<Ipv4Addr>,
    #[serde(default)]
    pub src_v6: Option<Ipv6Addr>,
    #[serde(default = "default_port")]
    pub gue_port: u16,
    #[serde(default)]
    pub gue_variant: u8,
    #[serde(default)]
    pub redirect: Option<String>,
    #[serde(default)]
    pub vips: Vec<Vip>,
}

fn default_port() -> u16 {
    DEFAULT_GUE_PORT
}

fn default_weight() -> u32 {
    1
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Vip {
    pub addr: IpAddr,
    #[serde(default)]
    pub port: u16,
    pub proto: Proto,
    #[serde(default)]
    pub backends: Vec<BackendConfig>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => PROTO_TCP,
            Proto::Udp => PROTO_UDP,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub addr: IpAddr,
    #[serde(default = "default_weight")]
    pub weight: u32,
}

/// A MAC address written "02:00:00:00:00:01": craft's (parsing and display), re-exported
/// so that the CLI and the tests name it here.
pub use craft::field::Mac;

/// `next_hop_mac` from its string, by craft's parser (craft's `Mac` has no serde).
fn deserialize_mac<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

impl Config {
    /// Reads and checks a config file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        // parse's errors start with line:col, so this reads path:line:col: what.
        Config::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e:#}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config> {
        // Implicit Some: `src_v4: "10.0.0.2"` rather than `src_v4: Some("10.0.0.2")`.
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let config: Config = options.from_str(text).map_err(|e| {
            anyhow::anyhow!("{}:{}: {}", e.span.start.line, e.span.start.col, e.code)
        })?;
        config.check()?;
        Ok(config)
    }

    /// What the types can't say: limits, sources for the families in use, variant.
    pub fn check(&self) -> Result<()> {
        if self.gue_variant > 1 {
            bail!("gue_variant is {}: GUE has variants 0 and 1", self.gue_variant);
        }
        if self.vips.len() > MAX_VIPS as usize {
            bail!("{} VIPs: the director serves at most {MAX_VIPS}", self.vips.len());
        }
        for (i, vip) in self.vips.iter().enumerate() {
            if self.vips[..i].iter().any(|v| v.addr == vip.addr && v.port == vip.port && v.proto == vip.proto) {
                bail!("VIP {} port {} {:?} is listed twice", vip.addr, vip.port, vip.proto);
            }
            if vip.backends.len() > MAX_VIP_BACKENDS {
                bail!("VIP {}: {} backends, at most {MAX_VIP_BACKENDS}", vip.addr, vip.backends.len());
            }
            for b in &vip.backends {
                match b.addr {
                    IpAddr::V4(_) if self.src_v4.is_none() => {
                        bail!("backend {} is IPv4: set src_v4 (the outer IPv4 source)", b.addr)
                    }
                    IpAddr::V6(_) if self.src_v6.is_none() => {
                        bail!("backend {} is IPv6: set src_v6 (the outer IPv6 source)", b.addr)
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// An address in the maps' 16-byte form (IPv4 in the first 4 bytes).
pub fn addr_bytes(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

pub fn family(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        lb_xdp_common::FAMILY_V4
    } else {
        lb_xdp_common::FAMILY_V6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"(
        next_hop_mac: "02:00:00:00:00:01",
        src_v4: "10.0.0.2",
        vips: [(addr: "10.100.0.1", port: 80, proto: tcp, backends: [(addr: "10.0.1.1", weight: 2), (addr: "10.0.1.2")])],
    )"#;

    #[test]
    fn parses_with_defaults() {
        let c = Config::parse(EXAMPLE).unwrap();
        assert_eq!(c.gue_port, 6080);
        assert_eq!(c.gue_variant, 0);
        assert_eq!(c.next_hop_mac, Mac([2, 0, 0, 0, 0, 1]));
        assert_eq!(c.vips[0].backends[1].weight, 1);
        assert_eq!(c.vips[0].proto, Proto::Tcp);
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = Config::parse("(\n  next_hop_mac: \"02:00:00:00:00:01\",\n  colour: 3,\n)").unwrap_err();
        let text = format!("{err:#}");
        assert!(text.starts_with("3:"), "{text}");
        assert!(text.contains("colour"), "{text}");
        let err = Config::parse(r#"(next_hop_mac: "02:00:00:00:01")"#).unwrap_err();
        assert!(format!("{err:#}").contains("not a MAC address"), "{err:#}");
        let err = Config::parse(&EXAMPLE.replace("src_v4: \"10.0.0.2\",", "")).unwrap_err();
        assert!(format!("{err:#}").contains("set src_v4"), "{err:#}");
        let err = Config::parse(&EXAMPLE.replace("proto: tcp", "proto: sctp")).unwrap_err();
        assert!(format!("{err:#}").contains("sctp"), "{err:#}");
    }
}
