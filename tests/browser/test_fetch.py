"""fetch() from a page: custom headers, methods and bodies reach the upstream intact on API
routes; a route the listener does not cover is refused with 403 before the upstream."""

from __future__ import annotations

import json

import pytest

from in_page import fetch, headers_of, not_icons, origin, targets

# What an agent UI or a device SDK sends beside the browser's own headers: tokens, tracing,
# JSON in a header, repeated-looking lists, a value longer than one would type.
CUSTOM_HEADERS = {
    "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig-_x",
    "X-Cobrowse-Trace": "trace=4bf92f3577b34da6; span=00f067aa0ba902b7",
    "X-Custom-Json": '{"a":[1,2],"b":"c, d"}',
    "X-Long": "v" * 4096,
    "Content-Type": "application/json",
}
BODY = '{"hello": "wörld ✓"}'


def open_page(page, listener, path: str) -> None:
    """Puts the page in the listener's origin, so its fetches are same-origin (no CORS)."""
    assert page.goto(origin(listener) + path).status == 200


@pytest.mark.parametrize(
    "role, path",
    [
        ("internal", "/api/1/sessions/42/events?since=0&x=%2F&y=a%20b"),
        ("internal", "/recording/1/chunks/7"),
        ("external", "/api/1/devices/abc/events?since=0"),
        ("external", "/api/1/virtualagents/agent-1/messages"),
    ],
)
def test_fetch_custom_headers_and_body_arrive_intact(request, page, upstream, role, path):
    listener = request.getfixturevalue(role)
    open_page(page, listener, "/api/1/sessions/page" if role == "internal" else "/api/1/devices/page")
    mark = upstream.mark()
    seen = fetch(page, path, method="POST", headers=CUSTOM_HEADERS, body=BODY)

    assert seen["status"] == 200
    [entry] = not_icons(upstream.since(mark))
    assert entry["method"] == "POST"
    assert targets([entry]) == [path.encode()]
    assert entry["body"].encode("latin-1") == BODY.encode()
    received = headers_of(entry)
    for name, value in CUSTOM_HEADERS.items():
        assert received.get(name.lower()) == [value], name
    # The browser's own headers pass too: the filter forwards all of them.
    assert received["origin"] == [origin(listener)]
    # What the page read is the upstream's echo of that same request.
    assert json.loads(seen["body"])["target"] == path


@pytest.mark.parametrize("path", ["/api/1/users/me", "/api/1/devicesX", "/index.html", "/proxy/1/agent/x"])
def test_fetch_outside_the_external_routes_is_refused(page, external, upstream, path):
    open_page(page, external, "/api/1/devices/page")
    mark = upstream.mark()
    seen = fetch(page, path, headers={"X-Cobrowse-Trace": "t"})
    assert seen["status"] == 403
    assert not_icons(upstream.since(mark)) == []
