"""A running Envoy Gateway (standalone mode, scripts/envoy-gateway/standalone.py) and its
Envoys, for the tests: resources written as files, Envoys found by their listener port."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import standalone
from processes import Process, wait_until

import policy

START_TIMEOUT = 120.0


class GatewayEnvoy:
    """One of the Envoys Envoy Gateway started (one per Gateway), through its admin API."""

    def __init__(self, admin: str):
        self.admin = admin

    def admin_get(self, path: str) -> str | None:
        try:
            with urllib.request.urlopen(self.admin + path, timeout=5) as response:
                return response.read().decode().strip()
        except OSError:
            return None

    def config_dump(self) -> dict:
        return json.loads(self.admin_get("/config_dump?include_eds") or "{}")

    def counter(self, name: str) -> int:
        stats = json.loads(self.admin_get(f"/stats?format=json&filter={name}") or "{}")
        return sum(s.get("value", 0) for s in stats.get("stats", []) if s.get("name") == name)


class EnvoyGateway(Process):
    def __init__(self, root: Path, binary: Path, envoy: str, envoy_version: str, resources: dict[str, list[dict]]):
        self.root = root
        argv = standalone.prepare(root, binary, envoy, envoy_version)
        for name, docs in resources.items():
            standalone.write_resources(root, name, docs)
        with contextlib.ExitStack() as files:
            out = files.enter_context(open(root / "envoy-gateway.log", "wb"))
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=standalone.environment(root),
            )
        self.argv = argv
        self.log_path = self.stdout_path = root / "envoy-gateway.log"

    def apply(self, name: str, docs: list[dict]) -> None:
        standalone.write_resources(self.root, name, docs)

    def delete(self, name: str) -> None:
        standalone.remove_resources(self.root, name)

    def envoys(self) -> dict[int, GatewayEnvoy]:
        """Each running Envoy by the port of its Gateway listener."""
        found = {}
        for admin in standalone.admin_addresses(self.root).values():
            envoy = GatewayEnvoy(admin)
            listeners = json.loads(envoy.admin_get("/listeners?format=json") or "{}").get("listener_statuses", [])
            for listener in listeners:
                found[listener["local_address"]["socket_address"]["port_value"]] = envoy
        return found

    def envoy_on(self, port: int, timeout: float = START_TIMEOUT) -> GatewayEnvoy:
        return wait_until(lambda: self.envoys().get(port), timeout, f"an Envoy listening on {port}", self)


@dataclass
class Listener:
    """A Gateway listener, shaped as tests/e2e's Listener so its tests run against it. Envoy
    Gateway always turns Envoy's path normalization on: `raw` is False."""

    name: str
    port: int
    envoy: GatewayEnvoy
    groups: list[str]
    spa: bool
    raw: bool = False

    @property
    def prefixes(self) -> list[str]:
        return policy.prefixes(self.groups)

    @property
    def role(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Envoy Gateway {self.name} :{self.port}>"


def wait_for(condition, timeout: float, what: str, process=None):
    """wait_until, polling less often: each poll here is a request through a gateway."""
    return wait_until(condition, timeout, what, process, interval=0.3)


def listener_config(dump: dict, port: int) -> dict:
    """The dynamic listener bound to `port` in a config dump."""
    [listener] = [
        entry["active_state"]["listener"]
        for config in dump["configs"]
        if config["@type"].endswith("ListenersConfigDump")
        for entry in config.get("dynamic_listeners", [])
        if "active_state" in entry
        and entry["active_state"]["listener"]["address"]["socket_address"]["port_value"] == port
    ]
    return listener


def connection_manager(dump: dict, port: int) -> dict:
    """The HTTP connection manager of the listener on `port`."""
    listener = listener_config(dump, port)
    chains = listener.get("filter_chains", []) + ([listener["default_filter_chain"]] if "default_filter_chain" in listener else [])
    [hcm] = [
        f["typed_config"]
        for chain in chains
        for f in chain["filters"]
        if f["name"] == "envoy.filters.network.http_connection_manager"
    ]
    return hcm


def routes(dump: dict, port: int) -> list[dict]:
    """The routes of the listener on `port` (its RDS route configuration)."""
    name = connection_manager(dump, port)["rds"]["route_config_name"]
    return [
        route
        for config in dump["configs"]
        if config["@type"].endswith("RoutesConfigDump")
        for entry in config.get("dynamic_route_configs", [])
        if entry["route_config"]["name"] == name
        for host in entry["route_config"].get("virtual_hosts", [])
        for route in host.get("routes", [])
    ]
