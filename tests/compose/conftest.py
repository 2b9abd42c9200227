"""Fixtures for tests/compose: the stack `docker-compose -f envoy/docker-compose.yaml up -d`
started (scripts/test-compose.sh starts it on a private dockerd), reached as a user reaches it:
the published ports, `docker-compose logs`, and `docker exec` for the admin interface, which
the shipped YAML keeps on each container's loopback. The clients are the end-to-end suite's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import h11
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from clients import get1  # noqa: E402
from processes import ROOT  # noqa: E402

COMPOSE_FILE = ROOT / "envoy" / "docker-compose.yaml"
DOCKER = os.environ.get("DOCKER", "docker")
TIMEOUT = 30.0


def compose(*args: str) -> str:
    """Runs docker-compose on the shipped file; its stdout."""
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"docker-compose {' '.join(args)}: {done.stderr}"
    return done.stdout


def wait_for(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Service:
    """One Envoy service of the compose file: its published port and its admin interface."""

    name: str
    port: int
    admin_port: int

    def container(self) -> str:
        (container,) = compose("ps", "-q", self.name).split()
        return container

    def admin_get(self, path: str) -> str:
        """GET on the admin interface from inside the container through bash's /dev/tcp, as
        docs/envoy.md shows users: the image needs no HTTP client. h11 writes the request and
        reads the response."""
        client = h11.Connection(h11.CLIENT)
        headers = [("host", "admin"), ("connection", "close")]
        request = client.send(h11.Request(method="GET", target=path, headers=headers))
        request += client.send(h11.EndOfMessage())
        relay = f"exec 3<>/dev/tcp/127.0.0.1/{self.admin_port} && cat >&3 && cat <&3"
        argv = [DOCKER, "exec", "-i", self.container(), "bash", "-c", relay]
        done = subprocess.run(argv, input=request, capture_output=True, timeout=30)
        assert done.returncode == 0, f"docker exec, admin {path}: {done.stderr!r}"
        client.receive_data(done.stdout)
        client.receive_data(b"")
        body = b""
        while not isinstance(event := client.next_event(), h11.EndOfMessage):
            if isinstance(event, h11.Response):
                assert event.status_code == 200, f"admin {path}: {event.status_code}"
            elif isinstance(event, h11.Data):
                body += event.data
            else:
                raise AssertionError(f"admin {path}: unexpected {event!r}")
        return body.decode()

    def logs(self) -> list[str]:
        """This service's output as `docker-compose logs` shows it, without the name prefix."""
        out = compose("logs", "--no-color", self.name)
        return [line.partition("| ")[2] for line in out.splitlines() if "| " in line]


def published_port(service: dict) -> int:
    (mapping,) = service["ports"]
    host, port, _ = str(mapping).split(":")
    assert host == "127.0.0.1", f"published beyond loopback: {mapping}"
    return int(port)


def admin_port(role: str) -> int:
    config = yaml.safe_load((ROOT / "envoy" / f"{role}.yaml").read_text())
    return int(config["admin"]["address"]["socket_address"]["port_value"])


@pytest.fixture(scope="session")
def stack() -> dict[str, Service]:
    spec = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    services = {
        role: Service(f"envoy-{role}", published_port(spec[f"envoy-{role}"]), admin_port(role))
        for role in ("external", "internal")
    }
    # Both listeners answer once Envoy, the module and the upstream are up.
    wait_for(lambda: answers(services["external"].port, b"/api/1/devices"), "external listener answering 200")
    wait_for(lambda: answers(services["internal"].port, b"/index.html"), "internal listener answering 200")
    return services


def answers(port: int, target: bytes) -> bool:
    try:
        return get1(port, target).status == 200
    except OSError:  # docker-proxy accepts before Envoy listens, then closes
        return False


@pytest.fixture(scope="session")
def external(stack) -> Service:
    return stack["external"]


@pytest.fixture(scope="session")
def internal(stack) -> Service:
    return stack["internal"]


def pytest_collection_modifyitems(items):
    # test_stop.py stops the stack: it runs last.
    items.sort(key=lambda item: item.path.name == "test_stop.py")
