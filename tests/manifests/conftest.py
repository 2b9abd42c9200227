"""Refuse, in one line and before any test, an Envoy that cannot run the module (the
EnvoyFilter patches are loaded into it), e.g. one built without a Wasm runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import check_envoy  # noqa: E402


def pytest_sessionstart(session):
    ok, line, _ = check_envoy.main_check()
    if not ok:
        raise pytest.UsageError(line)  # one line, exit status 4, before any test
