#!/usr/bin/env bash
# The test-only module of tests/faults: the firewall built with the `fault-injection` feature
# (src/host/fault.rs: a request header makes the VM trap), in its own target directory so the
# shipped build is never touched. Written to target/fault-injection/cobrowse_l7_firewall.wasm;
# cargo makes a second run a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/fault-injection
cargo build --release --target wasm32-wasip1 -p cobrowse-l7-firewall --features fault-injection --target-dir "$dir"
cp -p "$dir/wasm32-wasip1/release/cobrowse_l7_firewall.wasm" "$dir/cobrowse_l7_firewall.wasm"
echo "test-only module: $dir/cobrowse_l7_firewall.wasm"
