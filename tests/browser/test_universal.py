"""Universal Cobrowse URLs through the listeners, as a browser sends them.

The web SDK (cobrowse-sdk-js 3.28) proxies a third-party page under
/proxy/1/universal/{host labels reversed}/{scheme}:{the page's path}, and moves the page's
query into a `search` parameter beside its own (`access_token`, `origin`, `port`). Below
that prefix the path is data: `;` parameters, encoded slashes and other escapes that are
not dot segments are forwarded byte-exact, whether the page navigates there or a script
fetches it; anything that could climb out of the prefix is still refused with 400. Each test
runs on the external listener and on the internal one, whose agents' `/proxy/1/` carries the
same URLs, both as shipped (Envoy passes paths as sent: the filter alone holds the line).
"""

from __future__ import annotations

import json

import pytest

from in_page import fetch, not_icons, origin, targets

PREFIX = "/proxy/1/universal"
# The SDK's own parameters, as URLSearchParams encodes them.
SDK_QUERY = "access_token=TOKEN&origin=https%3A%2F%2Fshop.example.com"

# Each URL is written as Chromium sends it (its URL parser keeps these bytes as they are).
FORWARDED = {
    # Java servlet session in the path: https://shop.example.com/cart;jsessionid=A1B2C3?step=2
    "jsessionid": f"{PREFIX}/com/example/shop/https:/cart;jsessionid=A1B2C3?search=step%3D2&{SDK_QUERY}",
    "jsessionid-at-root": f"{PREFIX}/com/example/shop/https:/;jsessionid=0F9E8D7C?{SDK_QUERY}",
    # Matrix parameters (Angular, JAX-RS).
    "matrix-parameters": f"{PREFIX}/com/example/shop/https:/products;color=red;size=m/42?search=ref%3Dhome&{SDK_QUERY}",
    # Encoded slashes inside one segment of the third-party path, either case.
    "encoded-slash": f"{PREFIX}/com/example/docs/https:/files/a%2Fb%2Fc.pdf?search=x%3D1%26y%3Da%2520b&{SDK_QUERY}",
    "encoded-slash-lower": f"{PREFIX}/com/example/docs/https:/files/a%2fb.pdf",
    # An encoded dot inside a file name is not a dot segment; a port moves into the query.
    "encoded-dot-in-name": f"{PREFIX}/com/example/https:/files/report%2Efinal.pdf?port=8443&{SDK_QUERY}",
    # Single-encoded UTF-8 and spaces, and a query holding what the path may not.
    "utf8-and-query": f"{PREFIX}/org/example/https:/wiki/Caf%C3%A9%20cr%C3%A8me?q=a%2F..%2Fb&r=%2e%2e",
}

# What climbs out of the prefix, once or more decoded, with `;parameters` stripped or on a
# backslash. None of these is a dot segment to the browser's URL parser, so Chromium sends
# them as written and the refusal is the firewall's.
REFUSED = {
    "dot-dot-semicolon": f"{PREFIX}/com/example/https:/a/..;/..;/admin",
    "dot-dot-parameter": f"{PREFIX}/com/example/https:/a/..;x/admin",
    "double-encoded-dots": f"{PREFIX}/com/example/https:/a/%252e%252e/admin",
    "encoded-dots-and-slashes": f"{PREFIX}/com/example/https:/a/%2e%2e%2f%2e%2e%2fadmin",
    "dots-encoded-backslash": f"{PREFIX}/com/example/https:/a/..%5cadmin",
    "overlong-dots-double-encoded": f"{PREFIX}/com/example/https:/a/%25c0%25ae%25c0%25ae/admin",
    "nul-double-encoded": f"{PREFIX}/com/example/https:/a/x%2500.txt",
}


@pytest.fixture(params=["external", "internal"])
def proxy_listener(request):
    """Each shipped role: the external listener's universal group, the agents' /proxy/1/."""
    return request.getfixturevalue(request.param)


def open_page(page, listener) -> None:
    assert page.goto(origin(listener) + "/api/1/devices/page").status == 200


@pytest.mark.parametrize("url", FORWARDED.values(), ids=FORWARDED.keys())
def test_navigation_to_a_universal_url_arrives_byte_exact(page, proxy_listener, upstream, url):
    mark = upstream.mark()
    response = page.goto(origin(proxy_listener) + url)
    assert response.request.url == origin(proxy_listener) + url, "the browser rewrote the URL itself"
    assert response.status == 200
    # The page shows the upstream's JSON echo: the document the browser loaded.
    assert json.loads(page.text_content("body"))["target"] == url
    assert [t for t in targets(upstream.since(mark)) if t.startswith(PREFIX.encode())] == [url.encode()]


@pytest.mark.parametrize("url", FORWARDED.values(), ids=FORWARDED.keys())
def test_fetch_of_a_universal_url_arrives_byte_exact(page, proxy_listener, upstream, url):
    open_page(page, proxy_listener)
    mark = upstream.mark()
    seen = fetch(page, url, headers={"X-Cobrowse-Universal": "1"})
    assert seen["status"] == 200
    assert json.loads(seen["body"])["target"] == url
    [entry] = [e for e in upstream.since(mark) if targets([e])[0].startswith(PREFIX.encode())]
    assert targets([entry]) == [url.encode()]


@pytest.mark.parametrize("url", REFUSED.values(), ids=REFUSED.keys())
def test_climbing_out_of_the_universal_prefix_is_refused(page, proxy_listener, upstream, url):
    open_page(page, proxy_listener)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    mark = upstream.mark()
    seen = fetch(page, url)
    assert sent == [origin(proxy_listener) + url], "the browser rewrote the URL itself"
    assert seen["status"] == 400
    assert not_icons(upstream.since(mark)) == []
