"""What operators read from the compose stack: the JSON access log through
`docker-compose logs`, and the firewall's Prometheus counters on the admin interface."""

from __future__ import annotations

import shlex
import subprocess
import uuid

import ops
from clients import get1, h1_request, http1
from conftest import wait_for
from processes import ROOT


def test_access_log_lines_are_json_with_the_decision(external, internal):
    token = uuid.uuid4().hex
    requests = [
        # An allowed request has no decision unless the plugin's filter_state is on (it is off).
        # The token is in the path: the access log leaves the query out (SPEC rule 9).
        (external, b"/api/1/devices/%s?t=1" % token.encode(), 200, "-"),
        (external, b"/api/1/agents/%s?t=1" % token.encode(), 403, "denied:not_covered"),
        (external, b"/api/1/devices;x/%s?t=1" % token.encode(), 400, "rejected:semicolon"),
        (internal, b"/dashboard/%s?t=1" % token.encode(), 200, "rewritten:spa"),
    ]
    for service, target, status, _ in requests:
        assert http1(service.port, h1_request("GET", target)).status == status

    def logged(service):
        lines = [a for a in ops.access_lines(service.logs()) if ops.client_path(a).endswith(token)]
        return lines if len(lines) == sum(1 for s, *_ in requests if s is service) else None

    # Envoy flushes its stdout access log every 10 s by default (the compose file keeps it).
    found = {s.name: wait_for(lambda s=s: logged(s), f"{s.name} access log", 25) for s in (external, internal)}
    seen = [(line.status, line.decision) for s in (external, internal) for line in found[s.name]]
    assert sorted(seen) == sorted((status, decision) for _, _, status, decision in requests)
    (rewrite,) = found[internal.name]
    assert rewrite.path == "/index.html"
    assert rewrite.original == f"/dashboard/{token}"
    assert rewrite.record["listener"] == "internal"


def allowed(group: str) -> tuple:
    return ops.sample("cobrowse_l7fw_allowed", cobrowse_l7fw_listener="external", cobrowse_l7fw_group=group)


def refused(outcome: str) -> tuple:
    return ops.sample(f"cobrowse_l7fw_{outcome}", cobrowse_l7fw_listener="external")


def test_prometheus_counters_count_each_request(external):
    before = ops.firewall_counters(external)
    assert allowed("sdk") in before and refused("denied") in before and refused("rejected") in before
    for target, status in [
        (b"/api/1/devices", 200),
        (b"/api/1/sessions/1", 200),
        (b"/api/1/agents", 403),
        (b"/api/1/devices/..%2f", 400),
    ]:
        assert get1(external.port, target).status == status
    after = ops.firewall_counters(external)
    changed = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
    assert changed == {allowed("sdk"): 2, refused("denied"): 1, refused("rejected"): 1}


def test_admin_command_in_docs_reaches_the_counters(external):
    # The command docs/envoy.md gives users for the admin interface, run as written.
    doc = (ROOT / "docs" / "envoy.md").read_text()
    (block,) = [b for b in doc.split("```") if "exec -T envoy-external" in b]
    argv = shlex.split(block.replace("\\\n", " "))
    assert argv[:3] == ["docker-compose", "-f", "envoy/docker-compose.yaml"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HTTP/1.1 200")
    assert '\ncobrowse_l7fw_allowed{cobrowse_l7fw_listener="external",cobrowse_l7fw_group="sdk"} ' in done.stdout
