"""The shipped access log: one JSON object per line (`json_format`), whose `decision` is the
filter's `<outcome>:<group or reason>` beside what Envoy did with the request: a refusal's
from its local reply details (%RESPONSE_CODE_DETAILS%), a rewrite's from the request's filter
state, an allowed request's only with the plugin's `filter_state` on (the shipped configs
leave it off: a host call per request); `l7fw audit` replays these lines.

Both paths are logged without their query, which may hold a credential (SPEC rule 9); each
request's line is the one written after a mark for its path.
"""

from __future__ import annotations

import pytest

import ops
from clients import send
from ops import UPGRADE


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    return tmp_path_factory.mktemp("access_log")


@pytest.fixture(scope="module")
def external(logdir, upstream):
    with ops.running(logdir, "external", ops.config("external", upstream)) as envoy:
        yield envoy


@pytest.fixture(scope="module")
def external_norm(logdir, upstream):
    with ops.running(logdir, "external_norm", ops.config("external", upstream, normalized=True)) as envoy:
        yield envoy


@pytest.fixture(scope="module")
def internal(logdir, upstream):
    with ops.running(logdir, "internal", ops.config("internal", upstream)) as envoy:
        yield envoy


def path_of(target: bytes) -> str:
    return target.partition(b"?")[0].decode()


def logged(envoy, proto: str, method: str, target: bytes, headers=()) -> tuple[int, ops.AccessLine]:
    """Sends `target` (made unique with ops.unique by the caller) and reads its access line."""
    mark = envoy.log_mark()
    status = send(ops.port(envoy), proto, method, target, list(headers)).status
    (line,) = ops.wait_for_access(envoy, mark, path_of(target))
    return status, line


# (listener, protocol, method, target, headers, status, logged path, decision, forwarded)
CASES = [
    ("external", "h1", "GET", b"/api/1/devices?t=a1", [], 200, None, "allowed:sdk", True),
    ("external", "h2", "GET", b"/proxy/1/universal/x?t=a2", [], 200, None, "allowed:universal", True),
    ("external", "h1", "GET", b"/admin?t=d1", [], 403, None, "denied:not_covered", False),
    ("external", "h2", "POST", b"/api/1/agents?t=d2", [], 403, None, "denied:not_covered", False),
    ("external", "h1", "GET", b"/api/1/devices?t=d3", UPGRADE, 403, None, "denied:upgrade_not_allowed", False),
    ("external", "h1", "GET", b"/api/1/devices;x?t=r1", [], 400, None, "rejected:semicolon", False),
    ("external", "h2", "GET", b"/api/1/devices/%c0%ae?t=r2", [], 400, None, "rejected:invalid_utf8", False),
    ("internal", "h1", "GET", b"/api/1/agents/1?t=a3", [], 200, None, "allowed:agent", True),
    ("internal", "h2", "GET", b"/static/app.js?t=a4", [], 200, None, "allowed:frontend", True),
    # The shipped format logs %PATH(NQ:PATH)%, read at the end of the stream: the rewritten path.
    ("internal", "h1", "GET", b"/dashboard/x?a=1&t=w1", [], 200, "/index.html", "rewritten:spa", True),
    ("internal", "h2", "HEAD", b"/settings?t=w2", [], 200, "/index.html", "rewritten:spa", True),
    ("internal", "h1", "POST", b"/dashboard?t=m1", [], 405, None, "method_not_allowed:spa", False),
    ("internal", "h1", "GET", b"/dashboard?t=d4", UPGRADE, 403, None, "denied:upgrade_not_allowed", False),
]


@pytest.fixture(scope="module")
def external_fs(logdir, upstream):
    plugin = {**ops.shipped_plugin("external"), "filter_state": True}
    with ops.running(logdir, "external_fs", ops.config("external", upstream, plugin)) as envoy:
        yield envoy


@pytest.fixture(scope="module")
def internal_fs(logdir, upstream):
    plugin = {**ops.shipped_plugin("internal"), "filter_state": True}
    with ops.running(logdir, "internal_fs", ops.config("internal", upstream, plugin)) as envoy:
        yield envoy


@pytest.mark.parametrize("filter_state", [False, True], ids=["shipped", "filter_state"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[7]}")
def test_decision_is_logged(request, upstream, case, filter_state):
    listener, proto, method, target, headers, status, path, decision, forwarded = case
    envoy = request.getfixturevalue(f"{listener}_fs" if filter_state else listener)
    target = ops.unique(target)
    if decision.startswith("allowed:") and not filter_state:
        # As shipped, an allowed request's group costs a host call and is not recorded.
        decision = "-"
    got, line = logged(envoy, proto, method, target, headers)
    assert got == status
    assert (line.method, line.path, line.status, line.decision) == (
        method,
        path or path_of(target),
        status,
        decision,
    )
    # Only a rewrite records the path the client sent, and never its query.
    assert line.original == (path_of(target) if decision == "rewritten:spa" else "-")
    # Forwarded requests name the upstream host; refusals never reached one.
    assert line.upstream == (f"127.0.0.1:{upstream.port}" if forwarded else "-")


def test_requests_envoy_refuses_first_have_no_decision(external_norm):
    """%2F where Envoy refuses escaped slashes itself (REJECT_REQUEST, as a gateway shared
    with other routes may run): Envoy answers 400 before the filter runs, so the line's
    decision is null, telling an operator the 400 was Envoy's, not the firewall's."""
    mark = external_norm.log_mark()
    status = send(ops.port(external_norm), "h1", "GET", b"/api/1/devices/a%2Fb?t=e1").status
    # Envoy logs the path as its normalization left it (`/api/1/devices/a/b`), still without the query.
    (line,) = ops.wait_for_access(external_norm, mark, "/api/1/devices/a/b")
    assert (status, line.status, line.decision) == (400, 400, "-")


@pytest.mark.parametrize(
    "listener,proto,method,target,headers,fields",
    [
        (
            "internal",
            "h1",
            "GET",
            b"/dashboard/y?t=j1",
            [],
            {"path": "/index.html", "original_path": "SENT", "upgrade": None, "protocol": "HTTP/1.1",
             "response_code": 200, "response_code_details": "via_upstream", "decision": "rewritten:spa"},
        ),
        (
            "external",
            "h1",
            "GET",
            b"/api/1/devices?t=j2",
            UPGRADE,
            {"path": "SENT", "original_path": None, "upgrade": "websocket", "protocol": "HTTP/1.1",
             "response_code": 403, "decision": "denied:upgrade_not_allowed", "upstream_host": None},
        ),
        (
            "external",
            "h2",
            "POST",
            b"/api/1/sessions?t=j3",
            [],
            {"path": "SENT", "original_path": None, "upgrade": None, "protocol": "HTTP/2",
             "response_code": 200, "response_code_details": "via_upstream", "decision": None},
        ),
    ],
    ids=["rewrite", "upgrade-denied", "h2-allowed"],
)
def test_json_record(request, listener, proto, method, target, headers, fields):
    """Every key of the shipped format, typed: strings, numbers, null for what is absent."""
    envoy = request.getfixturevalue(listener)
    target = ops.unique(target)
    _, line = logged(envoy, proto, method, target, headers)
    record = line.record
    sent = path_of(target)
    fields = {k: (sent if v == "SENT" else v) for k, v in fields.items()}
    assert record["listener"] == listener
    assert record["method"] == method
    for key, value in fields.items():
        assert record[key] == value, (key, record)
    assert isinstance(record["duration_ms"], int) and record["duration_ms"] >= 0
    assert record["start_time"].endswith("Z")
