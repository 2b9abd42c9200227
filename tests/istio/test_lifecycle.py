"""The WasmPlugin's life through the real control plane, on the external gateway: changes
applied through the API server, istiod pushing them, the agent fetching, Envoy taking or
refusing them. What clients see in each case is measured (docs/istio.md lists it); each test
puts the shipped plugin back and waits for it before the next.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import yaml

from clients import exchange, target_of
from conftest import READY_TIMEOUT, wait_for, wasmplugin

ALLOWED, DENIED = b"/api/1/devices", b"/api/1/agents"
RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"


def plugin_filter(gateway) -> dict | None:
    """The ECDS resource istiod names after the external WasmPlugin (Wasm, or the agent's RBAC)."""
    for entry in gateway.ecds_filters():
        if "cobrowse-l7-firewall-external" in entry.get("name", ""):
            return entry
    return None


REJECTED = "TypedExtensionConfig rejected"


def plugin_config(gateway) -> dict | None:
    """The pluginConfig Envoy runs now, as the JSON istiod sent."""
    entry = plugin_filter(gateway) or {}
    value = entry.get("typed_config", {}).get("config", {}).get("configuration", {}).get("value")
    return json.loads(value) if value else None


def deliver(control, gateway, plugin: dict) -> str:
    """Apply through the API server; "reload" once Envoy runs its pluginConfig, "fail" once
    Envoy refused the ECDS update (its warning in the gateway's log)."""
    mark = gateway.proxy.log_mark()
    control.kube.apply(plugin)
    wanted = plugin["spec"]["pluginConfig"]

    def refused() -> bool:
        return any(REJECTED in line for line in gateway.proxy.log_since(mark))

    # Envoy's ECDS dump shows a resource it received even when it then refused it: a refusal
    # is told by its warning, which comes with the same update.
    outcome = wait_for(lambda: ("fail" if refused() else None) or ("seen" if plugin_config(gateway) == wanted else None),
                       READY_TIMEOUT, "the ECDS update", gateway.proxy)
    if outcome == "seen":
        time.sleep(0.5)
        outcome = "fail" if refused() else "reload"
    return outcome


class Traffic:
    """Requests in a loop from a thread, alternating an allowed and a denied path, each on a
    connection of its own: every answer is kept with the time it came."""

    def __init__(self, upstream, gateway):
        self.upstream, self.gateway = upstream, gateway
        self.results: list[tuple[float, bytes, int | str, list[bytes]]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopping.is_set():
            for target in (ALLOWED, DENIED):
                try:
                    response, received = exchange(self.upstream, self.gateway.port, "h1", "GET", target)
                    outcome: int | str = response.status
                except OSError as error:
                    outcome, received = f"error: {error}", []
                self.results.append((time.monotonic(), target, outcome, [target_of(e) for e in received]))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(30)

    def seen(self, target: bytes) -> set:
        return {outcome for _, t, outcome, _ in self.results if t == target}

    def forwarded(self, target: bytes) -> int:
        return sum(1 for _, t, _, received in self.results if t == target and received)


def answers(upstream, gateway) -> dict[bytes, tuple[int, bool]]:
    out = {}
    for target in (ALLOWED, DENIED):
        response, received = exchange(upstream, gateway.port, "h1", "GET", target)
        out[target] = (response.status, bool(received))
    return out


SHIPPED = {ALLOWED: (200, True), DENIED: (403, False)}


@pytest.fixture
def external(control, gateways, image, upstream):
    """The external gateway; afterwards the shipped plugin again, in force."""
    gateway = gateways["external"]
    yield gateway
    control.kube.apply(wasmplugin("external", image))
    wait_for(lambda: answers(upstream, gateway) == SHIPPED and
             (plugin_filter(gateway) or {}).get("typed_config", {}).get("@type") != RBAC_TYPE,
             READY_TIMEOUT, "the shipped plugin back", gateway.proxy)


def with_config(image, **changes) -> dict:
    plugin = wasmplugin("external", image)
    plugin["spec"]["pluginConfig"].update(changes)
    return plugin


def test_a_plugin_config_change_under_traffic(control, external, image, upstream, record):
    """No request fails, no denied path is forwarded, and the new policy is in force within
    the measured time."""
    with Traffic(upstream, external) as traffic:
        time.sleep(0.5)
        applied = time.monotonic()
        control.kube.apply(with_config(image, deny_response={"status": 451}))
        wait_for(lambda: any(t > applied and o == 451 for t, _, o, _ in traffic.results), READY_TIMEOUT,
                 "the new deny status", external.proxy)
        enforced = min(t for t, _, o, _ in traffic.results if t > applied and o == 451) - applied
        time.sleep(0.5)
    assert traffic.seen(ALLOWED) == {200}
    assert traffic.seen(DENIED) == {403, 451}
    assert traffic.forwarded(DENIED) == 0
    assert traffic.forwarded(ALLOWED) == len([r for r in traffic.results if r[1] == ALLOWED])
    record("config change: in force after", f"{enforced:.2f} s", f"{len(traffic.results)} requests, none failed")


def test_a_bad_plugin_config_is_refused_and_the_last_good_one_stays(control, external, image, upstream, record):
    mark = external.proxy.log_mark()
    with Traffic(upstream, external) as traffic:
        assert deliver(control, external, with_config(image, groups=["sdk", "no_such_group"])) == "fail"
        time.sleep(0.5)
    assert traffic.seen(ALLOWED) == {200} and traffic.seen(DENIED) == {403}
    assert traffic.forwarded(DENIED) == 0
    lines = [line for line in external.proxy.log_since(mark) if "no_such_group" in line]
    assert lines, "the module's line naming the bad group"
    record("bad pluginConfig", "ECDS update rejected, last good policy in force", lines[0][-160:])


BROKEN = {
    "unpullable": lambda image: {"url": image["url"].partition("@")[0] + "@sha256:" + "0" * 64, "sha256": None},
    "wrong sha256": lambda image: {"sha256": "0" * 64},
    # For oci:// Istio compares `sha256` with the image's manifest digest: the .wasm file's own
    # SHA-256 there (the mix-up manifests.py refuses to write) is a mismatch.
    "the .wasm's sha256 for oci://": lambda image: {"sha256": image["wasm_sha256"]},
}
EXPECTED = {
    # The agent replaces the module with an RBAC filter: deny-all, or under FAIL_OPEN allow-all,
    # which forwards everything unfiltered.
    "FAIL_CLOSE": {ALLOWED: (403, False), DENIED: (403, False)},
    "FAIL_OPEN": {ALLOWED: (200, True), DENIED: (200, True)},
}


@pytest.mark.parametrize("policy", ["FAIL_CLOSE", "FAIL_OPEN"])
@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_module_that_cannot_be_had(control, external, image, upstream, record, broken, policy):
    plugin = wasmplugin("external", image, failStrategy=policy)
    for key, value in BROKEN[broken](image).items():
        if value is None:
            plugin["spec"].pop(key, None)
        else:
            plugin["spec"][key] = value
    applied = time.monotonic()
    control.kube.apply(plugin)
    wait_for(lambda: (plugin_filter(external) or {}).get("typed_config", {}).get("@type") == RBAC_TYPE,
             READY_TIMEOUT, "the agent's fallback filter", external.proxy)
    seen = wait_for(lambda: (a := answers(upstream, external)) == EXPECTED[policy] and a, READY_TIMEOUT,
                    f"clients seeing {EXPECTED[policy]}", external.proxy)
    stat = "wasm-default-deny" if policy == "FAIL_CLOSE" else "wasm-default-allow"
    assert stat in yaml.safe_dump(plugin_filter(external))
    record(f"{broken}, {policy}", f"{time.monotonic() - applied:.2f} s",
           ", ".join(f"{t.decode()} {s}{' forwarded' if f else ''}" for t, (s, f) in seen.items()))


def test_the_plugin_deleted(control, external, image, upstream, record):
    """Deleting the WasmPlugin removes the filter: the gateway then forwards everything."""
    applied = time.monotonic()
    control.kube.delete(wasmplugin("external", image))
    seen = wait_for(lambda: (a := answers(upstream, external))[DENIED] == (200, True) and a, READY_TIMEOUT,
                    "the filter gone", external.proxy)
    record("WasmPlugin deleted", f"{time.monotonic() - applied:.2f} s",
           ", ".join(f"{t.decode()} {s}{' forwarded' if f else ''}" for t, (s, f) in seen.items()))
