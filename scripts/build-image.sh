#!/usr/bin/env bash
# make image: the OCI image a WasmPlugin `url: oci://...` pulls, built without a container
# engine. Istio's Wasm image format, compat variant: FROM scratch, one gzip layer holding
# nothing but the module, named plugin.wasm (what istio/Dockerfile builds with Docker).
#   scripts/build-image.sh WASM LAYOUT_DIR TAG [PUSH_DESTINATION]
# writes an OCI image layout (LAYOUT_DIR, reference TAG) with umoci and, given a destination
# such as docker://registry.example.com/cobrowse-l7-firewall:0.1.0, pushes it with skopeo.
set -euo pipefail
wasm=$1 layout=$2 tag=$3 push=${4:-}
for tool in umoci ${push:+skopeo}; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing (Debian: apt-get install $tool)" >&2; exit 1; }
done
[[ -f $wasm ]] || { echo "image: $wasm is missing (make build)" >&2; exit 1; }

bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
rm -rf "$layout"
mkdir -p "$(dirname "$layout")"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci config --image "$layout:$tag" --no-history \
  --config.label org.opencontainers.image.title=cobrowse-l7-firewall \
  --config.label "org.opencontainers.image.version=$tag"
# --rootless: no root needed; the unpacked scratch image is an empty root file system.
umoci unpack --rootless --image "$layout:$tag" "$bundle/b"
install -m 0444 "$wasm" "$bundle/b/rootfs/plugin.wasm"
umoci repack --image "$layout:$tag" "$bundle/b"
umoci gc --layout "$layout"

manifest=$(sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' "$layout/index.json")
echo "image: $layout:$tag (manifest $manifest), one layer: plugin.wasm = $wasm"
if [[ -n $push ]]; then
  skopeo copy ${SKOPEO_ARGS:-} "oci:$layout:$tag" "$push"
  echo "image: pushed to $push"
else
  echo "image: push with: skopeo copy oci:$layout:$tag docker://REGISTRY/cobrowse-l7-firewall:$tag"
fi
