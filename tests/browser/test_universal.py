"""Universal Cobrowse URLs through the external listener, as a browser sends them.

The web SDK proxies a third-party page under /proxy/1/universal/{host labels reversed}/
{scheme}:{the page's path, verbatim}?{query}. Below that prefix the path is data: `;`
parameters, encoded slashes and other escapes that are not dot segments are forwarded
byte-exact, whether the page navigates there or a script fetches it; anything that could
climb out of the prefix is still refused with 400.
"""

from __future__ import annotations

import json

import pytest

from in_page import fetch, origin, targets

PREFIX = "/proxy/1/universal"

# Each URL is written as Chromium sends it (its URL parser keeps these bytes as they are).
FORWARDED = [
    # Java servlet session in the path.
    f"{PREFIX}/com/example/shop/https:/cart;jsessionid=A1B2C3?step=2",
    f"{PREFIX}/com/example/shop/https:/;jsessionid=0F9E8D7C",
    # Matrix parameters (Angular, JAX-RS).
    f"{PREFIX}/com/example/shop/https:/products;color=red;size=m/42?ref=home",
    # Encoded slashes inside one segment of the third-party path, either case.
    f"{PREFIX}/com/example/docs/https:/files/a%2Fb%2Fc.pdf?download=1",
    f"{PREFIX}/com/example/docs/https:/files/a%2fb.pdf",
    # An encoded dot inside a file name is not a dot segment.
    f"{PREFIX}/com/example/docs/https:/files/report%2Efinal.pdf",
    # Single-encoded UTF-8 and spaces, and a query holding what the path may not.
    f"{PREFIX}/org/example/https:/wiki/Caf%C3%A9%20cr%C3%A8me?q=a%2F..%2Fb&r=%2e%2e",
]

# What climbs out of the prefix, once or more decoded, with `;parameters` stripped or on a
# backslash. None of these is a dot segment to the browser's URL parser, so Chromium sends
# them as written and the refusal is the firewall's.
REFUSED = [
    f"{PREFIX}/com/example/https:/a/..;/..;/admin",
    f"{PREFIX}/com/example/https:/a/..;x/admin",
    f"{PREFIX}/com/example/https:/a/%252e%252e/admin",
    f"{PREFIX}/com/example/https:/a/%2e%2e%2f%2e%2e%2fadmin",
    f"{PREFIX}/com/example/https:/a/..%5cadmin",
    f"{PREFIX}/com/example/https:/a/%25c0%25ae%25c0%25ae/admin",
    f"{PREFIX}/com/example/https:/a/x%2500.txt",
]


def open_page(page, external) -> None:
    assert page.goto(origin(external) + "/api/1/devices/page").status == 200


@pytest.mark.parametrize("url", FORWARDED)
def test_navigation_to_a_universal_url_arrives_byte_exact(page, external, upstream, url):
    mark = upstream.mark()
    response = page.goto(origin(external) + url)
    assert response.request.url == origin(external) + url, "the browser rewrote the URL itself"
    assert response.status == 200
    # The page shows the upstream's JSON echo: the document the browser loaded.
    assert json.loads(page.text_content("body"))["target"] == url
    assert [t for t in targets(upstream.since(mark)) if t.startswith(PREFIX.encode())] == [url.encode()]


@pytest.mark.parametrize("url", FORWARDED)
def test_fetch_of_a_universal_url_arrives_byte_exact(page, external, upstream, url):
    open_page(page, external)
    mark = upstream.mark()
    seen = fetch(page, url, headers={"X-Cobrowse-Universal": "1"})
    assert seen["status"] == 200
    assert json.loads(seen["body"])["target"] == url
    [entry] = [e for e in upstream.since(mark) if targets([e])[0].startswith(PREFIX.encode())]
    assert targets([entry]) == [url.encode()]


@pytest.mark.parametrize("url", REFUSED)
def test_climbing_out_of_the_universal_prefix_is_refused(page, external, upstream, url):
    open_page(page, external)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    mark = upstream.mark()
    seen = fetch(page, url)
    assert sent == [origin(external) + url], "the browser rewrote the URL itself"
    assert seen["status"] == 400
    assert upstream.since(mark) == []
