#!/usr/bin/env bash
# Builds etcd, kube-apiserver, istiod (pilot-discovery) and the istio-agent
# (pilot-agent) from the Go module in controlplanes/istio, into a directory
# named after the hash of its go.mod and go.sum: a warm run with the same pins
# finds the four binaries there and builds nothing.
# Istio's CRDs and its Envoy bootstrap template are copied there from the same module, and
# istio.version names the Istio module that ran. Prints the directory on stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mod="$root/controlplanes/istio"
key="$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
out="$root/target/controlplanes/istio/$key"
bins=(etcd kube-apiserver pilot-discovery pilot-agent)
files=(crd-all.gen.yaml envoy_bootstrap.json istio.version)

have_all() {
    local b
    for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done
    for f in "${files[@]}"; do [ -s "$out/$f" ] || return 1; done
}

if ! have_all; then
    command -v go >/dev/null || { echo "go is not installed (Go 1.26 or newer is needed)" >&2; exit 1; }
    start=$SECONDS
    tmp="$out.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    echo "building the Istio control plane into $out (cold: tens of minutes)" >&2
    # Static binaries, no cgo: the same as Istio's and Kubernetes' release builds.
    (cd "$mod" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags='-s -w' -o "$tmp/" tool)
    # go.etcd.io/etcd/server/v3 is etcd's main package; go names the binary after "v3"'s parent.
    for f in "$tmp"/server "$tmp"/v3; do
        if [ -e "$f" ]; then mv "$f" "$tmp/etcd"; fi
    done
    istio="$(cd "$mod" && go list -m -f '{{.Dir}}' istio.io/istio)"
    cp "$istio/manifests/charts/base/files/crd-all.gen.yaml" "$istio/tools/packaging/common/envoy_bootstrap.json" "$tmp/"
    chmod u+w "$tmp"/*  # copies of the read-only module cache
    (cd "$mod" && go list -m istio.io/istio k8s.io/kubernetes go.etcd.io/etcd/server/v3) > "$tmp/istio.version"
    rm -rf "$out" && mv "$tmp" "$out"
    have_all || { echo "build finished but a binary is missing in $out" >&2; ls "$out" >&2; exit 1; }
    echo "control plane built in $((SECONDS - start)) s" >&2
    # Binaries of earlier pins are not needed again.
    find "$(dirname "$out")" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
fi
echo "$out"
