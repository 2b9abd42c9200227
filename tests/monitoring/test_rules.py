"""The shipped Prometheus rules: valid, and every rule passes its promtool unit test."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from processes import ROOT

MONITORING = ROOT / "monitoring"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120, check=False)


def test_rules_are_valid():
    result = promtool("check", "rules", "cobrowse-l7fw.rules.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_their_unit_tests():
    result = promtool("test", "rules", "cobrowse-l7fw.rules.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_has_a_unit_test():
    rules = yaml.safe_load((MONITORING / "cobrowse-l7fw.rules.yaml").read_text())
    tests = yaml.safe_load((MONITORING / "cobrowse-l7fw.rules.test.yaml").read_text())["tests"]
    tested = {t["alertname"] for case in tests for t in case.get("alert_rule_test", [])}
    tested |= {t["expr"] for case in tests for t in case.get("promql_expr_test", [])}
    names = {r.get("alert") or r["record"] for g in rules["groups"] for r in g["rules"]}
    assert names - tested == set()
    # An alert tested only where it stays silent proves nothing.
    firing = {t["alertname"] for case in tests for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r} <= firing
