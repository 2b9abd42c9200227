#!/usr/bin/env python3
"""SLSA v1 provenance of a release as an in-toto Statement v1 (provenance.intoto.json) and
its predicate alone (provenance.predicate.json, what `cosign attest --type slsaprovenance1`
wraps into its own statement about the image).

    provenance.py RELEASE_DIR VERSION REVISION SOURCE_URL IMAGE_DIGEST

The subjects are the module and the image; the build definition names the source revision,
the toolchain and target, the build command and the digest of every input that decides the
bytes (Cargo.lock, Cargo.toml, rust-toolchain.toml, the export list, the build scripts).
No wall-clock time is recorded, so the same commit gives the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = "cobrowse_l7_firewall.wasm"
TARGET = "wasm32-wasip1"
BUILD_TYPE = "https://slsa.dev/provenance/v1/buildtypes/cobrowse-l7-firewall/make-release/v1"
INPUTS = [
    "Cargo.lock",
    "Cargo.toml",
    "rust-toolchain.toml",
    "build.rs",
    "src/host/exports.list",
    "scripts/build-module.sh",
    "scripts/release/release.sh",
    "scripts/release/image.sh",
]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_line(argv: list[str]) -> str:
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[0]


def predicate(version: str, revision: str, source: str) -> dict:
    rustc = first_line(["rustc", "--version"])
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "command": f"make release VERSION={version}",
                "version": version,
                "source": {"uri": f"git+{source}@{revision}", "digest": {"gitCommit": revision}},
            },
            "internalParameters": {
                "target": TARGET,
                "cargoProfile": "release",
                "rustflags": "--remap-path-prefix <source>=/build/cobrowse-l7-firewall "
                "--remap-path-prefix <CARGO_HOME>=/cargo",
                "SOURCE_DATE_EPOCH": os.environ["SOURCE_DATE_EPOCH"],
            },
            "resolvedDependencies": [
                {"uri": f"git+{source}@{revision}", "digest": {"gitCommit": revision}},
                *(
                    {"name": name, "digest": {"sha256": sha256_file(ROOT / name)}}
                    for name in INPUTS
                ),
                {"name": "rustc", "annotations": {"version": rustc, "target": TARGET}},
                {"name": "cargo", "annotations": {"version": first_line(["cargo", "--version"])}},
                {"name": "wasm-opt", "annotations": {"version": first_line(["wasm-opt", "--version"])}},
                {"name": "umoci", "annotations": {"version": first_line(["umoci", "--version"])}},
            ],
        },
        # No runDetails.metadata: its times would change every build, and cosign's SLSA
        # types spell invocationId otherwise than the spec, so it would not round-trip.
        "runDetails": {"builder": {"id": os.environ.get("RELEASE_BUILDER_ID", "https://localhost/make-release")}},
    }


def main(argv: list[str]) -> int:
    release, version, revision, source, image_digest = argv
    out = Path(release)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": MODULE, "digest": {"sha256": sha256_file(out / MODULE)}},
            {"name": f"cobrowse-l7-firewall:{version}", "digest": {"sha256": image_digest.removeprefix("sha256:")}},
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": predicate(version, revision, source),
    }
    dump = {"indent": 2, "sort_keys": True}
    (out / "provenance.intoto.json").write_text(json.dumps(statement, **dump) + "\n", encoding="utf-8")
    (out / "provenance.predicate.json").write_text(json.dumps(statement["predicate"], **dump) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
