"""Fixtures: the shipped listeners as an edge runs them, plaintext, over TLS, and over HTTP/3.

Every Envoy runs the shipped YAML (envoy/render.py changes addresses, ports, the module path,
and adds TLS or QUIC when asked). The tables, clients and processes are the end-to-end
suite's (tests/e2e), so TLS and HTTP/3 are held to the very same rows.

EDGE_WITHOUT=<setting> starts every Envoy of the session with that one setting taken out of
the shipped config (settings.WITHOUT names them): the suite must then fail.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import policy  # noqa: E402
import settings  # noqa: E402
from processes import ROOT, WASM_PATH, Envoy, Upstream, envoy_check, render  # noqa: E402

sys.path.insert(0, str(ROOT / "envoy"))
import certificate  # noqa: E402


def pytest_sessionstart(session):
    ok, line, _ = envoy_check()
    if not ok:
        raise pytest.UsageError(line)
    without = os.environ.get("EDGE_WITHOUT")
    if without and without not in settings.WITHOUT:
        raise pytest.UsageError(f"EDGE_WITHOUT={without}: not one of {', '.join(settings.WITHOUT)}")


@dataclass
class Listener:
    """A running listener: its role, TCP port, and UDP port when it speaks HTTP/3."""

    role: str
    port: int
    envoy: Envoy
    tls: bool = False
    quic_port: int | None = None

    @property
    def groups(self) -> list[str]:
        return policy.EXTERNAL_GROUPS if self.role == "external" else policy.INTERNAL_GROUPS

    @property
    def prefixes(self) -> list[str]:
        return policy.prefixes(self.groups)

    def stat(self, name: str) -> int:
        """A counter or gauge from the admin /stats, 0 when absent."""
        text = self.envoy.admin_get(f"/stats?filter=^{name}$") or ""
        for line in text.splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0

    def __repr__(self) -> str:
        return f"<{self.role}{' tls' if self.tls else ''} :{self.port}>"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("edge")


@pytest.fixture(scope="session")
def upstream(workdir):
    process = Upstream(workdir)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def tls_files(workdir) -> tuple[Path, Path]:
    return certificate.self_signed(workdir / "tls")


def free_udp_port() -> int:
    """A UDP port free right now, for a QUIC listener whose port Alt-Svc must name."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shipped(role: str, upstream: Upstream) -> dict:
    config = render.localize(
        render.load(ROOT / "envoy" / f"{role}.yaml"),
        wasm_path=WASM_PATH,
        upstream=("127.0.0.1", upstream.port),
        listener_port=0,
        admin_port=0,
    )
    return settings.without(config, os.environ.get("EDGE_WITHOUT"))


@pytest.fixture(scope="session")
def start_envoy(workdir):
    """start_envoy(name, config) -> Envoy, stopped at the end of the session."""
    started: list[Envoy] = []

    def start(name: str, config: dict) -> Envoy:
        envoy = Envoy(config, workdir / name, name)
        started.append(envoy)
        return envoy

    yield start
    for envoy in started:
        envoy.stop()


def _start(start_envoy, upstream, tls_files, role: str, tls: bool, http3: bool = False) -> Listener:
    config = shipped(role, upstream)
    name = role
    quic_port = None
    if tls:
        config = render.with_tls(config, *tls_files)
        name += "_tls"
    if http3:
        quic_port = free_udp_port()
        config = render.with_http3(config, udp_port=quic_port)
        name += "_h3"
    envoy = start_envoy(name, config)
    return Listener(role, envoy.ports[role], envoy, tls=tls, quic_port=quic_port)


@pytest.fixture(scope="session")
def plain_listeners(start_envoy, upstream, tls_files):
    return {r: _start(start_envoy, upstream, tls_files, r, tls=False) for r in ("external", "internal")}


@pytest.fixture(scope="session")
def tls_listeners(start_envoy, upstream, tls_files):
    return {r: _start(start_envoy, upstream, tls_files, r, tls=True) for r in ("external", "internal")}


@pytest.fixture(scope="session")
def h3_listeners(start_envoy, upstream, tls_files):
    return {r: _start(start_envoy, upstream, tls_files, r, tls=True, http3=True) for r in ("external", "internal")}


@pytest.fixture(params=["external", "internal"])
def role(request) -> str:
    return request.param


@pytest.fixture
def plain(plain_listeners, role) -> Listener:
    return plain_listeners[role]


@pytest.fixture
def tls(tls_listeners, role) -> Listener:
    return tls_listeners[role]


@pytest.fixture
def h3(h3_listeners, role) -> Listener:
    return h3_listeners[role]
