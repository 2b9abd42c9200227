"""Chromium over HTTP/3 to the QUIC listener, with the run's self-signed certificate.

Chromium is told to use QUIC for the origin (--origin-to-force-quic-on, no Alt-Svc round
trip needed) and to accept the run's certificate by its public key
(--ignore-certificate-errors-spki-list): over QUIC it ignores --ignore-certificate-errors
and takes a self-signed certificate only by its key. The page's navigation entry names the protocol used, and Envoy's access log says
HTTP/3 too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

import certificate
from chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def h3_browser(tls_files):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make test-edge installs it)")
    args = [a for a in CHROMIUM_ARGS if a != "--disable-quic"]
    with sync_playwright() as playwright:
        yield lambda origin: playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *args,
                "--enable-quic",
                f"--origin-to-force-quic-on={origin}",
                # The QUIC listener is on 127.0.0.1; `localhost` would be tried as ::1 first.
                "--host-resolver-rules=MAP localhost 127.0.0.1",
                f"--ignore-certificate-errors-spki-list={certificate.spki_sha256(tls_files[0])}",
            ],
        )


def test_chromium_speaks_http3_through_the_firewall(upstream, h3_listeners, h3_browser):
    listener = h3_listeners["external"]
    origin = f"localhost:{listener.quic_port}"
    browser = h3_browser(origin)
    try:
        page = browser.new_page()
        mark = listener.envoy.log_mark()
        response = page.goto(f"https://{origin}/api/1/devices/from-chromium?x=1")
        assert response.status == 200
        assert page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h3"
        # A fetch the firewall refuses, from the same page and connection.
        denied = page.evaluate("fetch('/api/1/agents').then(r => r.status)")
        assert denied == 403
        # Logged without the query (credentials ride there: docs/security.md#what-is-logged).
        expected = {("/api/1/devices/from-chromium", "HTTP/3", 200), ("/api/1/agents", "HTTP/3", 403)}
        deadline = time.monotonic() + 10  # the access log reaches the file when Envoy flushes it
        while True:
            logged = [json.loads(line) for line in listener.envoy.log_since(mark) if line.startswith("{")]
            seen = {(e["path"], e["protocol"], e["response_code"]) for e in logged}
            if seen >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert seen >= expected
    finally:
        browser.close()
