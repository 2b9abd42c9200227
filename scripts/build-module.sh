#!/usr/bin/env bash
# Builds the shipped module, dist/cobrowse_l7_firewall.wasm: cargo's wasm32-wasip1 output
# with every export not in src/host/exports.list removed (tools/trim-exports), then
# wasm-opt -O3 (Debian: binaryen). Cargo's own output is never modified. The processed
# module is rebuilt whenever the content of any input changes (a hash, not timestamps:
# cargo may put back an older artifact with its old timestamp).
set -euo pipefail
cd "$(dirname "$0")/.."
# CARGO_TARGET_DIR and MODULE_OUT move cargo's output and the shipped module elsewhere
# (make release builds in target/release-build, with its own flags, into dist/release/).
target=${CARGO_TARGET_DIR:-target}
raw=$target/wasm32-wasip1/release/cobrowse_l7_firewall.wasm
keep=src/host/exports.list
trim=$target/release/trim-exports
out=${MODULE_OUT:-dist/cobrowse_l7_firewall.wasm}
stamp=$(dirname "$out")/.$(basename "$out" .wasm).inputs

command -v wasm-opt >/dev/null || {
  echo "error: wasm-opt not found: apt-get install binaryen" >&2
  exit 1
}
cargo build --release --target wasm32-wasip1 -p cobrowse-l7-firewall
cargo build --release -p trim-exports
mkdir -p "$(dirname "$out")"
inputs=$(sha256sum "$raw" "$keep" "$trim" "$0"; wasm-opt --version)
if [[ ! -f "$out" || ! -f "$stamp" || "$(cat "$stamp")" != "$inputs" ]]; then
  "$trim" "$keep" "$raw" "$out.trimmed"
  wasm-opt -O3 --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int "$out.trimmed" -o "$out.tmp"
  rm -f "$out.trimmed"
  mv "$out.tmp" "$out"
  printf '%s\n' "$inputs" >"$stamp"
fi
echo "module: $out ($(stat -c %s "$out") bytes; cargo's output $(stat -c %s "$raw"))"
