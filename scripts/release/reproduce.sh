#!/usr/bin/env bash
# Rebuilds a release from the same commit in a second directory with a CARGO_HOME of its
# own (crates fetched afresh) and compares: the .wasm byte for byte, the image digest, and
# then every file SHA256SUMS lists. Exit 1 names the first file that differs.
#   scripts/release/reproduce.sh VERSION [RELEASE_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
version=${1:?usage: reproduce.sh VERSION [RELEASE_DIR]}
first=$(cd "${2:-dist/release/$version}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-hardlinks "$root" "$work/src"
git -C "$work/src" checkout --quiet --detach "$(git rev-parse HEAD)"
# The same origin URL as the first build, which the image's source annotation records.
if url=$(git remote get-url origin 2>/dev/null); then git -C "$work/src" remote set-url origin "$url"; else git -C "$work/src" remote remove origin; fi
mkdir -p "$work/cargo-home"
echo "reproduce: building $version again in $work/src with CARGO_HOME=$work/cargo-home"
(cd "$work/src" && CARGO_HOME=$work/cargo-home PYTHON=$root/.venv/bin/python RELEASE_DIR=$work/release \
  COBROWSE_CACHE=${COBROWSE_CACHE:-} bash scripts/release/release.sh "$version")
second=$work/release

status=0
cmp "$first/cobrowse_l7_firewall.wasm" "$second/cobrowse_l7_firewall.wasm" || status=1
a=$(cat "$first/image/index.json") b=$(cat "$second/image/index.json")
[[ $a == "$b" ]] || { echo "reproduce: image digests differ: $a / $b" >&2; status=1; }
diff "$first/SHA256SUMS" "$second/SHA256SUMS" >&2 || status=1
diff -r "$first/image" "$second/image" >&2 || status=1
if ((status)); then echo "reproduce: $version is NOT reproducible" >&2; exit 1; fi
echo "reproduce: identical: module sha256:$(sha256sum "$first/cobrowse_l7_firewall.wasm" | cut -d' ' -f1)," \
  "image $(sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' "$first/image/index.json"), every file in SHA256SUMS"
