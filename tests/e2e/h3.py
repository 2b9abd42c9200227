"""HTTP/3 with aioquic, synchronously: one QUIC connection's events queued per stream, and
one request on a fresh connection.

aioquic's H3Connection sends the header block as given (no :path checks), which is what a
hostile client does too. A reset stream or a closed connection is `Refused`, named as the
parity tables name it: `reset 0xN`, `closed 0xN reason`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from aioquic.asyncio import connect as quic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamReset

TIMEOUT = 10.0
AUTHORITY = b"localhost"  # the name the test certificate is for


class Refused(Exception):
    """No response: the stream was reset or the connection closed (the codec said no)."""


@dataclass
class H3Response:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # without pseudo-headers
    body: bytes = b""

    def header(self, name: str) -> bytes | None:
        return next((v for n, v in self.headers if n == name.encode()), None)


class Client(QuicConnectionProtocol):
    """One QUIC connection; each stream's HTTP/3 events, or its `Refused`, in a queue of its own."""

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
                q.put_nowait(Refused(self.closed))
        elif isinstance(event, StreamReset):
            self.queue(event.stream_id).put_nowait(Refused(f"reset {event.error_code:#x}"))
        else:
            for h3_event in self.http.handle_event(event):
                stream_id = getattr(h3_event, "stream_id", None)
                if stream_id is not None:
                    self.queue(stream_id).put_nowait(h3_event)

    async def next(self, stream_id: int) -> H3Event:
        """The stream's next event; Refused once reset or closed, TimeoutError after TIMEOUT."""
        if self.closed:
            raise Refused(self.closed)
        event = await asyncio.wait_for(self.queue(stream_id).get(), TIMEOUT)
        if isinstance(event, Exception):
            raise event
        return event

    def send_request(self, headers: list[tuple[bytes, bytes]], body: bytes = b"", end_stream: bool = True) -> int:
        """A new stream carrying `headers` as given, then `body`; its id."""
        stream_id = self._quic.get_next_available_stream_id()
        self.http.send_headers(stream_id, headers, end_stream=end_stream and not body)
        if body:
            self.http.send_data(stream_id, body, end_stream=end_stream)
        self.transmit()
        return stream_id

    async def head(self, stream_id: int) -> tuple[H3Response, bool]:
        """The final (non-1xx) response head, and whether it ended the stream."""
        while True:
            event = await self.next(stream_id)
            if isinstance(event, HeadersReceived):
                status = int(dict(event.headers)[b":status"])
                if status >= 200:
                    headers = [(n, v) for n, v in event.headers if not n.startswith(b":")]
                    return H3Response(status, headers), event.stream_ended

    async def rest(self, stream_id: int) -> bytes:
        """The body, read until the stream ends (trailers, if any, end it too)."""
        body = b""
        while True:
            event = await self.next(stream_id)
            if isinstance(event, DataReceived):
                body += event.data
            if isinstance(event, (DataReceived, HeadersReceived)) and event.stream_ended:
                return body


def configuration(cert: Path) -> QuicConfiguration:
    """A client that verifies the run's self-signed certificate and offers h3."""
    result = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    result.load_verify_locations(str(cert))
    return result


def connect(port: int, cert: Path) -> contextlib.AbstractAsyncContextManager[Client]:
    return quic_connect("127.0.0.1", port, configuration=configuration(cert), create_protocol=Client)


def request_headers(method: str, path: bytes, headers=()) -> list[tuple[bytes, bytes]]:
    return [(b":method", method.encode()), (b":scheme", b"https"), (b":authority", AUTHORITY), (b":path", path), *headers]


async def _request(port, cert, method, path, headers, body) -> H3Response:
    async with connect(port, cert) as client:
        stream_id = client.send_request(request_headers(method, path, headers), body)
        response, ended = await client.head(stream_id)
        if not ended:
            response.body = await client.rest(stream_id)
        return response


def request(port: int, cert: Path, method: str, path: bytes, headers=(), body: bytes = b"") -> H3Response:
    """One request on a fresh QUIC connection; Refused when the codec resets or closes."""
    return asyncio.run(_request(port, cert, method, path, headers, body))
