"""What Envoy Gateway generated for the shipped policies, read in its Envoy's config dump: the
firewall placed before every other HTTP filter, fail closed, the shipped configuration as
the module's JSON, the module fetched from Envoy Gateway with its SHA-256, enabled on the route."""

from __future__ import annotations

import hashlib
import json

import harness
import standalone


def http_filters(deployment, gateway: str) -> list[dict]:
    dump = deployment.envoy(gateway).config_dump()
    return harness.connection_manager(dump, deployment.ports[gateway])["http_filters"]


def test_the_firewall_comes_first_and_the_router_last(deployment, form):
    for role in standalone.ROLES:
        filters = http_filters(deployment, standalone.gateway_name(role))
        names = [f["name"] for f in filters]
        assert names[0].startswith("envoy.filters.http.wasm/"), names
        assert names[-1] == "envoy.filters.http.router", names
        assert sum(n.startswith("envoy.filters.http.wasm") for n in names) == 1, names


def test_the_filter_is_the_shipped_policy_fail_closed(deployment, form, module_bytes):
    for role in standalone.ROLES:
        [wasm] = [
            f for f in http_filters(deployment, standalone.gateway_name(role))
            if f["name"].startswith("envoy.filters.http.wasm")
        ]
        # Off on the listener, on for each route the policy covers.
        assert wasm.get("disabled") is True, wasm
        config = wasm["typed_config"]["config"]
        assert config["root_id"] == "cobrowse_l7_firewall"
        assert config.get("fail_open", False) is False
        shipped = standalone.shipped(f"extensionpolicy-{role}.yaml")["spec"]["wasm"][0]["config"]
        assert json.loads(config["configuration"]["value"]) == shipped
        remote = config["vm_config"]["code"]["remote"]
        assert remote["sha256"] == hashlib.sha256(module_bytes).hexdigest()
        assert remote["http_uri"]["uri"].startswith(f"https://{standalone.WASM_SERVER_NAME}:18002/")


def test_the_filter_is_enabled_on_the_route(deployment, form):
    for role in standalone.ROLES:
        gateway = standalone.gateway_name(role)
        [route] = harness.routes(deployment.envoy(gateway).config_dump(), deployment.ports[gateway])
        enabled = [name for name in route.get("typed_per_filter_config", {}) if name.startswith("envoy.filters.http.wasm")]
        assert len(enabled) == 1, route
