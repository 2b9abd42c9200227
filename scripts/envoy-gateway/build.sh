#!/usr/bin/env bash
# Builds Envoy Gateway's cmd/envoy-gateway, the `tool` of the module in
# controlplanes/envoy-gateway, into a directory named after the digest of its go.sum, so a
# warm run, or any run while the pin is unchanged, skips the build. Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
module=controlplanes/envoy-gateway
command -v go >/dev/null || { echo "envoy-gateway: Go is needed to build it (go.dev/dl)" >&2; exit 1; }
key=$(sha256sum "$module/go.sum" | cut -c1-16)
out="target/controlplanes/envoy-gateway-$key"
bin="$out/envoy-gateway"
if [[ ! -x "$bin" ]]; then
  mkdir -p "$out"
  echo "building envoy-gateway ($module, key $key)" >&2
  (cd "$module" && nice -n 10 go build -mod=readonly -trimpath -o "../../$bin.tmp" github.com/envoyproxy/gateway/cmd/envoy-gateway)
  mv "$bin.tmp" "$bin"
fi
echo "$PWD/$bin"
