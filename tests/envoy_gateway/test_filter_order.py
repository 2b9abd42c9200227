"""Beside another filter: Envoy Gateway places Wasm after its authentication filters, so a
Gateway with basic auth (a SecurityPolicy) asks for credentials before the firewall refuses
an unserved or hostile path; `filterOrder` in the EnvoyProxy (docs/envoy-gateway.md) puts
the firewall first. Measured in the config dump and by a client without credentials."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest
import standalone
from harness import wait_for
from test_placement import http_filters

from clients import get1

WASM, BASIC_AUTH = "envoy.filters.http.wasm", "envoy.filters.http.basic_auth"
# Hostile after Envoy Gateway's normalization too (a double-encoded dot-dot): the firewall's 400.
HOSTILE = b"/api/1/devices/%252e%252e/admin"


def basic_auth() -> list[dict]:
    digest = base64.b64encode(hashlib.sha1(b"secret").digest()).decode()
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "agents-htpasswd", "namespace": standalone.NAMESPACE},
            "data": {".htpasswd": base64.b64encode(f"agent:{{SHA}}{digest}".encode()).decode()},
        },
        {
            "apiVersion": "gateway.envoyproxy.io/v1alpha1",
            "kind": "SecurityPolicy",
            "metadata": {"name": "agents-basic-auth", "namespace": standalone.NAMESPACE},
            "spec": {
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "cobrowse-external"}],
                "basicAuth": {"users": {"name": "agents-htpasswd"}},
            },
        },
    ]


def order(deployment) -> list[str]:
    names = [f["name"].partition("/")[0] for f in http_filters(deployment, "cobrowse-external")]
    return [n for n in names if n in (WASM, BASIC_AUTH)]


@pytest.fixture
def with_basic_auth(deployment, form):
    deployment.eg.apply("40-basic-auth", basic_auth())
    wait_for(lambda: len(order(deployment)) == 2, 60, "basic auth in the external Gateway", deployment.eg)
    yield deployment
    deployment.eg.delete("40-basic-auth")
    wait_for(lambda: order(deployment) == [WASM], 60, "basic auth removed", deployment.eg)


def test_without_filter_order_authentication_answers_first(with_basic_auth):
    port = with_basic_auth.ports["cobrowse-external"]
    assert order(with_basic_auth) == [BASIC_AUTH, WASM]
    assert get1(port, b"/api/1/agents").status == 401
    assert get1(port, HOSTILE).status == 401


def test_filter_order_puts_the_firewall_first(with_basic_auth, envoy_version_string):
    deployment = with_basic_auth
    port = deployment.ports["cobrowse-external"]
    first = copy.deepcopy(standalone.gateway_class(envoy_version_string))
    first[1]["spec"]["filterOrder"] = [{"name": WASM, "before": BASIC_AUTH}]
    deployment.eg.apply("00-class", [standalone.namespace(), *first])
    try:
        wait_for(lambda: order(deployment) == [WASM, BASIC_AUTH], 60, "the firewall before basic auth", deployment.eg)
        assert get1(port, b"/api/1/agents").status == 403
        assert get1(port, HOSTILE).status == 400
        # A served path still needs credentials.
        assert get1(port, b"/api/1/devices").status == 401
        credentials = base64.b64encode(b"agent:secret")
        assert get1(port, b"/api/1/devices", [(b"authorization", b"Basic " + credentials)]).status == 200
    finally:
        # Envoy Gateway's own order, stated: a field taken out of a file (or set to null) stays
        # in effect, as the file provider merges a changed file into what it holds.
        first[1]["spec"]["filterOrder"] = [{"name": WASM, "after": BASIC_AUTH}]
        deployment.eg.apply("00-class", [standalone.namespace(), *first])
        wait_for(lambda: order(deployment) == [BASIC_AUTH, WASM], 60, "the default order back", deployment.eg)
