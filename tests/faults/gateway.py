"""The gateway the fault tests run: one Envoy, two workers, both shipped listeners.

- `external` is static, its firewall taken over ECDS from a watched file (Envoy's path-based
  config source, as a control plane delivers a WasmPlugin);
- `internal` comes from a watched LDS file, so a policy change there is a listener update.

Everything else is the shipped YAML. Each published configuration has `filter_state` on, so
the access log names the group that let each request through: a configuration's probe group
carries its version in its name, which tells which configuration decided.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import ops
from processes import ENVOY, ROOT, WASM_PATH, Envoy, Process, Upstream, render, require_file, wait_until

WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
EXTENSION_TYPE = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"
ECDS_NAME = "cobrowse_l7_firewall_external"
WORKERS = 2
# The module's VMs in this Envoy, each of which loads every configuration: one per worker and
# two on the main thread (the VM that first loads the module and checks the configuration,
# and the main thread's own copy). Measured, and what `wasm.wasm_vm_count` says.
VMS = WORKERS + 2
START_TIMEOUT = 60.0


def write_atomically(path: Path, document: dict) -> None:
    # Envoy reloads a watched file when another is renamed onto it, never half-written.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    os.replace(tmp, path)


def localized(role: str, upstream: Upstream, wasm_path: str = WASM_PATH, port: int = 0) -> dict:
    return render.localize(render.load(ROOT / "envoy" / f"{role}.yaml"), wasm_path=wasm_path,
                           upstream=("127.0.0.1", upstream.port), listener_port=port, admin_port=0)


def wasm_filter(listener: dict) -> dict:
    hcm = render._hcm_of(listener)
    (found,) = [f for f in hcm["http_filters"] if f["name"] == render.WASM]
    return found


class Gateway(Process):
    """Envoy on the bootstrap above, `--concurrency 2`; `extra` are more command-line arguments
    (e.g. `--restart-epoch`). Policies are plugin configurations (dicts)."""

    def __init__(self, workdir: Path, upstream: Upstream, external: dict, internal: dict, name: str = "gateway",
                 extra: list[str] = (), wasm_path: str = WASM_PATH, failure_policy: str | None = None,
                 ports: dict[str, int] | None = None, hot_restart: tuple[int, int] | None = None):
        """`ports`: fixed listener ports (default: chosen by the OS). `hot_restart`: (base id,
        epoch) for `--base-id`/`--restart-epoch`; an epoch above 0 takes over the listeners of
        the running one and reads the same ECDS and LDS files (the caller publishes nothing)."""
        require_file(ENVOY, "run `make venv` or set ENVOY")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.ecds = workdir / "ecds.json"
        self.lds = workdir / "lds.json"
        self.shipped = {role: localized(role, upstream, wasm_path, (ports or {}).get(role, 0))
                        for role in ("external", "internal")}
        if failure_policy:
            for config in self.shipped.values():
                render.wasm_plugin(config)["failure_policy"] = failure_policy
        self.version = 0
        if hot_restart is None or hot_restart[1] == 0:
            self.publish_external(external)
            self.publish_internal(internal)
        bootstrap = copy.deepcopy(self.shipped["external"])
        static = render.listener(bootstrap)
        filter_ = wasm_filter(static)
        filter_.pop("typed_config")
        filter_["config_discovery"] = {
            "config_source": {"path_config_source": {"path": str(self.ecds)}, "resource_api_version": "V3"},
            "type_urls": [WASM_TYPE],
        }
        filter_["name"] = ECDS_NAME
        bootstrap["node"] = {"id": "cobrowse-l7-firewall", "cluster": "cobrowse-l7-firewall"}
        bootstrap["dynamic_resources"] = {
            "lds_config": {"resource_api_version": "V3", "path_config_source": {"path": str(self.lds)}}
        }
        config_path = render.dump(bootstrap, workdir / f"{name}.yaml")
        admin_file = workdir / f"{name}.admin"
        admin_file.unlink(missing_ok=True)
        # Hot restart shares memory by base id: off unless asked, so no other Envoy is met.
        restart = (["--base-id", str(hot_restart[0]), "--restart-epoch", str(hot_restart[1])] if hot_restart
                   else ["--disable-hot-restart"])
        super().__init__([ENVOY, "-c", str(config_path), "--concurrency", str(WORKERS), *restart, "--admin-address-path",
                          str(admin_file), "--log-level", "info", *ops.FAST_FLUSH, *extra], workdir / f"{name}.log",
                         workdir / f"{name}.access")
        self.admin = ""

        def ready() -> bool:
            if not admin_file.exists():
                return False
            self.admin = "http://" + admin_file.read_text().strip()
            return self.admin_get("/ready") == "LIVE" and len(self.listener_ports()) == 2

        try:
            wait_until(ready, START_TIMEOUT, f"{name} /ready", self)
        except BaseException:
            self.stop()
            raise
        self.ports = self.listener_ports()

    admin_get = Envoy.admin_get

    def access_lines(self) -> list[ops.AccessLine]:
        """The access log (stdout, a file of its own: stderr lines cannot cut into it)."""
        return ops.access_lines(self.stdout_path.read_text(encoding="utf-8", errors="replace").splitlines())

    def listener_ports(self) -> dict[str, int]:
        listeners = json.loads(self.admin_get("/listeners?format=json") or '{"listener_statuses": []}')
        return {l["name"]: l["local_address"]["socket_address"]["port_value"] for l in listeners["listener_statuses"]}

    # --- publishing -------------------------------------------------------------------

    def plugin_config(self, role: str, plugin: dict | str) -> dict:
        text = plugin if isinstance(plugin, str) else json.dumps(plugin)
        return render.with_plugin_configuration(self.shipped[role], text)

    def publish_external(self, plugin: dict | str) -> None:
        """A new ECDS resource for the external listener's firewall."""
        self.version += 1
        typed = wasm_filter(render.listener(self.plugin_config("external", plugin)))["typed_config"]
        resource = {"@type": EXTENSION_TYPE, "name": ECDS_NAME, "typed_config": typed}
        write_atomically(self.ecds, {"version_info": str(self.version), "resources": [resource]})

    def publish_internal(self, plugin: dict | str) -> None:
        """A new LDS resource: the internal listener with another plugin configuration."""
        self.version += 1
        document = render.lds_document(self.plugin_config("internal", plugin))
        document["version_info"] = str(self.version)
        write_atomically(self.lds, document)

    # --- Envoy's state ----------------------------------------------------------------

    def stats(self, pattern: str) -> dict[str, int]:
        text = self.admin_get(f"/stats?filter={pattern}") or ""
        return {k: int(v) for k, v in re.findall(r"^([^:\s]+): (\d+)$", text, re.M)}

    def stat(self, name: str) -> int:
        return self.stats(f"^{re.escape(name)}$").get(name, 0)

    def ecds_stat(self, what: str) -> int:
        return self.stat(f"extension_config_discovery.http_filter.{ECDS_NAME}.{what}")

    def lds_stat(self, what: str) -> int:
        return self.stat(f"listener_manager.lds.{what}")
