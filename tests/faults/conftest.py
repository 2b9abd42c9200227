"""Fixtures of the fault suite: the Envoy check, a work directory and one demo upstream (the
e2e suite's); each test starts its own Envoys (tests/faults/gateway.py) and stops them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "soak"))

from fixtures import check_envoy, upstream, workdir  # noqa: E402, F401 (shared fixtures)


def pytest_sessionstart(session):
    check_envoy()
