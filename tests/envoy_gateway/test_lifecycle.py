"""The external Gateway's policy changed while requests flow: a new configuration, a bad one,
a wrong sha256 and an unreachable module. What clients see is recorded against the time the
file was written (the numbers in docs/envoy-gateway.md come from these runs, printed with -s).

Whatever happens, a path the policy does not serve never reaches the upstream.
"""

from __future__ import annotations

import copy
import time

import pytest
from clients import get1
from conftest import policies
from harness import wait_for
from traffic import Traffic

DEVICES, AGENTS, MCP = b"/api/1/devices", b"/api/1/agents", b"/virtual-agent/1/mcp"
TARGETS = [DEVICES, AGENTS, MCP]
SETTLE = 8.0  # seconds of traffic after each change at least: Envoy Gateway reloads files at once
LONGEST = 60.0  # and at most, waiting for `until`


def external_policy(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "EnvoyExtensionPolicy" and d["spec"]["targetRefs"][0]["name"] == "cobrowse-external")


@pytest.fixture
def change(deployment, image, download):
    """change(edit) -> Traffic: the current form's policies with the external one edited,
    written while traffic flows; the shipped policies are restored afterwards."""
    form = deployment.form or "image"
    shipped = policies(form, image, download)
    port = deployment.ports["cobrowse-external"]
    started: list[Traffic] = []

    def apply(edit, until=None) -> Traffic:
        """Traffic from before the change until SETTLE seconds after it, or after `until`
        (a condition on the answers) holds, for 2 s more."""
        docs = copy.deepcopy(shipped)
        edit(external_policy(docs), docs)
        traffic = Traffic(port, TARGETS).start()
        started.append(traffic)
        time.sleep(1.0)
        traffic.mark_change()
        deployment.eg.apply("30-firewall", docs)
        time.sleep(SETTLE)
        if until is not None:
            wait_for(lambda: until(traffic), LONGEST, f"{edit.__name__} taking effect", deployment.eg)
            time.sleep(2.0)
        traffic.stop()
        print(f"\n{edit.__name__}: " + "; ".join(f"{t.decode()} {dict(traffic.summary(t))}" for t in TARGETS))
        return traffic

    yield apply
    for traffic in started:
        traffic.stop()
    deployment.eg.apply("30-firewall", shipped)
    wait_for(
        lambda: _serves_shipped(port),
        120,
        "the shipped policy back in place",
        deployment.eg,
    )


def _serves_shipped(port: int) -> bool:
    try:
        return (get1(port, DEVICES).status, get1(port, AGENTS).status, get1(port, MCP).status) == (200, 403, 403)
    except OSError:
        return False


def assert_nothing_unserved_forwarded(traffic: Traffic, served: set[bytes]) -> None:
    leaked = [a for a in traffic.answers if a.forwarded and a.target not in served]
    assert not leaked, leaked[:3]


def test_a_new_configuration_takes_over_without_a_refused_request(change):
    def add_mcp(policy, _docs):
        policy["spec"]["wasm"][0]["config"]["groups"].append("mcp")

    traffic = change(add_mcp)
    assert_nothing_unserved_forwarded(traffic, {DEVICES, MCP})
    assert set(traffic.summary(DEVICES)) == {(200, True)}
    assert set(traffic.summary(AGENTS)) == {(403, False)}
    # MCP turns from 403 to 200 once, and stays.
    statuses = [a.status for a in traffic.answers if a.target == MCP]
    switched = statuses.index(200)
    assert set(statuses[:switched]) <= {403} and set(statuses[switched:]) == {200}, statuses
    print(f"mcp served after {traffic.first(MCP, 200):.2f} s")


def old_then_500(traffic: Traffic) -> float:
    """Each target answered as before, then 500 (nothing forwarded) from one moment on;
    returns that moment (seconds after the change)."""
    switch = traffic.first(DEVICES, 500)
    assert switch is not None, traffic.summary(DEVICES)
    before = {DEVICES: (200, True), AGENTS: (403, False), MCP: (403, False)}
    for answer in traffic.answers:
        if answer.at < switch - 0.5:
            assert (answer.status, answer.forwarded) == before[answer.target], answer
        elif answer.at > switch + 0.5:
            assert (answer.status, answer.forwarded) == (500, False), answer
    return switch


def test_a_bad_configuration_is_refused_by_envoy_and_the_old_one_keeps_serving(change, deployment):
    """The module refuses the configuration when Envoy loads it; Envoy refuses the listener
    update, and the policy it had keeps answering, request for request."""
    mark = deployment.eg.log_mark()

    def unknown_group(policy, _docs):
        policy["spec"]["wasm"][0]["config"]["groups"].append("no_such_group")

    traffic = change(unknown_group)
    assert set(traffic.summary(DEVICES)) == {(200, True)}
    assert set(traffic.summary(AGENTS)) == {(403, False)}
    assert set(traffic.summary(MCP)) == {(403, False)}
    log = "\n".join(deployment.eg.log_since(mark))
    assert 'unknown group "no_such_group"' in log
    assert "Envoy rejected the last update" in log


def test_a_wrong_sha256_turns_the_routes_into_500(change):
    """Envoy Gateway refuses the module it downloaded and answers 500 on every route the
    policy covers: fail closed, nothing forwarded."""

    def wrong_sha256(policy, _docs):
        code = policy["spec"]["wasm"][0]["code"]
        code["image" if code["type"] == "Image" else "http"]["sha256"] = "0" * 64

    traffic = change(wrong_sha256, until=lambda t: t.first(DEVICES, 500) is not None)
    print(f"500 from {old_then_500(traffic):.2f} s")


@pytest.mark.parametrize("form", ["image"], indirect=True)
def test_the_modules_own_sha256_in_the_image_form_is_a_wrong_one(form, change, image, release):
    """For an Image source Envoy Gateway compares `sha256` with the image's manifest digest:
    the .wasm file's SHA-256 there, the swap scripts/release/manifests.py refuses to write,
    fails as any wrong value does."""
    module_sha256 = release.wasm_sha256
    assert module_sha256 != image["sha256"]

    def module_sha256_for_the_image(policy, _docs):
        policy["spec"]["wasm"][0]["code"]["image"]["sha256"] = module_sha256

    traffic = change(module_sha256_for_the_image, until=lambda t: t.first(DEVICES, 500) is not None)
    print(f"500 from {old_then_500(traffic):.2f} s")


def test_an_unreachable_module_keeps_the_old_policy_while_retried_then_500(change):
    """Envoy Gateway retries the download (5 attempts), the old policy answering meanwhile;
    then 500 on every route the policy covers."""

    def unreachable(policy, _docs):
        code = policy["spec"]["wasm"][0]["code"]
        if code["type"] == "Image":
            code["image"]["url"] = "127.0.0.1:9/cobrowse-l7-firewall:0.0.0-test"
        else:
            code["http"]["url"] = "https://127.0.0.1:9/cobrowse_l7_firewall.wasm"

    traffic = change(unreachable, until=lambda t: t.first(DEVICES, 500) is not None)
    switch = old_then_500(traffic)
    assert switch > 2.0, switch
    print(f"500 from {switch:.2f} s")
