"""The end-to-end tables of tests/e2e, run unchanged through the Istio gateways: every route
of both roles, the hostile rows, Universal URLs, SPA rewrites and WebSockets, over HTTP/1.1
and HTTP/2. conftest.py gives these tests the e2e fixture names (`listener`, `any_listener`,
`external`, `internal`, `spa_listener`) bound to the gateways, under pathNormalization NONE.

One row answers differently: Istio's bootstrap turns Envoy's
`http_reject_path_with_fragment` off, so a `#fragment` in the request target is cut off
instead of refused with 400; what remains is judged by the firewall as any path."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import test_hostile_paths as hostile
from clients import exchange, target_of
from hostile_paths import HOSTILE
from test_hostile_paths import (  # noqa: F401 (collected here)
    test_double_decodes_are_refused_with_400_on_every_listener,
    test_query_is_forwarded_as_sent,
)
from test_proxied_urls import (  # noqa: F401
    test_nothing_climbs_out_of_a_proxied_url,
    test_outside_a_proxy_prefix_the_same_bytes_are_refused,
    test_proxied_urls_arrive_byte_for_byte,
    test_the_agents_whole_proxy_prefix_carries_data,
)
from test_routes import (  # noqa: F401
    test_api_methods_and_bodies_are_forwarded,
    test_bare_directory_of_trailing_slash_prefix_is_covered,
    test_custom_headers_arrive_intact_and_in_order,
    test_every_enabled_prefix_is_forwarded_unchanged,
    test_external_denies_uncovered_paths_and_upstream_gets_nothing,
    test_internal_covers_the_whole_api,
    test_keep_alive_connection_serves_mixed_decisions,
)
from test_spa import (  # noqa: F401
    test_frontend_assets_pass_unchanged,
    test_frontend_route_get_is_served_index_html,
    test_frontend_route_head_is_rewritten_too,
    test_other_methods_on_frontend_routes_get_405,
    test_spa_rewrite_changes_nothing_but_the_path,
)
from test_websocket import (  # noqa: F401
    test_concurrent_http2_websockets_on_one_connection,
    test_http1_upgrade_echoes_messages,
    test_http1_upgrade_outside_websocket_prefixes_is_refused,
    test_http2_connect_outside_websocket_prefixes_is_refused,
    test_http2_extended_connect_echoes_messages,
    test_plain_get_on_websocket_prefix_is_forwarded,
)


FRAGMENTS = [row for row in HOSTILE if b"#" in row.target]
ROWS = [row for row in HOSTILE if row not in FRAGMENTS]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_hostile_target_over_http1(upstream, any_listener, row):
    hostile.test_hostile_target_over_http1(upstream, any_listener, row)


def test_hostile_paths_over_http2(upstream, any_listener):
    """tests/e2e's HTTP/2 pass over the same rows: no 5xx, nothing escapes, each row's status."""
    mark = upstream.mark()
    with ThreadPoolExecutor(max_workers=len(ROWS)) as pool:
        statuses = list(pool.map(lambda row: hostile.h2_status(any_listener.port, row.target), ROWS))
    hostile.assert_nothing_escaped(any_listener, upstream.since(mark), b"(any of the rows)")
    assert upstream.since(mark) == []
    wrong = [(str(r), s) for r, s in zip(ROWS, statuses) if s is not None and (s >= 500 or s != r.raw_status)]
    assert wrong == []


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_a_fragment_is_cut_off_and_the_rest_judged(upstream, any_listener, proto):
    for row in FRAGMENTS:
        response, received = exchange(upstream, any_listener.port, proto, "GET", row.target)
        path = row.target.partition(b"#")[0]
        if path in (b"/api/1/devices",):
            assert response.status == 200 and [target_of(e) for e in received] == [path], (row, response)
        else:
            hostile.assert_nothing_escaped(any_listener, received, row.target)
