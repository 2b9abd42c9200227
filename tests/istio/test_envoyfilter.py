"""The EnvoyFilter form (istio/envoyfilter-*.yaml, for meshes without WasmPlugin), applied
through the API server in place of the role's WasmPlugin: istiod patches the gateway's
listener, the firewall first in its chain, and the gateway answers as the README says.

Two forms: the shipped one, whose module is a file (a ConfigMap mounted at
/var/local/lib/wasm-filters; here the file `make build` wrote), and the release's pinned one
(scripts/release/manifests.py), served over ECDS with the module's URL and its .wasm SHA-256,
which the istio-agent downloads and checks before Envoy sees a local file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from clients import exchange, target_of
from conftest import READY_TIMEOUT, shipped, wait_for, wasmplugin
from mesh import WASM_CACHE
from processes import WASM_PATH
from test_delivery import README

MOUNTED = "/var/local/lib/wasm-filters/cobrowse_l7_firewall.wasm"


def envoyfilter(role: str) -> dict:
    manifest = copy.deepcopy(shipped(f"envoyfilter-{role}.yaml"))
    text = json.dumps(manifest)
    assert MOUNTED in text
    return json.loads(text.replace(MOUNTED, WASM_PATH))


def http_filters(gateway) -> list[dict]:
    dump = gateway.proxy.config_dump("dynamic_listeners")
    for entry in dump.get("configs", []):
        listener = entry.get("active_state", {}).get("listener", {})
        if listener.get("address", {}).get("socket_address", {}).get("port_value") == gateway.port:
            hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
            return hcm.get("http_filters", [])
    return []


def inline_firewall_first(gateway) -> bool:
    filters = http_filters(gateway)
    return bool(filters) and filters[0]["name"] == "cobrowse_l7_firewall" and "typed_config" in filters[0]


def answers_as_readme(upstream, gateway, role: str, proto: str) -> bool:
    for method, target, status, forwarded in README[role]:
        response, received = exchange(upstream, gateway.port, proto, method, target)
        if response.status != status or [target_of(e) for e in received] != ([forwarded] if forwarded else []):
            return False
    return True


def assert_answers_as_readme(upstream, gateway, role: str) -> None:
    for proto in ("h1", "h2"):
        for method, target, status, forwarded in README[role]:
            response, received = exchange(upstream, gateway.port, proto, method, target)
            assert response.status == status, (proto, target, response)
            assert [target_of(e) for e in received] == ([forwarded] if forwarded else []), target


@pytest.mark.parametrize("role", ["external", "internal"])
def test_envoyfilter_form(control, gateways, image, upstream, role):
    gateway = gateways[role]
    control.kube.delete(wasmplugin(role, image))
    control.kube.apply(envoyfilter(role))
    try:
        wait_for(lambda: inline_firewall_first(gateway), READY_TIMEOUT, "the patched listener", gateway.proxy)
        # The dump shows the new listener before every worker has switched to it.
        wait_for(lambda: answers_as_readme(upstream, gateway, role, "h1"), READY_TIMEOUT, "the filter in force",
                 gateway.proxy)
        [firewall] = [f for f in http_filters(gateway) if "cobrowse" in f["name"]]
        assert firewall["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"] == WASM_PATH
        assert_answers_as_readme(upstream, gateway, role)
    finally:
        control.kube.delete(envoyfilter(role))
        control.kube.apply(wasmplugin(role, image))
        wait_for(lambda: not inline_firewall_first(gateway) and gateway.firewall(), READY_TIMEOUT,
                 "the WasmPlugin back", gateway.proxy)


def ecds_firewall(gateway, name: str) -> dict | None:
    return next((f for f in gateway.ecds_filters() if f.get("name") == name), None)


def listener_discovers_first(gateway, name: str) -> bool:
    filters = http_filters(gateway)
    return bool(filters) and filters[0]["name"] == name and "config_discovery" in filters[0]


@pytest.mark.parametrize("role", ["external", "internal"])
def test_pinned_envoyfilter_form(control, gateways, image, upstream, download, module_bytes, role):
    gateway = gateways[role]
    pinned = image["pinned"][f"envoyfilter-{role}.yaml"]
    name = f"cobrowse_l7_firewall_{role}"
    requested = len(download.requested)
    control.kube.delete(wasmplugin(role, image))
    control.kube.apply(pinned)
    try:
        wait_for(lambda: listener_discovers_first(gateway, name) and ecds_firewall(gateway, name), READY_TIMEOUT,
                 "the pinned filter over ECDS", gateway.proxy)
        wait_for(lambda: answers_as_readme(upstream, gateway, role, "h1"), READY_TIMEOUT, "the filter in force",
                 gateway.proxy)
        code = ecds_firewall(gateway, name)["typed_config"]["config"]["vm_config"]["code"]
        # The agent fetched the URL, checked the .wasm's SHA-256 and handed Envoy its file.
        assert "remote" not in code, code
        path = Path(code["local"]["filename"])
        assert path.parent.parent == WASM_CACHE and path.name == f"{image['wasm_sha256']}.wasm", path
        assert path.read_bytes() == module_bytes
        assert "/cobrowse_l7_firewall.wasm" in download.requested[requested:]
        assert_answers_as_readme(upstream, gateway, role)
    finally:
        control.kube.delete(pinned)
        control.kube.apply(wasmplugin(role, image))
        wait_for(lambda: not listener_discovers_first(gateway, name) and gateway.firewall()
                 and answers_as_readme(upstream, gateway, role, "h1"),
                 READY_TIMEOUT, "the WasmPlugin back", gateway.proxy)
