#!/usr/bin/env bash
# Peak memory and time of `l7fw audit` on a generated access log (AUDIT_LOG_MIB, default
# 1024 MiB) against both shipped configurations: `make bench-audit`.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=target/audit-bench
mib=${AUDIT_LOG_MIB:-1024}
mkdir -p "$out"
log="$out/access-$mib.log"
[ -s "$log" ] || python3 tools/l7fw/bench/access_log.py "$log" "$mib"
for role in external internal; do
  .venv/bin/python -c 'import json, sys; sys.path.insert(0, "envoy"); import render
print(render.wasm_plugin(render.load(f"envoy/{sys.argv[1]}.yaml"))["configuration"]["value"])' "$role" >"$out/$role.json"
done
echo "l7fw audit on $(du -h "$log" | cut -f1) ($(wc -l <"$log") lines), two configurations:"
status=0
/usr/bin/time -v target/release/l7fw audit -c "$out/external.json" -c "$out/internal.json" "$log" \
  >"$out/report.txt" 2>"$out/time.txt" || status=$?
grep -E "Maximum resident set size|Elapsed \(wall clock\)|User time|System time" "$out/time.txt"
tail -n 1 "$out/report.txt"
echo "exit status $status (1: some request refused)"
