"""What the module costs besides CPU: its size on disk and the memory of its VMs."""

import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import envoy_config
from envoy_process import Envoy, free_ports
from variants import ALL

# The post-MVP features rustc enables for wasm32-wasip1; binaryen must be told.
WASM_FEATURES = [
    "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int", "--enable-multivalue", "--enable-reference-types",
]


# Workers added to tell the per-worker VM apart from the one-off cost (V8 itself, the main thread's VM).
EXTRA_WORKERS = 3


def sizes(wasm):
    """Bytes of the module as built and, when binaryen is installed, after wasm-opt."""
    result = {"built": wasm.stat().st_size}
    if shutil.which("wasm-opt") is None:
        return result
    with tempfile.TemporaryDirectory() as tmp:
        for level in ("-O3", "-Oz"):
            out = Path(tmp) / "opt.wasm"
            done = subprocess.run(["wasm-opt", level, *WASM_FEATURES, str(wasm), "-o", str(out)],
                                  capture_output=True, text=True)
            result[f"wasm-opt {level}"] = out.stat().st_size if done.returncode == 0 else None
    return result


def _settled_memory(binary, listener_variants, concurrency, module_wasm, floor_wasm, workdir):
    """RSS and tcmalloc-allocated bytes of an Envoy serving these listeners, after traffic."""
    admin, *ports = free_ports(len(listener_variants) + 1)
    bootstrap = envoy_config.bootstrap(list(zip(listener_variants, ports)), admin, module_wasm, floor_wasm)
    with Envoy(binary, bootstrap, admin, workdir, "memory", concurrency) as envoy:
        # Enough requests for every worker to have created its VM and its contexts.
        for port in ports:
            for _ in range(50 * concurrency):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/1/devices", timeout=5) as response:
                    response.read()
        time.sleep(1.0)
        allocated = envoy.stats("server.memory_allocated").get("server.memory_allocated", 0)
        return envoy.rss_bytes(), allocated


def vm_memory(binary, module_wasm, floor_wasm, workdir, repeats=3):
    """Memory added by one wasm listener, measured as a difference between Envoys.

    Each Envoy serves a no-filter listener, alone or beside one wasm listener
    (module, external config; or the floor filter). The difference is the
    listener's cost at --concurrency 1: the main thread's VM plus one worker's
    VM. Running the same pair at --concurrency 4 and subtracting, divided by
    the three extra workers, gives what each further worker thread adds (one
    more VM). RSS counts V8's own heap and code
    pages, which tcmalloc's `server.memory_allocated` does not; both are given.
    Medians over `repeats` starts.
    """
    by_id = {v.id: v for v in ALL}
    layouts = {"base": [by_id["none"]], "module": [by_id["none"], by_id["module-ext"]],
               "floor": [by_id["none"], by_id["floor"]]}
    measured = {}
    for concurrency in (1, 1 + EXTRA_WORKERS):
        for name, listeners in layouts.items():
            samples = [_settled_memory(binary, listeners, concurrency, module_wasm, floor_wasm, workdir)
                       for _ in range(repeats)]
            measured[(name, concurrency)] = tuple(statistics.median(s[i] for s in samples) for i in (0, 1))

    def delta(name, concurrency, index):
        return measured[(name, concurrency)][index] - measured[("base", concurrency)][index]

    result = {}
    for name in ("module", "floor"):
        result[name] = {
            "listener_rss": delta(name, 1, 0),
            "listener_allocated": delta(name, 1, 1),
            "per_worker_rss": (delta(name, 1 + EXTRA_WORKERS, 0) - delta(name, 1, 0)) / EXTRA_WORKERS,
            "per_worker_allocated": (delta(name, 1 + EXTRA_WORKERS, 1) - delta(name, 1, 1)) / EXTRA_WORKERS,
        }
    result["base_rss"] = measured[("base", 1)][0]
    return result
