"""The product contract (SPEC.md) restated as a test oracle, independent of the filter's code."""

from __future__ import annotations

import re

# Built-in groups: prefix -> WebSocket allowed.
GROUPS: dict[str, dict[str, bool]] = {
    "sdk": {"/api/1/devices": False, "/api/1/sessions": False, "/sockets/1/": True},
    "universal": {"/proxy/1/universal": False},
    "sdk_pinning": {"/sdk-js/": False},
    "ai_sdk": {"/api/1/virtualagents": False},
    "mcp": {"/virtual-agent/1/mcp": False},
    "agent": {"/api/1/": False, "/proxy/1/": False, "/recording/1/": False, "/sockets/1/": True},
    "frontend": {"/index.html": False, "/favicon.png": False, "/apps/": False, "/static/": False},
}

EXTERNAL_GROUPS = ["sdk", "universal", "sdk_pinning", "ai_sdk"]
INTERNAL_GROUPS = ["agent", "frontend"]


def prefixes(groups: list[str]) -> list[str]:
    return sorted({p for g in groups for p in GROUPS[g]})


def role_groups(role: str) -> list[str]:
    """The groups the shipped config of a role (external, internal) enables."""
    return EXTERNAL_GROUPS if role == "external" else INTERNAL_GROUPS


class OfRole:
    """For a listener of a shipped role (`self.role`): the groups it enables, their prefixes."""

    role: str

    @property
    def groups(self) -> list[str]:
        return role_groups(self.role)

    @property
    def prefixes(self) -> list[str]:
        return prefixes(self.groups)


def covers(prefix: str, path: bytes) -> bool:
    """Segment-boundary prefix match; a trailing-slash prefix also covers the bare directory."""
    p = prefix.encode()
    if p.endswith(b"/"):
        return path.startswith(p) or path == p[:-1]
    return path == p or path.startswith(p + b"/")


def covered(path: bytes, enabled: list[str]) -> bool:
    return any(covers(p, path) for p in enabled)


_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")


def _decoded_once(path: bytes) -> list[tuple[int, bool]]:
    """The path after one percent-decode, each byte marked with whether it was escaped."""
    out, i = [], 0
    while i < len(path):
        m = _PCT.match(path, i)
        if m:
            out.append((int(m.group(1), 16), True))
            i = m.end()
        else:
            out.append((path[i], False))
            i += 1
    return out


def _double_encoded(path: bytes) -> bool:
    """An escaped `%` whose next two characters, read decoded, are 2e, 2f, 5c or 25: a
    second decode would reveal an escaped dot, slash, backslash or percent (`%252e`,
    `%25%32%65`)."""
    once = _decoded_once(path)
    for k, (byte, escaped) in enumerate(once):
        if byte == ord("%") and escaped:
            pair = bytes(b for b, _ in once[k + 1 : k + 3]).lower()
            if pair in (b"2e", b"2f", b"5c", b"25"):
                return True
    return False


# Code points whose compatibility normalization (NFKC) is dots only, or a separator.
LOOKALIKE_DOTS = {"\u2024": 1, "\ufe52": 1, "\uff0e": 1, "\u2025": 2, "\ufe30": 2, "\u2026": 3, "\ufe19": 3}
LOOKALIKE_SEPARATORS = "\uff0f\uff3c\ufe68"
_SEPARATORS = re.compile("[/\\\\\uff0f\uff3c\ufe68]")


def _dot_segment(text: str) -> bool:
    """A segment (split on `/`, `\\` and lookalikes, `;parameters` cut) of dots and spaces."""
    for segment in _SEPARATORS.split(text):
        name = segment.split(";")[0]
        if any(c == "." or c in LOOKALIKE_DOTS for c in name) and all(
            c in ". " or c in LOOKALIKE_DOTS for c in name
        ):
            return True
    return False


def _strict_decode(layer: bytes) -> bytes | None:
    """One decode in which every `%` is a hex escape of anything but `.`, `/`, `\\`, controls."""
    if layer.count(b"%") != len(_PCT.findall(layer)):
        return None
    encoded = [int(h, 16) for h in _PCT.findall(layer)]
    if any(b in b"./\\" or b < 0x20 or b == 0x7F for b in encoded):
        return None
    return _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), layer)


def is_canonical(path: bytes) -> bool:
    """True when SPEC rule 6 lets the path through (the path alone, without its query):
    canonical as sent, and every layer that decoding reveals canonical too."""
    if not path.startswith(b"/") or b"//" in path:
        return False
    if any(b < 0x21 or b > 0x7E for b in path) or any(c in path for c in b"\\#;"):
        return False
    if any(seg and seg.strip(b".") == b"" for seg in path.split(b"/")):
        return False
    if _double_encoded(path):
        return False
    layer = path
    for _ in range(6):
        decoded = _strict_decode(layer)
        if decoded is None:
            return False
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if any(c in LOOKALIKE_DOTS or c in LOOKALIKE_SEPARATORS for c in text) or _dot_segment(text):
            return False
        if b"%" not in decoded:
            return True
        layer = decoded
    return False


# Prefixes below which the path is data, a proxied third-party URL (SPEC rule 6a).
OPAQUE = {"/proxy/1/universal", "/proxy/1/"}
_LENIENT = re.compile(rb"%([0-9A-Fa-f]{2})|%[uU]([0-9A-Fa-f]{4})")


def _lenient_decode(layer: bytes) -> bytes | None:
    def one(m: re.Match) -> bytes:
        if m.group(1) is not None:
            return bytes([int(m.group(1), 16)])
        return chr(int(m.group(2), 16)).encode("utf-8")

    try:
        return _LENIENT.sub(one, layer)
    except UnicodeEncodeError:  # a %u surrogate
        return None


def opaque_tail_ok(tail: bytes) -> bool:
    """Rule 6a for what follows an opaque prefix: escapes are data, nothing climbs."""
    if any(b < 0x21 or b > 0x7E for b in tail) or any(c in tail for c in b"\\#"):
        return False
    if tail.count(b"%") != len(_PCT.findall(tail)):
        return False
    layer = tail
    for _ in range(5):
        try:
            text = layer.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if any(ord(c) < 0x20 or c == "\x7f" for c in text) or _dot_segment(text):
            return False
        decoded = _lenient_decode(layer)
        if decoded is None:
            return False
        if decoded == layer:
            return True
        layer = decoded
    return False


def forwardable(path: bytes, enabled: list[str]) -> bool:
    """Whether a listener with these prefixes may forward `path` (no query) unchanged."""
    covering = [p for p in enabled if covers(p, path)]
    if not covering:
        return False
    if is_canonical(path):
        return True
    longest = max(covering, key=lambda p: len(p.rstrip("/")))
    bare = longest.rstrip("/").encode()
    return longest in OPAQUE and opaque_tail_ok(path[len(bare) :])


def query_ok(target: bytes) -> bool:
    """Rule 6 on the query: only bytes an HTTP/1.1 request line may carry (printable ASCII,
    no space); escapes are data."""
    _, query = split_target(target)
    return query is None or all(0x21 <= b <= 0x7E for b in query)


def split_target(target: bytes) -> tuple[bytes, bytes | None]:
    path, sep, query = target.partition(b"?")
    return path, (query if sep else None)


def spa_target(sent_target: bytes) -> bytes:
    """Where an SPA fallback sends a GET/HEAD: /index.html plus the original query."""
    _, query = split_target(sent_target)
    return b"/index.html" if query is None else b"/index.html?" + query
