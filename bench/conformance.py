"""Check, before measuring, that each variant answers its mix the way SPEC.md says.

A variant that answers differently is doing a different job, so its speed is
reported next to how many of its answers agree with the expected ones.
"""

import http.client
import ssl
from pathlib import Path

from envoy_config import BODY_INDEX

MIX_DIR = Path(__file__).resolve().parent / "mixes"

# Requests outside the wrk mixes: wrk handles neither 101 nor HEAD, and hostile
# paths would make the mix measure reconnects. These survive Envoy's own
# normalization, so they reach the filter.
UPGRADE_HEADERS = {"connection": "Upgrade", "upgrade": "websocket",
                   "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
HOSTILE = [("GET", "/api/1/devices;jsessionid=abc", {}, "400"),
           ("GET", "/api/1/devices/%c0%ae%c0%ae/admin", {}, "400"),
           ("GET", "/api/1/sessions/%252e%252e/admin", {}, "400"),
           ("GET", "/api/1/devices/%zz", {}, "400")]
EXTRA_CHECKS = {
    "external": [("GET", "/sockets/1/session/5d0c7e2a", UPGRADE_HEADERS, "pass"),
                 ("GET", "/api/1/sessions/5d0c7e2a", UPGRADE_HEADERS, "403"), *HOSTILE],
    "internal": [("GET", "/sockets/1/agent/5d0c7e2a", UPGRADE_HEADERS, "pass"),
                 ("GET", "/dashboard", UPGRADE_HEADERS, "403"),
                 ("HEAD", "/dashboard?tab=1", {}, "spa"), *HOSTILE],
}


def mix_file(mix):
    return MIX_DIR / f"{mix}.txt"


def read_mix(mix):
    """(method, path, expect) for every request line of a mix, and the headers sent with all."""
    entries, headers = [], {}
    for line in mix_file(mix).read_text().splitlines():
        if line.startswith("header "):
            name, _, value = line.removeprefix("header ").partition(":")
            headers[name.strip()] = value.strip()
            continue
        fields = line.split()
        if fields and not line.startswith("#"):
            method, path, expect = fields
            entries.append((method, path, expect))
    return entries, headers


def answer(port, method, path, headers, tls=False):
    """(status, body) of one request on a fresh connection (TLS: the run's own certificate, unchecked)."""
    if tls:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ssl._create_unverified_context())
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, headers={"connection": "close", **headers})
        response = connection.getresponse()
        body = response.read() if method != "HEAD" and response.status != 101 else b""
        return response.status, body.decode(errors="replace")
    finally:
        connection.close()


def agrees(expect, status, body, method, path):
    # Both stand-in routes answer 200; only a request for /index.html, or one
    # rewritten to it, gets the entrypoint's body.
    if expect == "pass":
        return status in (101, 200) and (body != BODY_INDEX or path.split("?")[0] == "/index.html")
    if expect == "spa":
        return status == 200 and (method == "HEAD" or body == BODY_INDEX)
    return str(status) == expect


def check(port, role, mix, tls=False):
    """(agreeing, total, [disagreement descriptions])."""
    entries, common = read_mix(mix)
    requests = {(m, p, tuple(common.items()), e) for m, p, e in entries}
    requests |= {(m, p, tuple(h.items()), e) for m, p, h, e in EXTRA_CHECKS[role]}
    disagreements = []
    for method, path, headers, expect in sorted(requests):
        status, body = answer(port, method, path, dict(headers), tls)
        if not agrees(expect, status, body, method, path):
            kind = " (upgrade)" if dict(headers).get("upgrade") else ""
            disagreements.append(f"{method} {path}{kind}: expected {expect}, got {status}")
    return len(requests) - len(disagreements), len(requests), disagreements
