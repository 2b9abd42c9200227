"""Fixtures for the distribution tests: the image as `make image` builds it, a local
registry (Debian's docker-registry, the CNCF distribution registry) on 127.0.0.1, and a
plain HTTP server for Envoy's remote module fetch. Processes come from tests/e2e/processes.py.
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from processes import WASM_PATH, Process, envoy_check, wait_until  # noqa: E402

TAG = "0.0.0-test"
REPOSITORY = "cobrowse-l7-firewall"


def pytest_sessionstart(session):
    ok, line, _ = envoy_check()
    if not ok:
        raise pytest.UsageError(line)  # one line, exit status 4, before any test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}\n{output}"
    return result


@pytest.fixture(scope="session")
def module_bytes() -> bytes:
    return Path(WASM_PATH).read_bytes()


@pytest.fixture(scope="session")
def image_layout(tmp_path_factory) -> Path:
    """The OCI layout `make image` writes, built by the same script."""
    layout = tmp_path_factory.mktemp("image") / "layout"
    run(["bash", str(ROOT / "scripts" / "build-image.sh"), WASM_PATH, str(layout), TAG])
    return layout


class Registry(Process):
    def __init__(self, workdir: Path):
        self.port = free_port()
        config = workdir / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: {workdir / 'storage'}}}}}\n"
            f"http: {{addr: '127.0.0.1:{self.port}'}}\n",
            encoding="utf-8",
        )
        super().__init__(["docker-registry", "serve", str(config)], workdir / "registry.log")
        wait_until(self.ready, 30, "docker-registry /v2/", self)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def reference(self, tag: str = TAG) -> str:
        return f"docker://127.0.0.1:{self.port}/{REPOSITORY}:{tag}"


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    process = Registry(tmp_path_factory.mktemp("registry"))
    yield process
    process.stop()


class FileServer:
    """Serves a directory over plain HTTP on 127.0.0.1 and records the paths requested."""

    def __init__(self, directory: Path):
        self.requested: list[str] = []
        requested = self.requested

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def do_GET(self):
                requested.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def file_server(tmp_path_factory, module_bytes):
    directory = tmp_path_factory.mktemp("served")
    (directory / "cobrowse_l7_firewall.wasm").write_bytes(module_bytes)
    server = FileServer(directory)
    yield server
    server.stop()
