"""The shipped WasmPlugins, applied through the API server, reach each gateway as Istio
delivers them: istiod serves the filter over ECDS with a remote (oci://) source, the
istio-agent pulls the image, checks its sha256 and hands Envoy a local file."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from clients import exchange, target_of
from conftest import wasmplugin
from mesh import WASM_CACHE
from processes import ROOT

README = {
    "external": [
        ("GET", b"/api/1/devices", 200, b"/api/1/devices"),
        ("GET", b"/api/1/agents", 403, None),
        ("GET", b"/proxy/1/universal/com/example/https:/a", 200, b"/proxy/1/universal/com/example/https:/a"),
        ("GET", b"/dashboard?a=1", 403, None),
    ],
    "internal": [
        ("GET", b"/api/1/agents", 200, b"/api/1/agents"),
        ("GET", b"/dashboard?a=1", 200, b"/index.html?a=1"),
        ("POST", b"/dashboard", 405, None),
    ],
}

# Filters that only Istio's own Envoy build has: the wheel's Envoy would refuse a listener
# carrying any of them, so none may reach the gateway.
ISTIO_ONLY = ("istio.alpn", "istio.stats", "istio.metadata_exchange", "istio.peer_metadata",
              "envoy.filters.http.peer_metadata", "istio.workload", "io.istio.")


def all_strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return [value] if isinstance(value, str) else []


def test_module_arrives_over_ecds_from_istiod_as_the_file_the_agent_fetched(gateway, image, module_bytes):
    firewall = gateway.firewall()
    # Kept for docs/istio.md's excerpt of what istiod sent.
    (ROOT / "target" / f"istio-ecds-{gateway.role}.json").write_text(json.dumps(firewall, indent=2))
    assert firewall["name"].startswith("istio-ingress.cobrowse-l7-firewall-" + gateway.role) or (
        f"cobrowse-l7-firewall-{gateway.role}" in firewall["name"]
    ), firewall["name"]
    config = firewall["typed_config"]["config"]
    assert config["root_id"] == "cobrowse_l7_firewall"
    assert config.get("failure_policy") == "FAIL_CLOSED" or config.get("fail_open") is not True
    code = config["vm_config"]["code"]
    assert "remote" not in code, code
    path = Path(code["local"]["filename"])
    # The release's pinned manifest pulls by digest: oci://REPOSITORY@sha256:<manifest digest>.
    repository, _, digest = image["url"].partition("@")
    applied = gateway.control.kube.get(wasmplugin(gateway.role, image))
    assert applied["spec"]["url"] == image["url"] and digest == f"sha256:{image['sha256']}", applied["spec"]
    # The agent's cache: <sha256 of the image URL without tag or digest>/<manifest digest>.wasm.
    assert path.parent.parent == WASM_CACHE, path
    assert path.parent.name == hashlib.sha256(repository.encode()).hexdigest(), path
    assert path.name == f"{image['sha256']}.wasm", path
    assert path.read_bytes() == module_bytes
    # The listener's filter only names the resource, to be fetched from istiod (ADS).
    listeners = json.dumps(gateway.proxy.config_dump("dynamic_listeners"))
    assert firewall["name"] in listeners and '"config_discovery"' in listeners


def test_no_istio_only_extension_reaches_the_gateway(gateway):
    dump = gateway.proxy.config_dump()
    names = [s for s in all_strings(dump) if any(s.startswith(x) for x in ISTIO_ONLY)]
    assert names == []
    assert gateway.proxy.counter("listener_manager.lds.update_rejected") == 0


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_gateway_answers_as_the_readme_says(upstream, gateway, proto):
    for method, target, status, forwarded in README[gateway.role]:
        response, received = exchange(upstream, gateway.port, proto, method, target)
        assert response.status == status, (target, response)
        assert [target_of(e) for e in received] == ([forwarded] if forwarded else []), target


def access_log(gateway) -> list[dict]:
    path = gateway.proxy.access_log
    if not path.exists():
        return []
    text = path.read_text()
    # Complete lines only: Envoy may be halfway through writing the last one.
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.startswith("{")]


# (role, target sent, path the client sent as logged, decision); the access log is
# meshConfig's accessLogFormat, the shipped envoy/ configs' JSON fields: paths without their
# query, where the SDKs carry bearer tokens (docs/security.md#what-is-logged).
LOGGED = [
    ("external", b"/admin/i1?access_token=secret-i1", "/admin/i1", "denied:not_covered"),
    ("external", b"/api/1/devices/../x/i2?token=secret-i2", "/api/1/devices/../x/i2", "rejected:"),
    ("internal", b"/dashboard/x/i3?TOKEN=secret-i3", "/dashboard/x/i3", "rewritten:spa"),
]


@pytest.mark.parametrize("role,target,path,decision", LOGGED, ids=[r[3].rstrip(":") for r in LOGGED])
def test_the_decision_is_in_the_access_log(upstream, gateways, role, target, path, decision):
    gateway = gateways[role]
    exchange(upstream, gateway.port, "h1", "GET", target)
    deadline = time.monotonic() + 10  # Envoy flushes the file every second

    def client_path(e: dict) -> str | None:
        return e.get("original_path") or e.get("path")

    while not (lines := [e for e in access_log(gateway) if client_path(e) == path]):
        assert time.monotonic() < deadline, f"{target!r} not in {gateway.proxy.access_log}"
        time.sleep(0.1)
    [line] = lines
    assert (line["decision"] or "").startswith(decision), line
    token = target.partition(b"=")[2].decode()
    assert token not in gateway.proxy.access_log.read_text(), "a query token in the access log"
    assert line["listener"] == role
