"""Fixtures for the `l7fw audit` tests: the demo upstream, shipped Envoys writing their JSON
access log to a file of its own, and the l7fw binary. The process helpers are the
end-to-end suite's (tests/e2e)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import ops  # noqa: E402
from processes import ROOT, Upstream, render, require_file  # noqa: E402

L7FW = os.environ.get("L7FW") or str(ROOT / "target/release/l7fw")


@pytest.fixture(scope="session")
def upstream(tmp_path_factory):
    process = Upstream(tmp_path_factory.mktemp("upstream"))
    yield process
    process.stop()


def plugin_file(directory: Path, role: str, plugin: dict | None = None) -> Path:
    """A role's shipped plugin configuration (or `plugin`) as the JSON file `l7fw` reads."""
    path = directory / f"{role}.json"
    path.write_text(json.dumps(plugin or ops.shipped_plugin(role)), encoding="utf-8")
    return path


class LoggingEnvoy:
    """A shipped Envoy whose stdout holds only the access log (Envoy's own log goes to
    --log-path), as an operator collects it."""

    def __init__(self, workdir: Path, role: str, upstream):
        self.workdir = workdir / role
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.envoy_log = self.workdir / "envoy-own.log"
        self._cm = ops.running(
            self.workdir, "envoy", ops.config(role, upstream), ["--log-path", str(self.envoy_log)]
        )
        self.envoy = self._cm.__enter__()
        self.port = ops.port(self.envoy)

    @property
    def access_log(self) -> Path:
        return self.envoy.stdout_path

    def stop(self):
        self._cm.__exit__(None, None, None)


def run_l7fw(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    require_file(L7FW, "run `make tools`")
    return subprocess.run([L7FW, *args], input=stdin, capture_output=True, timeout=300, check=False)
