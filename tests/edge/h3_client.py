"""HTTP/3 with aioquic: requests and RFC 9220 WebSockets (extended CONNECT), synchronously.

aioquic's H3Connection sends the header block as given (no :path checks), which is what a
hostile client does too. Each call opens its own QUIC connection and closes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamReset
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage

TIMEOUT = 10.0
AUTHORITY = b"localhost"
SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8


class Refused(Exception):
    """The stream was reset or the connection closed before a response: the codec said no."""


@dataclass
class H3Response:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> bytes | None:
        return next((v for n, v in self.headers if n == name.encode()), None)


class _Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.events: dict[int, asyncio.Queue] = {}
        self.closed: str | None = None

    def queue(self, stream_id: int) -> asyncio.Queue:
        return self.events.setdefault(stream_id, asyncio.Queue())

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            self.closed = f"connection closed: 0x{event.error_code:x} {event.reason_phrase}"
            for q in self.events.values():
                q.put_nowait(Refused(self.closed))
            return
        if isinstance(event, StreamReset):
            self.queue(event.stream_id).put_nowait(Refused(f"stream reset: 0x{event.error_code:x}"))
            return
        for h3_event in self.http.handle_event(event):
            stream_id = getattr(h3_event, "stream_id", None)
            if stream_id is not None:
                self.queue(stream_id).put_nowait(h3_event)

    async def next(self, stream_id: int) -> H3Event:
        if self.closed:
            raise Refused(self.closed)
        event = await asyncio.wait_for(self.queue(stream_id).get(), TIMEOUT)
        if isinstance(event, Exception):
            raise event
        return event

    async def head(self, stream_id: int) -> tuple[H3Response, bool]:
        while True:
            event = await self.next(stream_id)
            if isinstance(event, HeadersReceived):
                status = int(dict(event.headers)[b":status"])
                if status >= 200:
                    headers = [(n, v) for n, v in event.headers if not n.startswith(b":")]
                    return H3Response(status, headers), event.stream_ended


def _configuration(cert: Path) -> QuicConfiguration:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    configuration.load_verify_locations(str(cert))
    return configuration


async def _request(port, cert, method, path, headers, body) -> H3Response:
    async with connect("127.0.0.1", port, configuration=_configuration(cert), create_protocol=_Client) as client:
        stream_id = client._quic.get_next_available_stream_id()
        request = [(b":method", method.encode()), (b":scheme", b"https"), (b":authority", AUTHORITY), (b":path", path)]
        client.http.send_headers(stream_id, request + list(headers), end_stream=not body)
        if body:
            client.http.send_data(stream_id, body, end_stream=True)
        client.transmit()
        response, ended = await client.head(stream_id)
        while not ended:
            event = await client.next(stream_id)
            if isinstance(event, DataReceived):
                response.body += event.data
                ended = event.stream_ended
            elif isinstance(event, HeadersReceived):
                ended = event.stream_ended  # trailers
        return response


def request(port: int, cert: Path, method: str, path: bytes, headers=(), body: bytes = b"") -> H3Response:
    """One request on a fresh QUIC connection; Refused when the codec resets or closes."""
    return asyncio.run(_request(port, cert, method, path, headers, body))


async def _websocket(port, cert, path, messages) -> tuple[H3Response, list, dict]:
    async with connect("127.0.0.1", port, configuration=_configuration(cert), create_protocol=_Client) as client:
        # The server's SETTINGS must allow extended CONNECT before a client may use it.
        for _ in range(100):
            if client.http.received_settings is not None:
                break
            await asyncio.sleep(0.05)
        settings = dict(client.http.received_settings or {})
        stream_id = client._quic.get_next_available_stream_id()
        client.http.send_headers(
            stream_id,
            [
                (b":method", b"CONNECT"),
                (b":protocol", b"websocket"),
                (b":scheme", b"https"),
                (b":authority", AUTHORITY),
                (b":path", path),
                (b"sec-websocket-version", b"13"),
            ],
        )
        client.transmit()
        response, _ = await client.head(stream_id)
        echoed = []
        if response.status != 200:
            return response, echoed, settings
        ws = WsConnection(ConnectionType.CLIENT)
        for message in messages:
            event = TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
            client.http.send_data(stream_id, ws.send(event), end_stream=False)
            client.transmit()
            parts = []
            while True:
                done = None
                for ws_event in ws.events():
                    if isinstance(ws_event, (TextMessage, BytesMessage)):
                        parts.append(ws_event.data)
                        if ws_event.message_finished:
                            done = "".join(parts) if isinstance(ws_event, TextMessage) else b"".join(parts)
                    elif isinstance(ws_event, CloseConnection):
                        raise Refused(f"WebSocket closed: {ws_event.code}")
                if done is not None:
                    echoed.append(done)
                    break
                event = await client.next(stream_id)
                if isinstance(event, DataReceived):
                    ws.receive_data(event.data)
        client.http.send_data(stream_id, ws.send(CloseConnection(code=1000)), end_stream=True)
        client.transmit()
        return response, echoed, settings


def websocket(port: int, cert: Path, path: bytes, messages: list) -> tuple[H3Response, list, dict]:
    """Extended CONNECT for a WebSocket, then each message sent and its echo read back.
    Returns the CONNECT response, the echoes, and the server's HTTP/3 SETTINGS."""
    return asyncio.run(_websocket(port, cert, path, messages))
