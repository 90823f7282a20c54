//! craft::live's calls, explained: each sends exactly the bytes it records in the
//! [`Explainer`] (built once), so what is matched against the kernel's drops is what left.

use std::io;

use super::explainer::Call;
use super::netns::current_netns;
use super::Explainer;
use crate::live::{self, L3SendReport, Observer, SendOpts, SendReport, SrOpts, SrResult};
use crate::packet::{LayerKind, Packet};

/// Record `frames` (positions `index` in the caller's list) as one call, send them with
/// [`live::sendp_frames`] and keep how many went out.
fn sendp_recorded(ex: &mut Explainer, iface: &str, netns: u64, frames: Vec<Vec<u8>>, index: Vec<usize>, opts: SendOpts) -> io::Result<SendReport> {
    let call = ex.record_call(Call::new(frames, index, LayerKind::Ether, iface, netns, opts.count));
    let r = live::sendp_frames(iface, ex.frames(call), opts)?;
    ex.set_sent(call, r.sent);
    Ok(r)
}

/// [`live::sendp`], the frames recorded in `ex`.
pub fn sendp(ex: &mut Explainer, iface: &str, pkts: &[Packet], opts: SendOpts) -> io::Result<SendReport> {
    let (frames, warnings) = live::sendp_frames_of(iface, pkts)?;
    let mut r = sendp_recorded(ex, iface, current_netns(), frames, (0..pkts.len()).collect(), opts)?;
    r.warnings.splice(0..0, warnings);
    Ok(r)
}

/// [`live::send`] (IP / IPv6 packets, routed), the frames recorded in `ex`.
pub fn send(ex: &mut Explainer, iface: Option<&str>, pkts: &[Packet], opts: SendOpts) -> io::Result<L3SendReport> {
    let netns = current_netns();
    live::send_with(iface, pkts, opts, |g, opts| sendp_recorded(ex, g.iface, netns, g.frames, g.index.to_vec(), opts))
}

/// Records each frame as it leaves (retries included).
struct Recorder<'a> {
    ex: &'a mut Explainer,
    iface: String,
    netns: u64,
}

impl Observer for Recorder<'_> {
    fn on_iface(&mut self, iface: &str) {
        self.iface = iface.to_string();
    }

    fn on_send(&mut self, index: usize, round: u32, frame: &[u8], _sent_ns: u64) {
        self.ex.record_in(self.netns, index, round as usize, frame.to_vec(), LayerKind::Ether, &self.iface);
    }
}

/// [`live::srp`], each frame recorded in `ex` as it leaves.
pub fn srp(ex: &mut Explainer, iface: &str, pkts: &[Packet], opts: &SrOpts) -> io::Result<SrResult> {
    live::srp_observed(iface, pkts, opts, &mut Recorder { ex, iface: String::new(), netns: current_netns() })
}

/// [`live::sr`] (IP / IPv6 packets, routed), each frame recorded in `ex` as it leaves.
pub fn sr(ex: &mut Explainer, iface: Option<&str>, pkts: &[Packet], opts: &SrOpts) -> io::Result<live::L3SrResult> {
    live::sr_observed(iface, pkts, opts, &mut Recorder { ex, iface: String::new(), netns: current_netns() })
}
