"""Fixtures: both roles, Envoy's normalization off (as shipped) and on, each Envoy serving
plaintext HTTP/1.1 and HTTP/2 on TCP and HTTP/3 on UDP, with one demo upstream that logs
every request it receives.

The tables, clients and processes are the end-to-end suite's (tests/e2e).
"""

from __future__ import annotations

import copy
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import policy  # noqa: E402
from expectations import LISTENERS  # noqa: E402
from fixtures import check_envoy, shipped, upstream, workdir  # noqa: E402, F401 (shared fixtures)
from processes import ROOT, Envoy, render  # noqa: E402

sys.path.insert(0, str(ROOT / "envoy"))
import certificate  # noqa: E402

ENVOY_VERSION: str | None = None


def pytest_sessionstart(session):
    global ENVOY_VERSION
    ENVOY_VERSION = check_envoy()


@pytest.fixture(scope="session")
def envoy_version() -> str:
    assert ENVOY_VERSION, "the Envoy check did not run"
    return ENVOY_VERSION


@dataclass
class Listener(policy.OfRole):
    name: str  # role, with `_norm` when Envoy's normalization is on
    envoy: Envoy
    port: int  # TCP: HTTP/1.1 and h2c
    quic_port: int  # UDP: HTTP/3
    access_log: Path  # the shipped JSON access log, with each request's row tag

    @property
    def role(self) -> str:
        return self.name.removesuffix("_norm")

    def __repr__(self) -> str:
        return f"<{self.name} :{self.port} udp :{self.quic_port}>"


def with_quic(config: dict, cert: Path, key: str | Path) -> dict:
    """The plaintext config plus the QUIC listener the shipped HTTP/3 option adds beside a
    TLS one (render.with_tls, render.with_http3): HTTP/1.1 and h2c stay on plain TCP, which
    the raw-socket clients need, and HTTP/3 runs the same connection manager and filters."""
    quic = render.quic_listener(render.with_http3(render.with_tls(config, cert, key), udp_port=0, advertised_port=0))
    config = copy.deepcopy(config)
    config["static_resources"]["listeners"].append(quic)
    return config


FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"


def with_row_in_access_log(config: dict, path: Path) -> dict:
    """The shipped JSON access log, plus the row tag each request carries (`row`), so the
    filter's reason (`response_code_details`) can be read per row and protocol; written
    to a file of its own, where Envoy's own log lines cannot cut into it."""
    config = copy.deepcopy(config)
    for hcm in render.connection_managers(config):
        for logger in hcm.get("access_log", []):
            log_format = logger["typed_config"]["log_format"]
            log_format["json_format"]["row"] = "%REQ(X-PARITY-ROW)%"
            logger["name"] = "envoy.access_loggers.file"
            logger["typed_config"] = {"@type": FILE_LOG, "path": str(path), "log_format": log_format}
    return config


@pytest.fixture(scope="session")
def cert(workdir) -> tuple[Path, Path]:
    return certificate.self_signed(workdir / "tls")


@pytest.fixture(scope="session")
def listeners(workdir, upstream, cert) -> dict[str, Listener]:
    """The four Envoys, started at once."""
    started: dict[str, Listener] = {}

    def start(name: str) -> None:
        role = name.removesuffix("_norm")
        config = shipped(role, upstream)
        if name.endswith("_norm"):
            config = render.with_normalization(config)
        access_log = workdir / f"{name}-access.jsonl"
        envoy = Envoy(with_quic(with_row_in_access_log(config, access_log), *cert), workdir / name, name)
        started[name] = Listener(name, envoy, envoy.ports[role], envoy.ports[f"{role}_quic"], access_log)

    try:
        with ThreadPoolExecutor(max_workers=len(LISTENERS)) as pool:
            list(pool.map(start, LISTENERS))  # re-raises the first failure
        yield started
    finally:
        for listener in started.values():
            listener.envoy.stop()
