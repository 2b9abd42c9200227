"""The manifests `make release` pins to the release (scripts/release/manifests.py): valid
against the Istio and Envoy Gateway CRD schemas (tests/manifests), the same plugin
configuration as shipped, image fields holding the image digest and .wasm fields the
module's SHA-256, and each image loaded by digest from a registry as the gateways load it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, image_fixtures, manifest_digest, sha256_file
from released import MANIFESTS_PY, pin

sys.path.insert(0, str(ROOT / "tests" / "manifests"))
from test_istio_manifests import errors_against, l7fw, l7fw_check  # noqa: E402, F401 (l7fw is a fixture)

SCHEMA = {
    "WasmPlugin": "istio-wasmplugin-v1alpha1.json",
    "EnvoyFilter": "istio-envoyfilter-v1alpha3.json",
    "EnvoyExtensionPolicy": "envoygateway-envoyextensionpolicy-v1alpha1.json",
}
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
WASM_URL = "https://downloads.example.com/cobrowse-l7-firewall/cobrowse_l7_firewall.wasm"


def write(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(MANIFESTS_PY), *args], capture_output=True, text=True, timeout=60)


def load(directory: Path) -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(directory.glob("*.yaml"))}


def shipped(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def plugin_config(name: str, obj: dict) -> dict:
    if obj["kind"] == "WasmPlugin":
        return obj["spec"]["pluginConfig"]
    if obj["kind"] == "EnvoyExtensionPolicy":
        return obj["spec"]["wasm"][0]["config"]
    (extension,) = [p for p in obj["spec"]["configPatches"] if p["applyTo"] == "EXTENSION_CONFIG"]
    return json.loads(extension["patch"]["value"]["typed_config"]["config"]["configuration"]["value"])


@pytest.fixture(scope="module")
def released(release) -> dict[str, dict]:
    return load(release.dir / "manifests")


@pytest.fixture(scope="module")
def local(release, pushed, tmp_path_factory) -> dict[str, dict]:
    """The manifests re-pinned to the local registry, as a user does for their own."""
    return pin(release, pushed, WASM_URL, tmp_path_factory.mktemp("manifests"))


def test_every_manifest_is_valid_against_its_crd_schema(released):
    assert len(released) == 8
    for name, obj in released.items():
        assert errors_against(SCHEMA[obj["kind"]], obj) == [], name
        assert obj["metadata"]["labels"]["app.kubernetes.io/version"]


def test_plugin_configuration_is_the_shipped_one_and_passes_l7fw_check(released, l7fw):
    for name, obj in released.items():
        role = "internal" if "internal" in name else "external"
        config = plugin_config(name, obj)
        assert config == shipped(f"istio/wasmplugin-{role}.yaml")["spec"]["pluginConfig"], name
        result = l7fw_check(l7fw, json.dumps(config))
        assert result.returncode == 0, (name, result.stdout, result.stderr)


def test_image_fields_hold_the_image_digest_and_wasm_fields_the_module_sha256(release, released):
    digest = release.digest.removeprefix("sha256:")
    module = sha256_file(release.wasm)
    for role in ("external", "internal"):
        plugin = released[f"wasmplugin-{role}.yaml"]["spec"]
        assert plugin["url"].endswith(f"@sha256:{digest}") and plugin["url"].startswith("oci://")
        assert plugin["sha256"] == digest
        image = released[f"extensionpolicy-{role}.yaml"]["spec"]["wasm"][0]["code"]
        assert image["type"] == "Image" and image["image"]["url"].endswith(f"@sha256:{digest}")
        assert image["image"]["sha256"] == digest
        http = released[f"extensionpolicy-{role}-http.yaml"]["spec"]["wasm"][0]["code"]
        assert http["type"] == "HTTP" and http["http"]["sha256"] == module
        patches = released[f"envoyfilter-{role}.yaml"]["spec"]["configPatches"]
        extension, filter_patch = patches
        remote = extension["patch"]["value"]["typed_config"]["config"]["vm_config"]["code"]["remote"]
        assert remote["sha256"] == module
        # The filter in the chain is the ECDS one, first, failing closed when it is missing.
        assert filter_patch["applyTo"] == "HTTP_FILTER"
        assert filter_patch["patch"]["operation"] == "INSERT_FIRST"
        discovery = filter_patch["patch"]["value"]["config_discovery"]
        assert discovery["type_urls"] == [WASM_TYPE] and "default_config" not in discovery
        assert filter_patch["patch"]["value"]["name"] == extension["patch"]["value"]["name"]


def pulled_module(reference: str, digest: str, workdir: Path) -> bytes:
    """The module of image `reference` pulled by `digest` with skopeo: its one layer's
    `plugin.wasm` (tests/istio and tests/envoy_gateway see the gateways pull it themselves)."""
    repository = reference.removeprefix("oci://").split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    workdir.mkdir(parents=True, exist_ok=True)
    copied = workdir / "pulled"
    pulled = subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false",
         f"docker://{repository}@sha256:{digest}", f"dir:{copied}"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert pulled.returncode == 0, pulled.stderr
    manifest = (copied / "manifest.json").read_bytes()
    assert hashlib.sha256(manifest).hexdigest() == digest, "skopeo copied another manifest"
    (layer,) = json.loads(manifest)["layers"]
    blob = (copied / layer["digest"].partition(":")[2]).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r:") as tar:
        (member,) = [m for m in tar if Path(m.name).name == "plugin.wasm"]
        return tar.extractfile(member).read()


def test_wasmplugin_image_loads_by_its_pinned_digest(release, local, tmp_path):
    for role in ("external", "internal"):
        spec = local[f"wasmplugin-{role}.yaml"]["spec"]
        assert spec["url"].endswith(f"@sha256:{spec['sha256']}")
        module = pulled_module(spec["url"], spec["sha256"], tmp_path / role)
        assert module == release.wasm.read_bytes()


def test_extension_policy_image_is_the_digest_the_registry_serves(release, local, tmp_path):
    for role in ("external", "internal"):
        image = local[f"extensionpolicy-{role}.yaml"]["spec"]["wasm"][0]["code"]["image"]
        assert manifest_digest(image["url"]) == f"sha256:{image['sha256']}"
        module = pulled_module(image["url"], image["sha256"], tmp_path / role)
        assert module == release.wasm.read_bytes()


def test_http_sha256_is_the_downloaded_modules(release, local, tmp_path):
    server = image_fixtures.FileServer(release.dir)
    try:
        url = f"http://127.0.0.1:{server.port}/cobrowse_l7_firewall.wasm"
        with urllib.request.urlopen(url, timeout=10) as response:
            downloaded = response.read()
    finally:
        server.stop()
    for role in ("external", "internal"):
        http = local[f"extensionpolicy-{role}-http.yaml"]["spec"]["wasm"][0]["code"]["http"]
        assert hashlib.sha256(downloaded).hexdigest() == http["sha256"]


def test_an_image_digest_in_a_wasm_sha256_field_is_refused(release, tmp_path):
    common = ["--image", "registry.example.com/x/cobrowse-l7-firewall", "--wasm-url", WASM_URL,
              "--version", release.version, "--out", str(tmp_path / "out")]
    manifest = json.loads(release.blob(release.digest))
    for wrong in (release.digest, manifest["layers"][0]["digest"], manifest["config"]["digest"]):
        result = write(*common, "--layout", str(release.layout), "--wasm-sha256", wrong)
        assert result.returncode == 1, wrong
        assert "not the .wasm file's SHA-256" in result.stderr
    # Without the layout the manifest digest alone is still caught.
    result = write(*common, "--digest", release.digest, "--wasm-sha256", release.digest)
    assert result.returncode == 1
    assert "is the image's manifest digest" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_module_the_image_does_not_hold_is_refused(release, tmp_path):
    other = tmp_path / "other.wasm"
    other.write_bytes(release.wasm.read_bytes() + b"\0")
    result = write("--image", "r.example/cobrowse-l7-firewall", "--layout", str(release.layout), "--wasm", str(other),
                   "--wasm-url", WASM_URL, "--version", release.version, "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "the image's plugin.wasm has sha256" in result.stderr


def test_a_tag_in_image_is_a_usage_error(release, tmp_path):
    result = write("--image", "r.example/cobrowse-l7-firewall:1.0", "--digest", release.digest, "--wasm",
                   str(release.wasm), "--wasm-url", WASM_URL, "--version", release.version, "--out", str(tmp_path))
    assert result.returncode == 2
