#!/usr/bin/env bash
# Builds the module, then shrinks it with wasm-opt (Debian: binaryen) when installed.
# cargo decides whether anything changed; wasm-opt runs only on a freshly linked module.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=target/wasm32-wasip1/release/cobrowse_l7_firewall.wasm
stamp="$wasm.optimized"
cargo build --release --target wasm32-wasip1 -p cobrowse-l7-firewall
if ! command -v wasm-opt >/dev/null; then
  echo "note: wasm-opt not found (apt-get install binaryen); module left unoptimized"
elif [[ ! -f "$stamp" || "$wasm" -nt "$stamp" ]]; then
  wasm-opt -O3 --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int "$wasm" -o "$wasm.tmp"
  mv "$wasm.tmp" "$wasm"
  touch "$stamp"
fi
echo "module: $wasm ($(stat -c %s "$wasm") bytes)"
