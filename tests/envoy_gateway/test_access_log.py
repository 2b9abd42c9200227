"""The shipped access log through Envoy Gateway (envoy-gateway/envoyproxy-access-log.yaml, in
the EnvoyProxy the GatewayClass points at): the firewall's decision, and paths without their
query, where the SDKs carry bearer tokens (SPEC rule 9). Envoy Gateway's default format
would write the query; here no token value reaches Envoy's or Envoy Gateway's output, while
the upstream still receives each query byte for byte."""

from __future__ import annotations

import json
import uuid

import harness
from clients import send, target_of

# (role, method, target with {t} for the token, status, decision logged, path logged, original_path)
ROWS = [
    ("external", "GET", "/sockets/1/ws?access_token={t}", 200, None, "/sockets/1/ws", None),
    ("external", "GET", "/proxy/1/universal/com/x/https:/a?search=q&access_token={t}", 200, None,
     "/proxy/1/universal/com/x/https:/a", None),
    ("external", "GET", "/api/1/agents?%61ccess_token={t}", 403, "denied:not_covered", "/api/1/agents", None),
    ("internal", "GET", "/dashboard/sessions/1?TOKEN={t}", 200, "rewritten:spa", "/index.html", "/dashboard/sessions/1"),
    ("internal", "POST", "/dashboard?code={t}", 405, "method_not_allowed:spa", "/dashboard", None),
]


def access_records(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        start = line.find('{"')
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(record, dict) and "decision" in record and "path" in record:
            records.append(record)
    return records


def test_decisions_logged_without_any_token(deployment, external, internal, upstream):
    listeners = {"external": external, "internal": internal}
    tokens = []
    for role, method, template, status, _, _, _ in ROWS:
        token = f"secret-{uuid.uuid4().hex}"
        tokens.append(token)
        target = template.replace("{t}", token).encode()
        mark = upstream.mark()
        assert send(listeners[role].port, "h1", method, target).status == status, target
        received = [target_of(e) for e in upstream.since(mark)]
        if status == 200:
            query = target.partition(b"?")[2]
            assert received and received[0].endswith(b"?" + query), (target, received)
        else:
            assert received == [], target
    log = deployment.eg.log_path

    def logged():
        records = access_records(log.read_text(encoding="utf-8", errors="replace"))
        found = [(r.get("method"), r.get("path"), r.get("original_path"), r.get("decision")) for r in records]
        wanted = [(m, p, o, d) for _, m, _, _, d, p, o in ROWS]
        return found if all(w in found for w in wanted) else None

    harness.wait_for(logged, 30, "the access lines of every row", deployment.eg)
    text = log.read_text(encoding="utf-8", errors="replace")
    leaked = [t for t in tokens if t in text]
    assert not leaked, f"{len(leaked)} token value(s) in Envoy Gateway's output"
    for record in access_records(text):
        assert "?" not in (record.get("path") or "") + (record.get("original_path") or ""), record
