"""The Grafana dashboard's queries, run by a real Prometheus scraping real Envoys with the
module (the shipped external and internal configs, and the external policy in dry run)
while known traffic goes through them: every query must return the series it should,
with values that match the requests sent. The shipped rules are loaded too, and the dry
run's alert must fire.

Values: rate() extrapolates to the edges of its window, so a rate times its window is
the number of requests sent or a little more; the test allows that and no less.
"""

from __future__ import annotations

import json
import time

import pytest

import ops
from clients import send
from processes import ROOT, Envoy, Upstream, wait_until
from prometheus import Prometheus

DASHBOARD = ROOT / "monitoring" / "cobrowse-l7fw.dashboard.json"
WINDOW_SECONDS = 120
# Grafana's variables as a dashboard user leaves them: every listener, a 2-minute window.
VARIABLES = {"$listener": ".*", "$__rate_interval": f"{WINDOW_SECONDS}s", "${datasource}": ""}
# rate() can extrapolate by up to about one scrape interval over the sampled span (> 10 s).
SLACK = 1.2

# (listener, method, target) -> how many; and what the filter counts for them.
TRAFFIC = {
    "external": [("GET", "/api/1/devices/{}", 20), ("GET", "/proxy/1/universal/x{}", 10), ("GET", "/admin/{}", 8), ("GET", "/api/1/devices;x={}", 4)],
    "internal": [("GET", "/api/1/agents/{}", 12), ("GET", "/static/{}.js", 6), ("GET", "/dash/{}", 10), ("POST", "/dash/{}", 3)],
    "staging": [("GET", "/api/1/devices/{}", 5), ("GET", "/admin/{}", 7), ("GET", "/api/1/x;{}", 2)],
}
# What each listener's counters must say after TRAFFIC.
COUNTED = {
    "external": {("allowed", "sdk"): 20, ("allowed", "universal"): 10, ("denied", None): 8, ("rejected", None): 4},
    "internal": {("allowed", "agent"): 12, ("allowed", "frontend"): 6, ("rewritten", None): 10, ("method_not_allowed", None): 3},
    "staging": {("allowed", "sdk"): 5, ("dry_run_denied", None): 7, ("dry_run_rejected", None): 2},
}
OUTCOMES = ["allowed", "rewritten", "denied", "rejected", "method_not_allowed"]

# The filter's counters; its gauges (configuration in force, VM memory) are not traffic.
COUNTERS = '{__name__=~"cobrowse_l7fw_.+", __name__!~"cobrowse_l7fw_(config|vm_memory_bytes)"}'


def counted(listener: str, outcome: str, group: str | None = None) -> int:
    return sum(n for (o, g), n in COUNTED[listener].items() if o == outcome and (group is None or g == group))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("monitoring")
    upstream = Upstream(workdir)
    envoys: dict[str, Envoy] = {}
    prometheus = None
    try:
        staging = {**ops.shipped_plugin("external"), "name": "staging", "mode": "dry_run"}
        for name, role, plugin in [("external", "external", None), ("internal", "internal", None), ("staging", "external", staging)]:
            envoys[name] = Envoy(ops.config(role, upstream, plugin), workdir / name, name)
        prometheus = Prometheus(workdir / "prometheus", {n: e.admin.removeprefix("http://") for n, e in envoys.items()})
        first_scrape = time.monotonic()
        # Every Envoy scraped once with its counters at zero, before any traffic.
        wait_until(
            lambda: len(prometheus.query('count by (instance) ({__name__=~"cobrowse_l7fw_.+"})')) == 3, 30, "first scrape", prometheus
        )
        for name, requests in TRAFFIC.items():
            port = ops.port(envoys[name])
            for method, pattern, count in requests:
                for i in range(count):
                    send(port, "h1", method, pattern.format(i).encode())

        def scraped():
            got = {(s["metric"]["instance"], s["metric"]["__name__"].removeprefix("cobrowse_l7fw_"), s["metric"].get("cobrowse_l7fw_group")): s["value"]
                   for s in prometheus.query(COUNTERS + ' > 0')}
            want = {(n, o, g): float(c) for n, counts in COUNTED.items() for (o, g), c in counts.items()}
            return got == want

        wait_until(scraped, 30, "the traffic scraped", prometheus)
        # rate() needs a sampled span well beyond one scrape interval to be close.
        time.sleep(max(0.0, first_scrape + 12 - time.monotonic()))
        yield prometheus, envoys
    finally:
        if prometheus is not None:
            prometheus.stop()
        for envoy in envoys.values():
            envoy.stop()
        upstream.stop()


def panels() -> dict[int, dict]:
    return {p["id"]: p for p in json.loads(DASHBOARD.read_text())["panels"]}


def run(prometheus, panel_id: int, ref: str) -> list[dict]:
    (target,) = [t for t in panels()[panel_id]["targets"] if t["refId"] == ref]
    expr = target["expr"]
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return prometheus.query(expr)


def assert_requests(series: list[dict], key, expected: dict):
    """Each series (keyed by `key(labels)`) times the window is its request count (or a
    little more, by rate()'s extrapolation); zero stays exactly zero."""
    got = {key(s["metric"]): s["value"] * WINDOW_SECONDS for s in series}
    assert set(got) == set(expected), (got, expected)
    for k, count in expected.items():
        assert count <= got[k] + 1e-9 <= count * SLACK + 1e-9, (k, got[k], count)


def test_every_panel_query_is_checked_here():
    checked = {(1, r) for r in "ABCDE"} | {(2, "A"), (3, "A"), (3, "B"), (3, "C"), (4, "A"), (5, "A"), (5, "B"), (5, "C"), (5, "D"), (6, "A"), (7, "A"), (7, "B"), (8, "A")}
    shown = {(pid, t["refId"]) for pid, p in panels().items() for t in p["targets"]}
    assert shown == checked


@pytest.mark.parametrize("ref,outcome", list(zip("ABCDE", OUTCOMES)))
def test_decisions_by_outcome(stack, ref, outcome):
    prometheus, _ = stack
    series = run(prometheus, 1, ref)
    # A listener in dry run counts allowed as enforce does, the rest as dry_run_*.
    listeners = ["external", "internal", "staging"] if outcome == "allowed" else ["external", "internal"]
    assert_requests(series, lambda m: m["cobrowse_l7fw_listener"], {n: counted(n, outcome) for n in listeners})


def test_allowed_by_group(stack):
    prometheus, _ = stack
    series = run(prometheus, 2, "A")
    groups = {"external": ["sdk", "universal", "sdk_pinning", "ai_sdk"], "internal": ["agent", "frontend"], "staging": ["sdk", "universal", "sdk_pinning", "ai_sdk"]}
    expected = {(n, g): counted(n, "allowed", g) for n, gs in groups.items() for g in gs}
    assert_requests(series, lambda m: (m["cobrowse_l7fw_listener"], m["cobrowse_l7fw_group"]), expected)


@pytest.mark.parametrize("ref,outcome", [("A", "denied"), ("B", "rejected"), ("C", "method_not_allowed")])
def test_refusals_by_reason(stack, ref, outcome):
    prometheus, _ = stack
    series = run(prometheus, 3, ref)
    expected = {n: counted(n, outcome) for n in ["external", "internal"]}
    assert_requests(series, lambda m: m["cobrowse_l7fw_listener"], expected)


def test_refused_share(stack):
    prometheus, _ = stack
    got = {s["metric"]["cobrowse_l7fw_listener"]: s["value"] for s in run(prometheus, 4, "A")}
    assert got["external"] == pytest.approx(12 / 42, rel=0.05)
    assert got["internal"] == pytest.approx(3 / 31, rel=0.05)
    assert got.get("staging", 0.0) == 0.0  # dry run refuses nothing


@pytest.mark.parametrize("ref,outcome", [("A", "dry_run_denied"), ("B", "dry_run_rejected"), ("C", "dry_run_method_not_allowed"), ("D", "dry_run_rewritten")])
def test_dry_run_panel(stack, ref, outcome):
    prometheus, _ = stack
    series = run(prometheus, 5, ref)
    # Only the dry-run listener has dry_run_* counters.
    assert_requests(series, lambda m: m["cobrowse_l7fw_listener"], {"staging": counted("staging", outcome)})


def test_vm_health(stack):
    prometheus, envoys = stack
    active = {s["metric"]["instance"]: s["value"] for s in run(prometheus, 6, "A")}
    # What each Envoy reports itself right now (VMs start once, at load).
    assert active == {n: float(ops.stat(e, "wasm.envoy.wasm.runtime.v8.active")) for n, e in envoys.items()}
    assert all(v >= 1 for v in active.values())
    for ref in "AB":
        reloads = {s["metric"]["instance"]: s["value"] for s in run(prometheus, 7, ref)}
        assert reloads == {n: 0.0 for n in envoys}
    # Envoy's admin listener is left out; staging runs the external config (same stat prefix).
    fivexx = {s["metric"]["envoy_http_conn_manager_prefix"]: s["value"] for s in run(prometheus, 8, "A")}
    assert fivexx == {"external": 0.0, "internal": 0.0}


def test_listener_variable_lists_every_listener(stack):
    prometheus, _ = stack
    variable = json.loads(DASHBOARD.read_text())["templating"]["list"][1]
    assert variable["name"] == "listener"
    selector = variable["query"]["query"].removeprefix("label_values(").rsplit(",", 1)[0]
    values = prometheus.api("/api/v1/label/cobrowse_l7fw_listener/values", **{"match[]": selector})
    assert sorted(values) == ["external", "internal", "staging"]


def test_shipped_rules_load_and_the_dry_run_alert_fires(stack):
    prometheus, _ = stack
    groups = prometheus.api("/api/v1/rules")["groups"]
    assert {r["name"] for g in groups for r in g["rules"]} >= {"cobrowse_l7fw:decisions:rate5m", "CobrowseFirewallDryRunWouldDeny"}
    assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups

    def firing():
        alerts = prometheus.api("/api/v1/alerts")["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "CobrowseFirewallDryRunWouldDeny" and a["state"] == "firing"]

    (alert,) = wait_until(firing, 15, "CobrowseFirewallDryRunWouldDeny firing", prometheus)
    assert alert["labels"]["cobrowse_l7fw_listener"] == "staging"
    others = {a["labels"]["alertname"] for a in prometheus.api("/api/v1/alerts")["alerts"] if a["state"] == "firing"}
    # No VM failure, no burst of hostile paths in this traffic.
    assert others == {"CobrowseFirewallDryRunWouldDeny"}
