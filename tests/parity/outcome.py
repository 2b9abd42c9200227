"""What one row got on one protocol, and how the suite names it.

A response is the filter's own when it is one of the filter's local replies, byte for byte
(status, `content-type: text/plain; charset=utf-8`, body): Envoy's codecs and router answer
with other bodies (`text/plain`, `Bad Request` without a newline), so a refusal by Envoy is
never mistaken for the filter's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import policy
from clients import target_of

FILTER_TYPE = b"text/plain; charset=utf-8"
FILTER_BODIES = {400: b"Bad Request\n", 403: b"Forbidden\n", 405: b"Method Not Allowed\n"}
TAG = "x-parity-row"  # names the pass and the row on every request, read back from the upstream log


@dataclass
class Seen:
    status: int | None = None  # None: no response at all
    how: str = ""  # without a response: "reset 0x..", "closed ..", "timeout"
    content_type: bytes | None = None
    length: int | None = None  # the response's content-length (bodies of HEAD answers are empty)
    received: list[dict] = field(default_factory=list)  # what the upstream logged for this row

    @property
    def filter_reply(self) -> bool:
        body = FILTER_BODIES.get(self.status or 0)
        return body is not None and self.content_type == FILTER_TYPE and self.length == len(body)

    @property
    def forwarded(self) -> bool:
        return bool(self.received)

    def decision(self) -> str | None:
        """The filter's decision as the client and the upstream see it; None when the
        request never got to the filter (a codec, or Envoy's normalization, answered)."""
        if self.forwarded:
            return "forwarded " + " ".join(escaped(target_of(e)) for e in self.received)
        if self.filter_reply:
            return f"filter {self.status}"
        return None

    def envoy_outcome(self) -> str:
        """How Envoy answered instead of the filter: its own status, a reset, a close."""
        return f"envoy {self.status}" if self.status is not None else self.how


def escaped(data: bytes) -> str:
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else f"\\x{b:02x}" for b in data)


def inside(listener, entry: dict) -> str | None:
    """Why an upstream request breaks the invariant, or None: it must be inside an enabled
    prefix (canonical, or data below an opaque one), with a query HTTP/1.1 could carry."""
    got = target_of(entry)
    path, _ = policy.split_target(got)
    if not policy.covered(path, listener.prefixes):
        return f"{escaped(got)}: outside every enabled prefix"
    if not policy.forwardable(path, listener.prefixes):
        return f"{escaped(got)}: neither canonical nor proxied data"
    if not policy.query_ok(got):
        return f"{escaped(got)}: a query byte HTTP/1.1 refuses"
    return None
