"""Wire-level clients: HTTP/1.1 on raw sockets (request targets written byte-exact) and
HTTP/2 with prior knowledge (h2c) via the `h2` library, including RFC 8441 WebSockets."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage

TIMEOUT = 10.0
AUTHORITY = b"firewall.test"


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    # HTTP/2 only: the response headers already ended the stream.
    ended: bool = True

    def header(self, name: str) -> bytes | None:
        for n, v in self.headers:
            if n.lower() == name.encode():
                return v
        return None

    def echo(self) -> dict:
        """The demo upstream's JSON echo of the request it received."""
        return json.loads(self.body)

    def upstream_target(self) -> bytes | None:
        """What the demo upstream says it received (visible ASCII; other bytes as %XX)."""
        return self.header("x-upstream-path")


def echo_headers(echo: dict) -> list[tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in echo["headers"]]


# --- HTTP/1.1 ---------------------------------------------------------------------------


def h1_request(method: str, target: bytes, headers: list[tuple[bytes, bytes]] = (), body: bytes = b"") -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"host: " + AUTHORITY]
    lines += [n + b": " + v for n, v in headers]
    if body:
        lines.append(b"content-length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class H1Connection:
    """One keep-alive HTTP/1.1 connection; requests are written exactly as given."""

    def __init__(self, port: int, sock: socket.socket | None = None):
        """A plain TCP connection to `port`, or the already connected `sock` (e.g. TLS)."""
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def read_response(self, head_request: bool = False) -> Response:
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed before a response")
        parts = status_line.split(b" ", 2)
        response = Response(status=int(parts[1]))
        while True:
            line = self.reader.readline().rstrip(b"\r\n")
            if not line:
                break
            name, _, value = line.partition(b":")
            response.headers.append((name.strip().lower(), value.strip()))
        if head_request or response.status in (101, 204, 304) or 100 <= response.status < 200:
            return response
        if (response.header("transfer-encoding") or b"").lower() == b"chunked":
            response.body = self._read_chunked()
        elif response.header("content-length") is not None:
            response.body = self._read_exact(int(response.header("content-length")))
        else:
            response.body = self.reader.read()
        return response

    def _read_exact(self, n: int) -> bytes:
        data = self.reader.read(n)
        if len(data) != n:
            raise ConnectionError(f"body cut short: {len(data)} of {n} bytes")
        return data

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self.reader.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.reader.readline().strip():
                    pass
                return body
            body += self._read_exact(size)
            self.reader.readline()

    def request(self, raw: bytes) -> Response:
        self.send(raw)
        return self.read_response(head_request=raw.startswith(b"HEAD "))


def http1(port: int, raw: bytes) -> Response:
    with H1Connection(port) as conn:
        return conn.request(raw)


def get1(port: int, target: bytes, headers: list[tuple[bytes, bytes]] = (), method: str = "GET") -> Response:
    return http1(port, h1_request(method, target, headers))


# --- HTTP/2 (h2c, prior knowledge) ------------------------------------------------------


class StreamReset(Exception):
    def __init__(self, code):
        super().__init__(f"stream reset: {code!r}")
        self.code = code


class H2Connection:
    """An h2c connection. Outbound header validation is off so tests can send what they want."""

    def __init__(self, port: int, sock: socket.socket | None = None):
        """h2c to `port`, or HTTP/2 on the already connected `sock` (e.g. TLS)."""
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        self.flush()
        self.pending: dict[int, list] = {}
        self.remote_settings_seen = False

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self.flush()
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def _pump(self) -> None:
        """Read from the socket once and queue the events per stream."""
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by peer")
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                self.remote_settings_seen = True
            elif isinstance(event, h2.events.DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                raise ConnectionError(f"GOAWAY {event.error_code!r}")
            stream_id = getattr(event, "stream_id", None)
            if stream_id:
                self.pending.setdefault(stream_id, []).append(event)
        self.flush()

    def next_event(self, stream_id: int):
        while not self.pending.get(stream_id):
            self._pump()
        return self.pending[stream_id].pop(0)

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        """Send in frames that fit the peer's frame size and flow-control windows."""
        while True:
            room = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if room == 0 and data:
                self._pump()  # wait for WINDOW_UPDATE
                continue
            chunk, data = data[:room], data[room:]
            self.conn.send_data(stream_id, chunk, end_stream=end_stream and not data)
            self.flush()
            if not data:
                return

    def send_headers(self, headers: list[tuple[bytes, bytes]], end_stream: bool) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.flush()
        return stream_id

    def read_head(self, stream_id: int) -> Response:
        while True:
            event = self.next_event(stream_id)
            if isinstance(event, h2.events.StreamReset):
                raise StreamReset(event.error_code)
            if isinstance(event, h2.events.ResponseReceived):
                headers = [(bytes(n), bytes(v)) for n, v in event.headers]
                status = int(dict(headers)[b":status"])
                if 100 <= status < 200:
                    continue
                return Response(
                    status=status,
                    headers=[(n, v) for n, v in headers if not n.startswith(b":")],
                    ended=event.stream_ended is not None,
                )

    def request(self, method: str, path: bytes, headers: list[tuple[bytes, bytes]] = (), body: bytes = b"") -> Response:
        request_headers = [
            (b":method", method.encode()),
            (b":scheme", b"http"),
            (b":authority", AUTHORITY),
            (b":path", path),
            *headers,
        ]
        stream_id = self.send_headers(request_headers, end_stream=not body)
        if body:
            self.send_data(stream_id, body, end_stream=True)
        response = self.read_head(stream_id)
        while not response.ended:
            event = self.next_event(stream_id)
            if isinstance(event, h2.events.DataReceived):
                response.body += event.data
            elif isinstance(event, h2.events.StreamEnded):
                break
            elif isinstance(event, h2.events.StreamReset):
                raise StreamReset(event.error_code)
        return response

    def websocket(self, path: bytes) -> H2WebSocket:
        """RFC 8441: CONNECT with :protocol websocket; WebSocket frames then ride in DATA frames."""
        while not self.remote_settings_seen:
            self._pump()
        if self.conn.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) != 1:
            raise AssertionError("server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL=1")
        stream_id = self.send_headers(websocket_connect(b"http", AUTHORITY, path), end_stream=False)
        return H2WebSocket(self, stream_id, self.read_head(stream_id))


def h2_request(
    port: int, method: str, path: bytes, headers: list[tuple[bytes, bytes]] = (), body: bytes = b""
) -> Response:
    with H2Connection(port) as conn:
        return conn.request(method, path, headers, body)


def websocket_connect(scheme: bytes, authority: bytes, path: bytes) -> list[tuple[bytes, bytes]]:
    """The header block of an extended CONNECT opening a WebSocket (RFC 8441 over HTTP/2, RFC 9220 over HTTP/3)."""
    return [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", scheme),
        (b":authority", authority),
        (b":path", path),
        (b"sec-websocket-version", b"13"),
    ]


def received_message(ws: WsConnection, parts: list) -> str | bytes | None:
    """The next whole WebSocket message among the bytes `ws` has received, or None until
    there is one (its fragments so far kept in `parts`); ConnectionError on a close."""
    for event in ws.events():
        if isinstance(event, (TextMessage, BytesMessage)):
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
        elif isinstance(event, CloseConnection):
            raise ConnectionError(f"WebSocket closed: {event.code}")
    return None


class H2WebSocket:
    def __init__(self, h2conn: H2Connection, stream_id: int, response: Response):
        self.h2 = h2conn
        self.stream_id = stream_id
        self.response = response
        self.ws = WsConnection(ConnectionType.CLIENT)

    def _send(self, event) -> None:
        self.h2.send_data(self.stream_id, self.ws.send(event))

    def send(self, message: str | bytes) -> None:
        self._send(TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message))

    def recv(self) -> str | bytes:
        parts: list = []
        while (message := received_message(self.ws, parts)) is None:
            event = self.h2.next_event(self.stream_id)
            if isinstance(event, h2.events.DataReceived):
                self.ws.receive_data(event.data)
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                raise ConnectionError(f"stream ended: {event!r}")
        return message

    def close(self) -> None:
        self._send(CloseConnection(code=1000))


# --- both -------------------------------------------------------------------------------


def send(
    port: int, proto: str, method: str, target: bytes, headers: list[tuple[bytes, bytes]] = (), body: bytes = b""
) -> Response:
    """One request on a fresh connection, over "h1" (raw socket) or "h2" (h2c)."""
    if proto == "h1":
        return http1(port, h1_request(method, target, headers, body))
    if proto == "h2":
        return h2_request(port, method, target, headers, body)
    raise ValueError(proto)


def exchange(upstream, port: int, proto: str, method: str, target: bytes, headers=(), body: bytes = b""):
    """Send one request; return the response and the requests the upstream logged meanwhile.

    The upstream logs a request before answering it, so once the response is here the log
    holds everything this request caused upstream.
    """
    mark = upstream.mark()
    response = send(port, proto, method, target, headers, body)
    return response, upstream.since(mark)


def target_of(entry: dict) -> bytes:
    """The request target an upstream log entry recorded, as the exact bytes received."""
    assert "target" in entry, f"upstream could not parse a request: {entry}"
    return entry["target"].encode("latin-1")
