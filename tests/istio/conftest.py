"""Fixtures: Istio as a cluster runs it, on loopback. etcd and kube-apiserver (certificates
made for the run), Istio's CRDs from the Istio module, istiod reading that API server, and per
role a gateway pod's istio-agent (`pilot-agent proxy router`) running the wheel's Envoy; the
module image (`make image`) in a local registry; the demo upstream as a ServiceEntry.

The shipped istio/wasmplugin-*.yaml are applied through the API server with only `url` and
`sha256` filled in. istiod runs with meshConfig pathNormalization NONE (docs/istio.md: the
setting for gateways that serve Universal Cobrowse); tests/istio/test_path_normalization.py
changes it.
"""

from __future__ import annotations

import copy
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import policy  # noqa: E402
import released  # noqa: E402
from released import module_bytes, release  # noqa: E402, F401 (shared fixtures)
from fixtures import check_envoy, load_image_fixtures, upstream, workdir  # noqa: E402, F401 (shared fixtures)
from kube import Etcd, KubeAPIServer, free_port, make_certs  # noqa: E402
from mesh import WASM_CACHE, GatewayProxy, Istiod, binaries, istio_crds  # noqa: E402
from processes import wait_until  # noqa: E402

ROLES = ("external", "internal")
UPSTREAM_HOST = "demo-upstream.cobrowse.svc.cluster.local"
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
READY_TIMEOUT = 60.0


image_fixtures = load_image_fixtures()
registry = image_fixtures.registry


def pytest_sessionstart(session):
    check_envoy()


@pytest.fixture(scope="session")
def download(release):
    """The release's files over plain HTTP, where the pinned EnvoyFilter's URL points."""
    server = image_fixtures.FileServer(release.dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pinned(release, registry, download, tmp_path_factory) -> dict[str, dict]:
    """The release's manifests pinned to the local registry it was pushed to (`make release
    RELEASE_IMAGE=…` pins them the same way to a user's), by file name."""
    repository = released.push(release, registry.port)
    wasm_url = f"http://127.0.0.1:{download.port}/{release.wasm.name}"
    return released.pin(release, repository, wasm_url, tmp_path_factory.mktemp("pinned"))


@pytest.fixture(scope="session")
def image(release, pinned) -> dict:
    """The pinned image as the WasmPlugins name it (`oci://REPOSITORY@sha256:DIGEST` and their
    `sha256`, the manifest digest), the released .wasm file's SHA-256, and every
    pinned manifest."""
    spec = pinned["wasmplugin-external.yaml"]["spec"]
    return {"url": spec["url"], "sha256": spec["sha256"], "wasm_sha256": release.wasm_sha256, "pinned": pinned}


def shipped(name: str) -> dict:
    return yaml.safe_load((ROOT / "istio" / name).read_text(encoding="utf-8"))


def wasmplugin(role: str, image: dict, **spec) -> dict:
    """The release's WasmPlugin for `role`, pinned to the image by digest; `spec` changes it."""
    plugin = copy.deepcopy(image["pinned"][f"wasmplugin-{role}.yaml"])
    plugin["spec"].update(spec)
    return plugin


@dataclass
class ControlPlane:
    bin_dir: Path
    etcd: Etcd
    api: KubeAPIServer
    istiod: Istiod

    @property
    def kube(self):
        return self.api.client

    def set_normalization(self, normalization: str) -> None:
        """Rewrite meshConfig; istiod watches its file and pushes the gateways' new listeners."""
        mesh = yaml.safe_load(self.istiod.mesh_file.read_text())
        mesh["pathNormalization"] = {"normalization": normalization}
        tmp = self.istiod.mesh_file.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(mesh))
        tmp.replace(self.istiod.mesh_file)
        self.istiod.normalization = normalization

    def stop(self) -> None:
        for process in (self.istiod, self.api, self.etcd):
            if process is not None:
                process.stop()


def start_control_plane(workdir: Path, normalization: str = "NONE") -> ControlPlane:
    bin_dir = binaries()
    certs = make_certs(workdir / "certs")
    etcd = api = istiod = None
    try:
        etcd = Etcd(bin_dir / "etcd", workdir)
        api = KubeAPIServer(bin_dir / "kube-apiserver", workdir, etcd, certs)
        api.client.apply_crds(istio_crds(bin_dir))
        for namespace in ("istio-system", "istio-ingress", "cobrowse"):
            api.client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        istiod = Istiod(bin_dir, workdir / "istiod", api, normalization)
        return ControlPlane(bin_dir, etcd, api, istiod)
    except BaseException:
        for process in (istiod, api, etcd):
            if process is not None:
                process.stop()
        raise


def routing(role: str, port: int, upstream_port: int) -> list[dict]:
    """A Gateway on `port` for the role's gateway pods, a VirtualService sending everything to
    the demo upstream, and the upstream as a ServiceEntry (static endpoint on loopback)."""
    selector = {"istio": f"cobrowse-{role}-gateway"}
    return [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "demo-upstream", "namespace": "cobrowse"},
            "spec": {
                "hosts": [UPSTREAM_HOST],
                "location": "MESH_INTERNAL",
                "resolution": "STATIC",
                "ports": [{"number": 8080, "name": "http", "protocol": "HTTP", "targetPort": upstream_port}],
                "endpoints": [{"address": "127.0.0.1"}],
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": f"cobrowse-{role}", "namespace": "istio-ingress"},
            "spec": {
                "selector": selector,
                "servers": [{"port": {"number": port, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": f"cobrowse-{role}", "namespace": "istio-ingress"},
            "spec": {
                "hosts": ["*"],
                "gateways": [f"cobrowse-{role}"],
                "http": [{"route": [{"destination": {"host": UPSTREAM_HOST, "port": {"number": 8080}}}]}],
            },
        },
    ]


# Istio leaves HTTP/2 extended CONNECT (RFC 8441) off on gateways: without this, HTTP/2
# clients get no SETTINGS_ENABLE_CONNECT_PROTOCOL and must open WebSockets over HTTP/1.1.
# docs/istio.md gives it as a recipe.
H2_WEBSOCKETS = {
    "apiVersion": "networking.istio.io/v1alpha3",
    "kind": "EnvoyFilter",
    "metadata": {"name": "http2-websockets", "namespace": "istio-ingress"},
    "spec": {
        "configPatches": [
            {
                "applyTo": "NETWORK_FILTER",
                "match": {
                    "context": "GATEWAY",
                    "listener": {"filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager"}}},
                },
                "patch": {
                    "operation": "MERGE",
                    "value": {
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
                            ".v3.HttpConnectionManager",
                            "http2_protocol_options": {"allow_connect": True},
                        }
                    },
                },
            }
        ]
    },
}


@dataclass
class Gateway(policy.OfRole):
    """A gateway pod of one role, as the e2e tables' `listener` fixture: port, role, prefixes."""

    role: str
    port: int
    proxy: GatewayProxy
    control: ControlPlane
    spa: bool = False

    @property
    def name(self) -> str:
        return self.role

    @property
    def raw(self) -> bool:
        """pathNormalization NONE: the filter sees the path as sent, as with the shipped configs."""
        return self.control.istiod.normalization == "NONE"

    def __repr__(self) -> str:
        return f"<istio gateway {self.role} :{self.port}>"

    def ecds_filters(self) -> list[dict]:
        """The extension configs Envoy took over ECDS (TypedExtensionConfig each)."""
        dump = self.proxy.config_dump("ecds_filters")
        return [c["ecds_filter"] for c in dump.get("configs", []) if "ecds_filter" in c]

    def firewall(self) -> dict | None:
        """The Wasm extension config Envoy runs, once it has taken one."""
        for entry in self.ecds_filters():
            if entry.get("typed_config", {}).get("@type") == WASM_TYPE:
                return entry
        return None

    def listening(self) -> bool:
        return any(port == self.port for port in self.proxy.listener_ports().values())


def wait_for(condition, timeout: float, what: str, process=None):
    """wait_until, polled every 50 ms."""
    return wait_until(condition, timeout, what, process, interval=0.05)


def start_gateway(control: ControlPlane, workdir: Path, role: str, registry, upstream, port: int = 0) -> Gateway:
    port = port or free_port()
    for obj in routing(role, port, upstream.port):
        control.kube.apply(obj)
    proxy = GatewayProxy(control.bin_dir, workdir / f"gateway-{role}", control.istiod, role, registry.port)
    gateway = Gateway(role, port, proxy, control, spa=role == "internal")
    try:
        wait_for(gateway.listening, READY_TIMEOUT, f"gateway {role} listener :{port}", proxy)
    except BaseException:
        proxy.stop()
        raise
    return gateway


@pytest.fixture(scope="session")
def control(workdir):
    # The agent's module cache is a fixed host path: removed afterwards if this run made it.
    made = None if WASM_CACHE.parent.exists() else WASM_CACHE.parent
    plane = start_control_plane(workdir)
    yield plane
    plane.stop()
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="session")
def gateways(control, workdir, registry, upstream, image):
    started: dict[str, Gateway] = {}
    try:
        control.kube.apply(H2_WEBSOCKETS)
        for role in ROLES:
            control.kube.apply(wasmplugin(role, image))
            started[role] = start_gateway(control, workdir, role, registry, upstream)
        for gateway in started.values():
            wait_for(gateway.firewall, READY_TIMEOUT, f"{gateway.role}: the module over ECDS", gateway.proxy)
        yield started
    finally:
        for gateway in started.values():
            gateway.proxy.stop()


@pytest.fixture(params=ROLES)
def gateway(request, gateways) -> Gateway:
    return gateways[request.param]


# The e2e suites' fixture names, so their tests run unchanged through the Istio gateways.
@pytest.fixture(params=ROLES)
def listener(request, gateways) -> Gateway:
    return gateways[request.param]


@pytest.fixture(params=ROLES)
def any_listener(request, gateways) -> Gateway:
    return gateways[request.param]


@pytest.fixture(params=["h1", "h2"])
def proto(request):
    return request.param


@pytest.fixture(scope="session")
def external(gateways) -> Gateway:
    return gateways["external"]


@pytest.fixture(scope="session")
def internal(gateways) -> Gateway:
    return gateways["internal"]


@pytest.fixture(scope="session")
def spa_listener(gateways) -> Gateway:
    return gateways["internal"]


MEASURED: list[tuple[str, ...]] = []


@pytest.fixture(scope="session")
def record():
    """record(case, what clients saw, ...): printed at the end of the run (docs/istio.md)."""
    return lambda *cells: MEASURED.append(cells)


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("measured through the Istio gateway")
        for cells in MEASURED:
            terminalreporter.line(" | ".join(cells))
