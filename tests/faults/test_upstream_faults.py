"""Upstream faults: the upstream down (nothing listening), slow (accepts, never answers) or
resetting (accepts, then resets the connection). Clients get Envoy's own answers (503, or 504
from a route timeout), requests the firewall refuses are still refused without reaching
anything, and the firewall's counters and log lines count what it decided, unchanged."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import SimpleNamespace

import pytest

import ops
from clients import H1Connection, h1_request

ALLOWED = [f"/api/1/devices/{n}" for n in range(6)]
REFUSED = [(f"/admin/{n}", 403) for n in range(4)] + [(f"/api/1/devices/%2e%2e/{n}", 400) for n in range(3)]
# The shipped routes set no whole-request deadline (downloads, proxied pages), so a slow
# upstream is cut by stream_idle_timeout after 5 min; with a route timeout, Envoy answers 504.
ROUTE_TIMEOUT = "1s"


@contextlib.contextmanager
def fake_upstream(kind: str):
    """A port where the upstream is `down`, `slow` or `resetting`."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    if kind == "down":
        server.close()
        yield port
        return
    server.listen(64)
    held, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if kind == "resetting":  # SO_LINGER 0: close() sends RST
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                held.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        server.close()
        for conn in held:
            conn.close()


def get(port: int, target: str) -> tuple[int, bytes]:
    with H1Connection(port) as conn:
        response = conn.request(h1_request("GET", target.encode()))
        return response.status, response.body


@pytest.mark.parametrize("kind, status", [("down", 503), ("slow", 504), ("resetting", 503)])
def test_upstream_faults(kind, status, workdir):
    with fake_upstream(kind) as upstream_port:
        config = ops.config("external", SimpleNamespace(port=upstream_port))
        hcm = ops.render.connection_manager(config)
        for vhost in hcm["route_config"]["virtual_hosts"]:
            for route in vhost["routes"]:
                route["route"]["timeout"] = ROUTE_TIMEOUT
        with ops.running(workdir, f"upstream-{kind}", config) as envoy:
            mark = envoy.log_mark()
            answers = {t: get(ops.port(envoy), t) for t in ALLOWED}
            refusals = {t: get(ops.port(envoy), t)[0] for t, _ in REFUSED}
            counters = ops.firewall_counters(envoy)
            access = ops.wait_for_access(envoy, mark, None, len(ALLOWED) + len(REFUSED))
            lines = ops.filter_lines(envoy.log_since(mark))
    print(f"\nupstream {kind}: {sorted({s for s, _ in answers.values()})}, "
          f"details {sorted({a.record['response_code_details'] for a in access if a.status >= 500})}")
    # Envoy's own answer for every allowed request, never the firewall's.
    assert {s for s, _ in answers.values()} == {status}
    assert all(a.decision == "-" for a in access if a.status >= 500)
    assert all(a.record["response_code_details"] == "response_timeout"
               or a.record["response_code_details"].startswith("upstream_reset_before_response_started{")
               for a in access if a.status >= 500)
    # Refused as ever: the firewall answered, nothing was forwarded.
    assert refusals == dict(REFUSED)
    assert all(a.upstream == "-" for a in access if a.status in (400, 403))
    # Counted as decided: forwarded requests are "allowed" whatever the upstream did.
    assert counters[ops.sample("cobrowse_l7fw_allowed", cobrowse_l7fw_listener="external", cobrowse_l7fw_group="sdk")] == len(ALLOWED)
    assert counters[ops.sample("cobrowse_l7fw_denied", cobrowse_l7fw_listener="external")] == 4
    assert counters[ops.sample("cobrowse_l7fw_rejected", cobrowse_l7fw_listener="external")] == 3
    # One line per refusal, none for the upstream's failures.
    refused_lines = [l for l in lines if ": denied " in l.text or ": rejected " in l.text]
    assert len(refused_lines) == 7 and not [l for l in lines if l.level in ("error", "critical")], lines
