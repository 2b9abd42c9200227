"""Changing the policy without a restart: the listener comes from a watched LDS file (as a
file-based or xDS-driven gateway does), and replacing that file updates it in place.

A valid change takes effect; an invalid one is rejected by Envoy with the filter's error
line, and the previous policy keeps serving. Every wait polls a stat or a request.
"""

from __future__ import annotations

import json
import os

import pytest

import ops
from clients import send
from processes import Envoy, render, wait_until

SDK_V2 = {"name": "sdk_v2", "prefixes": ["/api/2/devices"]}


def write_atomically(path, document: dict) -> None:
    # Envoy reloads on a rename onto the watched path; an in-place write could be read half-done.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    os.rename(tmp, path)


class DynamicExternal:
    """An Envoy whose one listener, the shipped external one, is served from `lds.json`."""

    def __init__(self, workdir, upstream):
        self.static = ops.config("external", upstream)
        self.lds = workdir / "lds.json"
        self.publish(ops.shipped_plugin("external"))
        bootstrap = render.with_dynamic_listener(self.static, self.lds)
        self.envoy = Envoy(bootstrap, workdir, "dynamic", ops.FAST_FLUSH)
        self.port = ops.port(self.envoy)

    def publish(self, plugin: dict) -> None:
        # The module path is part of the listener, so it is rendered into the LDS file too.
        listener = render.with_plugin_configuration(self.static, json.dumps(plugin))
        write_atomically(self.lds, render.lds_document(listener))

    def stat(self, name: str) -> int:
        return ops.stat(self.envoy, f"listener_manager.lds.{name}")

    def status(self, target: bytes) -> int:
        return send(self.port, "h1", "GET", target).status

    def wait_for_status(self, target: bytes, status: int) -> None:
        wait_until(lambda: self.status(target) == status, ops.TIMEOUT, f"{target!r} -> {status}", self.envoy)

    def wait_for_stat(self, name: str, value: int) -> None:
        wait_until(lambda: self.stat(name) == value, ops.TIMEOUT, f"lds.{name} == {value}", self.envoy)


@pytest.fixture
def dynamic(tmp_path, upstream):
    gateway = DynamicExternal(tmp_path, upstream)
    try:
        yield gateway
    finally:
        gateway.envoy.stop()


def test_policy_changes_apply_and_bad_ones_are_refused(dynamic):
    envoy = dynamic.envoy
    assert dynamic.status(b"/api/1/devices") == 200
    assert dynamic.status(b"/api/2/devices") == 403
    success, rejected = dynamic.stat("update_success"), dynamic.stat("update_rejected")

    # (a) A new route as a custom group, docs/operations.md "When Cobrowse adds routes".
    mark = envoy.log_mark()
    with_v2 = {**ops.shipped_plugin("external"), "custom_groups": [SDK_V2]}
    dynamic.publish(with_v2)
    dynamic.wait_for_stat("update_success", success + 1)
    dynamic.wait_for_status(b"/api/2/devices/1", 200)
    assert dynamic.status(b"/api/1/devices") == 200
    assert dynamic.status(b"/admin") == 403
    ops.wait_for_filter_line(envoy, mark, "policy loaded: groups sdk,universal,sdk_pinning,ai_sdk,sdk_v2, 7 prefixes")
    key = ops.sample("cobrowse_l7fw_allowed", cobrowse_l7fw_listener="external", cobrowse_l7fw_group="sdk_v2")
    assert ops.firewall_counters(envoy)[key] >= 1
    assert ops.port(envoy) == dynamic.port  # updated in place, same socket

    # (b) An invalid one, which would also have opened /admin had it been applied.
    mark = envoy.log_mark()
    broken = {
        **with_v2,
        "groups": [*with_v2["groups"], "sdk_v3"],
        "custom_groups": [SDK_V2, {"name": "ops", "prefixes": ["/admin"]}],
    }
    dynamic.publish(broken)
    dynamic.wait_for_stat("update_rejected", rejected + 1)
    line = ops.wait_for_filter_line(envoy, mark, "invalid configuration")
    assert line.level == "error"
    assert line.text.startswith('cobrowse-l7-firewall: invalid configuration: groups[4]: unknown group "sdk_v3"')
    assert dynamic.stat("update_success") == success + 1
    # The previous policy keeps serving: the new route still works, /admin is still refused.
    assert dynamic.status(b"/api/2/devices") == 200
    assert dynamic.status(b"/admin") == 403
    assert dynamic.status(b"/api/1/devices") == 200

    # (c) Back to the shipped policy: a good update after a refused one applies again.
    dynamic.publish(ops.shipped_plugin("external"))
    dynamic.wait_for_stat("update_success", success + 2)
    dynamic.wait_for_status(b"/api/2/devices", 403)
    assert dynamic.status(b"/api/1/devices") == 200
    assert dynamic.stat("update_rejected") == rejected + 1
