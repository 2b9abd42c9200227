"""Fixtures: a real Envoy Gateway in standalone mode (built from controlplanes/envoy-gateway),
its Envoys being the project's Envoy, and the shipped envoy-gateway/ policies applied as files.

Gateways, all in the namespace the shipped policies name, each with an HTTPRoute of every
path to the demo upstream:
  cobrowse-external, cobrowse-internal  the shipped EnvoyExtensionPolicy (the code form of the
                                        `form` fixture) and ClientTrafficPolicy of each role;
  probe                                 the shipped ClientTrafficPolicy's path settings, no
                                        firewall: shows what Envoy Gateway's Envoy makes of a path;
  defaults                              no policy at all: Envoy Gateway's own path settings.
The `reference` Envoys run the shipped envoy/*.yaml: the contract's answer for any path.

The module reaches Envoy Gateway in both forms: the OCI image `make image` builds, pushed to a
local registry (tests/image's fixtures), and the file over HTTPS from a server whose certificate
is made for the run. The tests from tests/e2e imported here get these listeners as theirs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts" / "envoy-gateway"))
sys.path.insert(0, str(ROOT / "envoy"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import certificate  # noqa: E402
import download as downloads  # noqa: E402
import harness  # noqa: E402
import policy  # noqa: E402
import standalone  # noqa: E402
from fixtures import check_envoy, load_image_fixtures, shipped, start_envoy, upstream, workdir  # noqa: E402, F401 (shared fixtures)
from processes import ENVOY, WASM_PATH  # noqa: E402

ENVOY_VERSION: str | None = None
GATEWAYS = ("cobrowse-external", "cobrowse-internal", "probe", "defaults")


def pytest_sessionstart(session):
    global ENVOY_VERSION
    ENVOY_VERSION = check_envoy()


image_fixtures = load_image_fixtures()
image_layout = image_fixtures.image_layout
registry = image_fixtures.registry


@pytest.fixture(scope="session")
def module_bytes() -> bytes:
    return Path(WASM_PATH).read_bytes()


@pytest.fixture(scope="session")
def image(image_layout, registry) -> dict:
    """The image pushed as a user does (`make image PUSH=…`): its URL and manifest digest."""
    index = json.loads((image_layout / "index.json").read_text())
    tag = image_fixtures.TAG
    [entry] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    image_fixtures.run(
        ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", f"oci:{image_layout}:{tag}", registry.reference()]
    )
    return {"url": registry.reference().removeprefix("docker://"), "sha256": entry["digest"].partition(":")[2]}


@pytest.fixture(scope="session")
def download(workdir, module_bytes):
    """The module published over HTTPS, as the HTTP form's URL names it."""
    cert, key = certificate.self_signed(workdir / "download-tls")
    server = downloads.HttpsFileServer(cert, key)
    server.files["/cobrowse_l7_firewall.wasm"] = module_bytes
    yield server
    server.stop()


def policies(form: str, image: dict, download, module: bytes) -> list[dict]:
    """The shipped EnvoyExtensionPolicies of both roles in one code form, filled in."""
    docs = []
    for role in standalone.ROLES:
        if form == "image":
            docs.append(standalone.image_policy(role, image["url"], image["sha256"]))
        else:
            docs += standalone.http_policy(role, download.url("/cobrowse_l7_firewall.wasm"), module, download.ca_pem)
    return docs


def traffic_policies() -> list[dict]:
    """The shipped ClientTrafficPolicies, and the external one's copy on the probe Gateway."""
    external = standalone.shipped("clienttrafficpolicy-external.yaml")
    internal = standalone.shipped("clienttrafficpolicy-internal.yaml")
    return [external, internal, standalone.retargeted(external, "probe")]


def original_url(form: str, image: dict, download) -> str:
    if form == "image":
        return "oci://" + image["url"]
    return download.url("/cobrowse_l7_firewall.wasm")


class Deployment:
    """Envoy Gateway with the four Gateways, and what the tests ask of it."""

    def __init__(self, eg: harness.EnvoyGateway, ports: dict[str, int]):
        self.eg = eg
        self.ports = ports
        self.form: str | None = None

    def envoy(self, gateway: str) -> harness.GatewayEnvoy:
        return self.eg.envoy_on(self.ports[gateway])

    def serving_path(self, original: str) -> str:
        """The path Envoy Gateway serves a module under: its URL hashed with the HMAC secret
        certgen wrote (internal/wasm/httpserver.go), so the test knows which form is live."""
        salt = (self.eg.root / "config" / "certs" / "envoy-oidc-hmac" / "hmac-secret").read_bytes()
        digest = hashlib.sha256(original.encode() + salt).digest()
        return base64.urlsafe_b64encode(digest).decode() + ".wasm"

    def wait_for_module(self, original: str, timeout: float = harness.START_TIMEOUT) -> None:
        """Until both firewall Envoys load the module Envoy Gateway serves for `original`."""
        path = self.serving_path(original)
        for gateway in ("cobrowse-external", "cobrowse-internal"):
            envoy = self.envoy(gateway)
            harness.wait_for(
                lambda: path in (envoy.admin_get("/config_dump") or ""),
                timeout,
                f"{gateway} configured with {original}",
                self.eg,
            )

    def listener(self, role: str) -> harness.Listener:
        gateway = standalone.gateway_name(role)
        return harness.Listener(
            role, self.ports[gateway], self.envoy(gateway), policy.role_groups(role), spa=role == "internal"
        )


@pytest.fixture(scope="session")
def eg_binary() -> Path:
    return standalone.build()


@pytest.fixture(scope="session")
def deployment(workdir, upstream, eg_binary, image, download, module_bytes):
    ports = {name: image_fixtures.free_port() for name in GATEWAYS}
    resources = {
        "00-class": [standalone.namespace(), *standalone.gateway_class(ENVOY_VERSION)],
        "10-gateways": [doc for name in GATEWAYS for doc in standalone.gateway(name, ports[name], upstream.port)],
        "20-traffic": traffic_policies(),
        "30-firewall": policies("image", image, download, module_bytes),
    }
    eg = harness.EnvoyGateway(workdir / "envoy-gateway", eg_binary, ENVOY, ENVOY_VERSION, resources)
    try:
        deployment = Deployment(eg, ports)
        for name in GATEWAYS:
            deployment.envoy(name)
        deployment.wait_for_module(original_url("image", image, download))
        deployment.form = "image"
        yield deployment
    finally:
        eg.stop()


@pytest.fixture(scope="session", params=["image", "http"])
def form(request, deployment, image, download, module_bytes) -> str:
    """The code form the firewall Gateways run: the Image policies, then the HTTP ones."""
    if deployment.form != request.param:
        deployment.eg.apply("30-firewall", policies(request.param, image, download, module_bytes))
        deployment.wait_for_module(original_url(request.param, image, download))
        deployment.form = request.param
    return request.param


@pytest.fixture(scope="session")
def external(deployment, form):
    return deployment.listener("external")


@pytest.fixture(scope="session")
def internal(deployment, form):
    return deployment.listener("internal")


@pytest.fixture(params=["external", "internal"])
def listener(request, form):
    """Each role's Gateway with the shipped policies (in each code form)."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def any_listener(listener):
    return listener


@pytest.fixture(params=["h1", "h2"])
def proto(request):
    """HTTP/1.1 on a raw socket, or HTTP/2 with prior knowledge."""
    return request.param


@pytest.fixture(scope="session")
def reference(start_envoy, upstream):
    """role -> the shipped envoy/ config's port: the contract's answer for a path as sent."""
    return {role: start_envoy(f"reference-{role}", shipped(role, upstream)).ports[role] for role in standalone.ROLES}


@pytest.fixture
def spa_listener(internal):
    """tests/e2e/test_spa.py's listener: the internal Gateway."""
    return internal


@pytest.fixture(scope="session")
def envoy_version_string() -> str:
    assert ENVOY_VERSION, "the Envoy check did not run"
    return ENVOY_VERSION
