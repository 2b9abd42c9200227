"""Envoy bootstrap for the benchmark: one listener per variant, no upstream.

Every listener answers with a `direct_response`, so the only difference between
variants is the filter (or the route table) in front of it. Envoy accepts JSON
wherever it accepts YAML, so the bootstrap is built as plain dicts.
"""

import copy
import json
import sys
from pathlib import Path

import roles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "envoy"))
import render  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
POLICY_LUA = BENCH_DIR / "policy.lua"

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
LUA_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
STRING_VALUE_TYPE = "type.googleapis.com/google.protobuf.StringValue"

# Bodies that tell which route answered: a rewritten SPA request lands on "index".
BODY_OK = "ok\n"
BODY_INDEX = "index\n"


def direct(status, body="", headers=None):
    action = {"direct_response": {"status": status, "body": {"inline_string": body}}}
    if headers:
        action["response_headers_to_add"] = [{"header": {"key": k, "value": v}} for k, v in headers.items()]
    return action


def route(match, action):
    return {"match": match, **action}


# What stands in for the upstream behind the filters: the SPA entrypoint and everything else.
STAND_IN_ROUTES = [
    route({"path": "/index.html"}, direct(200, BODY_INDEX)),
    route({"prefix": "/"}, direct(200, BODY_OK)),
]


def native_routes(role):
    """The policy as far as Envoy's route table can say it.

    Expressed: segment-boundary prefixes (`path_separated_prefix`), 403 for the
    rest or, for the SPA role, the entrypoint for GET/HEAD and 405 + `allow` for
    other methods, and upgrades only below WebSocket prefixes (a header match on
    `upgrade`, ahead of the other prefixes, since none of them is nested below a
    WebSocket prefix).

    Not expressed:
    - Longest match across groups: routes are first-match, so the order above
      stands in for it and only holds for these built-in groups.
    - SPEC rule 6 (hostile paths, 400): Envoy's `normalize_path` and
      `merge_slashes` rewrite `.`/`..` segments, `%2e` and `//` instead of
      refusing them; `path_with_escaped_slashes_action` refuses only `%2f`/`%5c`.
      Invalid or overlong percent-encoding, double encoding, encoded control
      bytes and `;` pass through (`;` then falls to the deny route: 403, not 400).
    - The SPA rewrite itself: a rewrite only exists on a route that forwards
      upstream, which this benchmark has none of. In a gateway the fallback route is
        route: {cluster: frontend, regex_rewrite: {pattern: {regex: "^.*$"}, substitution: "/index.html"}}
      (Envoy rewrites the path without its query and appends the query back).
      Here that route answers with the entrypoint directly, as the stand-in
      upstream would for /index.html.
    """
    pairs = sorted(roles.prefixes(role), key=lambda pair: -len(pair[0]))
    # path_separated_prefix must not end with "/"; it covers the bare directory and below it.
    separated = lambda prefix: prefix.rstrip("/")
    allow = direct(200, BODY_OK)
    routes = [route({"path_separated_prefix": separated(p)}, allow) for p, ws in pairs if ws]
    routes.append(route({"prefix": "/", "headers": [{"name": "upgrade", "present_match": True}]}, direct(403)))
    routes += [route({"path_separated_prefix": separated(p)}, allow) for p, ws in pairs if not ws]
    if roles.fallback(role) == "spa":
        get_or_head = {"name": ":method", "string_match": {"safe_regex": {"regex": "GET|HEAD"}}}
        routes.append(route({"prefix": "/", "headers": [get_or_head]}, direct(200, BODY_INDEX)))
        routes.append(route({"prefix": "/"}, direct(405, headers={"allow": "GET, HEAD"})))
    else:
        routes.append(route({"prefix": "/"}, direct(403)))
    return routes


def lua_source(role):
    """policy.lua with the role's policy prepended as a Lua table."""
    entries = ", ".join(f'{{"{prefix}", {str(ws).lower()}}}' for prefix, ws in roles.prefixes(role))
    prelude = f'POLICY = {{ fallback = "{roles.fallback(role)}", prefixes = {{ {entries} }} }}\n'
    return prelude + POLICY_LUA.read_text()


def trimmed(floor_wasm):
    """The floor filter with its unused exports removed (run.py writes it beside the floor)."""
    return Path(floor_wasm).with_suffix(".trimmed.wasm")


def wasm_filter(name, wasm_path, root_id, configuration):
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": WASM_TYPE,
            "config": {
                "name": name,
                "root_id": root_id,
                "vm_config": {
                    "vm_id": root_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(wasm_path)}},
                },
                "configuration": {"@type": STRING_VALUE_TYPE, "value": configuration},
            },
        },
    }


def http_filters(variant, module_wasm, floor_wasm):
    if variant.kind == "floor":
        return [wasm_filter(variant.id, floor_wasm, "floor", variant.probe)]
    if variant.kind == "floor-trim":
        return [wasm_filter(variant.id, trimmed(floor_wasm), "floor_trim", "")]
    if variant.kind == "module":
        # As shipped (filter_state off, default logging) unless the variant says otherwise.
        config = json.dumps({**roles.plugin_config(variant.role), **dict(variant.plugin)})
        return [wasm_filter(variant.id, module_wasm, "cobrowse_l7_firewall", config)]
    if variant.kind == "lua":
        source = {"inline_string": lua_source(variant.role)}
        return [{"name": "envoy.filters.http.lua", "typed_config": {"@type": LUA_TYPE, "default_source_code": source}}]
    return []


# What an `edge` variant takes from the shipped external listener, as shipped.
EDGE_HCM_KEYS = (
    "use_remote_address", "xff_num_trusted_hops", "request_headers_timeout",
    "stream_idle_timeout", "max_request_headers_kb", "common_http_protocol_options", "http2_protocol_options",
)


def edge_settings():
    """(HCM keys, route_config keys, listener keys, network filters before the HCM) of envoy/external.yaml."""
    shipped = render.load(Path(__file__).resolve().parents[1] / "envoy" / "external.yaml")
    hcm = render.connection_manager(shipped)
    tcp = render.listener(shipped)
    network = [f for chain in tcp["filter_chains"] for f in chain["filters"] if f["name"] != render.HCM]
    route_keys = {k: v for k, v in hcm["route_config"].items() if k == "request_headers_to_remove"}
    listener_keys = {k: v for k, v in tcp.items() if k == "per_connection_buffer_limit_bytes"}
    return {k: copy.deepcopy(hcm[k]) for k in EDGE_HCM_KEYS if k in hcm}, route_keys, listener_keys, network


FILE_LOG_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"


def access_log(role, form):
    """The shipped JSON access log of `role`, written to /dev/null; `query`: `path` with the
    query, as the format was before it left credentials out."""
    shipped = render.load(Path(__file__).resolve().parents[1] / "envoy" / f"{role}.yaml")
    log_format = copy.deepcopy(render.connection_manager(shipped)["access_log"][0]["typed_config"]["log_format"])
    if form == "query":
        log_format["json_format"]["path"] = "%REQ(:PATH)%"
    return {"name": "envoy.access_loggers.file",
            "typed_config": {"@type": FILE_LOG_TYPE, "path": "/dev/null", "log_format": log_format}}


def listener(variant, port, module_wasm, floor_wasm, tls_files=None):
    routes = native_routes(variant.role) if variant.kind == "native" else STAND_IN_ROUTES
    filters = http_filters(variant, module_wasm, floor_wasm)
    filters.append({"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_TYPE}})
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": variant.id,
        "codec_type": "AUTO",
        # The path hygiene the shipped configs turn on (SPEC rule 6), identical for every variant.
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        "upgrade_configs": [{"upgrade_type": "websocket"}],
        "route_config": {
            "name": variant.id,
            "virtual_hosts": [{"name": variant.id, "domains": ["*"], "routes": routes}],
        },
        "http_filters": filters,
    }
    if variant.access_log:
        hcm["access_log"] = [access_log(variant.role, variant.access_log)]
    network = []
    built = {"name": variant.id, "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}
    if variant.edge:
        hcm_keys, route_keys, listener_keys, network = edge_settings()
        hcm.update(hcm_keys)
        hcm["route_config"].update(route_keys)
        built.update(listener_keys)
    built["filter_chains"] = [
        {"filters": [*network, {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
    ]
    if variant.edge == "tls":
        if tls_files is None:
            raise ValueError(f"{variant.id}: a TLS variant needs a certificate")
        built = render.with_tls({"static_resources": {"listeners": [built]}}, *tls_files)["static_resources"][
            "listeners"
        ][0]
    return built


def bootstrap(listeners, admin_port, module_wasm, floor_wasm, tls_files=None):
    """listeners: (variant, port) pairs; tls_files: (certificate, key) for the TLS variants."""
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [listener(v, port, module_wasm, floor_wasm, tls_files) for v, port in listeners],
        },
    }
