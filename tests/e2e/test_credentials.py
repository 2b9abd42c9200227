"""No credential in anything the filter or the shipped configs write (SPEC rule 9).

Real SDKs put bearer tokens in the query: the web SDK 2.x and agent SDK sockets
(`/sockets/1/ws?access_token=…`), every Universal URL (`…?search=…&access_token=…&origin=…`),
SPA deep links (`?token=`). Each shape below carries a token value made for the run, sent
through the shipped listeners over HTTP/1.1, HTTP/2 and WebSockets, forwarded or refused,
with the parameter's name in other cases and percent-encoded. Then no token value may be
found in Envoy's output (the access log, Envoy's own log at info, and at debug as `make run
LOG_LEVEL=debug` runs it), the filter's lines, its filter state (`original_path`, and the
decision with `filter_state` on), the admin's Prometheus and plain stats, or `l7fw audit`'s
report on the new and the old access-log format, while the upstream still receives each
query byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from websockets.sync.client import connect

import ops
from clients import H2Connection, send, target_of
from processes import ROOT, render, require_file

L7FW = os.environ.get("L7FW") or str(ROOT / "target/release/l7fw")


@dataclass(frozen=True)
class Shape:
    """One request: `{t}` in the target is replaced by a fresh token value."""

    id: str
    role: str
    how: str  # "h1", "h2", "ws1" (HTTP/1.1 Upgrade), "ws2" (HTTP/2 extended CONNECT)
    method: str
    target: str
    status: int
    forwarded: bool
    # The filter's own line for a refusal: the target as it must be written.
    line: str | None = None


SHAPES = [
    Shape("socket-2x-h1", "external", "ws1", "GET", "/sockets/1/ws?access_token={t}", 101, True),
    Shape("socket-2x-h2", "external", "ws2", "GET", "/sockets/1/ws?access_token={t}&v=2.31", 200, True),
    Shape(
        "universal",
        "external",
        "h1",
        "GET",
        "/proxy/1/universal/com/example/www/https:/cart;jsessionid=A1"
        "?search=%3Fq%3D1&access_token={t}&origin=https%3A%2F%2Fwww.example.com",
        200,
        True,
    ),
    Shape(
        "universal-agent",
        "internal",
        "h2",
        "GET",
        "/proxy/1/universal/com/example/www/https:/a?access_token={t}",
        200,
        True,
    ),
    Shape("spa-deep-link", "internal", "h1", "GET", "/dashboard/sessions/abc?token={t}&x=1", 200, True),
    Shape("spa-deep-link-h2", "internal", "h2", "HEAD", "/settings?TOKEN={t}", 200, True),
    Shape("allowed-mixed-case", "external", "h2", "GET", "/api/1/devices?Access_Token={t}", 200, True),
    Shape("allowed-encoded", "external", "h1", "GET", "/api/1/devices?%61ccess%5Ftoken={t}", 200, True),
    Shape(
        "denied",
        "external",
        "h1",
        "GET",
        "/api/1/agents?a=1&access_token={t}",
        403,
        False,
        '"/api/1/agents?a=1&access_token=REDACTED"',
    ),
    Shape(
        "denied-encoded-mixed-case",
        "external",
        "h2",
        "GET",
        "/admin?%41CCESS_TOKEN={t}&Key={t}&%2573ig={t}",
        403,
        False,
        '"/admin?%41CCESS_TOKEN=REDACTED&Key=REDACTED&%2573ig=REDACTED"',
    ),
    Shape(
        "rejected",
        "external",
        "h1",
        "GET",
        "/api/1/devices;x?password={t}&Signature={t}",
        400,
        False,
        '"/api/1/devices;x?password=REDACTED&Signature=REDACTED"',
    ),
    Shape(
        "method-not-allowed",
        "internal",
        "h2",
        "POST",
        "/dashboard?code={t}&refresh_token={t}&secret={t}&auth={t}&authorization={t}",
        405,
        False,
        '"/dashboard?code=REDACTED&refresh_token=REDACTED&secret=REDACTED&auth=REDACTED&authorization=REDACTED"',
    ),
    Shape(
        "denied-upgrade",
        "internal",
        "ws1",
        "GET",
        "/dashboard?token={t}",
        403,
        False,
        '"/dashboard?token=REDACTED"',
    ),
]


def drive(port: int, shape: Shape, target: bytes) -> int:
    """Sends one shape; returns the status the client saw (101 for an HTTP/1.1 upgrade)."""
    if shape.how == "ws1":
        try:
            with connect(f"ws://127.0.0.1:{port}{target.decode()}", open_timeout=10) as ws:
                ws.send("hello")
                assert ws.recv(timeout=10) == "hello"
                return 101
        except Exception as e:  # the handshake's refusal carries the status
            response = getattr(e, "response", None)
            if response is None:
                raise
            return response.status_code
    if shape.how == "ws2":
        with H2Connection(port) as conn:
            ws = conn.websocket(target)
            status = ws.response.status
            if status == 200:
                ws.send("hello")
                ws.close()
            return status
    return send(port, shape.how, shape.method, target).status


@dataclass
class Run:
    """One setup's traffic: each shape's target and the Envoys it went through."""

    envoys: dict
    targets: dict[str, bytes]
    tokens: list[str]
    lines: dict[str, list[str]]  # every line each Envoy wrote, its own log and access log


def traffic(workdir, upstream, name: str, log_args: list[str], filter_state: bool) -> Run:
    targets, tokens, lines = {}, [], {}
    envoys = {}
    with ops.running(
        workdir, f"{name}-external", config("external", upstream, filter_state), log_args=log_args
    ) as external, ops.running(
        workdir, f"{name}-internal", config("internal", upstream, filter_state), log_args=log_args
    ) as internal:
        envoys = {"external": external, "internal": internal}
        for shape in SHAPES:
            token = f"secret-{uuid.uuid4().hex}"
            target = shape.target.replace("{t}", token).encode()
            envoy = envoys[shape.role]
            mark = upstream.mark()
            assert drive(ops.port(envoy), shape, target) == shape.status, shape.id
            got = [target_of(e) for e in upstream.since(mark)]
            if shape.forwarded:
                # The upstream still receives the query byte for byte (after an SPA
                # rewrite, below /index.html).
                path, _, query = target.partition(b"?")
                rewritten = shape.role == "internal" and not path.startswith((b"/proxy/", b"/sockets/"))
                assert got == [b"/index.html?" + query if rewritten else target], shape.id
            else:
                assert got == [], shape.id
            targets[shape.id] = target
            tokens.append(token)
        counters = {role: e.admin_get("/stats/prometheus") or "" for role, e in envoys.items()}
        plain = {role: e.admin_get("/stats") or "" for role, e in envoys.items()}
        for role, envoy in envoys.items():
            # Every request's access line is written (and flushed) before the output is read.
            paths = Counter(targets[s.id].partition(b"?")[0].decode() for s in SHAPES if s.role == role)
            for path, count in paths.items():
                ops.wait_for_access(envoy, 0, path, count)
            lines[role] = envoy.log_since(0) + counters[role].splitlines() + plain[role].splitlines()
    return Run(envoys, targets, tokens, lines)


def config(role: str, upstream, filter_state: bool) -> dict:
    plugin = {**ops.shipped_plugin(role), "filter_state": filter_state}
    return ops.config(role, upstream, plugin)


def assert_no_token(text: str, tokens: list[str], where: str) -> None:
    leaked = [t for t in tokens if t in text]
    assert not leaked, f"{len(leaked)} token value(s) in {where}, e.g. {leaked[0]}"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    return tmp_path_factory.mktemp("credentials")


@pytest.fixture(scope="module")
def shipped_run(logdir, upstream) -> Run:
    """The shipped configs at Envoy's info level, as the end-to-end tests run them."""
    return traffic(logdir, upstream, "info", ["--log-level", "info"], filter_state=False)


@pytest.fixture(scope="module")
def debug_run(logdir, upstream) -> Run:
    """At debug, as `make run LOG_LEVEL=debug` runs Envoy, with every filter-state write on."""
    return traffic(logdir, upstream, "debug", render.log_args("debug"), filter_state=True)


@pytest.mark.parametrize("run", ["shipped_run", "debug_run"])
def test_no_token_in_envoys_output_or_stats(request, run):
    result: Run = request.getfixturevalue(run)
    for role, lines in result.lines.items():
        assert_no_token("\n".join(lines), result.tokens, f"the {role} Envoy's output and stats")


@pytest.mark.parametrize("run", ["shipped_run", "debug_run"])
def test_access_log_has_paths_without_queries(request, run):
    result: Run = request.getfixturevalue(run)
    for role, envoy in result.envoys.items():
        access = ops.access_lines(result.lines[role])
        assert access, role
        for line in access:
            assert "?" not in line.path and "?" not in line.original, line.record
        logged = {ops.client_path(a) for a in access}
        for shape in SHAPES:
            if shape.role == role:
                assert result.targets[shape.id].partition(b"?")[0].decode() in logged, shape.id


@pytest.mark.parametrize("run", ["shipped_run", "debug_run"])
def test_refusal_lines_show_the_query_redacted(request, run):
    """The filter's line keeps the query's shape, so an operator sees which parameter came."""
    result: Run = request.getfixturevalue(run)
    written = {role: [f.text for f in ops.filter_lines(lines)] for role, lines in result.lines.items()}
    for shape in SHAPES:
        if shape.line is not None:
            assert any(line.endswith(shape.line) for line in written[shape.role]), (shape.id, written[shape.role])


def test_debug_run_really_logged_at_debug(debug_run):
    """Envoy's debug lines are there (the check above would pass on a quiet log)."""
    lines = debug_run.lines["external"]
    assert sum("][debug][" in line for line in lines) > 100


def test_debug_without_the_capped_loggers_would_leak(logdir, upstream):
    """Envoy's own header-printing loggers at debug write `:path` with its query: the reason
    `render.log_args` holds them at info. Without the cap the token is in Envoy's log."""
    token = f"secret-{uuid.uuid4().hex}"
    with ops.running(
        logdir, "uncapped", config("external", upstream, False), log_args=["--log-level", "debug"]
    ) as envoy:
        assert send(ops.port(envoy), "h1", "GET", f"/api/1/devices?access_token={token}".encode()).status == 200
        ops.wait_for_access(envoy, 0, "/api/1/devices")
        assert token in "\n".join(envoy.log_since(0))


def audit(*args: str) -> subprocess.CompletedProcess:
    require_file(L7FW, "run `make tools` or set L7FW")
    return subprocess.run([L7FW, "audit", *args], capture_output=True, text=True, timeout=120, check=False)


def old_format(line: ops.AccessLine, target: bytes) -> str:
    """The line as the configs before this rule wrote it: `path` with its query."""
    record = dict(line.record)
    if line.original != "-":
        record["original_path"] = target.decode()
        record["path"] = "/index.html?" + target.decode().partition("?")[2]
    else:
        record["path"] = target.decode()
    return json.dumps(record)


@pytest.mark.parametrize("form", ["new", "old"])
def test_audit_report_holds_no_token(logdir, shipped_run, form):
    """`l7fw audit` replays the access logs, new format and old, through a candidate that
    refuses nearly everything and the internal role's: its report shows examples of every
    shape, and no token value."""
    shipped_logs = {}
    for role in ("external", "internal"):
        access = ops.access_lines(shipped_run.lines[role])
        if form == "old":
            by_path = {shipped_run.targets[s.id].partition(b"?")[0].decode(): shipped_run.targets[s.id] for s in SHAPES}
            text = "\n".join(old_format(a, by_path[ops.client_path(a)]) for a in access if ops.client_path(a) in by_path)
        else:
            text = "\n".join(json.dumps(a.record) for a in access)
        path = logdir / f"{role}-{form}.jsonl"
        path.write_text(text + "\n")
        shipped_logs[role] = path
    candidate = logdir / "candidate.json"
    candidate.write_text(json.dumps({"groups": ["ai_sdk"], "fallback": "deny"}))
    shipped = logdir / "internal.json"
    shipped.write_text(json.dumps(ops.shipped_plugin("internal")))
    result = audit("-c", str(candidate), "-c", str(shipped), str(shipped_logs["external"]), str(shipped_logs["internal"]))
    assert result.returncode in (0, 1), result.stderr
    report = result.stdout + result.stderr
    assert "/sockets/1/ws" in report, report
    assert_no_token(report, shipped_run.tokens, f"l7fw audit's report ({form} format)")
    if form == "old":
        # The old format's queries were read, and redacted in the examples.
        assert "access_token=REDACTED" in report, report
