//! Compiles the XDP programs in ebpf/ (nightly, build-std=core, bpf-linker) into OUT_DIR,
//! where src/ebpf.rs embeds them; with the feature `faults`, also the director with its
//! test-only fault switches (lb-xdp-director-faults).
use std::{env, path::PathBuf, process::Command};

fn main() {
    let ebpf_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("ebpf");
    println!("cargo:rerun-if-changed={}", ebpf_dir.display());
    println!("cargo:rerun-if-changed=common");
    if Command::new("bpf-linker").arg("--version").output().is_err() {
        panic!(
            "lb-xdp needs the eBPF toolchain (nightly with rust-src, bpf-linker 0.13 built \
             for LLVM 22): run scripts/setup.sh, or build the other crates with \
             `cargo build -p craft`"
        );
    }
    // aya-build runs `cargo build --package lb-xdp-ebpf` in the current directory: the eBPF
    // crate is a workspace of its own.
    env::set_current_dir(&ebpf_dir).expect("lb-xdp/ebpf exists");
    // The nested cargo's progress lines would each become a cargo warning.
    env::set_var("CARGO_TERM_QUIET", "true");
    let root_dir = ebpf_dir.to_str().expect("a UTF-8 path");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // Feature `faults` (tests only): the director once more with its fault switches, as
    // lb-xdp-director-faults. First, since aya-build copies every program of the package
    // to OUT_DIR under its own name: the default build below then overwrites the director
    // and decap objects this one wrote, so the default programs never carry a fault.
    if env::var_os("CARGO_FEATURE_FAULTS").is_some() {
        let package = aya_build::Package { name: "lb-xdp-ebpf", root_dir, features: &["faults"], ..Default::default() };
        if let Err(err) = aya_build::build_ebpf([package], aya_build::Toolchain::default()) {
            panic!("building lb-xdp's eBPF programs with their fault switches failed: {err:#}");
        }
        let (built, faults) = (out_dir.join("lb-xdp-director"), out_dir.join("lb-xdp-director-faults"));
        // (Not there with AYA_BUILD_SKIP set.)
        if built.exists() {
            std::fs::rename(&built, &faults).unwrap_or_else(|e| panic!("{} -> {}: {e}", built.display(), faults.display()));
        }
        let _ = std::fs::remove_file(out_dir.join("lb-xdp-decap"));
    }
    let package = aya_build::Package { name: "lb-xdp-ebpf", root_dir, ..Default::default() };
    if let Err(err) = aya_build::build_ebpf([package], aya_build::Toolchain::default()) {
        panic!("building lb-xdp's eBPF programs failed: {err:#}");
    }
}
