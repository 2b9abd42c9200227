"""One answer, whatever the protocol: every hostile row and the whole path corpus, sent as
the raw request target over HTTP/1.1 (raw socket), HTTP/2 (h2c, h2 with its validation
off) and HTTP/3 (aioquic), to both roles with Envoy's normalization off and on.

- Nothing reaches the upstream outside an enabled prefix, or with a query byte HTTP/1.1
  refuses, on any protocol; nothing answers 5xx.
- The filter decides each row alike on every protocol that delivers it to the filter:
  the same refusal with the same reason in the access log, or the same request forwarded.
- Where Envoy answers first (a codec, or its normalization), what it does is the committed
  table's (expectations.tsv), so a new Envoy's change shows up.
- The filter's own counters agree with the refusals the clients saw as the filter's.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

import expectations
from expectations import LISTENERS
import h3_sender
import ops
import senders
from outcome import TAG, Seen, inside
from rows import ROWS

PROTOCOLS = ["h1", "h2", "h3"]
REFUSALS = ("denied", "rejected", "method_not_allowed")


@dataclass
class Pass:
    seen: list[Seen]
    counted: int  # the filter's refusal counters over the pass
    seconds: float
    details: dict[int, str] = field(default_factory=dict)  # row -> access log's response_code_details


def read_details(listener, results: dict) -> None:
    """Each row's `response_code_details` from the listener's access log (the filter's
    `outcome:reason` on a refusal, `via_upstream` on a forward), once every request the
    filter refused has its line."""
    mine = {proto: results[(listener.name, proto)] for proto in PROTOCOLS}
    wanted = sum(1 for run in mine.values() for s in run.seen if refused_by_filter(s))
    deadline = time.monotonic() + 15
    while True:
        found = 0
        text = listener.access_log.read_text() if listener.access_log.exists() else ""
        for line in text[: text.rfind("\n") + 1].splitlines():
            record = json.loads(line)
            pass_id, _, index = (record.get("row") or "").rpartition(":")
            name, _, proto = pass_id.rpartition("-")
            if name == listener.name and proto in mine and index.isdigit():
                mine[proto].details[int(index)] = record["response_code_details"]
        found = sum(1 for run in mine.values() for i, s in enumerate(run.seen) if refused_by_filter(s) and i in run.details)
        if found >= wanted or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def refusals_counted(listener) -> int:
    counters = ops.firewall_counters(listener.envoy)
    return sum(
        counters.get(ops.sample(f"cobrowse_l7fw_{name}", cobrowse_l7fw_listener=listener.role), 0)
        for name in REFUSALS
    )


def send(listener, proto: str, cert, pass_id: str) -> list[Seen]:
    if proto == "h1":
        return senders.run(ROWS, pass_id, senders.h1_some(listener.port))
    if proto == "h2":
        return senders.run(ROWS, pass_id, senders.h2_some(listener.port))
    return h3_sender.run(listener.quic_port, cert, ROWS, pass_id)


def _passes_of(listener, cert) -> dict[tuple[str, str], Pass]:
    """Every row over every protocol to one listener, one protocol after the other, each
    pass's refusals read from the filter's counters."""
    results = {}
    before = refusals_counted(listener)
    for proto in PROTOCOLS:
        started = time.monotonic()
        seen = send(listener, proto, cert, f"{listener.name}-{proto}")
        result = Pass(seen, 0, time.monotonic() - started)
        # The filter adds its counts to Envoy's on its tick: on a loaded machine a tick may
        # come late, so read again while the count is short of what the clients saw.
        expected = before + sum(1 for s in seen if s.filter_reply and not s.forwarded)
        after = refusals_counted(listener)
        for _ in range(4):
            if after >= expected:
                break
            after = refusals_counted(listener)
        result.counted, before = after - before, after
        results[(listener.name, proto)] = result
    return results


@pytest.fixture(scope="session")
def passes(listeners, upstream, cert) -> dict[tuple[str, str], Pass]:
    """Every row over every protocol to every listener; the four listeners at once (their
    waits overlap: Envoy's delayed closes, the counters' tick). What the upstream received
    is then given to the row whose tag it carries."""
    mark = upstream.mark()
    with ThreadPoolExecutor(max_workers=len(LISTENERS)) as pool:
        results = {}
        for part in pool.map(lambda name: _passes_of(listeners[name], cert[0]), LISTENERS):
            results.update(part)
    for name in LISTENERS:
        read_details(listeners[name], results)
    for entry in upstream.since(mark):
        tags = [v for n, v in entry.get("headers", []) if n.lower() == TAG]
        pass_id, _, index = tags[0].rpartition(":") if len(tags) == 1 else ("", "", "")
        name, _, proto = pass_id.rpartition("-")
        run = results.get((name, proto))
        if run is not None and index.isdigit() and int(index) < len(ROWS):
            run.seen[int(index)].received.append(entry)
        else:
            UNTAGGED.append(entry)
    return results


UNTAGGED: list[dict] = []  # what reached the upstream that no row sent


@pytest.fixture(params=LISTENERS)
def name(request) -> str:
    return request.param


@pytest.fixture(params=PROTOCOLS)
def proto(request) -> str:
    return request.param


def test_nothing_outside_an_enabled_prefix_reaches_the_upstream(listeners, passes, name, proto):
    listener, run = listeners[name], passes[(name, proto)]
    assert UNTAGGED == [], "requests reached the upstream that no row sent"
    errors = []
    for row, seen in zip(ROWS, run.seen):
        if seen.status is not None and seen.status >= 500:
            errors.append(f"{row.key}: answered {seen.status}")
        if len(seen.received) > 1:
            errors.append(f"{row.key}: reached the upstream {len(seen.received)} times")
        errors += [f"{row.key}: {why}" for why in map(lambda e: inside(listener, e), seen.received) if why]
        if seen.forwarded and seen.status not in (200, 101):
            errors.append(f"{row.key}: forwarded, yet answered {seen.status or seen.how}")
    assert errors == []


def test_the_filter_decides_alike_on_every_protocol(passes, name):
    differences = []
    for i, row in enumerate(ROWS):
        decided = {p: passes[(name, p)].seen[i].decision() for p in PROTOCOLS}
        decided = {p: d for p, d in decided.items() if d is not None}
        if len(set(decided.values())) > 1:
            differences.append(f"{row.key}: {decided}")
    assert differences == []


def test_the_filter_gives_the_same_reason_on_every_protocol(passes, name):
    """For each row the filter refused, the access log's `response_code_details` (the
    filter's `outcome:reason`, e.g. `rejected:query_byte`) is the same on every protocol
    on which it refused it. (Forwards are compared by what the upstream received.)"""
    differences = []
    for i, row in enumerate(ROWS):
        runs = {p: passes[(name, p)] for p in PROTOCOLS}
        refused = {p: run.details.get(i, "(no access-log line)") for p, run in runs.items() if refused_by_filter(run.seen[i])}
        if len(set(refused.values())) > 1:
            differences.append(f"{row.key}: {refused}")
    assert differences == []
    logged = {d for p in PROTOCOLS for d in passes[(name, p)].details.values()}
    reasons = {d for d in logged if d.startswith("rejected:")}
    assert "rejected:query_byte" in reasons and len(reasons) >= 5, logged


def refused_by_filter(seen: Seen) -> bool:
    return seen.filter_reply and not seen.forwarded


def test_what_envoy_does_first_is_the_recorded_table(passes, envoy_version):
    observed: expectations.Observed = {}
    for (name, proto), run in passes.items():
        for row, seen in zip(ROWS, run.seen):
            outcome = "filter" if seen.decision() is not None else seen.envoy_outcome()
            observed.setdefault((proto, row.key), {})[name] = outcome
    got = expectations.render(observed, LISTENERS)
    if os.environ.get("PARITY_RECORD") == "1":
        expectations.write(envoy_version, got)
        print(f"\nrecorded {len(got)} lines in {expectations.table(envoy_version)}")
    want = expectations.load(envoy_version)
    if want is None:
        pytest.fail(f"no table for Envoy {envoy_version}: record one with PARITY_RECORD=1 (tests/parity/expectations.py)")
    assert [line for line in got if line not in want] == [], "Envoy answers first where the table says the filter does, or otherwise"
    assert [line for line in want if line not in got] == [], "the table expects Envoy to answer first where it no longer does"


def test_the_filter_counted_what_the_clients_saw(passes, name, proto):
    run = passes[(name, proto)]
    assert run.counted == sum(1 for seen in run.seen if seen.filter_reply and not seen.forwarded)


def test_every_protocol_reaches_the_filter(passes, name, proto):
    """Not vacuous: on every protocol most rows reach the filter, many are forwarded and
    many refused by it, WebSockets included (upgrade; extended CONNECT over HTTP/2 and /3)."""
    seen = passes[(name, proto)].seen
    forwarded = sum(1 for s in seen if s.forwarded)
    refused = sum(1 for s in seen if s.filter_reply and not s.forwarded)
    websockets = sum(1 for row, s in zip(ROWS, seen) if row.websocket and s.forwarded)
    assert forwarded >= 25, forwarded
    assert refused >= 60, refused
    assert forwarded + refused >= len(ROWS) * 2 // 3, (forwarded, refused, len(ROWS))
    assert websockets >= 2, websockets


def test_runtime(passes):
    """Each pass's figures (pytest -s shows them): rows forwarded, refused by the filter,
    answered by Envoy first, and seconds. No pass may come near the per-test timeout."""
    print("\npass: forwarded / filter refusals / Envoy first / seconds")
    for (name, proto), run in passes.items():
        forwarded = sum(1 for s in run.seen if s.forwarded)
        refused = sum(1 for s in run.seen if s.filter_reply and not s.forwarded)
        print(f"{name} {proto}: {forwarded} / {refused} / {len(ROWS) - forwarded - refused} / {run.seconds:.1f}")
    assert all(run.seconds < 60 for run in passes.values())
