#!/usr/bin/env bash
# The release's OCI image, byte for byte the same from the same commit: Istio's Wasm image
# format (compat variant, as scripts/build-image.sh builds it: FROM scratch, one gzip layer
# holding plugin.wasm), with every time taken from SOURCE_DATE_EPOCH, file modes and owner
# fixed, the architecture fixed (not the build host's), and the
# org.opencontainers.image.* annotations on the manifest and as labels on the config.
#   scripts/release/image.sh WASM LAYOUT_DIR TARBALL VERSION REVISION SOURCE_URL
set -euo pipefail
wasm=$1 layout=$2 tarball=$3 version=$4 revision=$5 source=$6
: "${SOURCE_DATE_EPOCH:?must be set to the commit time}"
command -v umoci >/dev/null || { echo "image: umoci is missing (Debian: apt-get install umoci)" >&2; exit 1; }
umask 022
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
rm -rf "$layout"
mkdir -p "$(dirname "$layout")"
annotations=(
  "org.opencontainers.image.title=cobrowse-l7-firewall"
  "org.opencontainers.image.description=Envoy proxy-wasm L7 firewall for Cobrowse Enterprise"
  "org.opencontainers.image.version=$version"
  "org.opencontainers.image.revision=$revision"
  "org.opencontainers.image.source=$source"
  "org.opencontainers.image.created=$created"
  "org.opencontainers.image.licenses=Apache-2.0"
)
args=()
for a in "${annotations[@]}"; do args+=(--config.label "$a" --manifest.annotation "$a"); done
umoci init --layout "$layout"
umoci new --image "$layout:$version"
# amd64 whatever the build host: Wasm loaders ignore it, and tools that pick linux/amd64
# by default accept it (as for the image istio/Dockerfile builds on the usual hosts).
umoci config --image "$layout:$version" --no-history --created "$created" \
  --architecture amd64 --os linux "${args[@]}"
umoci unpack --rootless --image "$layout:$version" "$bundle/b" >/dev/null
install -m 0444 "$wasm" "$bundle/b/rootfs/plugin.wasm"
chmod 0755 "$bundle/b/rootfs"
touch -h -d "@$SOURCE_DATE_EPOCH" "$bundle/b/rootfs/plugin.wasm" "$bundle/b/rootfs"
umoci repack --image "$layout:$version" --history.created "$created" \
  --history.created_by "make release VERSION=$version" "$bundle/b"
umoci gc --layout "$layout"

# The layout as one archive (oci-archive): names sorted, times, owners and modes fixed.
find "$layout" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
tar --create --file "$tarball" --directory "$layout" --sort=name --format=gnu \
  --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --mode=a+rX,u+w,go-w .
sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' "$layout/index.json"
