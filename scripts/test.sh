#!/usr/bin/env bash
# The whole test suite: unit tests, scapy vectors, property tests, CLI tests; lints.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
