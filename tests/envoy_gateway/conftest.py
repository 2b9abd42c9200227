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

The release (`make release`) reaches Envoy Gateway in both forms, through its manifests pinned
by scripts/release/manifests.py: its OCI image pushed to a local registry (tests/image's
fixtures) and pulled by digest, and its .wasm over HTTPS from a server whose certificate is
made for the run. The tests from tests/e2e imported here get these listeners as theirs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
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
import released  # noqa: E402
from released import module_bytes, release  # noqa: E402, F401 (shared fixtures)
import standalone  # noqa: E402
from fixtures import check_envoy, load_image_fixtures, shipped, start_envoy, upstream, workdir  # noqa: E402, F401 (shared fixtures)
from processes import ENVOY  # noqa: E402

ENVOY_VERSION: str | None = None
GATEWAYS = ("cobrowse-external", "cobrowse-internal", "probe", "defaults")


def pytest_sessionstart(session):
    global ENVOY_VERSION
    ENVOY_VERSION = check_envoy()


image_fixtures = load_image_fixtures()
registry = image_fixtures.registry


@pytest.fixture(scope="session")
def download(workdir, module_bytes):
    """The released module published over HTTPS, as the HTTP form's URL names it."""
    cert, key = certificate.self_signed(workdir / "download-tls")
    server = downloads.HttpsFileServer(cert, key)
    server.files["/cobrowse_l7_firewall.wasm"] = module_bytes
    yield server
    server.stop()


@pytest.fixture(scope="session")
def image(release, registry, download, tmp_path_factory) -> dict:
    """The release's image pushed to the local registry, and its manifests pinned to it and to
    the download URL (scripts/release/manifests.py): the image form pulls by digest."""
    repository = released.push(release, registry.port)
    url = download.url("/cobrowse_l7_firewall.wasm")
    pinned = released.pin(release, repository, url, tmp_path_factory.mktemp("pinned"))
    code = pinned["extensionpolicy-external.yaml"]["spec"]["wasm"][0]["code"]["image"]
    return {"url": code["url"], "sha256": code["sha256"], "pinned": pinned}


def policies(form: str, image: dict, download) -> list[dict]:
    """The release's EnvoyExtensionPolicies of both roles in one code form, as pinned; the
    HTTP form also trusts the download server's CA, made for the run."""
    docs = []
    for role in standalone.ROLES:
        if form == "image":
            docs.append(copy.deepcopy(image["pinned"][f"extensionpolicy-{role}.yaml"]))
        else:
            pinned = copy.deepcopy(image["pinned"][f"extensionpolicy-{role}-http.yaml"])
            docs += standalone.trusting(pinned, download.ca_pem)
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
def deployment(workdir, upstream, eg_binary, image, download):
    ports = {name: image_fixtures.free_port() for name in GATEWAYS}
    resources = {
        "00-class": [standalone.namespace(), *standalone.gateway_class(ENVOY_VERSION)],
        "10-gateways": [doc for name in GATEWAYS for doc in standalone.gateway(name, ports[name], upstream.port)],
        "20-traffic": traffic_policies(),
        "30-firewall": policies("image", image, download),
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
def form(request, deployment, image, download) -> str:
    """The code form the firewall Gateways run: the Image policies, then the HTTP ones."""
    if deployment.form != request.param:
        deployment.eg.apply("30-firewall", policies(request.param, image, download))
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
