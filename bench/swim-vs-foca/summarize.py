#!/usr/bin/env python3
"""Turns the JSON lines of swim-vs-foca into the Markdown tables of BENCHMARKS.md.

Usage: ./target/release/swim-vs-foca ... | python3 summarize.py
"""
import json
import statistics
import sys
from collections import defaultdict

cells = defaultdict(list)
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        row = json.loads(line)
        cells[(row["nodes"], row["loss"], row["impl"])].append(row)

print("| N | loss | impl | seeds | seeds with false deaths | false-death pairs (max, total) "
      "| all see crash dead, s (median, max) | msgs/member/period | bytes/member/period "
      "| push-pull B/member/period | CPU us/member-s (median) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (nodes, loss, impl), rows in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] != "spot")):
    deaths = [r["false_deaths"] for r in rows]
    detect = [r["detect_all_dead_s"] for r in rows if r["detect_all_dead_s"] is not None]
    unfinished = len(rows) - len(detect)
    det = "n/a" if not detect else f"{statistics.median(detect):.1f}, {max(detect):.1f}"
    if unfinished:
        det += f" ({unfinished} unfinished)"
    med = lambda key: statistics.median(r[key] for r in rows)
    print(f"| {nodes} | {loss:g}% | {impl} | {len(rows)} | {sum(1 for d in deaths if d)} "
          f"| {max(deaths)}, {sum(deaths)} | {det} | {med('msgs_per_member_per_period'):.2f} "
          f"| {med('bytes_per_member_per_period'):.0f} | {med('pushpull_bytes_per_member_per_period'):.0f} "
          f"| {med('cpu_us_per_member_second'):.2f} |")
