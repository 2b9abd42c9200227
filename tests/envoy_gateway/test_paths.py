"""Every hostile row (tests/e2e/hostile_paths.py) and every proxied URL
(tests/e2e/test_proxied_urls.py) through the real Envoy Gateway with the shipped policies.

Envoy Gateway always turns on Envoy's path normalization (dot segments resolved, escaped
unreserved characters decoded; the shipped ClientTrafficPolicy keeps `//` and `%2F`). For
every target the probe Gateway (the same path settings, no firewall) shows what that makes
of it, or that Envoy refused it itself; the firewall Gateway must then answer exactly as the
contract answers the normalized path (the shipped envoy/ config, paths as sent), forward what
it forwards, never answer 5xx and never forward a path outside the role's prefixes.
"""

from __future__ import annotations

import pytest
import test_proxied_urls as proxied

import policy
from clients import exchange, target_of
from hostile_paths import HOSTILE

PAGE = proxied.PAGE
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


def judge(upstream, deployment, listener, reference: int, target: bytes) -> tuple[int, bytes | None]:
    """(status, forwarded target or None) at the firewall Gateway, held to probe and reference."""
    probe, seen = exchange(upstream, deployment.ports["probe"], "h1", "GET", target)
    response, received = exchange(upstream, listener.port, "h1", "GET", target)
    assert response.status < 500, (target, response)
    for entry in received:
        path, _ = policy.split_target(target_of(entry))
        assert policy.forwardable(path, listener.prefixes), f"{target!r} reached the upstream as {path!r}"
    if not seen:
        # Envoy refused it before any filter ran: the same answer, nothing forwarded.
        assert (response.status, received) == (probe.status, []), (target, response, probe)
        return response.status, None
    normalized = target_of(seen[0])
    expected, expected_received = exchange(upstream, reference, "h1", "GET", normalized)
    assert response.status == expected.status, (target, normalized, response, expected)
    assert [target_of(e) for e in received] == [target_of(e) for e in expected_received], (target, normalized)
    return response.status, target_of(received[0]) if received else None


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: repr(t)[2:-1][:60])
def test_each_target_gets_the_contracts_answer_for_what_normalization_leaves(
    upstream, deployment, listener, reference, target
):
    judge(upstream, deployment, listener, reference[listener.role], target)


def test_proxied_urls_keep_their_slashes_and_parameters(upstream, listener):
    """What Universal Cobrowse needs: `//`, `%2F` and `;parameters` reach the upstream as sent."""
    for target in (PAGE + b"//cdn.example/x", PAGE + b"/docs/a%2Fb", PAGE + b"/cart;jsessionid=A1B2C3?step=2"):
        response, received = exchange(upstream, listener.port, "h1", "GET", target)
        assert response.status == 200, (target, response)
        assert [target_of(e) for e in received] == [target], target
