//! The library's `Sniffer` dissects what it stores with the `DissectCx` given in
//! `SniffOpts::dissect`: GUE on a port other than 6080 (the CLI's `--gue-port`) is decoded
//! for library users too. Two captures run at once on the same interface, one with the
//! port and one without; frames are sent from namespace A to B over the test's own veth
//! pair (tests/common/netns.rs).

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::lab::lab;
use common::netns::privileged;
use craft::layer::DissectCx;
use craft::live::{self, SendOpts, SniffOpts, Sniffer};
use craft::prelude::*;

const T: Duration = Duration::from_secs(30);
const GUE_PORT: u16 = 7777;

#[test]
fn sniffer_decodes_gue_on_the_ports_of_its_dissect_cx() {
    if !privileged("sniffer_decodes_gue_on_the_ports_of_its_dissect_cx") {
        return;
    }
    let lab = lab("craft-g", ("10.204.0.1", "10.204.0.2"), None);
    let frame = Ether::new().dst(lab.mac_b).src(lab.mac_a)
        / Ip::new().src("10.204.0.1").dst("10.204.0.2")
        / Udp::new().sport(40000).dport(GUE_PORT)
        / Gue::new()
        / Ip::new().src("192.0.2.1").dst("198.51.100.1")
        / Udp::new().sport(1).dport(2)
        / b"inner".to_vec();

    let (ready_tx, ready_rx) = mpsc::channel();
    let dev_b = lab.veth.b.clone();
    let capture = lab.b.spawn(move || {
        let opts = |dissect| SniffOpts {
            count: Some(1),
            timeout: Some(Duration::from_secs(10)),
            filter: Some(format!("udp dst port {GUE_PORT}")),
            dissect,
            ..SniffOpts::default()
        };
        let mut cx = DissectCx::default();
        cx.gue_port(GUE_PORT);
        let with_port = Sniffer::new(&dev_b, opts(cx));
        let without = Sniffer::new(&dev_b, opts(DissectCx::default()));
        ready_tx.send(()).unwrap();
        (with_port.unwrap().run().unwrap(), without.unwrap().run().unwrap())
    });
    ready_rx.recv_timeout(T).expect("sniffers did not start");
    let dev_a = lab.veth.a.clone();
    lab.a.run(T, move || live::sendp(&dev_a, &[frame], SendOpts::default()).expect("sendp"));
    let (with_port, without) = capture.join().expect("capture thread");

    let kinds = |p: &Packet| p.layers.iter().map(Layer::kind).collect::<Vec<_>>();
    let [(_, p)] = &with_port.packets[..] else { panic!("{:?}", with_port.packets) };
    use LayerKind as K;
    assert_eq!(kinds(p), [K::Ether, K::Ip, K::Udp, K::Gue, K::Ip, K::Udp, K::Raw], "{}", p.summary());
    let [(_, p)] = &without.packets[..] else { panic!("{:?}", without.packets) };
    assert_eq!(kinds(p), [K::Ether, K::Ip, K::Udp, K::Raw], "{}", p.summary());
}
