"""What istiod makes of a WasmPlugin on a gateway, restated from Istio's source (istio/istio
at 86c9f01f, August 2026; the same translation since 1.19 apart from the resource name):

- pilot/pkg/config/kube/extensions/translate.go: a WasmPlugin becomes a TrafficExtension
  named `<name>~istio-translated-wasmplugin`, fields copied one for one.
- pilot/pkg/model/extensions.go (buildWasmConfig, buildVMConfig, buildDataSource): the
  extension config served over ECDS. `pluginConfig` (a protobuf Struct) is serialized to a
  JSON string (protomarshal.ToJSON, the legacy jsonpb marshaller) in a StringValue; the code
  is a remote source whose URI is the `url` (oci:// when no scheme), `sha256` as given,
  cluster `_` (the agent fetches it); failStrategy sets `failure_policy`; the pull policy and
  resource version ride in ISTIO_META_* VM environment variables for the agent.
- pilot/pkg/networking/core/extension/extensionfilter.go: the listener's HTTP filter only
  names the resource: `config_discovery` over ADS, initial fetch timeout 0 (the listener
  waits for it), type URLs Wasm and RBAC (the agent's fail-closed substitute).
- pilot/pkg/networking/core/listener_builder.go (buildHTTPConnectionManager): placement
  (ext_authz CUSTOM, then AUTHN plugins, Istio authn, AUTHZ plugins, RBAC, STATS and
  unspecified plugins, then fault, cors, router) and path handling from
  meshConfig.pathNormalization: BASE (the default) sets normalize_path only, with
  path_with_escaped_slashes_action KEEP_UNCHANGED and merge_slashes left false.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from urllib.parse import urlparse

TYPE = "type.googleapis.com/"
WASM_TYPE = TYPE + "envoy.extensions.filters.http.wasm.v3.Wasm"
RBAC_TYPE = TYPE + "envoy.extensions.filters.http.rbac.v3.RBAC"
EXTENSION_TYPE = TYPE + "envoy.config.core.v3.TypedExtensionConfig"
HCM_TYPE = TYPE + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
# Earlier releases differ in names and in how failStrategy is carried (pilot/pkg/model/
# extensions.go at the tags 1.24.0 and 1.29.0): release -> (resource name prefix, suffix
# of the names, failure field). 1.24 sets `fail_open` (false unless FAIL_OPEN); from 1.25,
# for proxies of 1.25 or later, `failure_policy`.
RELEASES = {
    "head": ("extensions.istio.io/trafficextension/", "~istio-translated-wasmplugin", "failure_policy"),
    "1.29": ("extensions.istio.io/wasmplugin/", "", "failure_policy"),
    "1.24": ("extenstions.istio.io/wasmplugin/", "", "fail_open"),
}
PULL_POLICY_ENV = "ISTIO_META_WASM_IMAGE_PULL_POLICY"
RESOURCE_VERSION_ENV = "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION"
FAILURE_POLICY = {"FAIL_OPEN": "FAIL_OPEN", "FAIL_CLOSE": "FAIL_CLOSED", "FAIL_RELOAD": "FAIL_RELOAD"}
PHASES = ("AUTHN", "AUTHZ", "STATS", None)


# --- pluginConfig: YAML -> the API server's JSON -> protobuf Struct -> jsonpb -----------------


def as_struct(value):
    """A value as a protobuf Struct holds it: every number a double (float64)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [as_struct(v) for v in value]
    if isinstance(value, dict):
        return {str(k): as_struct(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} has no JSON form")


def go_float(f: float) -> str:
    """encoding/json's float64 form, which jsonpb uses: shortest digits, `f` notation for
    1e-6 <= |f| < 1e21 (403.0 -> 403), else `e` notation with a short exponent (1e+21)."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError("a Struct cannot hold NaN or infinity in JSON")
    if f != 0 and (abs(f) < 1e-6 or abs(f) >= 1e21):
        mantissa, _, exponent = repr(f).partition("e")
        sign = exponent[0] if exponent[0] in "+-" else "+"
        return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    text = format(Decimal(repr(f)), "f")
    return text[:-2] if text.endswith(".0") else text


def go_string(s: str) -> str:
    """encoding/json's string form: HTML-safe escapes for <, >, &, U+2028 and U+2029, UTF-8
    kept as is."""
    text = json.dumps(s, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def jsonpb(value) -> str:
    """protomarshal.ToJSON of a Struct: compact, object keys sorted (jsonpb sorts map keys)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jsonpb(v) for v in value) + "]"
    return "{" + ",".join(go_string(k) + ":" + jsonpb(value[k]) for k in sorted(value)) + "}"


def plugin_config_json(plugin_config: dict) -> str:
    return jsonpb(as_struct(plugin_config))


# --- the extension config served over ECDS ------------------------------------------------


def resource_name(plugin: dict, release: str = "head") -> str:
    prefix, suffix, _ = RELEASES[release]
    meta = plugin["metadata"]
    return f"{prefix}{meta['namespace']}.{meta['name']}{suffix}"


def extension_config(plugin: dict, resource_version: str = "1", release: str = "head") -> dict:
    """The TypedExtensionConfig istiod sends for one WasmPlugin (proto JSON form)."""
    meta, spec = plugin["metadata"], plugin["spec"]
    assert spec.get("type", "HTTP") in ("HTTP", "UNSPECIFIED_PLUGIN_TYPE")
    url = spec["url"]
    if not urlparse(url).scheme:
        url = "oci://" + url
    if url.startswith("file://"):
        code = {"local": {"filename": url.removeprefix("file://")}}
    else:
        code = {
            "remote": {
                "http_uri": {"uri": url, "timeout": "30s", "cluster": "_"},
                "sha256": spec.get("sha256", ""),
            }
        }
    env = {}
    if spec.get("imagePullPolicy") not in (None, "UNSPECIFIED_POLICY"):
        env[PULL_POLICY_ENV] = spec["imagePullPolicy"]
    env[RESOURCE_VERSION_ENV] = resource_version
    for var in (spec.get("vmConfig") or {}).get("env", []):
        if var.get("valueFrom", "INLINE") == "INLINE":
            env[var["name"]] = var.get("value", "")
    config = {
        "name": f"{meta['namespace']}.{meta['name']}{RELEASES[release][1]}",
        "root_id": spec.get("pluginName", ""),
        "vm_config": {
            "runtime": "envoy.wasm.runtime.v8",
            "code": code,
            "environment_variables": {"key_values": env},
        },
    }
    if spec.get("pluginConfig"):
        config["configuration"] = {
            "@type": TYPE + "google.protobuf.StringValue",
            "value": plugin_config_json(spec["pluginConfig"]),
        }
    if RELEASES[release][2] == "fail_open":
        config["fail_open"] = spec.get("failStrategy") == "FAIL_OPEN"
    elif spec.get("failStrategy") in FAILURE_POLICY:
        config["failure_policy"] = FAILURE_POLICY[spec["failStrategy"]]
    return {
        "@type": EXTENSION_TYPE,
        "name": resource_name(plugin, release),
        "typed_config": {"@type": WASM_TYPE, "config": config},
    }


def ecds_filter(plugin: dict, config_source: dict, release: str = "head") -> dict:
    """The HTTP filter istiod puts in the gateway's listener for it."""
    return {
        "name": resource_name(plugin, release),
        "config_discovery": {"config_source": config_source, "type_urls": [WASM_TYPE, RBAC_TYPE]},
    }


# --- the gateway's HTTP connection manager ------------------------------------------------


def path_settings(normalization: str = "BASE") -> dict:
    """Envoy's path settings for meshConfig.pathNormalization.normalization."""
    settings = {"path_with_escaped_slashes_action": "KEEP_UNCHANGED", "merge_slashes": False}
    if normalization == "NONE":
        return {**settings, "normalize_path": False}
    settings["normalize_path"] = True
    if normalization in ("MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"):
        settings["merge_slashes"] = True
    if normalization == "DECODE_AND_MERGE_SLASHES":
        settings["path_with_escaped_slashes_action"] = "UNESCAPE_AND_FORWARD"
    return settings


def ordered_plugin_filters(plugins: list[dict], config_source: dict, release: str = "head") -> list[dict]:
    """Plugins in istiod's order: by phase (AUTHN, then AUTHZ, STATS, unspecified), and within
    a phase by priority, highest first, unset lowest (PushContext.sortByPriority)."""
    ordered = []
    for phase in PHASES:
        here = [p for p in plugins if p["spec"].get("phase") == phase]
        here.sort(key=lambda p: -p["spec"].get("priority", -(2**31)))
        ordered += [ecds_filter(p, config_source, release) for p in here]
    return ordered


def gateway_hcm(name: str, plugin_filters: list[dict], cluster: str, normalization: str = "BASE") -> dict:
    """A gateway listener's HTTP connection manager as istiod builds it, trimmed of Istio's
    own filters that upstream Envoy lacks (istio.alpn, istio.stats, metadata exchange)."""

    def typed(filter_name: str, type_name: str) -> dict:
        return {"name": filter_name, "typed_config": {"@type": TYPE + type_name}}

    return {
        "@type": HCM_TYPE,
        "stat_prefix": name,
        "codec_type": "AUTO",
        "use_remote_address": True,
        "stream_idle_timeout": "0s",
        "upgrade_configs": [{"upgrade_type": "websocket"}],
        **path_settings(normalization),
        "route_config": {
            "name": "http.8080",
            "virtual_hosts": [
                {
                    "name": "cobrowse",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster}}],
                }
            ],
        },
        "http_filters": [
            *plugin_filters,
            typed("envoy.filters.http.fault", "envoy.extensions.filters.http.fault.v3.HTTPFault"),
            typed("envoy.filters.http.cors", "envoy.extensions.filters.http.cors.v3.Cors"),
            typed("envoy.filters.http.router", "envoy.extensions.filters.http.router.v3.Router"),
        ],
    }
