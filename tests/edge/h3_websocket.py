"""RFC 9220 WebSockets over HTTP/3 (extended CONNECT), on the shared aioquic client (tests/e2e/h3.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aioquic.h3.events import DataReceived
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from clients import received_message, websocket_connect
from h3 import AUTHORITY, H3Response, connect

SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8


async def _websocket(port, cert, path, messages) -> tuple[H3Response, list, dict]:
    async with connect(port, cert) as client:
        # The server's SETTINGS must allow extended CONNECT before a client may use it.
        for _ in range(100):
            if client.http.received_settings is not None:
                break
            await asyncio.sleep(0.05)
        settings = dict(client.http.received_settings or {})
        stream_id = client.send_request(websocket_connect(b"https", AUTHORITY, path), end_stream=False)
        response, _ = await client.head(stream_id)
        echoed = []
        if response.status != 200:
            return response, echoed, settings
        ws = WsConnection(ConnectionType.CLIENT)
        for message in messages:
            event = TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
            client.http.send_data(stream_id, ws.send(event), end_stream=False)
            client.transmit()
            parts: list = []
            while (echo := received_message(ws, parts)) is None:
                event = await client.next(stream_id)
                if isinstance(event, DataReceived):
                    ws.receive_data(event.data)
            echoed.append(echo)
        client.http.send_data(stream_id, ws.send(CloseConnection(code=1000)), end_stream=True)
        client.transmit()
        return response, echoed, settings


def websocket(port: int, cert: Path, path: bytes, messages: list) -> tuple[H3Response, list, dict]:
    """Extended CONNECT for a WebSocket, then each message sent and its echo read back.
    Returns the CONNECT response, the echoes, and the server's HTTP/3 SETTINGS."""
    return asyncio.run(_websocket(port, cert, path, messages))
