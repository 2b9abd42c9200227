"""The Envoy Gateway manifests under envoy-gateway/ are what an operator applies.

Every object is validated against Envoy Gateway's CRD schema of its kind (committed in
schemas/ with its provenance and digest), checked for the fields a firewall cannot get wrong
(fail closed, the root id, a pinned module), and its plugin configuration is run through
`l7fw check` and compared with the tested Envoy configs in envoy/.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

import pytest
import yaml
from test_istio_manifests import (  # noqa: F401 (l7fw is a fixture)
    REPO,
    ROLES,
    ROOT_ID,
    SCHEMAS,
    errors_against,
    l7fw,
    l7fw_check,
    string_value_json,
    wasm_configs_in,
)

GATEWAY = REPO / "envoy-gateway"
API_VERSION = "gateway.envoyproxy.io/v1alpha1"
SCHEMA_FILES = {
    "EnvoyExtensionPolicy": "envoygateway-envoyextensionpolicy-v1alpha1.json",
    "ClientTrafficPolicy": "envoygateway-clienttrafficpolicy-v1alpha1.json",
}
# The two ways Envoy Gateway takes the module: an OCI image, or an HTTP URL with its SHA-256.
CODE_TYPES = {"Image", "HTTP"}
SHA256 = re.compile(r"^[a-f0-9]{64}$")


def load() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(GATEWAY.glob("*.yaml")):
        for index, obj in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if obj is not None:
                found.append((f"{path.name}#{index}", obj))
    # The EnvoyProxy access-log fragment has no schema here: tests/envoy_gateway loads it
    # into a real Envoy Gateway, which applies it.
    found = [(name, obj) for name, obj in found if obj.get("kind") in SCHEMA_FILES]
    return found


OBJECTS = load()
POLICIES = [(name, obj) for name, obj in OBJECTS if obj.get("kind") == "EnvoyExtensionPolicy"]
IDS = [name for name, _ in OBJECTS]
POLICY_IDS = [name for name, _ in POLICIES]


def role(obj: dict) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


def the_wasm(obj: dict) -> dict:
    wasm = obj["spec"]["wasm"]
    assert len(wasm) == 1, f"expected one Wasm extension, found {len(wasm)}"
    return wasm[0]


def schema_errors(obj: dict) -> list[str]:
    return errors_against(SCHEMA_FILES[obj["kind"]], obj)


def test_each_role_has_a_policy_per_code_source_and_path_settings():
    for r in ROLES:
        types = sorted(the_wasm(obj)["code"]["type"] for _, obj in POLICIES if role(obj) == r)
        assert types == sorted(CODE_TYPES), f"{r}: code sources {types}"
        traffic = [obj for _, obj in OBJECTS if obj["kind"] == "ClientTrafficPolicy" and role(obj) == r]
        assert len(traffic) == 1, f"{r}: expected one ClientTrafficPolicy"


@pytest.mark.parametrize("name,obj", OBJECTS, ids=IDS)
def test_valid_against_envoy_gateway_schema(name: str, obj: dict):
    assert obj["apiVersion"] == API_VERSION
    assert obj["kind"] in SCHEMA_FILES, f"{name}: unexpected kind"
    assert schema_errors(obj) == []


def test_schema_rejects_a_misspelled_field_and_a_bad_enum():
    broken = copy.deepcopy(POLICIES[0][1])
    the_wasm(broken)["failOpn"] = the_wasm(broken).pop("failOpen")
    assert any("failOpn" in e for e in schema_errors(broken))
    broken = copy.deepcopy(POLICIES[0][1])
    the_wasm(broken)["code"]["type"] = "ConfigMapp"
    assert any(e.startswith("spec.wasm.0.code.type:") for e in schema_errors(broken))
    traffic = next(copy.deepcopy(obj) for _, obj in OBJECTS if obj["kind"] == "ClientTrafficPolicy")
    traffic["spec"]["path"]["escapedSlashesAction"] = "Keep"
    assert any(e.startswith("spec.path.escapedSlashesAction:") for e in schema_errors(traffic))


def test_committed_schemas_match_their_recorded_digests():
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    for name in SCHEMA_FILES.values():
        digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme, f"{name}: digest {digest} not recorded in schemas/README.md"


@pytest.mark.parametrize("name,obj", POLICIES, ids=POLICY_IDS)
def test_policy_fails_closed_on_a_gateway_with_a_pinnable_module(name: str, obj: dict):
    refs = obj["spec"]["targetRefs"]
    assert refs == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": f"cobrowse-{role(obj)}"}
    ]
    wasm = the_wasm(obj)
    assert wasm["rootID"] == ROOT_ID
    assert wasm["failOpen"] is False
    code = wasm["code"]
    # The schema's CEL rules (type names the one source that is set) cannot run here.
    assert set(code) - {"pullPolicy"} == {"type", code["type"].lower()}
    if code["type"] == "HTTP":
        assert code["http"]["url"].startswith("https://")
        # Envoy Gateway's documented pattern for it (a kubebuilder comment, not in the schema).
        assert SHA256.match(code["http"]["sha256"])
    else:
        assert "://" not in code["image"]["url"] and ":" in code["image"]["url"].rsplit("/", 1)[-1]
        assert code.get("pullPolicy") == "IfNotPresent"


@pytest.mark.parametrize("name,obj", [(n, o) for n, o in OBJECTS if o["kind"] == "ClientTrafficPolicy"])
def test_path_settings_keep_proxied_urls_intact(name: str, obj: dict):
    # Envoy Gateway always sets normalize_path; these two make it Istio's BASE.
    assert obj["spec"]["path"] == {"disableMergeSlashes": True, "escapedSlashesAction": "KeepUnchanged"}
    assert obj["spec"]["targetRefs"][0]["name"] == f"cobrowse-{role(obj)}"


@pytest.mark.parametrize("name,obj", POLICIES, ids=POLICY_IDS)
def test_plugin_config_passes_l7fw_check(l7fw: str, name: str, obj: dict):  # noqa: F811
    # Envoy Gateway hands the module `config` as the JSON the API server stores.
    result = l7fw_check(l7fw, json.dumps(the_wasm(obj)["config"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {role(obj)}:"), result.stdout


@pytest.mark.parametrize("name,obj", POLICIES, ids=POLICY_IDS)
def test_same_config_as_the_tested_envoy_yaml(name: str, obj: dict):
    envoy_yaml = REPO / "envoy" / f"{role(obj)}.yaml"
    configs = wasm_configs_in(yaml.safe_load(envoy_yaml.read_text(encoding="utf-8")))
    assert len(configs) == 1, f"{envoy_yaml}: expected one {ROOT_ID} wasm filter, found {len(configs)}"
    assert json.loads(json.dumps(the_wasm(obj)["config"])) == string_value_json(configs[0]["configuration"])
