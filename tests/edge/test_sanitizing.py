"""Headers a client must not control: Envoy's x-envoy-* request headers, X-Forwarded-*,
names with underscores. The shipped listeners take the client's address from the TCP peer
(use_remote_address) and trust no address as internal (internal_address_config unset), so
nothing here steers Envoy.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clients import StreamReset, echo_headers, exchange
from conftest import Listener, shipped
from processes import render
from tls_clients import send

FORGED = "10.1.2.3"

# Envoy's header-sanitizing list ("HTTP header sanitizing"), plus x-envoy-original-path
# (CVE-2023-27487) and X-Forwarded-Host, with values a client would forge.
ENVOY_HEADERS = [
    (b"x-envoy-decorator-operation", b"forged-operation"),
    (b"x-envoy-downstream-service-cluster", b"forged-cluster"),
    (b"x-envoy-downstream-service-node", b"forged-node"),
    (b"x-envoy-expected-rq-timeout-ms", b"1"),
    (b"x-envoy-external-address", FORGED.encode()),
    (b"x-envoy-force-trace", b"true"),
    (b"x-envoy-internal", b"true"),
    (b"x-envoy-ip-tags", b"forged-tag"),
    (b"x-envoy-max-retries", b"3"),
    (b"x-envoy-retry-grpc-on", b"unavailable"),
    (b"x-envoy-retry-on", b"5xx"),
    (b"x-envoy-upstream-alt-stat-name", b"forged-stat"),
    (b"x-envoy-upstream-rq-per-try-timeout-ms", b"1"),
    (b"x-envoy-upstream-rq-timeout-alt-response", b"204"),
    (b"x-envoy-upstream-rq-timeout-ms", b"1"),
    (b"x-envoy-original-path", b"/api/1/agents"),
    (b"x-forwarded-client-cert", b"By=spiffe://forged;Hash=00"),
    (b"x-forwarded-host", b"evil.example"),
]
FORWARDED = [(b"x-forwarded-for", FORGED.encode()), (b"x-forwarded-proto", b"https"), (b"x-request-id", b"forged-id")]


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_client_sent_envoy_headers_never_reach_the_upstream(upstream, plain, proto):
    response, received = exchange(
        upstream, plain.port, proto, "GET", b"/api/1/devices/x", headers=ENVOY_HEADERS + FORWARDED
    )
    assert response.status == 200
    (entry,) = received
    got = {n.decode(): v.decode() for n, v in echo_headers(entry)}
    leaked = {n.decode(): got[n.decode()] for n, v in ENVOY_HEADERS if got.get(n.decode()) == v.decode()}
    assert leaked == {}
    # Envoy's own values replace the client's.
    assert got["x-forwarded-proto"] == "http"
    assert got["x-request-id"] != "forged-id"
    assert got["x-envoy-external-address"] == "127.0.0.1"


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_forged_forwarded_for_is_not_the_client_address(upstream, plain, proto):
    """The upstream learns the TCP peer's address; a forged X-Forwarded-For stays an earlier,
    untrusted hop and makes nothing internal."""
    headers = [(b"x-forwarded-for", FORGED.encode()), (b"x-envoy-internal", b"true")]
    response, (entry,) = exchange(upstream, plain.port, proto, "GET", b"/api/1/devices/x", headers=headers)
    assert response.status == 200
    got = dict((n.decode(), v.decode()) for n, v in echo_headers(entry))
    assert got["x-envoy-external-address"] == "127.0.0.1"
    hops = [hop.strip() for hop in got["x-forwarded-for"].split(",")]
    # Envoy appends the peer (a loopback peer is written as Envoy's own host address).
    assert len(hops) == 2 and hops[0] == FORGED and hops[-1] != FORGED
    assert "x-envoy-internal" not in got


@pytest.mark.parametrize("name", [b"x_forwarded_for", b"x_cobrowse_tenant", b"_"])
def test_header_names_with_underscores_are_refused(upstream, plain, name):
    mark = upstream.mark()
    response, _ = exchange(upstream, plain.port, "h1", "GET", b"/api/1/devices/x", headers=[(name, b"1")])
    assert response.status == 400
    try:
        status = exchange(upstream, plain.port, "h2", "GET", b"/api/1/devices/x", headers=[(name, b"1")])[0].status
    except (StreamReset, ConnectionError):
        status = None  # HTTP/2: Envoy resets the stream
    assert status in (None, 400)
    assert upstream.since(mark) == []


class Failing(BaseHTTPRequestHandler):
    """An upstream that answers every request 503 and counts them."""

    count = 0
    lock = threading.Lock()

    def do_GET(self):  # noqa: N802 (http.server's naming)
        with Failing.lock:
            Failing.count += 1
        body = b"down\n"
        self.send_response(503)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def failing_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def in_front_of(config: dict, port: int) -> dict:
    endpoint = render.cluster(config)["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    endpoint["endpoint"]["address"]["socket_address"]["port_value"] = port
    return config


@pytest.fixture(scope="module", params=["external", "internal"])
def failing_listener(request, start_envoy, upstream, failing_upstream):
    role = request.param
    envoy = start_envoy(f"{role}_failing", in_front_of(shipped(role, upstream), failing_upstream))
    return Listener(role, envoy.ports[role], envoy)


RETRY_HEADERS = [(b"x-envoy-max-retries", b"5"), (b"x-envoy-retry-on", b"5xx,reset,connect-failure")]


@pytest.mark.parametrize("forged", [False, True], ids=["no_xff", "forged_xff"])
@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_retry_headers_are_not_honoured(failing_listener, proto, forged):
    """x-envoy-max-retries with x-envoy-retry-on: 5xx against an upstream that fails: one
    attempt. Without an X-Forwarded-For of its own, a loopback client is the request's only
    hop, the case in which Envoy asks whether that address is internal."""
    headers = RETRY_HEADERS + ([(b"x-envoy-internal", b"true"), (b"x-forwarded-for", FORGED.encode())] if forged else [])
    before = Failing.count
    response = send(failing_listener.port, None, proto, "GET", b"/api/1/devices/x", headers)
    assert response.status == 503
    assert Failing.count - before == 1
    assert failing_listener.stat(f"cluster.{render.CLUSTER}.upstream_rq_retry") == 0



@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_a_client_without_forwarded_for_is_external(upstream, plain, proto):
    """A loopback client that sends no X-Forwarded-For is the request's only hop: Envoy names
    it the external address and does not mark the request internal."""
    response, (entry,) = exchange(upstream, plain.port, proto, "GET", b"/api/1/devices/x")
    assert response.status == 200
    got = {n.decode(): v.decode() for n, v in echo_headers(entry)}
    assert got["x-envoy-external-address"] == "127.0.0.1"
    assert "x-envoy-internal" not in got


@pytest.mark.parametrize(
    "ranges",
    [[], [{"address_prefix": "127.0.0.0", "prefix_len": 8}]],
    ids=["empty_cidr_ranges", "loopback"],
)
def test_a_trusted_address_would_steer_envoy(start_envoy, upstream, failing_upstream, ranges):
    """Why internal_address_config stays unset: set to trust loopback, or even set with an
    empty cidr_ranges (Envoy then falls back to trusting RFC 1918 and loopback), the same
    retry headers buy a loopback client five retries."""
    config = in_front_of(shipped("external", upstream), failing_upstream)
    for hcm in render.connection_managers(config):
        hcm["internal_address_config"] = {"cidr_ranges": ranges}
    envoy = start_envoy(f"external_internal_ranges_{len(ranges)}", config)
    before = Failing.count
    assert send(envoy.ports["external"], None, "h1", "GET", b"/api/1/devices/x", RETRY_HEADERS).status == 503
    assert Failing.count - before == 6


def test_a_trusted_hop_count_believes_the_header(start_envoy, upstream):
    """Why xff_num_trusted_hops stays 0 unless a load balancer really sits in front: set to 1,
    the forged X-Forwarded-For becomes the client address the upstream is told."""
    config = shipped("external", upstream)
    for hcm in render.connection_managers(config):
        hcm["xff_num_trusted_hops"] = 1
    envoy = start_envoy("external_one_trusted_hop", config)
    headers = [(b"x-forwarded-for", FORGED.encode())]
    response, (entry,) = exchange(upstream, envoy.ports["external"], "h1", "GET", b"/api/1/devices/x", headers=headers)
    assert response.status == 200
    got = {n.decode(): v.decode() for n, v in echo_headers(entry)}
    assert got["x-envoy-external-address"] == FORGED
