"""The agents' single-page app through the internal listener, as Chromium loads it: deep links
resolve to /index.html with their query, and the page's script and stylesheet from /static/
load and take effect."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from in_page import not_icons, origin, targets

DEEP_LINKS = [
    ("/dashboard/sessions/1?a=1&b=two", b"/index.html?a=1&b=two"),
    ("/settings/users/", b"/index.html"),
    ("/", b"/index.html"),
    ("/login?next=%2Fdashboard%2F..&q=caf%C3%A9", b"/index.html?next=%2Fdashboard%2F..&q=caf%C3%A9"),
]


@pytest.mark.parametrize("link, served", DEEP_LINKS)
def test_deep_link_loads_index_html_and_its_script_reads_the_link(page, internal, upstream, link, served):
    mark = upstream.mark()
    response = page.goto(origin(internal) + link)
    assert response.status == 200
    # The rewrite happened behind the proxy: the address bar, and so the page's router,
    # still hold the deep link.
    assert page.url == origin(internal) + link
    # app.js writes location.pathname + location.search into #route: it loaded and ran.
    expect(page.locator("#route")).to_have_text(link)
    received = targets(upstream.since(mark))
    assert received[0] == served
    assert b"/static/app.js" in received
    path = link.partition("?")[0].encode()
    if path != b"/":
        assert not any(t.startswith(path) for t in received), "the deep link itself reached the upstream"


def test_stylesheet_from_static_is_applied(page, internal, upstream):
    mark = upstream.mark()
    page.goto(origin(internal) + "/dashboard/x?a=1")
    sheets = page.evaluate("Array.from(document.styleSheets, (s) => [s.href, s.cssRules.length])")
    assert [origin(internal) + "/static/app.css", 3] in sheets
    # app.css sets `max-width: 48rem` on body: 768px at the default 16px root font size,
    # where an unstyled body has `none`.
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "768px"
    assert b"/static/app.css" in targets(upstream.since(mark))


def test_page_calls_the_api_with_its_own_code(page, internal, upstream):
    page.goto(origin(internal) + "/dashboard/sessions/1")
    mark = upstream.mark()
    page.click("#api")
    # app.js prints the status, then the upstream's JSON echo of the request it received.
    expect(page.locator("#out")).to_contain_text('"method"')
    status, _, body = page.text_content("#out").partition("\n")
    assert status == "200"
    assert json.loads(body)["target"] == "/api/1/sessions?demo=1"
    assert targets(not_icons(upstream.since(mark))) == [b"/api/1/sessions?demo=1"]
