"""The README's requests against the compose stack: forwarded, denied, hostile, h2c, SPA,
methods, WebSockets. The demo upstream's echo shows what was forwarded, byte for byte."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from clients import get1, h1_request, h2_request, http1
from ops import UPGRADE


def test_sdk_route_is_forwarded(external):
    response = get1(external.port, b"/api/1/devices")
    assert response.status == 200
    assert response.echo()["target"] == "/api/1/devices"


def test_agent_route_is_denied_on_the_external_listener(external):
    response = get1(external.port, b"/api/1/agents")
    assert response.status == 403
    assert response.upstream_target() is None


def test_agent_route_is_forwarded_on_the_internal_listener(internal):
    response = get1(internal.port, b"/api/1/agents")
    assert response.status == 200
    assert response.echo()["target"] == "/api/1/agents"


@pytest.mark.parametrize("target", [b"/api/1/devices/../agents", b"/api/1/devices/%2e%2e/agents"])
def test_hostile_path_sent_raw_is_refused(external, target):
    # Written on the socket as is: no client library normalizes it first.
    response = http1(external.port, h1_request("GET", target))
    assert response.status == 400
    assert response.upstream_target() is None


def test_h2c(external):
    response = h2_request(external.port, "GET", b"/api/1/devices")
    assert response.status == 200
    assert response.echo()["target"] == "/api/1/devices"
    assert h2_request(external.port, "GET", b"/api/1/agents").status == 403


def test_spa_route_serves_index_html(internal):
    response = get1(internal.port, b"/dashboard?a=1")
    assert response.status == 200
    assert response.header("content-type") == b"text/html; charset=utf-8"
    assert response.upstream_target() == b"/index.html?a=1"
    assert response.body == get1(internal.port, b"/index.html").body


def test_post_on_spa_route_is_405_with_allow(internal):
    response = http1(internal.port, h1_request("POST", b"/dashboard", body=b"x"))
    assert response.status == 405
    assert response.header("allow") == b"GET, HEAD"
    assert response.upstream_target() is None


@pytest.mark.parametrize("role", ["external", "internal"])
def test_websocket_is_upgraded_and_echoes(stack, role):
    with connect(f"ws://127.0.0.1:{stack[role].port}/sockets/1/session", open_timeout=10, close_timeout=0.2) as ws:
        assert ws.response.status_code == 101
        ws.send("hello through the firewall")
        assert ws.recv(timeout=10) == "hello through the firewall"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=10) == b"\x00\xff"


@pytest.mark.parametrize("role", ["external", "internal"])
def test_websocket_elsewhere_is_403(stack, role):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{stack[role].port}/sockets/10/", open_timeout=10)
    assert refused.value.response.status_code == 403
    # The same request without the WebSocket library: refused before the upstream.
    response = get1(stack[role].port, b"/sockets/10/", UPGRADE)
    assert response.status == 403
    assert response.upstream_target() is None
