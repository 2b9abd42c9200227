"""The module published over HTTPS on 127.0.0.1, as the HTTP form of the shipped
EnvoyExtensionPolicy downloads it, with a certificate made for the run."""

from __future__ import annotations

import http.server
import ssl
import threading
from pathlib import Path


class HttpsFileServer:
    """Serves files over HTTPS on 127.0.0.1 with a certificate made for the run, recording
    the paths requested; `files` maps a path to its bytes."""

    def __init__(self, cert: Path, key: Path):
        self.files: dict[str, bytes] = {}
        # Self-signed: the certificate is its own CA, as the policy's Secret carries it.
        self.ca_pem = Path(cert).read_bytes()
        self.requested: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requested.append(self.path)
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("content-length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
