"""How the `make run*` scripts stop: Ctrl-C, SIGTERM and SIGHUP end the run through its
cleanup, and any further signal while the cleanup runs is ignored, so that a second Ctrl-C or
a supervisor's repeated SIGTERM cannot cut it short and leave processes behind."""

from __future__ import annotations

import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(signum: int, _frame) -> None:
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(0)


def exit_on_signals() -> None:
    for sig in SIGNALS:
        signal.signal(sig, _stop)
