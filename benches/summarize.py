#!/usr/bin/env python3
"""Prints the criterion results of `cargo bench -p benches` as a Markdown table.

    python3 benches/summarize.py [CRITERION_DIR ...]

Reads <dir>/<group>/<function>/new/estimates.json (default dir: target/criterion at the
workspace root) and prints the median ns/op of each function, one row per implementation
and one column per group. Given several directories (copies of target/criterion from
repeated runs), it prints the median of their medians.
"""

import json
import statistics
import sys
from pathlib import Path

GROUPS = [
    "build/eth_ip_tcp_54B",
    "parse/eth_ip_tcp_54B",
    "build/eth_ip_udp_64B",
    "parse/eth_ip_udp_64B",
    "build/gue",
    "parse/gue",
]


def read_run(root: Path) -> dict:
    """{(group, function): median ns} for one criterion directory."""
    out = {}
    for est in root.glob("**/new/estimates.json"):
        bench = est.parent.parent
        meta = bench / "new" / "benchmark.json"
        if meta.exists():
            m = json.loads(meta.read_text())
            group, func = m["group_id"], m.get("function_id") or ""
        else:
            rel = bench.relative_to(root).parts
            group, func = "/".join(rel[:2]), "/".join(rel[2:])
        out[(group, func)] = json.loads(est.read_text())["median"]["point_estimate"]
    return out


def main():
    dirs = [Path(d) for d in sys.argv[1:]] or [Path(__file__).resolve().parent.parent / "target" / "criterion"]
    runs = [read_run(d) for d in dirs]
    keys = sorted({k for r in runs for k in r})
    med = {k: statistics.median(r[k] for r in runs if k in r) for k in keys}
    groups = [g for g in GROUPS if any(k[0] == g for k in keys)] + sorted(
        {k[0] for k in keys} - set(GROUPS)
    )
    order = ["craft", "etherparse", "pnet", "smoltcp", "floor"]
    rank = lambda f: (next((i for i, o in enumerate(order) if f.startswith(o)), len(order)), f)
    funcs = sorted({k[1] for k in keys}, key=rank)
    print(f"Median ns/op ({len(runs)} run{'s' if len(runs) > 1 else ''}):\n")
    print("| implementation | " + " | ".join(groups) + " |")
    print("|---|" + "---:|" * len(groups))
    for f in funcs:
        cells = [f"{med[(g, f)]:.1f}" if (g, f) in med else "" for g in groups]
        print(f"| {f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
