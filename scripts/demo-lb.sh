#!/usr/bin/env bash
# lb-xdp end to end, in namespaces this script creates and removes:
#
#   client ── router ── director (XDP: GUE encap, XDP_TX back to the router)
#                 ├──── backend-1 (XDP: GUE decap; VIP on lo; a TCP server)
#                 └──── backend-2
#
# The client's packets for the VIP reach the director, which sends them in GUE to the
# backend Maglev picks; the backend's decap strips GUE and its kernel answers the client
# directly (DSR). craft sends, captures at every hop and dissects; lb-xdp shows its counters.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "demo-lb: needs root (namespaces, XDP)" >&2
    exit 1
fi
bash scripts/setup.sh >/dev/null
cargo build -q --release -p craft -p lb-xdp
craft=$PWD/target/release/craft
lbxdp=$PWD/target/release/lb-xdp
tmp=$(mktemp -d)
id=$$
ns() { echo "lbdemo-$1-$id"; }
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for n in client router director b1 b2; do ip netns del "$(ns $n)" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
in_ns() { local n=$1; shift; nsenter --net="/var/run/netns/$(ns "$n")" -- "$@"; }
show() { printf '\033[2m[%s]$ %s\033[0m\n' "$1" "${*:2}" >&2; in_ns "$@"; }
daemon() {  # namespace, log name, lb-xdp arguments...: start and wait until it runs
    local n=$1 log=$tmp/$2.log; shift 2
    : >"$log"
    # nsenter execs the program: $! is its pid, for cleanup to stop.
    nsenter --net="/var/run/netns/$(ns "$n")" -- "$lbxdp" "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q 'Ctrl-C to stop' "$log" && { head -1 "$log"; return; }; sleep 0.05; done
    cat "$log"; exit 1
}

VIP=10.100.0.1
for n in client router director b1 b2; do
    ip netns add "$(ns $n)"
    ip netns exec "$(ns $n)" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    ip -n "$(ns $n)" link set lo up
done
ip netns exec "$(ns router)" sysctl -qw net.ipv4.ip_forward=1
link() {  # router device, other namespace, its device, subnet, mtu
    ip -n "$(ns router)" link add "$1" mtu "$5" type veth peer name "$3" mtu "$5" netns "$(ns "$2")"
    ip -n "$(ns router)" addr add "$4.1/24" dev "$1"
    ip -n "$(ns "$2")" addr add "$4.2/24" dev "$3"
    ip -n "$(ns router)" link set "$1" up
    ip -n "$(ns "$2")" link set "$3" up
    ip -n "$(ns "$2")" route add default via "$4.1"
}
link r-client client eth0 10.1.0 1500
link r-dir director eth0 10.2.0 1600
link r-b1 b1 eth0 10.3.1 1600
link r-b2 b2 eth0 10.3.2 1600
ip -n "$(ns router)" route add "$VIP/32" via 10.2.0.2
for b in b1 b2; do ip -n "$(ns $b)" addr add "$VIP/32" dev lo; done
# veth leaves the TCP checksum to "hardware": the director's XDP would forward it unfilled.
in_ns client ethtool -K eth0 tx off >/dev/null
router_mac=$(ip -n "$(ns router)" -o link show dev r-dir | sed 's/.*link\/ether \([^ ]*\).*/\1/')
cat >"$tmp/lb.ron" <<RON
(
    next_hop_mac: "$router_mac",   // the router: it routes the outer packets to the backends
    src_v4: "10.2.0.2",
    vips: [
        (addr: "$VIP", port: 80, proto: tcp, backends: [(addr: "10.3.1.2"), (addr: "10.3.2.2")]),
    ],
)
RON

say "The topology: client 10.1.0.2 → router → director 10.2.0.2 (VIP $VIP) → backends 10.3.1.2, 10.3.2.2"
cat "$tmp/lb.ron"
daemon router pass pass --iface r-dir
daemon director director director --iface eth0 --config "$tmp/lb.ron"
daemon b1 decap1 decap --iface eth0
daemon b2 decap2 decap --iface eth0
for b in b1 b2; do
    nsenter --net="/var/run/netns/$(ns $b)" -- python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$VIP', 80)); s.listen(64)
while True:
    c, _ = s.accept(); c.recv(1024)
    body = b'hello from $b\n'
    c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n' % len(body) + body); c.close()
" &
    pids+=($!)
done
sleep 0.3

say "Captures at every hop (craft sniff), then SYNs crafted with craft to the VIP"
echo "(the client's kernel resets each SYN-ACK: craft's SYNs have no socket behind them)"
capture() {  # namespace, device, file, filter
    nsenter --net="/var/run/netns/$(ns "$1")" -- "$craft" sniff --iface "$2" --direction both --timeout 4 --filter "$4" \
        -w "$tmp/$3.pcap" --format summary >/dev/null 2>&1 &
    pids+=($!)
}
capture router r-client 1-client-to-router "tcp port 80"
capture router r-dir 2-director-to-router "udp port 6080"
capture router r-b1 3-router-to-backend1 "udp port 6080"
capture b1 eth0 4-backend1-after-decap "tcp port 80"
sleep 0.5
show client "$craft" sr "IP(dst='$VIP')/TCP(sport=[40000, 40001, 40002, 40003], dport=80, flags='S')" --format summary
sleep 4
for hop in 1-client-to-router 2-director-to-router 3-router-to-backend1 4-backend1-after-decap; do
    say "hop $hop"
    "$craft" dissect --pcap "$tmp/$hop.pcap" --format summary || true
done
say "One encapsulated packet in full, as the director sent it"
"$craft" dissect --pcap "$tmp/2-director-to-router.pcap" --format show | awk '/###\[ Ethernet/ {n++} n == 1' 

say "A real TCP client through the load balancer: curl, answered directly by the backend (DSR)"
for i in 1 2 3 4; do show client curl -sS --max-time 5 "http://$VIP/"; done

say "Counters"
in_ns director "$lbxdp" stats --iface eth0
in_ns b1 "$lbxdp" stats --iface eth0
say "A third backend address joins the VIP while the director runs"
in_ns director "$lbxdp" backend add --iface eth0 --vip "$VIP:80/tcp" --backend 10.3.9.2 --weight 2
in_ns director "$lbxdp" stats --iface eth0 | sed -n '/backends/,$p'
say "Stopping: the programs detach and their pinned maps go"
