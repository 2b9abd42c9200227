"""Envoy Gateway in standalone mode on this host, no Kubernetes: what `make test-envoy-gateway`
and `make run-envoy-gateway` share.

Envoy Gateway runs with provider Custom (resources read from files in a directory it watches,
infrastructure Host): it starts one Envoy per Gateway through func-e, and func-e runs the
Envoy found at <dataHome>/envoy-versions/<version>/bin/envoy without downloading anything,
so the project's Envoy is put there. Envoy Gateway downloads Wasm modules itself and serves
them to its Envoys over mTLS from port 18002, under the fixed name
envoy-gateway.<namespace>.svc.cluster.local; it runs in a mount namespace of its own whose
/etc/hosts resolves that name to 127.0.0.1 (unshare, bind mounts; root).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER_NAMESPACE = "envoy-gateway-system"
WASM_SERVER_NAME = f"envoy-gateway.{CONTROLLER_NAMESPACE}.svc.cluster.local"
CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
NAMESPACE = "cobrowse"  # the shipped policies' namespace
GATEWAY_CLASS = "cobrowse"
ROLES = ("external", "internal")
FORMS = {"image": "extensionpolicy-{role}.yaml", "http": "extensionpolicy-{role}-http.yaml"}


def build() -> Path:
    """The envoy-gateway binary built from controlplanes/envoy-gateway (cached by its go.sum)."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "envoy-gateway" / "build.sh")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def shipped(name: str) -> dict:
    return yaml.safe_load((ROOT / "envoy-gateway" / name).read_text(encoding="utf-8"))


def gateway_name(role: str) -> str:
    return f"cobrowse-{role}"


def gateway_class(envoy_version: str) -> list[dict]:
    """The GatewayClass and the EnvoyProxy it points at: Envoy as a host process of the
    given version (the one put in dataHome, never downloaded). The Gateways share one Envoy
    (mergeGateways): Envoy Gateway starts each host Envoy with hot restart on base id 0, so
    a second one on the same host exits ("unable to bind domain socket with base_id=0")."""
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": GATEWAY_CLASS},
            "spec": {
                "controllerName": CONTROLLER,
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": "host-envoy",
                    "namespace": NAMESPACE,
                },
            },
        },
        {
            "apiVersion": "gateway.envoyproxy.io/v1alpha1",
            "kind": "EnvoyProxy",
            "metadata": {"name": "host-envoy", "namespace": NAMESPACE},
            "spec": {
                "provider": {"type": "Host", "host": {"envoyVersion": envoy_version}},
                "mergeGateways": True,
                # The shipped access log: paths without their query (credentials ride there).
                "telemetry": shipped("envoyproxy-access-log.yaml")["spec"]["telemetry"],
            },
        },
    ]


def gateway(name: str, port: int, upstream_port: int) -> list[dict]:
    """A Gateway with one HTTP listener on 127.0.0.1:port (any host name) and an HTTPRoute
    sending every path to the demo upstream (a Backend: an address, not a Service)."""
    backend = f"{name}-upstream"
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "gatewayClassName": GATEWAY_CLASS,
                "listeners": [{"name": "http", "protocol": "HTTP", "port": port}],
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "parentRefs": [{"name": name}],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "backendRefs": [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": backend}],
                    }
                ],
            },
        },
        {
            "apiVersion": "gateway.envoyproxy.io/v1alpha1",
            "kind": "Backend",
            "metadata": {"name": backend, "namespace": NAMESPACE},
            "spec": {"endpoints": [{"ip": {"address": "127.0.0.1", "port": upstream_port}}]},
        },
    ]


def namespace() -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


CA_SECRET = "cobrowse-l7-firewall-download-ca"


def http_policy(role: str, url: str, module: bytes, ca_pem: bytes | None = None) -> list[dict]:
    """The shipped HTTP-form policy with its placeholders filled in (the URL and the module's
    SHA-256); with `ca_pem`, trusting() the download server's CA."""
    policy = shipped(FORMS["http"].format(role=role))
    policy["spec"]["wasm"][0]["code"]["http"].update(url=url, sha256=hashlib.sha256(module).hexdigest())
    return [policy] if ca_pem is None else trusting(policy, ca_pem)


def trusting(policy: dict, ca_pem: bytes) -> list[dict]:
    """An HTTP-form policy whose URL's server certificate is checked against `ca_pem`, held in
    a Secret the policy names (tls.caCertificateRef), as a private download server needs."""
    policy["spec"]["wasm"][0]["code"]["http"]["tls"] = {"caCertificateRef": {"kind": "Secret", "name": CA_SECRET}}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CA_SECRET, "namespace": NAMESPACE},
        "data": {"ca.crt": base64.b64encode(ca_pem).decode()},
    }
    return [secret, policy]


def retargeted(doc: dict, gateway: str) -> dict:
    """A copy of a shipped policy aimed at another Gateway of the same namespace."""
    doc = copy.deepcopy(doc)
    doc["metadata"]["name"] = f"{doc['metadata']['name']}-{gateway}"
    doc["spec"]["targetRefs"][0]["name"] = gateway
    return doc


def envoy_gateway_config(root: Path) -> dict:
    """standalone.yaml: resources from files in root/resources, Envoys as host processes, every
    XDG directory under root so that runs never share state."""
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyGateway",
        "gateway": {"controllerName": CONTROLLER},
        "provider": {
            "type": "Custom",
            "custom": {
                "resource": {"type": "File", "file": {"paths": [str(root / "resources")]}},
                "infrastructure": {
                    "type": "Host",
                    "host": {
                        "configHome": str(root / "config"),
                        "dataHome": str(root / "data"),
                        "stateHome": str(root / "state"),
                        "runtimeDir": str(root / "runtime"),
                    },
                },
            },
        },
        "logging": {"level": {"default": "info"}},
        "extensionApis": {"enableBackend": True},
    }


def prepare(root: Path, binary: Path, envoy: str, envoy_version: str) -> list[str]:
    """Writes standalone.yaml, the certificates (`certgen --local`), the Envoy in dataHome and
    the /etc/hosts of the mount namespace; returns the command that runs Envoy Gateway.

    In that namespace the Envoys' certificates are also mounted on /certs: the cluster of the
    Wasm server trusts /certs/ca.crt, the path of Envoy Gateway's Kubernetes deployment, even
    in host mode (without it Envoy refuses the cluster: "Invalid path: /certs/ca.crt"). The
    empty /certs mount point is left on the host."""
    for sub in ("resources", "config", "data", "state", "runtime", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    config = root / "standalone.yaml"
    config.write_text(yaml.safe_dump(envoy_gateway_config(root)), encoding="utf-8")
    subprocess.run(
        [str(binary), "certgen", "--local", "--config-home", str(root / "config")],
        check=True,
        capture_output=True,
    )
    installed = root / "data" / "envoy-versions" / envoy_version / "bin" / "envoy"
    installed.parent.mkdir(parents=True, exist_ok=True)
    installed.unlink(missing_ok=True)
    installed.symlink_to(os.path.abspath(envoy))
    write_resources(root, "00-envoy-client-certificate", [envoy_client_certificate(root)])
    hosts = root / "hosts"
    hosts.write_text(
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.0.1\t{WASM_SERVER_NAME}\n", encoding="utf-8"
    )
    unshare = shutil.which("unshare") or "unshare"
    return [
        unshare,
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /etc/hosts && mkdir -p /certs && mount --bind "$1" /certs && shift && exec "$@"',
        str(hosts),
        str(root / "config" / "certs" / "envoy"),
        str(binary),
        "server",
        "--config-path",
        str(config),
    ]


def envoy_client_certificate(root: Path) -> dict:
    """The Secret Envoy Gateway sends its Envoys as their client certificate (SDS), made from
    the certificates `certgen --local` wrote. Without it the file provider makes a Secret from
    certificates it generates itself at start, under a CA the Wasm server (which trusts
    certgen's) refuses: "tls: failed to verify certificate: x509: certificate signed by
    unknown authority", and no module ever loads."""
    certs = root / "config" / "certs" / "envoy"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "envoy", "namespace": CONTROLLER_NAMESPACE},
        "data": {
            name: base64.b64encode((certs / name).read_bytes()).decode() for name in ("ca.crt", "tls.crt", "tls.key")
        },
    }


def environment(root: Path) -> dict[str, str]:
    # The Wasm cache lives in $HOME/.eg/wasm: one per run.
    return {**os.environ, "HOME": str(root / "home")}


def write_resources(root: Path, name: str, docs: list[dict]) -> None:
    """Replaces one file of the watched directory atomically (Envoy Gateway reloads it)."""
    target = root / "resources" / f"{name}.yaml"
    tmp = root / f".{name}.yaml.tmp"
    tmp.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    os.replace(tmp, target)


def remove_resources(root: Path, name: str) -> None:
    (root / "resources" / f"{name}.yaml").unlink(missing_ok=True)


def admin_addresses(root: Path) -> dict[str, str]:
    """Each running Envoy's admin URL, by func-e's run id: func-e writes the admin address
    of each Envoy it starts into a directory of its own under runtimeDir."""
    found = {}
    for run in sorted((root / "runtime").glob("*")):
        address = run / "admin-address.txt"
        if not address.is_file():
            continue
        found[run.name] = "http://" + address.read_text().strip()
    return found

