"""The TLS and HTTP/3 renderings of both shipped files load in Envoy (`--mode validate`)."""

from __future__ import annotations

import pytest

from processes import ROOT, WASM_PATH, render, run_envoy


@pytest.mark.parametrize("http3", [False, True], ids=["tls", "tls+http3"])
@pytest.mark.parametrize("role", ["external", "internal"])
def test_tls_and_http3_renderings_validate(tmp_path, tls_files, role, http3):
    config = render.with_tls(render.with_module(render.load(ROOT / "envoy" / f"{role}.yaml"), WASM_PATH), *tls_files)
    if http3:
        config = render.with_http3(config)
        quic = render.quic_listener(config)
        assert quic["address"]["socket_address"]["protocol"] == "UDP"
        assert quic["address"]["socket_address"]["port_value"] == render.listener(config)["address"]["socket_address"]["port_value"]
    result = run_envoy(["--mode", "validate", "-c", str(render.dump(config, tmp_path / "envoy.yaml"))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_http3_needs_tls():
    config = render.load(ROOT / "envoy" / "external.yaml")
    with pytest.raises(ValueError, match="needs TLS"):
        render.with_http3(config)
