"""Path-confusion corpus: request targets from public sources, sent byte-exact by
test_path_corpus.py to every listener (deny and SPA, Envoy normalization on and off).

Each row is (target, method, extra headers, source, note). Rows carry no expected status:
the test holds every row to one invariant (nothing outside an enabled prefix reaches the
upstream, query kept, no 5xx) and derives exact outcomes from the contract where Envoy
cannot have changed the path first (see test_path_corpus.py).

Source tags (generic examples were mapped onto Cobrowse routes: `/app` or `/a/b` became an
allowed prefix such as `/api/1/devices`, `/admin` stays an uncovered path):

  envoy-pu      envoyproxy/envoy test/common/http/path_utility_test.cc: canonicalPath
                (NormalizeValidPaths, NormalizeCasePath, InvalidPaths), mergeSlashes,
                removeQueryAndFragment cases
  istio-norm    istio/istio tests/integration/security/normalization_test.go: NONE, BASE,
                MERGE_SLASHES, DECODE_AND_MERGE_SLASHES, NotNormalized, PercentEncoded, Invalid
  rfc3986       RFC 3986 section 5.4.1 (normal) and 5.4.2 (abnormal) reference resolution
                examples, base `/api/1/devices/c/d;p?q` in place of `http://a/b/c/d;p?q`
  cve-2019-9901 Envoy did not normalize paths: `/info/../private` passed a prefix rule
  cve-2021-29492 Envoy matched `%2F` / `%5C` escaped slashes literally; upstreams decoded them
  cve-2021-32779 Envoy kept a `#fragment` in :path, so prefix and suffix rules misfired
  cve-2026-73511 Envoy security release 2026 q3 (envoyproxy/envoy#46997): path parameters
                stripped per segment, so `/..;/` resolves as Tomcat/Jetty/Spring do
                (the bypass reported in istio/istio#27409)
  cve-2023-27487 a client-supplied `x-envoy-original-path` header was trusted downstream
  rfc3629       RFC 3629 sections 3 and 10: overlong UTF-8 forms are invalid (`%c0%ae` = '.')
  unicode-nfkc  Unicode UAX #15: NFKC maps U+FF0F FULLWIDTH SOLIDUS to '/', U+FF0E to '.'
  rfc9112       RFC 9112 section 3.2: absolute-form, authority-form, asterisk-form targets
  rfc3986-2.1   RFC 3986 section 2.1: percent-encoding hex digits are case-insensitive
  cve-2019-9900 Envoy accepted NUL in HTTP/1 headers; control bytes in the request line
  spec          SPEC.md rules 1-6: canonical controls whose outcome the contract fixes
  cve-2001-0333 IIS decoded the path a second time after its security check: `..%255c`,
                `..%25c0%25af` (the double-decode and Unicode traversals, with CVE-2000-0884)
  tomcat-params Servlet containers cut `;parameters` off each segment: `..;x` is `..`,
                one escape deeper `..%3bx`; Windows-family servers trim a trailing space
  universal     cobrowse-sdk-js 3.28.6: `/proxy/1/universal/{host labels}/{scheme}:{path}`
                copies the proxied page's path as it is, `;jsessionid=` and `%2F` included
"""

from __future__ import annotations

from typing import NamedTuple

Headers = tuple[tuple[bytes, bytes], ...]

UPGRADE: Headers = (
    (b"connection", b"upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
)


class Row(NamedTuple):
    target: bytes
    method: str
    headers: Headers
    source: str
    note: str

    def __str__(self) -> str:
        shown = repr(self.target)[2:-1]
        if len(shown) > 48:
            shown = f"{shown[:40]}...({len(self.target)}B)"
        return f"{self.source}:{self.method}:{shown}"


def row(target: bytes, source: str, note: str, method: str = "GET", headers: Headers = ()) -> Row:
    return Row(target, method, headers, source, note)


D = b"/api/1/devices"  # an allowed prefix on both listeners
U = b"/proxy/1/universal/com/example/shop/https:"  # a proxied page, opaque on both listeners

CORPUS: list[Row] = [
    # --- canonical controls: the contract fixes their outcome on every listener --------
    row(D, "spec", "allowed prefix, bare"),
    row(b"/api/1/sessions/42?a=1&b=%2e%2e", "spec", "allowed; query holds an encoded dot and is not judged"),
    row(b"/sockets/1/info", "spec", "WebSocket prefix, plain GET"),
    row(b"/proxy/1/universal/page?u=http://x/../y", "spec", "allowed; traversal only in the query"),
    row(b"/api/1/virtualagents/7", "spec", "allowed on both roles"),
    row(b"/sdk-js/sdk.js", "spec", "external sdk_pinning; SPA route on internal"),
    row(b"/dashboard/x?tab=1", "spec", "uncovered: 403 external, /index.html?tab=1 internal"),
    row(b"/api/1/devices.json", "spec", "not on a segment boundary: uncovered on external"),
    row(b"/api/1/devices", "spec", "allowed prefix, OPTIONS forwarded", method="OPTIONS"),
    row(b"/dashboard", "spec", "uncovered POST: 403 external, 405 internal", method="POST"),
    # --- envoy-pu: canonicalPath -------------------------------------------------------
    row(D + b"/../sessions", "envoy-pu", "parent dir: normalizes to another allowed prefix"),
    row(D + b"/./x", "envoy-pu", "current dir"),
    row(b"api/1/devices/../admin", "envoy-pu", "non / start"),
    row(D + b"/x/../../../../admin", "envoy-pu", "more parents than segments"),
    row(D + b"/..\\admin", "envoy-pu", "'..\\' canonicalization"),
    row(D + b"/%c0%af", "envoy-pu", "2-byte overlong reserved character, kept by Envoy"),
    row(D + b"/%5c%25", "envoy-pu", "reserved characters, kept by Envoy"),
    row(D + b"/x/%2E%2E/%2E%2E/admin", "envoy-pu", "%2E escape resolved as a dot"),
    row(D + b"/%2E./admin", "envoy-pu", "half-escaped dot-dot"),
    row(D + b"/%2E/x", "envoy-pu", "escaped single dot"),
    row(b"..", "envoy-pu", "bare dot-dot target"),
    row(b"/../api/1/devices", "envoy-pu", "dot-dot above the root"),
    row(b"/./api/1/devices", "envoy-pu", "dot at the root"),
    row(b"/API/1/DEVICES", "envoy-pu", "case is not normalized; matching is case-sensitive"),
    row(D + b"/%2e%2e/admin", "envoy-pu", "lower-case %2e resolved as a dot"),
    row(D + b"/%2F%2f/x", "envoy-pu", "%2F kept by canonicalPath"),
    row(D + b"/.%00../admin", "envoy-pu", "InvalidPaths: encoded NUL between dots"),
    row(D + b"/%00.%00./admin", "envoy-pu", "InvalidPaths: encoded NULs"),
    row(D + b"/AAAAA%%0000/x", "envoy-pu", "InvalidPaths: percent before an escape"),
    # --- envoy-pu: mergeSlashes ---------------------------------------------------------
    row(b"//api/1/devices", "envoy-pu", "mergeSlashes: double / start"),
    row(b"/api//1/devices", "envoy-pu", "mergeSlashes: double / in the middle"),
    row(D + b"//", "envoy-pu", "mergeSlashes: double / end"),
    row(b"/api///1/devices", "envoy-pu", "mergeSlashes: triple /"),
    row(b"/admin////api/1/devices", "envoy-pu", "mergeSlashes: quadruple / before an allowed prefix"),
    row(b"/api/1//devices?a=///c", "envoy-pu", "mergeSlashes: slashes in the query are ignored"),
    row(b"//admin/?b", "envoy-pu", "mergeSlashes: ends with slash plus query"),
    # --- envoy-pu: removeQueryAndFragment -----------------------------------------------
    row(D + b"#fragment?param=value", "envoy-pu", "fragment before a '?'"),
    row(b"/admin??/api/1/devices", "envoy-pu", "double '?': the path is /admin"),
    row(D + b"?#", "envoy-pu", "empty query then empty fragment"),
    # --- istio-norm ---------------------------------------------------------------------
    row(D + b"/../admin", "istio-norm", "BASE: /app/../admin -> /admin"),
    row(D + b"/%2f", "istio-norm", "/app/%2f kept by BASE, decoded by DECODE_AND_MERGE"),
    row(D + b"%2f/", "istio-norm", "/app%2f/: escaped slash glued to the prefix"),
    row(D + b"/xyz%30..//abc", "istio-norm", "BASE decodes %30; '..' inside a segment"),
    row(D + b"\\admin", "istio-norm", "backslash turned into / by BASE"),
    row(D + b"/\\/\\/\\admin", "istio-norm", "mixed slashes and backslashes"),
    row(b"/%2Fapi%5c1%5Cdevices", "istio-norm", "escaped separators spell an allowed prefix"),
    row(b"/%5Capi%2f%5c%2F%2e%2e%2fadmin%5c\\abc", "istio-norm", "every escaped separator at once"),
    row(D + b"//../admin", "istio-norm", "empty segment then dot-dot"),
    row(D + b"//../../admin", "istio-norm", "empty segment then two dot-dots"),
    row(D + b"/%c0%2e%c0%2e/admin", "istio-norm", "DECODE_AND_MERGE: overlong lead byte then %2e"),
    row(D + b"/%c0%2fadmin", "istio-norm", "DECODE_AND_MERGE: overlong lead byte then %2f"),
    row(D + b"/0x2e0x2e/admin", "istio-norm", "NotNormalized: hex spelled out, harmless"),
    row(D + b"/%25c0%25ae%25c1%259cadmin", "istio-norm", "NotNormalized: double-encoded overlong"),
    row(D + b"/%252e%252e%252fadmin", "istio-norm", "NotNormalized: double-encoded dot-dot-slash"),
    row(D + b"/%c1%9cadmin", "istio-norm", "NotNormalized: overlong backslash"),
    row(D + b"/.../admin", "istio-norm", "NotNormalized: three dots are a name"),
    row(D + b"/..../admin", "istio-norm", "NotNormalized: four dots are a name"),
    row(D + b"/;/admin", "istio-norm", "NotNormalized: empty path parameter"),
    row(D + b";a=b/xyz", "istio-norm", "NotNormalized: matrix parameter on the prefix"),
    row(D + b",a=b/xyz", "istio-norm", "NotNormalized: comma glued to the prefix"),
    row(b"/Api/1/devices", "istio-norm", "NotNormalized: case variant of a prefix"),
    row(b"/api/1/%64evices", "istio-norm", "PercentEncoded: unreserved 'd' escaped"),
    row(D + b"%2d", "istio-norm", "PercentEncoded: unreserved '-' escaped after the prefix"),
    row(D + b"/%7e", "istio-norm", "PercentEncoded: '~' escaped"),
    row(D + b"%00", "istio-norm", "Invalid: /admin%00 answers 400"),
    # --- rfc3986: 5.4.1 normal and 5.4.2 abnormal examples -------------------------------
    row(D + b"/c/./g", "rfc3986", "5.4.1 './g'"),
    row(D + b"/c/.", "rfc3986", "5.4.1 '.'"),
    row(D + b"/c/./", "rfc3986", "5.4.1 './'"),
    row(D + b"/c/..", "rfc3986", "5.4.1 '..'"),
    row(D + b"/c/../g", "rfc3986", "5.4.1 '../g'"),
    row(D + b"/c/../..", "rfc3986", "5.4.1 '../..' climbs to /api/1"),
    row(D + b"/c/../../../g", "rfc3986", "5.4.1 '../../g' leaves the prefix"),
    row(D + b"/c/d;p?q", "rfc3986", "5.4.1 the base itself: ';p' parameter"),
    row(D + b"/c/g;x?y#s", "rfc3986", "5.4.1 'g;x?y#s'"),
    row(b"//g", "rfc3986", "5.4.1 '//g' network-path reference as a target"),
    row(b"?y", "rfc3986", "5.4.1 '?y' query-only reference"),
    row(b"g:h", "rfc3986", "5.4.1 'g:h' another scheme"),
    row(D + b"/c/../../../../../../g", "rfc3986", "5.4.2 more '..' than segments"),
    row(D + b"/c/g.", "rfc3986", "5.4.2 'g.' is a name"),
    row(D + b"/c/.g", "rfc3986", "5.4.2 '.g' is a name"),
    row(D + b"/c/g..", "rfc3986", "5.4.2 'g..' is a name"),
    row(D + b"/c/..g", "rfc3986", "5.4.2 '..g' is a name"),
    row(D + b"/c/./../g", "rfc3986", "5.4.2 './../g'"),
    row(D + b"/c/./g/.", "rfc3986", "5.4.2 './g/.'"),
    row(D + b"/c/g/./h", "rfc3986", "5.4.2 'g/./h'"),
    row(D + b"/c/g/../h", "rfc3986", "5.4.2 'g/../h'"),
    row(D + b"/c/g;x=1/./y", "rfc3986", "5.4.2 'g;x=1/./y'"),
    row(D + b"/c/g;x=1/../../../../y", "rfc3986", "5.4.2 'g;x=1/../y', climbing out"),
    row(D + b"/c/g?y/./x", "rfc3986", "5.4.2 dots in the query are not segments"),
    row(D + b"/c/g?y/../../../x", "rfc3986", "5.4.2 'g?y/../x'"),
    row(D + b"/c/g#s/../../../x", "rfc3986", "5.4.2 'g#s/../x': dots in the fragment"),
    row(b"http:g", "rfc3986", "5.4.2 'http:g' scheme without authority"),
    # --- CVEs ---------------------------------------------------------------------------
    row(b"/sockets/1/../../recording/1/x", "cve-2019-9901", "WebSocket prefix then dot-dot into the agent API"),
    row(b"/proxy/1/universal/../../../api/1/agents", "cve-2019-9901", "universal prefix then dot-dot"),
    row(b"/static/../api/1/admin", "cve-2019-9901", "frontend prefix then dot-dot"),
    row(D + b"%2F..%2F..%2Fadmin", "cve-2021-29492", "escaped slashes, upper case"),
    row(D + b"/..%2f..%2fadmin", "cve-2021-29492", "escaped slashes, lower case"),
    row(D + b"%5C..%5C..%5Cadmin", "cve-2021-29492", "escaped backslashes"),
    row(b"/sockets/1/%2e%2e%2f%2e%2e%2fadmin", "cve-2021-29492", "escaped dots and slashes"),
    row(b"/admin%2fapi/1/devices", "cve-2021-29492", "escaped slash makes /admin look deeper"),
    row(D + b"#/../../admin", "cve-2021-32779", "fragment holding a traversal"),
    row(b"/admin#/api/1/devices", "cve-2021-32779", "uncovered path, allowed prefix in the fragment"),
    row(D + b"?x=1#/../admin", "cve-2021-32779", "fragment after a query"),
    row(b"/admin#", "cve-2021-32779", "empty fragment"),
    row(D + b"/..;/..;/admin", "cve-2026-73511", "Tomcat matrix traversal, twice"),
    row(D + b"/x/..;/..;/..;/admin", "cve-2026-73511", "three '..;' segments"),
    row(D + b"/..;x=1/admin", "cve-2026-73511", "'..' with a parameter value"),
    row(D + b"/.;/x", "cve-2026-73511", "'.' with an empty parameter"),
    row(D + b"/%2e%2e;/admin", "cve-2026-73511", "escaped dots with a parameter"),
    row(b"/sockets/1/..;/..;/api/1/agents", "cve-2026-73511", "from the WebSocket prefix"),
    row(b"/admin", "cve-2023-27487", "uncovered :path, allowed x-envoy-original-path",
        headers=((b"x-envoy-original-path", D),)),
    row(D + b"/1", "cve-2023-27487", "allowed :path, uncovered x-envoy-original-path",
        headers=((b"x-envoy-original-path", b"/admin"),)),
    row(b"/%2e%2e/admin", "cve-2023-27487", "hostile :path, allowed x-envoy-original-path",
        headers=((b"x-envoy-original-path", D),)),
    row(b"/dashboard", "cve-2023-27487", "SPA route with a forged original path",
        headers=((b"x-envoy-original-path", b"/api/1/agents"),)),
    # --- overlong UTF-8 (rfc3629) and fullwidth forms (unicode-nfkc) --------------------
    row(D + b"/%c0%ae%c0%ae/admin", "rfc3629", "2-byte overlong '.'"),
    row(D + b"/%C0%AE%C0%AE/admin", "rfc3629", "2-byte overlong '.', upper case"),
    row(D + b"/%e0%80%ae%e0%80%ae/admin", "rfc3629", "3-byte overlong '.'"),
    row(D + b"/%f0%80%80%ae%f0%80%80%ae/admin", "rfc3629", "4-byte overlong '.'"),
    row(D + b"/..%c0%af..%c0%afadmin", "rfc3629", "2-byte overlong '/'"),
    row(D + b"/%e0%80%af", "rfc3629", "3-byte overlong '/'"),
    row(D + b"\xef\xbc\x8f..\xef\xbc\x8fadmin", "unicode-nfkc", "raw UTF-8 fullwidth solidus"),
    row(D + b"%ef%bc%8f..%ef%bc%8fadmin", "unicode-nfkc", "escaped fullwidth solidus glued to the prefix"),
    row(D + b"/%ef%bc%8f..%ef%bc%8f..%ef%bc%8fadmin", "unicode-nfkc", "escaped fullwidth solidus below the prefix"),
    row(D + b"/%ef%bc%8e%ef%bc%8e/admin", "unicode-nfkc", "escaped fullwidth full stops"),
    row(D + b"/..%ef%bc%bcadmin", "unicode-nfkc", "escaped fullwidth reverse solidus"),
    # --- target forms (rfc9112) ---------------------------------------------------------
    row(b"http://firewall.test/api/1/devices/x", "rfc9112", "absolute-form to an allowed path"),
    row(b"http://firewall.test/api/1/devices/../admin", "rfc9112", "absolute-form with dot-dot"),
    row(b"http://evil.example/admin?q=1", "rfc9112", "absolute-form, other host, uncovered path"),
    row(b"https://firewall.test/api/1/devices/%2e%2e/admin", "rfc9112", "absolute-form https, escaped dots"),
    row(b"HTTP://firewall.test//api/1/devices", "rfc9112", "absolute-form, upper-case scheme, double slash"),
    row(b"http://firewall.test", "rfc9112", "absolute-form without a path"),
    row(b"*", "rfc9112", "asterisk-form", method="OPTIONS"),
    row(b"*", "rfc9112", "asterisk-form with GET", method="GET"),
    row(b"firewall.test:443", "rfc9112", "authority-form tunnel", method="CONNECT"),
    row(b"127.0.0.1:22", "rfc9112", "authority-form tunnel to a local port", method="CONNECT"),
    # --- mixed-case and nested escapes (rfc3986-2.1) -------------------------------------
    row(D + b"/%2e%2E/%2E%2e/admin", "rfc3986-2.1", "mixed-case escaped dots"),
    row(D + b"%2F%2e%2E%2f%2E%2eadmin", "rfc3986-2.1", "mixed-case dots and slashes"),
    row(D + b"/%252E%252e/admin", "rfc3986-2.1", "double-encoded dots, mixed case"),
    row(D + b"/%25%32%65%25%32%65/%25%32%65%25%32%65/admin", "rfc3986-2.1",
        "double encoding whose inner hex digits are escaped too"),
    row(D + b"/%25%32%66admin", "rfc3986-2.1", "double-encoded slash with escaped hex digits"),
    row(D + b"/..%25%32%66..%25%32%66admin", "rfc3986-2.1", "the same slash between dot-dots"),
    row(D + b"/%2", "rfc3986-2.1", "truncated escape"),
    # --- raw control bytes (cve-2019-9900) ------------------------------------------------
    row(D + b"/\t../admin", "cve-2019-9900", "raw tab before a dot-dot"),
    row(D + b"\r/../admin", "cve-2019-9900", "raw CR in the target"),
    row(D + b"\n/../admin", "cve-2019-9900", "raw LF in the target"),
    row(D + b"\x00/../admin", "cve-2019-9900", "raw NUL in the target"),
    row(D + b"/%09", "cve-2019-9900", "escaped tab"),
    row(D + b"/%0d%0ax-injected:%201", "cve-2019-9900", "escaped CRLF header injection"),
    row(D + b"/\x0b", "cve-2019-9900", "raw vertical tab"),
    # --- long dot runs ------------------------------------------------------------------
    row(D + b"/" + b"../" * 512 + b"admin", "rfc3986", "512 dot-dot segments"),
    row(D + b"/" + b"." * 4096, "rfc3986", "one 4096-dot name below the prefix"),
    row(D + b"/" + b"./" * 2048 + b"x", "rfc3986", "2048 single-dot segments"),
    row(D + b"/" + b"%2e%2e/" * 300 + b"admin", "rfc3986", "300 escaped dot-dot segments"),
    row(b"/" + b"." * 1000 + b"/admin", "rfc3986", "1000-dot name at the root"),
    # --- upgrades through confusion (SPEC rule 5 with cve-2019-9901 shapes) ---------------
    row(b"/sockets/1/../../api/1/agents", "cve-2019-9901", "upgrade: WebSocket prefix then dot-dot",
        headers=UPGRADE),
    row(b"/api/1/devices/../../../sockets/1/x", "cve-2019-9901", "upgrade: dot-dot into the WebSocket prefix",
        headers=UPGRADE),
    row(b"/sockets/1/%2e%2e/%2e%2e/dashboard", "cve-2021-29492", "upgrade: escaped dots to an SPA route",
        headers=UPGRADE),
    # --- one decode deeper: the first layer's refusals behind %25 (cve-2001-0333) ---------
    row(D + b"/..%25c0%25af..%25c0%25afetc/passwd", "cve-2001-0333", "double-encoded overlong '/'"),
    row(b"/static/%25c0%25ae%25c0%25ae/%25c0%25ae%25c0%25ae/etc/passwd", "cve-2001-0333",
        "double-encoded overlong '.' below a frontend prefix"),
    row(D + b"/..%25c1%259c..%25c1%259cetc/passwd", "cve-2001-0333", "double-encoded overlong '\\'"),
    row(D + b"/%25e0%2580%25ae", "cve-2001-0333", "double-encoded 3-byte overlong '.'"),
    row(D + b"/x%2500.txt", "cve-2001-0333", "double-encoded NUL"),
    row(D + b"/%25%63%30%25%61%65", "cve-2001-0333", "overlong '.' whose hex digits are escaped too"),
    row(D + b"/..%255c..%255cetc/passwd", "cve-2001-0333", "double-encoded backslash"),
    row(D + b"/%25u002e%25u002e/etc/passwd", "cve-2001-0333", "IIS %u form behind an escaped '%'"),
    row(D + b"/%25ef%25bc%258e%25ef%25bc%258e/etc", "unicode-nfkc", "double-encoded fullwidth dots"),
    row(D + b"/%ef%bc%8e%ef%bc%8e/etc/passwd", "unicode-nfkc", "fullwidth full stops: '..' after NFKC"),
    row(D + b"/%e2%80%a5/etc/passwd", "unicode-nfkc", "two dot leader: '..' after NFKC"),
    row(D + b"/..%3b/etc/passwd", "tomcat-params", "escaped ';' after a dot-dot"),
    row(D + b"/..%3Bjsessionid=1/etc/passwd", "tomcat-params", "escaped ';' with a parameter"),
    row(D + b"/..%20/etc/passwd", "tomcat-params", "dot-dot with a trailing escaped space"),
    row(D + b"/..%2520/etc/passwd", "tomcat-params", "the same, double-encoded"),
    row(D + b"/.../etc/passwd", "tomcat-params", "three dots: a dot-only name trimmed to nothing"),
    # --- query bytes (rule 6): what HTTP/1.1 refuses is refused on every protocol ---------
    row(D + b"?\x80/../x", "spec", "raw 0x80 in the query: HTTP/2's codec passes it, the filter refuses"),
    row(b"/sdk-js/?\xc0\xae/../x", "spec", "raw overlong dot in the query: an SPA rewrite on the agent listener"),
    row(b"/sockets/1/x?\xff", "spec", "raw 0xff in a WebSocket query", headers=UPGRADE),
    row(U + b"/cart;jsessionid=A1?\xe9", "spec", "raw non-ASCII in a proxied page's query"),
    row(D + b"?q=\x01", "spec", "raw control byte in the query"),
    row(D + b"?q=%80%00%20%7f%c0%ae", "spec", "the same bytes percent-encoded are data: forwarded as sent"),
    # --- proxied third-party URLs (rule 6a) ---------------------------------------------
    row(U + b"/cart;jsessionid=A1B2C3?step=2", "universal", "servlet session parameter in the proxied path"),
    row(U + b"/products;color=red/42", "universal", "matrix parameters"),
    row(U + b"/docs/a%2Fb%2fc", "universal", "escaped slashes inside a proxied path"),
    row(U + b"/files/report%2Efinal.pdf", "universal", "escaped dot inside a file name"),
    row(U + b"/search/50%25%20off", "universal", "escaped percent and space"),
    row(U + b"/../../../api/1/agents", "universal", "dot-dots climbing out of the proxy prefix"),
    row(U + b"/%2e%2e/%2e%2e/api/1/agents", "universal", "escaped dot-dots"),
    row(U + b"/..;x/..;x/api/1/agents", "universal", "servlet dot-dot with parameters"),
    row(U + b"/%252e%252e/%252e%252e/api/1/agents", "universal", "double-encoded dot-dots"),
    row(U + b"/..%2f..%2fapi/1/agents", "universal", "dot-dots split by escaped slashes"),
    row(U + b"/..%25c0%25af..%25c0%25afetc/passwd", "universal", "double-encoded overlong '/'"),
    row(U + b"/x%2500.txt", "universal", "double-encoded NUL"),
]
