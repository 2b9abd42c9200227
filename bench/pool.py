"""Pools the paired rounds of several `make bench` runs: for each ratio, the per-run
median and the median and quartiles over every round of every run; then what each
host call costs, as CPU µs per request over the floor filter's in the same round.

    python3 bench/pool.py run1/results.json run2/results.json ...

Each round's variant throughput is divided by its baseline's in the same round, as the
per-run report does; pooling gives more pairs than one run's rounds, which matters on a
machine whose ratios move by 0.1 from run to run.
"""

from __future__ import annotations

import json
import statistics
import sys

PAIRS = [
    ("module external (as shipped) / floor", "module-ext", "floor"),
    ("module external, filter_state on / floor", "module-ext-fs", "floor"),
    ("module external / trimmed floor", "module-ext", "floor-trim"),
    ("module internal / floor", "module-int", "floor"),
    ("module flood / floor, flood mix", "module-flood", "floor-flood"),
    ("module browser / floor, browser mix", "module-browser", "floor-browser"),
    ("module external / Lua external", "module-ext", "lua-ext"),
    ("module internal / Lua internal", "module-int", "lua-int"),
    ("module flood / Lua flood", "module-flood", "lua-flood"),
    ("module browser / Lua browser", "module-browser", "lua-browser"),
    ("filter_state on / off, module external", "module-ext-fs", "module-ext"),
]


HOST_CALLS = ["floor-trim", "probe-upgrade", "probe-method", "probe-path_write", "probe-filter_state",
              "probe-local_reply", "probe-counter", "probe-log"]


def rounds(path: str, key: str = "rps") -> dict[str, dict[int, float]]:
    by_variant = json.load(open(path))["rounds"]
    if "module-ext-nofs" in by_variant:
        # Runs from before the shipped configs turned filter_state off named the variants
        # by the other setting.
        by_variant = {**by_variant, "module-ext-fs": by_variant["module-ext"],
                      "module-ext": by_variant["module-ext-nofs"]}
    return {v: {run["round"]: run[key] for run in runs} for v, runs in by_variant.items()}


def main(paths: list[str]) -> None:
    runs = [rounds(p) for p in paths]
    print("| ratio, throughput, paired by round | per run | all rounds: median | interquartile range |")
    print("|---|---|---:|---|")
    for label, variant, baseline in PAIRS:
        per_run, pooled = [], []
        for run in runs:
            a, b = run.get(variant, {}), run.get(baseline, {})
            ratios = [a[r] / b[r] for r in a if r in b]
            pooled += ratios
            per_run.append(f"{statistics.median(ratios):.3f}" if ratios else "-")
        if len(pooled) < 2:
            continue
        q1, _, q3 = statistics.quantiles(pooled, n=4)
        print(f"| {label} | {', '.join(per_run)} | {statistics.median(pooled):.3f} | {q1:.3f}-{q3:.3f} |")

    cpu = [rounds(p, "envoy_cpu_us_per_request") for p in paths]
    floor = statistics.median(v for run in cpu for v in run.get("floor", {}).values())
    print(f"\n| over the floor filter's {floor:.1f} µs | rounds | median | interquartile range |")
    print("|---|---:|---:|---|")
    for variant in HOST_CALLS:
        deltas = [run[variant][r] - run["floor"][r] for run in cpu if variant in run
                  for r in run[variant] if r in run.get("floor", {})]
        if len(deltas) < 2:
            continue
        q1, _, q3 = statistics.quantiles(deltas, n=4)
        print(f"| {variant} | {len(deltas)} | {statistics.median(deltas):+.2f} µs | {q1:+.2f} to {q3:+.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
