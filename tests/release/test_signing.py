"""The release's image signed with cosign in a local registry, the SBOM and the provenance
attached as attestations, and verified as a user verifies them; a tampered layer, another
key and a changed attestation each fail. Key pairs are made for the run; nothing goes to
a transparency log (no internet here), so signing says --tlog-upload=false and verifying
--insecure-ignore-tlog=true: the key-pair flow of docs/release.md."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, manifest_digest, run

PASSWORD = "release-test"
REGISTRY_FLAGS = ["--allow-insecure-registry", "--allow-http-registry"]
# What cosign calls the two predicates: `--type` of attest and verify-attestation.
SBOM, PROVENANCE = "cyclonedx", "slsaprovenance1"
PREDICATE_TYPES = {SBOM: "https://cyclonedx.org/bom", PROVENANCE: "https://slsa.dev/provenance/v1"}


class Cosign:
    def __init__(self, binary: str, home: Path):
        self.binary = binary
        home.mkdir(parents=True, exist_ok=True)
        # Its own HOME and TUF cache: nothing read from or left in the user's.
        self.env = {**os.environ, "HOME": str(home), "TUF_ROOT": str(home / "tuf"), "COSIGN_PASSWORD": PASSWORD}
        self.home = home

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, env=self.env, cwd=self.home, timeout=180
        )
        if check:
            assert result.returncode == 0, f"cosign {' '.join(args)} exited {result.returncode}\n{result.stderr}"
        return result

    def key_pair(self, name: str) -> tuple[Path, Path]:
        prefix = self.home / name
        self("generate-key-pair", "--output-key-prefix", str(prefix))
        return prefix.with_suffix(".key"), prefix.with_suffix(".pub")

    def verify(self, reference: str, public: Path, check: bool = True):
        return self("verify", "--key", str(public), "--insecure-ignore-tlog=true", *REGISTRY_FLAGS, reference, check=check)

    def verify_attestation(self, reference: str, public: Path, kind: str, check: bool = True):
        return self(
            "verify-attestation", "--key", str(public), "--type", kind, "--insecure-ignore-tlog=true",
            *REGISTRY_FLAGS, reference, check=check,
        )


@pytest.fixture(scope="module")
def cosign(cosign_binary, tmp_path_factory) -> Cosign:
    return Cosign(cosign_binary, tmp_path_factory.mktemp("cosign"))


@pytest.fixture(scope="module")
def keys(cosign):
    return cosign.key_pair("release")


@pytest.fixture(scope="module")
def signed(release, pushed, cosign, keys) -> str:
    """The release image, signed and with both attestations, by digest: REPO@sha256:…"""
    private, _ = keys
    reference = f"{pushed}@{release.digest}"
    assert manifest_digest(f"{pushed}:{release.version}") == release.digest
    cosign("sign", "--key", str(private), "--tlog-upload=false", "--yes", *REGISTRY_FLAGS, reference)
    for kind, predicate in ((SBOM, "sbom.cdx.json"), (PROVENANCE, "provenance.predicate.json")):
        cosign(
            "attest", "--key", str(private), "--type", kind, "--predicate", str(release.dir / predicate),
            "--tlog-upload=false", "--yes", *REGISTRY_FLAGS, reference,
        )
    return reference


def statements(result: subprocess.CompletedProcess) -> list[dict]:
    """The in-toto statements verify-attestation printed (one DSSE envelope a line)."""
    found = []
    for line in result.stdout.splitlines():
        if line.strip():
            envelope = json.loads(line)
            found.append(json.loads(base64.b64decode(envelope["payload"])))
    return found


def test_signature_verifies_with_the_public_key(release, signed, cosign, keys):
    result = cosign.verify(signed, keys[1])
    (claim,) = json.loads(result.stdout)
    assert claim["critical"]["image"]["docker-manifest-digest"] == release.digest
    assert claim["critical"]["type"] == "cosign container image signature"


def test_the_version_tag_verifies_while_it_names_the_signed_image(release, pushed, signed, cosign, keys):
    cosign.verify(f"{pushed}:{release.version}", keys[1])


@pytest.mark.parametrize("kind, predicate", [(SBOM, "sbom.cdx.json"), (PROVENANCE, "provenance.predicate.json")])
def test_attestation_verifies_and_holds_the_released_file(release, signed, cosign, keys, kind, predicate):
    result = cosign.verify_attestation(signed, keys[1], kind)
    (statement,) = [s for s in statements(result) if s["predicateType"] == PREDICATE_TYPES[kind]]
    assert statement["subject"][0]["digest"] == {"sha256": release.digest.removeprefix("sha256:")}
    attested = statement["predicate"]
    if kind == PROVENANCE:
        # cosign re-encodes the predicate through its SLSA v1 types, which add an empty
        # runDetails.metadata; everything else is the released file as it is.
        assert attested["runDetails"].pop("metadata", {}) == {}
    assert attested == release.json(predicate)


def test_another_key_fails(signed, cosign):
    _, other = cosign.key_pair("other")
    result = cosign.verify(signed, other, check=False)
    assert result.returncode != 0
    assert "no matching signatures" in result.stderr
    for kind in (SBOM, PROVENANCE):
        result = cosign.verify_attestation(signed, other, kind, check=False)
        assert result.returncode != 0
        assert "no matching attestations" in result.stderr


def test_tampered_layer_fails(release, pushed, signed, cosign, keys, tmp_path):
    """The image the version tag names is replaced by one whose layer holds a changed
    module (one byte): a new manifest digest, which no signature covers."""
    module = bytearray(release.wasm.read_bytes())
    module[-1] ^= 0x01
    tampered_wasm = tmp_path / "plugin.wasm"
    tampered_wasm.write_bytes(bytes(module))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    layout, tarball = tmp_path / "layout", tmp_path / "tampered.oci.tar"
    subprocess.run(
        ["bash", str(ROOT / "scripts/release/image.sh"), str(tampered_wasm), str(layout), str(tarball),
         release.version, "tampered", "tampered"],
        env=env, check=True, capture_output=True,
    )
    tag = f"{pushed}:{release.version}"
    run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", f"oci-archive:{tarball}", f"docker://{tag}"])
    try:
        assert manifest_digest(tag) != release.digest
        result = cosign.verify(tag, keys[1], check=False)
        assert result.returncode != 0
        assert "no signatures found" in result.stderr or "no matching signatures" in result.stderr
        result = cosign.verify_attestation(tag, keys[1], PROVENANCE, check=False)
        assert result.returncode != 0
        # The signed digest still verifies: pin it, not the tag.
        cosign.verify(signed, keys[1])
    finally:
        run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
             f"oci-archive:{release.tarball}", f"docker://{tag}"])


def rewrite_attestation(directory: Path, change) -> None:
    """Applies `change` to each in-toto statement of a copied .att image (skopeo dir:
    layout) and re-addresses the blob: the envelope's signature is left as it was."""
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for layer in manifest["layers"]:
        old = directory / layer["digest"].removeprefix("sha256:")
        envelope = json.loads(old.read_bytes())
        statement = json.loads(base64.b64decode(envelope["payload"]))
        change(statement)
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        data = json.dumps(envelope).encode()
        digest = hashlib.sha256(data).hexdigest()
        (directory / digest).write_bytes(data)
        old.unlink()
        layer["digest"], layer["size"] = f"sha256:{digest}", len(data)
    manifest_path.write_text(json.dumps(manifest))


def test_changed_attestation_fails(release, pushed, signed, cosign, keys, tmp_path):
    """Every attestation stored beside the image is rewritten in the registry: the
    provenance claims another source revision, the SBOM another component."""
    attestations = f"{pushed}:{release.digest.replace(':', '-')}.att"
    original, changed = tmp_path / "original", tmp_path / "changed"
    run(["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", f"docker://{attestations}", f"dir:{original}"])
    shutil.copytree(original, changed)

    def change(statement: dict) -> None:
        predicate = statement["predicate"]
        if statement["predicateType"] == PREDICATE_TYPES[PROVENANCE]:
            predicate["buildDefinition"]["externalParameters"]["source"]["digest"]["gitCommit"] = "0" * 40
        else:
            predicate["metadata"]["component"]["version"] = "9.9.9"

    rewrite_attestation(changed, change)
    run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", f"dir:{changed}", f"docker://{attestations}"])
    try:
        for kind in (SBOM, PROVENANCE):
            result = cosign.verify_attestation(signed, keys[1], kind, check=False)
            assert result.returncode != 0, kind
        # The image signature itself is untouched.
        cosign.verify(signed, keys[1])
    finally:
        run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", f"dir:{original}", f"docker://{attestations}"])
    for kind in (SBOM, PROVENANCE):
        cosign.verify_attestation(signed, keys[1], kind)
