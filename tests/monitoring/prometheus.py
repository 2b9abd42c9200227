"""A real Prometheus (Debian's `prometheus` package) for the monitoring tests: it scrapes
the given Envoys' /stats/prometheus every second and evaluates the shipped rules."""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from processes import ROOT, Process, wait_until

PROMETHEUS = os.environ.get("PROMETHEUS") or shutil.which("prometheus") or "/usr/bin/prometheus"
RULES = ROOT / "monitoring" / "cobrowse-l7fw.rules.yaml"
SCRAPE_SECONDS = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus(Process):
    def __init__(self, workdir: Path, targets: dict[str, str]):
        """`targets`: instance name -> Envoy admin host:port."""
        assert Path(PROMETHEUS).exists(), "prometheus is not installed (Debian package prometheus)"
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {
                    "job_name": "envoy",
                    "metrics_path": "/stats/prometheus",
                    "static_configs": [{"targets": [address], "labels": {"instance": name}} for name, address in targets.items()],
                }
            ],
        }
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.url = f"http://127.0.0.1:{free_port()}"
        super().__init__(
            [
                PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
                "--log.level=warn",
            ],
            workdir / "prometheus.log",
        )
        try:
            wait_until(lambda: self._get("/-/ready") is not None, 30, "prometheus /-/ready", self)
            wait_until(self._all_up, 30, "prometheus targets up", self)
        except BaseException:
            self.stop()
            raise

    def _get(self, path: str, **params) -> dict | None:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode()
        except OSError:
            return None
        return json.loads(body) if body.startswith("{") else {"text": body}

    def _all_up(self) -> bool:
        targets = (self._get("/api/v1/targets") or {}).get("data", {}).get("activeTargets", [])
        return bool(targets) and all(t["health"] == "up" for t in targets)

    def api(self, path: str, **params) -> dict:
        result = self._get(path, **params)
        assert result is not None and result.get("status") == "success", (path, params, result)
        return result["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query now: [{"metric": labels, "value": float}, …]."""
        data = self.api("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", data
        return [{"metric": r["metric"], "value": float(r["value"][1])} for r in data["result"]]
