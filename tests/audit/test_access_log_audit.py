"""`l7fw audit` on the JSON access log written by the shipped Envoy configs: real traffic
(HTTP/1.1, HTTP/2, WebSocket upgrades both ways) through both roles, then the log is
audited against the shipped configuration and a candidate one.

Expected refusals come from the contract (oracle.py) and must equal the decisions the
running module logged for the same requests.
"""

from __future__ import annotations

import json

import pytest

import oracle
import ops
from clients import H2Connection, http1, send
from conftest import LoggingEnvoy, plugin_file, run_l7fw
from ops import UPGRADE

# (method, target, protocol, upgrade): "h1" an HTTP/1.1 Upgrade, "h2" extended CONNECT.
TRAFFIC = {
    "external": [
        ("GET", "/api/1/devices/7", "h1", None),
        ("POST", "/api/1/sessions?x=1", "h2", None),
        ("GET", "/sockets/1/abc", "h2", "h2"),
        ("GET", "/sdk-js/sdk.js", "h1", None),
        ("GET", "/api/1/devices", "h1", "h1"),
        ("GET", "/api/2/devices/1", "h1", None),
        ("GET", "/api/2/devices/2?y=2", "h2", None),
        ("GET", "/admin", "h1", None),
        ("GET", "/live", "h2", "h2"),
    ],
    "internal": [
        ("GET", "/dashboard/x?a=1", "h1", None),
        ("HEAD", "/settings", "h2", None),
        ("POST", "/dashboard", "h1", None),
        ("GET", "/static/app.js", "h2", None),
        ("GET", "/recording/1/abc", "h1", None),
        ("GET", "/dashboard", "h1", "h1"),
        ("GET", "/sockets/1/abc", "h2", "h2"),
    ],
}
# Hostile under the contract's rule 6 whatever the listener: refused with 400.
HOSTILE = ("GET", "/api/1/devices;jsessionid=1", "h1", None)


def drive(envoy: LoggingEnvoy, method: str, target: str, proto: str, upgrade: str | None) -> None:
    if upgrade == "h2":
        with H2Connection(envoy.port) as conn:
            socket = conn.websocket(target.encode())
            if socket.response.status == 200:
                socket.close()
        return
    send(envoy.port, proto, method, target.encode(), UPGRADE if upgrade == "h1" else [])


@pytest.fixture(scope="module")
def logs(tmp_path_factory, upstream):
    """Each role's access log after its traffic, and the directory holding the configs."""
    workdir = tmp_path_factory.mktemp("access")
    out = {}
    for role, traffic in TRAFFIC.items():
        envoy = LoggingEnvoy(workdir, role, upstream)
        try:
            for request in [*traffic, HOSTILE]:
                drive(envoy, *request)
            # A byte Envoy's codec refuses: a 400 before any filter, logged without a method.
            assert http1(envoy.port, b"GET /a\x80 HTTP/1.1\r\nhost: x\r\n\r\n").status == 400
            count = len(traffic) + 2
            ops.wait_until(
                lambda: len(envoy.access_log.read_text().splitlines()) >= count or None,
                ops.TIMEOUT,
                f"{count} access-log lines",
            )
        finally:
            envoy.stop()
        out[role] = envoy.access_log
        plugin_file(workdir, role)
    return workdir, out


def expected(role: str) -> dict[str, int]:
    labels = [oracle.label(role, m, t, u is not None) for m, t, _, u in TRAFFIC[role]]
    return oracle.totals([*labels, "rejected:semicolon"])


def logged(log) -> dict[str, int]:
    """What the module decided, from the `decision` field of its own access log."""
    labels = [decision(json.loads(line)) for line in log.read_text().splitlines()]
    return oracle.totals("allowed" if d.startswith("allowed:") else d for d in labels if d is not None)


def decision(line: dict) -> str | None:
    """As the shipped configs log it: an allowed request (its group is recorded only with
    `filter_state` on) has no decision and reached the upstream; Envoy's own 400s neither."""
    if line["decision"] is None and line["response_code_details"] == "via_upstream":
        return "allowed:"
    return line["decision"]


@pytest.mark.parametrize("role", ["external", "internal"])
def test_audit_of_the_shipped_config_matches_contract_and_module(logs, role):
    workdir, log = logs[0], logs[1][role]
    result = run_l7fw("audit", "-c", str(workdir / f"{role}.json"), str(log))
    out = result.stdout.decode()
    assert oracle.report_totals(out) == expected(role) == logged(log), out
    assert result.returncode == 1, out
    requests = len(TRAFFIC[role]) + 1
    assert f"audit: {requests} requests from 1 input(s) against 1 configuration(s)" in out
    # Envoy's own 400 is counted apart, neither replayed nor a bad line.
    assert out.endswith("; 1 line(s) without a method not replayed (Envoy answered before any filter)\n"), out
    assert result.stderr == b""


def test_refusals_are_grouped_by_their_shared_prefix(logs):
    workdir, log = logs[0], logs[1]["external"]
    out = run_l7fw("audit", "-c", str(workdir / "external.json"), str(log)).stdout.decode()
    rows = {(r["label"], r["prefix"]): (int(r["count"]), r["example"]) for r in oracle.report_rows(out)}
    count, example = rows[("denied:not_covered", "/api/2/devices")]
    assert count == 2
    assert example.startswith('GET "/api/2/devices/1" (') and example.endswith(" line 6)"), example


def test_a_candidate_config_shows_what_adding_a_route_changes(logs):
    """Cobrowse adds /api/2/devices: a custom group for it removes exactly those refusals."""
    workdir, log = logs[0], logs[1]["external"]
    candidate = {**ops.shipped_plugin("external"), "custom_groups": [{"name": "sdk_v2", "prefixes": ["/api/2/devices"]}]}
    config = plugin_file(workdir, "candidate", candidate)
    result = run_l7fw("audit", "-c", str(workdir / "external.json"), "-c", str(config), str(log))
    shipped, with_route = oracle.sections(result.stdout.decode())
    want = expected("external")
    assert oracle.report_totals(shipped) == want
    want["denied:not_covered"] -= 2
    assert oracle.report_totals(with_route) == want
    assert "/api/2/devices" not in with_route.split("\nexternal: ")[0]


def test_nothing_refused_exits_0(logs):
    workdir, log = logs[0], logs[1]["external"]
    allowed = [line for line in log.read_text().splitlines() if (decision(json.loads(line)) or "").startswith("allowed:")]
    assert allowed
    result = run_l7fw("audit", "-c", str(workdir / "external.json"), "--log", "-", stdin="\n".join(allowed).encode())
    assert result.returncode == 0, result.stdout
    assert f"audit: {len(allowed)} requests from 1 input(s) against 1 configuration(s): nothing refused" in result.stdout.decode()


def test_bad_lines_are_reported_by_number_skipped_and_exit_2(logs):
    workdir, log = logs[0], logs[1]["internal"]
    lines = log.read_text().splitlines()
    lines[2:2] = ["[2026-11-30 12:00:00.000][1][info][main] an Envoy log line", '{"method":5,"path":"/x"}']
    damaged = workdir / "damaged.log"
    damaged.write_text("\n".join(lines) + "\n")
    result = run_l7fw("audit", "-c", str(workdir / "internal.json"), str(damaged))
    err = result.stderr.decode()
    assert result.returncode == 2
    assert f"{damaged}: line 3: skipped: not an access-log JSON object" in err, err
    assert f"{damaged}: line 4: skipped: not an access-log JSON object: invalid type: integer `5`" in err, err
    out = result.stdout.decode()
    assert oracle.report_totals(out) == expected("internal")
    assert "2 bad record(s) skipped" in out


def test_unreadable_input_and_bad_config_exit_2(logs):
    workdir, log = logs[0], logs[1]["internal"]
    missing = run_l7fw("audit", "-c", str(workdir / "internal.json"), str(workdir / "missing.log"))
    assert missing.returncode == 2 and b"cannot read" in missing.stderr
    bad = workdir / "bad.json"
    bad.write_text('{"groups":["nope"]}')
    refused = run_l7fw("audit", "-c", str(bad), str(log))
    assert refused.returncode == 2
    assert b'unknown group \\"nope\\"' in refused.stderr or b'unknown group "nope"' in refused.stderr
