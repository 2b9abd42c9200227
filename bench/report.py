"""Turn raw rounds into the summary table, the targets, and the Markdown report."""

import statistics

# What the project aims for; reported, never asserted.
MODULE_VS_FLOOR_RPS = {"module-ext": 1.00, "module-int": 0.97, "module-flood": 0.97}
AHEAD_OF_LUA = 1.05
DECISION_NS = 100.0
SHORT_PATH_BYTES = 64
MODULE_KIB = 256

# A run counts as disturbed above these: CPU of other processes (in cores) and steal on Envoy's CPU.
OTHER_CPU_LIMIT = 0.10
STEAL_LIMIT = 0.05
MIN_CLEAN_RUNS = 3


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def undisturbed(run):
    """A run the machine left alone: no other process and no hypervisor took a noticeable share."""
    return run["other_cpu"] < OTHER_CPU_LIMIT and run["steal"] < STEAL_LIMIT


def usable(runs):
    """The undisturbed runs when there are enough of them, else every run."""
    clean = [r for r in runs if r["undisturbed"]]
    return clean if len(clean) >= min(MIN_CLEAN_RUNS, len(runs)) else runs


def paired_ratio(runs, base_runs, key):
    """Median over rounds of value / base value in the same round (None without a common round).

    Pairing within a round cancels drifts of the machine that last longer than
    one round, such as a virtual CPU whose host lends it to other guests.
    """
    base = {b["round"]: b[key] for b in base_runs}
    ratios = [r[key] / base[r["round"]] for r in runs if r["round"] in base]
    return statistics.median(ratios) if ratios else None


def summarize(variants, rounds):
    """Per variant: medians over its usable runs, and paired ratios to "no filter" and to the floor."""
    used = {vid: usable(runs) for vid, runs in rounds.items()}
    summary = {}
    for v in variants:
        runs = used[v.id]
        summary[v.id] = {
            "rps": median_of(runs, "rps"),
            "p50_us": median_of(runs, "p50_us"),
            "p99_us": median_of(runs, "p99_us"),
            "cpu_us_per_request": median_of(runs, "envoy_cpu_us_per_request"),
            "envoy_cpu": median_of(runs, "envoy_cpu"),
            "wrk_cpu": median_of(runs, "wrk_cpu"),
            "runs_used": len(runs),
            "runs_undisturbed": sum(r["undisturbed"] for r in rounds[v.id]),
            "runs": len(rounds[v.id]),
            "socket_errors": sum(sum(n for k, n in r["errors"].items() if k != "non_2xx_3xx") for r in runs),
            "log_bytes_per_s": median_of(runs, "log_bytes_per_s") if all("log_bytes_per_s" in r for r in runs) else None,
        }
        # "none", "floor" and "floor-trim" get the external mix: compare only variants on that mix to them;
        # "vs floor" is against the floor on the variant's own mix.
        bases = {"none": "none", "floor-trim": "floor-trim"} if v.mix_name == "external" else {}
        bases["floor"] = v.baseline
        if v.kind == "module":
            # The same policy in Lua on the same mix, paired by round like the floors.
            bases["lua"] = v.id.replace("module", "lua").removesuffix("-fs").removesuffix("-nolog")
        for name, base in bases.items():
            if base in used:
                for key, field in (("rps", "rps"), ("p99", "p99_us"), ("cpu", "envoy_cpu_us_per_request")):
                    summary[v.id][f"{key}_vs_{name}"] = paired_ratio(runs, used[base], field)
    return summary


TABLE_NOTE = (
    "Figures: medians over each variant's undisturbed runs. Ratios: medians of per-round ratios\n"
    "to the baseline measured in the same round. CPU µs/req: Envoy's CPU time (all threads) per request.")


def runs_line(summary):
    used = [s["runs_used"] for s in summary.values()]
    total = max(s["runs"] for s in summary.values())
    return f"{min(used)}-{max(used)} runs per variant used, of {total} rounds"


def conditions(rounds):
    """How quiet the machine was: run counts, and medians over the runs used."""
    used = [r for runs in rounds.values() for r in usable(runs)]
    everything = [r for runs in rounds.values() for r in runs]
    return {"runs": len(everything), "undisturbed_runs": sum(r["undisturbed"] for r in everything),
            "disturbed_runs_used": sum(not r["undisturbed"] for r in used),
            "steal": median_of(used, "steal"), "other_cpu": median_of(used, "other_cpu")}


def conditions_line(c):
    return (f"{c['undisturbed_runs']} of {c['runs']} runs undisturbed (other processes < "
            f"{OTHER_CPU_LIMIT:.0%} of a core, steal < {STEAL_LIMIT:.0%}); in the runs used: steal "
            f"{c['steal']:.0%}, other processes {c['other_cpu']:.0%} of a core (medians)")


def warnings(variants, summary, c, checks, settings):
    found = []
    # Each wrk run opens its connections once; conformance requests open one each.
    reconnecting = [v.id for v in variants if checks[v.id]["connections_opened"]
                    > 2 * (settings["connections"] * (1 + summary[v.id]["runs"]) + 50)]
    if reconnecting:
        found.append(f"Envoy closed keep-alive connections for {reconnecting}: those figures include reconnects")
    wrk_bound = [v.id for v in variants if summary[v.id]["wrk_cpu"] > 0.9]
    if wrk_bound:
        found.append(f"wrk used > 90% of its core for {wrk_bound}: those figures may be wrk-bound")
    disturbed = [v.id for v in variants if summary[v.id]["runs_used"] > summary[v.id]["runs_undisturbed"]]
    if disturbed:
        found.append(f"too few undisturbed runs for {disturbed}: their figures include runs where other "
                     "processes or the hypervisor took CPU time; rerun on a quiet machine")
    errors = [v.id for v in variants if summary[v.id]["socket_errors"]]
    if errors:
        found.append(f"socket errors (connect/read/write/timeout) for {errors}")
    return found


def ratio(value):
    return f"{value:.3f}" if value is not None else "-"


def table_rows(variants, summary, conformance):
    header = ["variant", "req/s", "vs no filter", "vs floor", "vs trimmed floor", "p50 µs", "p99 µs",
              "p99 vs floor", "CPU µs/req", "CPU vs floor", "log B/s", "answers as SPEC"]
    rows = []
    for v in variants:
        s = summary[v.id]
        check = conformance[v.id]
        log = s.get("log_bytes_per_s")
        rows.append([
            v.label, f"{s['rps']:,.0f}", ratio(s.get("rps_vs_none")), ratio(s.get("rps_vs_floor")),
            ratio(s.get("rps_vs_floor-trim")),
            f"{s['p50_us']:,.0f}", f"{s['p99_us']:,.0f}", ratio(s.get("p99_vs_floor")),
            f"{s['cpu_us_per_request']:.1f}", ratio(s.get("cpu_vs_floor")),
            f"{log:,.0f}" if log is not None else "-",
            f"{check['agree']}/{check['total']}" if "agree" in check else "n/a",
        ])
    return header, rows


def text_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line("-" * w for w in widths), *map(line, rows)])


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets(summary, sizes, micro):
    """(description, met, detail) for each target that was measured."""
    checks = []
    for module, least in MODULE_VS_FLOOR_RPS.items():
        s = summary.get(module)
        if s is not None and s.get("rps_vs_floor") is not None:
            checks.append((f"{module} throughput >= {least:.2f} x floor on its mix", s["rps_vs_floor"] >= least,
                           f"{s['rps_vs_floor']:.3f}"))
    for module, lua in (("module-ext", "lua-ext"), ("module-int", "lua-int"), ("module-flood", "lua-flood"),
                        ("module-browser", "lua-browser")):
        ahead = summary.get(module, {}).get("rps_vs_lua")
        if ahead is not None:
            cpu = summary[module]["cpu_vs_lua"]
            checks.append((f"{module} ahead of {lua} by >= {AHEAD_OF_LUA - 1:.0%}", ahead >= AHEAD_OF_LUA,
                           f"throughput {ahead:.3f} x Lua's, CPU µs/req {cpu:.3f} x Lua's (paired by round)"))
    if micro:
        short = [c for c in micro["decisions"] if c["path_bytes"] <= SHORT_PATH_BYTES]
        worst = max(short, key=lambda c: c["median_ns"])
        checks.append((f"native decision < {DECISION_NS:.0f} ns for paths <= {SHORT_PATH_BYTES} B",
                       worst["median_ns"] < DECISION_NS, f"slowest: {worst['name']} {worst['median_ns']:.1f} ns"))
    if "module" in sizes:
        built = sizes["module"]["built"]
        checks.append((f"module <= {MODULE_KIB} KiB", built <= MODULE_KIB * 1024, f"{built / 1024:.1f} KiB"))
    return checks


def kib(n):
    return f"{n / 1024:,.1f} KiB" if n is not None else "failed"


def signed_mib(n):
    return f"{n / 2**20:+.2f} MiB"


def footprint_lines(sizes, memory):
    lines = []
    for name, measured in sizes.items():
        parts = [f"{measured['built']:,} B ({kib(measured['built'])})"]
        parts += [f"{level}: {kib(size)}" for level, size in measured.items() if level != "built"]
        lines.append(f"{name} size: " + ", ".join(parts))
    if memory:
        for name in ("module", "floor"):
            m = memory[name]
            lines.append(
                f"{name} listener memory at --concurrency 1 (main + one worker VM): "
                f"RSS {signed_mib(m['listener_rss'])}, tcmalloc {signed_mib(m['listener_allocated'])}; "
                f"each further worker: RSS {signed_mib(m['per_worker_rss'])}, "
                f"tcmalloc {signed_mib(m['per_worker_allocated'])}")
        own = {k: memory["module"][k] - memory["floor"][k] for k in ("listener_rss", "listener_allocated")}
        lines.append(f"module beyond the floor filter: RSS {signed_mib(own['listener_rss'])}, "
                     f"tcmalloc {signed_mib(own['listener_allocated'])}")
        lines.append(f"(Envoy with one no-filter listener: RSS {memory['base_rss'] / 2**20:.1f} MiB. Method: "
                     "difference between Envoys started with and without the wasm listener, after traffic; "
                     "RSS includes V8's heap and code pages, tcmalloc counts only Envoy's own heap.)")
    return lines


def micro_lines(micro):
    if not micro:
        return []
    lines = [f"{c['name']:<34} {c['path_bytes']:>5} B  median {c['median_ns']:>8.1f} ns"
             for c in micro["decisions"]]
    lines += [f"{c['name']:<34}          median {c['median_us']:>8.1f} µs" for c in micro.get("load", [])]
    return lines


def markdown(settings, machine, summary, header, rows, checks, footprint, micro, conformance, c, warnings_found):
    out = ["# Benchmark results", "",
           f"Machine: {machine['cpu']}, {machine['cpus']} CPUs, {machine['memory_gib']:.0f} GiB; "
           f"{machine['envoy']}; {machine['wrk']}", "",
           f"Settings: {settings['seconds']} s per variant and round, {settings['connections']} keep-alive "
           f"connections, 1 wrk thread; {runs_line(summary)}.", "",
           markdown_table(header, rows), "", TABLE_NOTE.replace("\n", " "), "",
           f"Conditions: {conditions_line(c)}.", "", *[f"Warning: {w}" for w in warnings_found], ""]
    if micro:
        out += ["## Native decision (micro)", "", "```", *micro_lines(micro), "```", ""]
    out += ["## Footprint", "", *[f"- {line}" for line in footprint], ""]
    out += ["## Targets", "", *[f"- {'met' if met else 'MISSED'}: {text} ({detail})" for text, met, detail in checks], ""]
    disagreements = [(vid, d) for vid, check in conformance.items() for d in check.get("disagreements", [])]
    if disagreements:
        out += ["## Answers that differ from SPEC.md", "", *[f"- {vid}: {d}" for vid, d in disagreements], ""]
    return "\n".join(out)
