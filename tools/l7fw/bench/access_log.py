"""Writes a synthetic access log in the shipped JSON format (envoy/*.yaml) for measuring
`l7fw audit` on large inputs: SDK, agent and frontend traffic, scanners' hostile paths,
WebSocket upgrades, and many distinct paths (ids), so grouping is exercised too.

    python3 tools/l7fw/bench/access_log.py OUT SIZE_MIB
"""

from __future__ import annotations

import json
import random
import sys

ROUTES = [
    # (method, path pattern, upgrade)
    ("GET", "/api/1/devices/{id}", None),
    ("POST", "/api/1/sessions/{id}/events?seq={n}", None),
    ("GET", "/sockets/1/client/{id}", "websocket"),
    ("GET", "/proxy/1/universal/com/example/shop/{id}", None),
    ("GET", "/sdk-js/{n}/cobrowse.js", None),
    ("GET", "/api/1/agents/{id}", None),
    ("GET", "/api/2/devices/{id}", None),
    ("GET", "/dashboard/sessions/{id}?tab=chat", None),
    ("GET", "/static/app-{n}.js", None),
    ("GET", "/admin/{id}", None),
    ("GET", "/api/1/devices/..%2f{id}", None),
    ("GET", "/api/1/devices;jsessionid={id}", None),
]


def main(out: str, mib: int) -> None:
    rng = random.Random(12)
    limit = mib * 1024 * 1024
    written = 0
    with open(out, "w", encoding="utf-8") as f:
        while written < limit:
            method, pattern, upgrade = rng.choice(ROUTES)
            path = pattern.format(id=rng.randrange(1_000_000), n=rng.randrange(1000))
            line = json.dumps(
                {
                    "start_time": "2026-11-30T12:00:00.000Z",
                    "listener": "external",
                    "method": method,
                    "path": path,
                    "original_path": None,
                    "upgrade": upgrade,
                    "protocol": "HTTP/1.1",
                    "response_code": 200,
                    "response_code_details": "via_upstream",
                    "decision": None,
                    "duration_ms": 1,
                    "upstream_host": "10.0.0.7:8080",
                },
                separators=(",", ":"),
            )
            f.write(line + "\n")
            written += len(line) + 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
