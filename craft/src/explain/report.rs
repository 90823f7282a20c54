//! What [`super::Explainer::finish`] found, per packet sent: its drops (where, why, a
//! hint), its path with `trace`, the replies dropped, the counters; as text and JSON.

use std::collections::HashMap;
use std::time::Duration;

use super::netns::ns_label;
use super::trace::{build_path_of, HopEvent, HopKind, PacketKey, Path};
use super::DropEvent;
use crate::packet::Packet;

/// One drop: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropInfo {
    /// The kernel's reason name ("OTHERHOST").
    pub reason: String,
    pub reason_code: u32,
    /// `function+0xoffset`.
    pub symbol: String,
    pub location: u64,
    pub ifname: String,
    pub ifindex: u32,
    pub netns: u64,
    /// The namespace's name when it is one of /var/run/netns.
    pub netns_name: Option<String>,
    /// The packet dropped, as the kernel had it (from its network header).
    pub summary: String,
    pub hint: String,
    /// For a reply dropped: the index of the sent packet it answers.
    pub answers: Option<usize>,
}

impl DropInfo {
    pub(crate) fn new(ev: &DropEvent, names: &HashMap<u64, String>, hint: String, answers: Option<usize>) -> DropInfo {
        DropInfo {
            reason: ev.reason.clone(),
            reason_code: ev.reason_code,
            symbol: ev.symbol.clone(),
            location: ev.location,
            ifname: ev.ifname.clone(),
            ifindex: ev.ifindex,
            netns: ev.netns,
            netns_name: names.get(&ev.netns).cloned(),
            summary: ev.packet().summary(),
            hint,
            answers,
        }
    }

    /// The dropping function without its offset.
    pub fn function(&self) -> &str {
        super::kallsyms::function_of(&self.symbol)
    }

    fn place(&self) -> String {
        if self.netns == 0 {
            // No device on the skb (e.g. freed in a socket's path): no namespace to name.
            return format!("at {}: {}", self.symbol, self.reason);
        }
        let on = if self.ifname.is_empty() { String::new() } else { format!(" on {}", self.ifname) };
        format!("in namespace {}{on} at {}: {}", ns_label(self.netns, self.netns_name.as_deref()), self.symbol, self.reason)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "reason": self.reason,
            "reason_code": self.reason_code,
            "function": self.function(),
            "symbol": self.symbol,
            "ifname": self.ifname,
            "ifindex": self.ifindex,
            "netns": self.netns,
            "netns_name": self.netns_name,
            "packet": self.summary,
            "hint": self.hint,
        })
    }
}

/// What happened to one packet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFate {
    pub index: usize,
    pub round: usize,
    pub summary: String,
    pub iface: String,
    pub netns: u64,
    pub netns_name: Option<String>,
    /// Empty: not dropped (as far as the kernel's drop events tell; see [`Report::lost`]).
    pub drops: Vec<DropInfo>,
    /// With [`super::ExplainOpts::trace`]: where the kernel saw it (see [`super::explainer::PATH_ALL_MAX`] for
    /// which packets have one).
    pub path: Option<Path>,
}

impl PacketFate {
    pub fn dropped(&self) -> bool {
        !self.drops.is_empty()
    }

    /// With a path: where XDP lost frames on it ([`Path::xdp_loss`]), as the path says it.
    pub fn xdp_loss(&self, names: &HashMap<u64, String>) -> Option<String> {
        self.path.as_ref()?.xdp_loss().map(|step| Path::step_label(step, names))
    }

    fn label(&self, rounds: bool) -> String {
        if rounds {
            format!("packet {} (send {})", self.index, self.round + 1)
        } else {
            format!("packet {}", self.index)
        }
    }
}

/// What the path tracing of [`super::ExplainOpts::trace`] could see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceInfo {
    /// Why the path watcher did not start at all (no path then).
    pub error: Option<String>,
    /// The hops it cannot see (XDP tracepoints this kernel would not let it watch), with why.
    pub missing: Vec<String>,
    /// Hop events lost (ring buffer full): a path may miss hops.
    pub lost: u64,
    /// Namespace names by inode, for the path lines.
    pub names: HashMap<u64, String>,
}

/// Hop and drop events indexed by packet identity, so that a path is built from the few
/// events of its packet (and the XDP events, which carry none), not from every event.
pub(crate) struct PathIndex<'a> {
    by_key: HashMap<PathKey, (Vec<&'a HopEvent>, Vec<&'a DropEvent>)>,
    xdp: Vec<&'a HopEvent>,
}

type PathKey = (Option<u16>, std::net::IpAddr, u8, Option<(u32, u32)>);

fn path_key(k: &PacketKey) -> PathKey {
    (k.id, k.dst, k.proto, k.l4)
}

impl<'a> PathIndex<'a> {
    pub(crate) fn new(hops: &'a [HopEvent], drops: &'a [DropEvent]) -> PathIndex<'a> {
        let mut by_key: HashMap<PathKey, (Vec<&HopEvent>, Vec<&DropEvent>)> = HashMap::new();
        let mut xdp = Vec::new();
        for h in hops {
            if !h.kind.has_packet() {
                xdp.push(h);
            } else if let Some(k) = PacketKey::of_dissected(&super::trace::path::l3_packet(h.protocol, &h.data)) {
                by_key.entry(path_key(&k)).or_default().0.push(h);
            }
        }
        for d in drops {
            if let Some(k) = PacketKey::of_dissected(&super::trace::path::l3_packet(d.protocol, &d.data)) {
                by_key.entry(path_key(&k)).or_default().1.push(d);
            }
        }
        PathIndex { by_key, xdp }
    }

    pub(crate) fn path(&self, sent: &Packet) -> Path {
        let Some(key) = PacketKey::of_sent(sent) else { return Path::default() };
        let Some((hops, drops)) = self.by_key.get(&path_key(&key)) else { return Path::default() };
        let mut all = hops.clone();
        all.extend(self.xdp.iter().copied());
        build_path_of(&key, &all, drops)
    }
}

/// The paths of each of `rounds` sends of one frame (count=N) out of `iface` of namespace
/// `netns`, from the path of all of them: each round starts where the frame left that
/// interface again. When the rounds cannot be told apart that way (hops lost, the same
/// headers twice in one list), every round gets the whole path.
pub(crate) fn split_rounds(path: Path, netns: u64, iface: &str, rounds: usize) -> Vec<Path> {
    if rounds <= 1 {
        return vec![path];
    }
    let starts: Vec<usize> = path
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.hop.as_ref().is_some_and(|h| h.kind == HopKind::Tx && h.netns == netns && h.ifname == iface))
        .map(|(i, _)| i)
        .collect();
    if starts.len() != rounds || starts[0] != 0 {
        return vec![path];
    }
    (0..rounds)
        .map(|r| {
            let mut steps = path.steps[starts[r]..starts.get(r + 1).copied().unwrap_or(path.steps.len())].to_vec();
            // The first hop of a round compares with nothing before it.
            steps[0].changes.clear();
            Path { steps }
        })
        .collect()
}

/// A path as `--format json` gives it: one record per step.
fn path_json(path: &Path, names: &HashMap<u64, String>) -> serde_json::Value {
    let t0 = path.steps.first().map_or(0, |s| s.time_ns());
    let steps: Vec<serde_json::Value> = path
        .steps
        .iter()
        .map(|s| {
            let mut j = match (&s.hop, &s.drop) {
                (Some(h), _) => {
                    let mut j = serde_json::json!({
                        "kind": h.kind.name(),
                        "ifname": h.ifname,
                        "ifindex": h.ifindex,
                        "netns": h.netns,
                        "netns_name": names.get(&h.netns),
                        "t_ns": h.ts.saturating_sub(t0),
                    });
                    if let Some(x) = &h.xdp {
                        j["xdp"] = serde_json::json!({
                            "prog_id": x.prog_id,
                            "action": super::trace::xdp_action_name(x.act),
                            "err": x.err,
                            "to_ifindex": x.to_ifindex,
                            "to_ifname": x.to_ifname,
                            "sent": x.sent,
                            "drops": x.drops,
                        });
                    }
                    j
                }
                (None, Some(d)) => serde_json::json!({
                    "kind": "drop",
                    "ifname": d.ifname,
                    "ifindex": d.ifindex,
                    "netns": d.netns,
                    "netns_name": names.get(&d.netns),
                    "function": d.function(),
                    "reason": d.reason,
                    "t_ns": d.time_ns.saturating_sub(t0),
                }),
                (None, None) => serde_json::json!({}),
            };
            j["label"] = Path::step_label(s, names).into();
            j["changes"] = s.changes.clone().into();
            j
        })
        .collect();
    steps.into()
}

/// What [`super::Explainer::finish`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// With [`super::ExplainOpts::trace`]: what the path watcher could see.
    pub trace: Option<TraceInfo>,
    /// Every packet sent, in the order sent.
    pub packets: Vec<PacketFate>,
    /// Drops of answers to craft's packets (never a sent packet's fate).
    pub replies_dropped: Vec<DropInfo>,
    /// Counter deltas of the namespaces involved, one line each.
    pub counters: Vec<String>,
    /// Drops in the window that were not craft's packets nor their answers.
    pub unrelated: usize,
    /// Drops the kernel reported while the ring buffer was full (never seen): nonzero
    /// means a drop may have gone unexplained.
    pub lost: u64,
    /// How long the watcher ran.
    pub window: Duration,
    /// From the last of craft's drops (or their answers') read to the report being ready.
    pub since_last_drop: Option<Duration>,
}

/// Past this many packets, the text report lists only the dropped ones and counts the rest.
pub const TEXT_LIST_MAX: usize = 50;

impl Report {
    pub fn dropped(&self) -> impl Iterator<Item = &PacketFate> {
        self.packets.iter().filter(|p| p.dropped())
    }

    /// The text report: one line per packet (only the dropped ones past
    /// [`TEXT_LIST_MAX`] packets), the replies dropped, the counters, what was ignored.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let rounds = self.packets.iter().any(|p| p.round > 0);
        let all = self.packets.len() <= TEXT_LIST_MAX;
        if let Some(t) = &self.trace {
            if let Some(e) = &t.error {
                s.push_str(&format!("trace: the path watcher did not start ({e}): no paths\n"));
            }
            for m in &t.missing {
                s.push_str(&format!("trace: cannot see {m}\n"));
            }
        }
        let names = self.trace.as_ref().map(|t| t.names.clone()).unwrap_or_default();
        for p in &self.packets {
            let shown = match (p.drops.as_slice(), p.xdp_loss(&names)) {
                ([], Some(at)) => {
                    s.push_str(&format!(
                        "{} ({}): no drop event, but XDP lost frames on its path at {at} — XDP frees no skb: see the counters\n",
                        p.label(rounds),
                        p.summary
                    ));
                    true
                }
                ([], None) if all => {
                    s.push_str(&format!("{} ({}): not dropped\n", p.label(rounds), p.summary));
                    true
                }
                ([], None) => false,
                (drops, _) => {
                    for (i, d) in drops.iter().enumerate() {
                        let again = if i > 0 { " again" } else { "" };
                        s.push_str(&format!("{} ({}) was dropped{again} {} — {}\n", p.label(rounds), p.summary, d.place(), d.hint));
                    }
                    true
                }
            };
            if let (true, Some(path)) = (shown, &p.path) {
                for (i, line) in path.render(&names).lines().enumerate() {
                    let lead = if i == 0 { "  path: " } else { "  " };
                    s.push_str(&format!("{lead}{line}\n"));
                }
            }
        }
        let n_dropped = self.dropped().count();
        if !all {
            s.push_str(&format!("{} of {} packets not dropped\n", self.packets.len() - n_dropped, self.packets.len()));
        }
        for d in &self.replies_dropped {
            let to = d.answers.map_or(String::new(), |i| format!(" to packet {i}"));
            s.push_str(&format!("reply{to} ({}) dropped {} — {}\n", d.summary, d.place(), d.hint));
        }
        for c in &self.counters {
            s.push_str(&format!("counter {c}\n"));
        }
        s.push_str(&format!(
            "{n_dropped} of {} packets dropped, {} replies dropped; {} other drops in the {:.1} s window were not craft's (ignored)\n",
            self.packets.len(),
            self.replies_dropped.len(),
            self.unrelated,
            self.window.as_secs_f64()
        ));
        if self.lost > 0 {
            s.push_str(&format!(
                "warning: {} drops were lost (the watcher's ring buffer was full): a packet reported not dropped may have been\n",
                self.lost
            ));
        }
        if let Some(t) = self.trace.as_ref().filter(|t| t.lost > 0) {
            s.push_str(&format!("warning: {} hop events were lost (the path watcher's ring buffer was full): a path may miss hops\n", t.lost));
        }
        s
    }

    /// One JSON record per packet sent (`"type": "packet"`), then one per reply dropped
    /// (`"reply"`), then a `"summary"` record (counters, unrelated and lost drops).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::with_capacity(self.packets.len() + self.replies_dropped.len() + 1);
        let names = self.trace.as_ref().map(|t| t.names.clone()).unwrap_or_default();
        for p in &self.packets {
            let mut j = serde_json::json!({
                "type": "packet",
                "index": p.index,
                "round": p.round,
                "packet": p.summary,
                "iface": p.iface,
                "netns": p.netns,
                "netns_name": p.netns_name,
                "dropped": p.dropped(),
                "drops": p.drops.iter().map(DropInfo::json).collect::<Vec<_>>(),
            });
            if let Some(path) = &p.path {
                j["xdp_loss"] = p.xdp_loss(&names).into();
                j["path"] = path_json(path, &names);
                j["path_line"] = path.line(&names).into();
            }
            out.push(j);
        }
        for d in &self.replies_dropped {
            let mut j = d.json();
            j["type"] = "reply".into();
            j["answers"] = d.answers.into();
            out.push(j);
        }
        out.push(serde_json::json!({
            "type": "summary",
            "sent": self.packets.len(),
            "dropped": self.dropped().count(),
            "replies_dropped": self.replies_dropped.len(),
            "counters": self.counters,
            "unrelated": self.unrelated,
            "lost": self.lost,
        }));
        if let Some(t) = &self.trace {
            let last = out.last_mut().expect("summary");
            last["trace"] = serde_json::json!({ "error": t.error, "missing": t.missing, "lost": t.lost });
        }
        out
    }

    /// [`Report::json_lines`], one per line.
    pub fn json(&self) -> String {
        self.json_lines().iter().map(|j| format!("{j}\n")).collect()
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_report_says_what_the_path_watcher_cannot_see() {
        let mut r = Report {
            trace: Some(TraceInfo { error: Some("no BTF".into()), ..TraceInfo::default() }),
            packets: vec![PacketFate {
                index: 0,
                round: 0,
                summary: "IP / UDP".into(),
                iface: "va".into(),
                netns: 1,
                netns_name: None,
                drops: vec![],
                path: Some(Path::default()),
            }],
            replies_dropped: vec![],
            counters: vec![],
            unrelated: 0,
            lost: 0,
            window: Duration::ZERO,
            since_last_drop: None,
        };
        let t = r.text();
        assert!(t.starts_with("trace: the path watcher did not start (no BTF): no paths\npacket 0 (IP / UDP): not dropped\n  path: (not seen)\n"), "{t}");
        r.trace = Some(TraceInfo { missing: vec!["xdp_bulk_tx: no such tracepoint".into()], lost: 3, ..TraceInfo::default() });
        let t = r.text();
        assert!(t.starts_with("trace: cannot see xdp_bulk_tx: no such tracepoint\n"), "{t}");
        assert!(t.contains("warning: 3 hop events were lost"), "{t}");
        let j = r.json_lines();
        assert_eq!(j[0]["path"], serde_json::json!([]));
        assert_eq!(j[1]["trace"]["lost"], 3);
    }
}
