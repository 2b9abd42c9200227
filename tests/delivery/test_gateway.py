"""The module delivered as Istio delivers it: the shipped WasmPlugin translated by istiod's
rules, the image pulled and checked by the agent's, the result taken by a real Envoy over
ECDS, answering as the README says."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from conftest import pointed_at, shipped_plugin, start_gateway

import istiod

from clients import exchange, target_of


def test_envoy_took_the_firewall_over_ecds(gateway):
    assert gateway.ecds_counter("config_reload") >= 1
    assert gateway.ecds_counter("config_fail") == 0
    log = gateway.envoy.log()
    assert "cobrowse-l7-firewall" in log and gateway.role in log


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


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_gateway_answers_as_the_readme_says(upstream, gateway, proto):
    for method, target, status, forwarded in README[gateway.role]:
        response, received = exchange(upstream, gateway.port, proto, method, target)
        assert response.status == status, (target, response)
        assert [target_of(e) for e in received] == ([forwarded] if forwarded else []), target


def test_a_module_that_cannot_be_pulled_denies_everything(upstream, gateways, image):
    """FAIL_CLOSE: a digest that does not match makes the agent hand Envoy a deny-all RBAC
    filter under the same name; nothing is forwarded, and the right digest heals it."""
    gateway = gateways["external"]
    wrong = pointed_at(shipped_plugin("external"), image, sha256="0" * 64)
    try:
        outcome, error = gateway.deliver(wrong)
        assert outcome == "reload" and "does not match" in error
        for target in (b"/api/1/devices", b"/api/1/agents"):
            response, received = exchange(upstream, gateway.port, "h1", "GET", target)
            assert response.status == 403 and received == [], (target, response)
        assert gateway.counter("http.gateway.rbac.wasm-default-deny.denied") >= 2
    finally:
        outcome, error = gateway.deliver(pointed_at(shipped_plugin("external"), image))
    assert outcome == "reload" and error is None
    response, received = exchange(upstream, gateway.port, "h1", "GET", b"/api/1/devices")
    assert response.status == 200 and len(received) == 1


@pytest.mark.parametrize("release", ["1.24", "1.29"])
def test_earlier_istio_releases_deliver_it_too(upstream, workdir, image, release):
    """1.24 carries FAIL_CLOSE as `fail_open: false`, 1.25 to 1.29 as `failure_policy`, under
    the names those releases used; the delivered filter answers alike and still fails closed."""
    plugin = pointed_at(shipped_plugin("external"), image)
    gateway = start_gateway(f"external-{release}", plugin, workdir, upstream, release)
    gateway.role = "external"
    try:
        config = istiod.extension_config(plugin, release=release)["typed_config"]["config"]
        assert ("fail_open" in config) == (release == "1.24") != ("failure_policy" in config)
        assert gateway.ecds_counter("update_success") == 1
        for method, target, status, forwarded in README["external"]:
            response, received = exchange(upstream, gateway.port, "h1", method, target)
            assert response.status == status, (target, response)
            assert [target_of(e) for e in received] == ([forwarded] if forwarded else []), target
        outcome, error = gateway.deliver(pointed_at(shipped_plugin("external"), image, sha256="0" * 64))
        assert outcome == "reload" and "does not match" in error
        response, received = exchange(upstream, gateway.port, "h1", "GET", b"/api/1/devices")
        assert response.status == 403 and received == []
    finally:
        gateway.envoy.stop()


def test_websocket_through_the_delivered_filter(upstream, gateway):
    """Istio's gateway allows the websocket upgrade; the firewall decides where."""
    target = "/sockets/1/session-1"
    mark = upstream.mark()
    with connect(f"ws://127.0.0.1:{gateway.port}{target}", open_timeout=10, close_timeout=0.2) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
    assert [target_of(e) for e in upstream.since(mark)] == [target.encode()]
    mark = upstream.mark()
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{gateway.port}/sockets/10/session-1", open_timeout=10)
    assert refused.value.response.status_code == 403
    assert upstream.since(mark) == []
