"""Configuration churn under load: over 100 policy changes, alternately over ECDS (the
external listener's firewall from a watched file) and as listener updates (the internal
listener from a watched LDS file), every fifth one invalid, while steady mixed traffic
and held WebSockets run through both listeners and probes ask which policy answers.

Nothing fails (no 5xx, no reset, every steady answer the contract's), nothing is forwarded
that the policy in force refused, every invalid configuration is refused with the module's
one line and Envoy's rejection counter while the previous policy keeps serving, and the
WebSockets opened before the first change are still echoing after the last.
"""

from __future__ import annotations

import json
import statistics
import time

import ops
from churn import Change, Prober, invalid, judge, policy, stale_until
from gateway import VMS, Gateway
from load import failures, requests, steady_load
from processes import wait_until

CHANGES = 100
PAUSE = 0.3  # seconds of probing between changes
ROLES = ("external", "internal")  # odd changes over ECDS, even ones by LDS


def in_force_lines(gateway: Gateway, mark: int, change: Change) -> int:
    line = f"configuration {change.role}:{change.hash} in force"
    return sum(line in f.text for f in ops.filter_lines(gateway.log_since(mark)))


def counters(gateway: Gateway, role: str) -> tuple[int, int]:
    if role == "external":
        return gateway.ecds_stat("update_success"), gateway.ecds_stat("update_rejected")
    return gateway.lds_stat("update_success"), gateway.lds_stat("update_rejected")


def push(gateway: Gateway, change: Change) -> None:
    """Publishes a change and waits until Envoy took or refused it, and, if valid, until
    every VM (gateway.VMS) logged it in force."""
    success, rejected = counters(gateway, change.role)
    mark = gateway.log_mark()
    change.pushed = time.monotonic()
    (gateway.publish_external if change.role == "external" else gateway.publish_internal)(change.text)

    def outcome() -> str | None:
        now_success, now_rejected = counters(gateway, change.role)
        return "success" if now_success > success else "rejected" if now_rejected > rejected else None

    moved = wait_until(outcome, 15, f"update of {change.role} v{change.version}", gateway)
    change.settled = time.monotonic()
    assert moved == ("success" if change.valid else "rejected"), f"{change}: Envoy says {moved}"
    if change.valid:
        wait_until(lambda: in_force_lines(gateway, mark, change) >= VMS, 15,
                   f"{change.role} v{change.version} in force on every VM", gateway)
        change.enforced = time.monotonic()
    else:
        def refusal_lines():
            found = [f for f in ops.filter_lines(gateway.log_since(mark)) if "invalid configuration" in f.text]
            return found or None
        change.error_lines = [f"{f.level} {f.text}" for f in wait_until(refusal_lines, 15, "the refusal line", gateway)]


def test_churn_under_load(workdir, upstream):
    changes = {role: [Change(role, 0, True, json.dumps(policy(role, 0)))] for role in ROLES}
    gateway = Gateway(workdir / "churn", upstream, changes["external"][0].text, changes["internal"][0].text)
    try:
        for role in ROLES:
            changes[role][0].pushed = changes[role][0].settled = 0.0
        prober = Prober(gateway.ports, changes)
        with steady_load(gateway.ports) as tally:
            prober.thread.start()
            time.sleep(1)
            for i in range(1, CHANGES + 1):
                role = ROLES[(i + 1) % 2]
                version = changes[role][-1].version + 1
                if i % 5:
                    change = Change(role, version, True, json.dumps(policy(role, version)))
                else:
                    what, text, error = invalid(role, version, i // 5)
                    change = Change(role, version, False, text, what, error)
                changes[role].append(change)
                push(gateway, change)
                time.sleep(PAUSE)
            prober.stop.set()
            prober.thread.join(30)
        ws_messages = sum(v for k, v in tally.answers.items() if k[1] == "ws_message")
        access = {a.path: a for a in gateway.access_lines() if a.path.startswith("/churn/")}
    finally:
        gateway.stop()

    problems = failures(tally)
    # Every probe judged against the versions that could have been in force.
    wrong = [(p, why) for p in prober.probes if (why := judge(p, changes[p.role]))]
    problems += [f"{p.role} {p.proto} {p.target}: {why}" for p, why in wrong[:20]]
    # The access log names the configuration that let each probe through.
    for p in prober.probes:
        if p.forwarded:
            line = access.get(p.target)
            if line is None or line.decision != f"allowed:churn{p.version}":
                problems.append(f"{p.target}: access log {line and line.decision!r}, not allowed:churn{p.version}")
    # Every invalid configuration refused with the module's one line (and Envoy's counter, in push).
    refused = [c for role in ROLES for c in changes[role] if not c.valid]
    for c in refused:
        expected = "cobrowse-l7-firewall: invalid configuration: "
        if not any(l.split(" ", 1)[1].startswith(expected) and c.error in l for l in c.error_lines):
            problems.append(f"{c.role} v{c.version} ({c.what}): refusal lines {c.error_lines}, expected {c.error!r}")

    valid = [c for role in ROLES for c in changes[role][1:] if c.valid]
    stale = {c.role: [] for c in valid}
    for c in valid:
        stale[c.role].append(stale_until(c, prober.probes, changes[c.role]))
    logged = [c.enforced - c.pushed for c in valid]
    forwarded = sum(1 for p in prober.probes if p.forwarded)
    print(f"\nchurn: {len(valid)} valid and {len(refused)} invalid changes, {requests(tally)} steady requests, "
          f"{ws_messages} WebSocket messages, {len(prober.probes)} probes ({forwarded} forwarded)")
    print(f"  every VM logged the new configuration in force: median {statistics.median(logged) * 1000:.0f} ms, "
          f"max {max(logged) * 1000:.0f} ms after the push")
    for role, times in stale.items():
        print(f"  {role}: last answer by an older policy, after the push: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms")
    if tally.notes:
        print(f"  {dict(tally.notes)}")
    assert len(valid) + len(refused) >= CHANGES and len(refused) >= CHANGES // 5
    assert not problems, "\n".join(problems[:40])
