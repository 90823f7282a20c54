//! Runs `craft-repl` on the scapy session corpus (`fixtures/scapy/sessions.jsonl`, made by
//! real scapy 2.8.0 with `fixtures/scapy/gen_sessions.py`) and compares what it prints.
//!
//! Each session's `source` (plus a final newline) goes to the binary's stdin, with no
//! arguments: in non-tty mode it prints only what the statements print or echo. A session
//! *matches* when stdout ends with the session's `final_repr` and a newline (the last value,
//! echoed as scapy echoes it); it *matches fully* when stdout is exactly scapy's.
//!
//! The test prints a report (counts, and for every session that does not match, what scapy
//! printed against what craft-repl printed) and fails when fewer than `MIN_MATCH_PERCENT`
//! of the sessions match.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The share of sessions that must match (their final value echoed as scapy does).
const MIN_MATCH_PERCENT: f64 = 95.0;
/// How long one session may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How many lines of expected/got output the report shows per failing session.
const REPORT_LINES: usize = 3;
/// Each of those lines is clipped to this many characters.
const REPORT_LINE_CHARS: usize = 200;

struct Session {
    name: String,
    category: String,
    tags: Vec<String>,
    source: String,
    stdout: String,
    final_repr: String,
}

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scapy/sessions.jsonl")
}

fn load_sessions() -> Vec<Session> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let field = |v: &serde_json::Value, line: usize, key: &str| -> String {
        v.get(key)
            .and_then(|s| s.as_str())
            .unwrap_or_else(|| panic!("{}:{line}: no string field {key:?}", path.display()))
            .to_string()
    };
    let mut sessions = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}:{}: bad JSON: {e}", path.display(), i + 1));
        let tags = v
            .get("tags")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        sessions.push(Session {
            name: field(&v, i + 1, "name"),
            category: v
                .get("category")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .to_string(),
            tags,
            source: field(&v, i + 1, "source"),
            stdout: field(&v, i + 1, "stdout"),
            final_repr: field(&v, i + 1, "final_repr"),
        });
    }
    sessions
}

/// What one run of the binary gave.
struct Run {
    stdout: String,
    stderr: String,
    /// The exit code, or a description (killed by a signal, timed out, could not start).
    status: String,
    timed_out: bool,
}

/// Runs craft-repl with `input` on stdin, killing it after `TIMEOUT`.
fn run_repl(input: &str) -> Run {
    let mut child = match Command::new(env!("CARGO_BIN_EXE_craft-repl"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Run {
                stdout: String::new(),
                stderr: String::new(),
                status: format!("could not start: {e}"),
                timed_out: false,
            }
        }
    };
    // Write stdin and read stdout/stderr on threads, so that neither side can block the
    // other whatever the binary does (exits early, prints a lot, never reads).
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
        // stdin is dropped here: the binary sees end of input.
    });
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });

    let deadline = Instant::now() + TIMEOUT;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                break match st.code() {
                    Some(c) => format!("exit {c}"),
                    None => format!("{st}"),
                }
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                timed_out = true;
                break format!("killed after {} s", TIMEOUT.as_secs());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                break format!("wait failed: {e}");
            }
        }
    };
    let _ = writer.join();
    // After the child is gone its pipe ends are closed, unless it left a grandchild holding
    // them; the corpus gives no reason for craft-repl to spawn anything.
    let stdout = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Run {
        stdout,
        stderr,
        status,
        timed_out,
    }
}

/// The first `REPORT_LINES` lines of `text`, each clipped, indented for the report.
fn excerpt(text: &str) -> String {
    if text.is_empty() {
        return "      (nothing)\n".to_string();
    }
    let mut out = String::new();
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(REPORT_LINES) {
        let clipped: String = line.chars().take(REPORT_LINE_CHARS).collect();
        let more = if line.chars().count() > REPORT_LINE_CHARS {
            "…"
        } else {
            ""
        };
        out.push_str(&format!("      | {clipped}{more}\n"));
    }
    if lines.len() > REPORT_LINES {
        out.push_str(&format!("      | ... ({} lines in all)\n", lines.len()));
    }
    out
}

/// The tail of `text` that should hold the final echo: its last `REPORT_LINES` lines.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(REPORT_LINES);
    let mut t = lines[start..].join("\n");
    if text.ends_with('\n') && !t.is_empty() {
        t.push('\n');
    }
    t
}

fn pct(n: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * n as f64 / total as f64
    }
}

#[test]
fn scapy_sessions() {
    let sessions = load_sessions();
    assert!(
        !sessions.is_empty(),
        "the corpus {} is empty",
        corpus_path().display()
    );

    let total = sessions.len();
    let mut matched = 0;
    let mut full = 0;
    let mut timeouts = 0;
    let mut failures = String::new();
    let mut partial = Vec::new(); // matched but not fully
    let mut per_category: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();

    for s in &sessions {
        let run = run_repl(&format!("{}\n", s.source));
        let want_end = format!("{}\n", s.final_repr);
        let is_match = !run.timed_out && run.stdout.ends_with(&want_end);
        let is_full = !run.timed_out && run.stdout == s.stdout;
        if run.timed_out {
            timeouts += 1;
        }
        let cat = per_category.entry(s.category.as_str()).or_default();
        cat.1 += 1;
        if is_match {
            matched += 1;
            cat.0 += 1;
        }
        if is_full {
            full += 1;
        } else if is_match {
            partial.push(s.name.as_str());
        }
        if !is_match {
            let tags = if s.tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", s.tags.join(", "))
            };
            failures.push_str(&format!(
                "\n--- {} ({}){}: {}\n",
                s.name, s.category, tags, run.status
            ));
            failures.push_str("    source:\n");
            failures.push_str(&excerpt(&s.source));
            failures.push_str(&format!(
                "    expected (scapy's stdout):\n{}",
                excerpt(&s.stdout)
            ));
            failures.push_str(&format!("    got:\n{}", excerpt(&run.stdout)));
            if s.stdout.lines().count() > REPORT_LINES || run.stdout.lines().count() > REPORT_LINES
            {
                failures.push_str(&format!(
                    "    expected final echo:\n{}",
                    excerpt(&s.final_repr)
                ));
                failures.push_str(&format!(
                    "    got, last lines:\n{}",
                    excerpt(&tail(&run.stdout))
                ));
            }
            if !run.stderr.is_empty() {
                failures.push_str(&format!("    stderr:\n{}", excerpt(&run.stderr)));
            }
        }
    }

    let match_pct = pct(matched, total);
    let full_pct = pct(full, total);
    println!(
        "scapy session corpus: {total} sessions ({})",
        corpus_path().display()
    );
    println!("  match (final value echoed as scapy): {matched}/{total} = {match_pct:.1}% (need {MIN_MATCH_PERCENT:.1}%)");
    println!("  full match (stdout identical):       {full}/{total} = {full_pct:.1}%");
    if timeouts > 0 {
        println!(
            "  timed out (killed after {} s): {timeouts}",
            TIMEOUT.as_secs()
        );
    }
    println!("  per category (matched/total):");
    for (cat, (m, t)) in &per_category {
        println!("    {cat:<10} {m}/{t}");
    }
    if !partial.is_empty() {
        println!(
            "  matched but not fully ({}): {}",
            partial.len(),
            partial.join(", ")
        );
    }
    if !failures.is_empty() {
        println!(
            "\nsessions that do not match ({}):{failures}",
            total - matched
        );
    }

    assert!(
        match_pct >= MIN_MATCH_PERCENT,
        "only {matched} of {total} scapy sessions match ({match_pct:.1}% < {MIN_MATCH_PERCENT}%); \
         full match {full_pct:.1}%; the report above lists each failing session"
    );
}
