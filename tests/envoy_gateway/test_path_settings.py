"""The shipped ClientTrafficPolicy really changes what Envoy Gateway's Envoy does to a path:
measured on two Gateways without a firewall, `defaults` (no policy: Envoy Gateway's own
settings) and `probe` (the shipped ClientTrafficPolicy's copy), and read in their config dumps.
"""

from __future__ import annotations

import harness
import pytest

from clients import exchange, target_of

PAGE = b"/proxy/1/universal/com/example/shop/https:"

# sent -> (what the upstream gets by default, or the status Envoy answers itself;
#          what it gets with the shipped ClientTrafficPolicy)
MEASURED = [
    (PAGE + b"//cdn.example/x", PAGE + b"/cdn.example/x", PAGE + b"//cdn.example/x"),
    (PAGE + b"/docs/a%2Fb", 307, PAGE + b"/docs/a%2Fb"),
    (PAGE + b"/docs/a%2fb", 307, PAGE + b"/docs/a%2fb"),
    (b"/api/1/devices//x", b"/api/1/devices/x", b"/api/1/devices//x"),
    # What both do (normalize_path is always on): dot segments and escaped unreserved bytes.
    (b"/api/1/devices/a/../b", b"/api/1/devices/b", b"/api/1/devices/b"),
    (b"/api/1/devices/%7Eu%41", b"/api/1/devices/~uA", b"/api/1/devices/~uA"),
]


def outcome(upstream, port: int, target: bytes) -> bytes | int:
    response, received = exchange(upstream, port, "h1", "GET", target)
    if not received:
        return response.status
    assert response.status == 200, response
    [entry] = received
    return target_of(entry)


@pytest.mark.parametrize("sent, default, shipped", MEASURED, ids=lambda v: repr(v)[2:-1][-30:] if isinstance(v, bytes) else str(v))
def test_without_the_policy_envoy_gateway_merges_and_unescapes_slashes(upstream, deployment, sent, default, shipped):
    assert outcome(upstream, deployment.ports["defaults"], sent) == default
    assert outcome(upstream, deployment.ports["probe"], sent) == shipped


def hcm_path_settings(deployment, gateway: str) -> dict:
    """The path settings of the HTTP connection manager Envoy Gateway made for `gateway`."""
    dump = deployment.envoy(gateway).config_dump()
    hcm = harness.connection_manager(dump, deployment.ports[gateway])
    return {key: hcm.get(key) for key in ("normalize_path", "merge_slashes", "path_with_escaped_slashes_action")}


def test_the_generated_connection_managers_carry_the_settings(deployment):
    assert hcm_path_settings(deployment, "defaults") == {
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "UNESCAPE_AND_REDIRECT",
    }
    for gateway in ("probe", "cobrowse-external", "cobrowse-internal"):
        assert hcm_path_settings(deployment, gateway) == {
            "normalize_path": True,
            "merge_slashes": None,
            "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
        }, gateway
