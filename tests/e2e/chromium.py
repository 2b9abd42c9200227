"""Debian's chromium as the browser suites launch it: Playwright drives it, it never
downloads a browser of its own, and the flags keep it off a closed network."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often give /dev/shm 64 MiB, which Chromium's renderers can exhaust.
    "--disable-dev-shm-usage",
]
