#!/usr/bin/env python3
"""`make soak`: long mixed load through one Envoy (two workers, both shipped listeners, the
real module) to the demo upstream, with a policy change every SOAK_CHANGE_EVERY seconds
(alternately over ECDS and as a listener update, tests/faults/gateway.py), then checks.
Exit status 1 if any check fails.

  SOAK_REQUESTS      stop after this many requests (10,000,000)
  SOAK_SECONDS       or after this many seconds, if set
  SOAK_WORKERS       HTTP threads, spread over {external, internal} x {HTTP/1.1, HTTP/2} (4)
  SOAK_SAMPLE        seconds between samples (10)
  SOAK_CHANGE_EVERY  seconds between policy changes (10; 0: none)
  SOAK_OUT           directory for soak.csv, one row a sample (target/soak)

Checks: no 5xx and every answer the one the contract fixes (and the filter's counters
agree with what the clients saw); no VM failure or reload (Envoy's wasm stats and log);
memory flat once warmed up (see MEMORY_BUDGET): Envoy's heap, its RSS and the VM's linear
memory (the module's gauge). `tests/soak/plot.py` draws soak.csv.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))
import policy  # noqa: E402
from churn import policy as churn_policy  # noqa: E402
from gateway import Gateway  # noqa: E402
from processes import ROOT, Upstream  # noqa: E402
from traffic import Tally, http_worker, websocket_traffic  # noqa: E402

MiB = 1024 * 1024
# Growth of the median from the first to the last third of the samples after warm-up.
# The load is steady (fixed threads, a fixed number of held WebSockets), so a healthy
# Envoy allocates as much at the end as at the start: measured noise is under 0.1 MiB for
# both (after one step of about 2 MiB in the first seconds, hence the warm-up). Over a
# one-minute run at ~1,000 requests/s the two medians are ~40,000 requests apart, so a leak
# of 100 bytes per request in Envoy's heap, or 200 in RSS, fails the check; the longer the
# run, the smaller the leak it catches. The VM's linear memory grows by whole 64 KiB pages:
# one page is noise, 1 MiB is a leak (V8 maps it outside tcmalloc: the heap does not see it).
MEMORY_BUDGET = {"allocated": 4 * MiB, "rss": 8 * MiB, "vm_memory": 1 * MiB}
WARMUP = 10.0  # seconds at most, a quarter of short runs: V8 compiles lazily, pools fill up
HELD_WEBSOCKETS = 10  # on the external listener, for the whole run
# Listeners replaced by LDS drain this long (Envoy's default is 600 s): WebSockets are held on
# the ECDS listener only, since draining closes them on the other.
DRAIN = ["--drain-time-s", "2"]
TRAP_SIGNS = ("wasm trap", "Function: proxy_on", "panicked", "Uncaught", "Failed", "reload")


# What can hold memory beside the requests in flight, sampled with it so that a step in the
# memory curves can be put down to one of them: listeners still draining after an LDS update
# (each with its filter chain and its VMs), the Wasm VMs alive, downstream connections open.
HOLDERS = {
    "listeners_draining": r"^listener_manager\.total_listeners_draining$",
    "vms": r"^wasm\.envoy\.wasm\.runtime\.v8\.active$",
    "connections": r"^listener\..*\.downstream_cx_active$",
}
MEMORY = r"^(server\.memory_(allocated|heap_size)|wasmcustom\.cobrowse_l7fw\.vm_memory_bytes)$"
SAMPLED = "|".join([MEMORY, *HOLDERS.values()])


def stats(envoy: Gateway, pattern: str) -> dict[str, int]:
    return envoy.stats(pattern)


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024


def sampler(envoy: Gateway, tally: Tally, stop: threading.Event, every: float, out: list, t0: float,
            change_every: float, csv_path: Path) -> None:
    """Samples memory every `every` seconds and pushes a policy change every `change_every`."""
    version, next_change = 0, time.monotonic() + change_every
    with open(csv_path, "w", encoding="utf-8") as csv:
        csv.write("seconds,requests,changes,allocated,heap,rss,vm_memory," + ",".join(HOLDERS) + "\n")
        while True:
            memory = stats(envoy, SAMPLED)
            s = {"t": time.monotonic() - t0, "requests": tally.total(), "changes": version, "rss": rss(envoy.popen.pid),
                 "allocated": memory["server.memory_allocated"], "heap": memory["server.memory_heap_size"],
                 "vm_memory": memory.get("wasmcustom.cobrowse_l7fw.vm_memory_bytes", 0),
                 **{column: sum(v for k, v in memory.items() if re.match(p, k)) for column, p in HOLDERS.items()}}
            out.append(s)
            csv.write(f"{s['t']:.1f},{s['requests']},{version},{s['allocated']},{s['heap']},{s['rss']},{s['vm_memory']},"
                      + ",".join(str(s[c]) for c in HOLDERS) + "\n")
            csv.flush()
            while change_every and time.monotonic() >= next_change:
                version += 1
                role = ("external", "internal")[version % 2]
                publish = envoy.publish_external if role == "external" else envoy.publish_internal
                publish(json.dumps(churn_policy(role, version)))
                next_change += change_every
            if stop.wait(every):
                return


def steady_samples(samples: list[dict]) -> list[dict]:
    warmup = min(WARMUP, samples[-1]["t"] / 4) if samples else 0
    return [s for s in samples if s["t"] >= warmup]


def memory_growth(samples: list[dict], key: str) -> int:
    steady = [s[key] for s in steady_samples(samples)]
    third = max(1, len(steady) // 3)
    return int(statistics.median(steady[-third:]) - statistics.median(steady[:third]))


def run(requests: int, seconds: float | None, workers: int, every: float, change_every: float, out: Path,
        workdir: Path) -> int:
    upstream = Upstream(workdir)
    envoy = None
    try:
        envoy = Gateway(workdir / "envoy", upstream, json.dumps(churn_policy("external", 0)),
                        json.dumps(churn_policy("internal", 0)), name="soak", extra=DRAIN)
        ports = {name: envoy.ports[name] for name in ("external", "internal")}
        before = envoy_state(envoy)

        tally, stop, samples = Tally(), threading.Event(), []
        t0 = time.monotonic()
        combos = [(l, p) for p in ("h1", "h2") for l in ("external", "internal")]
        out.mkdir(parents=True, exist_ok=True)
        threads = [threading.Thread(target=sampler, args=(envoy, tally, stop, every, samples, t0, change_every,
                                                          out / "soak.csv"), daemon=True)]
        for i in range(workers):
            listener, proto = combos[i % len(combos)]
            threads.append(threading.Thread(
                target=http_worker, args=(listener, ports[listener], proto, stop, tally, i * 1_000_003), daemon=True))
        threads.append(threading.Thread(
            target=lambda: asyncio.run(websocket_traffic({"external": ports["external"]}, stop, tally, HELD_WEBSOCKETS)),
            daemon=True))
        for t in threads:
            t.start()
        while tally.total() < requests and (seconds is None or time.monotonic() - t0 < seconds):
            if stop.wait(1):
                break
        stop.set()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - t0

        hung = any(t.is_alive() for t in threads)
        time.sleep(COUNTER_LAG)  # the filter adds its counts to Envoy's counters once a second
        return report(tally, samples, elapsed, hung, before, envoy_state(envoy), upstream_escapes(upstream))
    finally:
        if envoy is not None:
            envoy.stop()
        upstream.stop()


# Past one tick of the filter: every count it holds has reached Envoy's counters.
COUNTER_LAG = 1.3


def envoy_state(envoy: Gateway) -> dict:
    log = envoy.log()
    return {"vm": stats(envoy, r"^wasm\."), "counters": stats(envoy, r"^wasmcustom\."), "log": log,
            "started": log.count("VM started")}


def upstream_escapes(upstream: Upstream) -> tuple[int, list[bytes]]:
    """(requests the upstream received, those outside both listeners' prefixes or not canonical)."""
    prefixes = policy.prefixes(policy.EXTERNAL_GROUPS + policy.INTERNAL_GROUPS)
    received, escapes = 0, []
    with open(upstream.request_log, "rb") as f:
        for line in f:
            received += 1
            entry = json.loads(line)
            path = policy.split_target(entry.get("target", "").encode("latin-1"))[0]
            if not policy.forwardable(path, prefixes):
                escapes.append(path[:100])
    return received, escapes


def counter_deltas(before: dict, after: dict) -> dict[tuple[str, str], int]:
    deltas: dict[tuple[str, str], int] = {}
    for name, value in after.items():
        parts = name.split(".")  # wasmcustom.cobrowse_l7fw.<listener>.<outcome>[.<group>]
        if len(parts) < 4 or parts[3] == "config":  # the gauges: VM memory, configuration in force
            continue
        key = (parts[2], parts[3])
        deltas[key] = deltas.get(key, 0) + value - before.get(name, 0)
    return {k: v for k, v in deltas.items() if v}


def report(tally: Tally, samples: list, elapsed: float, hung: bool, before: dict, after: dict,
           upstream: tuple[int, list[bytes]]) -> int:
    failures = []
    answers = {k: v for k, v in tally.answers.items() if k[1] != "ws_message"}
    requests = tally.total()
    messages = sum(v for k, v in tally.answers.items() if k[1] == "ws_message")
    print(f"soak: {elapsed:.0f} s, {requests} requests and upgrades ({requests / elapsed:.0f}/s), "
          f"{messages} WebSocket messages echoed")
    for (listener, kind, status), count in sorted(answers.items(), key=str):
        print(f"  {listener:9} {kind:19} {status}  {count}")

    if hung:
        failures.append("a traffic thread did not stop")
    changes = samples[-1]["changes"] if samples else 0
    print(f"  {changes} policy changes pushed")
    if requests < 100 * elapsed:
        failures.append(f"only {requests} requests: the load never really ran")
    fives = sum(v for (_, _, status), v in answers.items() if status and status >= 500)
    if fives:
        failures.append(f"{fives} answers were 5xx")
    if tally.unexpected:
        failures.append("answers other than the contract's:\n    " + "\n    ".join(tally.unexpected))
    if tally.errors:
        failures.append(f"client errors: {dict(tally.errors)}")
    forwarded = sum(v for (_, _, status), v in answers.items() if status in (101, 200))
    received, escapes = upstream
    print(f"  upstream received {received} requests, {len(escapes)} outside an enabled prefix")
    if received != forwarded:
        failures.append(f"the upstream received {received} requests, the clients saw {forwarded} forwarded")
    if escapes:
        failures.append(f"reached the upstream outside every prefix: {escapes[:5]}")
    seen = counter_deltas(before["counters"], after["counters"])
    if seen != dict(tally.counters):
        failures.append(f"filter counters {seen} != what the clients saw {dict(tally.counters)}")

    reloads = {k: v for k, v in after["vm"].items() if "reload" in k and v}
    if reloads or not any("vm_reload" in k for k in after["vm"]):
        failures.append(f"VM reloads (or no reload stats at all): {reloads}")
    failed = {k: v for k, v in after["vm"].items() if ("fail" in k or "crash" in k) and v}
    if failed:
        failures.append(f"VM failures: {failed}")
    created = "wasm.envoy.wasm.runtime.v8.created"
    print(f"  VMs created: {before['vm'].get(created)} at the start, {after['vm'].get(created)} at the end "
          f"(a listener update starts the module's VMs for the new listener)")
    # Envoy's own log lines only: access-log lines echo request paths.
    bad = [l for l in after["log"].splitlines() if re.match(r"\[\d{4}-\d\d-\d\d \d", l)
           and (re.search(r"\]\[(error|critical)\]", l) or any(s in l for s in TRAP_SIGNS))]
    if bad:
        failures.append("Envoy log:\n    " + "\n    ".join(bad[:10]))

    print("memory (MiB):     t  requests changes  allocated   heap    RSS  VM memory  draining  VMs  connections")
    for s in samples[:: max(1, len(samples) // 40)]:
        print(f"              {s['t']:5.0f} {s['requests']:9} {s['changes']:7} {s['allocated'] / MiB:10.1f} "
              f"{s['heap'] / MiB:6.1f} {s['rss'] / MiB:6.1f} {s['vm_memory'] / MiB:10.2f} "
              f"{s['listeners_draining']:9} {s['vms']:4} {s['connections']:12}")
    if len(steady_samples(samples)) < 6:
        failures.append("too few memory samples after warm-up: run longer (SOAK_SECONDS)")
    else:
        for key, budget in MEMORY_BUDGET.items():
            growth = memory_growth(samples, key)
            print(f"  {key} growth, first to last third after warm-up: {growth / MiB:+.2f} MiB "
                  f"(budget {budget / MiB:.0f} MiB)")
            if growth > budget:
                failures.append(f"{key} grew {growth / MiB:.1f} MiB")

    for failure in failures:
        print(f"FAIL: {failure}")
    print("soak: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


def main() -> int:
    requests = int(float(os.environ.get("SOAK_REQUESTS") or 10_000_000))
    seconds = float(os.environ["SOAK_SECONDS"]) if os.environ.get("SOAK_SECONDS") else None
    workers = int(os.environ.get("SOAK_WORKERS") or 4)
    every = float(os.environ.get("SOAK_SAMPLE") or 10)
    change_every = float(os.environ.get("SOAK_CHANGE_EVERY") or 10)
    out = Path(os.environ.get("SOAK_OUT") or ROOT / "target" / "soak")
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        return run(requests, seconds, workers, every, change_every, out, Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
