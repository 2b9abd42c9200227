"""Where the answer to a request depends on the Envoy version, as data.

With the shipped normalization (`normalize_path`, `merge_slashes`), Envoy 1.39 and later strip
path parameters per segment before resolving dot segments, so `..;` and `.;` are dot segments
to them: the filter then judges the resolved path (403 outside the external listener's groups,
an SPA rewrite or a forward below `/api/1/` on the internal one). Before 1.39 Envoy leaves
them alone and the filter refuses the `;` with 400. With normalization off every version
gives the filter's 400 (tests/e2e/test_hostile_paths.py).

Each entry maps the first Envoy version of a behaviour to the answer from then on:
(status, the paths the upstream received). Measured with `make test-matrix`.
"""

from __future__ import annotations

Answer = tuple[int, tuple[str, ...]]

REFUSED: Answer = (400, ())
DENIED: Answer = (403, ())
SUPPORTED_SINCE = (1, 36)


def forwarded(path: str) -> Answer:
    return (200, (path,))


D = "/api/1/devices"

# role -> target -> {first version: answer}
NORMALIZED_ANSWERS: dict[str, dict[bytes, dict[tuple[int, int], Answer]]] = {
    "external": {
        b"/api/1/devices/..;/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/..;/..;/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/x/..;/..;/..;/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/..;x=1/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/.;/x": {(1, 36): REFUSED, (1, 39): forwarded(D + "/x")},
        b"/sockets/1/..;/..;/api/1/agents": {(1, 36): REFUSED, (1, 39): DENIED},
        # Escaped dots are not unescaped by Envoy: the filter refuses them on every version.
        b"/api/1/devices/%2e%2e;/admin": {(1, 36): REFUSED},
    },
    "internal": {
        b"/api/1/devices/..;/admin": {(1, 36): REFUSED, (1, 39): forwarded("/api/1/admin")},
        b"/api/1/devices/..;/..;/admin": {(1, 36): REFUSED, (1, 39): forwarded("/index.html")},
        b"/api/1/devices/x/..;/..;/..;/admin": {(1, 36): REFUSED, (1, 39): forwarded("/index.html")},
        b"/api/1/devices/..;x=1/admin": {(1, 36): REFUSED, (1, 39): forwarded("/api/1/admin")},
        b"/api/1/devices/.;/x": {(1, 36): REFUSED, (1, 39): forwarded(D + "/x")},
        b"/sockets/1/..;/..;/api/1/agents": {(1, 36): REFUSED, (1, 39): forwarded("/api/1/agents")},
        b"/api/1/devices/%2e%2e;/admin": {(1, 36): REFUSED},
    },
}


def expected(answers: dict[tuple[int, int], Answer], version: tuple[int, ...]) -> Answer:
    """The answer of the latest behaviour that began at or before `version`."""
    began = [since for since in answers if since <= version[:2]]
    assert began, f"Envoy {version} is older than every recorded behaviour"
    return answers[max(began)]
