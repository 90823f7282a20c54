#!/usr/bin/env bash
# Installs what craft's build and tests need, checking first what is already there.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# ip(8): the live tests build their own namespaces and veth pairs.
command -v ip >/dev/null || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# tcpdump, tshark, editcap and text2pcap (wireshark-common) check craft's capture files
# in craft/tests/pcap.rs and pcap_links.rs. The debconf answer keeps wireshark-common from
# asking about non-root capture.
need_tools=()
command -v tcpdump >/dev/null || need_tools+=(tcpdump)
{ command -v tshark >/dev/null && command -v editcap >/dev/null && command -v text2pcap >/dev/null; } || need_tools+=(tshark)
if [ ${#need_tools[@]} -gt 0 ]; then
    echo "setup: installing ${need_tools[*]}"
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    if [ ${#need_apt[@]} -eq 0 ]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_tools[@]}"
fi

# nft: craft/tests/live_sr.rs adds a reject rule in a test namespace. libpcap0.8 (the
# runtime library, no -dev package): craft::live::filter dlopens it to compile tcpdump
# filters (tcpdump depends on it too; tcpdump -ddd is the fallback).
need_live=()
command -v nft >/dev/null || need_live+=(nftables)
# lb-xdp/tests/e2e.rs: curl is the client; ethtool turns off veth checksum offload.
command -v curl >/dev/null || need_live+=(curl)
command -v ethtool >/dev/null || need_live+=(ethtool)
{ dpkg -s libpcap0.8 >/dev/null 2>&1 || ldconfig -p | grep -q 'libpcap\.so\.0\.8'; } || need_live+=(libpcap0.8)
if [ ${#need_live[@]} -gt 0 ]; then
    echo "setup: installing ${need_live[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_live[@]}"
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing: install Rust (rustup) first" >&2
    exit 1
fi

# lb-xdp's eBPF programs: nightly with rust-src (build-std=core for bpfel-unknown-none)
# and bpf-linker built against LLVM 22. Only the lb-xdp crate needs them.
if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "setup: installing rust-src for nightly"
    rustup component add rust-src --toolchain nightly
fi
if ! bpf-linker --version 2>/dev/null | grep -q '0\.13\.0'; then
    if [ ! -d /usr/lib/llvm-22/lib ] || ! dpkg -s llvm-22-dev >/dev/null 2>&1; then
        echo "setup: installing llvm-22-dev"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq llvm-22-dev
    fi
    echo "setup: installing bpf-linker 0.13.0"
    LLVM_PREFIX=/usr/lib/llvm-22 cargo install bpf-linker@0.13.0 \
        --no-default-features --features llvm-22
fi
echo "setup: $(cargo --version)"
