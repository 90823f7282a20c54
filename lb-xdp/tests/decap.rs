//! The decap program through BPF_PROG_TEST_RUN: GUE variants 0 and 1 over IPv4 and IPv6
//! lose their outer headers and nothing else; malformed GUE is dropped; the rest passes.
mod common;

use common::*;
use lb_xdp::decap::Decap;
use lb_xdp::sys::Interface;

const OWN_MAC: &str = "02:00:00:00:00:b1";
const ROUTER_MAC: &str = "02:00:00:00:00:fe";

fn decap() -> Option<Decap> {
    if !netns::privileged("lb-xdp decap test_run") {
        return None;
    }
    let mut d = Decap::load().expect("load decap");
    d.maps.configure(6080, None).unwrap();
    Some(d)
}

const INNER_V4: &str = "IP(src='198.51.100.7', dst='10.100.0.1', id=7, ttl=63)/TCP(sport=40000, dport=80, flags='S', options=[('MSS', 1460)])/Raw(load=b'payload')";
const INNER_V6: &str = "IPv6(src='2001:db8::7', dst='fd00:100::1', hlim=9)/UDP(sport=5353, dport=53)/Raw(load=b'query')";

fn outer(outer_ip: &str, gue: &str, inner: &str) -> Vec<u8> {
    bytes(&format!("Ether(dst='{OWN_MAC}', src='{ROUTER_MAC}')/{outer_ip}/UDP(sport=50000, dport=6080){gue}/{inner}"))
}

/// The frame decap must hand on: the outer Ether addresses, the inner packet untouched.
fn decapsulated(inner: &str) -> Vec<u8> {
    bytes(&format!("Ether(dst='{OWN_MAC}', src='{ROUTER_MAC}')/{inner}"))
}

#[test]
fn both_variants_over_both_families_are_stripped_to_the_inner_packet() {
    let Some(mut d) = decap() else { return };
    let outers = ["IP(src='10.0.0.2', dst='10.0.1.1')", "IPv6(src='fd00::2', dst='fd00:1::1')"];
    let mut runs = 0;
    for outer_ip in outers {
        for inner in [INNER_V4, INNER_V6] {
            for gue in ["/GUE()", "/GUE(ver=1)", "/GUE(hlen=2, data=b'\\x00\\x00\\x00\\x00\\x01\\x02\\x03\\x04')"] {
                let input = outer(outer_ip, gue, inner);
                let (verdict, out) = run(d.program(), &input);
                let want = decapsulated(inner);
                assert_eq!(verdict, XDP_PASS, "{}", summary(&input));
                assert_eq!(out, want, "\n  in: {}\n got: {}\nwant: {}", summary(&input), summary(&out), summary(&want));
                assert!(problems(&out).is_empty(), "{:?}", problems(&out));
                runs += 1;
            }
        }
    }
    let counters = d.maps.counters().unwrap();
    let get = |name: &str| counters.iter().find(|c| c.0 == name).unwrap().1;
    assert_eq!((get("decap_v0"), get("decap_v1"), get("pass")), (runs / 3 * 2, runs / 3, 0));
}

#[test]
fn malformed_gue_is_dropped() {
    let Some(mut d) = decap() else { return };
    let v4 = "IP(src='10.0.0.2', dst='10.0.1.1')";
    let cases = [
        ("GUE version 2", outer(v4, "", "Raw(load=b'\\x80\\x04\\x00\\x00')")),
        ("GUE version 3", outer(v4, "", "Raw(load=b'\\xc0\\x04\\x00\\x00')")),
        ("hlen past the packet", outer(v4, "/GUE(hlen=31, proto=4)", INNER_V4)),
        ("unknown proto", outer(v4, "/GUE(proto=17)", INNER_V4)),
        ("proto says IPv6, packet is IPv4", outer(v4, "/GUE(proto=41)", INNER_V4)),
        ("variant 1 with version nibble 5", outer(v4, "", "Raw(load=b'\\x55\\x00\\x00\\x14')")),
        ("GUE header cut", outer(v4, "", "Raw(load=b'\\x00')")),
        ("inner header cut", outer(v4, "/GUE(proto=4)", "Raw(load=b'\\x45\\x00\\x00\\x14')")),
        ("empty UDP payload", outer(v4, "", "Raw(load=b'')")),
    ];
    for (what, input) in &cases {
        let (verdict, _) = run(d.program(), input);
        assert_eq!(verdict, XDP_DROP, "{what}: {}", summary(input));
    }
    let counters = d.maps.counters().unwrap();
    assert_eq!(counters.iter().find(|c| c.0 == "malformed").unwrap().1, cases.len() as u64);
}

#[test]
fn everything_else_passes_untouched() {
    let Some(mut d) = decap() else { return };
    let v4 = "IP(src='10.0.0.2', dst='10.0.1.1')";
    let inputs = [
        // Control messages go to the stack.
        bytes(&format!("Ether(dst='{OWN_MAC}')/{v4}/UDP(dport=6080)/GUE(c=1, proto=0)/Raw(load=b'ctl')")),
        bytes(&format!("Ether(dst='{OWN_MAC}')/{v4}/UDP(sport=1, dport=6081)/GUE()/{INNER_V4}")),
        bytes(&format!("Ether(dst='{OWN_MAC}')/{v4}/TCP(dport=6080)")),
        bytes(&format!("Ether(dst='{OWN_MAC}')/{v4}/ICMP()")),
        bytes(&format!("Ether(dst='{OWN_MAC}')/IP(src='10.0.0.2', dst='10.0.1.1', flags='MF')/UDP(dport=6080)/GUE()/{INNER_V4}")),
        bytes(&format!("Ether(dst='{OWN_MAC}')/IPv6(src='fd00::2', dst='fd00:1::1')/IPv6ExtHdrDestOpt()/UDP(dport=6080)/GUE()/{INNER_V4}")),
        bytes("Ether(dst='ff:ff:ff:ff:ff:ff')/ARP()"),
        bytes(&format!("Ether(dst='{OWN_MAC}', type=0x86dd)/Raw(load=b'\\x60')")),
    ];
    for input in &inputs {
        let (verdict, out) = run(d.program(), input);
        assert_eq!((verdict, &out), (XDP_PASS, input), "{}", summary(input));
    }
    let counters = d.maps.counters().unwrap();
    let get = |name: &str| counters.iter().find(|c| c.0 == name).unwrap().1;
    assert_eq!((get("control"), get("pass")), (1, inputs.len() as u64 - 1));
}

#[test]
fn redirect_rewrites_the_destination_mac() {
    let Some(mut d) = decap() else { return };
    let lo = Interface::lookup("lo").unwrap();
    let target = Interface { mac: [0x02, 0, 0, 0, 0, 0x42], ..lo };
    d.maps.configure(6080, Some(&target)).unwrap();
    let input = outer("IP(src='10.0.0.2', dst='10.0.1.1')", "/GUE()", INNER_V4);
    let (verdict, out) = run(d.program(), &input);
    assert_eq!(verdict, XDP_REDIRECT);
    assert_eq!(out, bytes(&format!("Ether(dst='02:00:00:00:00:42', src='{ROUTER_MAC}')/{INNER_V4}")));
}

#[test]
fn director_then_decap_gives_back_the_clients_packet() {
    use lb_xdp::director::Director;
    let Some(d) = decap() else { return };
    let config = lb_xdp::config::Config::parse(
        r#"(next_hop_mac: "02:00:00:00:00:b1", src_v4: "10.0.0.2", src_v6: "fd00::2",
            vips: [(addr: "10.100.0.1", port: 80, proto: tcp, backends: [(addr: "10.0.1.1"), (addr: "fd00:1::1")])])"#,
    )
    .unwrap();
    let mut director = Director::load().unwrap();
    director.maps.apply(&config, [2, 0, 0, 0, 0, 0xfe], None).unwrap();
    for sport in 40000..40020u16 {
        let client = bytes(&format!(
            "Ether(dst='02:00:00:00:00:d1', src='02:00:00:00:00:c1')/IP(src='198.51.100.7', dst='10.100.0.1')/TCP(sport={sport}, dport=80, flags='S')/Raw(load=b'hi')"
        ));
        let (verdict, encapsulated) = run(director.program(), &client);
        assert_eq!(verdict, XDP_TX);
        let (verdict, out) = run(d.program(), &encapsulated);
        assert_eq!(verdict, XDP_PASS);
        assert_eq!(out[14..], client[14..], "the inner packet is unchanged");
        assert_eq!(out[..12], encapsulated[..12], "the outer MACs stay");
    }
}
