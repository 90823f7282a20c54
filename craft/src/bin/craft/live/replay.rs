//! What send and sr send: packets from a source (expression, RON, stdin), or exact bytes —
//! hex strings or the frames of a capture file, replayed as they are.

use std::time::Duration;

use clap::Args;
use craft::layer::DissectCx;
use craft::packet::{Layer, LayerKind, Packet};

use crate::capture::for_each_record;
use crate::input::{for_each_hex, read_packets, Start};

#[derive(Args)]
pub struct PacketInput {
    /// An expression, a .ron file, or - (stdin, one expression per line).
    #[arg(required_unless_present_any = ["hex", "pcap"])]
    source: Option<String>,
    /// Send these bytes as they are instead (- : one hex string per line on stdin).
    #[arg(long, num_args = 1.., value_name = "HEX", conflicts_with_all = ["source", "pcap"])]
    hex: Vec<String>,
    /// Send the frames of this pcap or pcapng file as they are (replay).
    #[arg(long, value_name = "FILE", conflicts_with = "source")]
    pcap: Option<String>,
    /// The first layer of the --hex bytes (ether: frames sent on --iface; ip, ipv6: packets
    /// routed).
    #[arg(long = "as", value_enum, default_value = "ether")]
    start: Start,
}

/// The packets to send; for --hex and --pcap also their exact bytes and (a capture's)
/// timestamps.
pub struct Loaded {
    pub pkts: Vec<Packet>,
    /// Each packet's bytes as given, sent as they are where the packets are not routed.
    pub wire: Option<Vec<Vec<u8>>>,
    /// Capture timestamps (ns), for --pace.
    pub ts_ns: Option<Vec<u64>>,
}

impl PacketInput {
    /// Reads the packets (bytes dissected with `cx`, so matching answers sees inside).
    pub fn load(&self, cx: &DissectCx) -> Result<Loaded, String> {
        let mut loaded = Loaded { pkts: Vec::new(), wire: Some(Vec::new()), ts_ns: None };
        if let Some(file) = &self.pcap {
            let mut ts = Vec::new();
            let mut stripped = None;
            for_each_record(file, |frame, data, first| {
                ts.push(frame.ts_ns);
                if frame.truncated() {
                    return Err(format!("{file}: frame {} holds {} of its {} bytes (cut by the capture's snaplen): it cannot be replayed", frame.number, frame.caplen, frame.len));
                }
                let (p, bytes) = sendable(Packet::dissect_with(data, first, cx), data, &mut stripped);
                loaded.push(p, bytes);
                Ok(())
            })?;
            if let Some(link) = stripped {
                craft::exit::warning("craft", format_args!("{file}: frames start with {link}: sent without it, as IP packets (routed)"));
            }
            loaded.ts_ns = Some(ts);
        } else if !self.hex.is_empty() {
            for_each_hex(&self.hex, |bytes| {
                loaded.push(Packet::dissect_with(&bytes, self.start.kind(), cx), bytes.to_vec());
                Ok(())
            })?;
        } else {
            let source = self.source.as_deref().unwrap_or("-");
            return Ok(Loaded { pkts: read_packets(source)?, wire: None, ts_ns: None });
        }
        if loaded.pkts.is_empty() {
            return Err("no packet to send".into());
        }
        Ok(loaded)
    }
}

impl Loaded {
    fn push(&mut self, p: Packet, bytes: Vec<u8>) {
        self.pkts.push(p);
        if let Some(w) = self.wire.as_mut() {
            w.push(bytes);
        }
    }
}

/// A captured frame as it can be sent: Ether frames and IP packets as they are; behind
/// another link header (Linux cooked capture, BSD loopback), the IP packet it carries, the
/// link layer's name kept in `stripped` for one warning.
fn sendable(mut p: Packet, data: &[u8], stripped: &mut Option<&'static str>) -> (Packet, Vec<u8>) {
    let first = p.layers.first().map(Layer::kind);
    let second = p.layers.get(1).map(Layer::kind);
    match (first, second) {
        (Some(link), Some(LayerKind::Ip | LayerKind::Ipv6)) if !matches!(link, LayerKind::Ether | LayerKind::Ip | LayerKind::Ipv6) => {
            let hlen = p.layers[0].header_len();
            stripped.get_or_insert(link.name());
            p.layers.remove(0);
            (p, data[hlen.min(data.len())..].to_vec())
        }
        _ => (p, data.to_vec()),
    }
}

/// When each packet leaves, from the first, at the capture's own pace: the gaps between
/// its timestamps (a timestamp earlier than the one before counts as no gap).
pub fn pace(ts_ns: &[u64]) -> Vec<Duration> {
    let mut at = Duration::ZERO;
    let mut prev = ts_ns.first().copied().unwrap_or(0);
    ts_ns
        .iter()
        .map(|&t| {
            at += Duration::from_nanos(t.saturating_sub(prev));
            prev = prev.max(t);
            at
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_follows_the_gaps() {
        let ms = Duration::from_millis;
        assert_eq!(pace(&[5_000_000, 5_000_000, 105_000_000, 95_000_000, 305_000_000]), [ms(0), ms(0), ms(100), ms(100), ms(300)]);
        assert_eq!(pace(&[]), Vec::<Duration>::new());
    }
}
