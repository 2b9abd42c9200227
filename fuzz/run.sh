#!/usr/bin/env bash
# Fuzzes each target for a bounded time, one after the other.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]     (default: $FUZZ_SECONDS or 60; all targets)
#
# cargo-fuzz needs a nightly compiler (sanitizer flags). A nightly from rustup is used
# when installed; otherwise the pinned stable compiler (rust-toolchain.toml) with
# RUSTC_BOOTSTRAP=1, which accepts the same flags. FUZZ_TOOLCHAIN=<rustup name> picks
# a toolchain; FUZZ_TOOLCHAIN=pinned forces the bootstrapped pinned one.
#
# The committed seeds in fuzz/corpus/<target>/ are read, never written: new inputs go
# to fuzz/target/corpus/<target>/ and crashes to fuzz/artifacts/<target>/ (both ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(config decision)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

toolchain="${FUZZ_TOOLCHAIN:-}"
if [[ -z "$toolchain" ]]; then
  toolchain=pinned
  # grep without -q reads all input, so pipefail never sees a SIGPIPE'd rustup.
  rustup toolchain list 2>/dev/null | grep '^nightly' >/dev/null && toolchain=nightly
fi
if [[ "$toolchain" == pinned ]]; then
  cargo=(cargo)
  export RUSTC_BOOTSTRAP=1
else
  cargo=(cargo "+$toolchain")
fi
echo "== fuzzing with $("${cargo[@]}" --version)${RUSTC_BOOTSTRAP:+ (RUSTC_BOOTSTRAP=1)}"

for target in "${targets[@]}"; do
  work="fuzz/target/corpus/$target"
  mkdir -p "$work"
  echo "== $target: ${seconds}s"
  "${cargo[@]}" fuzz run "$target" "$work" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" \
    -dict="fuzz/dict/$target.dict" \
    -print_final_stats=1
done
