"""What the istio-agent does to an ECDS Wasm resource before Envoy sees it, restated from
Istio's source (istio/istio at 86c9f01f, pkg/wasm/):

- convert.go (MaybeConvertWasmExtensionConfig, rewriteVMConfig): a Wasm filter whose code
  is remote is fetched through the module cache; the ISTIO_META_* VM environment variables
  (pull policy, resource version) are read and stripped, and the code source is rewritten
  to the cached local file. If anything fails, the resource is replaced by an RBAC filter
  of the same name: deny-all, unless the failure policy is FAIL_OPEN.
- cache.go (LocalFileCache.Get, getOrFetch): for oci:// the checksum is the image's
  manifest digest: `sha256` if given, else a digest in the URL; a different digest is
  refused before any layer is read. The module must start with the Wasm magic. It is
  stored as <dir>/<sha256 of oci://registry/repository>/<manifest digest>.wasm.
- imagefetcher.go (PrepareFetch, extract*Image, extractWasmPluginBinary): the manifest is
  fetched (HTTPS, then plain HTTP when the registry answers in plain text), its digest taken,
  and the last layer read: a Docker schema 2 manifest needs a Docker gzip layer, otherwise an
  OCI `tar+gzip` layer (the "compat" image `make image` builds); the first tar entry whose
  base name is plugin.wasm is the module.

The registry is spoken to with skopeo (the same client tests/image uses), not by hand.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import urlparse

from istiod import RBAC_TYPE, WASM_TYPE

META_PREFIX = "ISTIO_META_"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LAYER_TYPE = {
    DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.manifest.v1+json": "application/vnd.oci.image.layer.v1.tar+gzip",
}
WASM_MAGIC = b"\x00asm"
SKOPEO = ["skopeo", "--insecure-policy"]


class FetchError(Exception):
    pass


def skopeo(*args: str) -> bytes:
    result = subprocess.run([*SKOPEO, *args], capture_output=True, timeout=120, check=False)
    if result.returncode != 0:
        raise FetchError(result.stderr.decode(errors="replace").strip())
    return result.stdout


def pull_plugin_wasm(reference: str, checksum: str, workdir: Path) -> tuple[bytes, str]:
    """(module, manifest digest hex) of an image `registry/repository[:tag|@digest]`."""
    manifest = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}")
    digest = hashlib.sha256(manifest).hexdigest()
    if checksum and digest != checksum:
        raise FetchError(
            f"module downloaded from oci://{reference} has checksum {digest}, "
            f"which does not match: {checksum}"
        )
    repository = reference.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    workdir.mkdir(parents=True, exist_ok=True)
    copied = workdir / f"pull-{digest}"
    if not copied.exists():
        # By digest: the layers read are those of the manifest just checked.
        skopeo("copy", "--src-tls-verify=false", f"docker://{repository}@sha256:{digest}", f"dir:{copied}")
    if hashlib.sha256((copied / "manifest.json").read_bytes()).hexdigest() != digest:
        raise FetchError("the copied manifest is not the one checked")
    parsed = json.loads(manifest)
    media_type = parsed.get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
    layers = parsed.get("layers") or []
    if media_type not in LAYER_TYPE or not layers:
        raise FetchError(f"the given image is in invalid format: {media_type}, {len(layers)} layers")
    layer = layers[-1]
    if layer["mediaType"] != LAYER_TYPE[media_type]:
        raise FetchError(f"invalid media type {layer['mediaType']} (expect {LAYER_TYPE[media_type]})")
    blob = (copied / layer["digest"].partition(":")[2]).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r:") as tar:
        for member in tar:
            if Path(member.name).name == "plugin.wasm":
                return tar.extractfile(member).read(), digest
    raise FetchError("plugin.wasm not found in the archive")


def cache_get(url: str, checksum: str, cache_dir: Path) -> str:
    """LocalFileCache.Get for oci:// URLs: the path of the cached module."""
    parsed = urlparse(url)
    if parsed.scheme != "oci":
        raise FetchError(f"unsupported Wasm module downloading URL scheme: {parsed.scheme}")
    reference = parsed.netloc + parsed.path
    if not checksum and "@sha256:" in reference:
        checksum = reference.rpartition("@sha256:")[2]
    module, digest = pull_plugin_wasm(reference, checksum, cache_dir)
    if len(module) < 8 or module[:4] != WASM_MAGIC:
        raise FetchError(f"fetched Wasm binary from {url} is invalid")
    name = reference.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    module_dir = cache_dir / hashlib.sha256(f"oci://{name}".encode()).hexdigest()
    module_dir.mkdir(parents=True, exist_ok=True)
    path = module_dir / f"{digest}.wasm"
    path.write_bytes(module)
    return str(path)


def deny_or_allow(name: str, fail_open: bool) -> dict:
    """The RBAC filter the agent puts in place of a module it could not fetch."""
    rbac = {"@type": RBAC_TYPE, "rules_stat_prefix": "wasm-default-allow"}
    if not fail_open:
        rbac = {"@type": RBAC_TYPE, "rules": {}, "rules_stat_prefix": "wasm-default-deny"}
    return {
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": name,
        "typed_config": rbac,
    }


def convert(resource: dict, cache_dir: Path) -> tuple[dict, str | None]:
    """(the resource as the agent forwards it to Envoy, the fetch error if any)."""
    resource = copy.deepcopy(resource)
    typed = resource.get("typed_config", {})
    if typed.get("@type") != WASM_TYPE:
        return resource, None
    config = typed["config"]
    vm = config["vm_config"]
    remote = vm["code"].get("remote")
    if remote is None:
        return resource, None
    env = vm.get("environment_variables")
    if env is not None:
        values = {k: v for k, v in env.get("key_values", {}).items() if not k.startswith(META_PREFIX)}
        if values:
            env["key_values"] = values
        elif env.get("host_env_keys"):
            env.pop("key_values", None)
        else:
            del vm["environment_variables"]
    checksum = "" if remote.get("sha256") == "nil" else remote.get("sha256", "")
    try:
        path = cache_get(remote["http_uri"]["uri"], checksum, cache_dir)
    except (FetchError, OSError, tarfile.TarError) as error:
        fail_open = config.get("failure_policy") == "FAIL_OPEN" or (
            "failure_policy" not in config and config.get("fail_open", False)
        )
        return deny_or_allow(resource["name"], fail_open), str(error)
    vm["code"] = {"local": {"filename": path}}
    return resource, None
