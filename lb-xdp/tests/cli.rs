//! The lb-xdp command's errors: what went wrong, in one message, non-zero exit.
mod common;

use common::netns::{privileged, AsNobody};
use std::process::Command;

const LB_XDP: &str = env!("CARGO_BIN_EXE_lb-xdp");

fn lb_xdp(args: &[&str]) -> (i32, String) {
    let out = Command::new(LB_XDP).args(args).output().expect("run lb-xdp");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_input_says_what_and_where() {
    let dir = std::env::temp_dir().join(format!("lb-xdp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("lb.ron");
    std::fs::write(&config, "(\n  next_hop_mac: \"02:00:00:00:00:01\",\n  vips: [(addr: \"10.0.0.1\", port: 80, proto: tcp, backends: [(addr: \"10.0.1.1\", wieght: 2)])],\n)\n").unwrap();
    let (code, err) = lb_xdp(&["director", "--iface", "lo", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{}:3:81: ", config.display())) && err.contains("wieght"), "{err}");
    let (code, err) = lb_xdp(&["director", "--iface", "no-such-if0", "--config", "/nonexistent.ron"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent.ron"), "{err}");
    std::fs::write(&config, "(next_hop_mac: \"02:00:00:00:00:01\")").unwrap();
    let (code, err) = lb_xdp(&["director", "--iface", "no-such-if0", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no such interface 'no-such-if0'"), "{err}");
    let (code, err) = lb_xdp(&["backend", "add", "--iface", "lo", "--vip", "10.0.0.1/tcp", "--backend", "10.0.1.1"]);
    assert_eq!(code, 2);
    assert!(err.contains("10.0.0.1/tcp") && err.contains("ADDR:PORT"), "{err}");
    let (code, err) = lb_xdp(&["decap", "--iface", "lo", "--redirect", "lo"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot redirect to lo") && err.contains("OTHERHOST"), "{err}");
    let (code, err) = lb_xdp(&["stats", "--iface", "no-such-if0"]);
    assert_eq!(code, 2);
    assert!(err.contains("no director runs on no-such-if0"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_privileges_it_says_what_it_needs() {
    if !privileged("lb-xdp without privileges") {
        return;
    }
    let nobody = AsNobody::new(LB_XDP);
    for args in [&["decap", "--iface", "lo"][..], &["pass", "--iface", "lo"]] {
        let out = nobody.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("lb-xdp: error: cannot load the "), "{args:?}: {err}");
        assert!(err.trim_end().ends_with("Operation not permitted (os error 1) (lb-xdp needs root, or CAP_BPF and CAP_NET_ADMIN)"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}
