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

# tcpdump, tshark and editcap (wireshark-common) check craft's capture files in
# craft/tests/pcap.rs. The debconf answer keeps wireshark-common from asking about
# non-root capture.
need_tools=()
command -v tcpdump >/dev/null || need_tools+=(tcpdump)
{ command -v tshark >/dev/null && command -v editcap >/dev/null; } || need_tools+=(tshark)
if [ ${#need_tools[@]} -gt 0 ]; then
    echo "setup: installing ${need_tools[*]}"
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    if [ ${#need_apt[@]} -eq 0 ]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_tools[@]}"
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing: install Rust (rustup) first" >&2
    exit 1
fi
echo "setup: $(cargo --version)"
