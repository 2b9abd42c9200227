"""The rows the parity suite sends: a few controls, the end-to-end hostile rows and the path
corpus, once each.

A row is a method, a request target and extra headers, written as the raw request line
(HTTP/1.1) or the raw `:path` (HTTP/2, HTTP/3). Rows with `upgrade: websocket` are
WebSocket handshakes: an HTTP/1.1 upgrade, or extended CONNECT over HTTP/2 and HTTP/3.
A CONNECT row's target is its authority (`:authority`, no `:path`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hostile_paths import HOSTILE
from path_corpus import CORPUS

Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class Row:
    method: str
    target: bytes
    headers: Headers = ()

    @property
    def websocket(self) -> bool:
        return any(n == b"upgrade" and v.lower() == b"websocket" for n, v in self.headers)

    @property
    def key(self) -> str:
        """One line of printable ASCII naming the row, for the expectations table."""
        shown = "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else f"\\x{b:02x}" for b in self.target)
        extra = " (websocket)" if self.websocket else ""
        extra += "".join(f" ({n.decode()})" for n, _ in self.headers if n not in WEBSOCKET_HEADERS)
        if len(shown) > 120:
            shown = f"{shown[:40]}...({len(self.target)} bytes)"
        return f"{self.method} {shown or '(empty)'}{extra}"

    def __str__(self) -> str:
        return self.key if len(self.key) <= 60 else self.key[:52] + "..."


WEBSOCKET_HEADERS = {b"connection", b"upgrade", b"sec-websocket-version", b"sec-websocket-key"}


UPGRADE: Headers = (
    (b"connection", b"upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
)

# Requests the contract lets through or refuses plainly, so that every protocol shows
# forwards, rewrites and WebSockets (the hostile rows and the corpus are mostly refusals).
# No HEAD: aioquic 1.7 closes the connection when a HEAD answer has a content-length
# but no body (H3_MESSAGE_ERROR), a client's limit that would read as Envoy's.
CONTROLS = [
    Row("GET", b"/sockets/1/session?token=abc", UPGRADE),
    Row("GET", b"/sockets/1/x?t=%80%c0%ae", UPGRADE),
    Row("GET", b"/api/1/devices/ws", UPGRADE),
    Row("GET", b"/dashboard/live", UPGRADE),
    Row("GET", b"/api/1/sessions/1?a=1&b=%2e%2e%2f"),
    Row("POST", b"/api/1/devices/1"),
    Row("GET", b"/dashboard/sessions?tab=%c3%a9"),
    Row("DELETE", b"/dashboard"),
    Row("GET", b"/admin"),
    # Over Envoy's request-header limit (60 KiB): 431 or a reset, never the filter.
    Row("GET", b"/api/1/devices/" + b"a" * 61_440),
]


def _all() -> list[Row]:
    rows = [*CONTROLS, *(Row("GET", h.target) for h in HOSTILE)]
    rows += [Row(c.method, c.target, tuple(c.headers)) for c in CORPUS]
    seen: set[Row] = set()
    unique = []
    for row in rows:
        if row not in seen:
            seen.add(row)
            unique.append(row)
    return unique


ROWS: list[Row] = _all()
