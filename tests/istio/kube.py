"""A Kubernetes API server on loopback: etcd and kube-apiserver, both built from the Go module
in controlplanes/istio, with certificates made for the run, and a small REST client that
applies manifests as `kubectl apply --server-side` does.

No kubelet, no controllers: only the API, which is all istiod reads.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from processes import Process, wait_until

START_TIMEOUT = 90.0
FIELD_MANAGER = "cobrowse-l7fw-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready_or_stopped(process: Process, condition, what: str) -> None:
    """Wait for `condition`; a process that never gets ready is stopped here, since its
    caller never gets the object to stop."""
    try:
        wait_until(condition, START_TIMEOUT, what, process)
    except BaseException:
        process.stop()
        raise


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(directory: Path) -> Path:
    """A CA, the API server's serving certificate (127.0.0.1), an admin client certificate
    (group system:masters) and the service-account signing key."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=l7fw-test-ca",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=directory)
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subject, ext in (
        ("server", "/CN=kube-apiserver", ["-extfile", "server.ext"]),
        ("admin", "/O=system:masters/CN=admin", []),
    ):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key",
                "-out", f"{name}.csr", cwd=directory)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.crt", *ext, cwd=directory)
    openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)
    return directory


def workload_certs(ca: Path, directory: Path, spiffe_id: str) -> None:
    """A workload's key, certificate chain and root as the istio-agent looks for mounted ones
    (cert-chain.pem, key.pem, root-cert.pem), signed by the run's CA."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "san.ext").write_text(f"subjectAltName=URI:{spiffe_id}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=cluster.local", "-keyout", "key.pem",
            "-out", "workload.csr", cwd=directory)
    openssl("x509", "-req", "-in", "workload.csr", "-CA", str(ca / "ca.crt"), "-CAkey", str(ca / "ca.key"),
            "-CAcreateserial", "-days", "2", "-out", "cert-chain.pem", "-extfile", "san.ext", cwd=directory)
    (directory / "root-cert.pem").write_bytes((ca / "ca.crt").read_bytes())


class Etcd(Process):
    def __init__(self, binary: Path, workdir: Path):
        self.port, peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [
                str(binary),
                "--name", "default",
                "--data-dir", str(workdir / "etcd-data"),
                "--listen-client-urls", self.url,
                "--advertise-client-urls", self.url,
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"default=http://127.0.0.1:{peer}",
                # A throwaway store: fsync only slows the run down.
                "--unsafe-no-fsync",
                "--log-level", "warn",
            ],
            workdir / "etcd.log",
        )
        ready_or_stopped(self, self.healthy, "etcd /health")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return json.loads(response.read()).get("health") == "true"
        except (OSError, ValueError):
            return False


class KubeAPIServer(Process):
    def __init__(self, binary: Path, workdir: Path, etcd: Etcd, certs: Path):
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.certs = certs
        super().__init__(
            [
                str(binary),
                "--etcd-servers", etcd.url,
                "--bind-address", "127.0.0.1",
                "--advertise-address", "127.0.0.1",
                "--secure-port", str(self.port),
                "--tls-cert-file", str(certs / "server.crt"),
                "--tls-private-key-file", str(certs / "server.key"),
                "--client-ca-file", str(certs / "ca.crt"),
                "--authorization-mode", "RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", str(certs / "sa.pub"),
                "--service-account-signing-key-file", str(certs / "sa.key"),
                "--service-cluster-ip-range", "10.96.0.0/16",
                "--cert-dir", str(workdir / "apiserver-certs"),
                "--v", "1",
            ],
            workdir / "kube-apiserver.log",
        )
        self.kubeconfig = workdir / "kubeconfig"
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "local", "cluster": {"server": self.url,
                                                               "certificate-authority": str(certs / "ca.crt")}}],
                    "users": [{"name": "admin", "user": {"client-certificate": str(certs / "admin.crt"),
                                                         "client-key": str(certs / "admin.key")}}],
                    "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
                    "current-context": "local",
                }
            )
        )
        self.client = Kube(self.url, certs)
        ready_or_stopped(self, self.client.ready, "kube-apiserver /readyz")


class KubeError(RuntimeError):
    def __init__(self, status: int, body: str):
        super().__init__(f"{status}: {body}")
        self.status = status


class Kube:
    """Just enough of a Kubernetes client: discovery, server-side apply, get, delete."""

    def __init__(self, url: str, certs: Path):
        self.url = url
        self.context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        self.context.load_cert_chain(str(certs / "admin.crt"), str(certs / "admin.key"))
        self.plurals: dict[tuple[str, str], tuple[str, bool]] = {}

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise KubeError(error.code, error.read().decode(errors="replace")) from None
        return json.loads(text) if text.startswith("{") else text

    def ready(self) -> bool:
        try:
            return self.request("GET", "/readyz") == "ok"
        except (OSError, KubeError):
            return False

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) from the API's discovery document."""
        if (api_version, kind) not in self.plurals:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for entry in self.request("GET", base)["resources"]:
                if "/" not in entry["name"]:
                    self.plurals[(api_version, entry["kind"])] = (entry["name"], entry["namespaced"])
        return self.plurals[(api_version, kind)]

    def path(self, obj: dict) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        namespace = obj["metadata"].get("namespace", "default")
        scope = f"/namespaces/{namespace}" if namespaced else ""
        return f"{base}{scope}/{plural}/{urllib.parse.quote(obj['metadata']['name'])}"

    def apply(self, obj: dict) -> dict:
        """Server-side apply, the object as given (fields it leaves out are dropped)."""
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        return self.request("PATCH", f"{self.path(obj)}?{query}", json.dumps(obj).encode(),
                            "application/apply-patch+yaml")

    def get(self, obj: dict) -> dict | None:
        try:
            return self.request("GET", self.path(obj))
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def delete(self, obj: dict) -> None:
        try:
            self.request("DELETE", self.path(obj))
        except KubeError as error:
            if error.status != 404:
                raise

    def apply_crds(self, crds: list[dict], timeout: float = 60) -> None:
        """Create each CustomResourceDefinition and wait until the API serves it."""
        for crd in crds:
            self.apply(crd)
        deadline = time.monotonic() + timeout
        for crd in crds:
            while True:
                status = (self.get(crd) or {}).get("status", {})
                if any(c["type"] == "Established" and c["status"] == "True" for c in status.get("conditions", [])):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"CRD {crd['metadata']['name']} not established after {timeout}s")
                time.sleep(0.05)
        self.plurals.clear()
