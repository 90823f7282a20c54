#!/usr/bin/env bash
# The whole test suite: unit tests, scapy vectors, property tests, CLI tests; lints.
set -euo pipefail
cd "$(dirname "$0")/.."
# A fresh machine lacks the eBPF toolchain and the tools the live tests use.
bash scripts/setup.sh
cargo test --workspace --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
# lb-xdp's eBPF crate is a workspace of its own, built for BPF with nightly.
(cd lb-xdp/ebpf && cargo +nightly clippy --locked --release --target bpfel-unknown-none -Z build-std=core -- -D warnings)
