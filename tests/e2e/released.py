"""The release `make release` wrote, as the suites that deliver it load it (tests/istio,
tests/envoy_gateway, tests/release): found in RELEASE_DIR, else dist/release/<Cargo.toml's
version>; its image pushed to a local registry; its manifests pinned to that registry by
scripts/release/manifests.py, as a user pins them to their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS_PY = ROOT / "scripts" / "release" / "manifests.py"
REPOSITORY = "cobrowse-l7-firewall"


def cargo_version() -> str:
    match = re.search(r'^version = "(.+)"', (ROOT / "Cargo.toml").read_text(encoding="utf-8"), re.M)
    if match is None:
        raise RuntimeError("Cargo.toml has no version")
    return match.group(1)


@dataclass(frozen=True)
class Release:
    dir: Path
    version: str

    @property
    def wasm(self) -> Path:
        return self.dir / "cobrowse_l7_firewall.wasm"

    @property
    def layout(self) -> Path:
        return self.dir / "image"

    @property
    def tarball(self) -> Path:
        return self.dir / f"cobrowse-l7-firewall-{self.version}.oci.tar"

    @property
    def digest(self) -> str:
        """The image's manifest digest, sha256:HEX."""
        (entry,) = json.loads((self.layout / "index.json").read_text())["manifests"]
        return entry["digest"]

    @property
    def wasm_sha256(self) -> str:
        return hashlib.sha256(self.wasm.read_bytes()).hexdigest()

    def blob(self, digest: str) -> bytes:
        return (self.layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()

    def json(self, name: str) -> dict:
        return json.loads((self.dir / name).read_text(encoding="utf-8"))


def find() -> Release | None:
    """The release the Makefile built before the suite (its targets depend on `release`)."""
    version = cargo_version()
    path = Path(os.environ.get("RELEASE_DIR") or ROOT / "dist" / "release" / version).resolve()
    return Release(path, version) if (path / "SHA256SUMS").is_file() else None


def missing_message() -> str:
    version = cargo_version()
    return f"no release in dist/release/{version}: run make release VERSION={version} (or set RELEASE_DIR)"


def push(release: Release, registry_port: int) -> str:
    """The release's image copied into the registry on 127.0.0.1:registry_port under its
    version tag, as a user publishes it: REGISTRY/REPOSITORY, which clients pull by digest."""
    repository = f"127.0.0.1:{registry_port}/{REPOSITORY}"
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
         f"oci-archive:{release.tarball}", f"docker://{repository}:{release.version}"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return repository


def pin(release: Release, image: str, wasm_url: str, out: Path) -> dict[str, dict]:
    """The release's manifests pinned to `image` (REGISTRY/REPOSITORY) and `wasm_url`, by name
    (wasmplugin-external.yaml, extensionpolicy-internal-http.yaml, …)."""
    command = [sys.executable, str(MANIFESTS_PY), "--image", image, "--layout", str(release.layout),
               "--wasm", str(release.wasm), "--wasm-url", wasm_url, "--version", release.version, "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"manifests.py exited {result.returncode}: {result.stderr}")
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))}


@pytest.fixture(scope="session")
def release() -> Release:
    found = find()
    if found is None:
        pytest.fail(missing_message())  # never a skip: nothing would be checked
    return found


@pytest.fixture(scope="session")
def module_bytes(release) -> bytes:
    """The released module, for the suites that deliver the release."""
    return release.wasm.read_bytes()
