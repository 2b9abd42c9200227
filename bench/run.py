#!/usr/bin/env python3
"""`make bench`: the native decision micro benchmark, then the Envoy macro benchmark.

Environment (all optional):
  ENVOY             Envoy binary (the Makefile exports the pinned one)
  WASM_PATH         the module (the Makefile exports the release build)
  BENCH_ROUNDS      undisturbed runs wanted per variant; a round runs each variant once (6)
  BENCH_MAX_ROUNDS  rounds at most, however many runs were disturbed (2 x BENCH_ROUNDS)
  BENCH_SECONDS     seconds per variant and round (3)
  BENCH_WARMUP      warm-up seconds per variant before the rounds (3)
  BENCH_CONNECTIONS keep-alive connections (16)
  BENCH_VARIANTS    comma-separated subset of variant ids (all)
  BENCH_SKIP_MICRO  1 to skip `cargo bench --bench decision`
  BENCH_SKIP_MEMORY 1 to skip the VM memory measurement
Results: bench/results/results.json (raw) and bench/results/results.md (table).
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import conformance
import envoy_config
import footprint
import report
import variants
from envoy_process import Envoy, dedicated, free_ports
from loadgen import cpu_ticks, process_seconds, run_wrk

import certificate  # envoy/, on the path once envoy_config is imported

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
FLOOR_MANIFEST = BENCH_DIR / "floor-filter" / "Cargo.toml"
FLOOR_WASM = BENCH_DIR / "floor-filter" / "target" / "wasm32-wasip1" / "release" / "bench_floor_filter.wasm"
FLOOR_EXPORTS = BENCH_DIR / "floor-filter" / "exports.list"
TRIM_EXPORTS = REPO / "target" / "release" / "trim-exports"
DEFAULT_WASM = REPO / "dist" / "cobrowse_l7_firewall.wasm"


def env_number(name, default):
    return int(os.environ.get(name) or default)


def say(text=""):
    print(text, flush=True)


def find_envoy():
    candidates = [os.environ.get("ENVOY"), str(REPO / ".venv" / "bin" / "envoy"), shutil.which("envoy")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("no Envoy: set ENVOY=/path/to/envoy or run `make venv`")


def command_output(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "unavailable"


def machine(envoy):
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": mem_kib / 2**20, "kernel": platform.release(),
        "envoy": command_output([envoy, "--version"]).split("version:")[-1].strip(),
        "wrk": command_output(["wrk", "-v"]).splitlines()[0].split(" Copyright")[0] if shutil.which("wrk") else "?",
        "rustc": command_output(["rustc", "--version"]),
    }


def busy_share(seconds=2.0):
    """Share of all CPUs that processes used over a short idle look, before anything starts."""
    before = cpu_ticks(None)
    time.sleep(seconds)
    after = cpu_ticks(None)
    return process_seconds(before, after) / (seconds * (os.cpu_count() or 1))


def run_micro():
    """cargo bench --bench decision; it writes its figures to the file named by BENCH_MICRO_JSON."""
    out = RESULTS / "micro.json"
    out.unlink(missing_ok=True)
    say("== micro: cargo bench --bench decision")
    done = subprocess.run(dedicated(["cargo", "bench", "--bench", "decision"], cpu=None), cwd=REPO,
                          env={**os.environ, "BENCH_MICRO_JSON": str(out)})
    if done.returncode != 0 or not out.exists():
        say("micro benchmark failed (Cargo.toml needs [[bench]] name = \"decision\" harness = false); "
            "continuing with the macro benchmark")
        return None
    return json.loads(out.read_text())


def build_floor():
    say("== building the floor filter")
    subprocess.run(["cargo", "build", "--quiet", "--locked", "--release", "--target", "wasm32-wasip1",
                    "--manifest-path", str(FLOOR_MANIFEST)], cwd=REPO, check=True)
    # The second floor: the same filter with its unused exports removed, as `make build` does to the module.
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "trim-exports"], cwd=REPO, check=True)
    subprocess.run([str(TRIM_EXPORTS), str(FLOOR_EXPORTS), str(FLOOR_WASM),
                    str(envoy_config.trimmed(FLOOR_WASM))], cwd=REPO, check=True)


def measure(envoy_binary, selected, module_wasm, settings):
    """Conformance, warm-up and interleaved rounds on one Envoy with a listener per variant."""
    # Envoy on CPU 0, wrk on CPU 1: neither steals the other's core.
    envoy_cpu, wrk_cpu = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
    admin, *ports = free_ports(len(selected) + 1)
    port_of = {v.id: port for v, port in zip(selected, ports)}
    # TLS variants: a certificate made for the run (envoy/certificate.py).
    tls_files = certificate.self_signed(RESULTS / "tls") if any(v.edge == "tls" for v in selected) else None
    bootstrap = envoy_config.bootstrap(list(zip(selected, ports)), admin, module_wasm, FLOOR_WASM, tls_files)
    checks, rounds = {}, {v.id: [] for v in selected}
    # Envoy's default log level, its log in a file, as in production: refusal lines cost what they cost.
    with Envoy(envoy_binary, bootstrap, admin, RESULTS, "envoy-bench", cpu=envoy_cpu, log_level="info") as envoy:
        say("== checking answers against SPEC.md")
        for v in selected:
            checks[v.id] = {}
            if v.enforces_policy:
                agree, total, disagreements = conformance.check(port_of[v.id], v.role, v.mix_name, v.edge == "tls")
                checks[v.id] = {"agree": agree, "total": total, "disagreements": disagreements}
                say(f"{v.id:<11} {agree}/{total} as expected" + "".join(f"\n    {d}" for d in disagreements))

        def one_run(v, seconds):
            mix = conformance.mix_file(v.mix_name)
            logged = envoy.log_path.stat().st_size
            scheme = "https" if v.edge == "tls" else "http"
            result = run_wrk(port_of[v.id], mix, seconds, settings["connections"], envoy, wrk_cpu, envoy_cpu, scheme)
            time.sleep(0.3)  # two flush intervals, and past the tick that writes a summary line
            # Envoy's log grows only with what the running variant writes (one listener at a time).
            result["log_bytes_per_s"] = (envoy.log_path.stat().st_size - logged) / seconds
            return result

        say(f"== warm-up: {settings['warmup']} s per variant")
        for v in selected:
            one_run(v, settings["warmup"])
        # Rounds until every variant has `rounds` undisturbed runs, or `max_rounds` ran.
        number = 0
        while number < settings["max_rounds"] and min(
                sum(r["undisturbed"] for r in runs) for runs in rounds.values()) < settings["rounds"]:
            # Rotate the order so no variant always runs first or last in a round.
            shift = number % len(selected)
            order = selected[shift:] + selected[:shift]
            number += 1
            say(f"== round {number}")
            for v in order:
                result = one_run(v, settings["seconds"])
                rounds[v.id].append({**result, "round": number, "undisturbed": report.undisturbed(result)})
                say(f"{v.id:<11} {result['rps']:>8,.0f} req/s  p50 {result['p50_us']:>6} µs  "
                    f"p99 {result['p99_us']:>6} µs  {result['envoy_cpu_us_per_request']:5.1f} CPU-µs/req  "
                    f"Envoy CPU {result['envoy_cpu']:4.0%}  wrk CPU {result['wrk_cpu']:4.0%}  "
                    f"steal {result['steal']:4.0%}  others {result['other_cpu']:4.0%}  "
                    f"log {result['log_bytes_per_s']:,.0f} B/s")
        # Keep-alive should hold: a variant that makes Envoy close connections measures reconnects.
        for v in selected:
            name = f"http.{v.id}.downstream_cx_total"
            checks[v.id]["connections_opened"] = envoy.stats(name).get(name, 0)
    return checks, rounds


def settings_from_env():
    settings = {
        "rounds": env_number("BENCH_ROUNDS", 6), "seconds": env_number("BENCH_SECONDS", 3),
        "warmup": env_number("BENCH_WARMUP", 3), "connections": env_number("BENCH_CONNECTIONS", 16),
    }
    settings["max_rounds"] = env_number("BENCH_MAX_ROUNDS", 2 * settings["rounds"])
    return settings


def publish(settings, info, selected, micro, sizes, memory, checks, rounds):
    """Print the summary and write results.json and results.md."""
    summary = report.summarize(selected, rounds)
    header, rows = report.table_rows(selected, summary, checks)
    target_checks = report.targets(summary, sizes, micro)
    footprint_text = report.footprint_lines(sizes, memory)
    conditions = report.conditions(rounds)
    warnings = report.warnings(selected, summary, conditions, checks, settings)

    say(f"\n== results: {report.runs_line(summary)}, {settings['seconds']} s each, "
        f"{settings['connections']} connections (mixes: bench/mixes/)")
    say(report.text_table(header, rows))
    say(report.TABLE_NOTE)
    if micro:
        say("\nnative decision (micro):\n" + "\n".join(report.micro_lines(micro)))
    say("\nfootprint:\n" + "\n".join(footprint_text))
    say("\ntargets (reported, not asserted):")
    for text, met, detail in target_checks:
        say(f"  {'met   ' if met else 'MISSED'}  {text}: {detail}")
    say(f"\nconditions: {report.conditions_line(conditions)}")
    for warning in warnings:
        say(f"warning: {warning}")

    raw = {
        "settings": settings, "machine": info, "variants": [vars(v) for v in selected], "micro": micro,
        "sizes": sizes, "memory": memory, "conformance": checks, "rounds": rounds, "summary": summary,
        "conditions": conditions, "warnings": warnings,
        "targets": [{"target": t, "met": m, "detail": d} for t, m, d in target_checks],
    }
    (RESULTS / "results.json").write_text(json.dumps(raw, indent=2))
    (RESULTS / "results.md").write_text(report.markdown(
        settings, info, summary, header, rows, target_checks, footprint_text, micro, checks, conditions, warnings))


def main():
    settings = settings_from_env()
    selected = variants.select(os.environ.get("BENCH_VARIANTS", ""))
    envoy_binary = find_envoy()
    module_wasm = Path(os.environ.get("WASM_PATH") or DEFAULT_WASM)
    if any(v.kind == "module" for v in selected) and not module_wasm.is_file():
        raise SystemExit(f"module not found at {module_wasm}: run `make build`")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    info = machine(envoy_binary)
    say(f"{info['cpu']}, {info['cpus']} CPUs, {info['memory_gib']:.0f} GiB; Envoy {info['envoy']}; {info['wrk']}")
    busy = busy_share()
    if busy > 0.1:
        say(f"warning: other processes are using {busy:.0%} of the CPUs; the figures will be skewed")

    skip_micro = os.environ.get("BENCH_SKIP_MICRO") == "1"
    micro = None if skip_micro else run_micro()
    build_floor()

    say("== footprint")
    sizes = {"floor": footprint.sizes(FLOOR_WASM)}
    if module_wasm.is_file():
        sizes = {"module": footprint.sizes(module_wasm), **sizes}
    memory = None
    if module_wasm.is_file() and os.environ.get("BENCH_SKIP_MEMORY") != "1":
        memory = footprint.vm_memory(envoy_binary, module_wasm, FLOOR_WASM, RESULTS)
    say("\n".join(report.footprint_lines(sizes, memory)))

    checks, rounds = measure(envoy_binary, selected, module_wasm, settings)
    publish(settings, info, selected, micro, sizes, memory, checks, rounds)
    say(f"\nwrote {RESULTS / 'results.json'} and {RESULTS / 'results.md'} ({time.monotonic() - started:.0f} s)")
    # A failed micro benchmark fails the run, after the macro figures are out.
    return 0 if micro is not None or skip_micro else 1


if __name__ == "__main__":
    sys.exit(main())
