"""SPEC rule 6a through the shipped listeners: a proxied third-party URL below
`/proxy/1/universal/` (and the agents' `/proxy/1/`) reaches the upstream byte for byte, with
its `;parameters` and escaped slashes, while anything that climbs out is refused with 400."""

from __future__ import annotations

import pytest

from clients import exchange, target_of

PAGE = b"/proxy/1/universal/com/example/shop/https:"

# What real pages' paths hold, copied verbatim by the web SDK.
DATA = [
    PAGE + b"/cart;jsessionid=A1B2C3?step=2",
    PAGE + b"/products;color=red;size=m/42",
    PAGE + b"/docs/a%2Fb",
    PAGE + b"/docs/a%2fb",
    PAGE + b"/files/report%2Efinal.pdf",
    PAGE + b"/search/50%25%20off?q=a%2Fb",
    PAGE + b"/caf%C3%A9;v=1",
]

CLIMBS = [
    PAGE + b"/../../../api/1/agents",
    PAGE + b"/%2e%2e/%2e%2e/api/1/agents",
    PAGE + b"/..;x/..;x/api/1/agents",
    PAGE + b"/..%3bx/api/1/agents",
    PAGE + b"/%252e%252e/%252e%252e/api/1/agents",
    PAGE + b"/..%2f..%2fapi/1/agents",
    PAGE + b"/..%25c0%25af..%25c0%25afetc/passwd",
    PAGE + b"/x%2500.txt",
    PAGE + b"/%c0%ae%c0%ae/x",
]


@pytest.mark.parametrize("target", DATA, ids=lambda t: t[len(PAGE):].decode())
def test_proxied_urls_arrive_byte_for_byte(upstream, listener, proto, target):
    response, received = exchange(upstream, listener.port, proto, "GET", target)
    assert response.status == 200, response
    assert [target_of(e) for e in received] == [target]


@pytest.mark.parametrize("target", CLIMBS, ids=lambda t: t[len(PAGE):].decode())
def test_nothing_climbs_out_of_a_proxied_url(upstream, listener, proto, target):
    response, received = exchange(upstream, listener.port, proto, "GET", target)
    assert response.status == 400, response
    assert received == []


def test_the_agents_whole_proxy_prefix_carries_data(upstream, internal, proto):
    target = b"/proxy/1/other/https:/a;b%2Fc"
    response, received = exchange(upstream, internal.port, proto, "GET", target)
    assert response.status == 200
    assert [target_of(e) for e in received] == [target]


def test_outside_a_proxy_prefix_the_same_bytes_are_refused(upstream, listener, proto):
    for target in (b"/api/1/devices/cart;jsessionid=1", b"/api/1/devices/a%2Fb"):
        response, received = exchange(upstream, listener.port, proto, "GET", target)
        assert response.status == 400, (target, response)
        assert received == []
