#!/usr/bin/env bash
# make release VERSION=x.y.z: writes dist/release/<version>/ (RELEASE_DIR overrides it):
#   cobrowse_l7_firewall.wasm, SHA256SUMS, image/ (OCI layout) and
#   cobrowse-l7-firewall-<version>.oci.tar, sbom.cdx.json (CycloneDX, cargo-cyclonedx),
#   provenance.intoto.json (+ provenance.predicate.json), manifests/ (pinned to this release).
# The same commit gives the same bytes whatever the directory or CARGO_HOME: times from the
# commit (SOURCE_DATE_EPOCH), paths remapped, archives with fixed order, times and owners.
# RELEASE_IMAGE (registry/repository) and RELEASE_WASM_URL name where users will pull the
# image and download the module from; the manifests are pinned to them.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
version=${1:?usage: release.sh VERSION}
py=${PYTHON:-.venv/bin/python}

fail() { echo "release: $*" >&2; exit 1; }
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "VERSION must be x.y.z (semver), not '$version'"
declared=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
[[ $version == "$declared" ]] || fail "Cargo.toml says $declared: the module reports that version, so bump it first (docs/release.md)"
grep -q "^## \[$version\]" CHANGELOG.md || fail "CHANGELOG.md has no '## [$version]' section"
git diff --quiet HEAD -- || fail "uncommitted changes: a release is built from a commit"

revision=$(git rev-parse HEAD)
source_url=${RELEASE_SOURCE_URL:-$(git remote get-url origin 2>/dev/null || echo "https://localhost/cobrowse-l7-firewall.git")}
image_repo=${RELEASE_IMAGE:-registry.example.com/cobrowse/cobrowse-l7-firewall}
wasm_url=${RELEASE_WASM_URL:-https://downloads.example.com/cobrowse-l7-firewall/$version/cobrowse_l7_firewall.wasm}
export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
out=${RELEASE_DIR:-dist/release/$version}
cyclonedx=$(bash scripts/release/install-tools.sh cargo-cyclonedx)
echo "release: $version from $revision (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH) into $out"
rm -rf "$out"
mkdir -p "$out"

# The module: make build's steps in a target directory of its own (other flags), with the
# source and CARGO_HOME paths remapped so that neither is compiled into it. The last
# remapping that matches wins: CARGO_HOME may lie inside the source directory.
cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd)
export CARGO_TARGET_DIR=$root/target/release-build
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$root=/build/cobrowse-l7-firewall --remap-path-prefix=$cargo_home=/cargo"
export MODULE_OUT=$CARGO_TARGET_DIR/cobrowse_l7_firewall.wasm
bash scripts/build-module.sh
install -m 0644 "$MODULE_OUT" "$out/cobrowse_l7_firewall.wasm"
grep -a -q -F "$version (${revision:0:12})" "$out/cobrowse_l7_firewall.wasm" ||
  fail "the module does not report $version (${revision:0:12}): a stale build?"
if grep -a -q -e "$root" -e "$cargo_home" "$out/cobrowse_l7_firewall.wasm"; then
  fail "the module holds a build path ($root or $cargo_home)"
fi

digest=$(bash scripts/release/image.sh "$out/cobrowse_l7_firewall.wasm" "$out/image" \
  "$out/cobrowse-l7-firewall-$version.oci.tar" "$version" "$revision" "$source_url")
echo "release: image $digest"

# The module's dependency graph for its target, normal dependencies only (what is linked);
# SOURCE_DATE_EPOCH makes cargo-cyclonedx write the commit's time and no random serial number.
"$cyclonedx" cyclonedx --manifest-path Cargo.toml --format json --spec-version 1.5 \
  --target wasm32-wasip1 --no-build-deps --override-filename sbom.cdx >/dev/null
find tools -name 'sbom.cdx.json' -delete
# The workspace's own bom-refs are cargo's package ids, which hold the source directory
# (path+file:///…): remapped as rustc's paths are, so the SBOM is the same wherever it is built.
"$py" -c 'import sys; t = open(sys.argv[1]).read(); open(sys.argv[2], "w").write(t.replace("path+file://" + sys.argv[3], "path+file:///build/cobrowse-l7-firewall"))' \
  sbom.cdx.json "$out/sbom.cdx.json" "$root"
rm sbom.cdx.json
grep -q -e "$root" "$out/sbom.cdx.json" && fail "the SBOM holds the build path $root"

"$py" scripts/release/provenance.py "$out" "$version" "$revision" "$source_url" "$digest"
"$py" scripts/release/manifests.py --image "$image_repo" --layout "$out/image" \
  --wasm "$out/cobrowse_l7_firewall.wasm" --wasm-url "$wasm_url" --version "$version" \
  --out "$out/manifests" >/dev/null

(cd "$out" && find . -type f ! -name SHA256SUMS ! -path './image/*' | sed 's|^\./||' | LC_ALL=C sort \
  | xargs sha256sum >SHA256SUMS)
echo "release: $out"
echo "  module  sha256:$(sha256sum "$out/cobrowse_l7_firewall.wasm" | cut -d' ' -f1)"
echo "  image   $digest"
