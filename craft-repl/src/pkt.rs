//! A packet as the REPL holds it: craft's [`Packet`] and, per layer, which fields were
//! given a value (scapy's `Packet.fields`), so that `repr()` shows what scapy's does.

use craft::packet::{LayerKind, Packet};

/// A packet and the fields given per layer.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub packet: Packet,
    /// `given[i]` bit `j`: field `j` of `packet.layers[i].kind().fields()` was given a value
    /// (by a constructor keyword, an assignment, or dissection, which gives every field).
    pub given: Vec<u64>,
}

impl PartialEq for Pkt {
    /// scapy compares field values and payloads, not which fields were given.
    fn eq(&self, other: &Pkt) -> bool {
        self.packet == other.packet
    }
}

impl Pkt {
    /// A packet whose fields were all given (a dissection).
    pub fn dissected(packet: Packet) -> Pkt {
        let given = vec![u64::MAX; packet.layers.len()];
        Pkt { packet, given }
    }

    /// Dissects `bytes` as `kind`, as `IP(b"...")` does.
    pub fn dissect(bytes: &[u8], kind: LayerKind) -> Pkt {
        Pkt::dissected(Packet::dissect(bytes, kind))
    }

    /// Whether field `name` of layer `i` was given.
    pub fn is_given(&self, i: usize, name: &str) -> bool {
        let Some(layer) = self.packet.layers.get(i) else { return false };
        let fields = layer.kind().fields();
        match fields.iter().position(|f| f.name == name) {
            Some(j) => self.given.get(i).is_some_and(|bits| bits & (1 << j) != 0),
            None => false,
        }
    }

    /// Marks field `name` of layer `i` given or not.
    pub fn set_given(&mut self, i: usize, name: &str, given: bool) {
        let Some(layer) = self.packet.layers.get(i) else { return };
        if let Some(j) = layer.kind().fields().iter().position(|f| f.name == name) {
            if self.given.len() < self.packet.layers.len() {
                self.given.resize(self.packet.layers.len(), 0);
            }
            if given {
                self.given[i] |= 1 << j;
            } else {
                self.given[i] &= !(1 << j);
            }
        }
    }

    /// `self / other`: the layers of both, each keeping what was given.
    pub fn stack(mut self, other: Pkt) -> Pkt {
        self.given.resize(self.packet.layers.len(), 0);
        self.packet.layers.extend(other.packet.layers);
        self.given.extend(other.given);
        self
    }
}
