"""`make run-envoy-gateway`: the shipped envoy-gateway/ policies in a real Envoy Gateway
(standalone mode, standalone.py), both roles with the demo upstream, left running as `make run`.

The module takes the HTTP form: published over HTTPS on 127.0.0.1 with a certificate made for
the run, named in the policy with its SHA-256 and, in a Secret, that certificate as the CA.
Gateways listen on 10000 (external) and 10001 (internal). Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "envoy"))
import certificate  # noqa: E402
import download  # noqa: E402
import run  # noqa: E402 (make run's process handling)
import stopping  # noqa: E402
import standalone  # noqa: E402


def envoy_version(envoy: str) -> str:
    out = subprocess.run([envoy, "--version"], check=True, capture_output=True, text=True).stdout
    match = re.search(r"/(\d+\.\d+\.\d+)/", out)
    if not match:
        raise SystemExit(f"cannot read the version of {envoy}: {out.strip()}")
    return match.group(1)


def status(port: int, target: str) -> int | None:
    import http.client

    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", target)
        return connection.getresponse().status
    except OSError:
        return None


def wait_serving(ports: dict[str, int], child: subprocess.Popen, timeout: float = 180) -> None:
    """Until each Gateway answers with the firewall in place (an unserved path refused)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"envoy-gateway exited with {child.returncode}; see its output above")
        if status(ports["external"], "/api/1/agents") == 403 and status(ports["internal"], "/index.html") == 200:
            return
        time.sleep(0.5)
    raise SystemExit(f"the Gateways did not serve with the firewall within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--external-port", type=int, default=10000)
    parser.add_argument("--internal-port", type=int, default=10001)
    args = parser.parse_args()
    for path, hint in ((run.ENVOY, "make venv"), (run.WASM_PATH, "make build"), (run.DEMO_UPSTREAM, "make tools")):
        if not Path(path).is_file():
            print(f"{path} is missing: run `{hint}`", file=sys.stderr)
            return 1
    binary = standalone.build()
    version = envoy_version(run.ENVOY)

    stopping.exit_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="cobrowse-l7-firewall-envoy-gateway-"))
    server = None
    try:
        first: list[str] = []
        run.spawn("upstream", [run.DEMO_UPSTREAM, "--port", "0"], first)
        if not first or not first[0].startswith("listening "):
            print("demo-upstream did not start", file=sys.stderr)
            return 1
        upstream_port = int(first[0].rpartition(":")[2])

        module = Path(run.WASM_PATH).read_bytes()
        server = download.HttpsFileServer(*certificate.self_signed(workdir / "download-tls"))
        server.files["/cobrowse_l7_firewall.wasm"] = module
        url = server.url("/cobrowse_l7_firewall.wasm")

        ports = {"external": args.external_port, "internal": args.internal_port}
        root = workdir / "envoy-gateway"
        argv = standalone.prepare(root, binary, run.ENVOY, version)
        resources = [standalone.namespace(), *standalone.gateway_class(version)]
        for role in standalone.ROLES:
            resources += standalone.gateway(standalone.gateway_name(role), ports[role], upstream_port)
            resources.append(standalone.shipped(f"clienttrafficpolicy-{role}.yaml"))
            resources += standalone.http_policy(role, url, module, server.ca_pem)
        standalone.write_resources(root, "cobrowse", resources)
        child = run.spawn("envoy-gateway", argv, env=standalone.environment(root))
        wait_serving(ports, child)

        ext, internal = (f"http://127.0.0.1:{ports[r]}" for r in standalone.ROLES)
        examples = [
            (f"curl -i '{ext}/api/1/devices/abc?x=1'", "allowed: the upstream echoes what it got"),
            (f"curl -i '{ext}/api/1/agents'", "not an SDK route: 403 on the external Gateway"),
            (f"curl -i '{internal}/dashboard/sessions/1?a=1'", "SPA route: the upstream gets /index.html?a=1"),
            (f"curl -i -X POST '{internal}/dashboard'", "other methods on SPA routes: 405"),
        ]
        width = max(len(command) for command, _ in examples)
        admins = standalone.admin_addresses(root)
        print(
            "\ncobrowse-l7-firewall is up in Envoy Gateway (standalone mode)\n"
            f"  external Gateway (SDK devices, fallback deny): {ext}\n"
            f"  internal Gateway (agents, fallback spa):       {internal}\n"
            f"  Envoy admin: {', '.join(sorted(admins.values()))}\n"
            f"  module: {url} (sha256 {hashlib.sha256(module).hexdigest()})\n"
            f"  demo upstream: http://127.0.0.1:{upstream_port}\n"
            f"  resources Envoy Gateway reads: {root / 'resources'}\n\nTry:\n"
            + "".join(f"  {command.ljust(width)}  # {comment}\n" for command, comment in examples)
            + f"  or open {internal}/ in a browser for the demo app.\nCtrl-C stops everything.\n",
            flush=True,
        )
        while all(c.poll() is None for c in run.children):
            time.sleep(0.5)
        print("a process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        run.stop_all()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
