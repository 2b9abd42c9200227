#!/usr/bin/env bash
# Prints the path of cosign, built from its Go module as pinned by scripts/release/cosign/go.mod
# and go.sum. The binary is cached outside the clone, keyed by go.sum and the Go version,
# so a warm run (or a second clone) skips the build.
set -euo pipefail
here=$(cd "$(dirname "$0")/cosign" && pwd)
command -v go >/dev/null || { echo "cosign: go is missing (https://go.dev/dl or Debian golang-go)" >&2; exit 1; }
key=$(cat "$here/go.sum" "$here/go.mod" <(go version) | sha256sum | cut -c1-16)
cache=${COBROWSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cobrowse-l7-firewall}/cosign-$key
bin=$cache/cosign
if [[ ! -x $bin ]]; then
  mkdir -p "$cache"
  echo "cosign: building $(grep -m1 -o 'github.com/sigstore/cosign/v2 v[^ ]*' "$here/go.mod") into $cache" >&2
  start=$SECONDS
  (cd "$here" && nice -n 10 go build -mod=readonly -trimpath -o "$bin.tmp" github.com/sigstore/cosign/v2/cmd/cosign)
  mv "$bin.tmp" "$bin"
  echo "cosign: built in $((SECONDS - start)) s" >&2
fi
echo "$bin"
