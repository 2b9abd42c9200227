"""Send every row over HTTP/3 with aioquic, which sends a header block as given (no :path
checks), as a hostile client would. A few QUIC connections at once, each carrying rows one
after another until Envoy refuses one (a reset stream or a closed connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamReset

from outcome import Seen
from rows import Row
from senders import _length, h2_headers, tag

AUTHORITY = b"localhost"  # the name the test certificate is for
TIMEOUT = 10.0
WORKERS = 6
H3_REQUEST_CANCELLED = 0x10C


class Gone(Exception):
    """No response: the stream was reset or the connection closed."""


class _Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.queues: dict[int, asyncio.Queue] = {}
        self.closed: str | None = None

    def queue(self, stream_id: int) -> asyncio.Queue:
        return self.queues.setdefault(stream_id, asyncio.Queue())

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            self.closed = f"closed {event.error_code:#x} {event.reason_phrase}".strip()
            for q in self.queues.values():
                q.put_nowait(Gone(self.closed))
        elif isinstance(event, StreamReset):
            self.queue(event.stream_id).put_nowait(Gone(f"reset {event.error_code:#x}"))
        else:
            for h3_event in self.http.handle_event(event):
                stream_id = getattr(h3_event, "stream_id", None)
                if stream_id is not None:
                    self.queue(stream_id).put_nowait(h3_event)

    async def next(self, stream_id: int):
        if self.closed:
            raise Gone(self.closed)
        event = await asyncio.wait_for(self.queue(stream_id).get(), TIMEOUT)
        if isinstance(event, Exception):
            raise event
        return event

    async def exchange(self, row: Row, headers: list[tuple[bytes, bytes]]) -> Seen:
        stream_id = self._quic.get_next_available_stream_id()
        tunnel = row.websocket or row.method == "CONNECT"
        self.http.send_headers(stream_id, headers, end_stream=not tunnel)
        self.transmit()
        while True:
            event = await self.next(stream_id)
            if isinstance(event, HeadersReceived):
                status = int(dict(event.headers)[b":status"])
                if status >= 200:
                    break
        fields = dict(event.headers)
        seen = Seen(status, content_type=fields.get(b"content-type"), length=_length(fields.get(b"content-length")))
        ended = event.stream_ended
        if tunnel and status == 200 and not ended:
            self._quic.reset_stream(stream_id, H3_REQUEST_CANCELLED)
            self.transmit()
            return seen
        while not ended:
            event = await self.next(stream_id)
            if isinstance(event, (DataReceived, HeadersReceived)):
                ended = event.stream_ended
        return seen


def _configuration(cert: Path) -> QuicConfiguration:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    configuration.load_verify_locations(str(cert))
    return configuration


async def _worker(port: int, cert: Path, rows: list[Row], pass_id: str, todo: asyncio.Queue, out: dict) -> None:
    async with contextlib.AsyncExitStack() as stack:
        client: _Client | None = None
        while not todo.empty():
            i = todo.get_nowait()
            row = rows[i]
            if client is None or client.closed:
                await stack.aclose()
                client = await stack.enter_async_context(
                    connect("127.0.0.1", port, configuration=_configuration(cert), create_protocol=_Client)
                )
            try:
                out[i] = await client.exchange(row, [*h2_headers(row, b"https", AUTHORITY), tag(pass_id, i)])
            except Gone as e:
                out[i] = Seen(how=str(e))
                # Envoy may still close a connection after resetting one of its streams
                # (it reads the rest of a refused header block first): start afresh, so
                # the next row cannot inherit that close.
                client.closed = client.closed or "replaced"
            except TimeoutError:
                out[i] = Seen(how="timeout")
                client.closed = "timeout"


async def _run(port: int, cert: Path, rows: list[Row], pass_id: str) -> list[Seen]:
    todo: asyncio.Queue = asyncio.Queue()
    for i in range(len(rows)):
        todo.put_nowait(i)
    out: dict[int, Seen] = {}
    await asyncio.gather(*(_worker(port, cert, rows, pass_id, todo, out) for _ in range(WORKERS)))
    return [out[i] for i in range(len(rows))]


def run(port: int, cert: Path, rows: list[Row], pass_id: str) -> list[Seen]:
    return asyncio.run(_run(port, cert, rows, pass_id))
