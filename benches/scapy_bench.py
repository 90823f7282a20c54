#!/usr/bin/env python3
"""Times scapy (2.8) on the packets of the craft benchmarks, for the comparison table.

    python3 benches/scapy_bench.py [--repeat 7] [--min-time 0.5]

Builds Ether/IP/TCP SYN (and Ether/IP/UDP with a 64-byte payload) with the same field
values as benches/benches/packets.rs, checks that scapy produces the same bytes as craft,
then times with timeit:

- compose+build: `bytes(Ether(...)/IP(...)/TCP(...))`, the packet made each time;
- build:         `bytes(pkt)` of a packet made once;
- dissect:       `Ether(raw)`.

Prints the median over --repeat runs, in µs per operation. Nothing is ever sent: both MAC
addresses are given, so scapy resolves nothing (no route lookup, no ARP).
"""

import argparse
import statistics
import sys
import timeit

from scapy import VERSION
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

ETH = dict(dst="02:00:00:00:00:33", src="02:00:00:00:00:11")
IPV4 = dict(src="172.17.2.1", dst="172.17.2.2")  # id=1, ttl=64: scapy's defaults
TCP_F = dict(sport=49138, dport=80, flags="S")  # seq=0, window=8192: scapy's defaults
UDP_F = dict(sport=49138, dport=9999)
PAYLOAD = bytes(range(64))

# What craft builds (benches::craft_tcp / craft_udp); the bench checks every Rust
# implementation against craft, this checks scapy.
CRAFT_TCP = bytes.fromhex(
    "020000000033020000000011080045000028000100004006"
    "1eaaac110201ac110202bff20050000000000000000050022000737a0000"
)
CRAFT_UDP = bytes.fromhex(
    "02000000003302000000001108004500005c0001000040111e6bac110201ac110202"
    "bff2270f0048d832" + PAYLOAD.hex()
)


def tcp_pkt():
    return Ether(**ETH) / IP(**IPV4) / TCP(**TCP_F)


def udp_pkt():
    return Ether(**ETH) / IP(**IPV4) / UDP(**UDP_F) / Raw(PAYLOAD)


def per_op_us(fn, repeat, min_time):
    """Median µs per call over `repeat` timeit runs of at least `min_time` seconds each."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    # autorange aims at 0.2 s; scale to min_time.
    probe = timer.timeit(number)
    number = max(1, int(number * min_time / max(probe, 1e-9)))
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6, min(runs) / number * 1e6, number


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per timeit run")
    args = ap.parse_args()

    tcp = tcp_pkt()
    udp = udp_pkt()
    for name, got, want in (("TCP", bytes(tcp), CRAFT_TCP), ("UDP", bytes(udp), CRAFT_UDP)):
        if got != want:
            sys.exit(f"scapy's {name} bytes differ from craft's:\n  {got.hex()}\n  {want.hex()}")
    raw_tcp, raw_udp = bytes(tcp), bytes(udp)
    assert bytes(Ether(raw_tcp)) == raw_tcp and Ether(raw_tcp)[TCP].sport == 49138

    cases = [
        ("build/eth_ip_tcp_54B", "compose+build", lambda: bytes(tcp_pkt())),
        ("build/eth_ip_tcp_54B", "build (bytes(pkt))", lambda: bytes(tcp)),
        ("parse/eth_ip_tcp_54B", "dissect (Ether(raw))", lambda: Ether(raw_tcp)),
        ("build/eth_ip_udp_64B", "compose+build", lambda: bytes(udp_pkt())),
        ("build/eth_ip_udp_64B", "build (bytes(pkt))", lambda: bytes(udp)),
        ("parse/eth_ip_udp_64B", "dissect (Ether(raw))", lambda: Ether(raw_udp)),
    ]
    print(f"scapy {VERSION}, Python {sys.version.split()[0]}; median of {args.repeat} runs")
    print(f"{'group':<22} {'operation':<22} {'µs/op':>9} {'best':>9} {'loops':>7}")
    for group, what, fn in cases:
        med, best, number = per_op_us(fn, args.repeat, args.min_time)
        print(f"{group:<22} {what:<22} {med:9.1f} {best:9.1f} {number:7d}")


if __name__ == "__main__":
    main()
