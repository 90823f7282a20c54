//! The host's loaded BPF programs, by id and name (what `bpftool prog show` lists, from
//! craft::explain::programs; root), and the program ids a process holds (from
//! /proc/PID/fdinfo): to check that craft leaves no program behind.

#![allow(dead_code)]

use std::io;

/// Every loaded program: (id, name).
pub fn loaded_progs() -> io::Result<Vec<(u32, String)>> {
    Ok(craft::explain::programs()?.into_iter().map(|p| (p.id, p.name)).collect())
}

/// The name of program `id`; None when it is gone.
pub fn prog_name(id: u32) -> io::Result<Option<String>> {
    Ok(loaded_progs()?.into_iter().find(|(i, _)| *i == id).map(|(_, n)| n))
}

/// The program ids process `pid` holds through its descriptors (programs and links).
pub fn held_prog_ids(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return ids };
    for e in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("prog_id:") {
                if let Ok(id) = v.trim().parse() {
                    ids.push(id);
                }
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The tracefs and bpffs mounts this process sees (/proc/self/mountinfo lines).
pub fn trace_and_bpf_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(" - ").nth(1).is_some_and(|fs| fs.starts_with("tracefs ") || fs.starts_with("bpf ")))
        .map(str::to_string)
        .collect()
}

/// The tracefs and bpffs mounts that are in `after` and not in `before`, but lb-xdp's own
/// (mount source "lb-xdp": its tests may run meanwhile).
pub fn new_mounts(before: &[String], after: &[String]) -> Vec<String> {
    after.iter().filter(|m| !before.contains(m) && m.split(" - ").nth(1).and_then(|f| f.split(' ').nth(1)) != Some("lb-xdp")).cloned().collect()
}
