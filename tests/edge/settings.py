"""The edge settings of the shipped configs, as the suite takes them out or scales them down.

`WITHOUT[name](config)` removes one setting (EDGE_WITHOUT=name in conftest.py): each test
that proves it must then fail. `short_timeouts` and `small_limits` keep the shipped
structure but shrink values a test cannot wait for or reach (5 min, 1 h, 2 GiB, 10,000
connections); a setting missing from the shipped config stays missing, so those tests fail
without it too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from processes import render


def _hcms(config: dict) -> list[dict]:
    return render.connection_managers(config)


def _drop_hcm(*path: str) -> Callable[[dict], None]:
    def drop(config: dict) -> None:
        for hcm in _hcms(config):
            node = hcm
            for key in path[:-1]:
                node = node.get(key, {})
            node.pop(path[-1], None)

    return drop


def _socket_routes(config: dict) -> list[dict]:
    return [
        route
        for hcm in _hcms(config)
        for host in hcm["route_config"]["virtual_hosts"]
        for route in host["routes"]
        if route["match"].get("prefix") == "/sockets/1/"
    ]


def _drop_socket_route_idle(config: dict) -> None:
    for route in _socket_routes(config):
        route["route"].pop("idle_timeout", None)


def _drop_overload_action(name: str) -> Callable[[dict], None]:
    def drop(config: dict) -> None:
        actions = config["overload_manager"].get("actions", [])
        config["overload_manager"]["actions"] = [a for a in actions if a["name"] != name]

    return drop


CONNECTION_LIMIT = "envoy.filters.network.connection_limit"


def _connection_limits(config: dict) -> list[dict]:
    return [
        f["typed_config"]
        for item in config["static_resources"]["listeners"]
        for chain in item["filter_chains"]
        for f in chain["filters"]
        if f["name"] == CONNECTION_LIMIT
    ]


def _drop_listener_connection_limit(config: dict) -> None:
    for item in config["static_resources"]["listeners"]:
        for chain in item["filter_chains"]:
            chain["filters"] = [f for f in chain["filters"] if f["name"] != CONNECTION_LIMIT]


def _drop_listener_buffer_limit(config: dict) -> None:
    for item in config["static_resources"]["listeners"]:
        item.pop("per_connection_buffer_limit_bytes", None)


def _drop_cluster_buffer_limit(config: dict) -> None:
    render.cluster(config).pop("per_connection_buffer_limit_bytes", None)


def _drop_forwarded_host_removal(config: dict) -> None:
    for hcm in _hcms(config):
        removed = hcm["route_config"].get("request_headers_to_remove", [])
        hcm["route_config"]["request_headers_to_remove"] = [h for h in removed if h != "x-forwarded-host"]


WITHOUT: dict[str, Callable[[dict], None]] = {
    "use_remote_address": _drop_hcm("use_remote_address"),
    "request_headers_timeout": _drop_hcm("request_headers_timeout"),
    "stream_idle_timeout": _drop_hcm("stream_idle_timeout"),
    "connection_idle_timeout": _drop_hcm("common_http_protocol_options", "idle_timeout"),
    "websocket_route_idle_timeout": _drop_socket_route_idle,
    "headers_with_underscores_action": _drop_hcm("common_http_protocol_options", "headers_with_underscores_action"),
    "max_request_headers_kb": _drop_hcm("max_request_headers_kb"),
    "max_concurrent_streams": _drop_hcm("http2_protocol_options", "max_concurrent_streams"),
    "initial_stream_window_size": _drop_hcm("http2_protocol_options", "initial_stream_window_size"),
    "initial_connection_window_size": _drop_hcm("http2_protocol_options", "initial_connection_window_size"),
    "x_forwarded_host_removal": _drop_forwarded_host_removal,
    "listener_buffer_limit": _drop_listener_buffer_limit,
    "cluster_buffer_limit": _drop_cluster_buffer_limit,
    "shrink_heap": _drop_overload_action("envoy.overload_actions.shrink_heap"),
    "stop_accepting_requests": _drop_overload_action("envoy.overload_actions.stop_accepting_requests"),
    "listener_connection_limit": _drop_listener_connection_limit,
}


def without(config: dict, name: str | None) -> dict:
    if not name:
        return config
    config = copy.deepcopy(config)
    WITHOUT[name](config)
    return config


# Shrunk timeouts: an ordinary stream idle for STREAM_IDLE is reset, a WebSocket only after
# SOCKET_IDLE, a connection with no stream after CONNECTION_IDLE.
STREAM_IDLE = 1.0
SOCKET_IDLE = 4.0
CONNECTION_IDLE = 1.5


def _shrink(node: dict, key: str, seconds: float) -> None:
    if key in node:
        node[key] = f"{seconds}s"


def short_timeouts(config: dict) -> dict:
    config = copy.deepcopy(config)
    for hcm in _hcms(config):
        _shrink(hcm, "stream_idle_timeout", STREAM_IDLE)
        _shrink(hcm.get("common_http_protocol_options", {}), "idle_timeout", CONNECTION_IDLE)
    for route in _socket_routes(config):
        _shrink(route["route"], "idle_timeout", SOCKET_IDLE)
    return config


LISTENER_CONNECTIONS = 3


def tiny_heap(config: dict) -> dict:
    """A heap limit (1 MiB) the process is over from the start: the overload actions fire."""
    config = copy.deepcopy(config)
    for monitor in config["overload_manager"]["resource_monitors"]:
        if monitor["name"] == "envoy.resource_monitors.fixed_heap":
            monitor["typed_config"]["max_heap_size_bytes"] = 1 << 20
    return config


def few_connections(config: dict) -> dict:
    """The listener's connection limit down to LISTENER_CONNECTIONS."""
    config = copy.deepcopy(config)
    for limit in _connection_limits(config):
        limit["max_connections"] = LISTENER_CONNECTIONS
    return config
