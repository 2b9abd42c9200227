"""The soak's traffic: a fixed mix of requests per listener, each with the status the
contract fixes and the filter counter it must bump, sent by a few threads (HTTP/1.1
keep-alive and HTTP/2 connections from the e2e harness clients) plus one asyncio thread
holding and churning WebSockets."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass

import h2.connection
import h2.events
from hyperframe.frame import GoAwayFrame
from clients import H1Connection, H2Connection, StreamReset, h1_request
from websockets.asyncio.client import connect

UPGRADE = [(b"connection", b"upgrade"), (b"upgrade", b"websocket"), (b"sec-websocket-version", b"13"),
           (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==")]


@dataclass(frozen=True)
class Request:
    kind: str  # outcome as the report names it
    method: str
    target: bytes  # `{n}` is replaced by a running number
    status: int
    counter: str | None  # the filter counter it bumps; None when Envoy answers first
    headers: tuple = ()
    body: bytes = b""
    h1_only: bool = False  # Envoy drops an HTTP/2 connection over it


MIX = {
    "external": [
        Request("allowed", "GET", b"/api/1/sessions/{n}?q={n}", 200, "allowed"),
        Request("allowed", "POST", b"/api/1/devices/{n}", 200, "allowed", body=b'{"state":"x"}'),
        Request("allowed", "GET", b"/sdk-js/v{n}/sdk.js", 200, "allowed"),
        Request("denied", "GET", b"/admin/{n}", 403, "denied"),
        Request("denied", "GET", b"/api/1/agents/{n}", 403, "denied"),
        Request("hostile", "GET", b"/api/1/devices/%c0%ae%c0%ae/{n}", 400, "rejected"),
        Request("hostile", "GET", b"/api/1/devices;jsessionid={n}", 400, "rejected"),
        Request("hostile", "GET", b"/api/1/devices/%252e%252e/{n}", 400, "rejected"),
        Request("hostile", "GET", b"/api/1/devices/x/../../sessions/{n}", 400, "rejected"),
        Request("hostile", "GET", b"/api/1/devices/../../admin/{n}", 400, "rejected"),
        Request("allowed", "GET", b"/proxy/1/universal/com/example/https:/cart;jsessionid={n}", 200, "allowed"),
        Request("hostile_codec", "GET", b"/api/1/devices/{n}\x00", 400, None, h1_only=True),
    ],
    "internal": [
        Request("allowed", "GET", b"/api/1/agents/{n}", 200, "allowed"),
        Request("allowed", "GET", b"/static/app.js?v={n}", 200, "allowed"),
        Request("rewritten", "GET", b"/dashboard/sessions/{n}?tab={n}", 200, "rewritten"),
        Request("rewritten", "HEAD", b"/settings/{n}", 200, "rewritten"),
        Request("method_not_allowed", "POST", b"/dashboard/{n}", 405, "method_not_allowed", body=b"x"),
        Request("denied", "GET", b"/api/1/devices/{n}", 403, "denied", headers=tuple(UPGRADE)),
        Request("hostile", "GET", b"/static/%252e%252e/{n}", 400, "rejected"),
        Request("hostile", "GET", b"/api/1/x/%e0%80%ae/{n}", 400, "rejected"),
    ],
}


class Unprocessed(Exception):
    """The server's GOAWAY says it never processed this stream: safe to send again (RFC 9113 6.8)."""


class _ReadsPastGoaway(h2.connection.H2Connection):
    """h2 closes its connection state on any GOAWAY and then refuses the frames of streams the
    server is still answering; a graceful GOAWAY (NO_ERROR) only forbids new streams."""

    def _receive_goaway_frame(self, frame):
        state = self.state_machine.state
        result = super()._receive_goaway_frame(frame)
        if frame.error_code == 0:
            self.state_machine.state = state
        return result


class DrainableH2(H2Connection):
    """An HTTP/2 connection that, like a browser, takes a graceful GOAWAY (Envoy draining a
    listener being replaced or a hot-restarted process) as "finish what is open, then
    reconnect": streams up to its last stream id complete; later ones are retried."""

    def __init__(self, port: int):
        super().__init__(port)
        self.conn.__class__ = _ReadsPastGoaway
        self.conn._frame_dispatch_table[GoAwayFrame] = self.conn._receive_goaway_frame
        self.last_stream_id: int | None = None

    def _pump(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by peer")
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                self.remote_settings_seen = True
            elif isinstance(event, h2.events.DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                if event.error_code != 0:
                    raise ConnectionError(f"GOAWAY {event.error_code!r}")
                self.last_stream_id = event.last_stream_id
            stream_id = getattr(event, "stream_id", None)
            if stream_id:
                self.pending.setdefault(stream_id, []).append(event)
        self.flush()

    def next_event(self, stream_id: int):
        while not self.pending.get(stream_id):
            if self.last_stream_id is not None and stream_id > self.last_stream_id:
                raise Unprocessed(stream_id)
            self._pump()
        return self.pending[stream_id].pop(0)

    @property
    def draining(self) -> bool:
        return self.last_stream_id is not None


class Tally:
    """Thread-safe counts: (listener, kind, status) of every answer, and client errors."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers: Counter = Counter()
        self.counters: Counter = Counter()  # expected filter counter increments
        self.unexpected: list[str] = []
        self.errors: Counter = Counter()
        self.notes: Counter = Counter()

    def record(self, listener: str, request: Request, status: int | None, target: bytes) -> None:
        with self.lock:
            self.answers[(listener, request.kind, status)] += 1
            if status != request.status:
                if len(self.unexpected) < 20:
                    self.unexpected.append(f"{listener} {request.method} {target!r}: {status}, expected {request.status}")
            elif request.counter:
                self.counters[(listener, request.counter)] += 1

    def error(self, what: str, counts: bool = True) -> None:
        """A client error; `counts=False` for what is no failure (a request sent again)."""
        with self.lock:
            (self.errors if counts else self.notes)[what] += 1

    def total(self) -> int:
        """HTTP requests and upgrades answered; the messages echoed on open WebSockets are
        counted apart (kind "ws_message"): the filter never sees them."""
        with self.lock:
            return sum(v for (_, kind, _), v in self.answers.items() if kind != "ws_message")


def http_worker(listener: str, port: int, proto: str, stop: threading.Event, tally: Tally, seed: int) -> None:
    mix = [r for r in MIX[listener] if proto == "h1" or not r.h1_only]
    conn, n = None, seed
    while not stop.is_set():
        request = mix[n % len(mix)]
        target = request.target.replace(b"{n}", str(n).encode())
        n += 1
        try:
            if conn is None:
                conn = H1Connection(port) if proto == "h1" else DrainableH2(port)
            if proto == "h1":
                response = conn.request(h1_request(request.method, target, list(request.headers), request.body))
            elif request.headers:  # HTTP/2 carries an upgrade as extended CONNECT (RFC 8441)
                response = conn.websocket(target).response
            else:
                response = conn.request(request.method, target, body=request.body)
        except Unprocessed:
            tally.error("h2 GOAWAY before the request (sent again)", counts=False)
            conn = close(conn)
            n -= 1
            continue
        except (OSError, ValueError, StreamReset) as e:
            tally.error(f"{proto} {type(e).__name__}")
            conn = close(conn)
            continue
        tally.record(listener, request, response.status, target)
        # Envoy closes an HTTP/1.1 connection after a codec error or a refused upgrade, or
        # when it drains; an HTTP/2 one after a GOAWAY.
        if proto == "h1" and (response.header("connection") or b"").lower() == b"close":
            conn = close(conn)
        elif proto == "h2" and conn.draining:
            conn = close(conn)
    close(conn)


def close(conn):
    if conn is not None:
        conn.close()
    return None


WS = Request("websocket", "GET", b"/sockets/1/soak-{n}", 101, "allowed")


async def websocket_traffic(ports: dict[str, int], stop: threading.Event, tally: Tally, held: int) -> None:
    """`held` long-lived sockets per listener, one message each every half second, plus a
    churn of short sessions (open, two messages, close)."""

    async def session(listener: str, n: int, messages: int | None) -> None:
        target = WS.target.replace(b"{n}", str(n).encode())
        try:
            async with connect(f"ws://127.0.0.1:{ports[listener]}{target.decode()}", open_timeout=10,
                               close_timeout=1) as ws:
                tally.record(listener, WS, 101, target)
                sent = 0
                while not stop.is_set() and (messages is None or sent < messages):
                    await ws.send(f"{listener} {n} {sent}")
                    if await asyncio.wait_for(ws.recv(), 10) != f"{listener} {n} {sent}":
                        tally.error("websocket echo mismatch")
                    sent += 1
                    tally.record(listener, Request("ws_message", "", b"", 0, None), 0, target)
                    if messages is None:
                        await asyncio.sleep(0.5)
        except Exception as e:  # noqa: BLE001 - every failure is counted and fails the soak
            tally.error(f"websocket {type(e).__name__}")

    async def churn(listener: str, start: int) -> None:
        n = start
        while not stop.is_set():
            await session(listener, n, 2)
            n += 1

    tasks = [session(l, 10_000 * i + k, None) for i, l in enumerate(ports) for k in range(held)]
    tasks += [churn(l, 100_000 * (i + 1) + 10_000 * k) for i, l in enumerate(ports) for k in range(3)]
    await asyncio.gather(*tasks)
