"""Fixtures: the image `make image` builds, pushed to a local registry (tests/image's
fixtures); the shipped WasmPlugins translated as istiod does (istiod.py), fetched and
rewritten as the istio-agent does (agent.py); and one Envoy per role, the gateway pod,
taking the result over ECDS from a file.

Each gateway Envoy has three listeners, all routing to the demo upstream:
  gateway    what istiod builds for the gateway: the firewall over ECDS, pathNormalization BASE;
  probe      the same path settings, no firewall: shows what normalization makes of a target;
  reference  the firewall (the same ECDS resource) with the shipped envoy/ path settings:
             the contract's answer for any path.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import agent  # noqa: E402
import istiod  # noqa: E402
import policy  # noqa: E402
from fixtures import check_envoy, upstream, workdir  # noqa: E402, F401 (shared fixtures)
from processes import Envoy, Upstream, render, wait_until  # noqa: E402


def _image_fixtures():
    """tests/image/conftest.py, loaded under its own name: its registry and image fixtures."""
    spec = importlib.util.spec_from_file_location("image_fixtures", ROOT / "tests" / "image" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


image_fixtures = _image_fixtures()
image_layout = image_fixtures.image_layout
registry = image_fixtures.registry
run = image_fixtures.run
TAG = image_fixtures.TAG
ROLES = ("external", "internal")
CLUSTER = "outbound|8080||cobrowse.cobrowse.svc.cluster.local"


def pytest_sessionstart(session):
    check_envoy()


@pytest.fixture(scope="session")
def image(image_layout, registry) -> dict:
    """The image pushed as a user does (`make image PUSH=…`): its URL and manifest digest."""
    index = json.loads((image_layout / "index.json").read_text())
    [entry] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == TAG]
    run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            f"oci:{image_layout}:{TAG}",
            registry.reference(),
        ]
    )
    return {
        "url": "oci://" + registry.reference().removeprefix("docker://"),
        "sha256": entry["digest"].partition(":")[2],
    }


def shipped_plugin(role: str) -> dict:
    return yaml.safe_load((ROOT / "istio" / f"wasmplugin-{role}.yaml").read_text(encoding="utf-8"))


def pointed_at(plugin: dict, image: dict, **spec) -> dict:
    """The shipped WasmPlugin with its placeholders filled in as the manifest tells the user."""
    plugin = copy.deepcopy(plugin)
    plugin["spec"].update({"url": image["url"], "sha256": image["sha256"], **spec})
    return plugin


def ecds_source(path: Path) -> dict:
    # istiod uses ADS with initial_fetch_timeout 0; a file source carries the same resources.
    return {
        "path_config_source": {"path": str(path)},
        "resource_api_version": "V3",
        "initial_fetch_timeout": "0s",
    }


def write_ecds(path: Path, resources: list[dict], version: str) -> None:
    """Replace the ECDS file atomically (Envoy watches for the rename)."""
    response = {"version_info": version, "resources": resources}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(response), encoding="utf-8")
    os.replace(tmp, path)


def bootstrap(plugins: list[dict], ecds: Path, upstream: Upstream, release: str = "head") -> dict:
    source = ecds_source(ecds)
    firewall = istiod.ordered_plugin_filters(plugins, source, release)

    def listener(name: str, filters: list[dict], normalization: str) -> dict:
        hcm = istiod.gateway_hcm(name, filters, CLUSTER, normalization)
        return {
            "name": name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [
                {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
            ],
        }

    shipped = render.connection_manager(render.load(ROOT / "envoy" / "external.yaml"))
    reference = listener("reference", firewall, "NONE")
    reference_hcm = reference["filter_chains"][0]["filters"][0]["typed_config"]
    for key in ("normalize_path", "merge_slashes", "path_with_escaped_slashes_action"):
        reference_hcm[key] = shipped[key]
    cluster = {
        "name": CLUSTER,
        "type": "STATIC",
        "connect_timeout": "5s",
        "load_assignment": {
            "cluster_name": CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": "127.0.0.1", "port_value": upstream.port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    return {
        # A gateway pod's node as the agent names it (xDS subscriptions need id and cluster).
        "node": {
            "id": "router~127.0.0.1~gateway.istio-ingress~istio-ingress.svc.cluster.local",
            "cluster": "gateway.istio-ingress",
        },
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [listener("gateway", firewall, "BASE"), listener("probe", [], "BASE"), reference],
            "clusters": [cluster],
        },
    }


@dataclass
class Gateway(policy.OfRole):
    role: str
    envoy: Envoy
    plugin: dict
    ecds: Path
    cache: Path
    release: str = "head"
    version: int = 1

    @property
    def port(self) -> int:
        return self.envoy.ports["gateway"]

    def counter(self, name: str) -> int:
        stats = self.envoy.admin_get(f"/stats?format=json&filter={name}") or "{}"
        return sum(s.get("value", 0) for s in json.loads(stats).get("stats", []) if s.get("name") == name)

    def ecds_counter(self, what: str) -> int:
        return self.counter(
            f"extension_config_discovery.http_filter.{istiod.resource_name(self.plugin, self.release)}.{what}"
        )

    def deliver(self, plugin: dict) -> tuple[str, str | None]:
        """istiod's resource for `plugin`, through the agent, written for Envoy; waits until
        Envoy has taken it or refused it. Returns ("reload" or "fail", the agent's error)."""
        resource, error = agent.convert(istiod.extension_config(plugin, release=self.release), self.cache)
        # The subscription's own counters: one update, taken or rejected.
        taken, rejected = self.ecds_counter("update_success"), self.ecds_counter("update_rejected")
        self.version += 1
        write_ecds(self.ecds, [resource], str(self.version))
        outcome = wait_until(
            lambda: (
                ("reload" if self.ecds_counter("update_success") > taken else None)
                or ("fail" if self.ecds_counter("update_rejected") > rejected else None)
            ),
            30,
            "ECDS update",
            self.envoy,
        )
        return outcome, error


def start_gateway(
    role: str, plugin: dict, workdir: Path, upstream: Upstream, release: str = "head"
) -> Gateway:
    here = workdir / role
    here.mkdir(parents=True, exist_ok=True)
    cache = here / "wasm-cache"
    resource, error = agent.convert(istiod.extension_config(plugin, release=release), cache)
    assert error is None, error
    ecds = here / "ecds.json"
    write_ecds(ecds, [resource], "1")
    envoy = Envoy(bootstrap([plugin], ecds, upstream, release), here, f"gateway-{role}")
    return Gateway(role, envoy, plugin, ecds, cache, release)


@pytest.fixture(scope="session")
def gateways(workdir, upstream, image):
    started = {}
    try:
        for role in ROLES:
            started[role] = start_gateway(role, pointed_at(shipped_plugin(role), image), workdir, upstream)
        yield started
    finally:
        for gateway in started.values():
            gateway.envoy.stop()


@pytest.fixture(params=ROLES)
def gateway(request, gateways) -> Gateway:
    return gateways[request.param]
