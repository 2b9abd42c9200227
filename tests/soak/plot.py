#!/usr/bin/env python3
"""Draws a soak's samples (soak.csv, written by tests/soak/soak.py): memory (Envoy's RSS and
heap in use, the VM's linear memory) and throughput over time, with the policy changes.

    .venvs/plot/bin/python tests/soak/plot.py target/soak/soak.csv target/soak/soak.png
"""

from __future__ import annotations

import csv
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

MiB = 1024 * 1024


def main(source: str, target: str) -> int:
    with open(source, encoding="utf-8") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    minutes = [r["seconds"] / 60 for r in rows]
    rate = [0.0] + [(b["requests"] - a["requests"]) / max(b["seconds"] - a["seconds"], 1e-9)
                    for a, b in zip(rows, rows[1:])]
    fig, (memory, throughput) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    memory.plot(minutes, [r["rss"] / MiB for r in rows], label="Envoy RSS")
    memory.plot(minutes, [r["allocated"] / MiB for r in rows], label="Envoy heap in use")
    memory.plot(minutes, [r["vm_memory"] / MiB for r in rows], label="VM linear memory")
    memory.set_ylabel("MiB")
    memory.set_ylim(bottom=0)
    memory.legend(loc="center right")
    total, changes = int(rows[-1]["requests"]), int(rows[-1]["changes"])
    memory.set_title(f"make soak: {total:,} requests, {changes} policy changes, {minutes[-1]:.0f} min")
    throughput.plot(minutes, rate, color="tab:green", label="requests/s")
    twin = throughput.twinx()
    twin.plot(minutes, [r["changes"] for r in rows], color="tab:gray", linestyle=":", label="policy changes")
    twin.set_ylabel("policy changes")
    throughput.set_ylabel("requests/s")
    throughput.set_ylim(bottom=0)
    throughput.set_xlabel("minutes")
    throughput.legend(loc="lower left")
    twin.legend(loc="lower right")
    fig.savefig(target, dpi=80)
    print(f"plot: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
