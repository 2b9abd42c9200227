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


def is_canonical(path: bytes) -> bool:
    """True when SPEC rule 6 lets the path through (the path alone, without its query)."""
    if not path.startswith(b"/") or b"//" in path:
        return False
    if any(b < 0x21 or b > 0x7E for b in path) or any(c in path for c in b"\\#;"):
        return False
    if any(seg in (b".", b"..") for seg in path.split(b"/")):
        return False
    lowered = path.lower()
    if any(e in lowered for e in (b"%2e", b"%2f", b"%5c")) or _double_encoded(path):
        return False
    # Every % starts a two-hex-digit escape.
    if lowered.count(b"%") != len(_PCT.findall(path)):
        return False
    decoded = _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), path)
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return False
    encoded = [int(h, 16) for h in _PCT.findall(path)]
    return not any(b < 0x20 or b == 0x7F for b in encoded)


def split_target(target: bytes) -> tuple[bytes, bytes | None]:
    path, sep, query = target.partition(b"?")
    return path, (query if sep else None)


def spa_target(sent_target: bytes) -> bytes:
    """Where an SPA fallback sends a GET/HEAD: /index.html plus the original query."""
    _, query = split_target(sent_target)
    return b"/index.html" if query is None else b"/index.html?" + query
