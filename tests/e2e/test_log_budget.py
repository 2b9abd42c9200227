"""Refusal logs stay bounded under a flood: at most `log.max_per_second` refusal lines a
second per worker, one summary line a second with how many were left out per outcome, and
exact counters. A scanner then costs a few log lines a second, not one per request.

The shipped external configuration with the default budget (10), Envoy's normalization off
so a `;` reaches the filter (a 400). The burst goes over HTTP/2, many streams in flight
(Envoy closes an HTTP/1.1 connection after a 400).
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import ops
from clients import AUTHORITY, H2Connection, get1
from processes import wait_until

BUDGET = 10  # the default of log.max_per_second
DENIED, REJECTED = 9_500, 500  # the burst: 10,000 refused requests
BATCH = 100
SUMMARY = re.compile(
    r"cobrowse-l7-firewall\[external\]: (\d+) refusal lines suppressed \(log\.max_per_second (\d+)\):((?: \w+=\d+)+)$"
)


@pytest.fixture(scope="module")
def flooded(upstream, tmp_path_factory):
    config = ops.config("external", upstream, raw=True)
    assert "max_per_second" not in ops.shipped_plugin("external").get("log", {}), "the default is under test"
    with ops.running(tmp_path_factory.mktemp("log_budget"), "external", config) as envoy:
        yield envoy


def burst(port: int, targets: list[bytes]) -> list[int]:
    """The targets over one HTTP/2 connection, BATCH streams in flight at a time."""
    statuses = []
    with H2Connection(port) as conn:
        for start in range(0, len(targets), BATCH):
            ids = [
                conn.send_headers(
                    [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", AUTHORITY), (b":path", t)], True
                )
                for t in targets[start : start + BATCH]
            ]
            statuses += [conn.read_head(i).status for i in ids]
            conn.pending.clear()
    return statuses


def counts(envoy) -> dict[str, int]:
    found = ops.firewall_counters(envoy)
    return {o: found.get(ops.sample(f"cobrowse_l7fw_{o}", cobrowse_l7fw_listener="external"), 0) for o in ("denied", "rejected")}


def test_a_flood_writes_bounded_lines_and_summaries_that_add_up(flooded):
    port = ops.port(flooded)
    before = counts(flooded)
    mark = flooded.log_mark()
    started = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        denials = [pool.submit(burst, port, [f"/admin/{w}/{i}".encode() for i in range(DENIED // 4)]) for w in range(4)]
        rejections = pool.submit(burst, port, [f"/api/1/devices;j={i}".encode() for i in range(REJECTED)])
        statuses = [s for f in denials for s in f.result()] + rejections.result()
    assert statuses.count(403) == DENIED and statuses.count(400) == REJECTED

    # Counters are exact, whatever the log left out.
    after = counts(flooded)
    assert (after["denied"] - before["denied"], after["rejected"] - before["rejected"]) == (DENIED, REJECTED)

    # Every refusal is either a line of its own or counted in a summary, once the last tick told it.
    def settled():
        lines = [f.text for f in ops.filter_lines(flooded.log_since(mark))]
        per_request = [t for t in lines if " denied not_covered: " in t or " rejected semicolon: " in t]
        summaries = [SUMMARY.match(t) for t in lines if "suppressed" in t]
        told = {"denied": 0, "rejected": 0}
        for s in summaries:
            assert s, lines
            for key, _, value in (kv.partition("=") for kv in s.group(3).split()):
                told[key] += int(value)
        told["denied"] += sum(" denied not_covered: " in t for t in per_request)
        told["rejected"] += sum(" rejected semicolon: " in t for t in per_request)
        return (per_request, summaries, told) if told == {"denied": DENIED, "rejected": REJECTED} else None

    per_request, summaries, _ = wait_until(settled, 10, "summaries adding up to the burst", flooded)
    elapsed = time.monotonic() - started
    # One budget per tick window the burst overlapped.
    windows = int(elapsed) + 2
    assert len(per_request) <= BUDGET * windows, (len(per_request), elapsed)
    assert 1 <= len(summaries) <= windows
    for s in summaries:
        assert int(s.group(2)) == BUDGET
        assert int(s.group(1)) == sum(int(kv.partition("=")[2]) for kv in s.group(3).split())
    written = sum(len(t) for t in per_request) + sum(len(s.group(0)) for s in summaries)
    assert written < 200 * BUDGET * windows, written  # a few KB, not one line per request

    # Served as ever afterwards; a refusal in a fresh second is logged again.
    assert get1(port, b"/api/1/devices/next").status == 200
    time.sleep(1.1)
    again = flooded.log_mark()
    assert get1(port, b"/admin/after").status == 403
    ops.wait_for_filter_line(flooded, again, 'denied not_covered: GET "/admin/after"')


def test_counts_reach_envoy_within_one_tick(flooded):
    port = ops.port(flooded)
    key = ops.sample("cobrowse_l7fw_allowed", cobrowse_l7fw_listener="external", cobrowse_l7fw_group="sdk")
    before = ops.firewall_counters(flooded)[key]
    for i in range(5):
        assert get1(port, f"/api/1/devices/{i}".encode()).status == 200
    sent = time.monotonic()
    # Envoy's own name of the counter, read as it is (ops.firewall_counters waits a tick).
    name = "wasmcustom.cobrowse_l7fw.external.allowed.sdk"
    wait_until(lambda: ops.stat(flooded, name) == before + 5, 3, "the counts", flooded)
    assert time.monotonic() - sent < 1.0 + 0.5  # the tick period, with slack for a busy machine
