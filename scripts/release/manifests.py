#!/usr/bin/env python3
"""Writes the Istio and Envoy Gateway manifests of a release, pinned to it.

    manifests.py --image REGISTRY/REPOSITORY (--layout OCI_LAYOUT | --digest sha256:HEX)
                 (--wasm MODULE | --wasm-sha256 HEX) --wasm-url URL --version X.Y.Z --out DIR

From the shipped manifests (istio/, envoy-gateway/), for both roles:
- wasmplugin-<role>.yaml: `url: oci://IMAGE@sha256:DIGEST` and `sha256: DIGEST`. For an
  oci:// URL Istio compares `sha256` with the image's manifest digest, not the module's.
- extensionpolicy-<role>.yaml: the image by digest, `sha256` the manifest digest, which
  Envoy Gateway compares with the image's.
- envoyfilter-<role>.yaml (meshes without WasmPlugin): the filter over ECDS, its module
  fetched from --wasm-url by the istio-agent and checked against `sha256`: the .wasm
  file's SHA-256.
- extensionpolicy-<role>-http.yaml: the module from --wasm-url, `sha256` the .wasm file's.

A .wasm sha256 field never holds an image digest: a --wasm-sha256 equal to the manifest
digest, or to any blob of the image, is refused (exit 1), and so is an image whose layer
does not hold the module. Exit 2: usage.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("external", "internal")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
HCM = "envoy.filters.network.http_connection_manager"
FILTER_NAME = "cobrowse_l7_firewall"


class Refused(Exception):
    pass


class Dumper(yaml.SafeDumper):
    """Multi-line strings (the plugin configuration's JSON) as literal blocks, as shipped."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_hex(value: str, what: str) -> str:
    hex_part = value.removeprefix("sha256:")
    if not HEX64.match(hex_part):
        raise Refused(f"{what} must be sha256:<64 hex digits>, not {value!r}")
    return hex_part


class Layout:
    """An OCI image layout with one manifest: its digest, its blobs and the module inside."""

    def __init__(self, path: Path):
        index = json.loads((path / "index.json").read_text(encoding="utf-8"))
        manifests = index.get("manifests") or []
        if len(manifests) != 1:
            raise Refused(f"{path}: expected one image in index.json, found {len(manifests)}")
        self.path = path
        self.digest = digest_hex(manifests[0]["digest"], "the layout's manifest digest")
        manifest = json.loads(self.blob(self.digest))
        self.blobs = {self.digest, digest_hex(manifest["config"]["digest"], "config digest")}
        self.blobs |= {digest_hex(layer["digest"], "layer digest") for layer in manifest["layers"]}
        self.module_sha256 = self.plugin_wasm_sha256(manifest["layers"][-1]["digest"])

    def blob(self, digest: str) -> bytes:
        data = (self.path / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
        if sha256_hex(data) != digest.removeprefix("sha256:"):
            raise Refused(f"{self.path}: blob {digest} does not match its digest")
        return data

    def plugin_wasm_sha256(self, layer_digest: str) -> str:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(self.blob(layer_digest))), mode="r:") as tar:
            for member in tar:
                if Path(member.name).name == "plugin.wasm" and member.isfile():
                    return sha256_hex(tar.extractfile(member).read())
        raise Refused(f"{self.path}: the image's layer holds no plugin.wasm")


def check_module_sha256(wasm_sha256: str, image_digest: str, image_blobs: set[str]) -> None:
    """The refusal the Istio and Envoy Gateway `sha256` mix-up calls for."""
    if wasm_sha256 == image_digest:
        raise Refused(
            f"sha256:{wasm_sha256} is the image's manifest digest, not the .wasm file's SHA-256: "
            "an HTTP-fetched module is checked against the file itself (sha256sum cobrowse_l7_firewall.wasm)"
        )
    if wasm_sha256 in image_blobs:
        raise Refused(f"sha256:{wasm_sha256} is a blob of the image (config or layer), not the .wasm file's SHA-256")


def load(path: Path) -> dict:
    (obj,) = [o for o in yaml.safe_load_all(path.read_text(encoding="utf-8")) if o is not None]
    return obj


def labelled(obj: dict, version: str) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("labels", {})["app.kubernetes.io/version"] = version
    return obj


def wasmplugin(role: str, image: str, digest: str, version: str) -> dict:
    obj = labelled(load(ROOT / "istio" / f"wasmplugin-{role}.yaml"), version)
    obj["spec"]["url"] = f"oci://{image}@sha256:{digest}"
    obj["spec"]["sha256"] = digest
    return obj


def extension_policy_image(role: str, image: str, digest: str, version: str) -> dict:
    obj = labelled(load(ROOT / "envoy-gateway" / f"extensionpolicy-{role}.yaml"), version)
    (wasm,) = obj["spec"]["wasm"]
    wasm["code"]["image"]["url"] = f"{image}@sha256:{digest}"
    wasm["code"]["image"]["sha256"] = digest
    return obj


def extension_policy_http(role: str, wasm_url: str, wasm_sha256: str, version: str) -> dict:
    obj = labelled(load(ROOT / "envoy-gateway" / f"extensionpolicy-{role}-http.yaml"), version)
    (wasm,) = obj["spec"]["wasm"]
    wasm["code"]["http"]["url"] = wasm_url
    wasm["code"]["http"]["sha256"] = wasm_sha256
    return obj


def envoyfilter(role: str, wasm_url: str, wasm_sha256: str, version: str) -> dict:
    """The shipped EnvoyFilter's filter, delivered over ECDS so that the istio-agent fetches
    and checks the module: an EXTENSION_CONFIG patch holding it, and the HTTP filter first
    in the chain pointing at it, with no default config: nothing is served unfiltered while
    the module is fetched, and a failed fetch becomes the agent's deny-all filter."""
    obj = labelled(load(ROOT / "istio" / f"envoyfilter-{role}.yaml"), version)
    (patch,) = obj["spec"]["configPatches"]
    value = patch["patch"]["value"]
    config = value["typed_config"]["config"]
    config["vm_config"]["code"] = {
        "remote": {
            "http_uri": {"uri": wasm_url, "timeout": "30s"},
            "sha256": wasm_sha256,
        }
    }
    name = f"{FILTER_NAME}_{role}"
    extension = {
        "applyTo": "EXTENSION_CONFIG",
        "patch": {"operation": "ADD", "value": {"name": name, "typed_config": value["typed_config"]}},
    }
    patch["patch"]["value"] = {
        "name": name,
        "config_discovery": {"config_source": {"ads": {}}, "type_urls": [WASM_TYPE]},
    }
    obj["spec"]["configPatches"] = [extension, patch]
    return obj


def header(kind: str, version: str, image: str, digest: str, wasm_sha256: str) -> str:
    return (
        f"# cobrowse-l7-firewall {version}: {kind}, pinned to this release by\n"
        f"# scripts/release/manifests.py (image {image}@sha256:{digest},\n"
        f"# module sha256 {wasm_sha256}). docs/release.md says what each sha256 field holds.\n"
    )


def write(args: argparse.Namespace) -> list[Path]:
    image_blobs: set[str] = set()
    if args.layout:
        layout = Layout(Path(args.layout))
        digest, image_blobs = layout.digest, layout.blobs
        if args.digest and digest_hex(args.digest, "--digest") != digest:
            raise Refused(f"--digest {args.digest} is not the layout's manifest digest sha256:{digest}")
    else:
        digest = digest_hex(args.digest, "--digest")
    if args.wasm:
        wasm_sha256 = sha256_hex(Path(args.wasm).read_bytes())
        if args.wasm_sha256 and digest_hex(args.wasm_sha256, "--wasm-sha256") != wasm_sha256:
            raise Refused(f"--wasm-sha256 {args.wasm_sha256} is not the SHA-256 of {args.wasm} ({wasm_sha256})")
    else:
        wasm_sha256 = digest_hex(args.wasm_sha256, "--wasm-sha256")
    check_module_sha256(wasm_sha256, digest, image_blobs)
    if args.layout and layout.module_sha256 != wasm_sha256:
        raise Refused(f"the image's plugin.wasm has sha256 {layout.module_sha256}, not the module's {wasm_sha256}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    image = args.image.removeprefix("oci://")
    written = []
    for role in ROLES:
        objects = {
            f"wasmplugin-{role}.yaml": ("Istio WasmPlugin", wasmplugin(role, image, digest, args.version)),
            f"envoyfilter-{role}.yaml": ("Istio EnvoyFilter", envoyfilter(role, args.wasm_url, wasm_sha256, args.version)),
            f"extensionpolicy-{role}.yaml": (
                "Envoy Gateway EnvoyExtensionPolicy (image)",
                extension_policy_image(role, image, digest, args.version),
            ),
            f"extensionpolicy-{role}-http.yaml": (
                "Envoy Gateway EnvoyExtensionPolicy (HTTPS)",
                extension_policy_http(role, args.wasm_url, wasm_sha256, args.version),
            ),
        }
        for name, (kind, obj) in objects.items():
            path = out / name
            text = header(kind, args.version, image, digest, wasm_sha256)
            text += yaml.dump(obj, Dumper=Dumper, sort_keys=False, width=100)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True, help="REGISTRY/REPOSITORY the image is pulled from (no tag)")
    parser.add_argument("--layout", help="the release's OCI image layout (digest and module read from it)")
    parser.add_argument("--digest", help="the image's manifest digest, sha256:HEX (without --layout)")
    parser.add_argument("--wasm", help="the released cobrowse_l7_firewall.wasm")
    parser.add_argument("--wasm-sha256", help="its SHA-256 (without --wasm; checked with it)")
    parser.add_argument("--wasm-url", required=True, help="where the .wasm is downloaded from (HTTPS)")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", required=True, help="directory to write the manifests into")
    args = parser.parse_args(argv)
    if not (args.layout or args.digest) or not (args.wasm or args.wasm_sha256):
        parser.error("give --layout or --digest, and --wasm or --wasm-sha256")
    if ":" in args.image.removeprefix("oci://").rsplit("/", 1)[-1] or "@" in args.image:
        parser.error(f"--image is REGISTRY/REPOSITORY without a tag or digest, not {args.image!r}")
    try:
        for path in write(args):
            print(path)
    except Refused as refusal:
        print(f"manifests: refused: {refusal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
