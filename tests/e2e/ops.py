"""Helpers for the operations tests: fresh Envoys with a chosen plugin configuration,
the filter's Prometheus counters, and Envoy's log (the filter's lines and the access log).

Counts are asserted exactly, so each test module starts its own Envoys and no other
test's traffic can reach them.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from fixtures import shipped
from processes import ROOT, Envoy, render, wait_until

# The stdout access log is buffered and flushed every 10 s by default; a short interval
# lets a test wait for its lines without slowing down.
FAST_FLUSH = ["--file-flush-interval-msec", "20"]
TIMEOUT = 15.0


def shipped_plugin(role: str) -> dict:
    """The plugin configuration of a shipped role, as JSON."""
    config = render.load(ROOT / "envoy" / f"{role}.yaml")
    return json.loads(render.wasm_plugin(config)["configuration"]["value"])


def config(role: str, upstream, plugin: dict | None = None, raw: bool = False, normalized: bool = False) -> dict:
    """The shipped Envoy YAML of `role`, localized; optionally another plugin configuration,
    and Envoy's own path handling off (`raw`) or on (`normalized`, escaped slashes refused)."""
    result = shipped(role, upstream)
    if plugin is not None:
        result = render.with_plugin_configuration(result, json.dumps(plugin))
    if raw:
        result = render.without_normalization(result)
    if normalized:
        result = render.with_normalization(result)
    return result


@contextlib.contextmanager
def running(
    workdir: Path, name: str, envoy_config: dict, extra_args: list[str] = (), log_args: list[str] = ("--log-level", "info")
):
    """An Envoy for the duration of the block, stopped whatever happens in it."""
    envoy = Envoy(envoy_config, workdir / name, name, [*FAST_FLUSH, *extra_args], log_args)
    try:
        yield envoy
    finally:
        envoy.stop()


def port(envoy: Envoy) -> int:
    (only,) = envoy.ports.values()
    return only


# --- metrics ----------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def sample(name: str, **labels: str) -> tuple:
    """A key of `firewall_counters`: metric name and its labels, order-free."""
    return (name, tuple(sorted(labels.items())))


# The filter counts in the VM and adds to Envoy's counters once a second (its tick): a
# reading taken this long after the last request holds every one of them.
COUNTER_LAG = 1.3


def firewall_counters(envoy: Envoy) -> dict[tuple, int]:
    """Every `cobrowse_l7fw_*` counter sample of /stats/prometheus, once the counts have
    settled (the gauges, the configuration in force and the VM's memory, are left out)."""
    time.sleep(COUNTER_LAG)
    text = envoy.admin_get("/stats/prometheus")
    assert text is not None, "admin /stats/prometheus did not answer"
    counters = set(re.findall(r"^# TYPE (\S+) counter$", text, re.M))
    samples = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1).startswith("cobrowse_l7fw_") and match.group(1) in counters:
            labels = dict(_LABEL.findall(match.group(2) or ""))
            samples[sample(match.group(1), **labels)] = int(float(match.group(3)))
    return samples


def stat(envoy: Envoy, name: str, absent: int | None = None) -> int:
    """One of Envoy's own counters or gauges by its full name, e.g. listener_manager.lds.update_success;
    `absent` when Envoy has no such stat (yet), or an AssertionError when `absent` is None."""
    text = envoy.admin_get(f"/stats?filter=^{re.escape(name)}$") or ""
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    if absent is None:
        raise AssertionError(f"no stat {name!r} in {text!r}")
    return absent


# --- log lines --------------------------------------------------------------------------


@dataclass
class FilterLine:
    level: str  # Envoy's level name: info, warning, …
    text: str  # from "cobrowse-l7-firewall" on


_ENVOY_LINE = re.compile(r"^\[[^\]]+\]\[\d+\]\[(\w+)\]\[wasm\] ")
_PREFIX = "cobrowse-l7-firewall"


def filter_lines(lines: list[str]) -> list[FilterLine]:
    """The filter's own log lines among Envoy's (after Envoy's `wasm log <plugin> …:` prefix)."""
    found = []
    for line in lines:
        match = _ENVOY_LINE.match(line)
        if match and _PREFIX in line:
            found.append(FilterLine(match.group(1), line[line.index(_PREFIX) :]))
    return found


# The keys of the shipped JSON access log (envoy/*.yaml, `json_format`), one object per line.
ACCESS_KEYS = (
    "start_time",
    "listener",
    "method",
    "path",
    "original_path",
    "upgrade",
    "protocol",
    "response_code",
    "response_code_details",
    "decision",
    "duration_ms",
    "upstream_host",
)


@dataclass
class AccessLine:
    method: str
    path: str
    status: int
    decision: str  # "-" when the filter recorded none
    original: str  # "-" unless the filter rewrote the path
    upstream: str  # "-" when no upstream was reached
    record: dict  # the whole JSON object


def _text(value) -> str:
    """Envoy writes an unavailable value as null (older releases: "-")."""
    return "-" if value is None or value == "" else str(value)


def access_lines(lines: list[str]) -> list[AccessLine]:
    """The access-log objects among Envoy's output (its own log lines are not JSON)."""
    found = []
    for line in lines:
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if set(record) != set(ACCESS_KEYS):
            raise AssertionError(f"access-log line with other keys than the shipped format: {line}")
        found.append(
            AccessLine(
                _text(record["method"]),
                _text(record["path"]),
                int(record["response_code"]),
                _text(record["decision"]),
                _text(record["original_path"]),
                _text(record["upstream_host"]),
                record,
            )
        )
    return found


def unique(target: bytes) -> bytes:
    """`target` with a segment of its own before the query, so that its access line (which
    has no query) is told apart from any other request's, even one flushed late."""
    path, sep, query = target.partition(b"?")
    return path + b"/u" + uuid.uuid4().hex[:12].encode() + sep + query


def client_path(line: AccessLine) -> str:
    """The path the client sent: `original_path` on a rewrite, else `path` (never a query)."""
    return line.original if line.original != "-" else line.path


def wait_for_access(envoy: Envoy, mark: int, path: str | None, count: int = 1) -> list[AccessLine]:
    """The access-log lines written after `mark` for the path `path` (as the client sent it,
    without its query; None: any path), once there are `count`."""

    def ready():
        found = [a for a in access_lines(envoy.log_since(mark)) if path is None or client_path(a) == path]
        return found if len(found) >= count else None

    found = wait_until(ready, TIMEOUT, f"{count} access-log line(s) for {path!r}", envoy)
    assert len(found) == count, found
    return found


def wait_for_filter_line(envoy: Envoy, mark: int, text: str = "") -> FilterLine:
    """The first filter line after `mark` holding `text`, waited for."""

    def ready():
        return next((f for f in filter_lines(envoy.log_since(mark)) if text in f.text), None)

    return wait_until(ready, TIMEOUT, f"filter log line with {text!r}", envoy)


def escape_for_log(data: bytes, max_bytes: int) -> str:
    """How docs/operations.md says a request's bytes appear in a log line, written independently."""
    shown = data[:max_bytes]
    out = "".join(chr(b) if 0x20 <= b <= 0x7E and b not in b'\\"' else f"\\x{b:02x}" for b in shown)
    if len(data) > max_bytes:
        out += f"...(+{len(data) - max_bytes} bytes)"
    return out


# HTTP/1.1 WebSocket upgrade request headers.
UPGRADE = [
    (b"connection", b"upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
]
