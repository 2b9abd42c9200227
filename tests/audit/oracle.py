"""What the contract (SPEC.md, restated in tests/e2e/policy.py) says a listener does with a
canonical request, as the `outcome:group-or-reason` label `l7fw audit` reports. Written
from the contract, not from the filter's code."""

from __future__ import annotations

import re

import policy

ROLES = {
    "external": (policy.EXTERNAL_GROUPS, False),
    "internal": (policy.INTERNAL_GROUPS, True),
}

# One row of an audit report: label, requests, prefix, example.
ROW = re.compile(r"^  (?P<label>[a-z_]+:[a-z_]+)\s+(?P<count>\d+)\s+(?P<prefix>\S+)\s+(?P<example>.+)$")


def websocket_prefixes(groups: list[str]) -> list[str]:
    return [p for g in groups for p, ws in policy.GROUPS[g].items() if ws]


def label(role: str, method: str, target: str, upgrade: bool) -> str:
    """`allowed` (any group), or the refusal / rewrite label."""
    groups, spa = ROLES[role]
    path = target.encode().split(b"?", 1)[0]
    assert policy.is_canonical(path), f"the oracle covers canonical paths only: {target}"
    if policy.covered(path, policy.prefixes(groups)):
        if upgrade and not policy.covered(path, websocket_prefixes(groups)):
            return "denied:upgrade_not_allowed"
        return "allowed"
    if not spa:
        return "denied:not_covered"
    if upgrade:
        return "denied:upgrade_not_allowed"
    return "rewritten:spa" if method in ("GET", "HEAD") else "method_not_allowed:spa"


def totals(labels) -> dict[str, int]:
    """Requests per label, allowed ones left out (the report lists only the others)."""
    out: dict[str, int] = {}
    for one in labels:
        if one != "allowed":
            out[one] = out.get(one, 0) + 1
    return out


def report_rows(stdout: str) -> list[dict]:
    return [m.groupdict() for m in map(ROW.match, stdout.splitlines()) if m]


def report_totals(stdout: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in report_rows(stdout):
        out[row["label"]] = out.get(row["label"], 0) + int(row["count"])
    return out


def sections(stdout: str) -> list[str]:
    """The report split per configuration (each starts with `== name`)."""
    return ["== " + part for part in stdout.split("\n== ") if part.strip()]
