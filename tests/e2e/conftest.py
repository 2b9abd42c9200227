"""Fixtures: one demo upstream for the session, and Envoys built from the shipped YAML.

Every Envoy runs the real module with the shipped filter chain; only addresses, ports and
the module path differ (envoy/render.py). The shipped YAML leaves paths as sent (Envoy's
own normalization off, so proxied URLs arrive intact); the `*_norm` listeners turn Envoy's
normalization on, to show the filter's answers hold either way. The session's work directory,
upstream and start_envoy are fixtures.py's, which the other suites share.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import policy
from fixtures import check_envoy, shipped, start_envoy, upstream, workdir  # noqa: F401 (shared fixtures)
from processes import Envoy, render

ENVOY_VERSION: str | None = None


def pytest_sessionstart(session):
    global ENVOY_VERSION
    ENVOY_VERSION = check_envoy()


@pytest.fixture(scope="session")
def envoy_version() -> tuple[int, ...]:
    """The Envoy under test, as (major, minor, patch)."""
    assert ENVOY_VERSION, "the Envoy check did not run"
    return tuple(int(part) for part in ENVOY_VERSION.split("."))


@dataclass
class Listener:
    """A running listener, with what the contract says it must let through."""

    name: str
    port: int
    envoy: Envoy
    groups: list[str]
    spa: bool

    @property
    def prefixes(self) -> list[str]:
        return policy.prefixes(self.groups)

    @property
    def role(self) -> str:
        return self.name.removesuffix("_norm")

    @property
    def raw(self) -> bool:
        """Envoy's normalization is off: the filter sees the path as sent."""
        return not self.name.endswith("_norm")

    def __repr__(self) -> str:
        return f"<{self.name} :{self.port}>"


def _listener(start_envoy, upstream, role: str, normalized: bool) -> Listener:
    config = shipped(role, upstream)
    if normalized:
        config = render.with_normalization(config)
    name = f"{role}_norm" if normalized else role
    envoy = start_envoy(name, config)
    return Listener(name, envoy.ports[role], envoy, policy.role_groups(role), spa=role == "internal")


@pytest.fixture(scope="session")
def external(start_envoy, upstream):
    return _listener(start_envoy, upstream, "external", normalized=False)


@pytest.fixture(scope="session")
def internal(start_envoy, upstream):
    return _listener(start_envoy, upstream, "internal", normalized=False)


@pytest.fixture(scope="session")
def external_norm(start_envoy, upstream):
    return _listener(start_envoy, upstream, "external", normalized=True)


@pytest.fixture(scope="session")
def internal_norm(start_envoy, upstream):
    return _listener(start_envoy, upstream, "internal", normalized=True)


@pytest.fixture(params=["external", "internal"])
def listener(request):
    """Each shipped role, as shipped."""
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["external", "internal", "external_norm", "internal_norm"])
def any_listener(request):
    """Each role, as shipped (Envoy's normalization off) and with it on."""
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["h1", "h2"])
def proto(request):
    """HTTP/1.1 on a raw socket, or HTTP/2 with prior knowledge."""
    return request.param
