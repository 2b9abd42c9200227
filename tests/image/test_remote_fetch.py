"""Distribution without Istio: Envoy fetches the module itself (`vm_config.code.remote`) from
an HTTP server, checks it against the configured `sha256`, and refuses it when that differs.

The Envoy is the shipped external listener (envoy/external.yaml), with only the module source
changed from a local file to the remote one and a cluster for the module server added.
"""

from __future__ import annotations

import copy
import hashlib

import pytest
from conftest import ROOT

from clients import exchange
from processes import Envoy, Upstream, render

MODULE_CLUSTER = "module_server"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    process = Upstream(tmp_path_factory.mktemp("upstream"))
    yield process
    process.stop()


def remote_config(upstream, file_server, sha256: str) -> dict:
    config = render.localize(
        render.load(ROOT / "envoy" / "external.yaml"),
        wasm_path="/nonexistent/unused.wasm",
        upstream=("127.0.0.1", upstream.port),
        listener_port=0,
        admin_port=0,
    )
    render.wasm_plugin(config)["vm_config"]["code"] = {
        "remote": {
            "http_uri": {
                "uri": f"http://127.0.0.1:{file_server.port}/cobrowse_l7_firewall.wasm",
                "cluster": MODULE_CLUSTER,
                "timeout": "10s",
            },
            "sha256": sha256,
        }
    }
    module_cluster = copy.deepcopy(render.cluster(config))
    module_cluster["name"] = MODULE_CLUSTER
    module_cluster.pop("typed_extension_protocol_options", None)
    address = {"socket_address": {"address": "127.0.0.1", "port_value": file_server.port}}
    module_cluster["load_assignment"] = {
        "cluster_name": MODULE_CLUSTER,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
    }
    config["static_resources"]["clusters"].append(module_cluster)
    return config


def test_envoy_fetches_the_module_and_enforces_it(tmp_path, upstream, file_server, module_bytes):
    before = len(file_server.requested)
    right = hashlib.sha256(module_bytes).hexdigest()
    envoy = Envoy(remote_config(upstream, file_server, right), tmp_path, "remote")
    try:
        assert "/cobrowse_l7_firewall.wasm" in file_server.requested[before:]
        port = envoy.ports["external"]
        allowed, received = exchange(upstream, port, "h1", "GET", b"/api/1/devices/x")
        assert allowed.status == 200 and len(received) == 1
        denied, received = exchange(upstream, port, "h1", "GET", b"/api/1/agents")
        assert denied.status == 403 and received == []
    finally:
        envoy.stop()


def test_envoy_refuses_a_module_whose_hash_differs(tmp_path, upstream, file_server, module_bytes):
    wrong = hashlib.sha256(module_bytes + b"tampered").hexdigest()
    before = len(file_server.requested)
    envoy = Envoy(remote_config(upstream, file_server, wrong), tmp_path, "wrong-hash")
    try:
        # Fetched (and retried), then refused: the plugin fails closed and nothing is forwarded,
        # not even a path the policy allows.
        assert "/cobrowse_l7_firewall.wasm" in file_server.requested[before:]
        assert "Plugin cobrowse_l7_firewall failed to load" in envoy.log()
        for target in (b"/api/1/devices/x", b"/api/1/agents"):
            response, received = exchange(upstream, envoy.ports["external"], "h1", "GET", target)
            assert response.status == 503 and received == [], (target, response)
    finally:
        envoy.stop()
