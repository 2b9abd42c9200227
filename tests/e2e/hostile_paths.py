"""Hostile request targets, written byte-exact on the wire by the tests.

One row per target: the bytes, why it is hostile, and the status expected when Envoy's own
path normalization is off (the filter then sees the path as sent and SPEC rule 6 says 400).
`raw_status=None` marks the few targets that Envoy itself rewrites into a canonical path
before any filter runs; those are held to the general invariant only: no 5xx, and nothing
outside an enabled prefix reaches the upstream.

Extend freely: append rows (keep the comment), every test picks them up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hostile:
    target: bytes
    why: str
    raw_status: int | None = 400

    def __str__(self) -> str:
        return repr(self.target)[2:-1][:60]


HOSTILE = [
    # Dot segments, plain.
    Hostile(b"/api/1/devices/../../admin", "dot-dot climbs out of an allowed prefix"),
    Hostile(b"/api/1/devices/./x", "single-dot segment"),
    Hostile(b"/sockets/1/..", "trailing dot-dot on the WebSocket prefix"),
    Hostile(b"/api/1/devicesX/../devices", "dot-dot from a sibling into an allowed prefix"),
    Hostile(b"/index.html/../api/1/agents", "frontend asset then dot-dot into the agent API"),
    Hostile(b"/api/1/devices/..?x=1", "dot-dot before a query"),
    # Percent-encoded dots, every case mix.
    Hostile(b"/api/1/devices/%2e%2e/%2e%2e/admin", "encoded dot-dot, lower case"),
    Hostile(b"/api/1/devices/%2E%2E/%2E%2E/admin", "encoded dot-dot, upper case"),
    Hostile(b"/api/1/devices/%2e./x", "half-encoded dot-dot (%2e.)"),
    Hostile(b"/api/1/devices/.%2E/x", "half-encoded dot-dot (.%2E)"),
    Hostile(b"/%2e%2e/%2e%2e/etc/passwd", "encoded dot-dot at the root"),
    Hostile(b"/sockets/1/%2e%2e/%2e%2e/admin", "encoded dot-dot below the WebSocket prefix"),
    # Encoded separators.
    Hostile(b"/api/1/devices%2f..%2f..%2fadmin", "encoded slash, lower case"),
    Hostile(b"/api/1/devices%2F..%2Fadmin", "encoded slash, upper case"),
    Hostile(b"/static/..%2f..%2fetc/passwd", "encoded slash under a frontend prefix"),
    Hostile(b"/api/1/devices/..%5c..%5cadmin", "encoded backslash"),
    Hostile(b"/api/1/devices/%5C", "encoded backslash, upper case"),
    # Double and triple encoding.
    Hostile(b"/api/1/devices/%252e%252e/admin", "double-encoded dot"),
    Hostile(b"/api/1/devices/%252f", "double-encoded slash"),
    Hostile(b"/api/1/devices/%255c", "double-encoded backslash"),
    Hostile(b"/api/1/devices/%25252f", "triple-encoded slash"),
    Hostile(b"/api/1/devices/%2525", "double-encoded percent"),
    # One decode deeper (IIS double decode, CVE-2001-0333 and CVE-2000-0884).
    Hostile(b"/api/1/devices/..%25c0%25af..%25c0%25afetc/passwd", "double-encoded overlong slash"),
    Hostile(b"/static/%25c0%25ae%25c0%25ae/%25c0%25ae%25c0%25ae/etc/passwd", "double-encoded overlong dot"),
    Hostile(b"/api/1/devices/..%25c1%259c..%25c1%259cetc/passwd", "double-encoded overlong backslash"),
    Hostile(b"/api/1/devices/%25e0%2580%25ae", "double-encoded 3-byte overlong dot"),
    Hostile(b"/api/1/devices/x%2500.txt", "double-encoded NUL"),
    Hostile(b"/api/1/devices/%25%63%30%25%61%65", "overlong dot, hex digits escaped too"),
    Hostile(b"/api/1/devices/..%3b/admin", "escaped semicolon after dot-dot"),
    Hostile(b"/api/1/devices/..%20/admin", "dot-dot with an escaped trailing space"),
    Hostile(b"/api/1/devices/%ef%bc%8e%ef%bc%8e/admin", "fullwidth dots (NFKC '..')"),
    # Below the Universal proxy prefix `;` and `%2F` are data, but nothing climbs.
    Hostile(b"/proxy/1/universal/com/x/https:/..;x/..;x/admin", "proxied URL: dot-dot with parameters"),
    Hostile(b"/proxy/1/universal/com/x/https:/%2e%2e/%2e%2e/admin", "proxied URL: escaped dot-dots"),
    Hostile(b"/proxy/1/universal/com/x/https:/%252e%252e/admin", "proxied URL: double-encoded dot-dots"),
    Hostile(b"/proxy/1/universal/com/x/https:/..%2f..%2fadmin", "proxied URL: dot-dots between escaped slashes"),
    # Malformed or non-UTF-8 percent escapes.
    Hostile(b"/api/1/devices/%c0%ae%c0%ae/admin", "overlong UTF-8 dot"),
    Hostile(b"/api/1/devices/%e0%80%af", "overlong UTF-8 slash"),
    Hostile(b"/api/1/devices/%u002e%u002e", "IIS-style %u escape"),
    Hostile(b"/api/1/devices/%%32%65", "percent followed by an escaped hex digit"),
    Hostile(b"/api/1/devices/%zz", "escape with no hex digits"),
    Hostile(b"/api/1/devices/%", "lone percent at the end"),
    Hostile(b"/api/1/devices/%ff", "escape of a byte that is not UTF-8"),
    # Encoded NUL and controls.
    Hostile(b"/api/1/devices/%00", "encoded NUL"),
    Hostile(b"/api/1/devices/%0a", "encoded LF (log and header injection)"),
    Hostile(b"/api/1/devices/%1f", "encoded control byte"),
    Hostile(b"/api/1/devices/%7f", "encoded DEL"),
    # Separators and characters a backend may treat specially.
    Hostile(b"/api/1/devices\\..\\..\\admin", "raw backslashes"),
    Hostile(b"/api/1/devices;/../admin", "semicolon path parameter then dot-dot"),
    Hostile(b"/api/1/devices;jsessionid=1", "semicolon path parameter"),
    Hostile(b"/api/1/devices/..;/admin", "dot-dot-semicolon (Tomcat)"),
    Hostile(b"/api/1/devices#/../admin", "fragment in the request target"),
    # Slashes.
    Hostile(b"//api/1/devices", "leading double slash (scheme-relative)"),
    Hostile(b"/api/1//devices", "double slash inside"),
    Hostile(b"/admin//api/1/devices", "allowed prefix after a double slash"),
    # Raw bytes the request line should never hold.
    Hostile(b"/api/1/devices/\x00", "raw NUL"),
    Hostile(b"/api/1/devices/\tx", "raw tab"),
    Hostile(b"/api/1/devices/\rx", "raw CR"),
    Hostile(b"/api/1/devices/ x", "raw space (request line splitting)"),
    Hostile(b"/api/1/devices/\x80", "raw byte 0x80"),
    Hostile(b"/api/1/devices/\xff", "raw byte 0xff"),
    Hostile(b"/api/1/devices/\xc3\xa9", "raw non-ASCII UTF-8"),
    Hostile(b"/api/1/devices/\x7f", "raw DEL"),
    # Query bytes no HTTP/1.1 request line may carry (HTTP/2's codec lets 0x80-0xff through).
    Hostile(b"/api/1/devices?\x80/../x", "raw 0x80 in the query"),
    Hostile(b"/sdk-js/?\xc0\xae/../x", "raw overlong dot in the query (an SPA rewrite on the agent listener)"),
    Hostile(b"/sockets/1/x?t=\xff", "raw 0xff in the query below the WebSocket prefix"),
    Hostile(b"/proxy/1/universal/com/x/https:/cart;jsessionid=A1?\xe9", "raw non-ASCII in a proxied page's query"),
    Hostile(b"/api/1/devices?a=\x00", "raw NUL in the query"),
    Hostile(b"/api/1/devices?a b", "raw space in the query (request line splitting)"),
    # Not origin-form.
    Hostile(b"api/1/devices", "no leading slash"),
    Hostile(b"*", "asterisk-form outside OPTIONS"),
    Hostile(b"", "empty request target"),
    Hostile(b"evil.example:443", "authority-form outside CONNECT"),
    Hostile(b"http://other.example/api/1/devices/../../admin", "absolute-form with dot-dot"),
    # Envoy turns absolute-form into origin-form itself; what is left is an ordinary path.
    Hostile(b"http://other.example/admin?q=1", "absolute-form to an uncovered path", raw_status=None),
]
