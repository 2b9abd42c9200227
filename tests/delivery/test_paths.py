"""The hostile rows and the proxied (Universal Cobrowse) URLs through the gateway with Istio's
default path handling, pathNormalization BASE: Envoy resolves dot segments (and decodes what
it considers unreserved) before the firewall sees the path.

For every target: the probe listener shows what normalization makes of it (or that Envoy
refused it itself); the gateway must then answer exactly as the contract answers that
normalized path (the reference listener, normalization off), forward exactly what the
reference forwards, never answer 5xx and never forward a path outside the role's prefixes.
What changes against the shipped configs is listed in docs/istio.md; the test checks that
list is the measured one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import policy
import test_proxied_urls as proxied
from clients import exchange, target_of
from hostile_paths import HOSTILE
from test_hostile_paths import h2_status

DOCS = Path(__file__).resolve().parents[2] / "docs" / "istio.md"
PAGE = proxied.PAGE
# tests/e2e/test_proxied_urls.py's rows, the agents' whole proxy prefix, and a few more
# whose proxied URL holds a dot segment, `//` or an encoded unreserved character.
UNIVERSAL = [
    *proxied.DATA,
    *proxied.CLIMBS,
    b"/proxy/1/other/https:/a;b%2Fc",
    PAGE + b"/a/./b",
    PAGE + b"/a/../b",
    PAGE + b"/%7Euser/%41bc",
    PAGE + b"//cdn.example/x",
]
TARGETS = [row.target for row in HOSTILE] + UNIVERSAL


def judge(upstream, gateway, target: bytes) -> tuple[int, bytes | None]:
    """(status, forwarded path or None) at the gateway, checked against probe and reference."""
    probe, seen = exchange(upstream, gateway.envoy.ports["probe"], "h1", "GET", target)
    response, received = exchange(upstream, gateway.port, "h1", "GET", target)
    assert response.status < 500, (target, response)
    for entry in received:
        path, _ = policy.split_target(target_of(entry))
        assert policy.forwardable(path, gateway.prefixes), f"{target!r} reached the upstream as {path!r}"
    if not seen:
        # Envoy refused it before any filter ran: the same answer, nothing forwarded.
        assert (response.status, received) == (probe.status, []), target
        return response.status, None
    normalized = target_of(seen[0])
    expected, expected_received = exchange(
        upstream, gateway.envoy.ports["reference"], "h1", "GET", normalized
    )
    assert response.status == expected.status, (target, normalized, response, expected)
    assert [target_of(e) for e in received] == [target_of(e) for e in expected_received], (target, normalized)
    return response.status, target_of(received[0]) if received else None


def as_sent(upstream, gateway, target: bytes) -> tuple[int, bytes | None]:
    """The answer of the shipped settings (no normalization) to the target as sent."""
    response, received = exchange(upstream, gateway.envoy.ports["reference"], "h1", "GET", target)
    return response.status, target_of(received[0]) if received else None


@pytest.fixture(scope="module")
def measured(upstream, gateways) -> dict[tuple[str, bytes], tuple[tuple, tuple]]:
    """(role, target) -> (answer as shipped, answer at the Istio gateway)."""
    return {
        (role, target): (as_sent(upstream, gateway, target), judge(upstream, gateway, target))
        for role, gateway in gateways.items()
        for target in TARGETS
    }


def test_every_target_is_judged_on_its_normalized_path(measured):
    assert len(measured) == 2 * len(TARGETS)


def test_hostile_rows_never_forward_what_the_shipped_configs_refuse_outside_a_prefix(measured):
    for (role, target), (shipped, istio) in measured.items():
        if target in UNIVERSAL:
            continue
        row = next(r for r in HOSTILE if r.target == target)
        if row.raw_status is not None:
            assert shipped == (row.raw_status, None), (role, target)


def documented_changes() -> set[tuple[str, str, str, str]]:
    """The table in docs/istio.md (target | as shipped | external | internal, `same` where a
    role's answer does not change) as (role, target, as shipped, at the gateway)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("<!-- measured: tests/delivery -->", 1)[1].split("<!-- end -->", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        target, shipped = cells[0].strip("`"), cells[1]
        for role, answer in zip(("external", "internal"), cells[2:]):
            if answer != "same":
                rows.add((role, target, shipped, answer))
    return rows


def show(answer: tuple[int, bytes | None]) -> str:
    status, forwarded = answer
    return f"{status} {forwarded.decode('latin-1')}" if forwarded else str(status)


def test_docs_list_exactly_what_changes(measured):
    changes = {
        (role, target.decode("latin-1"), show(shipped), show(istio))
        for (role, target), (shipped, istio) in measured.items()
        if shipped != istio
    }
    documented = documented_changes()
    missing = sorted(changes - documented)
    stale = sorted(documented - changes)
    assert not missing and not stale, (
        "docs/istio.md table, (role, target, as shipped, at the gateway):\n"
        + "\n".join([f"missing: {row}" for row in missing] + [f"stale: {row}" for row in stale])
    )


def h2_statuses(port: int, targets: list[bytes]) -> list[int | None]:
    """All at once, a connection each: Envoy closes a connection whose header block its
    codec refuses only after its delayed-close timeout (1 s), which would add up."""
    with ThreadPoolExecutor(max_workers=len(targets) or 1) as pool:
        return list(pool.map(lambda target: h2_status(port, target), targets))


def test_over_http2_each_target_is_judged_on_its_normalized_path(upstream, gateways):
    """The same targets as an HTTP/2 :path (HPACK, no request-line parsing: Envoy's HTTP/2
    codec takes some bytes its HTTP/1.1 codec refuses), held to the same differential.
    Targets the codec refuses (no answer at the probe) must be refused at the gateway too."""
    for gateway in gateways.values():
        ports = gateway.envoy.ports
        refused = [t for t, s in zip(TARGETS, h2_statuses(ports["probe"], TARGETS)) if s is None]
        mark = upstream.mark()
        assert h2_statuses(gateway.port, refused) == [None] * len(refused)
        assert upstream.since(mark) == []
        for target in (t for t in TARGETS if t not in refused):
            probe, seen = exchange(upstream, ports["probe"], "h2", "GET", target)
            response, received = exchange(upstream, gateway.port, "h2", "GET", target)
            for entry in received:
                path, _ = policy.split_target(target_of(entry))
                assert policy.forwardable(path, gateway.prefixes), (
                    f"{target!r} reached the upstream as {path!r}"
                )
            if not seen:
                assert (response.status, received) == (probe.status, []), target
                continue
            normalized = target_of(seen[0])
            expected, expected_received = exchange(upstream, ports["reference"], "h2", "GET", normalized)
            assert response.status == expected.status, (target, normalized, response, expected)
            assert [target_of(e) for e in received] == [target_of(e) for e in expected_received], target
