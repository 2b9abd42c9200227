"""Configuration churn: the policies pushed, the probes that tell which one answered, and
the judgement of every probe against the policies that could have been in force.

Version v of a listener's policy is the shipped one plus a custom group `churn<v>` with the
one prefix `/churn/<v>`: only that version forwards `/churn/<v>/…`, so a probe's answer
says which version decided it, and the access log names the group (`allowed:churn<v>`,
`filter_state` on). An invalid version carries its group too: were it ever applied, its
probes would be forwarded.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field

import ops
from clients import H1Connection, StreamReset, h1_request
from traffic import DrainableH2, Unprocessed

# A policy is in force from its push until the next valid one is enforced on every VM
# (all its "in force" lines logged, or Envoy's update counter seen, whichever is later),
# plus this much: a request decided just before the switch may be answered just after.
GRACE = 1.0


def identity_hash(text: str) -> str:
    """FNV-1a 32 of the configuration's bytes: the module's identity hash (src/identity.rs)."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def policy(role: str, version: int) -> dict:
    return {**ops.shipped_plugin(role), "filter_state": True,
            "custom_groups": [{"name": f"churn{version}", "prefixes": [f"/churn/{version}"]}]}


# Invalid configurations, in turn: (what is wrong, the configuration's text, what its one
# error line must say after "invalid configuration: ").
def invalid(role: str, version: int, kind: int) -> tuple[str, str, str]:
    good = policy(role, version)
    kinds = [
        ("unknown group", {**good, "groups": [*good["groups"], "sdk_v3"]},
         f'groups[{len(good["groups"])}]: unknown group "sdk_v3"'),
        ("malformed prefix", {**good, "custom_groups": [{"name": f"churn{version}",
                                                         "prefixes": [f"/churn/{version}", "/churn/../admin"]}]},
         "custom_groups[0].prefixes[1]: malformed prefix"),
        ("unknown key", {**good, "fallbak": "deny"}, "fallbak"),
        ("not JSON", json.dumps(good)[:-1], ""),
    ]
    what, config, error = kinds[kind % len(kinds)]
    return what, config if isinstance(config, str) else json.dumps(config), error


@dataclass
class Change:
    role: str
    version: int
    valid: bool
    text: str
    what: str = ""
    error: str = ""  # what the refusal's line must say
    pushed: float = 0.0
    settled: float | None = None  # Envoy's update counter moved (success or rejected)
    enforced: float | None = None  # every VM logged the configuration in force
    error_lines: list[str] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return identity_hash(self.text)

    @property
    def done(self) -> float | None:
        times = [t for t in (self.settled, self.enforced) if t is not None]
        return max(times) if times else None


@dataclass
class Probe:
    role: str
    proto: str
    version: int
    target: str
    sent: float
    answered: float
    status: int | None
    forwarded: bool | None  # None: neither forwarded as sent nor refused as the policy refuses
    error: str = ""


class Prober:
    """Probes both listeners without pause: for the versions around the latest push, a
    `/churn/<v>/…` request on a fresh HTTP/1.1 connection and one over HTTP/2: to the ECDS
    listener on one long-lived connection (a new filter configuration applies to the next
    stream), to the LDS one on a fresh connection (a listener update applies to new
    connections; open ones keep the listener that accepted them until Envoy drains them)."""

    LONG_LIVED = ("external",)

    def __init__(self, ports: dict[str, int], changes: dict[str, list[Change]]):
        self.ports, self.changes = ports, changes
        self.probes: list[Probe] = []
        self.stop = threading.Event()
        self.counter = itertools.count()
        self.h2: dict[str, DrainableH2 | None] = {role: None for role in ports}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def candidates(self, role: str) -> list[int]:
        changes = self.changes[role]
        valid = [c.version for c in changes if c.valid]
        latest = changes[-1].version
        return sorted({*valid[-2:], latest, latest + 1, latest + 2})

    def run(self) -> None:
        while not self.stop.is_set():
            for role in self.ports:
                for version in self.candidates(role):
                    for proto in ("h1", "h2"):
                        self.probes.append(self.probe(role, proto, version))
        for conn in self.h2.values():
            if conn is not None:
                conn.close()

    def probe(self, role: str, proto: str, version: int) -> Probe:
        target = f"/churn/{version}/p{next(self.counter)}"
        sent = time.monotonic()
        try:
            response = self.send(role, proto, target)
        except (OSError, ValueError, StreamReset) as e:
            self.h2[role] = None
            return Probe(role, proto, version, target, sent, time.monotonic(), None, None, f"{type(e).__name__}: {e}")
        answered = time.monotonic()
        upstream = (response.upstream_target() or b"").decode("latin-1")
        if response.status == 200 and upstream == target:
            forwarded = True
        elif role == "external" and response.status == 403:
            forwarded = False
        elif role == "internal" and response.status == 200 and upstream == "/index.html":
            forwarded = False  # the SPA fallback: not covered, so served /index.html
        else:
            forwarded = None
        return Probe(role, proto, version, target, sent, answered, response.status, forwarded)

    def send(self, role: str, proto: str, target: str):
        port = self.ports[role]
        if proto == "h1":
            with H1Connection(port) as conn:
                return conn.request(h1_request("GET", target.encode()))
        if role not in self.LONG_LIVED:
            with DrainableH2(port) as conn:
                return conn.request("GET", target.encode())
        for _ in range(3):
            conn = self.h2[role] or DrainableH2(port)
            self.h2[role] = conn
            try:
                response = conn.request("GET", target.encode())
            except Unprocessed:
                self.h2[role] = None
                continue
            if conn.draining:
                conn.close()
                self.h2[role] = None
            return response
        raise ConnectionError("three GOAWAYs in a row")


def in_force(changes: list[Change], sent: float, answered: float) -> set[int]:
    """The versions that may have decided a request sent and answered at these times."""
    valid = [c for c in changes if c.valid]
    versions = set()
    for change, successor in zip(valid, [*valid[1:], None]):
        if change.pushed > answered:
            continue
        if successor is not None and successor.done is not None and successor.done + GRACE < sent:
            continue
        versions.add(change.version)
    return versions


def judge(probe: Probe, changes: list[Change]) -> str | None:
    """Why this probe's answer is wrong, or None."""
    if probe.forwarded is None:
        return f"answered {probe.status} {probe.error}".strip()
    possible = in_force(changes, probe.sent, probe.answered)
    if probe.forwarded and probe.version not in possible:
        return f"forwarded, but version {probe.version} was not in force (in force: {sorted(possible)})"
    if not probe.forwarded and possible == {probe.version}:
        return f"refused, but version {probe.version} alone was in force"
    return None


def stale_until(change: Change, probes: list[Probe], changes: list[Change]) -> float:
    """Seconds from the push of a valid change to the last answer an older version gave
    (0 if none was seen after the push): how long until every worker enforced it."""
    older = {c.version for c in changes if c.valid and c.version < change.version}
    later = [c.pushed for c in changes if c.valid and c.version > change.version]
    until = min(later, default=float("inf"))
    last = change.pushed
    for p in probes:
        if p.role != change.role or not change.pushed <= p.sent < until or p.forwarded is None:
            continue
        if (p.forwarded and p.version in older) or (not p.forwarded and p.version == change.version):
            last = max(last, p.answered)
    return last - change.pushed
