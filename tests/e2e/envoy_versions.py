"""Where the answer to a request depends on the Envoy version, as data.

With Envoy's path normalization on (`normalize_path`, `merge_slashes`: the `*_norm`
listeners; the shipped configs leave it off), Envoy 1.39 and later strip path parameters per
segment before resolving dot segments, so `..;` and `.;` are dot segments to them: the filter
then judges the resolved path (403 outside the external listener's groups, an SPA rewrite or
a forward below `/api/1/` on the internal one). Before 1.39 Envoy leaves them alone and the
filter refuses the `;` with 400. As shipped, every version gives the filter's 400.

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

# listener fixture -> target -> {first version: answer}
ANSWERS: dict[str, dict[bytes, dict[tuple[int, int], Answer]]] = {
    "external_norm": {
        b"/api/1/devices/..;/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/..;/..;/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/x/..;/..;/..;/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/..;x=1/admin": {(1, 36): REFUSED, (1, 39): DENIED},
        b"/api/1/devices/.;/x": {(1, 36): REFUSED, (1, 39): forwarded(D + "/x")},
        b"/sockets/1/..;/..;/api/1/agents": {(1, 36): REFUSED, (1, 39): DENIED},
        # Escaped dots are not unescaped by Envoy: the filter refuses them on every version.
        b"/api/1/devices/%2e%2e;/admin": {(1, 36): REFUSED},
    },
    "internal_norm": {
        b"/api/1/devices/..;/admin": {(1, 36): REFUSED, (1, 39): forwarded("/api/1/admin")},
        b"/api/1/devices/..;/..;/admin": {(1, 36): REFUSED, (1, 39): forwarded("/index.html")},
        b"/api/1/devices/x/..;/..;/..;/admin": {(1, 36): REFUSED, (1, 39): forwarded("/index.html")},
        b"/api/1/devices/..;x=1/admin": {(1, 36): REFUSED, (1, 39): forwarded("/api/1/admin")},
        b"/api/1/devices/.;/x": {(1, 36): REFUSED, (1, 39): forwarded(D + "/x")},
        b"/sockets/1/..;/..;/api/1/agents": {(1, 36): REFUSED, (1, 39): forwarded("/api/1/agents")},
        b"/api/1/devices/%2e%2e;/admin": {(1, 36): REFUSED},
    },
}
# As shipped (normalization off) the filter sees every one of them as sent: 400 everywhere.
for _role in ("external", "internal"):
    ANSWERS[_role] = {target: {(1, 36): REFUSED} for target in ANSWERS[f"{_role}_norm"]}


def expected(answers: dict[tuple[int, int], Answer], version: tuple[int, ...]) -> Answer:
    """The answer of the latest behaviour that began at or before `version`."""
    began = [since for since in answers if since <= version[:2]]
    assert began, f"Envoy {version} is older than every recorded behaviour"
    return answers[max(began)]
