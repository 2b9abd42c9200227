"""Operator configuration on a real Envoy: custom groups without a rebuild, and dry-run mode."""

from __future__ import annotations

import json

import pytest

from clients import H2Connection, exchange, h1_request, http1, target_of
from conftest import shipped
from processes import render

UPGRADE = [
    (b"connection", b"upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
]


def start(start_envoy, upstream, name: str, plugin: dict) -> int:
    config = render.with_plugin_configuration(shipped("external", upstream), json.dumps(plugin))
    return start_envoy(name, config).ports["external"]


@pytest.fixture(scope="module")
def custom(start_envoy, upstream):
    return start(
        start_envoy,
        upstream,
        "custom",
        {
            "name": "staging",
            "groups": ["sdk"],
            "custom_groups": [
                {"name": "health", "prefixes": ["/healthz"]},
                {"name": "live", "prefixes": ["/live/1/"], "websocket": True},
            ],
            "fallback": "deny",
        },
    )


@pytest.fixture(scope="module")
def dry_run(start_envoy, upstream):
    return start(
        start_envoy, upstream, "dry_run", {"name": "dry", "groups": ["sdk"], "fallback": "deny", "mode": "dry_run"}
    )


@pytest.fixture(scope="module")
def dry_run_spa(start_envoy, upstream):
    return start(
        start_envoy,
        upstream,
        "dry_run_spa",
        {"name": "dry_spa", "groups": ["frontend"], "fallback": "spa", "mode": "dry_run"},
    )


def test_custom_prefixes_are_forwarded(upstream, custom, proto):
    for target in [b"/healthz", b"/healthz/deep?x=1", b"/live/1/feed", b"/api/1/devices/1"]:
        response, received = exchange(upstream, custom, proto, "GET", target)
        assert response.status == 200, target
        assert [target_of(e) for e in received] == [target]
    for target in [b"/healthzX", b"/live/2/", b"/api/1/agents"]:
        response, received = exchange(upstream, custom, proto, "GET", target)
        assert (response.status, received) == (403, []), target


def test_custom_websocket_group_allows_upgrades_only_there(upstream, custom):
    # The demo upstream speaks WebSocket on /sockets/1/ only, so an upgrade it receives on
    # /live/1/ gets a plain 200: what matters here is that the filter let it through.
    mark = upstream.mark()
    assert http1(custom, h1_request("GET", b"/live/1/feed", UPGRADE)).status != 403
    with H2Connection(custom) as conn:
        assert conn.websocket(b"/live/1/feed").response.status != 403
    received = upstream.since(mark)
    assert [target_of(e) for e in received] == [b"/live/1/feed", b"/live/1/feed"]
    for entry in received:
        assert ["upgrade", "websocket"] in [[n.lower(), v] for n, v in entry["headers"]]

    mark = upstream.mark()
    assert http1(custom, h1_request("GET", b"/healthz", UPGRADE)).status == 403
    with H2Connection(custom) as conn:
        assert conn.websocket(b"/healthz").response.status == 403
    assert upstream.since(mark) == []


def test_dry_run_forwards_what_enforce_would_deny(upstream, dry_run, proto):
    for target in [b"/admin?x=1", b"/api/1/agents", b"/"]:
        response, received = exchange(upstream, dry_run, proto, "POST", target, body=b"x")
        assert response.status == 200, target
        assert [target_of(e) for e in received] == [target]
    mark = upstream.mark()
    assert http1(dry_run, h1_request("GET", b"/api/1/devices", UPGRADE)).status == 200  # echo, not 403
    assert [target_of(e) for e in upstream.since(mark)] == [b"/api/1/devices"]


def test_dry_run_does_not_rewrite_frontend_routes(upstream, dry_run_spa, proto):
    response, received = exchange(upstream, dry_run_spa, proto, "GET", b"/dashboard/x?a=1")
    assert response.status == 200
    assert [target_of(e) for e in received] == [b"/dashboard/x?a=1"]
    response, received = exchange(upstream, dry_run_spa, proto, "DELETE", b"/dashboard/x")
    assert response.status == 200
    assert [target_of(e) for e in received] == [b"/dashboard/x"]
