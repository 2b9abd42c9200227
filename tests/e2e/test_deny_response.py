"""A configured deny response replaces the 403 of every denial, and nothing else:
400 (hostile path) and 405 (SPA route, other method) keep their fixed answers."""

from __future__ import annotations

import json

import pytest

import ops
from clients import H2Connection, exchange
from ops import UPGRADE
from processes import ROOT, WASM_PATH, render, run_envoy

DENY = {"status": 404, "body": "nope\n", "content_type": "text/html"}


@pytest.fixture(scope="module")
def denydir(tmp_path_factory):
    return tmp_path_factory.mktemp("deny_response")


@pytest.fixture(scope="module")
def external(denydir, upstream):
    plugin = {**ops.shipped_plugin("external"), "deny_response": DENY}
    with ops.running(denydir, "external", ops.config("external", upstream, plugin)) as envoy:
        yield ops.port(envoy)


@pytest.fixture(scope="module")
def internal(denydir, upstream):
    plugin = {**ops.shipped_plugin("internal"), "deny_response": DENY}
    with ops.running(denydir, "internal", ops.config("internal", upstream, plugin)) as envoy:
        yield ops.port(envoy)


def assert_answer(response, status: int, content_type: bytes, body: bytes) -> None:
    assert response.status == status
    assert [v for n, v in response.headers if n == b"content-type"] == [content_type]
    assert response.body == body
    assert response.header("content-length") in (None, str(len(body)).encode())


@pytest.mark.parametrize("target", [b"/admin", b"/api/1/agents?x=1"])
def test_denial_gets_the_configured_response(upstream, external, proto, target):
    response, received = exchange(upstream, external, proto, "GET", target)
    assert_answer(response, 404, b"text/html", b"nope\n")
    assert received == []


def test_upgrade_denial_gets_the_configured_response(upstream, external, internal):
    for port, target in [(external, b"/api/1/devices"), (internal, b"/dashboard")]:
        response, received = exchange(upstream, port, "h1", "GET", target, UPGRADE)
        assert_answer(response, 404, b"text/html", b"nope\n")
        assert received == []
        with H2Connection(port) as conn:
            assert conn.websocket(target).response.status == 404


def test_allowed_and_rewritten_requests_are_untouched(upstream, external, internal):
    response, received = exchange(upstream, external, "h1", "GET", b"/api/1/devices")
    assert response.status == 200 and len(received) == 1
    response, received = exchange(upstream, internal, "h1", "GET", b"/dashboard")
    assert response.status == 200 and response.upstream_target() == b"/index.html"


def test_bad_request_is_unaffected(upstream, external, internal, proto):
    for port in (external, internal):
        response, received = exchange(upstream, port, proto, "GET", b"/api/1/devices;x=1")
        assert_answer(response, 400, b"text/plain; charset=utf-8", b"Bad Request\n")
        assert received == []


def test_method_not_allowed_is_unaffected(upstream, internal, proto):
    response, received = exchange(upstream, internal, proto, "POST", b"/dashboard", body=b"x")
    assert_answer(response, 405, b"text/plain; charset=utf-8", b"Method Not Allowed\n")
    assert response.header("allow") == b"GET, HEAD"
    assert received == []


@pytest.mark.parametrize("status", [200, 399, 500, 503])
def test_status_outside_4xx_is_refused_at_load(tmp_path, status):
    plugin = {**ops.shipped_plugin("external"), "deny_response": {**DENY, "status": status}}
    config = render.with_plugin_configuration(
        render.with_module(render.load(ROOT / "envoy" / "external.yaml"), WASM_PATH), json.dumps(plugin)
    )
    result = run_envoy(["--mode", "validate", "-c", str(render.dump(config, tmp_path / "bad.yaml"))])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "cobrowse-l7-firewall: invalid configuration: deny_response.status" in output

