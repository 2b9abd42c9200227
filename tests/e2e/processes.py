"""Start and stop the demo upstream and Envoy for the end-to-end tests.

Each process runs in its own session (process group) with stdout/stderr in files (never
pipes, which a chatty process could fill and block on), and is stopped by killing its group.
Readiness is polled, never slept for: the upstream prints its bound port, Envoy writes its
admin address to a file and then answers /ready.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "envoy"))
sys.path.insert(0, str(ROOT / "scripts"))
import check_envoy
import render

ENVOY = os.environ.get("ENVOY") or str(ROOT / ".venv" / "bin" / "envoy")
WASM_PATH = os.environ.get("WASM_PATH") or str(ROOT / "dist/cobrowse_l7_firewall.wasm")
DEMO_UPSTREAM = os.environ.get("DEMO_UPSTREAM") or str(ROOT / "target/release/demo-upstream")

START_TIMEOUT = 30.0


def envoy_check() -> tuple[bool, str, str | None]:
    """Whether ENVOY can run the module (an Envoy without a Wasm runtime cannot), in one line."""
    return check_envoy.check(ENVOY, WASM_PATH)


def require_file(path: str, hint: str) -> None:
    if not Path(path).is_file():
        raise RuntimeError(f"{path} is missing: {hint}")


def wait_until(condition, timeout: float, what: str, process: Process | None = None, interval: float = 0.02):
    """`condition()` once it is true, polled every `interval` s; fails when `process` exits
    or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {process.popen.returncode}\n{process.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout}s\n{process.log_tail() if process else ''}")
        time.sleep(interval)


class Process:
    def __init__(
        self,
        argv: list[str],
        log_path: Path,
        stdout_path: Path | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.argv = argv
        self.log_path = log_path
        self.stdout_path = stdout_path or log_path
        # The child keeps its own copies of the descriptors; ours close on leaving the block.
        with contextlib.ExitStack() as files:
            out = files.enter_context(open(self.stdout_path, "wb"))
            err = subprocess.STDOUT if stdout_path is None else files.enter_context(open(log_path, "wb"))
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True, cwd=cwd, env=env
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def log_mark(self) -> int:
        """A position in the log; `log_since(mark)` gives the lines written after it."""
        return self.log_path.stat().st_size

    def log_since(self, mark: int = 0) -> list[str]:
        # Only complete lines: a line still being written shows up on the next read.
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            data = f.read()
        return data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace").splitlines()

    def stop(self) -> None:
        if self.popen.poll() is None:
            for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            # The leader is gone; children it left in its group must not outlive the tests.
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Upstream(Process):
    """demo-upstream on a free port, logging every request it receives to a file."""

    def __init__(self, workdir: Path):
        require_file(DEMO_UPSTREAM, "run `make tools`")
        self.request_log = workdir / "upstream-requests.jsonl"
        self.request_log.touch()
        super().__init__(
            [DEMO_UPSTREAM, "--port", "0", "--log", str(self.request_log)],
            workdir / "upstream.log",
            workdir / "upstream.stdout",
        )
        line = wait_until(self._first_line, START_TIMEOUT, "demo-upstream", self)
        self.port = int(line.rpartition(":")[2])

    def _first_line(self) -> str | None:
        text = self.stdout_path.read_text(encoding="utf-8", errors="replace")
        return text.split("\n", 1)[0] if "\n" in text else None

    def mark(self) -> int:
        """A position in the request log; `since(mark)` gives what arrived after it."""
        return self.request_log.stat().st_size

    def since(self, mark: int) -> list[dict]:
        with open(self.request_log, "rb") as f:
            f.seek(mark)
            return [json.loads(line) for line in f.read().splitlines() if line]


class Envoy(Process):
    """Envoy on a rendered config whose listener and admin ports are 0 (chosen by the OS)."""

    def __init__(
        self,
        config: dict,
        workdir: Path,
        name: str,
        extra_args: list[str] = (),
        log_args: list[str] = ("--log-level", "info"),
    ):
        require_file(ENVOY, "run `make venv` or set ENVOY")
        require_file(WASM_PATH, "run `make build` or set WASM_PATH")
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.config_path = render.dump(config, workdir / f"{name}.yaml")
        admin_file = workdir / f"{name}.admin"
        admin_file.unlink(missing_ok=True)
        super().__init__(
            [
                ENVOY,
                "-c",
                str(self.config_path),
                # One worker: a trapped VM would then fail every later request, so a test
                # that sends a follow-up request cannot miss it by landing on another worker.
                "--concurrency",
                "1",
                "--disable-hot-restart",
                "--admin-address-path",
                str(admin_file),
                *log_args,
                *extra_args,
            ],
            workdir / f"{name}.log",
        )
        self.admin = ""

        def ready() -> bool:
            # Re-read each time: the file may be caught half-written on the first look.
            if not admin_file.exists():
                return False
            self.admin = "http://" + admin_file.read_text().strip()
            return self.admin_get("/ready") == "LIVE"

        try:
            wait_until(ready, START_TIMEOUT, f"{name} /ready", self)
        except BaseException:
            self.stop()  # the caller never gets this object to stop: an Envoy that hangs in init
            raise
        listeners = json.loads(self.admin_get("/listeners?format=json") or "{}")["listener_statuses"]
        self.ports = {l["name"]: l["local_address"]["socket_address"]["port_value"] for l in listeners}

    def admin_get(self, path: str) -> str | None:
        try:
            with urllib.request.urlopen(self.admin + path, timeout=2) as response:
                return response.read().decode().strip()
        except OSError:
            return None


def run_envoy(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """A short-lived Envoy (e.g. --mode validate), output captured."""
    require_file(ENVOY, "run `make venv` or set ENVOY")
    return subprocess.run(
        [ENVOY, *args],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
