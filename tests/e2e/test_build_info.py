"""The module reports its build: the version and git revision in its first log line and
as the info gauge cobrowse_l7_firewall_build_info, the same as `l7fw --version` prints."""

from __future__ import annotations

import re
import subprocess

import ops
from processes import ROOT


def l7fw_version() -> tuple[str, str]:
    out = subprocess.run(
        [str(ROOT / "target/release/l7fw"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.fullmatch(r"l7fw (\S+) \(([0-9a-f]{12}|unknown)\)\n", out)
    assert match, out
    return match.group(1), match.group(2)


def test_version_and_revision_at_load_and_as_a_gauge(tmp_path, upstream):
    version, revision = l7fw_version()
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode == 0:
        assert revision == head.stdout.strip()
    with ops.running(tmp_path, "external", ops.config("external", upstream)) as envoy:
        assert f"cobrowse-l7-firewall {version} ({revision}): VM started" in envoy.log()
        name = f"wasmcustom.cobrowse_l7_firewall.build_info.version.{version}.revision.{revision}"
        assert ops.stat(envoy, name) == 1
        text = envoy.admin_get("/stats/prometheus").splitlines()
        labels = f'cobrowse_l7_firewall_version="{version}",cobrowse_l7_firewall_revision="{revision}"'
        assert f"cobrowse_l7_firewall_build_info{{{labels}}} 1" in text
        assert "# TYPE cobrowse_l7_firewall_build_info gauge" in text
