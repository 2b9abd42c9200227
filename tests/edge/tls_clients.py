"""The end-to-end suite's wire clients (tests/e2e/clients.py) over TLS.

The TLS clients verify the run's self-signed certificate and offer ALPN the way browsers do:
h2 then http/1.1 for HTTP/2, http/1.1 alone for HTTP/1.1.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import clients
from clients import TIMEOUT, H1Connection, H2Connection, Response, h1_request

SERVER_NAME = "localhost"


def context(cert: Path, alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.set_alpn_protocols(alpn)
    return ctx


def tls_socket(port: int, cert: Path, alpn: list[str]) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return context(cert, alpn).wrap_socket(raw, server_hostname=SERVER_NAME)


class TlsH1Connection(H1Connection):
    def __init__(self, port: int, cert: Path):
        super().__init__(port, tls_socket(port, cert, ["http/1.1"]))
        self.alpn = self.sock.selected_alpn_protocol()


class TlsH2Connection(H2Connection):
    """HTTP/2 negotiated by ALPN; requests carry :scheme https."""

    def __init__(self, port: int, cert: Path):
        super().__init__(port, tls_socket(port, cert, ["h2", "http/1.1"]))
        self.alpn = self.sock.selected_alpn_protocol()

    def send_headers(self, headers, end_stream: bool) -> int:
        headers = [(n, b"https") if n == b":scheme" else (n, v) for n, v in headers]
        return super().send_headers(headers, end_stream)


def send(
    port: int, cert: Path | None, proto: str, method: str, target: bytes, headers=(), body: bytes = b""
) -> Response:
    """One request on a fresh connection: plaintext when cert is None, else TLS."""
    if cert is None:
        return clients.send(port, proto, method, target, list(headers), body)
    if proto == "h1":
        with TlsH1Connection(port, cert) as conn:
            return conn.request(h1_request(method, target, list(headers), body))
    if proto == "h2":
        with TlsH2Connection(port, cert) as conn:
            return conn.request(method, target, list(headers), body)
    raise ValueError(proto)
