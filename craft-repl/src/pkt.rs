//! A packet as the REPL holds it: craft's [`Packet`] and, per layer, which fields were
//! given a value (scapy's `Packet.fields`), so that `repr()` shows what scapy's does.

use craft::field::Value;
use craft::packet::{LayerKind, Packet};

/// A packet and the fields given per layer.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub packet: Packet,
    /// `given[i]` bit `j`: field `j` of `packet.layers[i].kind().fields()` was given a value
    /// (by a constructor keyword, an assignment, or dissection, which gives every field).
    pub given: Vec<u64>,
    /// Fields given a set of values (scapy's packet sets: `IP(dst="10.0.0.0/30")`,
    /// `TCP(dport=[80, 443])`, `IP(ttl=(1, 3))`); the packet holds the first of each.
    pub sets: Vec<FieldSet>,
    /// When it was captured (seconds since the epoch), for sniffed and read packets.
    pub time: Option<f64>,
}

/// One field given several values.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSet {
    pub layer: usize,
    pub field: &'static str,
    pub alts: Vec<Value>,
    /// The value as written, for repr.
    pub written: Value,
}

impl PartialEq for Pkt {
    /// scapy compares field values and payloads, not which fields were given.
    fn eq(&self, other: &Pkt) -> bool {
        self.packet == other.packet && self.sets == other.sets
    }
}

impl Pkt {
    /// A packet whose fields were all given (a dissection).
    pub fn dissected(packet: Packet) -> Pkt {
        let given = vec![u64::MAX; packet.layers.len()];
        Pkt { packet, given, sets: Vec::new(), time: None }
    }

    /// Dissects `bytes` as `kind` with the default bindings (a session uses
    /// [`Pkt::dissect_with`] and its `conf.dissect`).
    pub fn dissect(bytes: &[u8], kind: LayerKind) -> Pkt {
        Pkt::dissected(Packet::dissect(bytes, kind))
    }

    /// Dissects `bytes` as `kind` with `cx`'s bindings, as `IP(b"...")` does.
    pub fn dissect_with(bytes: &[u8], kind: LayerKind, cx: &craft::layer::DissectCx) -> Pkt {
        Pkt::dissected(Packet::dissect_with(bytes, kind, cx))
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

    /// A packet whose given fields are those that differ from each layer's default (a
    /// packet loaded from a file, which does not say more).
    pub fn given_as_changed(packet: Packet) -> Pkt {
        let mut p = Pkt::fresh(packet);
        for i in 0..p.packet.layers.len() {
            let layer = p.packet.layers[i].clone();
            let default = layer.kind().new_layer();
            for f in layer.kind().fields() {
                if layer.get(f.name) != default.get(f.name) {
                    p.set_given(i, f.name, true);
                }
            }
        }
        p
    }

    /// A packet of fresh layers, none given.
    pub fn fresh(packet: Packet) -> Pkt {
        let given = vec![0; packet.layers.len()];
        Pkt { packet, given, sets: Vec::new(), time: None }
    }

    /// `self / other`: the layers of both, each keeping what was given.
    pub fn stack(mut self, other: Pkt) -> Pkt {
        let offset = self.packet.layers.len();
        self.given.resize(offset, 0);
        self.packet.layers.extend(other.packet.layers);
        self.given.extend(other.given);
        self.sets.extend(other.sets.into_iter().map(|s| FieldSet { layer: s.layer + offset, ..s }));
        self
    }

    /// The layers from `start` on, as a packet of their own.
    pub fn tail(&self, start: usize) -> Pkt {
        let start = start.min(self.packet.layers.len());
        let mut packet = Packet::new();
        packet.layers.extend(self.packet.layers[start..].iter().cloned());
        let given = self.given.get(start..).unwrap_or(&[]).to_vec();
        let sets = self.sets.iter().filter(|s| s.layer >= start).map(|s| FieldSet { layer: s.layer - start, ..s.clone() }).collect();
        Pkt { packet, given, sets, time: self.time }
    }

    /// How many packets this stands for (1 without sets).
    pub fn count(&self) -> usize {
        self.sets.iter().fold(1usize, |n, s| n.saturating_mul(s.alts.len()))
    }

    /// The packets this stands for, in scapy's order: the first layer varies slowest;
    /// within a layer, the field declared last varies slowest.
    pub fn expand(&self) -> Vec<Pkt> {
        if self.sets.is_empty() {
            return vec![self.clone()];
        }
        let mut order: Vec<&FieldSet> = self.sets.iter().collect();
        let decl = |s: &FieldSet| {
            let fields = self.packet.layers.get(s.layer).map(|l| l.kind().fields()).unwrap_or(&[]);
            fields.iter().position(|f| f.name == s.field).unwrap_or(0)
        };
        order.sort_by_key(|s| (s.layer, std::cmp::Reverse(decl(s))));
        let mut out = Vec::with_capacity(self.count());
        for mut index in 0..self.count() {
            let mut p = Pkt { packet: self.packet.clone(), given: self.given.clone(), sets: Vec::new(), time: self.time };
            for s in order.iter().rev() {
                let n = s.alts.len();
                if let Some(layer) = p.packet.layers.get_mut(s.layer) {
                    let _ = layer.set(s.field, &s.alts[index % n]);
                }
                index /= n;
            }
            out.push(p);
        }
        out
    }
}
