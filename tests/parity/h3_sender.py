"""Send every row over HTTP/3 on the shared aioquic client (tests/e2e/h3.py), which sends a
header block as given (no :path checks), as a hostile client would. A few QUIC connections at
once, each carrying rows one after another until Envoy refuses one (a reset stream or a
closed connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from h3 import AUTHORITY, Client, Refused, connect
from outcome import Seen
from rows import Row
from senders import _length, h2_headers, tag

WORKERS = 6
H3_REQUEST_CANCELLED = 0x10C


async def exchange(client: Client, row: Row, headers: list[tuple[bytes, bytes]]) -> Seen:
    tunnel = row.websocket or row.method == "CONNECT"
    stream_id = client.send_request(headers, end_stream=not tunnel)
    response, ended = await client.head(stream_id)
    fields = dict(response.headers)
    seen = Seen(response.status, content_type=fields.get(b"content-type"), length=_length(fields.get(b"content-length")))
    if tunnel and response.status == 200 and not ended:
        client._quic.reset_stream(stream_id, H3_REQUEST_CANCELLED)
        client.transmit()
        return seen
    if not ended:
        await client.rest(stream_id)
    return seen


async def _worker(port: int, cert: Path, rows: list[Row], pass_id: str, todo: asyncio.Queue, out: dict) -> None:
    async with contextlib.AsyncExitStack() as stack:
        client: Client | None = None
        while not todo.empty():
            i = todo.get_nowait()
            row = rows[i]
            if client is None or client.closed:
                await stack.aclose()
                client = await stack.enter_async_context(connect(port, cert))
            try:
                out[i] = await exchange(client, row, [*h2_headers(row, b"https", AUTHORITY), tag(pass_id, i)])
            except Refused as e:
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
