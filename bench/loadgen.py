"""Drive one listener with wrk and return its figures."""

import json
import os
import resource
import subprocess
import time
from pathlib import Path

from envoy_process import dedicated

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_mix.lua"


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_ticks(cpu):
    """/proc/stat counters of one CPU (all CPUs when None): user nice system idle iowait irq softirq steal."""
    name = "cpu" if cpu is None else f"cpu{cpu}"
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields[0] == name:
            return [int(n) for n in fields[1:9]]
    return [0] * 8


def steal_share(before, after):
    """Share of the CPU's time the hypervisor gave to other guests."""
    delta = [a - b for a, b in zip(after, before)]
    return delta[7] / sum(delta) if sum(delta) else 0.0


def process_seconds(before, after):
    """User + system time of all processes on all CPUs (interrupts excluded: they are mostly our own traffic)."""
    return sum(after[i] - before[i] for i in (0, 1, 2)) / os.sysconf("SC_CLK_TCK")


def run_wrk(port, mix_file, seconds, connections, envoy, wrk_cpu_id=None, envoy_cpu_id=None, scheme="http"):
    """One closed-loop wrk run: `connections` keep-alive connections on one thread.

    Returns requests/s, latency percentiles (µs), socket errors, Envoy's CPU
    time per request, the CPU share of Envoy and of wrk (a run where wrk, not
    Envoy, was the bottleneck shows), and the steal time on Envoy's CPU (a
    virtual machine whose host lends the core to others shows), and the CPU
    used by other processes meanwhile, in cores.
    """
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(WRK_SCRIPT), f"{scheme}://127.0.0.1:{port}", "--", str(mix_file),
    ]
    ticks, all_ticks = cpu_ticks(envoy_cpu_id), cpu_ticks(None)
    envoy_cpu, wrk_cpu, started = envoy.cpu_seconds(), children_cpu_seconds(), time.monotonic()
    done = subprocess.run(dedicated(command, wrk_cpu_id), capture_output=True, text=True, timeout=seconds + 60)
    wall = time.monotonic() - started
    envoy_cpu, wrk_cpu = envoy.cpu_seconds() - envoy_cpu, children_cpu_seconds() - wrk_cpu
    steal = steal_share(ticks, cpu_ticks(envoy_cpu_id))
    others = process_seconds(all_ticks, cpu_ticks(None)) - envoy_cpu - wrk_cpu
    line = next((l for l in done.stdout.splitlines() if l.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("WRK_RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["envoy_cpu_us_per_request"] = envoy_cpu * 1e6 / max(result["requests"], 1)
    result["envoy_cpu"] = envoy_cpu / wall
    result["wrk_cpu"] = wrk_cpu / wall
    result["steal"] = steal
    # Anything else running (a build, a test suite) competes with Envoy and skews the figures.
    result["other_cpu"] = max(others, 0.0) / wall
    return result
