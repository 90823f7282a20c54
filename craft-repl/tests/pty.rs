//! The real craft-repl binary in a pseudo-terminal: tab completion, history across runs,
//! Ctrl-C at the prompt and during a running statement, Ctrl-D, errors.
//!
//! Each session has a deadline on every wait and is killed when the test ends, so nothing
//! hangs. Output is matched with rustyline's ANSI escapes stripped.

#[path = "support/pty.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Repl, WAIT};

const BIN: &str = env!("CARGO_BIN_EXE_craft-repl");

fn repl(envs: &[(&str, &str)]) -> Repl {
    Repl::spawn(BIN, envs)
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("craft-pty-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn tab_completion() {
    let mut r = repl(&[]);
    r.prompt();
    // A layer's field names inside its call.
    r.send("IP(ds\t");
    r.expect("IP(dst=");
    r.send("'10.0.0.1').dst\r");
    assert!(r.prompt().contains("'10.0.0.1'"));
    // Field names of a layer of a variable.
    r.line("p = IP()/TCP()");
    r.send("p[TCP].dp\t");
    r.expect("p[TCP].dport");
    assert!(r.line("").contains("80"));
    // Names.
    r.send("con\t");
    r.expect("conf");
    r.send(".ve\t");
    r.expect("conf.verb");
    assert!(r.line("").contains('2'));
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
}

#[test]
fn completes_an_async_sniffers_attributes() {
    // Made, not started: no packet socket, no root needed.
    let mut r = repl(&[]);
    r.prompt();
    r.line("t = AsyncSniffer(iface='lo', prn=lambda p: p.summary())");
    r.send("t.runn\t");
    r.expect("t.running");
    assert!(r.line("").contains("False"));
    r.send("t.res\t");
    r.expect("t.results");
    r.line("");
    let out = r.line("t.stop()");
    assert!(out.contains("<stdin>:4:1: Not running ! (check .running attr)"), "{out:?}");
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
}

#[test]
fn history_across_runs() {
    let hist = temp_path("history");
    let h = hist.to_str().unwrap();
    let mut r = repl(&[("CRAFT_HISTORY", h)]);
    r.prompt();
    r.line("x = 4242");
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
    let saved = std::fs::read_to_string(&hist).unwrap();
    assert!(saved.contains("x = 4242"), "{saved:?}");

    let mut r = repl(&[("CRAFT_HISTORY", h)]);
    r.prompt();
    r.send("\x1b[A");
    r.expect("x = 4242");
    r.line("");
    assert!(r.line("x + 1").contains("4243"));
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
    let _ = std::fs::remove_file(&hist);
}

#[test]
fn ctrl_c_clears_the_line() {
    let mut r = repl(&[]);
    r.prompt();
    r.send("1+");
    r.expect("1+");
    r.send("\x03");
    r.prompt();
    let out = r.line("1+1");
    assert!(out.contains("\n2\r\n"), "{out:?}");
    assert!(!r.out.contains("<stdin>"), "the cleared line ran: {:?}", r.out);
    // In a multi-line input too.
    r.send("x = (1,\r");
    r.expect("... ");
    r.send("\x03");
    r.prompt();
    let out = r.line("3*3");
    assert!(out.contains("\n9\r\n"), "{out:?}");
}

#[test]
fn ctrl_d_exits_zero() {
    let mut r = repl(&[]);
    r.expect("craft-repl");
    r.prompt();
    r.send("\x04");
    assert_eq!(r.wait_exit(WAIT).code(), Some(0));
}

#[test]
fn exit_function_exits() {
    let mut r = repl(&[]);
    r.prompt();
    r.send("exit()\r");
    assert_eq!(r.wait_exit(WAIT).code(), Some(0));
}

#[test]
fn errors_keep_the_session() {
    let mut r = repl(&[]);
    r.prompt();
    let out = r.line("1 + undefined_xyz");
    assert!(out.contains("<stdin>:1:5: name 'undefined_xyz' is not defined"), "{out:?}");
    assert!(out.contains("    1 + undefined_xyz\r\n        ^"), "{out:?}");
    // An open bracket waits for more; the error is in the second line.
    r.send("IP(ttl=\r");
    r.expect("... ");
    r.send("nothing_here)\r");
    let out = r.prompt();
    assert!(out.contains("<stdin>:3:1: name 'nothing_here' is not defined"), "{out:?}");
    let out = r.line("2+2");
    assert!(out.contains("\n4\r\n"), "{out:?}");
}

#[test]
fn blocks_over_several_lines() {
    let mut r = repl(&[]);
    r.prompt();
    r.send("for i in range(3):\r");
    r.expect("... ");
    // The body line is indented for us.
    r.send("print(i * 10)\r");
    r.expect("... ");
    let out = r.line("");
    assert!(out.contains("0\r\n10\r\n20\r\n"), "{out:?}");
}

#[test]
fn ctrl_c_stops_a_running_loop() {
    let mut r = repl(&[]);
    r.prompt();
    r.send("while True: pass\r");
    r.expect("... ");
    r.send("\r");
    r.expect("\n"); // the statement runs
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    r.send("\x03");
    let out = r.prompt_within(Duration::from_secs(1));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(out.contains("KeyboardInterrupt"), "{out:?}");
    let out = r.line("1+1");
    assert!(out.contains("\n2\r\n"), "{out:?}");
}

#[test]
fn ctrl_c_stops_a_sniff() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "ctrl_c_stops_a_sniff needs root (a packet socket) and CI runs as root");
        eprintln!("skipped ctrl_c_stops_a_sniff: sniff() needs root (a packet socket on lo)");
        return;
    }
    let mut r = repl(&[]);
    r.prompt();
    r.send("s = sniff(iface='lo', timeout=30)\r");
    r.expect("\n"); // the statement runs
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    r.send("\x03");
    let out = r.prompt_within(Duration::from_secs(1));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(!out.contains("<stdin>"), "sniff failed: {out:?}");
    // The partial result was kept.
    let out = r.line("s");
    assert!(out.contains("<Sniffed"), "{out:?}");
    r.send("\x04");
    assert!(r.wait_exit(WAIT).success());
}

/// Start-up time of the binary in $CRAFT_REPL_BIN (else the debug one): spawn to the first
/// prompt, median of 20 runs. `cargo build --release -p craft-repl && CRAFT_REPL_BIN=target/release/craft-repl
/// cargo test -p craft-repl --test pty startup -- --ignored --nocapture`
#[test]
#[ignore]
fn startup_time() {
    let bin = std::env::var("CRAFT_REPL_BIN").unwrap_or_else(|_| BIN.to_string());
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let mut r = Repl::spawn(&bin, &[]);
            r.prompt();
            let d = t.elapsed();
            r.send("\x04");
            r.wait_exit(WAIT);
            d
        })
        .collect();
    times.sort();
    println!("{bin}: start-up to the first prompt, median of 20: {:?} (min {:?}, max {:?})", times[10], times[0], times[19]);
}
