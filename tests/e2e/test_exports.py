"""The shipped module exports exactly the set in src/host/exports.list, and nothing the
host would enter the VM for without need (response, body, trailer, log and done callbacks)."""

import subprocess

from processes import ROOT, WASM_PATH

TRIM_EXPORTS = ROOT / "target" / "release" / "trim-exports"


def listed() -> set[str]:
    text = (ROOT / "src" / "host" / "exports.list").read_text()
    return {line.split("#")[0].split()[0] for line in text.splitlines() if line.split("#")[0].split()}


def exported(path) -> set[str]:
    out = subprocess.run([str(TRIM_EXPORTS), "--list", str(path)], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_shipped_module_exports_exactly_the_list():
    assert exported(WASM_PATH) == listed()


def test_per_stream_callbacks_the_decision_does_not_need_are_gone():
    names = exported(WASM_PATH)
    assert "proxy_on_request_headers" in names and "proxy_on_delete" in names
    for unused in ("proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers",
                   "proxy_on_request_body", "proxy_on_request_trailers", "proxy_on_log", "proxy_on_done"):
        assert unused not in names, unused


def test_cargo_output_is_left_untouched():
    # The SDK exports every callback; only the shipped copy is trimmed.
    raw = ROOT / "target" / "wasm32-wasip1" / "release" / "cobrowse_l7_firewall.wasm"
    assert "proxy_on_response_headers" in exported(raw)
