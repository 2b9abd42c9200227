"""The OCI image Istio's WasmPlugin pulls, built by `make image`'s script without a container
engine, pushed to a real registry on 127.0.0.1 and pulled back with skopeo.

Istio (pkg/wasm/imagefetcher.go) accepts a Docker schema 2 manifest whose last layer is
`application/vnd.docker.image.rootfs.diff.tar.gzip`, or an OCI manifest whose last layer is
`application/vnd.oci.image.layer.v1.tar+gzip` (the "compat" variant: a tar.gz holding
plugin.wasm), or the two-layer "oci" artifact variant. An uncompressed or zstd layer is refused.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from conftest import TAG, run

ISTIO_MANIFESTS = {
    "application/vnd.oci.image.manifest.v1+json": "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.distribution.manifest.v2+json": (
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    ),
}
SKOPEO = ["skopeo", "--insecure-policy"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_files(blob: bytes) -> dict[str, bytes]:
    """Regular files of a tar.gz layer by name (`./` stripped); anything else is reported too."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r:") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if member.isdir() and name in ("", "."):
                continue
            assert member.isfile(), f"layer holds {member.name!r}, not a regular file"
            files[name] = tar.extractfile(member).read()
    return files


def check_istio_image(manifest_bytes: bytes, blob, module: bytes) -> None:
    """Everything Istio's fetcher relies on, and that the layer is exactly the shipped module."""
    manifest = json.loads(manifest_bytes)
    media_type = manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json")
    assert media_type in ISTIO_MANIFESTS, media_type
    assert len(manifest["layers"]) == 1, manifest["layers"]
    layer = manifest["layers"][-1]
    assert layer["mediaType"] == ISTIO_MANIFESTS[media_type], layer
    data = blob(layer["digest"])
    assert sha256(data) == layer["digest"] and len(data) == layer["size"]
    assert layer_files(data) == {"plugin.wasm": module}


@pytest.fixture(scope="session")
def pushed(image_layout, registry):
    run([*SKOPEO, "copy", "--dest-tls-verify=false", f"oci:{image_layout}:{TAG}", registry.reference()])
    return registry.reference()


def local_manifest(layout: Path) -> tuple[bytes, str]:
    index = json.loads((layout / "index.json").read_text())
    [entry] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == TAG]
    algorithm, _, hex_digest = entry["digest"].partition(":")
    return (layout / "blobs" / algorithm / hex_digest).read_bytes(), entry["digest"]


def layout_blob(layout: Path):
    return lambda digest: (layout / "blobs" / "sha256" / digest.partition(":")[2]).read_bytes()


def test_built_image_is_what_istio_pulls(image_layout, module_bytes):
    manifest, digest = local_manifest(image_layout)
    assert sha256(manifest) == digest
    blob = layout_blob(image_layout)
    check_istio_image(manifest, blob, module_bytes)
    # The config names the uncompressed layer: what a runtime verifies after unpacking.
    parsed = json.loads(manifest)
    config = json.loads(blob(parsed["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == [sha256(gzip.decompress(blob(parsed["layers"][0]["digest"])))]


def test_registry_round_trip_keeps_the_digest(image_layout, pushed):
    _, digest = local_manifest(image_layout)
    raw = run([*SKOPEO, "inspect", "--tls-verify=false", "--raw", pushed]).stdout.encode()
    assert sha256(raw) == digest
    inspected = json.loads(run([*SKOPEO, "inspect", "--tls-verify=false", pushed]).stdout)
    assert inspected["Digest"] == digest


def test_pulled_image_holds_exactly_the_shipped_module(tmp_path, pushed, module_bytes):
    pulled = tmp_path / "pulled"
    run([*SKOPEO, "copy", "--src-tls-verify=false", pushed, f"dir:{pulled}"])
    manifest = (pulled / "manifest.json").read_bytes()
    check_istio_image(manifest, lambda d: (pulled / d.partition(":")[2]).read_bytes(), module_bytes)


def test_check_refuses_an_image_istio_would_not_load(image_layout, module_bytes):
    """The checks above can fail: another module, or an uncompressed layer, is caught."""
    manifest, _ = local_manifest(image_layout)
    blob = layout_blob(image_layout)
    with pytest.raises(AssertionError):
        check_istio_image(manifest, blob, module_bytes + b"\0")
    uncompressed = json.loads(manifest)
    uncompressed["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    with pytest.raises(AssertionError):
        check_istio_image(json.dumps(uncompressed).encode(), blob, module_bytes)
