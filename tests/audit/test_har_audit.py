"""`l7fw audit` on a HAR file exported by a real browser: Chromium (through Playwright)
clicks through the demo single-page app behind the shipped internal listener, WebSockets
included, and the capture is audited against both shipped configurations.

The expected refusals come from the contract (oracle.py), and must also be exactly the
requests the running module refused while the browser browsed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

import oracle
from chromium import CHROMIUM, CHROMIUM_ARGS
from conftest import LoggingEnvoy, plugin_file, run_l7fw

# What the page does after loading, in the page: an SPA navigation target, a POST where
# only GET/HEAD load the app, a WebSocket outside /sockets/1/, a route Cobrowse might add.
IN_PAGE = """async () => {
  const settled = (socket) => new Promise((done) => { socket.onclose = done; socket.onerror = done; });
  await fetch('/api/2/devices/7');
  await fetch('/dashboard/settings', { method: 'POST', body: 'x' });
  await settled(new WebSocket('ws://' + location.host + '/live/feed'));
}"""


@pytest.fixture(scope="module")
def capture(tmp_path_factory, upstream):
    """The HAR Chromium wrote and the statuses it saw, from one browsing session."""
    assert Path(CHROMIUM).exists(), "chromium is not installed (Debian package chromium)"
    workdir = tmp_path_factory.mktemp("har")
    envoy = LoggingEnvoy(workdir, "internal", upstream)
    har = workdir / "browser.har"
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(workdir / "profile"),
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                record_har_path=str(har),
                record_har_content="omit",
            )
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{envoy.port}/dashboard/sessions/1?a=1")
            page.click("#api")
            page.wait_for_function("document.getElementById('out').textContent.startsWith('200')")
            page.click("#ws")
            page.wait_for_function("document.getElementById('out').textContent.startsWith('echo')")
            page.evaluate(IN_PAGE)
            context.close()  # writes the HAR
    finally:
        envoy.stop()
    return har, workdir


def entries(har) -> list[tuple[str, str, bool, int]]:
    """(method, origin-form target, upgrade, status) of each entry, read independently of l7fw."""
    out = []
    for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]:
        url = entry["request"]["url"]
        target = "/" + url.split("://", 1)[1].split("/", 1)[1]
        out.append((entry["request"]["method"], target, entry.get("_resourceType") == "websocket", entry["response"]["status"]))
    return out


def test_the_browser_recorded_every_kind_of_request(capture):
    har, _ = capture
    got = {(m, t, u) for m, t, u, _ in entries(har)}
    for expected in [
        ("GET", "/dashboard/sessions/1?a=1", False),
        ("GET", "/static/app.js", False),
        ("GET", "/api/1/sessions?demo=1", False),
        ("GET", "/sockets/1/demo", True),
        ("GET", "/api/2/devices/7", False),
        ("POST", "/dashboard/settings", False),
        ("GET", "/live/feed", True),
    ]:
        assert expected in got, (expected, got)


@pytest.mark.parametrize("role", ["internal", "external"])
def test_audit_reports_what_the_contract_refuses(capture, role):
    har, workdir = capture
    recorded = entries(har)
    expected = oracle.totals(oracle.label(role, m, t, u) for m, t, u, _ in recorded)
    result = run_l7fw("audit", "-c", str(plugin_file(workdir, role)), str(har))
    out = result.stdout.decode()
    assert oracle.report_totals(out) == expected, out
    refused = sum(n for label, n in expected.items() if not label.startswith("rewritten"))
    assert refused > 0
    assert result.returncode == 1, out + result.stderr.decode()
    assert f"{len(recorded)} requests from 1 input(s) against 1 configuration(s): {refused} refusal(s)" in out


def test_audit_agrees_with_the_running_module(capture):
    """The browser met the shipped internal listener: the audit of that configuration must
    refuse exactly the requests the module answered 403 or 405 (a refused WebSocket
    handshake is recorded without a status by some browsers)."""
    har, workdir = capture
    out = run_l7fw("audit", "-c", str(plugin_file(workdir, "internal")), str(har)).stdout.decode()
    refused_by_module = [(m, t) for m, t, u, status in entries(har) if status in (403, 405) or (u and status != 101)]
    rows = [r for r in oracle.report_rows(out) if not r["label"].startswith("rewritten")]
    assert sum(int(r["count"]) for r in rows) == len(refused_by_module), out
    for method, target in refused_by_module:
        assert any(f'{method} "{target}"' in r["example"] for r in rows), (method, target, out)
