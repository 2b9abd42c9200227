"""`make run`: the demo upstream and both shipped Envoy listeners, on this machine, no Docker.

Envoy is $ENVOY (the pinned wheel in .venv by default), the module $WASM_PATH. Each shipped
YAML is rendered with local addresses only (envoy/render.py); ports stay as shipped unless
given. Output of every process is shown with a [name] prefix; Ctrl-C or SIGTERM stops all.

--tls serves both listeners over TLS (ALPN h2, http/1.1) with --tls-cert/--tls-key, or with
a self-signed certificate made for the run; --http3 adds a QUIC listener on the same port
numbers (UDP), announced by Alt-Svc.

--log-level sets Envoy's level (warn by default); at debug or trace, Envoy's `http` and
`router` loggers stay at info, since they print request headers, query tokens included
(render.log_args).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "envoy"))
import certificate
import stopping
import render

ENVOY = os.environ.get("ENVOY") or str(ROOT / ".venv" / "bin" / "envoy")
WASM_PATH = os.environ.get("WASM_PATH") or str(ROOT / "dist/cobrowse_l7_firewall.wasm")
DEMO_UPSTREAM = os.environ.get("DEMO_UPSTREAM") or str(ROOT / "target/release/demo-upstream")
ROLES = ("external", "internal")

children: list[subprocess.Popen] = []


def spawn(
    name: str, argv: list[str], first_line: list[str] | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a process in its own group; relay its output with a [name] prefix."""
    child = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    children.append(child)
    ready = threading.Event()

    def relay() -> None:
        for raw in child.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if first_line is not None and not ready.is_set():
                first_line.append(line)
                ready.set()
            print(f"[{name}] {line}", flush=True)
        ready.set()

    threading.Thread(target=relay, daemon=True).start()
    if first_line is not None:
        ready.wait(30)
    return child


def stop_all() -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def wait_ready(admin: str, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"envoy exited with {child.returncode}; see its output above")
        try:
            with urllib.request.urlopen(admin + "/ready", timeout=2) as response:
                if response.read().strip() == b"LIVE":
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"envoy at {admin} not ready after 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--external-port", type=int, default=10000)
    parser.add_argument("--internal-port", type=int, default=10001)
    parser.add_argument("--upstream-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--tls", action="store_true", help="serve both listeners over TLS")
    parser.add_argument("--tls-cert", help="PEM certificate chain (default: self-signed for this run)")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--http3", action="store_true", help="add HTTP/3 (QUIC, UDP) listeners; implies --tls")
    parser.add_argument(
        "--log-level",
        default="warn",
        choices=["trace", "debug", "info", "warning", "warn", "error", "critical", "off"],
        help="Envoy's log level; header-printing loggers stay at info (default: warn)",
    )
    args = parser.parse_args()
    args.tls = args.tls or args.http3 or bool(args.tls_cert)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    for path, hint in ((ENVOY, "make venv"), (WASM_PATH, "make build"), (DEMO_UPSTREAM, "make tools")):
        if not Path(path).is_file():
            print(f"{path} is missing: run `{hint}`", file=sys.stderr)
            return 1

    # Ctrl-C, SIGTERM or a closed terminal: leave through `finally`, which stops every child.
    # (SIGINT is set explicitly: a shell may start a background job with it ignored.)
    stopping.exit_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="cobrowse-l7-firewall-run-"))
    try:
        first: list[str] = []
        spawn("upstream", [DEMO_UPSTREAM, "--port", str(args.upstream_port)], first)
        if not first or not first[0].startswith("listening "):
            print("demo-upstream did not start", file=sys.stderr)
            return 1
        upstream_port = int(first[0].rpartition(":")[2])

        ports = {"external": args.external_port, "internal": args.internal_port}
        admins = {}
        if args.tls and args.tls_cert:
            tls_files = (Path(args.tls_cert), Path(args.tls_key))
        elif args.tls:
            tls_files = certificate.self_signed(workdir / "tls")
        for role in ROLES:
            config = render.load(ROOT / "envoy" / f"{role}.yaml")
            admin_port = config["admin"]["address"]["socket_address"]["port_value"]
            config = render.localize(
                config,
                wasm_path=WASM_PATH,
                upstream=("127.0.0.1", upstream_port),
                listener_port=ports[role],
                admin_port=admin_port,
            )
            if args.tls:
                config = render.with_tls(config, *tls_files)
            if args.http3:
                config = render.with_http3(config)
            path = render.dump(config, workdir / f"{role}.yaml")
            # Warnings and the access log only; two Envoys on one host need no hot restart.
            child = spawn(role, [ENVOY, "-c", str(path), "--disable-hot-restart", *render.log_args(args.log_level)])
            admins[role] = (f"http://127.0.0.1:{admin_port}", child)
        for admin, child in admins.values():
            wait_ready(admin, child)

        scheme = "https" if args.tls else "http"
        ext, internal = (f"{scheme}://127.0.0.1:{ports[r]}" for r in ROLES)
        curl = f"curl -i --cacert {tls_files[0]}" if args.tls else "curl -i"
        if args.tls:
            # The certificate names localhost and 127.0.0.1; curl checks it against --cacert.
            ext, internal = (url.replace("127.0.0.1", "localhost") for url in (ext, internal))
        examples = [
            (f"{curl} '{ext}/api/1/devices/abc?x=1'", "allowed: the upstream echoes what it got"),
            (f"{curl} '{ext}/api/1/agents'", "not an SDK route: 403 on the external listener"),
            (f"{curl} '{internal}/dashboard/sessions/1?a=1'", "SPA route: the upstream gets /index.html?a=1"),
            (f"{curl} -X POST '{internal}/dashboard'", "other methods on SPA routes: 405"),
        ]
        if args.http3:
            examples.append((f"{curl} --http3-only '{ext}/api/1/devices/x'", "HTTP/3 (a curl built with it)"))
        width = max(len(command) for command, _ in examples)
        print(
            "\ncobrowse-l7-firewall is up\n"
            f"  external listener (SDK devices, fallback deny): {ext}\n"
            f"  internal listener (agents, fallback spa):       {internal}\n"
            f"  admin: {admins['external'][0]} (external), {admins['internal'][0]} (internal)\n"
            + (f"  TLS certificate: {tls_files[0]}\n" if args.tls else "")
            + (f"  HTTP/3: UDP {ports['external']} and {ports['internal']}, announced by Alt-Svc\n" if args.http3 else "")
            + f"  demo upstream: http://127.0.0.1:{upstream_port}\n"
            f"  rendered Envoy YAML: {workdir}\n\nTry:\n"
            + "".join(f"  {command.ljust(width)}  # {comment}\n" for command, comment in examples)
            + f"  or open {internal}/ in a browser for the demo app.\nCtrl-C stops everything.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
