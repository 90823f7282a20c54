#!/usr/bin/env bash
# Installs what craft's build and tests need, checking first what is already there.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing: install Rust (rustup) first" >&2
    exit 1
fi
echo "setup: $(cargo --version)"
