#!/usr/bin/env python3
"""Times scapy (2.8) live I/O, for the "Live" table of benches/README.md (craft's side is
`cargo bench -p benches --bench live`).

    sudo python3 benches/scapy_live_bench.py [--sendp 10000] [--srp1 200]
                                             [--sniff-n 100000] [--sniff-rate 100000]

Creates its own two network namespaces and one veth pair between them (unique names with
this process id), runs scapy inside them with `ip netns exec`, and deletes them in a
`finally` block: no other interface is touched. Same addresses and frames as live.rs:
A 02:00:00:c4:00:01 10.203.0.1, B 02:00:00:c4:00:02 10.203.0.2, test EtherType 0x88b5.

- sendp:  `sendp(Ether(dst=B, type=0x88b5)/Raw(46 bytes), iface=veth, count=N)` in A: frames/s;
- srp1:   `srp1(Ether/IP/ICMP echo, iface=veth, timeout=2)` in A, B's kernel answers:
          median (and p10/p90) wall time per call over --srp1 calls;
- sniff:  `sniff(iface=veth, filter="ether proto 0x88b5", store=False, count=N)` in B while
          A sends N frames at a fixed rate with a plain Python AF_PACKET socket (paced, so
          the rate is the same whatever scapy does): captured / N and B's veth RX drops.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MAC_A = "02:00:00:c4:00:01"
MAC_B = "02:00:00:c4:00:02"
IP_A = "10.203.0.1"
IP_B = "10.203.0.2"
ETHERTYPE = 0x88B5


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


def in_ns(ns, *args, **kw):
    """Run this script in namespace `ns` with `args` (a worker role)."""
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), *args],
                          check=True, capture_output=True, text=True, **kw)


def rx_dropped(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["dropped"]


# ------------------------------------------------------------------ workers (inside a netns)

def frame():
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    return Ether(dst=MAC_B, src=MAC_A, type=ETHERTYPE) / Raw(b"\x00" * 46)


def work_sendp(dev, n):
    from scapy.sendrecv import sendp
    p = frame()
    assert len(bytes(p)) == 60
    t0 = time.perf_counter()
    sendp(p, iface=dev, count=n, verbose=False)
    dt = time.perf_counter() - t0
    print(json.dumps({"sendp_pps": n / dt}))


def work_srp1(dev, n):
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import srp1
    times = []
    lost = 0
    for i in range(n + 1):  # the first call is a warm-up
        p = Ether(dst=MAC_B, src=MAC_A) / IP(src=IP_A, dst=IP_B) / ICMP(id=0x77, seq=i)
        t0 = time.perf_counter()
        r = srp1(p, iface=dev, timeout=2, verbose=False)
        dt = time.perf_counter() - t0
        if r is None:
            lost += 1
        elif i > 0:
            times.append(dt)
    times.sort()
    q = statistics.quantiles(times, n=10)
    print(json.dumps({"srp1_median_ms": statistics.median(times) * 1e3, "srp1_p10_ms": q[0] * 1e3,
                      "srp1_p90_ms": q[-1] * 1e3, "srp1_lost": lost}))


def work_sniff(dev, n, timeout):
    from scapy.sendrecv import sniff
    seen = [0]

    def count(_p):
        seen[0] += 1

    def started():
        print("ready", flush=True)

    sniff(iface=dev, filter=f"ether proto {ETHERTYPE:#x}", store=False, prn=count, count=n,
          timeout=timeout, started_callback=started)
    print(json.dumps({"sniff_seen": seen[0]}), flush=True)


def work_paced_send(dev, n, rate):
    """Send n frames at `rate` frames/s with a plain AF_PACKET socket (busy-wait pacing)."""
    import socket
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((dev, 0))
    f = bytes.fromhex(MAC_B.replace(":", "")) + bytes.fromhex(MAC_A.replace(":", "")) \
        + ETHERTYPE.to_bytes(2, "big") + b"\x00" * 46
    send = s.send
    clock = time.perf_counter
    t0 = clock()
    step = 1.0 / rate
    for i in range(n):
        due = t0 + i * step
        while clock() < due:
            pass
        send(f)
    dt = clock() - t0
    print(json.dumps({"paced_pps": n / dt}))


# ------------------------------------------------------------------ driver

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sendp", type=int, default=10_000, help="frames for the sendp rate")
    ap.add_argument("--srp1", type=int, default=200, help="srp1 calls")
    ap.add_argument("--sniff-n", type=int, default=100_000, help="frames sent while sniffing")
    ap.add_argument("--sniff-rate", type=int, default=100_000, help="their rate, frames/s")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker:
        role, dev, *rest = a.worker
        if role == "sendp":
            work_sendp(dev, int(rest[0]))
        elif role == "srp1":
            work_srp1(dev, int(rest[0]))
        elif role == "sniff":
            work_sniff(dev, int(rest[0]), float(rest[1]))
        elif role == "paced":
            work_paced_send(dev, int(rest[0]), int(rest[1]))
        return

    if os.geteuid() != 0:
        sys.exit("scapy_live_bench: needs root (network namespaces, packet sockets)")
    from scapy import VERSION
    pid = os.getpid()
    ns_a, ns_b = f"scapy-bench-a-{pid}", f"scapy-bench-b-{pid}"
    dev_a, dev_b = f"svb{pid:x}a", f"svb{pid:x}b"
    created = []
    try:
        ip("netns", "add", ns_a)
        created.append(ns_a)
        ip("netns", "add", ns_b)
        created.append(ns_b)
        ip("-n", ns_a, "link", "add", dev_a, "address", MAC_A, "type", "veth",
           "peer", "name", dev_b, "address", MAC_B, "netns", ns_b)
        ip("-n", ns_a, "addr", "add", f"{IP_A}/24", "dev", dev_a)
        ip("-n", ns_b, "addr", "add", f"{IP_B}/24", "dev", dev_b)
        ip("-n", ns_a, "link", "set", dev_a, "up")
        ip("-n", ns_b, "link", "set", dev_b, "up")
        ip("-n", ns_b, "neigh", "replace", IP_A, "lladdr", MAC_A, "dev", dev_b)
        time.sleep(0.5)  # let the veth carrier come up

        print(f"scapy {VERSION}, python {sys.version.split()[0]}, veth {dev_a} ({ns_a}) <-> {dev_b} ({ns_b})")
        r = json.loads(in_ns(ns_a, "--worker", "sendp", dev_a, str(a.sendp)).stdout)
        print(f"scapy/sendp {a.sendp} frames of 60 B          {r['sendp_pps']:>10.0f} frames/s")

        r = json.loads(in_ns(ns_a, "--worker", "srp1", dev_a, str(a.srp1)).stdout)
        print(f"scapy/srp1 ICMP echo, {a.srp1} calls: median {r['srp1_median_ms']:.2f} ms "
              f"(p10 {r['srp1_p10_ms']:.2f}, p90 {r['srp1_p90_ms']:.2f}), lost {r['srp1_lost']}")

        drops0 = rx_dropped(ns_b, dev_b)
        timeout = a.sniff_n / a.sniff_rate + 5
        sn = subprocess.Popen(["ip", "netns", "exec", ns_b, sys.executable, os.path.abspath(__file__),
                               "--worker", "sniff", dev_b, str(a.sniff_n), str(timeout)],
                              stdout=subprocess.PIPE, text=True)
        try:
            line = sn.stdout.readline()
            assert line.strip() == "ready", f"sniffer did not start: {line!r}"
            time.sleep(0.2)
            r = json.loads(in_ns(ns_a, "--worker", "paced", dev_a, str(a.sniff_n), str(a.sniff_rate)).stdout)
            out, _ = sn.communicate(timeout=timeout + 10)
        finally:
            if sn.poll() is None:
                sn.kill()
                sn.wait()
        seen = json.loads(out.strip().splitlines()[-1])["sniff_seen"]
        print(f"scapy/sniff: sent {a.sniff_n} at {r['paced_pps']:.0f} frames/s, captured {seen} "
              f"({100 * seen / a.sniff_n:.2f} %), veth rx drops {rx_dropped(ns_b, dev_b) - drops0}")
    finally:
        for ns in reversed(created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if __name__ == "__main__":
    main()
