"""Hostile request targets, on listeners with Envoy's path normalization on (as shipped) and off.

Whatever Envoy does first, the upstream must never receive a path outside an enabled prefix,
nor a non-canonical one, and nothing may answer 5xx. With normalization off the filter sees
the target as sent and must refuse it with 400 (SPEC rule 6).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import policy
from clients import H2Connection, StreamReset, exchange, h1_request, http1, target_of
from hostile_paths import HOSTILE


def assert_nothing_escaped(listener, received: list[dict], sent: bytes) -> None:
    for entry in received:
        path, _ = policy.split_target(target_of(entry))
        assert policy.forwardable(path, listener.prefixes), f"{sent!r} reached the upstream as {path!r}"


@pytest.mark.parametrize("row", HOSTILE, ids=str)
def test_hostile_target_over_http1(upstream, any_listener, row):
    mark = upstream.mark()
    response = http1(any_listener.port, h1_request("GET", row.target))
    received = upstream.since(mark)
    assert response.status < 500, response
    assert_nothing_escaped(any_listener, received, row.target)
    if any_listener.raw and row.raw_status is not None:
        assert response.status == row.raw_status, response
        assert received == []


def h2_status(port: int, path: bytes) -> int | None:
    with H2Connection(port) as conn:
        try:
            return conn.request("GET", path).status
        except (StreamReset, ConnectionError):
            return None  # Envoy's HTTP/2 codec refused the header block: nothing was forwarded


def test_hostile_paths_over_http2(upstream, any_listener):
    """The same bytes as an HTTP/2 :path, which HPACK carries without any request-line parsing.

    Sent concurrently, one connection each: Envoy drops a connection whose header block its
    codec refuses only after its delayed-close timeout (1 s), which would add up row by row.
    """
    mark = upstream.mark()
    with ThreadPoolExecutor(max_workers=len(HOSTILE)) as pool:
        statuses = list(pool.map(lambda row: h2_status(any_listener.port, row.target), HOSTILE))
    received = upstream.since(mark)
    assert_nothing_escaped(any_listener, received, b"(any of the rows)")
    errors = [(str(row), status) for row, status in zip(HOSTILE, statuses) if status is not None and status >= 500]
    if any_listener.raw:
        errors += [
            (str(row), status)
            for row, status in zip(HOSTILE, statuses)
            if row.raw_status is not None and status not in (None, row.raw_status)
        ]
        assert received == []
    assert errors == []


def test_plain_connect_is_refused(upstream, any_listener):
    """A CONNECT tunnel (no :protocol) has no path to judge: it must never reach the upstream."""
    mark = upstream.mark()
    response = http1(any_listener.port, b"CONNECT evil.example:443 HTTP/1.1\r\nhost: evil.example:443\r\n\r\n")
    assert 400 <= response.status < 500
    with H2Connection(any_listener.port) as conn:
        stream_id = conn.send_headers([(b":method", b"CONNECT"), (b":authority", b"evil.example:443")], False)
        try:
            status = conn.read_head(stream_id).status
        except (StreamReset, ConnectionError):
            status = None
    assert status is None or 400 <= status < 500
    assert upstream.since(mark) == []


QUERIES = [
    b"?next=/../admin",
    b"?p=%2e%2e%2f%2e%2e%2fadmin&q=%00&r=a;b",
    b"?x=..\\..&y=%252e&z=%c0%ae",
    b"?a=1&a=2&&=&b",
    b"?redirect=//evil.example/%2F",
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.decode())
def test_query_is_forwarded_as_sent(upstream, any_listener, proto, query):
    """Rule 6 judges the path only; the query reaches the upstream byte for byte."""
    target = b"/api/1/sessions/1" + query
    response, received = exchange(upstream, any_listener.port, proto, "GET", target)
    assert response.status == 200
    assert [target_of(e) for e in received] == [target]


# Refused one decode deeper, whatever Envoy's normalization: it leaves `%25` escapes alone,
# so on every listener these reach the filter and get its 400.
DOUBLE_DECODE = [
    b"/api/1/devices/..%25c0%25af..%25c0%25afetc/passwd",
    b"/static/%25c0%25ae%25c0%25ae/%25c0%25ae%25c0%25ae/etc/passwd",
    b"/api/1/devices/..%25c1%259c..%25c1%259cetc/passwd",
    b"/api/1/devices/%25e0%2580%25ae",
    b"/api/1/devices/x%2500.txt",
    b"/api/1/devices/%25%63%30%25%61%65",
]


@pytest.mark.parametrize("target", DOUBLE_DECODE, ids=lambda t: t.decode()[-30:])
def test_double_decodes_are_refused_with_400_on_every_listener(upstream, any_listener, target):
    mark = upstream.mark()
    response = http1(any_listener.port, h1_request("GET", target))
    assert response.status == 400, response
    assert upstream.since(mark) == []
