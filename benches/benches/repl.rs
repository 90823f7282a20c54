//! craft-repl's start-up, beside scapy's (issue: ≤ 50 ms and ≥ 20× faster than scapy).
//!
//! - `repl/dash_c_pass`: `craft-repl -c pass`, the whole process (spawn to exit).
//! - `repl/piped_one_packet`: `IP(dst="10.0.0.2")/ICMP()` and its raw bytes piped on stdin.
//! - `repl/in_process_one_packet`: the same statements in an `Interp`, no process.
//! - after criterion: `python3 -c 'from scapy.all import *'` timed the same way (median of
//!   5 runs), and the ratio; skipped with a note when python3 has no scapy.
//!
//! The binary is built in release first (`cargo build --release -p craft-repl`).
//! Run: `cargo bench -p benches --bench repl`.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;

const ONE_PACKET: &str = "p = IP(dst=\"10.0.0.2\")/ICMP()\nraw(p)\n";

/// The release craft-repl binary, built now.
fn binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "--release", "-q", "-p", "craft-repl", "--bin", "craft-repl"])
        .current_dir(&root)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot build craft-repl");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("release").join("craft-repl")
}

fn run(cmd: &mut Command, input: Option<&str>) {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    if let Some(input) = input {
        let _ = child.stdin.take().map(|mut s| s.write_all(input.as_bytes()));
    }
    drop(child.stdin.take());
    let status = child.wait().expect("wait");
    assert!(status.success());
}

fn median(mut f: impl FnMut() -> Duration, n: usize) -> Duration {
    let mut times: Vec<Duration> = (0..n).map(|_| f()).collect();
    times.sort();
    times[n / 2]
}

fn main() {
    let bin = binary();
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("repl");
    g.bench_function("dash_c_pass", |b| b.iter(|| run(Command::new(&bin).args(["-c", "pass"]), None)));
    g.bench_function("piped_one_packet", |b| b.iter(|| run(&mut Command::new(&bin), Some(ONE_PACKET))));
    g.bench_function("in_process_one_packet", |b| {
        b.iter(|| {
            let mut me = craft_repl::interp::Interp::new(Box::new(std::io::sink()));
            me.echo = true;
            black_box(me.run(ONE_PACKET)).ok();
        })
    });
    g.finish();
    c.final_summary();

    let ours = median(
        || {
            let t = Instant::now();
            run(Command::new(&bin).args(["-c", "pass"]), None);
            t.elapsed()
        },
        21,
    );
    println!("craft-repl -c pass: median {:.1} ms (21 runs)", ours.as_secs_f64() * 1e3);
    let has_scapy = Command::new("python3").args(["-c", "import scapy"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !has_scapy {
        println!("python3 -c 'from scapy.all import *': skipped (no scapy: pip install scapy)");
        return;
    }
    let scapy = median(
        || {
            let t = Instant::now();
            run(Command::new("python3").args(["-c", "from scapy.all import *"]), None);
            t.elapsed()
        },
        5,
    );
    println!(
        "python3 -c 'from scapy.all import *': median {:.1} ms (5 runs); craft-repl is {:.0}x faster",
        scapy.as_secs_f64() * 1e3,
        scapy.as_secs_f64() / ours.as_secs_f64()
    );
}
