"""WebSockets on /sockets/1/ (HTTP/1.1 upgrade and HTTP/2 extended CONNECT); upgrades elsewhere: 403."""

from __future__ import annotations

import os

import pytest
from websockets.sync.client import connect

from clients import H2Connection, exchange, h1_request, http1, target_of

MESSAGES = ["hello", "héllo ✓", "", "x" * 70_000, b"\x00\x01\xfe\xff", os.urandom(100_000)]


def assert_one_upgrade_arrived(upstream, mark, target):
    received = upstream.since(mark)
    assert [target_of(e) for e in received] == [target]
    headers = {n.lower(): v for n, v in received[0]["headers"]}
    assert headers.get("upgrade", "").lower() == "websocket"


def assert_h1_echoes(uri: str, messages: list, **options) -> None:
    """An HTTP/1.1 Upgrade to `uri` (the websockets client; `options` such as ssl): each message echoed."""
    # close_timeout: after the closing handshake Envoy waits (delayed_close_timeout, 1 s) for
    # the client to drop TCP first while the client waits for the server; don't sit that out.
    with connect(uri, open_timeout=10, close_timeout=0.2, max_size=None, **options) as ws:
        for message in messages:
            ws.send(message)
            assert ws.recv(timeout=10) == message


def assert_h2_echoes(conn: H2Connection, target: bytes, messages: list) -> None:
    """An RFC 8441 WebSocket to `target` on `conn`: accepted, each message echoed, closed."""
    ws = conn.websocket(target)
    assert ws.response.status == 200
    for message in messages:
        ws.send(message)
        assert ws.recv() == message
    ws.close()


def test_http1_upgrade_echoes_messages(upstream, any_listener):
    target = "/sockets/1/session-1?token=abc"
    mark = upstream.mark()
    assert_h1_echoes(f"ws://127.0.0.1:{any_listener.port}{target}", MESSAGES)
    assert_one_upgrade_arrived(upstream, mark, target.encode())


def test_http2_extended_connect_echoes_messages(upstream, any_listener):
    target = b"/sockets/1/session-2?token=def"
    mark = upstream.mark()
    with H2Connection(any_listener.port) as conn:
        assert_h2_echoes(conn, target, MESSAGES)
    assert_one_upgrade_arrived(upstream, mark, target)


def test_concurrent_http2_websockets_on_one_connection(upstream, listener):
    with H2Connection(listener.port) as conn:
        sockets = [conn.websocket(b"/sockets/1/multi-%d" % i) for i in range(3)]
        for i, ws in enumerate(sockets):
            assert ws.response.status == 200
            ws.send(f"to {i}")
        for i, ws in enumerate(sockets):
            assert ws.recv() == f"to {i}"


UPGRADE = [
    (b"connection", b"upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
]

# Covered paths that are not WebSocket prefixes, and frontend routes: an upgrade is refused
# there, never forwarded and never rewritten to /index.html.
DENIED_UPGRADES = {
    "external": [b"/api/1/devices", b"/api/1/sessions/1", b"/sdk-js/x", b"/", b"/dashboard"],
    "internal": [b"/api/1/devices", b"/api/1/sockets/1/", b"/static/app.js", b"/index.html", b"/", b"/dashboard/x?a=1"],
}


@pytest.mark.parametrize("upgrade", [b"websocket", b"WebSocket", b"foo"])
def test_http1_upgrade_outside_websocket_prefixes_is_refused(upstream, any_listener, upgrade):
    role = any_listener.name.removesuffix("_norm")
    headers = [(n, upgrade if n == b"upgrade" else v) for n, v in UPGRADE]
    for target in DENIED_UPGRADES[role]:
        mark = upstream.mark()
        response = http1(any_listener.port, h1_request("GET", target, headers))
        assert response.status == 403, (target, response)
        assert upstream.since(mark) == []


def test_http2_connect_outside_websocket_prefixes_is_refused(upstream, any_listener):
    role = any_listener.name.removesuffix("_norm")
    for target in DENIED_UPGRADES[role]:
        mark = upstream.mark()
        with H2Connection(any_listener.port) as conn:
            ws = conn.websocket(target)
            assert ws.response.status == 403, target
        assert upstream.since(mark) == []


def test_plain_get_on_websocket_prefix_is_forwarded(upstream, listener, proto):
    response, received = exchange(upstream, listener.port, proto, "GET", b"/sockets/1/info?t=1")
    assert response.status == 200
    assert [target_of(e) for e in received] == [b"/sockets/1/info?t=1"]
