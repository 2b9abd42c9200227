"""The shipped Envoy YAML and compose file, and what Envoy does with a bad plugin configuration."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess

import pytest
import yaml

import ops
import policy
from processes import ROOT, WASM_PATH, Envoy, render, require_file, run_envoy

ROLES = {
    "external": {"port": 10000, "admin": 9901, "groups": policy.EXTERNAL_GROUPS, "fallback": "deny"},
    "internal": {"port": 10001, "admin": 9902, "groups": policy.INTERNAL_GROUPS, "fallback": "spa"},
}
INVALID = "cobrowse-l7-firewall: invalid configuration:"


def shipped(role: str) -> dict:
    return render.load(ROOT / "envoy" / f"{role}.yaml")


@pytest.mark.parametrize("role", ROLES)
def test_shipped_yaml_validates_against_the_built_module(tmp_path, role):
    # Only the module path changes: /etc/envoy/… exists in the container, not here.
    config = render.dump(render.with_module(shipped(role), WASM_PATH), tmp_path / f"{role}.yaml")
    result = run_envoy(["--mode", "validate", "-c", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout + result.stderr


@pytest.mark.parametrize("role", ROLES)
def test_shipped_yaml_holds_the_contract(role):
    config = shipped(role)
    expected = ROLES[role]
    assert config["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": expected["admin"]}
    listener = render.listener(config)
    assert listener["name"] == role
    assert listener["address"]["socket_address"]["port_value"] == expected["port"]

    hcm = render.connection_manager(config)
    assert hcm["codec_type"] == "AUTO"
    # Paths arrive as sent: the filter refuses what normalization would change, and proxied
    # URLs below /proxy/1/ must not be rewritten.
    assert hcm["normalize_path"] is False
    assert hcm["merge_slashes"] is False
    assert hcm["path_with_escaped_slashes_action"] == "KEEP_UNCHANGED"
    assert hcm["upgrade_configs"] == [{"upgrade_type": "websocket"}]
    assert hcm["http2_protocol_options"]["allow_connect"] is True
    assert hcm["access_log"][0]["name"] == "envoy.access_loggers.stdout"
    log_format = hcm["access_log"][0]["typed_config"]["log_format"]["json_format"]
    # The keys `l7fw audit` and log pipelines read; tests/e2e/test_access_log.py checks the values.
    assert set(log_format) == set(ops.ACCESS_KEYS)
    assert log_format["listener"] == role
    tags = {t["tag_name"] for t in config["stats_config"]["stats_tags"]}
    assert tags == {
        "cobrowse_l7fw_listener",
        "cobrowse_l7fw_group",
        "cobrowse_l7fw_config",
        "cobrowse_l7_firewall_version",
        "cobrowse_l7_firewall_revision",
    }
    names = [f["name"] for f in hcm["http_filters"]]
    assert names == ["envoy.filters.http.wasm", "envoy.filters.http.router"]

    plugin = render.wasm_plugin(config)
    assert plugin["root_id"] == "cobrowse_l7_firewall"
    # Closed either way; FAIL_RELOAD also replaces a failed VM instead of a permanent 503.
    assert plugin["failure_policy"] == "FAIL_RELOAD"
    assert plugin["vm_config"]["runtime"] == "envoy.wasm.runtime.v8"
    assert plugin["vm_config"]["code"]["local"]["filename"] == "/etc/envoy/cobrowse_l7_firewall.wasm"
    assert plugin["configuration"]["@type"] == "type.googleapis.com/google.protobuf.StringValue"
    assert json.loads(plugin["configuration"]["value"]) == {
        "name": role,
        "groups": expected["groups"],
        "fallback": expected["fallback"],
        "mode": "enforce",
        "filter_state": False,
    }


def test_roles_differ_only_in_role_settings():
    """The two files must not drift apart: everything but names, ports and the policy is equal."""

    def strip_role(config: dict) -> dict:
        config = copy.deepcopy(config)
        del config["admin"]["address"]["socket_address"]["port_value"]
        listener = render.listener(config)
        del listener["name"], listener["address"]["socket_address"]["port_value"]
        del render.connection_manager(config)["stat_prefix"]
        del render.connection_manager(config)["access_log"][0]["typed_config"]["log_format"]["json_format"]["listener"]
        del render.wasm_plugin(config)["configuration"]["value"]
        return config

    assert strip_role(shipped("external")) == strip_role(shipped("internal"))


def test_docker_compose_runs_the_same_yaml_on_the_pinned_image():
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is not installed (Debian package docker-compose)"
    result = subprocess.run(
        [docker_compose, "-f", str(ROOT / "envoy" / "docker-compose.yaml"), "config"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    wasm = str(ROOT / "dist/cobrowse_l7_firewall.wasm")
    for role, expected in ROLES.items():
        service = services[f"envoy-{role}"]
        assert service["image"] == "envoyproxy/envoy:v1.40.0"
        assert f"/etc/envoy/{role}.yaml" in service["command"]
        assert f"{ROOT}/envoy/{role}.yaml:/etc/envoy/{role}.yaml:ro" in service["volumes"]
        assert f"{wasm}:/etc/envoy/cobrowse_l7_firewall.wasm:ro" in service["volumes"]
        assert any(str(expected["port"]) in str(p) for p in service["ports"])
    # The cluster name in the shipped YAML must resolve to the upstream service.
    assert "demo-upstream" in services
    endpoint = render.cluster(shipped("external"))["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["endpoint"]["address"]["socket_address"] == {"address": "demo-upstream", "port_value": 8080}


BAD_CONFIGURATIONS = {
    "unknown group": '{"groups": ["sdk", "admin_api"], "fallback": "deny"}',
    "unknown key": '{"groups": ["sdk"], "fallback": "deny", "fallbak": "spa"}',
    "empty": "",
    "bad json": '{"groups": ["sdk"], ',
    "no group": '{"groups": [], "fallback": "deny"}',
    "bad fallback": '{"groups": ["sdk"], "fallback": "allow"}',
    "bad mode": '{"groups": ["sdk"], "fallback": "deny", "mode": "audit"}',
    "relative prefix": '{"custom_groups": [{"name": "x", "prefixes": ["healthz"]}], "fallback": "deny"}',
    "dot-dot prefix": '{"custom_groups": [{"name": "x", "prefixes": ["/a/../b"]}], "fallback": "deny"}',
    "duplicate group": '{"groups": ["sdk"], "custom_groups": [{"name": "sdk", "prefixes": ["/x"]}], "fallback": "deny"}',
}


# Besides the above, what the serde reader refuses by key path, at each depth.
SAME_LINE = {
    **BAD_CONFIGURATIONS,
    "repeated nested key": '{"groups": ["sdk"], "log": {"level": "warn", "level": "off"}}',
    "array for an object": '{"groups": ["sdk"], "deny_response": [404, "x", "text/plain"]}',
    "wrong type deep": '{"custom_groups": [{"name": "x", "prefixes": ["/x", 3]}]}',
}
L7FW = os.environ.get("L7FW") or str(ROOT / "target/release/l7fw")


@pytest.mark.parametrize("text", SAME_LINE.values(), ids=SAME_LINE)
def test_envoy_logs_the_line_l7fw_check_prints(tmp_path, text):
    require_file(L7FW, "run `make tools` or set L7FW")
    check = subprocess.run([L7FW, "check", "-"], input=text, capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    line = check.stderr.strip()
    assert line.startswith(INVALID) and "\n" not in line, line
    config = render.dump(bad("external", text), tmp_path / "bad.yaml")
    result = run_envoy(["--mode", "validate", "-c", str(config)])
    assert result.returncode != 0
    assert line in result.stdout + result.stderr, f"{line}\n{result.stderr}"


def bad(role: str, text: str | None) -> dict:
    config = render.with_module(shipped(role), WASM_PATH)
    if text is None:
        config = copy.deepcopy(config)
        del render.wasm_plugin(config)["configuration"]
        return config
    return render.with_plugin_configuration(config, text)


@pytest.mark.parametrize("text", [*BAD_CONFIGURATIONS.values(), None], ids=[*BAD_CONFIGURATIONS, "missing"])
def test_bad_configuration_fails_validation_with_one_clear_line(tmp_path, text):
    config = render.dump(bad("external", text), tmp_path / "bad.yaml")
    result = run_envoy(["--mode", "validate", "-c", str(config)])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert INVALID in output


def test_bad_configuration_stops_a_real_start(tmp_path, upstream):
    config = render.localize(
        bad("internal", BAD_CONFIGURATIONS["unknown group"]),
        wasm_path=WASM_PATH,
        upstream=("127.0.0.1", upstream.port),
        listener_port=0,
        admin_port=0,
    )
    with pytest.raises(RuntimeError, match="process exited") as failure:
        envoy = Envoy(config, tmp_path, "bad")
        envoy.stop()  # reached only if Envoy came up: the test fails on pytest.raises
    assert INVALID in str(failure.value) or INVALID in (tmp_path / "bad.log").read_text(errors="replace")


def test_good_configuration_loads(tmp_path):
    """Control for the cases above: the same harness with a valid custom configuration passes."""
    text = json.dumps(
        {
            "name": "staging",
            "groups": ["sdk"],
            "custom_groups": [{"name": "health", "prefixes": ["/healthz"]}],
            "fallback": "deny",
            "mode": "dry_run",
        }
    )
    config = render.dump(
        render.with_plugin_configuration(render.with_module(shipped("external"), WASM_PATH), text),
        tmp_path / "good.yaml",
    )
    result = run_envoy(["--mode", "validate", "-c", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert INVALID not in result.stdout + result.stderr
