"""The shipped envoy-gateway/ policies delivered as Envoy Gateway delivers them (see
envoy_gateway.py): the module fetched by the controller (from the registry for the Image
form, from an HTTP URL checked against its sha256 for the HTTP form), served to Envoy with
its SHA-256, the filter disabled on the listener and enabled on the route, the path
settings of the shipped ClientTrafficPolicy. Each role's Envoy runs both forms; both must
answer every target exactly as the Istio gateway (the same path settings) does."""

from __future__ import annotations

import copy
import hashlib
import urllib.request

import pytest
import yaml
from conftest import CLUSTER, ROOT, Upstream, image_fixtures
from test_gateway import README
from test_paths import TARGETS, judge

import envoy_gateway
import istiod
from clients import exchange, target_of
from processes import Envoy

FORMS = {"image": "extensionpolicy-{role}.yaml", "http": "extensionpolicy-{role}-http.yaml"}


def manifest(name: str) -> dict:
    return yaml.safe_load((ROOT / "envoy-gateway" / name).read_text(encoding="utf-8"))


def filled_in(policy: dict, image: dict, published: str, module: bytes) -> dict:
    """The placeholders replaced as the manifests' comments ask."""
    policy = copy.deepcopy(policy)
    code = policy["spec"]["wasm"][0]["code"]
    if code["type"] == "Image":
        code["image"] = {"url": image["url"].removeprefix("oci://"), "sha256": image["sha256"]}
    else:
        code["http"] = {"url": published, "sha256": hashlib.sha256(module).hexdigest()}
    return policy


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def bootstrap(listeners: dict[str, dict], upstream: Upstream, wasm_port: int) -> dict:
    def cluster(name: str, port: int) -> dict:
        endpoint = {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}
        return {
            "name": name,
            "type": "STATIC",
            "connect_timeout": "5s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [endpoint]}]},
        }

    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": name,
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                            ]
                        }
                    ],
                }
                for name, hcm in listeners.items()
            ],
            "clusters": [cluster(CLUSTER, upstream.port), cluster(envoy_gateway.WASM_CLUSTER, wasm_port)],
        },
    }


@pytest.fixture(scope="module")
def eg_gateways(workdir, upstream, image, tmp_path_factory):
    """role -> Envoy with one listener per code form, as Envoy Gateway configures it."""
    module = (ROOT / "dist" / "cobrowse_l7_firewall.wasm").read_bytes()
    served = tmp_path_factory.mktemp("eg-served")
    (served / "cobrowse_l7_firewall.wasm").write_bytes(module)
    server = image_fixtures.FileServer(served)  # the publisher's URL and the controller's server
    base = f"http://127.0.0.1:{server.port}"
    envoys = {}
    try:
        for role in ("external", "internal"):
            traffic = manifest(f"clienttrafficpolicy-{role}.yaml")
            listeners = {}
            for form, name in FORMS.items():
                policy = filled_in(
                    manifest(name.format(role=role)), image, f"{base}/cobrowse_l7_firewall.wasm", module
                )
                fetched = envoy_gateway.fetch_module(policy, download, workdir / f"eg-{role}-{form}")
                digest = hashlib.sha256(fetched).hexdigest()
                (served / f"{digest}.wasm").write_bytes(fetched)
                listeners[form] = envoy_gateway.gateway_hcm(
                    form, policy, traffic, f"{base}/{digest}.wasm", digest, CLUSTER
                )
            config = bootstrap(listeners, upstream, server.port)
            envoys[role] = Envoy(config, workdir / f"eg-{role}", f"envoy-gateway-{role}")
        # Envoy took the module from the controller's server, not from a local file.
        assert f"/{hashlib.sha256(module).hexdigest()}.wasm" in server.requested
        yield envoys
    finally:
        for envoy in envoys.values():
            envoy.stop()
        server.stop()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("role", ["external", "internal"])
def test_both_forms_load_the_module_and_answer_as_the_readme_says(upstream, eg_gateways, role, form):
    envoy = eg_gateways[role]
    for method, target, status, forwarded in README[role]:
        response, received = exchange(upstream, envoy.ports[form], "h1", method, target)
        assert response.status == status, (target, response)
        assert [target_of(e) for e in received] == ([forwarded] if forwarded else []), target


def test_every_target_as_at_the_istio_gateway(upstream, eg_gateways, gateways):
    """ClientTrafficPolicy's settings are Istio's BASE: each hostile row and proxied URL gets
    the Istio gateway's answer and reaches the upstream as there (both forms, both roles)."""
    for role, envoy in eg_gateways.items():
        for target in TARGETS:
            istio = judge(upstream, gateways[role], target)
            for form in FORMS:
                response, received = exchange(upstream, envoy.ports[form], "h1", "GET", target)
                got = (response.status, target_of(received[0]) if received else None)
                assert got == istio, (role, form, target)


def test_envoy_gateways_default_path_settings_break_proxied_urls():
    """Without the ClientTrafficPolicy, Envoy Gateway merges `//` and unescapes `%2F`."""
    assert envoy_gateway.path_settings(None) == {
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "UNESCAPE_AND_REDIRECT",
    }
    shipped = envoy_gateway.path_settings(manifest("clienttrafficpolicy-external.yaml"))
    assert shipped == {
        "normalize_path": True,
        "merge_slashes": False,
        "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
    }
    assert shipped == istiod.path_settings("BASE")
