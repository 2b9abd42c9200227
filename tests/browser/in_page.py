"""What the tests make the page itself do (fetch, WebSocket), and what the upstream logged.

The JavaScript runs inside the page, in the page's origin, exactly as the page's own code
would: the browser builds the request, applies its URL parsing and header rules, and reports
only what a script can see.
"""

from __future__ import annotations

from clients import target_of

FETCH = """async ([url, init]) => {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text() };
}"""

# Opens a socket, sends each message once it is open, waits for as many replies, then closes.
# Binary messages travel as arrays of byte values (JSON cannot carry an ArrayBuffer).
# evaluate() has no timeout of its own: a socket that never closes resolves with code null.
WEBSOCKET = """([url, messages, timeoutMs]) => new Promise((resolve) => {
  const result = { opened: false, errored: false, received: [], code: null };
  setTimeout(() => resolve(result), timeoutMs);
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    result.opened = true;
    for (const m of messages) socket.send(typeof m === "string" ? m : new Uint8Array(m));
    if (messages.length === 0) socket.close(1000);
  };
  socket.onmessage = (event) => {
    const data = event.data;
    result.received.push(typeof data === "string" ? data : Array.from(new Uint8Array(data)));
    if (result.received.length === messages.length) socket.close(1000);
  };
  socket.onerror = () => { result.errored = true; };
  socket.onclose = (event) => { result.code = event.code; resolve(result); };
})"""


SOCKET_TIMEOUT_MS = 10_000


def origin(listener) -> str:
    return f"http://127.0.0.1:{listener.port}"


def fetch(page, url: str, **init) -> dict:
    """`fetch(url, init)` in the page: {status, body} as the script saw them."""
    return page.evaluate(FETCH, [url, init])


def websocket(page, url: str, messages: list[str | bytes]) -> dict:
    """A WebSocket from the page: {opened, errored, received, code} as the script saw them."""
    sent = [m if isinstance(m, str) else list(m) for m in messages]
    result = page.evaluate(WEBSOCKET, [url, sent, SOCKET_TIMEOUT_MS])
    result["received"] = [m if isinstance(m, str) else bytes(m) for m in result["received"]]
    return result


def not_icons(entries: list[dict]) -> list[dict]:
    """The upstream's entries without icon fetches (`sec-fetch-dest: image`), which Chromium
    makes on its own schedule after a page loads; the SPA fallback turns its /favicon.ico
    into /index.html, so only the header tells them apart."""
    return [e for e in entries if headers_of(e).get("sec-fetch-dest") != ["image"]]


def targets(entries: list[dict]) -> list[bytes]:
    """The request targets the upstream logged, as the exact bytes it received."""
    return [target_of(e) for e in entries]


def headers_of(entry: dict) -> dict[str, list[str]]:
    """The headers the upstream logged, names lower-cased, every value kept in order."""
    result: dict[str, list[str]] = {}
    for name, value in entry["headers"]:
        result.setdefault(name.lower(), []).append(value)
    return result
