"""istiod's translation of the shipped WasmPlugins and the agent's rewrite, checked field by
field against Istio's source (see istiod.py and agent.py for where each rule comes from)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import ROLES, TAG, image_fixtures, pointed_at, shipped_plugin

import agent
import istiod

MODULE = Path(image_fixtures.WASM_PATH)


@pytest.mark.parametrize("role", ROLES)
def test_extension_config_is_istiods(role, image):
    plugin = pointed_at(shipped_plugin(role), image)
    resource = istiod.extension_config(plugin, resource_version="7")
    name = (
        "extensions.istio.io/trafficextension/"
        f"istio-ingress.cobrowse-l7-firewall-{role}~istio-translated-wasmplugin"
    )
    assert resource["name"] == name
    config = resource["typed_config"]["config"]
    assert resource["typed_config"]["@type"] == istiod.WASM_TYPE
    assert config["root_id"] == "cobrowse_l7_firewall"
    # FAIL_CLOSE becomes failure_policy FAIL_CLOSED; fail_open is left unset (false).
    assert config["failure_policy"] == "FAIL_CLOSED" and "fail_open" not in config
    vm = config["vm_config"]
    assert vm["runtime"] == "envoy.wasm.runtime.v8"
    assert vm["code"] == {
        "remote": {
            "http_uri": {"uri": image["url"], "timeout": "30s", "cluster": "_"},
            "sha256": image["sha256"],
        }
    }
    assert vm["environment_variables"]["key_values"] == {
        "ISTIO_META_WASM_IMAGE_PULL_POLICY": "IfNotPresent",
        "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "7",
    }
    value = config["configuration"]["value"]
    assert config["configuration"]["@type"] == "type.googleapis.com/google.protobuf.StringValue"
    assert json.loads(value) == plugin["spec"]["pluginConfig"]
    # jsonpb's form: compact, keys sorted.
    assert value == json.dumps(plugin["spec"]["pluginConfig"], sort_keys=True, separators=(",", ":"))


def test_listener_filter_names_the_resource_over_discovery(image):
    plugins = [pointed_at(shipped_plugin(role), image) for role in ROLES]
    source = {"ads": {}}
    [first, second] = istiod.ordered_plugin_filters(plugins, source)
    assert first == {
        "name": istiod.resource_name(plugins[0]),
        "config_discovery": {"config_source": source, "type_urls": [istiod.WASM_TYPE, istiod.RBAC_TYPE]},
    }
    assert second["name"] == istiod.resource_name(plugins[1])


def test_phase_and_priority_place_the_firewall_first(image):
    """AUTHN runs before AUTHZ, STATS and unspecified plugins; within AUTHN, priority 1000
    runs before a plugin without one and after none but a higher priority."""
    firewall = pointed_at(shipped_plugin("external"), image)
    other = {"metadata": {"namespace": "istio-ingress", "name": "other"}, "spec": {}}
    plugins = [
        {
            **other,
            "metadata": {**other["metadata"], "name": "stats"},
            "spec": {"phase": "STATS", "priority": 5000},
        },
        {**other, "metadata": {**other["metadata"], "name": "authz"}, "spec": {"phase": "AUTHZ"}},
        {**other, "metadata": {**other["metadata"], "name": "authn-low"}, "spec": {"phase": "AUTHN"}},
        firewall,
        {
            **other,
            "metadata": {**other["metadata"], "name": "authn-high"},
            "spec": {"phase": "AUTHN", "priority": 2000},
        },
        {**other, "metadata": {**other["metadata"], "name": "none"}, "spec": {"priority": 9000}},
    ]
    names = [f["name"].split("/")[-1].split("~")[0] for f in istiod.ordered_plugin_filters(plugins, {})]
    assert names == [
        "istio-ingress.authn-high",
        "istio-ingress.cobrowse-l7-firewall-external",
        "istio-ingress.authn-low",
        "istio-ingress.authz",
        "istio-ingress.stats",
        "istio-ingress.none",
    ]


def test_base_normalization_is_normalize_path_only():
    assert istiod.path_settings("BASE") == {
        "normalize_path": True,
        "merge_slashes": False,
        "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
    }
    assert istiod.path_settings("NONE")["normalize_path"] is False
    assert (
        istiod.path_settings("DECODE_AND_MERGE_SLASHES")["path_with_escaped_slashes_action"]
        == "UNESCAPE_AND_FORWARD"
    )


@pytest.mark.parametrize(
    "value,expected",
    [
        (403, "403"),
        (418.0, "418"),
        (1.5, "1.5"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (2**53 + 1, "9007199254740992"),
        ("<b>&", '"\\u003cb\\u003e\\u0026"'),
        ("café", '"café"'),
        (None, "null"),
        (True, "true"),
        ({"b": 1, "a": [2, None]}, '{"a":[2,null],"b":1}'),
    ],
)
def test_jsonpb_form_of_struct_values(value, expected):
    """Go's encoding/json forms, which the legacy jsonpb marshaller uses for Struct values."""
    assert istiod.jsonpb(istiod.as_struct(value)) == expected


# --- the agent ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converted(image, tmp_path_factory):
    cache = tmp_path_factory.mktemp("agent-cache")
    plugin = pointed_at(shipped_plugin("external"), image)
    resource, error = agent.convert(istiod.extension_config(plugin), cache)
    assert error is None, error
    return resource, cache


def test_agent_pulls_checks_and_rewrites_to_a_local_file(converted, image):
    resource, cache = converted
    vm = resource["typed_config"]["config"]["vm_config"]
    path = Path(vm["code"]["local"]["filename"])
    assert path.read_bytes() == MODULE.read_bytes()
    # <cache>/<sha256("oci://registry/repository")>/<manifest digest>.wasm
    repository = image["url"].removeprefix("oci://").rsplit(":", 1)[0]
    assert (
        path == cache / hashlib.sha256(f"oci://{repository}".encode()).hexdigest() / f"{image['sha256']}.wasm"
    )
    # The ISTIO_META_* variables were for the agent: none is left, so neither is the block.
    assert "environment_variables" not in vm
    assert resource["typed_config"]["config"]["failure_policy"] == "FAIL_CLOSED"


def test_agent_pulls_by_digest_in_the_url_without_sha256(image, tmp_path):
    plugin = pointed_at(shipped_plugin("internal"), image)
    plugin["spec"]["url"] = image["url"].rsplit(":", 1)[0] + "@sha256:" + image["sha256"]
    del plugin["spec"]["sha256"]
    resource, error = agent.convert(istiod.extension_config(plugin), tmp_path)
    assert error is None, error
    assert (
        Path(resource["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"]).name
        == f"{image['sha256']}.wasm"
    )


@pytest.mark.parametrize("change", ["wrong digest", "missing tag", "no registry"])
def test_agent_fails_closed_with_a_deny_all_filter(image, tmp_path, change):
    plugin = pointed_at(shipped_plugin("external"), image)
    if change == "wrong digest":
        plugin["spec"]["sha256"] = "0" * 64
    elif change == "missing tag":
        plugin["spec"]["url"] = image["url"].replace(f":{TAG}", ":no-such-tag")
    else:
        plugin["spec"]["url"] = "oci://127.0.0.1:1/cobrowse-l7-firewall:0.1.0"
    resource, error = agent.convert(istiod.extension_config(plugin), tmp_path)
    assert error
    if change == "wrong digest":
        assert "does not match" in error
    assert resource == {
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": istiod.resource_name(plugin),
        "typed_config": {"@type": istiod.RBAC_TYPE, "rules": {}, "rules_stat_prefix": "wasm-default-deny"},
    }
