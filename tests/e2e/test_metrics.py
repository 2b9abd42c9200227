"""The filter's counters as Prometheus scrapes them, on fresh Envoys with the shipped YAML.

Known traffic goes in; /stats/prometheus must then hold exactly the documented samples, with
the `stats_tags` labels, one increment per request and nothing else.
"""

from __future__ import annotations

import time

import pytest

import ops
from clients import send
from ops import UPGRADE, sample


@pytest.fixture(scope="module")
def external(tmp_path_factory, upstream):
    with ops.running(tmp_path_factory.mktemp("metrics"), "external", ops.config("external", upstream)) as envoy:
        yield envoy


@pytest.fixture(scope="module")
def internal(tmp_path_factory, upstream):
    with ops.running(tmp_path_factory.mktemp("metrics"), "internal", ops.config("internal", upstream)) as envoy:
        yield envoy


def allowed(listener: str, group: str) -> tuple:
    return sample("cobrowse_l7fw_allowed", cobrowse_l7fw_listener=listener, cobrowse_l7fw_group=group)


def refused(listener: str, outcome: str) -> tuple:
    return sample(f"cobrowse_l7fw_{outcome}", cobrowse_l7fw_listener=listener)


def expected(listener: str, groups: dict[str, int], **outcomes: int) -> dict[tuple, int]:
    counts = {allowed(listener, g): n for g, n in groups.items()}
    for outcome in ("denied", "rewritten", "rejected", "method_not_allowed"):
        counts[refused(listener, outcome)] = outcomes.get(outcome, 0)
    return counts


def run(port: int, traffic: list[tuple]) -> None:
    for proto, method, target, headers, status in traffic:
        response = send(port, proto, method, target, headers)
        assert response.status == status, (proto, method, target, response.status)


EXTERNAL_TRAFFIC = [
    # (protocol, method, target, headers, status)
    ("h1", "GET", b"/api/1/devices", [], 200),
    ("h2", "GET", b"/api/1/sessions/42?x=1", [], 200),
    ("h1", "POST", b"/api/1/devices/7/events", [], 200),
    ("h2", "GET", b"/proxy/1/universal/page", [], 200),
    ("h1", "GET", b"/sdk-js/cobrowse.js", [], 200),
    ("h2", "GET", b"/sdk-js", [], 200),
    ("h1", "GET", b"/api/1/virtualagents/3", [], 200),
    ("h1", "GET", b"/admin", [], 403),
    ("h2", "GET", b"/api/1/agents", [], 403),
    ("h1", "GET", b"/api/1/devices", UPGRADE, 403),
    ("h1", "GET", b"/api/1/devices;jsessionid=1", [], 400),
    ("h2", "GET", b"/api/1/devices/%c0%ae", [], 400),
]


def test_external_counters_are_exact(external):
    # Defined at configure time: every counter is scrapeable (at 0) before any request.
    zero = expected("external", {g: 0 for g in ops.shipped_plugin("external")["groups"]})
    assert ops.firewall_counters(external) == zero

    run(ops.port(external), EXTERNAL_TRAFFIC)
    assert ops.firewall_counters(external) == expected(
        "external", {"sdk": 3, "universal": 1, "sdk_pinning": 2, "ai_sdk": 1}, denied=3, rejected=2
    )


def test_prometheus_text_is_as_documented(external):
    before = ops.firewall_counters(external)[allowed("external", "sdk")]
    run(ops.port(external), [("h1", "GET", b"/api/1/devices/1", [], 200)])
    time.sleep(ops.COUNTER_LAG)
    text = external.admin_get("/stats/prometheus").splitlines()
    # The exact exposition line docs/operations.md shows, label order included.
    line = f'cobrowse_l7fw_allowed{{cobrowse_l7fw_listener="external",cobrowse_l7fw_group="sdk"}} {before + 1}'
    assert line in text
    assert "# TYPE cobrowse_l7fw_allowed counter" in text
    # Envoy's own name for it, before stats_tags turn the parts into labels.
    assert ops.stat(external, "wasmcustom.cobrowse_l7fw.external.allowed.sdk") == before + 1


def test_envoy_own_400s_are_not_counted_as_rejected(tmp_path_factory, upstream):
    """Requests Envoy refuses before any filter runs (here %2F where Envoy runs REJECT_REQUEST)
    never reach the module: they show in Envoy's downstream_rq_4xx, not in cobrowse_l7fw_rejected."""
    config = ops.config("external", upstream, normalized=True)
    with ops.running(tmp_path_factory.mktemp("metrics"), "external_norm", config) as envoy:
        before = ops.firewall_counters(envoy)
        envoy_4xx = ops.stat(envoy, "http.external.downstream_rq_4xx")
        run(ops.port(envoy), [("h1", "GET", b"/api/1/devices/a%2Fb", [], 400)])
        assert ops.firewall_counters(envoy) == before
        assert ops.stat(envoy, "http.external.downstream_rq_4xx") == envoy_4xx + 1


INTERNAL_TRAFFIC = [
    ("h1", "GET", b"/api/1/agents/1", [], 200),
    ("h2", "PUT", b"/recording/1/x", [], 200),
    ("h1", "GET", b"/index.html", [], 200),
    ("h2", "GET", b"/static/app.js", [], 200),
    ("h1", "HEAD", b"/favicon.png", [], 200),
    ("h1", "GET", b"/dashboard?a=1", [], 200),
    ("h1", "HEAD", b"/settings/x", [], 200),
    ("h2", "GET", b"/", [], 200),
    ("h1", "POST", b"/dashboard", [], 405),
    ("h2", "DELETE", b"/settings", [], 405),
    ("h1", "GET", b"/api/1/agents;x", [], 400),
    ("h1", "GET", b"/dashboard", UPGRADE, 403),
]


def test_internal_counters_are_exact(internal):
    zero = expected("internal", {g: 0 for g in ops.shipped_plugin("internal")["groups"]})
    assert ops.firewall_counters(internal) == zero

    run(ops.port(internal), INTERNAL_TRAFFIC)
    # An SPA rewrite counts as rewritten, not as an allowed frontend request.
    assert ops.firewall_counters(internal) == expected(
        "internal", {"agent": 2, "frontend": 3}, rewritten=3, method_not_allowed=2, rejected=1, denied=1
    )
