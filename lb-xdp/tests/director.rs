//! The director program through BPF_PROG_TEST_RUN: every input built with craft, every
//! output compared byte for byte with the packet craft builds for what it should be,
//! checked by craft, and the verdicts and counters.
mod common;

use common::*;
use lb_xdp::config::Config;
use lb_xdp::director::{Director, Stats};
use lb_xdp_common::{flow_hash, outer_sport, FlowKey, PROTO_TCP, PROTO_UDP};

const NEXT_HOP: &str = "02:00:00:00:00:fe";
const OWN_MAC: &str = "02:00:00:00:00:d1";
const CLIENT_MAC: &str = "02:00:00:00:00:c1";

fn config(variant: u8) -> Config {
    Config::parse(&format!(
        r#"(
        next_hop_mac: "{NEXT_HOP}",
        src_v4: "10.0.0.2",
        src_v6: "fd00::2",
        gue_variant: {variant},
        vips: [
            (addr: "10.100.0.1", port: 80, proto: tcp, backends: [
                (addr: "10.0.1.1"), (addr: "10.0.1.2"), (addr: "10.0.1.3", weight: 2)]),
            (addr: "10.100.0.2", port: 0, proto: udp, backends: [(addr: "fd00:1::1"), (addr: "fd00:1::2")]),
            (addr: "fd00:100::1", port: 443, proto: tcp, backends: [(addr: "fd00:1::1"), (addr: "fd00:1::2")]),
            (addr: "fd00:100::2", port: 0, proto: udp, backends: [(addr: "10.0.1.1")]),
            (addr: "10.100.0.9", port: 80, proto: tcp, backends: []),
        ],
    )"#
    ))
    .unwrap()
}

fn director(config: &Config) -> Option<Director> {
    if !netns::privileged("lb-xdp director test_run") {
        return None;
    }
    let mut d = Director::load().expect("load the director");
    let mac = OWN_MAC.parse::<lb_xdp::config::Mac>().unwrap().0;
    d.maps.apply(config, mac, None).expect("apply the config");
    Some(d)
}

/// The frame the director must send for `input` (whose inner packet starts at byte 14).
fn expected_frame(input: &[u8], backend: std::net::IpAddr, flow: &FlowKey, config: &Config) -> Vec<u8> {
    let inner = &input[14..];
    let inner_v4 = inner[0] >> 4 == 4;
    let tos = if inner_v4 { inner[1] } else { (u16::from_be_bytes([inner[0], inner[1]]) >> 4) as u8 };
    let hash = flow_hash(flow);
    let outer_ip = match backend {
        std::net::IpAddr::V4(b) => {
            let id = if inner_v4 { u16::from_be_bytes([inner[4], inner[5]]) } else { 0 };
            format!("IP(src='10.0.0.2', dst='{b}', id={id}, flags='DF', ttl=64, tos={tos})")
        }
        std::net::IpAddr::V6(b) => {
            format!("IPv6(src='fd00::2', dst='{b}', hlim=64, tc={tos}, fl={})", hash & 0xfffff)
        }
    };
    let gue = if config.gue_variant == 0 {
        format!("/GUE(proto={})", if inner_v4 { 4 } else { 41 })
    } else {
        String::new()
    };
    bytes(&format!(
        "Ether(dst='{NEXT_HOP}', src='{OWN_MAC}')/{outer_ip}/UDP(sport={}, dport=6080, chksum=0){gue}/{}",
        outer_sport(hash),
        raw(inner)
    ))
}

fn assert_encapsulated(d: &Director, config: &Config, input: &[u8], vip: usize, flow: &FlowKey) -> Vec<u8> {
    let (verdict, out) = run(d.program(), input);
    assert_eq!(verdict, XDP_TX, "verdict for {}", summary(input));
    let backend = expected_backend(config, vip, flow);
    let want = expected_frame(input, backend, flow, config);
    assert_eq!(summary(&out), summary(&want));
    assert_eq!(out, want, "\n got: {}\nwant: {}", summary(&out), summary(&want));
    let found = problems(&out);
    // IPv6 outer UDP carries a zero checksum (RFC 6935), which craft reports.
    let expected_problems = usize::from(backend.is_ipv6());
    assert_eq!(found.len(), expected_problems, "{found:?}");
    out
}

fn stats(d: &mut Director) -> Stats {
    d.maps.stats().unwrap()
}

#[test]
fn ipv4_tcp_vip_goes_to_its_maglev_backend_in_gue() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    for sport in [40000u16, 40001, 40002, 51515, 12345, 65535] {
        let input = bytes(&format!(
            "Ether(dst='{OWN_MAC}', src='{CLIENT_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', id={sport}, tos=0x28)/TCP(sport={sport}, dport=80, flags='S')/Raw(load=b'hello')"
        ));
        let flow = flow("198.51.100.7", "10.100.0.1", sport, 80, PROTO_TCP);
        assert_encapsulated(&d, &config, &input, 0, &flow);
    }
    let s = stats(&mut d);
    assert_eq!((s.counter("encap"), s.counter("tx"), s.counter("lru_miss"), s.counter("lru_hit")), (6, 6, 6, 0));
    // Again: the same flows are now remembered.
    let input = bytes(&format!(
        "Ether(dst='{OWN_MAC}', src='{CLIENT_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(sport=40000, dport=80, flags='A')"
    ));
    assert_encapsulated(&d, &config, &input, 0, &flow("198.51.100.7", "10.100.0.1", 40000, 80, PROTO_TCP));
    let s = stats(&mut d);
    assert_eq!(s.counter("lru_hit"), 1);
    let vip = s.vips.iter().find(|(id, _)| id.to_string() == "10.100.0.1:80/tcp").unwrap();
    assert_eq!(vip.1.packets, 7);
    assert_eq!(s.backends.iter().map(|b| b.1.packets).sum::<u64>(), 7);
}

#[test]
fn all_families_and_variant_1() {
    for variant in [0, 1] {
        let config = config(variant);
        let Some(d) = director(&config) else { return };
        // IPv4 VIP, any UDP port, IPv6 backends.
        let input = bytes(&format!(
            "Ether(dst='{OWN_MAC}', src='{CLIENT_MAC}')/IP(src='198.51.100.7', dst='10.100.0.2')/UDP(sport=5353, dport=9999)/Raw(load=b'q')"
        ));
        assert_encapsulated(&d, &config, &input, 1, &flow("198.51.100.7", "10.100.0.2", 5353, 9999, PROTO_UDP));
        // IPv6 VIP, IPv6 backends.
        let input = bytes(&format!(
            "Ether(dst='{OWN_MAC}', src='{CLIENT_MAC}')/IPv6(src='2001:db8::7', dst='fd00:100::1', tc=0xb8)/TCP(sport=33333, dport=443, flags='S')"
        ));
        assert_encapsulated(&d, &config, &input, 2, &flow("2001:db8::7", "fd00:100::1", 33333, 443, PROTO_TCP));
        // IPv6 VIP, IPv4 backend.
        let input = bytes(&format!(
            "Ether(dst='{OWN_MAC}', src='{CLIENT_MAC}')/IPv6(src='2001:db8::7', dst='fd00:100::2')/UDP(sport=1, dport=2)"
        ));
        assert_encapsulated(&d, &config, &input, 3, &flow("2001:db8::7", "fd00:100::2", 1, 2, PROTO_UDP));
    }
}

#[test]
fn other_traffic_passes_untouched() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    let inputs = [
        // Not a VIP address; a VIP address on another port; another protocol.
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.77')/TCP(dport=80)"),
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(dport=81)"),
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1')/UDP(dport=80)"),
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1')/ICMP()"),
        format!("Ether(dst='{OWN_MAC}')/IPv6(src='2001:db8::7', dst='fd00:100::1')/TCP(dport=80)"),
        "Ether(dst='ff:ff:ff:ff:ff:ff')/ARP(pdst='10.100.0.1')".to_string(),
        // Hop-by-hop header before TCP: not walked, so no VIP matches.
        format!("Ether(dst='{OWN_MAC}')/IPv6(src='2001:db8::7', dst='fd00:100::1')/IPv6ExtHdrHopByHop()/TCP(dport=443)"),
        // Cut short before the IP header ends.
        format!("Ether(dst='{OWN_MAC}', type=0x800)/Raw(load=b'\\x45\\x00')"),
    ];
    for expr in &inputs {
        let input = bytes(expr);
        let (verdict, out) = run(d.program(), &input);
        assert_eq!((verdict, &out), (XDP_PASS, &input), "{expr}");
    }
    assert_eq!(stats(&mut d).counter("pass"), inputs.len() as u64);
    assert_eq!(stats(&mut d).counter("encap"), 0);
}

#[test]
fn fragments_go_by_addresses_so_all_reach_one_backend() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    let flow = flow("198.51.100.7", "10.100.0.1", 0, 0, PROTO_TCP);
    let payload = raw(&[7u8; 64]);
    let first = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', proto=6, flags='MF', id=99)/TCP(sport=40000, dport=80)/{payload}"
    ));
    let later = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', proto=6, frag=11, id=99)/{payload}"
    ));
    // A VIP lookup needs the port: fragments match a VIP by (addr, port 0, proto) only.
    let (verdict, _) = run(d.program(), &first);
    assert_eq!(verdict, XDP_PASS, "no any-port TCP VIP on 10.100.0.1");
    let any_port = Config::parse(&format!(
        r#"(next_hop_mac: "{NEXT_HOP}", src_v4: "10.0.0.2",
            vips: [(addr: "10.100.0.1", port: 0, proto: tcp, backends: [(addr: "10.0.1.1"), (addr: "10.0.1.2"), (addr: "10.0.1.3")])])"#
    ))
    .unwrap();
    let Some(mut d2) = director(&any_port) else { return };
    let a = assert_encapsulated(&d2, &any_port, &first, 0, &flow);
    let b = assert_encapsulated(&d2, &any_port, &later, 0, &flow);
    assert_eq!(a[30..34], b[30..34], "same backend");
    let v6_first = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IPv6(src='2001:db8::7', dst='fd00:100::1')/IPv6ExtHdrFragment(m=1, id=5)/TCP(sport=1, dport=443)"
    ));
    let (verdict, _) = run(d.program(), &v6_first);
    assert_eq!(verdict, XDP_PASS);
    assert_eq!(stats(&mut d).counter("fragment"), 2);
    assert_eq!(stats(&mut d2).counter("fragment"), 2);
}

#[test]
fn ipv4_options_are_skipped_to_find_the_ports() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    let input = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', options=b'\\x94\\x04\\x00\\x00\\x01\\x01\\x01\\x00')/TCP(sport=4242, dport=80, flags='S')"
    ));
    assert_encapsulated(&d, &config, &input, 0, &flow("198.51.100.7", "10.100.0.1", 4242, 80, PROTO_TCP));
    assert_eq!(stats(&mut d).counter("ipv4_options"), 1);
}

#[test]
fn icmp_too_big_goes_to_the_backend_of_the_quoted_flow() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    // The client's flow and the router's complaint about the backend's reply to it.
    let client_flow = flow("198.51.100.7", "10.100.0.1", 40000, 80, PROTO_TCP);
    let quoted = "IP(src='10.100.0.1', dst='198.51.100.7')/TCP(sport=80, dport=40000, flags='A')/Raw(load=b'x')";
    let input = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IP(src='192.0.2.1', dst='10.100.0.1')/ICMP(type=3, code=4, nexthopmtu=1400)/{quoted}"
    ));
    assert_encapsulated(&d, &config, &input, 0, &client_flow);
    let client_flow6 = flow("2001:db8::7", "fd00:100::1", 33333, 443, PROTO_TCP);
    let quoted6 = "IPv6(src='fd00:100::1', dst='2001:db8::7')/TCP(sport=443, dport=33333)";
    let input = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IPv6(src='2001:db8::1', dst='fd00:100::1')/ICMPv6PacketTooBig(mtu=1280)/{quoted6}"
    ));
    assert_encapsulated(&d, &config, &input, 2, &client_flow6);
    assert_eq!(stats(&mut d).counter("icmp_too_big"), 2);
    // Other ICMP errors to a VIP are not about a flow the director tracks: they pass.
    let input = bytes(&format!(
        "Ether(dst='{OWN_MAC}')/IP(src='192.0.2.1', dst='10.100.0.1')/ICMP(type=3, code=1)/{quoted}"
    ));
    assert_eq!(run(d.program(), &input).0, XDP_PASS);
}

#[test]
fn malformed_and_backendless_vip_packets_are_dropped() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    // TCP header cut after 2 bytes, to a VIP address.
    let cut = bytes(&format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', proto=6)/Raw(load=b'\\x9c\\x40')"));
    assert_eq!(run(d.program(), &cut).0, XDP_DROP);
    let cut6 = bytes(&format!("Ether(dst='{OWN_MAC}')/IPv6(src='2001:db8::7', dst='fd00:100::1', nh=6)/Raw(load=b'\\x01')"));
    assert_eq!(run(d.program(), &cut6).0, XDP_DROP);
    // The same cut to a non-VIP passes.
    let other = bytes(&format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.77', proto=6)/Raw(load=b'\\x9c\\x40')"));
    assert_eq!(run(d.program(), &other).0, XDP_PASS);
    let empty_vip = bytes(&format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.9')/TCP(dport=80)"));
    assert_eq!(run(d.program(), &empty_vip).0, XDP_DROP);
    let s = stats(&mut d);
    assert_eq!((s.counter("malformed"), s.counter("no_backend")), (2, 1));
}

#[test]
fn flows_keep_their_backend_when_one_is_added_and_move_when_theirs_is_removed() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    let vip: lb_xdp::director::VipId = "10.100.0.1:80/tcp".parse().unwrap();
    let frame = |sport: u16| {
        bytes(&format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(sport={sport}, dport=80)"))
    };
    let backend_of = |d: &Director, sport: u16| {
        let (verdict, out) = run(d.program(), &frame(sport));
        assert_eq!(verdict, XDP_TX);
        std::net::Ipv4Addr::new(out[30], out[31], out[32], out[33])
    };
    let before: Vec<_> = (1000..1200).map(|p| backend_of(&d, p)).collect();
    d.maps.add_backend(vip, "10.0.1.4".parse().unwrap(), 1).unwrap();
    let after: Vec<_> = (1000..1200).map(|p| backend_of(&d, p)).collect();
    assert_eq!(before, after, "established flows keep their backend");
    // New flows use the new table, which includes the new backend.
    let mut bigger = config.clone();
    bigger.vips[0].backends.push(lb_xdp::config::BackendConfig { addr: "10.0.1.4".parse().unwrap(), weight: 1 });
    for sport in 5000..5100u16 {
        let want = expected_backend(&bigger, 0, &flow("198.51.100.7", "10.100.0.1", sport, 80, PROTO_TCP));
        assert_eq!(std::net::IpAddr::V4(backend_of(&d, sport)), want);
    }
    // Removing a backend moves its flows (and only its flows).
    d.maps.remove_backend(vip, "10.0.1.2".parse().unwrap()).unwrap();
    for (i, sport) in (1000..1200u16).enumerate() {
        let now = backend_of(&d, sport);
        if before[i].to_string() == "10.0.1.2" {
            assert_ne!(now.to_string(), "10.0.1.2");
        } else {
            assert_eq!(now, before[i]);
        }
    }
    assert!(d.maps.remove_backend(vip, "10.0.1.2".parse().unwrap()).is_err());
}

#[test]
fn redirect_through_the_devmap_instead_of_tx() {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    let lo = lb_xdp::sys::Interface::lookup("lo").unwrap();
    d.maps.apply(&config, OWN_MAC.parse::<lb_xdp::config::Mac>().unwrap().0, Some(lo.index)).unwrap();
    let input = bytes(&format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(sport=1, dport=80)"));
    let (verdict, out) = run(d.program(), &input);
    assert_eq!(verdict, XDP_REDIRECT);
    let want = expected_frame(&input, expected_backend(&config, 0, &flow("198.51.100.7", "10.100.0.1", 1, 80, PROTO_TCP)), &flow("198.51.100.7", "10.100.0.1", 1, 80, PROTO_TCP), &config);
    assert_eq!(out, want);
    let s = stats(&mut d);
    assert_eq!((s.counter("redirect"), s.counter("tx")), (1, 0));
}

/// The connection table's buckets, IPv4 and IPv6 (one table each): `ways` flows of one
/// bucket all take a way of their own and are remembered; one more replaces the way CLOCK's
/// hand points at once every way was used since the hand passed (here the first, the hand
/// not having moved yet); the flow it replaced is then a miss, the others hits, and every
/// flow keeps its Maglev backend.
fn a_full_bucket_replaces_one_way(vip: usize, client_prefix: &str, ip: &str, buckets: u32, ways: usize) {
    let config = config(0);
    let Some(mut d) = director(&config) else { return };
    let (dst, dport) = (config.vips[vip].addr.to_string(), config.vips[vip].port);
    // ways + 1 client flows to the VIP whose hashes pick one bucket.
    let mut same = Vec::new();
    let mut bucket = None;
    'search: for client in 1..=250u8 {
        for sport in 1..=u16::MAX {
            let src = format!("{client_prefix}{client}");
            let f = flow(&src, &dst, sport, dport, PROTO_TCP);
            let b = flow_hash(&f) & (buckets - 1);
            if *bucket.get_or_insert(b) == b {
                same.push((src, sport, f));
                if same.len() == ways + 1 {
                    break 'search;
                }
            }
        }
    }
    assert_eq!(same.len(), ways + 1, "no bucket with {} flows found", ways + 1);
    // (lru_hit, lru_miss) added by one packet of the flow, encapsulated toward its backend.
    let send = |d: &mut Director, (src, sport, f): &(String, u16, FlowKey)| -> (u64, u64) {
        let input = bytes(&format!(
            "Ether(dst='{OWN_MAC}', src='{CLIENT_MAC}')/{ip}(src='{src}', dst='{dst}')/TCP(sport={sport}, dport={dport}, flags='A')"
        ));
        let before = stats(d);
        assert_encapsulated(d, &config, &input, vip, f);
        let after = stats(d);
        (after.counter("lru_hit") - before.counter("lru_hit"), after.counter("lru_miss") - before.counter("lru_miss"))
    };
    let (first, extra) = same.split_at(ways);
    for f in first {
        assert_eq!(send(&mut d, f), (0, 1), "first packet of {f:?}");
    }
    for f in first {
        assert_eq!(send(&mut d, f), (1, 0), "{f:?} is remembered");
    }
    assert_eq!(send(&mut d, &extra[0]), (0, 1), "the flow one too many");
    assert_eq!(send(&mut d, &extra[0]), (1, 0), "the flow one too many, remembered");
    for f in &first[1..] {
        assert_eq!(send(&mut d, f), (1, 0), "{f:?} kept its way");
    }
    assert_eq!(send(&mut d, &first[0]), (0, 1), "{:?} lost the first way", first[0]);
}

#[test]
fn a_full_ipv4_bucket_replaces_one_way_and_flows_keep_their_backend() {
    use lb_xdp_common::{FLOW4_BUCKETS, FLOW4_WAYS};
    a_full_bucket_replaces_one_way(0, "198.51.100.", "IP", FLOW4_BUCKETS, FLOW4_WAYS);
}

#[test]
fn a_full_ipv6_bucket_replaces_one_way_and_flows_keep_their_backend() {
    use lb_xdp_common::{FLOW6_BUCKETS, FLOW6_WAYS};
    a_full_bucket_replaces_one_way(2, "2001:db8::", "IPv6", FLOW6_BUCKETS, FLOW6_WAYS);
}
