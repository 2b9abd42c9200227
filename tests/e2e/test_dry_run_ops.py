"""Dry run as an operator rolls it out: the shipped configs of both roles switched to
`"mode": "dry_run"`, Envoy's own normalization off so hostile paths reach the filter as sent.

Nothing is refused or rewritten (the upstream receives every target byte for byte), while
the `dry_run_*` counters, log lines and access-log decisions record what enforce would have
done. test_custom_config.py covers forwarding on a custom dry-run policy; this adds the
reporting side and hostile paths.
"""

from __future__ import annotations

import pytest

import ops
from clients import send, target_of
from ops import UPGRADE, sample


def dry_run(role: str, upstream, tmp_path_factory):
    # One line per refusal, as these tests read them (the default budget: test_log_budget.py).
    plugin = {**ops.shipped_plugin(role), "mode": "dry_run", "log": {"max_per_second": 10000}}
    config = ops.config(role, upstream, plugin, raw=True)
    return ops.running(tmp_path_factory.mktemp("dry_run"), role, config)


@pytest.fixture(scope="module")
def external(upstream, tmp_path_factory):
    with dry_run("external", upstream, tmp_path_factory) as envoy:
        yield envoy


@pytest.fixture(scope="module")
def internal(upstream, tmp_path_factory):
    with dry_run("internal", upstream, tmp_path_factory) as envoy:
        yield envoy


# (protocol, method, target, headers, decision); each target ends in a unique `t=` token.
EXTERNAL = [
    ("h1", "GET", b"/api/1/devices?t=1", [], "allowed:sdk"),
    ("h1", "GET", b"/admin?t=2", [], "dry_run_denied:not_covered"),
    ("h2", "DELETE", b"/api/1/agents/1?t=3", [], "dry_run_denied:not_covered"),
    ("h1", "GET", b"/api/1/devices?t=4", UPGRADE, "dry_run_denied:upgrade_not_allowed"),
    ("h1", "GET", b"/api/1/devices/../../admin?t=5", [], "dry_run_rejected:dot_segment"),
    ("h1", "GET", b"/api/1/devices/%2e%2e/admin?t=6", [], "dry_run_rejected:encoded_dot"),
    ("h1", "GET", b"/api/1/devices%2f..%2fadmin?t=7", [], "dry_run_rejected:encoded_slash"),
    ("h2", "GET", b"/api/1/devices/%252e?t=8", [], "dry_run_rejected:double_encoded"),
    ("h1", "GET", b"/api/1/devices;jsessionid=1?t=9", [], "dry_run_rejected:semicolon"),
    ("h1", "GET", b"//api/1/devices?t=10", [], "dry_run_rejected:double_slash"),
    ("h1", "GET", b"/api/1/devices/%00?t=11", [], "dry_run_rejected:encoded_control"),
    ("h1", "GET", b'/api/1/devices\\..\\"admin?t=12', [], "dry_run_rejected:backslash"),
]

INTERNAL = [
    ("h1", "GET", b"/api/1/agents?t=1", [], "allowed:agent"),
    ("h2", "GET", b"/static/app.js?t=2", [], "allowed:frontend"),
    ("h1", "GET", b"/dashboard/x?a=1&t=3", [], "dry_run_rewritten:spa"),
    ("h1", "POST", b"/dashboard?t=4", [], "dry_run_method_not_allowed:spa"),
    ("h1", "GET", b"/dashboard?t=5", UPGRADE, "dry_run_denied:upgrade_not_allowed"),
    ("h1", "GET", b"/static/..%2f..%2fetc/passwd?t=6", [], "dry_run_rejected:encoded_slash"),
]


def expected_line(name: str, method: str, target: bytes, decision: str) -> str | None:
    """The filter's line for a refusal; allowed requests and rewrites are not logged."""
    outcome, _, detail = decision.partition(":")
    if outcome in ("allowed", "dry_run_rewritten"):
        return None
    return f'cobrowse-l7-firewall[{name}]: {outcome} {detail}: {method} "{ops.escape_for_log(target, 256)}"'


# Rows sent to each fresh Envoy so far, for the exact counter check (whatever subset ran).
SENT: dict[str, list[tuple]] = {"external": [], "internal": []}


def check(envoy, upstream, name: str, proto, method, target, headers, decision) -> None:
    target = ops.unique(target)
    mark, upstream_mark = envoy.log_mark(), upstream.mark()
    SENT[name].append((proto, method, target, headers, decision))
    response = send(ops.port(envoy), proto, method, target, list(headers))
    # Forwarded as sent: the upstream's echo answers, and it received exactly these bytes.
    assert response.status == 200, (target, response.status)
    assert [target_of(e) for e in upstream.since(upstream_mark)] == [target]

    path = target.partition(b"?")[0].decode("latin-1")
    (access,) = ops.wait_for_access(envoy, mark, path)
    # Every dry-run refusal and rewrite is in the access log; an allow's group only with
    # `filter_state` on, which the shipped configs leave off. Dry run forwards the path as
    # sent, logged without its query.
    logged = "-" if decision.startswith("allowed:") else decision
    assert (access.path, access.decision) == (path, logged)
    # The access line is written after the request finished, so any filter line is there by now.
    lines = [(f.level, f.text) for f in ops.filter_lines(envoy.log_since(mark))]
    line = expected_line(name, method, target, decision)
    assert lines == ([] if line is None else [("info", line)])


@pytest.mark.parametrize("row", EXTERNAL, ids=lambda r: r[4])
def test_external_forwards_and_records(upstream, external, row):
    check(external, upstream, "external", *row)


@pytest.mark.parametrize("row", INTERNAL, ids=lambda r: r[4])
def test_internal_forwards_and_records(upstream, internal, row):
    check(internal, upstream, "internal", *row)


def counter(listener: str, outcome: str, group: str | None = None) -> tuple:
    if group is None:
        return sample(f"cobrowse_l7fw_{outcome}", cobrowse_l7fw_listener=listener)
    return sample(f"cobrowse_l7fw_{outcome}", cobrowse_l7fw_listener=listener, cobrowse_l7fw_group=group)


def counts(rows, listener: str, groups: list[str]) -> dict[tuple, int]:
    result = {counter(listener, "allowed", g): 0 for g in groups}
    for outcome in ("dry_run_denied", "dry_run_rewritten", "dry_run_rejected", "dry_run_method_not_allowed"):
        result[counter(listener, outcome)] = 0
    for *_, decision in rows:
        outcome, _, detail = decision.partition(":")
        result[counter(listener, outcome, detail if outcome == "allowed" else None)] += 1
    return result


@pytest.mark.parametrize("role", ["external", "internal"])
def test_counters_hold_what_would_have_happened(request, role):
    """After the rows sent above (whichever ran), exact counts: allowed per group as in enforce,
    refusals only under dry_run_* (no plain denied/rejected/rewritten/method_not_allowed)."""
    envoy = request.getfixturevalue(role)
    assert ops.firewall_counters(envoy) == counts(SENT[role], role, ops.shipped_plugin(role)["groups"])


def test_policy_loaded_line_says_dry_run(external, internal):
    for envoy, role in [(external, "external"), (internal, "internal")]:
        plugin = ops.shipped_plugin(role)
        loaded = [f for f in ops.filter_lines(envoy.log_since(0)) if "policy loaded" in f.text]
        assert loaded, envoy.log_tail()
        for line in loaded:
            groups = ",".join(plugin["groups"])
            assert line.text.startswith(f"cobrowse-l7-firewall[{role}]: policy loaded: groups {groups}, ")
            assert line.text.endswith(f", fallback {plugin['fallback']}, mode dry_run")
