"""Stopping the stack: every container ends on SIGTERM by itself (exit code 0) rather than
being killed when the engine's timeout runs out (137). Runs last (conftest.py)."""

from __future__ import annotations

import subprocess

from conftest import DOCKER, compose


def test_every_service_exits_on_sigterm(stack):
    names = ("demo-upstream", "envoy-external", "envoy-internal")
    containers = {name: compose("ps", "-q", name).strip() for name in names}
    # A generous timeout: a container that ignores SIGTERM is killed only after it, with 137.
    compose("stop", "--timeout", "30")
    codes = {}
    for name, container in containers.items():
        done = subprocess.run(
            [DOCKER, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", container],
            capture_output=True, text=True, check=True,
        )
        codes[name] = done.stdout.split()
    assert codes == {name: ["false", "0"] for name in containers}
