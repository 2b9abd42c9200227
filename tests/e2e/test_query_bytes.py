"""A query byte no HTTP/1.1 request line may carry (control, space, DEL, raw 0x80-0xff) gets
400 from the filter on every route, over HTTP/2 too, whose codec lets such bytes through
(SPEC rule 6). The same query percent-encoded is data: forwarded byte for byte."""

from __future__ import annotations

import pytest

import ops
from clients import H2Connection, StreamReset, h1_request, http1, target_of

# (role, kind, target): one per kind of route; each target is forwarded (or rewritten)
# once its query's odd bytes are percent-encoded.
ROUTES = [
    ("external", "allowed", b"/api/1/devices?\x80/../x"),
    ("external", "opaque", b"/proxy/1/universal/com/x/https:/cart;jsessionid=A1?\xc0\xae/../x"),
    ("external", "websocket", b"/sockets/1/x?t=\x80/../x"),
    ("internal", "spa", b"/sdk-js/?\xc0\xae/../x"),
    ("internal", "allowed", b"/api/1/agents?q=\xff"),
    ("internal", "websocket", b"/sockets/1/x?\xe9"),
]


def encoded(target: bytes) -> bytes:
    path, _, query = target.partition(b"?")
    return path + b"?" + b"".join(b"%%%02X" % b if b < 0x21 or b > 0x7E else bytes([b]) for b in query)


def h2_send(port: int, kind: str, target: bytes) -> int:
    with H2Connection(port) as conn:
        if kind == "websocket":
            return conn.websocket(target).response.status
        return conn.request("GET", target).status


def listener_of(request, role: str, normalized: bool):
    return request.getfixturevalue(f"{role}_norm" if normalized else role)


@pytest.mark.parametrize("normalized", [False, True], ids=["as-shipped", "normalized"])
@pytest.mark.parametrize("role, kind, target", ROUTES, ids=lambda v: v if isinstance(v, str) else None)
def test_http2_query_byte_gets_400_and_reaches_nothing(request, upstream, role, kind, target, normalized):
    listener = listener_of(request, role, normalized)
    mark = upstream.mark()
    assert h2_send(listener.port, kind, target) == 400
    assert upstream.since(mark) == []
    # The same query, percent-encoded, is forwarded as sent (SPA: behind /index.html).
    good = encoded(target)
    mark = upstream.mark()
    assert h2_send(listener.port, kind, good) == 200
    expected = b"/index.html?" + good.partition(b"?")[2] if kind == "spa" else good
    assert [target_of(e) for e in upstream.since(mark)] == [expected]


@pytest.mark.parametrize("role, kind, target", ROUTES, ids=lambda v: v if isinstance(v, str) else None)
def test_http1_codec_refuses_the_same_targets(upstream, request, role, kind, target):
    listener = listener_of(request, role, normalized=False)
    headers = [(b"upgrade", b"websocket"), (b"connection", b"upgrade")] if kind == "websocket" else []
    mark = upstream.mark()
    assert http1(listener.port, h1_request("GET", target, headers)).status == 400
    assert upstream.since(mark) == []


def test_refusal_is_logged_and_counted_with_its_reason(external):
    envoy = external.envoy
    before = ops.firewall_counters(envoy)
    mark = envoy.log_mark()
    path = ops.unique(b"/api/1/devices")
    with H2Connection(external.port) as conn:
        assert conn.request("GET", path + b"?logged=\x80").status == 400
        # The connection stays usable: the filter answered, the codec did not reset.
        assert conn.request("GET", path + b"?logged=%80").status == 200
    line = ops.wait_for_filter_line(envoy, mark, "query_byte")
    assert line.text == f'cobrowse-l7-firewall[external]: rejected query_byte: GET "{path.decode()}?logged=\\x80"'
    # The refusal was logged before the second request was sent: once that one's line is
    # there, so is the refusal's.
    lines = ops.wait_for_access(envoy, mark, path.decode(), count=2)
    (access,) = [a for a in lines if a.status == 400]
    assert access.decision == "rejected:query_byte"
    after = ops.firewall_counters(envoy)
    key = ops.sample("cobrowse_l7fw_rejected", cobrowse_l7fw_listener="external")
    assert after.get(key, 0) - before.get(key, 0) == 1


@pytest.mark.parametrize("byte", [0x01, 0x20, 0x7F], ids=hex)
def test_control_byte_in_the_query_never_reaches_the_upstream(upstream, external, byte):
    """Envoy's HTTP/2 codec refuses a raw control byte, space or DEL before any filter (it
    closes the connection); should it ever let one through, the filter answers 400."""
    mark = upstream.mark()
    try:
        status = h2_send(external.port, "allowed", b"/api/1/devices?a=" + bytes([byte]))
    except (StreamReset, ConnectionError):
        status = None
    assert status in (400, None)
    assert upstream.since(mark) == []
