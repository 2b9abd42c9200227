"""Render a shipped Envoy YAML for a run outside docker-compose.

The shipped files hold docker-compose values. A local run (`make run`, the end-to-end tests)
loads the very same file and changes only these fields, by structure rather than by text:

  - admin and listener socket addresses: 127.0.0.1 and the given ports (0 asks the OS);
  - the `cobrowse` cluster endpoint: the given upstream host:port, cluster type STATIC;
  - `vm_config.code.local.filename`: the given module path.

Tests also derive variants from it: Envoy's path normalization off, or another plugin
configuration, or the listener served from a watched LDS file instead of the bootstrap.
Everything else (filters, their order, failure policy, upgrades) stays as shipped.

TLS and HTTP/3 are options layered on the same file (`with_tls`, then `with_http3`): the
listener gets a TLS transport socket (ALPN h2, http/1.1), and HTTP/3 adds a QUIC (UDP)
listener beside it, with the same connection manager and filters, announced by Alt-Svc.

    python envoy/render.py envoy/internal.yaml --wasm dist/cobrowse_l7_firewall.wasm --upstream 127.0.0.1:8080
    python envoy/render.py envoy/external.yaml --wasm ... --tls-cert cert.pem --tls-key key.pem --http3
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import yaml

# Envoy's own loggers that print a request's headers at debug and trace, `:path` with its
# query and `authorization` among them: the SDKs' bearer tokens ride there (`?access_token=`),
# and no log may hold a credential (docs/security.md#what-is-logged). When the rest of Envoy
# logs at debug or trace, these two stay at info; no other logger printed a token over
# HTTP/1.1, HTTP/2 or WebSockets (tests/e2e/test_credentials.py, on every supported Envoy).
HEADER_LOGGERS = ("http", "router")


def log_args(level: str) -> list[str]:
    """Envoy's arguments for `level`, the header-printing loggers capped at info."""
    args = ["--log-level", level]
    if level in ("debug", "trace"):
        args += ["--component-log-level", ",".join(f"{name}:info" for name in HEADER_LOGGERS)]
    return args


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


def _is_quic(item: dict) -> bool:
    return "udp_listener_config" in item


def listener(config: dict) -> dict:
    """The TCP listener (HTTP/1.1 and HTTP/2); with_http3 adds a QUIC one beside it."""
    return _one([item for item in config["static_resources"]["listeners"] if not _is_quic(item)], "listener")


def quic_listener(config: dict) -> dict | None:
    quic = [item for item in config["static_resources"]["listeners"] if _is_quic(item)]
    return _one(quic, "QUIC listener") if quic else None


def _hcm_of(item: dict) -> dict:
    filters = [f for chain in item["filter_chains"] for f in chain["filters"] if f["name"] == HCM]
    return _one(filters, "http_connection_manager")["typed_config"]


def connection_manager(config: dict) -> dict:
    """The TCP listener's connection manager."""
    return _hcm_of(listener(config))


def connection_managers(config: dict) -> list[dict]:
    """Every listener's connection manager (the QUIC one too): variants change them all."""
    return [_hcm_of(item) for item in config["static_resources"]["listeners"]]


def _wasm_of(hcm: dict) -> dict:
    filters = [f for f in hcm["http_filters"] if f["name"] == WASM]
    return _one(filters, "wasm filter")["typed_config"]["config"]


def wasm_plugin(config: dict) -> dict:
    return _wasm_of(connection_manager(config))


def cluster(config: dict) -> dict:
    return _one([c for c in config["static_resources"]["clusters"] if c["name"] == CLUSTER], "cobrowse cluster")


def with_module(config: dict, wasm_path: str | Path) -> dict:
    config = copy.deepcopy(config)
    for hcm in connection_managers(config):
        _wasm_of(hcm)["vm_config"]["code"]["local"]["filename"] = str(Path(wasm_path).resolve())
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
    quic = quic_listener(config)
    if quic is not None:
        quic["address"]["socket_address"]["address"] = "127.0.0.1"
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
    for hcm in connection_managers(config):
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
    for hcm in connection_managers(config):
        _wasm_of(hcm)["configuration"]["value"] = text
    return config


TLS_SOCKET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
QUIC_SOCKET = "type.googleapis.com/envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport"


def _tls_context(cert_chain: str | Path, private_key: str | Path, alpn: list[str]) -> dict:
    return {
        "common_tls_context": {
            "tls_certificates": [
                {
                    "certificate_chain": {"filename": str(Path(cert_chain).resolve())},
                    "private_key": {"filename": str(Path(private_key).resolve())},
                }
            ],
            "alpn_protocols": alpn,
        }
    }


def with_tls(config: dict, cert_chain: str | Path, private_key: str | Path) -> dict:
    """The listener served over TLS only, ALPN h2 then http/1.1 (codec AUTO follows ALPN)."""
    config = copy.deepcopy(config)
    for chain in listener(config)["filter_chains"]:
        chain["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {"@type": TLS_SOCKET, **_tls_context(cert_chain, private_key, ["h2", "http/1.1"])},
        }
    return config


def tls_files(config: dict) -> tuple[str, str]:
    """(certificate chain, private key) of a with_tls config."""
    chain = _one(listener(config)["filter_chains"], "filter chain")
    socket = chain.get("transport_socket")
    if socket is None:
        raise ValueError("HTTP/3 needs TLS: apply with_tls first")
    certificate = _one(socket["typed_config"]["common_tls_context"]["tls_certificates"], "TLS certificate")
    return certificate["certificate_chain"]["filename"], certificate["private_key"]["filename"]


def with_http3(config: dict, udp_port: int | None = None, advertised_port: int | None = None) -> dict:
    """A QUIC listener beside the TLS one: same address, UDP `udp_port` (default: the TCP
    listener's port), same certificate, connection manager and filters, codec HTTP/3.

    The TCP listener's responses announce it: `alt-svc: h3=":<advertised_port>"` (default
    udp_port), the UDP port clients reach, which differs behind a port-mapping balancer.
    Extended CONNECT (RFC 9220, WebSockets over HTTP/3) is on, as HTTP/2's is.
    """
    config = copy.deepcopy(config)
    cert_chain, private_key = tls_files(config)
    tcp = listener(config)
    address = tcp["address"]["socket_address"]
    port = address["port_value"] if udp_port is None else udp_port
    if port == 0 and advertised_port is None:
        raise ValueError("HTTP/3 on port 0: give the UDP port Alt-Svc should announce")
    hcm = copy.deepcopy(_hcm_of(tcp))
    hcm["stat_prefix"] = f"{hcm['stat_prefix']}_quic"
    hcm["codec_type"] = "HTTP3"
    hcm.pop("http2_protocol_options", None)
    # Envoy marks extended CONNECT over HTTP/3 as work in progress (docs/envoy.md).
    hcm["http3_protocol_options"] = {"allow_extended_connect": True}
    quic = {
        "name": f"{tcp['name']}_quic",
        "address": {"socket_address": {"protocol": "UDP", "address": address["address"], "port_value": port}},
        "per_connection_buffer_limit_bytes": tcp.get("per_connection_buffer_limit_bytes", 32768),
        "udp_listener_config": {"quic_options": {}, "downstream_socket_config": {"prefer_gro": True}},
        "filter_chains": [
            {
                "transport_socket": {
                    "name": "envoy.transport_sockets.quic",
                    "typed_config": {
                        "@type": QUIC_SOCKET,
                        "downstream_tls_context": _tls_context(cert_chain, private_key, ["h3"]),
                    },
                },
                "filters": [{"name": HCM, "typed_config": hcm}],
            }
        ],
    }
    config["static_resources"]["listeners"].append(quic)
    announced = port if advertised_port is None else advertised_port
    _hcm_of(tcp)["route_config"].setdefault("response_headers_to_add", []).append(
        {
            "header": {"key": "alt-svc", "value": f'h3=":{announced}"; ma=86400'},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
        }
    )
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
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve the listener over TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--http3", action="store_true", help="add a QUIC listener (needs --tls-*)")
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
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_cert:
        config = with_tls(config, args.tls_cert, args.tls_key)
    if args.http3:
        if not args.tls_cert:
            parser.error("--http3 needs --tls-cert and --tls-key")
        config = with_http3(config)
    if args.output:
        dump(config, args.output)
    else:
        sys.stdout.write(yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
