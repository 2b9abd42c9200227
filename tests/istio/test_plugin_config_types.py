"""A pluginConfig is YAML, read as YAML 1.1 (as kubectl reads it), stored by the API server as
JSON, held by istiod as a protobuf Struct (every number a double) and sent to Envoy as JSON.
Values YAML types differently than a JSON author would must load as intended or be refused by
the module with its one clear line; a refused update leaves the last good one in force.

Each case is applied through the API server to the external gateway's WasmPlugin.
"""

from __future__ import annotations

import pytest
import yaml

from clients import exchange, target_of
from conftest import READY_TIMEOUT, wait_for, wasmplugin
from test_lifecycle import deliver

BASE = """
name: external
groups: [sdk, universal, sdk_pinning, ai_sdk]
fallback: deny
mode: enforce
"""

# (id, YAML added to the shipped pluginConfig, expected: ("loads", status of a denial,
# denial body or None) or ("refused", words of the module's log line))
CASES = [
    ("status int", "deny_response: {status: 418}", ("loads", 418, None)),
    # A Struct's double 418 is sent as `418`, which the module accepts.
    ("status float", "deny_response: {status: 418.0}", ("loads", 418, None)),
    ("status string", 'deny_response: {status: "418"}', ("refused", ["deny_response.status", '"418"'])),
    ("status out of range", "deny_response: {status: 500}", ("refused", ["deny_response.status", "500"])),
    # istiod's JSON escapes <, > and & as \u003c, \u003e, \u0026: the module decodes them.
    ("body html", "deny_response: {body: '<b>no</b> & bye'}", ("loads", 403, b"<b>no</b> & bye")),
    ("null is the default", "filter_state: ~\ndeny_response: {status: null}", ("loads", 403, None)),
    # YAML 1.1: unquoted yes/no/on/off are booleans.
    ("bool yes", "custom_groups: [{name: health, prefixes: [/healthz], websocket: yes}]", ("loads", 403, None)),
    (
        "bool as string",
        'custom_groups: [{name: health, prefixes: [/healthz], websocket: "yes"}]',
        ("refused", ["custom_groups[0].websocket", '"yes"']),
    ),
    ("level off unquoted", "log: {level: off}", ("refused", ["log.level", "false"])),
    ("level off quoted", 'log: {level: "off"}', ("loads", 403, None)),
    ("number as name", "name: 2024", ("refused", ["name", "2024"])),
]


def with_config(image, extra: str) -> dict:
    plugin = wasmplugin("external", image)
    plugin["spec"]["pluginConfig"] = yaml.safe_load(BASE + extra)
    return plugin


def denial(upstream, gateway):
    response, received = exchange(upstream, gateway.port, "h1", "GET", b"/api/1/agents")
    assert received == []
    return response


@pytest.fixture(scope="module")
def typed(control, gateways, image, upstream):
    gateway = gateways["external"]
    yield gateway
    control.kube.apply(wasmplugin("external", image))
    wait_for(lambda: denial(upstream, gateway).status == 403, READY_TIMEOUT, "the shipped config back", gateway.proxy)


@pytest.mark.parametrize("case,extra,expected", CASES, ids=[c[0] for c in CASES])
def test_plugin_config_loads_as_intended_or_is_refused(control, typed, image, upstream, case, extra, expected):
    gateway = typed
    # Start from a known good config with a recognisable denial status.
    good = with_config(image, "deny_response: {status: 451}")
    if deliver(control, gateway, good) != "reload" and denial(upstream, gateway).status != 451:
        pytest.fail("the known good config did not load")
    wait_for(lambda: denial(upstream, gateway).status == 451, READY_TIMEOUT, "451 in force", gateway.proxy)
    mark = gateway.proxy.log_mark()
    outcome = deliver(control, gateway, with_config(image, extra))
    if expected[0] == "refused":
        assert outcome == "fail", f"{case}: Envoy took the update"
        lines = [line for line in gateway.proxy.log_since(mark) if "invalid configuration" in line]
        assert len(lines) >= 1 and all(word in lines[0] for word in expected[1]), lines
        # The last good config is still in force: fail closed, not open.
        assert denial(upstream, gateway).status == 451
        return
    assert outcome == "reload", f"{case}: refused\n" + "\n".join(gateway.proxy.log_since(mark)[-5:])
    response = denial(upstream, gateway)
    assert response.status == expected[1]
    if expected[2] is not None:
        assert response.body == expected[2]
    if case == "bool yes":
        headers = [
            (b"connection", b"upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ]
        response, received = exchange(upstream, gateway.port, "h1", "GET", b"/healthz", headers)
        assert response.status != 403 and [target_of(e) for e in received] == [b"/healthz"], response
