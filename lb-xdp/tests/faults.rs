//! The director's test-only fault switches (feature `faults`: `cargo test --workspace`
//! turns it on through fixtures' dev-dependency, or `cargo test -p lb-xdp --features
//! faults`), through BPF_PROG_TEST_RUN: with no fault switched on the faulty object acts as
//! the real director; adjust-head-sign drops what it should encapsulate; csum-not-zeroed is
//! invisible here, because test_run's headroom is zeroed (fixtures' csum-not-zeroed shows
//! it on live veth traffic). And the default binary knows no `--fault`.
#![cfg(feature = "faults")]

mod common;

use common::*;
use lb_xdp::config::Config;
use lb_xdp::director::Director;
use lb_xdp::faults::Fault;

const OWN_MAC: &str = "02:00:00:00:00:d1";

fn config() -> Config {
    Config::parse(
        r#"(next_hop_mac: "02:00:00:00:00:fe", src_v4: "10.0.0.2",
            vips: [(addr: "10.100.0.1", port: 5000, proto: udp, backends: [(addr: "10.0.1.1")])])"#,
    )
    .unwrap()
}

fn director(faults: Option<&[Fault]>) -> Option<Director> {
    if !netns::privileged("lb-xdp faults test_run") {
        return None;
    }
    let mut d = match faults {
        Some(faults) => Director::load_with_faults(faults).expect("load the faulty director"),
        None => Director::load().expect("load the director"),
    };
    let mac = OWN_MAC.parse::<lb_xdp::config::Mac>().unwrap().0;
    d.maps.apply(&config(), mac, None).expect("apply the config");
    Some(d)
}

fn inputs() -> Vec<Vec<u8>> {
    [
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', id=7)/UDP(sport=4000, dport=5000)/b'hello'"),
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.1', tos=0x10)/UDP(sport=4001, dport=5000)/Raw(load=b'{}')", "x".repeat(300)),
        format!("Ether(dst='{OWN_MAC}')/IP(src='198.51.100.7', dst='10.100.0.77')/UDP(dport=5000)"),
    ]
    .iter()
    .map(|e| bytes(e))
    .collect()
}

#[test]
fn with_no_fault_on_it_is_the_real_director() {
    let (Some(real), Some(faulty)) = (director(None), director(Some(&[]))) else { return };
    for input in inputs() {
        assert_eq!(run(faulty.program(), &input), run(real.program(), &input), "{}", summary(&input));
    }
}

#[test]
fn adjust_head_sign_drops_what_it_should_encapsulate() {
    let Some(mut d) = director(Some(&[Fault::AdjustHeadSign])) else { return };
    let input = &inputs()[0];
    assert_eq!(run(d.program(), input).0, XDP_DROP, "{}", summary(input));
    let s = d.maps.stats().unwrap();
    assert_eq!((s.counter("no_headroom"), s.counter("encap")), (1, 0));
    // Not for a VIP: untouched, as always.
    assert_eq!(run(d.program(), &inputs()[2]).0, XDP_PASS);
}

#[test]
fn csum_not_zeroed_is_right_on_a_zeroed_headroom() {
    let (Some(real), Some(faulty)) = (director(None), director(Some(&[Fault::CsumNotZeroed]))) else { return };
    for input in &inputs()[..2] {
        let (verdict, out) = run(faulty.program(), input);
        assert_eq!(verdict, XDP_TX);
        // BPF_PROG_TEST_RUN copies the frame into a zeroed buffer: the field the faulty
        // sum runs over holds 0, so its checksum comes out right.
        assert_eq!(out, run(real.program(), input).1);
        assert_eq!(problems(&out), Vec::<String>::new());
    }
}

#[test]
fn only_lb_xdp_faults_has_fault_switches() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_lb-xdp-faults")).args(["director", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--fault"));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_lb-xdp-faults"))
        .args(["director", "--iface", "lo", "--config", "x.ron", "--fault", "nope"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no fault 'nope'; there are: csum-not-zeroed, adjust-head-sign"), "{bad:?}");
    let real = std::process::Command::new(env!("CARGO_BIN_EXE_lb-xdp"))
        .args(["director", "--iface", "lo", "--config", "x.ron", "--fault", "csum-not-zeroed"])
        .output()
        .unwrap();
    assert_eq!(real.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&real.stderr).contains("unexpected argument '--fault'"), "{real:?}");
}
