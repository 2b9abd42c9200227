"""Start, query and stop one Envoy process for the benchmark."""

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path


def free_ports(count):
    """Ports the kernel just handed out on 127.0.0.1; free unless raced, which a rerun fixes."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def dedicated(command, cpu):
    """The command pinned to one CPU (when there is one to spare) and ahead of other work.

    Envoy and wrk get a CPU each and, when allowed (root), run at a higher priority so that a build or a test suite started meanwhile yields to them
    instead of skewing the figures.
    """
    prefix = ["taskset", "-c", str(cpu)] if cpu is not None else []
    if os.geteuid() == 0:
        prefix += ["nice", "-n", "-15"]
    return [*prefix, *command]


class Envoy:
    def __init__(self, binary, bootstrap, admin_port, workdir, name, concurrency=1, cpu=None, log_level="warn"):
        self.admin = f"http://127.0.0.1:{admin_port}"
        self.config_path = workdir / f"{name}.json"
        self.log_path = workdir / f"{name}.log"
        self.config_path.write_text(json.dumps(bootstrap, indent=1))
        command = [
            binary, "-c", str(self.config_path), "--concurrency", str(concurrency),
            "--disable-hot-restart", "--log-level", log_level, "--log-path", str(self.log_path),
            # Flushed often, so the log's size after a run counts that run's lines.
            "--file-flush-interval-msec", "100",
        ]
        self.process = subprocess.Popen(dedicated(command, cpu), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def __enter__(self):
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        self.stop()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"envoy exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/ready").strip() == "LIVE":
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"envoy not ready after {timeout}s:\n{self.log_tail()}")

    def get(self, path):
        with urllib.request.urlopen(self.admin + path, timeout=5) as response:
            return response.read().decode()

    def stats(self, prefix):
        """Counters and gauges whose name starts with prefix."""
        text = self.get("/stats?filter=" + urllib.parse.quote("^" + prefix.replace(".", r"\.")))
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if value.strip().isdigit():
                values[name] = int(value)
        return values

    def cpu_seconds(self):
        """User + system CPU time of the whole process (all threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
