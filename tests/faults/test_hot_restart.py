"""Hot restart under load: Envoy started again with `--restart-epoch 1` while steady mixed
traffic runs through both listeners and WebSockets are open on /sockets/1/. The new epoch
takes the listening sockets; the old one drains its connections for DRAIN seconds, then
exits at SHUTDOWN.

No HTTP request is lost (every one answered as the contract says, and the upstream received
exactly those forwarded), the WebSockets opened before the restart keep echoing until the
old epoch closes them, new ones open on the new epoch, and the new epoch's module answers
from its first request (every answer of the run is checked, its first ones included)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time

from websockets.asyncio.client import connect

from churn import policy
from gateway import Gateway
from load import failures, requests, steady_load

DRAIN, SHUTDOWN = 4, 8  # --drain-time-s, --parent-shutdown-time-s
HELD = 4  # WebSockets per listener


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HeldSockets:
    """WebSockets opened now, each echoing a message every 0.2 s until it is closed."""

    def __init__(self, ports: dict[str, int]):
        self.ports, self.stop = ports, threading.Event()
        self.last_echo: dict[str, float] = {}
        self.closed: dict[str, tuple[float, str]] = {}
        self.opened = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "WebSockets did not open"

    async def run(self):
        ready = []

        async def hold(name: str, port: int):
            try:
                async with connect(f"ws://127.0.0.1:{port}/sockets/1/{name}", open_timeout=10, close_timeout=1) as ws:
                    ready.append(name)
                    if len(ready) == HELD * len(self.ports):
                        self.opened.set()
                    n = 0
                    while not self.stop.is_set():
                        await ws.send(f"{name} {n}")
                        if await asyncio.wait_for(ws.recv(), 5) != f"{name} {n}":
                            raise AssertionError("echo mismatch")
                        self.last_echo[name] = time.monotonic()
                        n += 1
                        await asyncio.sleep(0.2)
            except Exception as e:  # noqa: BLE001 - when and how it ended is the result
                self.closed[name] = (time.monotonic(), f"{type(e).__name__}: {e}")

        await asyncio.gather(*(hold(f"{role}-{k}", port) for role, port in self.ports.items() for k in range(HELD)))


def upstream_received(upstream, mark: int) -> int:
    return len(upstream.since(mark))


def test_hot_restart_under_load(workdir, upstream):
    ports = {role: free_port() for role in ("external", "internal")}
    base_id = 100 + os.getpid() % 10_000  # its own shared memory, whatever else runs here
    texts = {role: json.dumps(policy(role, 0)) for role in ports}
    timing = ["--drain-time-s", str(DRAIN), "--parent-shutdown-time-s", str(SHUTDOWN)]
    old = new = None
    mark = upstream.mark()
    try:
        old = Gateway(workdir / "restart", upstream, texts["external"], texts["internal"], name="epoch0",
                      extra=timing, ports=ports, hot_restart=(base_id, 0))
        held = HeldSockets(ports)
        with steady_load(ports, websockets=()) as tally:
            time.sleep(2)
            before = requests(tally)
            restarted = time.monotonic()
            new = Gateway(workdir / "restart", upstream, texts["external"], texts["internal"], name="epoch1",
                          extra=timing, ports=ports, hot_restart=(base_id, 1))
            ready = time.monotonic()
            # A WebSocket opened now is the new epoch's.
            fresh = HeldSockets(ports)
            old.popen.wait(SHUTDOWN + 10)
            exited = time.monotonic()
            time.sleep(2)
            held.stop.set()
            fresh.stop.set()
        held.thread.join(10)
        fresh.thread.join(10)
        first_access = new.access_lines()[:20]
        old_log = old.log()
    finally:
        for gateway in (new, old):
            if gateway is not None:
                gateway.stop()

    forwarded = sum(v for (_, kind, status), v in tally.answers.items() if status in (101, 200) and kind != "ws_message")
    received = upstream_received(upstream, mark) - len(held.last_echo) - len(fresh.last_echo)
    print(f"\nhot restart: {requests(tally)} requests ({before} before the restart), new epoch ready after "
          f"{(ready - restarted) * 1000:.0f} ms, old epoch exited {exited - ready:.1f} s later; "
          f"upstream received {received}, clients saw {forwarded} forwarded; {dict(tally.notes)}")
    for name in sorted(held.last_echo):
        at, why = held.closed.get(name, (None, "open until the test closed it"))
        closed = "" if at is None else f"closed {at - ready:+.1f} s, "
        print(f"  {name}: last echo {held.last_echo[name] - ready:+.1f} s after the new epoch, {closed}{why[:60]}")
    problems = failures(tally)
    if old.popen.returncode != 0:
        problems.append(f"the old epoch exited with {old.popen.returncode}")
    if received != forwarded:
        problems.append(f"upstream received {received} requests, clients saw {forwarded} forwarded")
    for name in [f"{role}-{k}" for role in ports for k in range(HELD)]:
        if held.last_echo.get(name, 0) < ready + DRAIN - 1:
            problems.append(f"{name}: stopped echoing {held.last_echo.get(name, 0) - ready:+.1f} s after the new epoch")
        closed = held.closed.get(name)
        if closed and closed[0] < ready + DRAIN - 1:
            problems.append(f"{name}: closed before the drain ended: {closed}")
        if fresh.closed.get(name):
            problems.append(f"new epoch's {name}: {fresh.closed[name]}")
        if fresh.last_echo.get(name, 0) < exited:
            problems.append(f"new epoch's {name}: no echo after the old epoch exited")
    if not first_access:
        problems.append("the new epoch served nothing")
    if "in force" not in old_log:
        problems.append("the old epoch never logged its configuration")
    assert not problems, "\n".join(problems)
