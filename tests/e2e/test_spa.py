"""The internal listener's SPA fallback: frontend routes resolve to /index.html, query kept."""

from __future__ import annotations

import pytest

from clients import echo_headers, exchange, target_of
from processes import ROOT

SITE = ROOT / "tools" / "demo-upstream" / "site"

FRONTEND_ROUTES = [
    (b"/", b"/index.html"),
    (b"/dashboard/sessions/1?a=1&b=2", b"/index.html?a=1&b=2"),
    (b"/dashboard", b"/index.html"),
    (b"/settings/users/", b"/index.html"),
    (b"/?", b"/index.html?"),
    (b"/login?next=/../admin&x=%2F&y=%2e%2e", b"/index.html?next=/../admin&x=%2F&y=%2e%2e"),
    (b"/indexXhtml", b"/index.html"),
    (b"/staticx/app.js", b"/index.html"),
    (b"/virtual-agent/1/mcp?q=1", b"/index.html?q=1"),
    (b"/api/2/devices", b"/index.html"),
]


@pytest.fixture(params=["internal", "internal_norm"])
def spa_listener(request):
    """The SPA fallback must not depend on Envoy's normalization settings."""
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("sent, expected", FRONTEND_ROUTES)
def test_frontend_route_get_is_served_index_html(upstream, spa_listener, proto, sent, expected):
    response, received = exchange(upstream, spa_listener.port, proto, "GET", sent)
    assert response.status == 200
    assert [target_of(e) for e in received] == [expected]
    assert response.body == (SITE / "index.html").read_bytes()


def test_frontend_route_head_is_rewritten_too(upstream, internal, proto):
    response, received = exchange(upstream, internal.port, proto, "HEAD", b"/dashboard/x?a=1")
    assert response.status == 200
    assert response.body == b""
    assert [(e["method"], target_of(e)) for e in received] == [("HEAD", b"/index.html?a=1")]


@pytest.mark.parametrize(
    "path, file",
    [(b"/static/app.js", "static/app.js"), (b"/favicon.png", "favicon.png"), (b"/index.html?v=3", "index.html")],
)
def test_frontend_assets_pass_unchanged(upstream, internal, proto, path, file):
    response, received = exchange(upstream, internal.port, proto, "GET", path)
    assert response.status == 200
    assert [target_of(e) for e in received] == [path]
    assert response.body == (SITE / file).read_bytes()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_frontend_routes_get_405(upstream, spa_listener, proto, method):
    for target in [b"/", b"/dashboard/sessions/1?a=1"]:
        response, received = exchange(upstream, spa_listener.port, proto, method, target, body=b"{}")
        assert response.status == 405, (method, target)
        assert response.header("allow") == b"GET, HEAD"
        assert received == []


def test_spa_rewrite_changes_nothing_but_the_path(upstream, internal, proto):
    headers = [(b"x-custom", b"1"), (b"x-custom", b"2"), (b"x-big", b"c" * 8192), (b"accept", b"text/html")]
    _, direct = exchange(upstream, internal.port, proto, "GET", b"/index.html?a=1", headers=headers)
    _, rewritten = exchange(upstream, internal.port, proto, "GET", b"/dash/board?a=1", headers=headers)
    assert target_of(rewritten[0]) == b"/index.html?a=1"

    def comparable(entry):
        # x-request-id is Envoy's per-request UUID; everything else must match.
        return [(n.lower(), v) for n, v in echo_headers(entry) if n.lower() != b"x-request-id"]

    assert comparable(rewritten[0]) == comparable(direct[0])
    assert rewritten[0]["method"] == direct[0]["method"] == "GET"
