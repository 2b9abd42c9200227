"""What Envoy Gateway makes of the shipped envoy-gateway/ policies, restated from its source
(envoyproxy/gateway at d32f2829, August 2026):

- internal/gatewayapi/envoyextensionpolicy.go (buildWasm): the controller fetches the code
  itself: an `Image` from the registry (the image fetcher is Istio's: `sha256` must equal
  the manifest digest, the last layer's plugin.wasm is the module), an `HTTP` URL checked
  against its `sha256`. It serves the module from its own HTTP server and hands Envoy that
  URL with the module's SHA-256. `config` is passed on as the JSON the API server stores.
- internal/xds/translator/wasm.go: an HTTP filter `envoy.filters.http.wasm/<policy
  config name>`, disabled on the listener and enabled per route (typed_per_filter_config);
  `vm_id` is that config name (no VM shared with other filters), `root_id` from `rootID`,
  `fail_open` from `failOpen`, the remote code with retries, cluster `wasm_cluster`.
- internal/xds/translator/listener.go, internal/gatewayapi/clienttrafficpolicy.go:
  `normalize_path` always on, `merge_slashes` unless `path.disableMergeSlashes`, escaped
  slashes per `path.escapedSlashesAction` (default: merged and UnescapeAndRedirect).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent import FetchError, pull_plugin_wasm
from istiod import HCM_TYPE, TYPE, WASM_TYPE, jsonpb

WASM_CLUSTER = "wasm_cluster"
ESCAPED_SLASHES = {
    "KeepUnchanged": "KEEP_UNCHANGED",
    "RejectRequest": "REJECT_REQUEST",
    "UnescapeAndRedirect": "UNESCAPE_AND_REDIRECT",
    "UnescapeAndForward": "UNESCAPE_AND_FORWARD",
}


def config_name(policy: dict, index: int = 0) -> str:
    meta = policy["metadata"]
    return f"{policy['kind'].lower()}/{meta['namespace']}/{meta['name']}/wasm/{index}"


def filter_name(policy: dict) -> str:
    return f"envoy.filters.http.wasm/{config_name(policy)}"


def fetch_module(policy: dict, download, workdir: Path) -> bytes:
    """The controller's fetch: `download(url) -> bytes` for HTTP, the registry for Image."""
    code = policy["spec"]["wasm"][0]["code"]
    if code["type"] == "HTTP":
        module = download(code["http"]["url"])
        digest = hashlib.sha256(module).hexdigest()
        if code["http"].get("sha256") and digest != code["http"]["sha256"]:
            raise FetchError(f"module downloaded from {code['http']['url']} has checksum {digest}")
        return module
    url = code["image"]["url"].removeprefix("oci://")
    module, _ = pull_plugin_wasm(url, code["image"].get("sha256", ""), workdir)
    return module


def wasm_filter(policy: dict, serving_url: str, module_sha256: str) -> dict:
    wasm = policy["spec"]["wasm"][0]
    name = config_name(policy)
    config = {
        "name": wasm.get("name", name),
        "root_id": wasm["rootID"],
        "vm_config": {
            "vm_id": name,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {
                "remote": {
                    "http_uri": {"uri": serving_url, "cluster": WASM_CLUSTER, "timeout": "10s"},
                    "sha256": module_sha256,
                    "retry_policy": {
                        "num_retries": 10,
                        "retry_back_off": {"base_interval": "1s", "max_interval": "30s"},
                    },
                }
            },
        },
        # The API server's JSON: compact, keys sorted, Go's escapes (as jsonpb writes it).
        "configuration": {"@type": TYPE + "google.protobuf.StringValue", "value": jsonpb(wasm.get("config"))},
        "fail_open": wasm.get("failOpen", False),
    }
    return {
        "name": filter_name(policy),
        "disabled": True,
        "typed_config": {"@type": WASM_TYPE, "config": config},
    }


def path_settings(traffic_policy: dict | None) -> dict:
    path = (traffic_policy or {}).get("spec", {}).get("path", {})
    return {
        "normalize_path": True,
        "merge_slashes": not path.get("disableMergeSlashes", False),
        "path_with_escaped_slashes_action": ESCAPED_SLASHES[
            path.get("escapedSlashesAction", "UnescapeAndRedirect")
        ],
    }


def gateway_hcm(
    name: str, policy: dict, traffic_policy: dict, serving_url: str, module_sha256: str, cluster: str
) -> dict:
    """A Gateway listener's connection manager with one HTTPRoute (PathPrefix /) the policy covers."""
    route = {
        "match": {"prefix": "/"},
        "route": {"cluster": cluster},
        "typed_per_filter_config": {
            filter_name(policy): {"@type": TYPE + "envoy.config.route.v3.FilterConfig", "config": {}}
        },
    }
    return {
        "@type": HCM_TYPE,
        "stat_prefix": name,
        "codec_type": "AUTO",
        "use_remote_address": True,
        "server_header_transformation": "PASS_THROUGH",
        "upgrade_configs": [{"upgrade_type": "websocket"}],
        **path_settings(traffic_policy),
        "route_config": {
            "name": name,
            "virtual_hosts": [{"name": name, "domains": ["*"], "routes": [route]}],
        },
        "http_filters": [
            wasm_filter(policy, serving_url, module_sha256),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": TYPE + "envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
    }
