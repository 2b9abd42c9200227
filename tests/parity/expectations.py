"""The committed table of what Envoy does before the filter: for each row and protocol on
which Envoy (a codec, or its path normalization) answered instead of the filter, how.

expectations/<Envoy version>.tsv holds one line per (protocol, row): the outcome on each
of the four listeners, collapsed when they agree. The suite fails on any line that differs
from what the running Envoy did, added or missing, so a new Envoy's change shows up in
`make test` (the pinned version) and `make test-matrix` (every supported one); a version
without a table fails in one line. `PARITY_RECORD=1` writes the running version's table
from a run instead.
"""

from __future__ import annotations

from pathlib import Path

TABLES = Path(__file__).with_name("expectations")
# Both roles, Envoy's normalization off (as shipped) and on: the table's column order.
LISTENERS = ["external", "internal", "external_norm", "internal_norm"]


def table(version: str) -> Path:
    return TABLES / f"{version}.tsv"
HEADER = """\
# What Envoy {version} does before the filter, per protocol and row (tests/parity/expectations.py).
# protocol <TAB> outcome per listener <TAB> row (method, target as sent: bytes other than
# printable ASCII as \\xNN). Outcomes: `envoy N`, Envoy answered N itself; `reset 0xN`, the
# stream was reset with that error code; `closed ...`, the connection was closed without
# an answer (HTTP/3: the QUIC error code and reason); `filter`, the filter decided.
# One outcome stands for all four listeners (both roles, Envoy's normalization off as
# shipped and on); `off: X; on: Y` when both roles agree but normalization matters;
# otherwise `listener=outcome` pairs, comma-separated.
"""

Observed = dict[tuple[str, str], dict[str, str]]  # (protocol, row key) -> listener -> outcome


def render(observed: Observed, listeners: list[str]) -> list[str]:
    lines = []
    for (proto, key), by_listener in sorted(observed.items()):
        values = [by_listener.get(name, "filter") for name in listeners]
        if all(v == "filter" for v in values):
            continue
        off, on = by_role(listeners, values, normalized=False), by_role(listeners, values, normalized=True)
        if len(set(values)) == 1:
            shown = values[0]
        elif off is not None and on is not None:
            shown = f"off: {off}; on: {on}"
        else:
            shown = ", ".join(f"{name}={value}" for name, value in zip(listeners, values))
        lines.append(f"{proto}\t{shown}\t{key}")
    return lines


def by_role(listeners: list[str], values: list[str], normalized: bool) -> str | None:
    """The one outcome both roles got with Envoy's normalization on (or off), if they agree."""
    same = {v for name, v in zip(listeners, values) if name.endswith("_norm") == normalized}
    return same.pop() if len(same) == 1 else None


def load(version: str) -> list[str] | None:
    if not table(version).exists():
        return None
    return [line for line in table(version).read_text().splitlines() if line and not line.startswith("#")]


def write(version: str, lines: list[str]) -> None:
    TABLES.mkdir(exist_ok=True)
    table(version).write_text(HEADER.format(version=version) + "".join(line + "\n" for line in lines))
