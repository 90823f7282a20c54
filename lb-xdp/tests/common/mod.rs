//! Shared by lb-xdp's tests: packets from craft expressions, BPF_PROG_TEST_RUN, the
//! expected backend from an independent Maglev computation.
#![allow(dead_code)]

#[path = "../../../craft/tests/common/netns.rs"]
pub mod netns;
#[path = "../../../craft/tests/common/lab.rs"]
pub mod lab;
#[path = "../../../craft/tests/common/child.rs"]
pub mod child;
pub mod director;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use craft::prelude::*;
use lb_xdp::config::{addr_bytes, family, Config};
use lb_xdp::maglev::{self, Weighted};
use lb_xdp_common::{flow_hash, ring_slot, FlowKey, RING_SIZE};
use std::net::IpAddr;

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

/// One packet from a scapy expression, built.
pub fn bytes(expr: &str) -> Vec<u8> {
    let packets = craft::text::parse_expr(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(packets.len(), 1, "{expr}");
    packets[0].build()
}

/// `Raw(load=b'...')` for these bytes.
pub fn raw(data: &[u8]) -> String {
    let escaped: String = data.iter().map(|b| format!("\\x{b:02x}")).collect();
    format!("Raw(load=b'{escaped}')")
}

/// Runs an XDP program once on a copy of `input`: the verdict and the packet after it.
pub fn run(program: &Xdp, input: &[u8]) -> (u32, Vec<u8>) {
    let mut out = vec![0u8; input.len() + 512];
    let result = program
        .test_run(TestRunOptions { data_in: Some(input), data_out: Some(&mut out), ..Default::default() })
        .expect("BPF_PROG_TEST_RUN");
    out.truncate(result.data_size_out as usize);
    (result.return_value, out)
}

/// The backend the director must pick for a flow new to it: Maglev over the VIP's
/// backends as the config lists them, slot from the shared flow hash.
pub fn expected_backend(config: &Config, vip: usize, flow: &FlowKey) -> IpAddr {
    let backends = &config.vips[vip].backends;
    let weighted: Vec<Weighted> = backends
        .iter()
        .enumerate()
        .map(|(i, b)| Weighted { id: i as u32, key: addr_bytes(b.addr), weight: b.weight })
        .collect();
    let table = maglev::build(&weighted, RING_SIZE);
    backends[table[ring_slot(flow_hash(flow)) as usize] as usize].addr
}

pub fn flow(src: &str, dst: &str, sport: u16, dport: u16, proto: u8) -> FlowKey {
    let (src, dst): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    FlowKey {
        src: addr_bytes(src),
        dst: addr_bytes(dst),
        sport,
        dport,
        proto,
        family: family(dst),
        _pad: [0; 2],
    }
}

/// Problems craft finds in a frame (lengths, checksums, ...), as text.
pub fn problems(frame: &[u8]) -> Vec<String> {
    craft::check::check_bytes(frame, LayerKind::Ether, &Default::default()).iter().map(|p| p.to_string()).collect()
}

pub fn summary(frame: &[u8]) -> String {
    Packet::dissect(frame, LayerKind::Ether).summary()
}
