"""HTTP/3, the option: a QUIC listener beside the TLS one (render.with_http3), with aioquic.

The QUIC listener runs the same connection manager and filters as the TCP one, so it must
decide as the TLS listener does, carry the same edge settings, announce itself by Alt-Svc,
and carry WebSockets by extended CONNECT (RFC 9220).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import h3_websocket
import policy
from clients import echo_headers, target_of
from h3 import Refused
from h3 import request as h3_request
from test_tls import rows
from tls_clients import send


def h3_outcome(listener, cert, row):
    method, target, headers = row
    try:
        return h3_request(listener.quic_port, cert, method, target, headers).status
    except Refused:
        return "refused by the HTTP/3 codec"
    except TimeoutError:
        return "no answer"


def test_alt_svc_announces_the_quic_port(h3, tls_files):
    response = send(h3.port, tls_files[0], "h2", "GET", b"/api/1/devices/x")
    assert response.status == 200
    assert response.header("alt-svc") == f'h3=":{h3.quic_port}"; ma=86400'.encode()


def test_http3_routes(upstream, h3, tls_files):
    allowed = [b"/api/1/sessions/1?a=1", b"/sockets/1/info"]
    for target in allowed:
        mark = upstream.mark()
        response = h3_request(h3.quic_port, tls_files[0], "GET", target)
        assert response.status == 200, target
        assert [target_of(e) for e in upstream.since(mark)] == [target]
        assert response.header("x-upstream-path") == target
    mark = upstream.mark()
    response = h3_request(h3.quic_port, tls_files[0], "GET", b"/dashboard/x?a=1")
    if h3.role == "external":
        assert response.status == 403
        assert upstream.since(mark) == []
    else:
        assert response.status == 200
        assert [target_of(e) for e in upstream.since(mark)] == [b"/index.html?a=1"]


def test_http3_decides_every_row_as_tls(upstream, h3, tls_files):
    """Every e2e row over HTTP/3 gets the TLS listener's HTTP/1.1 answer, unless the HTTP/3
    codec refuses it first (raw bytes, absolute-form targets: docs/envoy.md); nothing the
    firewall would refuse reaches the upstream either way."""
    cert = tls_files[0]
    table = [row for row in rows(h3) if not any(n in (b"connection", b"upgrade") for n, _ in row[2])]
    with ThreadPoolExecutor(max_workers=8) as pool:
        over_h1 = list(pool.map(lambda r: _h1_status(h3, cert, r), table))
        mark = upstream.mark()
        over_h3 = list(pool.map(lambda r: h3_outcome(h3, cert, r), table))
    received = upstream.since(mark)
    for entry in received:
        path, _ = policy.split_target(target_of(entry))
        assert policy.forwardable(path, h3.prefixes), target_of(entry)
    differences = [
        (row[1], a, b) for row, a, b in zip(table, over_h1, over_h3) if a != b and b != "refused by the HTTP/3 codec"
    ]
    assert differences == []
    assert sum(1 for s in over_h3 if s == 200) > 20


def _h1_status(listener, cert, row):
    method, target, headers = row
    try:
        return send(listener.port, cert, "h1", method, target, headers).status
    except (ConnectionError, OSError):
        return "connection closed"


def test_http3_carries_the_edge_settings(upstream, h3, tls_files):
    mark = upstream.mark()
    with pytest.raises(Refused):
        h3_request(h3.quic_port, tls_files[0], "GET", b"/api/1/devices/x", [(b"x_forwarded_for", b"1")])
    assert upstream.since(mark) == []
    forged = [(b"x-envoy-internal", b"true"), (b"x-forwarded-for", b"10.1.2.3"), (b"x-envoy-original-path", b"/a")]
    response = h3_request(h3.quic_port, tls_files[0], "GET", b"/api/1/devices/x", forged)
    assert response.status == 200
    (entry,) = upstream.since(mark)
    got = {n.decode(): v.decode() for n, v in echo_headers(entry)}
    assert "x-envoy-internal" not in got and "x-envoy-original-path" not in got
    assert got["x-envoy-external-address"] == "127.0.0.1"
    assert got["x-forwarded-proto"] == "https"


MESSAGES = ["hello", "héllo ✓", "x" * 70_000, bytes(range(256)) * 100]


def test_websocket_over_http3_extended_connect(upstream, h3, tls_files):
    target = b"/sockets/1/session-h3?token=ghi"
    mark = upstream.mark()
    response, echoed, server_settings = h3_websocket.websocket(h3.quic_port, tls_files[0], target, MESSAGES)
    assert server_settings.get(h3_websocket.SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1
    assert response.status == 200
    assert echoed == MESSAGES
    assert [target_of(e) for e in upstream.since(mark)] == [target]


def test_websocket_over_http3_outside_the_prefix_is_refused(upstream, h3, tls_files):
    mark = upstream.mark()
    response, _, _ = h3_websocket.websocket(h3.quic_port, tls_files[0], b"/api/1/devices", [])
    assert response.status == 403
    assert upstream.since(mark) == []
