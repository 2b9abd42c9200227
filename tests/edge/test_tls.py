"""TLS: both listeners over TLS decide every end-to-end row exactly as in plaintext.

Each row (the routes below every enabled prefix, the uncovered paths, the hostile targets
and the path corpus of tests/e2e) goes to the plaintext and the TLS listener of the same
role, over HTTP/1.1 and HTTP/2; the status (or the codec's reset) and what the upstream
received must be the same. WebSockets go over TLS both ways: HTTP/1.1 Upgrade and HTTP/2
extended CONNECT.
"""

from __future__ import annotations

import ssl
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import policy
from clients import StreamReset, get1, target_of
from hostile_paths import HOSTILE
from path_corpus import CORPUS
from test_hostile_paths import DOUBLE_DECODE, QUERIES
from test_routes import EXTERNAL_DENIED, targets_below
from test_websocket import assert_h1_echoes, assert_h2_echoes
from tls_clients import TlsH1Connection, TlsH2Connection, context, send

TAG = b"x-edge-row"


def rows(listener) -> list[tuple[str, bytes, tuple]]:
    """(method, target, headers) for every row the end-to-end suite sends to this role."""
    table = [("GET", t, ()) for prefix in listener.prefixes for t in targets_below(prefix)]
    table += [("GET", t, ()) for t in EXTERNAL_DENIED]
    table += [("GET", row.target, ()) for row in HOSTILE]
    table += [("GET", t, ()) for t in DOUBLE_DECODE]
    table += [("GET", b"/api/1/sessions/1" + q, ()) for q in QUERIES]
    table += [(row.method, row.target, row.headers) for row in CORPUS]
    return table


def outcome(listener, cert, proto: str, row) -> tuple:
    """(status or how the connection ended, the row's tag); the upstream log tells the rest."""
    method, target, headers = row
    tag = uuid.uuid4().hex.encode()
    try:
        status = send(listener.port, cert, proto, method, target, [*headers, (TAG, tag)]).status
    except StreamReset:
        status = "stream reset"
    except (ConnectionError, OSError, ValueError):
        status = "connection closed"
    return status, tag


def decisions(upstream, listener, cert, proto: str, table) -> list[tuple]:
    mark = upstream.mark()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda row: outcome(listener, cert, proto, row), table))
    received = upstream.since(mark)
    by_tag: dict[str, list[bytes]] = {}
    for entry in received:
        for name, value in entry.get("headers", []):
            if name.lower() == TAG.decode():
                by_tag.setdefault(value, []).append(target_of(entry))
    return [(status, by_tag.get(tag.decode(), [])) for status, tag in results]


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_tls_decides_every_row_as_plaintext(upstream, plain, tls, tls_files, proto):
    table = rows(plain)
    clear = decisions(upstream, plain, None, proto, table)
    secure = decisions(upstream, tls, tls_files[0], proto, table)
    differences = [(row[1], a, b) for row, a, b in zip(table, clear, secure) if a != b]
    # The one difference is Envoy's, not the firewall's: on plaintext its HTTP/1.1 codec
    # refuses an https:// absolute-form target (403 http1.https_url_on_plaintext_connection)
    # before any filter runs; over TLS the filter judges the path. Neither forwards it.
    codec = [d for d in differences if proto == "h1" and d[0].startswith(b"https://") and d[1] == (403, [])]
    assert [d for d in differences if d not in codec] == []
    assert all(tls_status in (400, 403) and received == [] for _, _, (tls_status, received) in codec)
    # And the rows did what the contract says: nothing outside an enabled prefix got through.
    for (_, target, _), (status, received) in zip(table, secure):
        for got in received:
            path, _ = policy.split_target(got)
            assert policy.forwardable(path, tls.prefixes), (target, got)
        assert not (isinstance(status, int) and status >= 500), (target, status)
    assert sum(1 for status, _ in secure if status == 200) > 20, "too few rows allowed: the table is wrong"


def test_alpn_offers_h2_then_http1(tls, tls_files):
    with TlsH2Connection(tls.port, tls_files[0]) as conn:
        assert conn.alpn == "h2"
        assert conn.request("GET", b"/api/1/devices/x").status == 200
    with TlsH1Connection(tls.port, tls_files[0]) as conn:
        assert conn.alpn == "http/1.1"


def test_plaintext_on_the_tls_port_is_refused(upstream, tls):
    """A client that speaks HTTP in the clear to the TLS listener gets nothing through."""
    mark = upstream.mark()
    with pytest.raises((ConnectionError, OSError)):
        get1(tls.port, b"/api/1/devices/x")
    assert upstream.since(mark) == []


def test_forwarded_proto_is_https(upstream, tls, tls_files):
    mark = upstream.mark()
    assert send(tls.port, tls_files[0], "h2", "GET", b"/api/1/devices/x", [(b"x-forwarded-proto", b"http")]).status == 200
    (entry,) = upstream.since(mark)
    headers = {n.lower(): v for n, v in entry["headers"]}
    assert headers["x-forwarded-proto"] == "https"


MESSAGES = ["hello", "héllo ✓", "x" * 70_000, bytes(range(256)) * 400]


def test_websocket_over_tls_http1(upstream, tls, tls_files):
    target = "/sockets/1/session-tls?token=abc"
    mark = upstream.mark()
    assert_h1_echoes(f"wss://localhost:{tls.port}{target}", MESSAGES, ssl=context(tls_files[0], ["http/1.1"]))
    assert [target_of(e) for e in upstream.since(mark)] == [target.encode()]


def test_websocket_over_tls_http2_extended_connect(upstream, tls, tls_files):
    target = b"/sockets/1/session-tls-h2?token=def"
    mark = upstream.mark()
    with TlsH2Connection(tls.port, tls_files[0]) as conn:
        assert conn.alpn == "h2"
        assert_h2_echoes(conn, target, MESSAGES)
    assert [target_of(e) for e in upstream.since(mark)] == [target]


def test_websocket_outside_the_prefix_is_refused_over_tls(upstream, tls, tls_files):
    mark = upstream.mark()
    with TlsH2Connection(tls.port, tls_files[0]) as conn:
        assert conn.websocket(b"/api/1/devices").response.status == 403
    assert upstream.since(mark) == []


def test_an_untrusted_certificate_is_refused_by_a_verifying_client(tls):
    with pytest.raises(ssl.SSLCertVerificationError):
        TlsH1Connection(tls.port, ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
