"""Fixtures for the release tests: the release `make release` wrote (RELEASE_DIR, else
dist/release/<Cargo.toml's version>), a local registry holding its image (Debian's
docker-registry, as tests/image runs it), and cosign built from its Go module
(scripts/release/build-cosign.sh). Nothing here reaches the internet: cosign signs with
key pairs made for the run and never writes to a transparency log.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts" / "release"))

import released  # noqa: E402
from fixtures import load_image_fixtures  # noqa: E402
from released import release  # noqa: E402, F401 (shared fixture)

image_fixtures = load_image_fixtures()
registry = image_fixtures.registry
run = image_fixtures.run


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def pushed(release, registry) -> str:
    """The release's image in the local registry, tagged with its version: REGISTRY/REPOSITORY."""
    return released.push(release, registry.port)


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
