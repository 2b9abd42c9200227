"""WebSockets opened by the page: /sockets/1/ upgrades and echoes on both listeners; an upgrade
anywhere else fails in the browser with the filter's 403, and the upstream never sees it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from in_page import headers_of, not_icons, origin, targets, websocket

MESSAGES = ["hello", "héllo ✓", "x" * 70_000, b"\x00\x01\xfe\xff"]


def ws_url(listener, path: str) -> str:
    return f"ws://127.0.0.1:{listener.port}{path}"


def test_page_websocket_button_gets_its_echo(page, internal, upstream):
    page.goto(origin(internal) + "/dashboard/live")
    mark = upstream.mark()
    page.click("#ws")
    # app.js opens /sockets/1/demo, sends one message and prints the echo.
    expect(page.locator("#out")).to_have_text("echo: hello through the firewall")
    upgrades = [e for e in upstream.since(mark) if targets([e]) == [b"/sockets/1/demo"]]
    assert len(upgrades) == 1
    assert headers_of(upgrades[0])["upgrade"] == ["websocket"]


@pytest.mark.parametrize("role", ["internal", "external"])
def test_websocket_on_sockets_prefix_echoes_text_and_binary(request, page, upstream, role):
    listener = request.getfixturevalue(role)
    page.goto(origin(listener) + ("/dashboard" if role == "internal" else "/api/1/devices/page"))
    path = "/sockets/1/session-7?token=abc%2F1"
    mark = upstream.mark()
    seen = websocket(page, ws_url(listener, path), MESSAGES)
    assert seen["opened"] and not seen["errored"]
    assert seen["received"] == MESSAGES
    assert seen["code"] == 1000
    assert [t for t in targets(upstream.since(mark)) if t.startswith(b"/sockets/")] == [path.encode()]


@pytest.mark.parametrize(
    "role, path",
    [
        # A frontend route: an upgrade is refused, never rewritten to /index.html.
        ("internal", "/dashboard/live"),
        ("internal", "/api/1/sessions/1/ws"),
        ("internal", "/static/ws"),
        ("external", "/api/1/devices/ws"),
        ("external", "/sockets/10/x"),
        ("external", "/sockets/2/x"),
    ],
)
def test_websocket_elsewhere_fails_in_the_browser_with_403(request, page, upstream, role, path):
    listener = request.getfixturevalue(role)
    page.goto(origin(listener) + ("/dashboard" if role == "internal" else "/api/1/devices/page"))
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    mark = upstream.mark()
    seen = websocket(page, ws_url(listener, path), ["never sent"])
    assert not seen["opened"] and seen["errored"]
    assert seen["code"] == 1006
    # Chromium reports the handshake's status on the console, which a script cannot read.
    assert any(ws_url(listener, path) in line and "Unexpected response code: 403" in line for line in console), console
    # Nothing of the refused upgrade reached the upstream, not even as an SPA rewrite.
    assert not_icons(upstream.since(mark)) == []
