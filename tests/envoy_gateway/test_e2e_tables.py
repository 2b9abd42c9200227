"""tests/e2e's route tables, SPA rewrites, hostile rows and WebSockets, unchanged, against the
Gateways of the real Envoy Gateway with the shipped policies (conftest.py gives them the
listener fixtures tests/e2e's tests take), in both code forms.

Not taken: the rows that assume Envoy's normalization off (proxied URLs byte for byte, climbs
answered 400), which test_paths.py holds to the contract through the normalization Envoy
Gateway always turns on; and WebSockets over HTTP/2, which Envoy Gateway's listeners do not
offer (test_websockets_over_http2_are_not_offered below).
"""

from test_hostile_paths import (  # noqa: F401 (collected here)
    test_double_decodes_are_refused_with_400_on_every_listener,
    test_hostile_paths_over_http2,
    test_hostile_target_over_http1,
    test_plain_connect_is_refused,
    test_query_is_forwarded_as_sent,
)
import h2.settings

from clients import H2Connection
from test_proxied_urls import (  # noqa: F401
    test_outside_a_proxy_prefix_the_same_bytes_are_refused,
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
    test_http1_upgrade_echoes_messages,
    test_http1_upgrade_outside_websocket_prefixes_is_refused,
    test_plain_get_on_websocket_prefix_is_forwarded,
)


def test_websockets_over_http2_are_not_offered(listener):
    """Envoy Gateway does not turn on RFC 8441 (extended CONNECT) on its HTTP/2 listeners, so
    clients take WebSockets over HTTP/1.1, as browsers do when the setting is absent."""
    with H2Connection(listener.port) as conn:
        while not conn.remote_settings_seen:
            conn._pump()
        assert conn.conn.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) != 1
