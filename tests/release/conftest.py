"""Fixtures for the release tests: the release `make release` wrote (RELEASE_DIR, else
dist/release/<Cargo.toml's version>), a local registry holding its image (Debian's
docker-registry, as tests/image runs it), and cosign built from its Go module
(scripts/release/build-cosign.sh). Nothing here reaches the internet: cosign signs with
key pairs made for the run and never writes to a transparency log.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts" / "release"))

from fixtures import load_image_fixtures  # noqa: E402

REPOSITORY = "cobrowse-l7-firewall"


image_fixtures = load_image_fixtures()
registry = image_fixtures.registry
run = image_fixtures.run


def cargo_version() -> str:
    match = re.search(r'^version = "(.+)"', (ROOT / "Cargo.toml").read_text(encoding="utf-8"), re.M)
    assert match
    return match.group(1)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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

    def blob(self, digest: str) -> bytes:
        return (self.layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()

    def json(self, name: str) -> dict:
        return json.loads((self.dir / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def release() -> Release:
    version = cargo_version()
    path = Path(os.environ.get("RELEASE_DIR") or ROOT / "dist" / "release" / version).resolve()
    if not (path / "SHA256SUMS").is_file():
        # Never a skip: without a release nothing would be checked.
        pytest.fail(f"no release in {path}: run make release VERSION={version} (or set RELEASE_DIR)")
    return Release(path, version)


@pytest.fixture(scope="session")
def pushed(release, registry) -> str:
    """The release's image in the local registry, tagged with its version: REGISTRY/REPOSITORY."""
    repo = f"127.0.0.1:{registry.port}/{REPOSITORY}"
    run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
         f"oci-archive:{release.tarball}", f"docker://{repo}:{release.version}"])
    return repo


def manifest_digest(reference: str) -> str:
    """The digest of the manifest the registry serves for `reference`, as pulled."""
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"],
        capture_output=True, timeout=120, check=True,
    ).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture(scope="session")
def cosign_binary() -> str:
    """$COSIGN (make test-release builds it first, outside the tests' timeout), else built here."""
    if os.environ.get("COSIGN"):
        return os.environ["COSIGN"]
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release" / "build-cosign.sh")], capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
