#!/usr/bin/env bash
# Installs the Debian packages behind missing commands, so `make test` needs nothing a
# fresh machine lacks: `need-debian.sh COMMAND[:PACKAGE] ...` (PACKAGE defaults to COMMAND).
# As root with apt-get it installs them; otherwise it names them in one line and fails.
set -euo pipefail
missing=()
for want in "$@"; do
  command -v "${want%%:*}" >/dev/null || missing+=("${want#*:}")
done
((${#missing[@]})) || exit 0
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
