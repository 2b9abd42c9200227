"""A pluginConfig is YAML, read by kubectl as YAML 1.1, stored as JSON, held by istiod as a
protobuf Struct (every number a double) and sent as jsonpb's JSON. Values YAML types
differently than a JSON author would must load as intended or be refused, at ECDS, with the
module's one clear line; a refused update leaves the last good one in force.

Each case is delivered to one running gateway through the whole path (istiod's translation,
the agent, ECDS) and judged by the real module.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import pointed_at, shipped_plugin, start_gateway

from clients import exchange, target_of

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
    # A YAML float: the Struct's double 418 is sent as `418`, which the module accepts
    # (it would refuse `418.0` written in JSON).
    ("status float", "deny_response: {status: 418.0}", ("loads", 418, None)),
    ("status string", 'deny_response: {status: "418"}', ("refused", ["deny_response.status", '"418"'])),
    ("status out of range", "deny_response: {status: 500}", ("refused", ["deny_response.status", "500"])),
    # jsonpb escapes <, > and & as \u003c, \u003e, \u0026: the module decodes them.
    ("body html", "deny_response: {body: '<b>no</b> & bye'}", ("loads", 403, b"<b>no</b> & bye")),
    ("null is the default", "filter_state: ~\ndeny_response: {status: null}", ("loads", 403, None)),
    # YAML 1.1: unquoted yes/no/on/off are booleans, to kubectl as to PyYAML.
    (
        "bool yes",
        "custom_groups: [{name: health, prefixes: [/healthz], websocket: yes}]",
        ("loads", 403, None),
    ),
    (
        "bool as string",
        'custom_groups: [{name: health, prefixes: [/healthz], websocket: "yes"}]',
        ("refused", ["custom_groups[0].websocket", '"yes"']),
    ),
    ("level off unquoted", "log: {level: off}", ("refused", ["log.level", "false"])),
    ("level off quoted", 'log: {level: "off"}', ("loads", 403, None)),
    ("number as name", "name: 2024", ("refused", ["name", "2024"])),
]


@pytest.fixture(scope="module")
def typed_gateway(workdir, upstream, image):
    gateway = start_gateway("types", pointed_at(shipped_plugin("external"), image), workdir, upstream)
    gateway.role = "external"
    yield gateway
    gateway.envoy.stop()


def with_config(image, extra: str) -> dict:
    plugin = pointed_at(shipped_plugin("external"), image)
    plugin["spec"]["pluginConfig"] = yaml.safe_load(BASE + extra)
    return plugin


def denial(upstream, gateway):
    response, received = exchange(upstream, gateway.port, "h1", "GET", b"/api/1/agents")
    assert received == []
    return response


@pytest.mark.parametrize("case,extra,expected", CASES, ids=[c[0] for c in CASES])
def test_plugin_config_loads_as_intended_or_is_refused(upstream, typed_gateway, image, case, extra, expected):
    gateway = typed_gateway
    # Start from a known good config with a recognisable denial status.
    assert gateway.deliver(with_config(image, "deny_response: {status: 451}"))[0] == "reload"
    mark = gateway.envoy.log_mark()
    outcome, error = gateway.deliver(with_config(image, extra))
    assert error is None
    if expected[0] == "refused":
        assert outcome == "fail", f"{case}: Envoy took the update"
        lines = [line for line in gateway.envoy.log_since(mark) if "invalid configuration" in line]
        assert len(lines) >= 1 and all(word in lines[0] for word in expected[1]), lines
        # The last good config is still in force: fail closed, not open.
        assert denial(upstream, gateway).status == 451
        return
    assert outcome == "reload", f"{case}: refused\n" + "\n".join(gateway.envoy.log_since(mark)[-5:])
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
