"""Robustness end to end: header and path sizes at Envoy's limits, every header byte, and
hundreds of concurrent WebSockets. After each: the VM never failed or reloaded (Envoy's wasm
stats and log), no 5xx, and the next requests still get the contract's answers.

Limits are Envoy's defaults, which the shipped configs keep: max_request_headers_kb 60
(answered 431 before any filter runs, RFC 6585) and max_headers_count 100.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from websockets.asyncio.client import connect

from clients import H2Connection, StreamReset, echo_headers, exchange, h1_request, http1, send, target_of

HEADERS_KB = 60
# Envoy counts every header line, `host` included, over HTTP/1.1, and the four
# pseudo-headers over HTTP/2 (measured on the pinned Envoy: one more is refused).
MAX_HEADERS = {"h1": 99, "h2": 96}


# --- no trap: Envoy's own view of the VM, then the contract's answers ------------------------

VM_STATS = re.compile(r"^(wasm\.[^:]+): (\d+)$", re.M)
RELOADS = [f"wasm.cobrowse_l7_firewall.vm_reload{s}" for s in ("", "_success", "_failure", "_backoff")]


def vm_state(listener) -> dict:
    stats = dict(VM_STATS.findall(listener.envoy.admin_get("/stats?filter=^wasm%5C.") or ""))
    log = listener.envoy.log()
    return {
        **{k: int(v) for k, v in stats.items()},
        "log: VM started": log.count("VM started"),
        "log: error lines": len(re.findall(r"\]\[(?:error|critical)\]", log)),
    }


def assert_no_trap(listener, upstream, before: dict) -> None:
    """The contract's answers to the next requests (a failed VM answers 503), then the same
    VMs as before: none created, failed or reloaded."""
    fallback = [b"/index.html?n=1"] if listener.spa else []
    for proto in ("h1", "h2"):
        for target, status, forwarded in [
            (b"/api/1/sessions/ok", 200, [b"/api/1/sessions/ok"]),
            (b"/nowhere?n=1", 200 if listener.spa else 403, fallback),
            (b"/api/1/devices/%c0%ae", 400, []),
        ]:
            response, received = exchange(upstream, listener.port, proto, "GET", target)
            assert (response.status, [target_of(e) for e in received]) == (status, forwarded), (proto, target)
    after = vm_state(listener)
    assert all(after.get(name) == 0 for name in RELOADS), after
    assert after["wasm.envoy.wasm.runtime.v8.created"] > 0, "stat names changed: nothing would be seen"
    assert after == before, {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def h2_status(port: int, path: bytes, headers=()) -> int | None:
    """None: Envoy's HTTP/2 codec refused the header block (stream reset or connection closed)."""
    with H2Connection(port) as conn:
        try:
            return conn.request("GET", path, list(headers)).status
        except (StreamReset, OSError):
            return None


# --- sizes -----------------------------------------------------------------------------------


def test_path_over_the_header_size_limit_is_431(upstream, any_listener):
    before = vm_state(any_listener)
    target = b"/api/1/devices/" + b"a" * (HEADERS_KB * 1024)
    mark = upstream.mark()
    assert http1(any_listener.port, h1_request("GET", target)).status == 431
    assert h2_status(any_listener.port, target) in (431, None)
    assert upstream.since(mark) == []
    assert_no_trap(any_listener, upstream, before)


def test_paths_just_under_the_limit_get_the_contract(upstream, any_listener, proto):
    before = vm_state(any_listener)
    big = b"a" * ((HEADERS_KB - 4) * 1024)
    allowed = b"/api/1/devices/" + big + b"?q=1"
    response, received = exchange(upstream, any_listener.port, proto, "GET", allowed)
    assert response.status == 200
    assert [target_of(e) for e in received] == [allowed]

    uncovered = b"/nowhere/" + big + b"?q=1"
    response, received = exchange(upstream, any_listener.port, proto, "GET", uncovered)
    assert [target_of(e) for e in received] == ([b"/index.html?q=1"] if any_listener.spa else [])
    assert response.status == (200 if any_listener.spa else 403)

    # Hostile on every listener: Envoy keeps %c0%ae, the filter refuses it. Its log line
    # names the request, cut to log.max_path_bytes (256 by default), not 56 KiB long.
    marker = uuid.uuid4().hex.encode()
    hostile = b"/api/1/devices/" + marker + b"/" + big + b"/%c0%ae"
    response, received = exchange(upstream, any_listener.port, proto, "GET", hostile)
    assert (response.status, received) == (400, [])
    lines = wait_for_log_lines(any_listener, marker.decode())
    assert lines and all(len(line) < 1024 for line in lines), [len(line) for line in lines]
    assert_no_trap(any_listener, upstream, before)


def wait_for_log_lines(listener, marker: str, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [l for l in listener.envoy.log().splitlines() if marker in l and "cobrowse-l7-firewall[" in l]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def numbered_headers(n: int) -> list[tuple[bytes, bytes]]:
    return [(b"x-h-%d" % i, b"value-%d" % i) for i in range(n)]


def test_a_thousand_headers_are_refused_by_envoy(upstream, listener):
    before = vm_state(listener)
    mark = upstream.mark()
    for n in (1000, MAX_HEADERS["h1"] + 1):
        assert http1(listener.port, h1_request("GET", b"/api/1/devices", numbered_headers(n))).status == 431, n
    for n in (1000, MAX_HEADERS["h2"] + 1):
        assert h2_status(listener.port, b"/api/1/devices", numbered_headers(n)) in (431, None), n
    assert upstream.since(mark) == []
    assert_no_trap(listener, upstream, before)


def test_headers_at_the_count_limit_arrive_intact(upstream, listener, proto):
    before = vm_state(listener)
    headers = numbered_headers(MAX_HEADERS[proto])
    for target in (b"/api/1/devices/many", b"/nowhere"):
        response, received = exchange(upstream, listener.port, proto, "GET", target, headers=headers)
        if target == b"/nowhere" and not listener.spa:
            assert (response.status, received) == (403, [])
            continue
        assert response.status == 200
        got = [(n.lower(), v) for n, v in echo_headers(received[0]) if n.lower().startswith(b"x-h-")]
        assert got == headers
    assert_no_trap(listener, upstream, before)


# --- every header byte -----------------------------------------------------------------------

# RFC 9110 section 5.5: a field value is visible ASCII, SP, HTAB and obs-text (0x80-0xff).
FIELD_BYTES = {0x09, *range(0x20, 0x7F), *range(0x80, 0x100)}
# Never valid in a field value and the classic smuggling bytes: Envoy must refuse them.
# A bare CR over HTTP/1.1 Envoy's codec may instead drop; it must never forward one.
REFUSED = {0x00, 0x0A, 0x0D}
TAG = b"x-byte-row"


def byte_request(port: int, proto: str, index: int, byte: int, target: bytes) -> int | None:
    headers = [(b"x-byte", b"a" + bytes([byte]) + b"z"), (TAG, b"%d" % index)]
    if proto == "h1":
        return http1(port, h1_request("GET", target, headers)).status
    return h2_status(port, target, headers)


@pytest.mark.parametrize("target", [b"/api/1/devices/bytes", b"/nowhere?bytes"])
def test_every_header_byte(upstream, listener, proto, target):
    """0x00-0xff in a header value: accepted bytes arrive unchanged, refused ones get a 400
    (HTTP/2: the codec refuses the stream) and reach nothing; the filter never traps."""
    before = vm_state(listener)
    cases = list(range(0x100))
    mark = upstream.mark()
    # Concurrent: a refused HTTP/2 header block costs Envoy's 1 s delayed close each.
    with ThreadPoolExecutor(max_workers=64 if proto == "h2" else 1) as pool:
        statuses = list(pool.map(lambda b: byte_request(listener.port, proto, b, b, target), cases))
    arrived: dict[int, bytes] = {}
    for entry in upstream.since(mark):
        headers = dict(echo_headers(entry))
        arrived[int(headers[TAG])] = headers[b"x-byte"]
    expected_forwarded = 200 if listener.spa or target.startswith(b"/api/") else 403
    for byte, status in zip(cases, statuses):
        what = f"{proto} byte {byte:#04x}: {status}"
        assert status is None or status < 500, what
        if status in (400, None):
            assert byte not in FIELD_BYTES and byte not in arrived, what
            continue
        assert status == expected_forwarded, what
        assert byte not in REFUSED - {0x0D}, what
        if expected_forwarded == 200:
            value = arrived[byte]
            assert value == b"a" + bytes([byte]) + b"z" or (byte == 0x0D and value == b"az"), (what, value)
    assert_no_trap(listener, upstream, before)


# --- many WebSockets at once -----------------------------------------------------------------

SOCKETS = 300


def upgrades_active(listener) -> int:
    role = listener.name.removesuffix("_norm")
    text = listener.envoy.admin_get(f"/stats?filter=^http\\.{role}\\.downstream_cx_upgrades_active$") or ""
    return int(text.rpartition(":")[2] or -1)


async def many_websockets(listener, count: int) -> list[str]:
    opened = asyncio.Event()
    ready = 0
    peak = []

    async def one(i: int) -> str:
        nonlocal ready
        uri = f"ws://127.0.0.1:{listener.port}/sockets/1/many-{i}?n={i}"
        async with connect(uri, open_timeout=30, close_timeout=1, max_size=None) as ws:
            ready += 1
            if ready == count:
                peak.append(upgrades_active(listener))
                opened.set()
            await opened.wait()  # every socket is open before any message is sent
            await ws.send(f"message {i}")
            return await asyncio.wait_for(ws.recv(), 30)

    answers = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), 90)
    assert peak == [count], f"{peak} upgrades active at once, expected {count}"
    return answers


def wait_for_no_upgrades(listener, timeout: float = 10.0) -> int:
    """Envoy closes finished upgrades after its delayed-close timeout: wait for them."""
    deadline = time.monotonic() + timeout
    while upgrades_active(listener) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return upgrades_active(listener)


def test_hundreds_of_concurrent_websockets(upstream, listener):
    assert wait_for_no_upgrades(listener) == 0, "upgrades left over from earlier tests"
    before = vm_state(listener)
    mark = upstream.mark()
    answers = asyncio.run(many_websockets(listener, SOCKETS))
    assert answers == [f"message {i}" for i in range(SOCKETS)]
    received = upstream.since(mark)
    assert sorted(target_of(e) for e in received) == sorted(b"/sockets/1/many-%d?n=%d" % (i, i) for i in range(SOCKETS))
    assert all(dict(echo_headers(e)).get(b"upgrade", b"").lower() == b"websocket" for e in received)
    assert_no_trap(listener, upstream, before)
    assert wait_for_no_upgrades(listener) == 0, "upgrades left half-open after the clients left"


def test_many_websockets_do_not_break_plain_requests_meanwhile(upstream, listener):
    """Plain requests keep their answers while the WebSockets are held open."""
    before = vm_state(listener)

    async def scenario():
        sockets = [
            await connect(f"ws://127.0.0.1:{listener.port}/sockets/1/held-{i}", open_timeout=30, close_timeout=1)
            for i in range(50)
        ]
        try:
            statuses = await asyncio.gather(
                *(asyncio.to_thread(send, listener.port, "h1", "GET", b"/api/1/devices/%d" % i) for i in range(50))
            )
            for i, ws in enumerate(sockets):
                await ws.send(str(i))
                assert await ws.recv() == str(i)
            return [r.status for r in statuses]
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == [200] * 50
    assert_no_trap(listener, upstream, before)
