"""What `make release` writes: every file, its checksum, the image's annotations and layer,
the SBOM of the module's dependency graph and the provenance naming the inputs."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile

from conftest import ROOT, sha256_file

FILES = {
    "cobrowse_l7_firewall.wasm",
    "SHA256SUMS",
    "sbom.cdx.json",
    "provenance.intoto.json",
    "provenance.predicate.json",
}
ROLES = ("external", "internal")
MANIFESTS = {
    f"manifests/{name}"
    for role in ROLES
    for name in (
        f"wasmplugin-{role}.yaml",
        f"envoyfilter-{role}.yaml",
        f"extensionpolicy-{role}.yaml",
        f"extensionpolicy-{role}-http.yaml",
    )
}


def git(*args: str) -> str:
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(["git", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_every_file_is_listed_in_sha256sums_and_matches(release):
    listed = {}
    for line in (release.dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    tarball = release.tarball.name
    assert set(listed) == FILES - {"SHA256SUMS"} | MANIFESTS | {tarball}
    for name, digest in listed.items():
        assert sha256_file(release.dir / name) == digest, name
    # sha256sum -c, as a user runs it.
    subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=release.dir, check=True)


def test_image_annotations_name_version_revision_source_and_created(release):
    manifest = json.loads(release.blob(release.digest))
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.version"] == release.version
    assert annotations["org.opencontainers.image.revision"] == git("rev-parse", "HEAD")
    assert annotations["org.opencontainers.image.source"]
    # created is the commit's time (SOURCE_DATE_EPOCH), not the build's.
    commit_time = git("log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ")
    assert annotations["org.opencontainers.image.created"] == commit_time
    config = json.loads(release.blob(manifest["config"]["digest"]))
    assert config["created"] == commit_time
    for key, value in annotations.items():
        assert config["config"]["Labels"][key] == value


def test_image_layer_is_plugin_wasm_and_nothing_else(release):
    manifest = json.loads(release.blob(release.digest))
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(release.blob(layer["digest"])))) as tar:
        members = [m for m in tar if m.isfile()]
        assert [m.name for m in members] == ["plugin.wasm"]
        assert tar.extractfile(members[0]).read() == release.wasm.read_bytes()
        assert {(m.uid, m.gid) for m in tar} == {(0, 0)}


def test_tarball_is_the_layout(release):
    with tarfile.open(release.tarball) as tar:
        names = [m.name.removeprefix("./") for m in tar if m.isfile()]
        assert names == sorted(names)
        assert {(m.uid, m.gid, m.uname, m.gname) for m in tar} == {(0, 0, "", "")}
        for name in names:
            assert tar.extractfile(name if name in tar.getnames() else f"./{name}").read() == (
                release.layout / name
            ).read_bytes()


def test_module_carries_its_version_and_revision(release):
    stamp = f"{release.version} ({git('rev-parse', '--short=12', 'HEAD')})".encode()
    assert stamp in release.wasm.read_bytes()


def test_sbom_is_cyclonedx_of_the_modules_dependency_graph(release):
    sbom = release.json("sbom.cdx.json")
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] == "1.5"
    assert sbom["metadata"]["component"]["name"] == "cobrowse-l7-firewall"
    assert sbom["metadata"]["component"]["version"] == release.version
    assert [t["name"] for t in sbom["metadata"]["tools"]] == ["cargo-cyclonedx"]
    assert "/build/cobrowse-l7-firewall" in sbom["metadata"]["component"]["bom-ref"]
    names = {c["name"] for c in sbom["components"]}
    # What the module links for wasm32 (Cargo.toml), and not the tests' or the tools' crates.
    assert {"proxy-wasm", "serde", "serde_json", "serde_path_to_error", "log", "matchit"} <= names
    assert not names & {"proptest", "clap", "indicatif", "nix"}
    for component in sbom["components"]:
        assert component["purl"].startswith(f"pkg:cargo/{component['name']}@{component['version']}")
        assert any(h["alg"] == "SHA-256" for h in component.get("hashes", [])), component["name"]


def test_provenance_is_an_in_toto_slsa_v1_statement_of_this_build(release):
    statement = release.json("provenance.intoto.json")
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert subjects["cobrowse_l7_firewall.wasm"] == sha256_file(release.wasm)
    assert subjects[f"cobrowse-l7-firewall:{release.version}"] == release.digest.removeprefix("sha256:")
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["command"] == f"make release VERSION={release.version}"
    revision = git("rev-parse", "HEAD")
    assert build["externalParameters"]["source"]["digest"] == {"gitCommit": revision}
    inputs = {d.get("name"): d for d in build["resolvedDependencies"]}
    for name in ("Cargo.lock", "Cargo.toml", "rust-toolchain.toml", "src/host/exports.list"):
        assert inputs[name]["digest"]["sha256"] == sha256_file(ROOT / name), name
    assert inputs["rustc"]["annotations"]["target"] == "wasm32-wasip1"
    assert inputs["rustc"]["annotations"]["version"].startswith("rustc 1.")
    assert statement["predicate"] == release.json("provenance.predicate.json")
