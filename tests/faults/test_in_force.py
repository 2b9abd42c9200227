"""Which configuration is in force, and how much memory the VM holds: the module logs the
identity of each configuration it loads (listener name and a short hash of its bytes) and
exports it as a gauge counting the VMs that enforce it; the VM's linear memory is a gauge
set once a tick."""

from __future__ import annotations

import json

import ops
from churn import identity_hash, policy
from gateway import VMS, Gateway
from processes import wait_until


def prometheus(gateway: Gateway) -> dict[tuple, int]:
    text = gateway.admin_get("/stats/prometheus") or ""
    samples = {}
    for line in text.splitlines():
        match = ops._SAMPLE.match(line)
        if match and match.group(1) in ("cobrowse_l7fw_config", "cobrowse_l7fw_vm_memory_bytes"):
            samples[ops.sample(match.group(1), **dict(ops._LABEL.findall(match.group(2) or "")))] = int(float(match.group(3)))
    return samples


def config_gauge(role: str, text: str) -> tuple:
    return ops.sample("cobrowse_l7fw_config", cobrowse_l7fw_listener=role, cobrowse_l7fw_config=identity_hash(text))


def test_identity_logged_and_exported_and_memory_gauge(workdir, upstream):
    texts = {role: json.dumps(policy(role, 0)) for role in ("external", "internal")}
    gateway = Gateway(workdir / "in-force", upstream, texts["external"], texts["internal"])
    try:
        lines = [f.text for f in ops.filter_lines(gateway.log_since(0))]
        for role, text in texts.items():
            line = f"cobrowse-l7-firewall[{role}]: configuration {role}:{identity_hash(text)} in force"
            # One per VM (gateway.VMS).
            assert lines.count(line) == VMS, (line, lines)
        wait_until(lambda: prometheus(gateway).get(config_gauge("external", texts["external"])) == VMS, 10,
                   "the configuration gauge", gateway)
        assert prometheus(gateway)[config_gauge("internal", texts["internal"])] == VMS
        memory = wait_until(lambda: prometheus(gateway).get(ops.sample("cobrowse_l7fw_vm_memory_bytes")), 10,
                            "the VM memory gauge (set in the tick)", gateway)
        assert memory % 65536 == 0 and 65536 <= memory < 64 * 2**20, memory

        # A change over ECDS: the new identity is logged on every VM, and its gauge takes over.
        new = json.dumps(policy("external", 1))
        mark = gateway.log_mark()
        gateway.publish_external(new)
        wait_until(lambda: prometheus(gateway).get(config_gauge("external", new)) == VMS, 10,
                   "the new configuration on every VM", gateway)
        # Every worker's VM lets the old one go; the main thread's first VM keeps each
        # configuration it checked (Envoy 1.40, measured), so the old gauge stays at 1.
        wait_until(lambda: prometheus(gateway).get(config_gauge("external", texts["external"]), 0) <= 1, 10,
                   "the old configuration retired", gateway)
        lines = [f.text for f in ops.filter_lines(gateway.log_since(mark))]
        assert lines.count(f"cobrowse-l7-firewall[external]: configuration external:{identity_hash(new)} in force") == VMS
    finally:
        gateway.stop()
