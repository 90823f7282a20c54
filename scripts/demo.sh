#!/usr/bin/env bash
# craft, offline, end to end: compose with scapy's syntax, inspect, dissect, check broken
# packets, packet sets, RON files. Then, as root only, live: craft in two namespaces,
# lb-xdp in five, and two of fixtures/' reproducers (each in namespaces of its own); every
# namespace is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cargo build -q --release -p craft -p craft-repl
craft=target/release/craft
repl=target/release/craft-repl
tmp=$(mktemp -d)
ns_a="craft-demo-a-$$"
ns_b="craft-demo-b-$$"
cleanup() {
    rm -rf "$tmp"
    # The fixtures remove their namespaces themselves, also on errors; a run killed by
    # Ctrl-C cannot: sweep what a dead run left (never a live run's).
    if [ -x target/release/fixtures ]; then target/release/fixtures sweep >/dev/null 2>&1 || true; fi
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
}
trap cleanup EXIT

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ craft %s\033[0m\n' "$*" >&2; "$craft" "$@"; }

syn="Ether(dst='02:00:00:00:00:33', src='02:00:00:00:00:01')/IP(src='172.17.2.1', dst='172.17.2.2')/TCP(sport=49138, dport=80, flags='S', options=[('MSS', 1460), ('NOP', None), ('WScale', 7)])"

say "A SYN with options: auto fields marked, then as built"
run build "$syn" --format show
run build "$syn" --format hexdump

say "Bytes back into layers"
hex=$("$craft" build "$syn")
run dissect "$hex" --format summary
run dissect "$hex" --format json

say "What lb-xdp's director emits: the SYN in GUE, UDP dport 6080 and GUE proto chosen for us"
gue="Ether(dst='02:00:00:00:00:bb', src='02:00:00:00:00:aa')/IP(src='10.0.0.1', dst='10.0.1.2')/UDP(sport=41234)/GUE()/IP(src='172.17.2.1', dst='10.99.0.1')/TCP(sport=49138, dport=80, flags='S')"
run build "$gue" --format summary
run build "$gue" --format hexdump

say "Broken on purpose: forced values are written verbatim, and check finds every one"
broken="Ether(src='01:00:5e:00:00:01')/IP(src='10.0.0.1', dst='10.0.0.1', len=100, chksum=0x1234)/UDP(chksum=0x4321)/b'hi'"
run build "$broken" --format summary
run check "$broken" || echo "(exit $?: problems found)"

say "Checking raw bytes: a capture cut short"
run check --hex "${hex:0:100}" || echo "(exit $?: problems found)"

say "Packet sets: CIDR x list, like scapy"
run build "IP(dst='10.0.0.0/30')/TCP(dport=[80, 443], flags='S')" --format summary

say "RON files: save, edit, load"
"$craft" build "$syn" --format ron > "$tmp/syn.ron"
cat "$tmp/syn.ron"
sed -i 's/sport: 49138/sport: 40000/; s/IP(src:/IP(ttl: 1, src:/' "$tmp/syn.ron"
run build "$tmp/syn.ron" --format show2 | grep -E 'ttl|sport'
run build "$tmp/syn.ron" --format summary
printf '[\n  IP(\n    tll: 3),\n]\n' > "$tmp/typo.ron"
run build "$tmp/typo.ron" || echo "(exit $?: bad input)"

say "A pipeline: expressions on stdin, one packet per line"
printf "Ether()/IP(dst='10.0.0.2')/ICMP()\nEther()/IPv6(dst='2001:db8::1')/ICMPv6EchoRequest()\nEther()/ARP(pdst='10.0.0.9')\nEther()/IP(dst='10.0.0.2')/ICMP(type='dest-unreach', code=3)/IP(src='10.0.0.2', dst='10.0.0.9')/UDP(dport=33434)\n" |
    "$craft" build - | "$craft" dissect - --format summary

say "craft-repl: scapy's one-liners, scapy's output (statements piped here; run it bare for the prompt)"
printf '%s\n' \
    "p = Ether(dst='02:00:00:00:00:33')/IP(src='172.17.2.1', dst='172.17.2.2')/TCP(dport=80, flags='S')" \
    "p" "p[TCP].flags" "p.ttl = 1; p.summary()" "[q.dst for q in IP(dst='10.0.0.0/30')]" \
    "Ether(src='0x1', dst='0x2')/IP(src='192.168.1.1', dst='10.200.1.1')/UDP(sport=31337, dport=80)/'katran test pkt'" \
    "check(IP(src='10.0.0.1', dst='10.0.0.2', len=60, chksum=0x1234)/UDP())" "p[IP].tll" |
    sed 's/^/>>> /' | tee /dev/stderr | sed 's/^>>> //' | "$repl" 2>&1 || true

say "Live, in two network namespaces this demo creates (and removes): A and B on a veth pair"
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
    echo "(skipped: needs root and ip(8))"
    exit 0
fi
ip netns add "$ns_a"
ip netns add "$ns_b"
ip -n "$ns_a" link add va type veth peer name vb netns "$ns_b"
ip -n "$ns_a" addr add 10.77.0.1/24 dev va
ip -n "$ns_b" addr add 10.77.0.2/24 dev vb
ip -n "$ns_a" link set va up
ip -n "$ns_b" link set vb up
ip -n "$ns_a" link set lo up
ip -n "$ns_b" link set lo up
sleep 0.2
in_a() { printf '\033[2m[A]$ craft %s\033[0m\n' "$*" >&2; ip netns exec "$ns_a" "$craft" "$@"; }
in_a sr "IP(dst='10.77.0.2')/ICMP(id=7, seq=1)" --format summary
in_a sr "IP(dst='10.77.0.2')/TCP(dport=[22, 80], flags='S')" --format summary || echo "(no listener in B: RSTs)"
ip netns exec "$ns_b" "$craft" sniff --iface vb --count 10 --filter icmp -w "$tmp/b.pcap" --format summary &
sniffer=$!
sleep 0.5
in_a send "IP(dst='10.77.0.2')/ICMP(seq=(1, 5))"
wait "$sniffer"
run dissect --pcap "$tmp/b.pcap" --format summary
printf '\033[2m[A]$ craft-repl\033[0m\n' >&2
printf "ans, unans = sr(IP(dst='10.77.0.2')/ICMP(seq=(1, 3)), timeout=1, verbose=0)\nans.summary()\nunans\n" |
    ip netns exec "$ns_a" "$repl"

say "lb-xdp: client → router → director (XDP, GUE) → backends (XDP decap), DSR back"
bash scripts/demo-lb.sh

say "Two of the seed's datapath bugs as reproducers: the failure, craft's explanation, the fix (fixtures/README.md lists all ten)"
cargo build -q --release -p fixtures
# The lb-xdp just built, not whatever target/debug holds.
export LB_XDP_BIN=$PWD/target/release/lb-xdp
for name in tot-len-14-missing bad-dst-mac; do
    printf '\033[2m$ fixtures run %s --fixed\033[0m\n' "$name" >&2
    target/release/fixtures run "$name" --fixed
done
