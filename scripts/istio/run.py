"""`make run-istio`: the tests/istio setup left running. etcd, kube-apiserver, istiod and a
gateway per role (pilot-agent proxy router with the wheel's Envoy), the module image in a
local registry, the shipped WasmPlugins pinned to it by digest and applied through the API
server; the demo upstream behind both gateways. Prints each role's URL and admin port as `make run` does; Ctrl-C or
SIGTERM stops everything it started.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "istio"))
sys.path.insert(0, str(ROOT / "scripts"))

import conftest  # noqa: E402 (tests/istio's harness)
import stopping  # noqa: E402
import released  # noqa: E402
from processes import Upstream  # noqa: E402


def push_image(workdir: Path, registry) -> dict:
    """The module `make build` wrote, as `make image` packs it, pushed to the registry, and the
    WasmPlugins pinned to it by digest with the release's tool (scripts/release/manifests.py)."""
    layout = workdir / "image"
    version = released.cargo_version()
    conftest.image_fixtures.run(
        ["bash", str(ROOT / "scripts" / "build-image.sh"), conftest.image_fixtures.WASM_PATH, str(layout), version]
    )
    repository = f"127.0.0.1:{registry.port}/{released.REPOSITORY}"
    conftest.image_fixtures.run(
        ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", f"oci:{layout}:{version}",
         f"docker://{repository}:{version}"]
    )
    build = released.Release(workdir, version)  # a layout and module laid out as a release's
    (workdir / build.wasm.name).write_bytes(Path(conftest.image_fixtures.WASM_PATH).read_bytes())
    pinned = released.pin(build, repository, "http://127.0.0.1:9/unused.wasm", workdir / "manifests")
    spec = pinned["wasmplugin-external.yaml"]["spec"]
    return {"url": spec["url"], "sha256": spec["sha256"], "pinned": pinned}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--external-port", type=int, default=10000)
    parser.add_argument("--internal-port", type=int, default=10001)
    parser.add_argument("--normalization", default="NONE", help="meshConfig pathNormalization")
    args = parser.parse_args()
    stopping.exit_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="cobrowse-l7-firewall-istio-"))
    # The agent's module cache is a fixed host path: removed at the end if this run made it.
    made = None if conftest.WASM_CACHE.parent.exists() else conftest.WASM_CACHE.parent
    started = []
    try:
        upstream = Upstream(workdir)
        started.append(upstream)
        (workdir / "registry").mkdir()
        registry = conftest.image_fixtures.Registry(workdir / "registry")
        started.append(registry)
        image = push_image(workdir, registry)
        control = conftest.start_control_plane(workdir, args.normalization)
        started.append(control)
        ports = {"external": args.external_port, "internal": args.internal_port}
        gateways = {}
        for role in conftest.ROLES:
            control.kube.apply(conftest.wasmplugin(role, image))
            gateways[role] = conftest.start_gateway(control, workdir, role, registry, upstream, ports[role])
            started.append(gateways[role].proxy)
        for gateway in gateways.values():
            conftest.wait_for(gateway.firewall, conftest.READY_TIMEOUT, f"{gateway.role}: the module", gateway.proxy)
        ext, internal = (f"http://127.0.0.1:{ports[r]}" for r in conftest.ROLES)
        examples = [
            (f"curl -i '{ext}/api/1/devices'", "200: forwarded, the demo upstream echoes what it got"),
            (f"curl -i '{ext}/api/1/agents'", "403: not an SDK route"),
            (f"curl -i '{internal}/dashboard?a=1'", "200: served /index.html?a=1"),
            (f"curl -i -X POST '{internal}/dashboard'", "405, allow: GET, HEAD"),
        ]
        width = max(len(command) for command, _ in examples)
        print(
            "\ncobrowse-l7-firewall is up behind Istio\n"
            f"  external gateway (SDK devices, fallback deny): {ext}\n"
            f"  internal gateway (agents, fallback spa):       {internal}\n"
            f"  admin: {gateways['external'].proxy.admin} (external), {gateways['internal'].proxy.admin} (internal)\n"
            f"  Kubernetes API: {control.api.url} (KUBECONFIG={control.api.kubeconfig})\n"
            f"  istiod: xDS 127.0.0.1:{control.istiod.grpc_port}, debug http://127.0.0.1:{control.istiod.http_port}/debug\n"
            f"  module image: {image['url']} (sha256 {image['sha256']})\n"
            f"  pathNormalization: {args.normalization}; logs and access logs: {workdir}\n\nTry:\n"
            + "".join(f"  {command.ljust(width)}  # {comment}\n" for command, comment in examples)
            + "Ctrl-C stops everything.\n",
            flush=True,
        )
        processes = [upstream, registry, control.etcd, control.api, control.istiod,
                     *(g.proxy for g in gateways.values())]
        while all(p.popen.poll() is None for p in processes):
            time.sleep(0.5)
        print("a process exited; stopping the others (logs in " + str(workdir) + ")", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for thing in reversed(started):
            thing.stop()
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
