"""Steady mixed traffic through both listeners for the length of a block: the soak's mix
(tests/soak/traffic.py: HTTP/1.1 and HTTP/2 keep-alive connections, hostile rows, every
answer checked against the contract) and WebSockets held open on /sockets/1/ all along."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from traffic import Tally, http_worker, websocket_traffic

HELD_WEBSOCKETS = 5  # per listener


@contextlib.contextmanager
def steady_load(ports: dict[str, int], workers: int = 4, held: int = HELD_WEBSOCKETS,
                websockets: tuple[str, ...] = ("external", "internal")):
    tally, stop = Tally(), threading.Event()
    combos = [(l, p) for p in ("h1", "h2") for l in ("external", "internal")]

    def guarded(work, *args):
        try:
            work(*args)
        except BaseException as e:  # a crashed client thread is a failure, not a silence
            tally.error(f"traffic thread crashed: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=guarded, args=(http_worker, l, ports[l], p, stop, tally, i * 1_000_003),
                                daemon=True)
               for i, (l, p) in enumerate(combos[i % len(combos)] for i in range(workers))]
    ws_ports = {role: ports[role] for role in websockets}
    threads.append(threading.Thread(
        target=guarded, args=(lambda: asyncio.run(websocket_traffic(ws_ports, stop, tally, held)),), daemon=True))
    for t in threads:
        t.start()
    try:
        yield tally
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        tally.hung = any(t.is_alive() for t in threads)


def failures(tally: Tally) -> list[str]:
    """What the steady traffic saw that it must not: 5xx, resets, other answers than the contract's."""
    found = []
    if getattr(tally, "hung", False):
        found.append("a traffic thread did not stop")
    fives = {k: v for k, v in tally.answers.items() if k[2] and k[2] >= 500}
    if fives:
        found.append(f"5xx answers: {fives}")
    if tally.unexpected:
        found.append("answers other than the contract's: " + "; ".join(tally.unexpected))
    if tally.errors:
        found.append(f"client errors (resets, closed connections, WebSockets lost): {dict(tally.errors)}")
    return found


def requests(tally: Tally) -> int:
    return tally.total()
