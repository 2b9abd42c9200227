"""Send every row over HTTP/1.1 (raw socket) or HTTP/2 (h2c, the h2 library with its
validation off), several connections at once, each reused while the codec keeps it open.

Every request carries the `x-parity-row` tag, so the upstream's log says which row caused
what it received whatever the order. A codec that refuses a header block closes the whole
HTTP/2 connection (no GOAWAY) after its delayed-close timeout: the next row on that worker
opens a new one, and the workers' waits overlap.
"""

from __future__ import annotations

import contextlib
import socket
from concurrent.futures import ThreadPoolExecutor

import h2.events
import h2.exceptions

from clients import AUTHORITY, H1Connection, H2Connection, StreamReset, h1_request, websocket_connect
from outcome import TAG, Seen
from rows import WEBSOCKET_HEADERS, Row

WORKERS = 12


def _spread(rows: list[Row], workers: int) -> list[list[int]]:
    return [list(range(i, len(rows), workers)) for i in range(workers)]


def run(rows: list[Row], pass_id: str, send_some) -> list[Seen]:
    """send_some(indices, rows, pass_id) -> {index: Seen}, on WORKERS threads."""
    seen: dict[int, Seen] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for part in pool.map(lambda idx: send_some(idx, rows, pass_id), _spread(rows, WORKERS)):
            seen.update(part)
    return [seen[i] for i in range(len(rows))]


def tag(pass_id: str, index: int) -> tuple[bytes, bytes]:
    return (TAG.encode(), f"{pass_id}:{index}".encode())


# --- HTTP/1.1 -------------------------------------------------------------------------------


def _well_formed(row: Row) -> bool:
    """A request line Envoy's codec reads to its end: the connection may carry another."""
    return bool(row.target) and all(0x21 <= b <= 0x7E for b in row.target)


def h1_some(port: int):
    def send_some(indices: list[int], rows: list[Row], pass_id: str) -> dict[int, Seen]:
        out: dict[int, Seen] = {}
        conn: H1Connection | None = None
        for i in indices:
            row = rows[i]
            if conn is None:
                conn = H1Connection(port)
            try:
                conn.send(h1_request(row.method, row.target, [*row.headers, tag(pass_id, i)]))
                r = conn.read_response(head_request=row.method == "HEAD")
                out[i] = Seen(r.status, content_type=r.header("content-type"), length=_length(r.header("content-length")))
                keep = (
                    _well_formed(row)
                    and r.status != 101
                    and (r.header("connection") or b"").lower() != b"close"
                )
            except socket.timeout:
                out[i], keep = Seen(how="timeout"), False
            except (OSError, ValueError, IndexError) as e:
                out[i], keep = Seen(how=f"closed ({type(e).__name__})"), False
            if not keep:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        return out

    return send_some


def _length(value: bytes | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


# --- HTTP/2 -----------------------------------------------------------------------------------


def h2_headers(row: Row, scheme: bytes, authority: bytes) -> list[tuple[bytes, bytes]]:
    """The header block for a row: a CONNECT's target is its :authority; a WebSocket row
    is extended CONNECT (RFC 8441 / RFC 9220) without the HTTP/1.1 upgrade headers."""
    extra = [(n, v) for n, v in row.headers if n not in WEBSOCKET_HEADERS]
    if row.method == "CONNECT":
        return [(b":method", b"CONNECT"), (b":authority", row.target), *extra]
    if row.websocket:
        return [*websocket_connect(scheme, authority, row.target), *extra]
    return [(b":method", row.method.encode()), (b":scheme", scheme), (b":authority", authority), (b":path", row.target), *extra]


def _h2_one(conn: H2Connection, row: Row, headers: list[tuple[bytes, bytes]]) -> Seen:
    stream_id = conn.send_headers(headers, end_stream=not (row.websocket or row.method == "CONNECT"))
    r = conn.read_head(stream_id)
    seen = Seen(r.status, content_type=r.header("content-type"), length=_length(r.header("content-length")))
    if not r.ended and r.status == 200 and (row.websocket or row.method == "CONNECT"):
        with contextlib.suppress(h2.exceptions.StreamClosedError):
            conn.conn.reset_stream(stream_id)  # a tunnel now open: done with it
            conn.flush()
        return seen
    while not r.ended:
        event = conn.next_event(stream_id)
        if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
            break
    return seen


def h2_some(port: int):
    def send_some(indices: list[int], rows: list[Row], pass_id: str) -> dict[int, Seen]:
        out: dict[int, Seen] = {}
        conn: H2Connection | None = None
        for i in indices:
            row = rows[i]
            if conn is None:
                conn = H2Connection(port)
            try:
                out[i] = _h2_one(conn, row, [*h2_headers(row, b"http", AUTHORITY), tag(pass_id, i)])
                continue
            except StreamReset as e:
                # The connection survives a reset, but Envoy may still close it while it
                # reads the rest of a refused header block: the next row starts afresh.
                out[i] = Seen(how=f"reset {int(e.code):#x}")
            except socket.timeout:
                out[i] = Seen(how="timeout")
            except ConnectionError as e:
                out[i] = Seen(how="goaway" if "GOAWAY" in str(e) else "closed")
            except OSError:
                out[i] = Seen(how="closed")
            conn.sock.close()
            conn = None
        if conn is not None:
            conn.close()
        return out

    return send_some
