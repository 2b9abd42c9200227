"""Limits and timeouts of the shipped listeners, each shown by what a client meets.

Values a test cannot wait for or reach (5 min, 1 h, 2 GiB, 10,000 connections) are shrunk
by settings.py in a copy of the shipped config that keeps its structure; the others are the
shipped values themselves.
"""

from __future__ import annotations

import socket
import time

import h2.errors
import h2.events
import h2.settings
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import settings
from clients import TIMEOUT, H1Connection, H2Connection, StreamReset, exchange, h1_request
from conftest import Listener, shipped
from processes import render

# --- request headers --------------------------------------------------------------------

HEADERS_TIMEOUT = 10  # request_headers_timeout in envoy/*.yaml


def test_slow_request_headers_are_cut_off(upstream, plain):
    """A client that never finishes its headers is answered 408 and dropped after
    request_headers_timeout, where it would otherwise hold the connection for good."""
    before = plain.stat(f"http.{plain.role}.downstream_rq_header_timeout")
    mark = upstream.mark()
    with socket.create_connection(("127.0.0.1", plain.port), timeout=HEADERS_TIMEOUT * 3) as sock:
        sock.sendall(b"GET /api/1/devices/x HTTP/1.1\r\nhost: firewall.test\r\nx-slow: ")
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except TimeoutError:
            pytest.fail(f"still open after {HEADERS_TIMEOUT * 3} s")
    assert data.startswith(b"HTTP/1.1 408"), data[:80]
    assert plain.stat(f"http.{plain.role}.downstream_rq_header_timeout") == before + 1
    assert upstream.since(mark) == []


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_request_headers_over_60_kib_are_refused(upstream, plain, proto):
    mark = upstream.mark()
    fits = [(b"x-big", b"b" * (56 * 1024))]
    response, received = exchange(upstream, plain.port, proto, "GET", b"/api/1/devices/x", headers=fits)
    assert response.status == 200 and len(received) == 1
    mark = upstream.mark()
    too_big = [(b"x-big", b"b" * (61 * 1024))]
    try:
        status = exchange(upstream, plain.port, proto, "GET", b"/api/1/devices/x", headers=too_big)[0].status
    except (StreamReset, ConnectionError, OSError) as error:
        status = repr(error)
    if proto == "h1":
        assert status == 431
    else:
        # HTTP/2: the codec refuses the header block (stream reset or connection closed).
        assert not isinstance(status, int) or status == 431, status
    assert upstream.since(mark) == []


# --- HTTP/2 -----------------------------------------------------------------------------


def test_http2_settings_limit_streams_and_windows(plain):
    with H2Connection(plain.port) as conn:
        while not conn.remote_settings_seen:
            conn._pump()
        remote = conn.conn.remote_settings
        assert remote.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS) == 100
        assert remote.get(h2.settings.SettingCodes.INITIAL_WINDOW_SIZE) == 64 * 1024
        # The connection window: 64 KiB at the start, raised by Envoy's first WINDOW_UPDATE.
        deadline = time.monotonic() + TIMEOUT
        while conn.conn.outbound_flow_control_window < 1024 * 1024 and time.monotonic() < deadline:
            stream = conn.send_headers(
                [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"a"), (b":path", b"/api/1/devices")],
                end_stream=True,
            )
            conn.read_head(stream)
        assert conn.conn.outbound_flow_control_window == 1024 * 1024


def test_http2_client_opening_more_than_100_streams_is_limited(upstream, plain):
    """101 requests left open, sent before Envoy's SETTINGS could be read: the 101st is refused."""
    with H2Connection(plain.port) as conn:
        streams = []
        for i in range(101):
            stream_id = conn.conn.get_next_available_stream_id()
            conn.conn.send_headers(
                stream_id,
                [
                    (b":method", b"POST"),
                    (b":scheme", b"http"),
                    (b":authority", b"firewall.test"),
                    (b":path", b"/api/1/sessions/%d" % i),
                    (b"content-length", b"1"),
                ],
                end_stream=False,
            )
            streams.append(stream_id)
        conn.flush()
        resets = []
        deadline = time.monotonic() + TIMEOUT
        while not resets and time.monotonic() < deadline:
            conn._pump()
            resets = [s for s in streams if any(isinstance(e, h2.events.StreamReset) for e in conn.pending.get(s, []))]
        assert resets == [streams[-1]]
        (reset,) = [e for e in conn.pending[streams[-1]] if isinstance(e, h2.events.StreamReset)]
        assert reset.error_code == h2.errors.ErrorCodes.REFUSED_STREAM
        # The first 100 are served once their bodies arrive.
        for stream_id in streams[:100]:
            conn.send_data(stream_id, b"x", end_stream=True)
        assert all(conn.read_head(s).status == 200 for s in streams[:100])


# --- idle timeouts ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def short(start_envoy, upstream):
    config = settings.short_timeouts(shipped("external", upstream))
    envoy = start_envoy("external_short_timeouts", config)
    return Listener("external", envoy.ports["external"], envoy)


def test_a_stalled_request_is_reset_after_the_stream_idle_timeout(upstream, short):
    mark = upstream.mark()
    with H1Connection(short.port) as conn:
        conn.sock.settimeout(settings.STREAM_IDLE * 10)
        # Headers promise a body that never comes.
        conn.send(h1_request("POST", b"/api/1/sessions/1", [(b"content-length", b"10")]))
        response = conn.read_response()
    assert response.status == 408
    assert short.stat("http.external.downstream_rq_idle_timeout") >= 1
    assert len(upstream.since(mark)) <= 1  # forwarded headers, then reset


def test_a_quiet_websocket_outlives_the_stream_idle_timeout(short):
    uri = f"ws://127.0.0.1:{short.port}/sockets/1/quiet"
    with connect(uri, open_timeout=10, close_timeout=0.2, ping_interval=None) as ws:
        time.sleep(settings.STREAM_IDLE * 2)
        ws.send("still here")
        assert ws.recv(timeout=10) == "still here"


def test_a_websocket_idle_past_its_route_timeout_is_closed(short):
    uri = f"ws://127.0.0.1:{short.port}/sockets/1/forgotten"
    with connect(uri, open_timeout=10, close_timeout=0.2, ping_interval=None) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=settings.SOCKET_IDLE * 3)


def test_an_idle_connection_is_closed_after_the_connection_idle_timeout(short):
    with H1Connection(short.port) as conn:
        conn.sock.settimeout(settings.CONNECTION_IDLE * 10)
        assert conn.request(h1_request("GET", b"/api/1/devices/x")).status == 200
        assert conn.sock.recv(1) == b""


# --- overload manager and connection limits ---------------------------------------------


def test_heap_overload_stops_new_requests(start_envoy, upstream):
    config = settings.tiny_heap(shipped("external", upstream))
    envoy = start_envoy("external_tiny_heap", config)
    listener = Listener("external", envoy.ports["external"], envoy)
    deadline = time.monotonic() + TIMEOUT
    actions = ("envoy.overload_actions.shrink_heap", "envoy.overload_actions.stop_accepting_requests")
    names = [f"overload.{a}.active" for a in actions]
    while time.monotonic() < deadline and not all(listener.stat(n) == 1 for n in names):
        time.sleep(0.1)
    assert [listener.stat(n) for n in names] == [1, 1]
    mark = upstream.mark()
    response, _ = exchange(upstream, listener.port, "h1", "GET", b"/api/1/devices/x")
    assert response.status == 503
    assert upstream.since(mark) == []


def test_listener_connection_limit(start_envoy, upstream):
    config = settings.few_connections(shipped("external", upstream))
    envoy = start_envoy("external_few_connections", config)
    port = envoy.ports["external"]
    held = [H1Connection(port) for _ in range(settings.LISTENER_CONNECTIONS)]
    try:
        for conn in held:
            assert conn.request(h1_request("GET", b"/api/1/devices/x")).status == 200
        with H1Connection(port) as extra:
            with pytest.raises((ConnectionError, OSError)):
                extra.request(h1_request("GET", b"/api/1/devices/x"))
    finally:
        for conn in held:
            conn.close()


# --- buffer limits ----------------------------------------------------------------------

BODY = b"a" * (600 * 1024)  # well under Envoy's default buffer limit (1 MiB), far over 32 KiB


def small_window_socket(port: int) -> socket.socket:
    """A client that reads nothing and keeps a tiny receive buffer, so Envoy must hold the rest."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    return sock


def wait_for_stat(listener: Listener, name: str, above: int) -> int:
    deadline = time.monotonic() + TIMEOUT
    while (value := listener.stat(name)) <= above and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_a_client_that_does_not_read_makes_envoy_stop_at_32_kib(plain):
    """The upstream's 600 KiB answer to a client that reads nothing: Envoy stops reading the
    upstream once 32 KiB wait for the client (listener per_connection_buffer_limit_bytes)."""
    name = "cluster.cobrowse.upstream_flow_control_paused_reading_total"
    before = plain.stat(name)
    with small_window_socket(plain.port) as sock:
        sock.sendall(h1_request("POST", b"/api/1/devices/x", [], BODY))  # the demo upstream echoes it
        assert wait_for_stat(plain, name, before) > before


@pytest.fixture(scope="module")
def sink_listener(start_envoy, upstream):
    """The shipped external listener in front of an upstream that accepts and never reads."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    config = shipped("external", upstream)
    endpoint = render.cluster(config)["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    endpoint["endpoint"]["address"]["socket_address"]["port_value"] = server.getsockname()[1]
    envoy = start_envoy("external_sink", config)
    yield Listener("external", envoy.ports["external"], envoy), server, accepted
    for sock in accepted:
        sock.close()
    server.close()


def test_an_upstream_that_does_not_read_makes_envoy_stop_at_32_kib(sink_listener):
    """A 600 KiB upload to an upstream that reads nothing: Envoy stops reading the client once
    32 KiB wait for the upstream (cluster per_connection_buffer_limit_bytes)."""
    listener, server, accepted = sink_listener
    name = "cluster.cobrowse.upstream_flow_control_backed_up_total"
    before = listener.stat(name)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=TIMEOUT) as sock:
        sock.setblocking(False)
        request = h1_request("POST", b"/api/1/devices/x", [], BODY)
        try:
            sock.send(request)
        except BlockingIOError:
            pass
        server.settimeout(TIMEOUT)
        accepted.append(server.accept()[0])
        assert wait_for_stat(listener, name, before) > before
