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

import fixtures  # noqa: E402
import ops  # noqa: E402
import policy  # noqa: E402
import settings  # noqa: E402
from fixtures import start_envoy, upstream, workdir  # noqa: E402, F401 (shared fixtures)
from processes import ROOT, Envoy, Upstream, render  # noqa: E402

sys.path.insert(0, str(ROOT / "envoy"))
import certificate  # noqa: E402


def pytest_sessionstart(session):
    fixtures.check_envoy()
    without = os.environ.get("EDGE_WITHOUT")
    if without and without not in settings.WITHOUT:
        raise pytest.UsageError(f"EDGE_WITHOUT={without}: not one of {', '.join(settings.WITHOUT)}")


@dataclass
class Listener(policy.OfRole):
    """A running listener: its role, TCP port, and UDP port when it speaks HTTP/3."""

    role: str
    port: int
    envoy: Envoy
    tls: bool = False
    quic_port: int | None = None

    def stat(self, name: str) -> int:
        """A counter or gauge from the admin /stats, 0 when absent."""
        return ops.stat(self.envoy, name, absent=0)

    def __repr__(self) -> str:
        return f"<{self.role}{' tls' if self.tls else ''} :{self.port}>"


@pytest.fixture(scope="session")
def tls_files(workdir) -> tuple[Path, Path]:
    return certificate.self_signed(workdir / "tls")


def free_udp_port() -> int:
    """A UDP port free right now, for a QUIC listener whose port Alt-Svc must name."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shipped(role: str, upstream: Upstream) -> dict:
    """The shipped config, less the setting EDGE_WITHOUT names, if any."""
    return settings.without(fixtures.shipped(role, upstream), os.environ.get("EDGE_WITHOUT"))


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
