"""Fixtures: the e2e suite's demo upstream and shipped listeners, plus one headless Chromium.

The upstream and listeners are tests/e2e's own fixtures (the same processes and the same
rendering of the shipped YAML): its conftest is registered here as a plugin under another
name, since this directory's conftest is the one pytest calls `conftest`, and a copy would drift.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))

from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def pytest_configure(config):
    spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    config.pluginmanager.register(module, spec.name)


# Every wait is bounded well under the suite's timeout, so a failure names what it awaited.
PAGE_TIMEOUT_MS = 10_000


def pytest_sessionstart(session):
    # A missing browser fails the run, once and by name; it is never a skip.
    if not Path(CHROMIUM).is_file():
        pytest.exit(
            f"{CHROMIUM} is missing: `apt-get install chromium`, or set CHROMIUM=/path/to/chromium",
            returncode=pytest.ExitCode.TESTS_FAILED,
        )


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        # launch() gives each run a fresh, temporary user-data directory.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page in its own context: no cookies, cache or open sockets shared between tests."""
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
