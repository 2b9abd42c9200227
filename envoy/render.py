"""Render a shipped Envoy YAML for a run outside docker-compose.

The shipped files hold docker-compose values. A local run (`make run`, the end-to-end tests)
loads the very same file and changes only these fields, by structure rather than by text:

  - admin and listener socket addresses: 127.0.0.1 and the given ports (0 asks the OS);
  - the `cobrowse` cluster endpoint: the given upstream host:port, cluster type STATIC;
  - `vm_config.code.local.filename`: the given module path.

Tests also derive variants from it: Envoy's path normalization off, or another plugin
configuration, or the listener served from a watched LDS file instead of the bootstrap.
Everything else (filters, their order, failure policy, upgrades) stays as shipped.

    python envoy/render.py envoy/internal.yaml --wasm dist/cobrowse_l7_firewall.wasm --upstream 127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import yaml

HCM = "envoy.filters.network.http_connection_manager"
WASM = "envoy.filters.http.wasm"
CLUSTER = "cobrowse"


def load(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def dump(config: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _one(items: list, what: str):
    if len(items) != 1:
        raise ValueError(f"expected exactly one {what}, found {len(items)}")
    return items[0]


def listener(config: dict) -> dict:
    return _one(config["static_resources"]["listeners"], "listener")


def connection_manager(config: dict) -> dict:
    filters = [f for chain in listener(config)["filter_chains"] for f in chain["filters"] if f["name"] == HCM]
    return _one(filters, "http_connection_manager")["typed_config"]


def wasm_plugin(config: dict) -> dict:
    filters = [f for f in connection_manager(config)["http_filters"] if f["name"] == WASM]
    return _one(filters, "wasm filter")["typed_config"]["config"]


def cluster(config: dict) -> dict:
    return _one([c for c in config["static_resources"]["clusters"] if c["name"] == CLUSTER], "cobrowse cluster")


def with_module(config: dict, wasm_path: str | Path) -> dict:
    config = copy.deepcopy(config)
    wasm_plugin(config)["vm_config"]["code"]["local"]["filename"] = str(Path(wasm_path).resolve())
    return config


def localize(
    config: dict,
    *,
    wasm_path: str | Path,
    upstream: tuple[str, int],
    listener_port: int,
    admin_port: int,
) -> dict:
    """The shipped config with local addresses, ports and module path, nothing else changed."""
    config = with_module(config, wasm_path)
    config["admin"]["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": admin_port}
    listener(config)["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": listener_port}
    upstream_cluster = cluster(config)
    upstream_cluster["type"] = "STATIC"
    endpoint = _one(
        [e for group in upstream_cluster["load_assignment"]["endpoints"] for e in group["lb_endpoints"]],
        "cobrowse endpoint",
    )
    endpoint["endpoint"]["address"]["socket_address"] = {"address": upstream[0], "port_value": upstream[1]}
    return config


def _path_handling(config: dict, on: bool) -> dict:
    config = copy.deepcopy(config)
    hcm = connection_manager(config)
    hcm["normalize_path"] = on
    hcm["merge_slashes"] = on
    hcm["path_with_escaped_slashes_action"] = "REJECT_REQUEST" if on else "KEEP_UNCHANGED"
    return config


def with_normalization(config: dict) -> dict:
    """Envoy's own path handling on (RFC 3986 normalization, merged slashes, escaped slashes
    refused): what a gateway shared with other routes may run. The filter's answers hold."""
    return _path_handling(config, True)


def without_normalization(config: dict) -> dict:
    """Envoy's own path handling off, so hostile paths reach the filter exactly as sent
    (the shipped configs' own settings)."""
    return _path_handling(config, False)


def with_plugin_configuration(config: dict, text: str) -> dict:
    """The same Envoy config with another plugin configuration (JSON text, sent as is)."""
    config = copy.deepcopy(config)
    wasm_plugin(config)["configuration"]["value"] = text
    return config


LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"


def with_dynamic_listener(config: dict, lds_path: str | Path) -> dict:
    """The same bootstrap with its listener taken out, to be served from a watched LDS file.

    Envoy reloads `lds_path` when a file is renamed onto it (write elsewhere, then rename):
    an in-place edit could be read half-written.
    """
    config = copy.deepcopy(config)
    listener(config)  # exactly one, as for every other variant
    del config["static_resources"]["listeners"]
    # Envoy requires a node identity for any xDS source, a local file included.
    config.setdefault("node", {"id": "cobrowse-l7-firewall", "cluster": "cobrowse-l7-firewall"})
    config["dynamic_resources"] = {
        "lds_config": {"resource_api_version": "V3", "path_config_source": {"path": str(Path(lds_path).resolve())}}
    }
    return config


def lds_document(config: dict) -> dict:
    """The listener of a (static) bootstrap as an LDS file's discovery response."""
    return {"resources": [{"@type": LISTENER_TYPE, **copy.deepcopy(listener(config))}]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Render a shipped Envoy YAML for a local run.")
    parser.add_argument("yaml", help="envoy/external.yaml or envoy/internal.yaml")
    parser.add_argument("--wasm", required=True, help="path of cobrowse_l7_firewall.wasm")
    parser.add_argument("--upstream", default="127.0.0.1:8080", help="HOST:PORT of the upstream")
    parser.add_argument("--listener-port", type=int, help="default: as shipped")
    parser.add_argument("--admin-port", type=int, help="default: as shipped")
    parser.add_argument("-o", "--output", help="default: stdout")
    args = parser.parse_args(argv)

    config = load(args.yaml)
    host, _, port = args.upstream.rpartition(":")
    shipped_listener = listener(config)["address"]["socket_address"]["port_value"]
    shipped_admin = config["admin"]["address"]["socket_address"]["port_value"]
    config = localize(
        config,
        wasm_path=args.wasm,
        upstream=(host, int(port)),
        listener_port=shipped_listener if args.listener_port is None else args.listener_port,
        admin_port=shipped_admin if args.admin_port is None else args.admin_port,
    )
    if args.output:
        dump(config, args.output)
    else:
        sys.stdout.write(yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
