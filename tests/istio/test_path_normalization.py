"""meshConfig pathNormalization, each of NONE, BASE, MERGE_SLASHES and
DECODE_AND_MERGE_SLASHES, set in istiod's mesh config and pushed by istiod to both gateways:
for every hostile row and proxied (Universal Cobrowse) URL, no 5xx and nothing outside an
enabled prefix reaches the upstream. What each setting changes is measured here and must equal
the table in docs/istio.md."""

from __future__ import annotations

from pathlib import Path

import pytest

import policy
import test_proxied_urls as proxied
from clients import exchange, target_of
from conftest import wait_for
from hostile_paths import HOSTILE
from mesh import NORMALIZATIONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "istio.md"
PAGE = proxied.PAGE
UNIVERSAL = [
    *proxied.DATA,
    *proxied.CLIMBS,
    b"/proxy/1/other/https:/a;b%2Fc",
    PAGE + b"/a/./b",
    PAGE + b"/a/../b",
    PAGE + b"/%7Euser/%41bc",
    PAGE + b"//cdn.example/x",
    b"/api/1//devices",
    b"/sockets/1//x",
]
TARGETS = [row.target for row in HOSTILE] + UNIVERSAL

# What istiod writes on the gateway's connection manager for each setting.
HCM = {
    "NONE": (False, False, "KEEP_UNCHANGED"),
    "BASE": (True, False, "KEEP_UNCHANGED"),
    "MERGE_SLASHES": (True, True, "KEEP_UNCHANGED"),
    "DECODE_AND_MERGE_SLASHES": (True, True, "UNESCAPE_AND_FORWARD"),
}


def hcm_settings(gateway) -> tuple | None:
    dump = gateway.proxy.config_dump("dynamic_listeners")
    for entry in dump.get("configs", []):
        listener = entry.get("active_state", {}).get("listener", {})
        if listener.get("address", {}).get("socket_address", {}).get("port_value") != gateway.port:
            continue
        for chain in listener.get("filter_chains", []):
            for f in chain.get("filters", []):
                hcm = f.get("typed_config", {})
                if "normalize_path" in hcm or "stat_prefix" in hcm:
                    return (
                        bool(hcm.get("normalize_path")),
                        bool(hcm.get("merge_slashes")),
                        hcm.get("path_with_escaped_slashes_action", "KEEP_UNCHANGED"),
                    )
    return None


def answer(upstream, gateway, target: bytes) -> tuple[int, bytes | None]:
    response, received = exchange(upstream, gateway.port, "h1", "GET", target)
    assert response.status < 500, (target, response)
    for entry in received:
        path, _ = policy.split_target(target_of(entry))
        assert policy.forwardable(path, gateway.prefixes), f"{target!r} reached the upstream as {path!r}"
    return response.status, target_of(received[0]) if received else None


@pytest.fixture(scope="module")
def measured(control, gateways, upstream) -> dict[tuple[str, bytes], dict[str, tuple]]:
    """(role, target) -> {setting: (status, forwarded path or None)}."""
    table: dict[tuple[str, bytes], dict[str, tuple]] = {}
    try:
        for setting in NORMALIZATIONS:
            control.set_normalization(setting)
            for gateway in gateways.values():
                wait_for(lambda: hcm_settings(gateway) == HCM[setting], 60, f"{setting} on {gateway.role}",
                         gateway.proxy)
                # The old listener drains; wait until the new one answers (its first request).
                for target in TARGETS:
                    table.setdefault((gateway.role, target), {})[setting] = answer(upstream, gateway, target)
    finally:
        control.set_normalization("NONE")
        for gateway in gateways.values():
            wait_for(lambda: hcm_settings(gateway) == HCM["NONE"], 60, f"NONE on {gateway.role}", gateway.proxy)
    return table


def show(result: tuple[int, bytes | None]) -> str:
    status, forwarded = result
    return f"{status} {forwarded.decode('latin-1')}" if forwarded else str(status)


def rendered(table) -> str:
    """The docs table: one row per (target, role) whose answer differs between settings."""
    lines = ["| target | gateway | " + " | ".join(NORMALIZATIONS) + " |", "|---|---|" + "---|" * len(NORMALIZATIONS)]
    for (role, target), answers in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cells = [show(answers[s]) for s in NORMALIZATIONS]
        if len(set(cells)) > 1:
            lines.append(f"| `{target.decode('latin-1')}` | {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_every_setting_was_measured_on_both_gateways(measured):
    assert len(measured) == 2 * len(set(TARGETS))
    assert all(set(answers) == set(NORMALIZATIONS) for answers in measured.values())


def test_none_answers_as_the_shipped_configs(measured):
    """NONE leaves the path as sent: every hostile row gets the shipped configs' status, but
    for a `#fragment`, which Istio's bootstrap has Envoy cut off (test_e2e_tables.py)."""
    for row in HOSTILE:
        if row.raw_status is None or b"#" in row.target:
            continue
        for role in ("external", "internal"):
            assert measured[(role, row.target)]["NONE"] == (row.raw_status, None), (role, row.target)


def test_docs_table_is_the_measured_one(measured):
    text = DOCS.read_text(encoding="utf-8")
    documented = text.split("<!-- measured: tests/istio -->\n", 1)[1].split("\n<!-- end -->", 1)[0]
    table = rendered(measured)
    (DOCS.parent.parent / "target" / "istio-path-normalization.md").write_text(table + "\n", encoding="utf-8")
    assert documented.strip() == table, "docs/istio.md should hold (target/istio-path-normalization.md):\n" + table
