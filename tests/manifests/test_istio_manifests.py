"""The Istio manifests under istio/ are what an operator applies; these tests keep them honest.

Every object is validated against the published Istio CRD schema of its kind, checked for the
fields a firewall cannot get wrong (fail closed, phase, gateway selector, root id), and its
plugin configuration is run through `l7fw check` and compared with the tested Envoy configs in
envoy/, so the manifests cannot drift from what the end-to-end tests prove. Each EnvoyFilter
patch is also loaded, as written, into the pinned Envoy with the real module.

Schemas: tests/manifests/schemas, committed with their provenance and digests ($SCHEMAS_DIR
overrides it to try newer ones). Tools: $L7FW (else target/release/l7fw, built if missing),
$ENVOY and $WASM_PATH as for tests/e2e.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ISTIO = REPO / "istio"
ROOT_ID = "cobrowse_l7_firewall"
ROLES = ("external", "internal")
MODULE = "dist/cobrowse_l7_firewall.wasm"

# kind -> (apiVersion, schema file)
KINDS = {
    "WasmPlugin": ("extensions.istio.io/v1alpha1", "istio-wasmplugin-v1alpha1.json"),
    "EnvoyFilter": ("networking.istio.io/v1alpha3", "istio-envoyfilter-v1alpha3.json"),
}
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
STRING_TYPE = "type.googleapis.com/google.protobuf.StringValue"
HCM = "envoy.filters.network.http_connection_manager"
# Istio classes gateway listeners as CLIENT: SERVER alone would never attach to a gateway.
GATEWAY_MODES = (None, "UNDEFINED", "CLIENT", "CLIENT_AND_SERVER")


@dataclass(frozen=True)
class Manifest:
    path: Path
    index: int
    obj: dict

    @property
    def id(self) -> str:
        return f"{self.path.name}#{self.index}"

    @property
    def kind(self) -> str:
        return self.obj.get("kind", "")

    @property
    def role(self) -> str:
        """external or internal, from the file name (`*-external.yaml`)."""
        return self.path.stem.rsplit("-", 1)[-1]

    @property
    def spec(self) -> dict:
        return self.obj.get("spec") or {}


def load_manifests() -> list[Manifest]:
    found = []
    for path in sorted([*ISTIO.glob("*.yaml"), *ISTIO.glob("*.yml")]):
        for index, obj in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if obj is not None:
                found.append(Manifest(path, index, obj))
    return found


MANIFESTS = load_manifests()
WASMPLUGINS = [m for m in MANIFESTS if m.kind == "WasmPlugin"]
ENVOYFILTERS = [m for m in MANIFESTS if m.kind == "EnvoyFilter"]


def ids(items: list[Manifest]) -> list[str]:
    return [m.id for m in items]


SCHEMAS = Path(__file__).resolve().parent / "schemas"


def schemas_dir() -> Path:
    return Path(os.environ.get("SCHEMAS_DIR") or SCHEMAS)


def validator(schema_file: str) -> jsonschema.protocols.Validator:
    path = schemas_dir() / schema_file
    if not path.is_file():
        # Never a skip: without the schema nothing would be validated.
        pytest.fail(f"schema {path} not found (set SCHEMAS_DIR)")
    schema = json.loads(path.read_text(encoding="utf-8"))
    # The schema describes the whole object (spec and status; apiVersion, kind and metadata
    # sit beside). Validating `spec` alone against it would check nothing.
    assert "spec" in schema.get("properties", {}), f"{path}: expected a schema of the object, with spec"
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


def errors_against(schema_file: str, obj: dict) -> list[str]:
    """What the schema in `schema_file` finds wrong with `obj`, one line each."""
    errors = validator(schema_file).iter_errors(obj)
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def schema_errors(kind: str, obj: dict) -> list[str]:
    return errors_against(KINDS[kind][1], obj)


def plugin_config(m: Manifest) -> dict:
    """The plugin configuration a manifest hands to the module, as parsed JSON."""
    if m.kind == "WasmPlugin":
        config = m.spec["pluginConfig"]
        # Istio sends pluginConfig to the module as its JSON text.
        return json.loads(json.dumps(config))
    return string_value_json(wasm_config(m)["configuration"])


def string_value_json(configuration: dict) -> dict:
    assert configuration["@type"] == STRING_TYPE
    config = json.loads(configuration["value"])
    assert isinstance(config, dict)
    return config


def the_patch(m: Manifest) -> dict:
    patches = m.spec["configPatches"]
    assert len(patches) == 1, f"{m.id}: expected one patch, found {len(patches)}"
    return patches[0]


def wasm_config(m: Manifest) -> dict:
    typed = the_patch(m)["patch"]["value"]["typed_config"]
    assert typed["@type"] == WASM_TYPE
    return typed["config"]


def wasm_configs_in(tree) -> list[dict]:
    """Every proxy-wasm filter config (`Wasm.config`) of the firewall in an Envoy config tree."""
    found = []
    if isinstance(tree, dict):
        if tree.get("@type") == WASM_TYPE and tree.get("config", {}).get("root_id") == ROOT_ID:
            found.append(tree["config"])
        for value in tree.values():
            found += wasm_configs_in(value)
    elif isinstance(tree, list):
        for value in tree:
            found += wasm_configs_in(value)
    return found


def role_manifest(kind: str, role: str) -> Manifest:
    matches = [m for m in MANIFESTS if m.kind == kind and m.role == role]
    assert len(matches) == 1, f"expected one {kind} for role {role}, found {ids(matches)}"
    return matches[0]


# --- what ships --------------------------------------------------------------------------


def test_every_role_has_both_manifests():
    for kind in KINDS:
        for role in ROLES:
            role_manifest(kind, role)


@pytest.mark.parametrize("m", MANIFESTS, ids=ids(MANIFESTS))
def test_kind_api_version_and_role(m: Manifest):
    assert m.kind in KINDS, f"{m.id}: unexpected kind {m.kind!r}"
    assert m.obj["apiVersion"] == KINDS[m.kind][0]
    assert m.role in ROLES, f"{m.id}: file name should end in -external or -internal"
    metadata = m.obj["metadata"]
    assert metadata["name"] and metadata["namespace"]
    assert metadata["labels"]["app.kubernetes.io/component"] == m.role
    assert plugin_config(m).get("name") == m.role


# --- schema ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", MANIFESTS, ids=ids(MANIFESTS))
def test_valid_against_istio_schema(m: Manifest):
    assert schema_errors(m.kind, m.obj) == []


def test_schema_rejects_an_invalid_fail_strategy():
    broken = copy.deepcopy(role_manifest("WasmPlugin", "external").obj)
    broken["spec"]["failStrategy"] = "FAIL_SOMETIMES"
    errors = schema_errors("WasmPlugin", broken)
    assert any(e.startswith("spec.failStrategy:") for e in errors), errors


def test_schema_rejects_a_misspelled_field():
    broken = copy.deepcopy(role_manifest("WasmPlugin", "external").obj)
    broken["spec"]["failStrategyy"] = broken["spec"].pop("failStrategy")
    errors = schema_errors("WasmPlugin", broken)
    assert any("failStrategyy" in e for e in errors), errors
    broken = copy.deepcopy(role_manifest("EnvoyFilter", "external").obj)
    broken["spec"]["configPatches"][0]["match"]["listner"] = {}
    errors = schema_errors("EnvoyFilter", broken)
    assert any("listner" in e for e in errors), errors


def test_committed_schemas_match_their_recorded_digests():
    """schemas/README.md records where each file came from and its SHA-256."""
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    for _, name in KINDS.values():
        digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme, f"{name}: digest {digest} not recorded in schemas/README.md"


def test_schema_rejects_an_invalid_patch_operation():
    broken = copy.deepcopy(role_manifest("EnvoyFilter", "external").obj)
    broken["spec"]["configPatches"][0]["patch"]["operation"] = "INSERT_SOMEWHERE"
    errors = schema_errors("EnvoyFilter", broken)
    assert any(e.startswith("spec.configPatches.0.patch.operation:") for e in errors), errors


# --- fields that matter ------------------------------------------------------------------


@pytest.mark.parametrize("m", WASMPLUGINS, ids=ids(WASMPLUGINS))
def test_wasmplugin_fails_closed_on_the_gateway(m: Manifest):
    spec = m.spec
    assert spec["failStrategy"] == "FAIL_CLOSE"
    assert spec["phase"] == "AUTHN"
    assert spec["pluginName"] == ROOT_ID
    assert isinstance(spec.get("priority"), int)
    assert spec["imagePullPolicy"] in ("IfNotPresent", "Always")
    assert spec["url"].startswith("oci://")
    # The schema cannot check its CEL rule: a selector, and not also targetRef(s).
    assert spec["selector"]["matchLabels"]
    assert "targetRef" not in spec and "targetRefs" not in spec
    for match in spec.get("match", []):
        assert match.get("mode") in GATEWAY_MODES, f"{m.id}: mode {match.get('mode')} never matches a gateway"
    assert isinstance(spec["pluginConfig"], dict)


@pytest.mark.parametrize("m", ENVOYFILTERS, ids=ids(ENVOYFILTERS))
def test_envoyfilter_fails_closed_on_the_gateway(m: Manifest):
    assert m.spec["workloadSelector"]["labels"]
    patch = the_patch(m)
    assert patch["applyTo"] == "HTTP_FILTER"
    assert patch["match"]["context"] == "GATEWAY"
    assert patch["match"]["listener"]["filterChain"]["filter"]["name"] == HCM
    # First in the chain: before Istio's authn/authz filters and anything rewriting :path.
    assert patch["patch"]["operation"] == "INSERT_FIRST"
    config = wasm_config(m)
    assert config["root_id"] == ROOT_ID
    assert config.get("fail_open", False) is False
    assert config.get("failure_policy", "FAIL_CLOSED") != "FAIL_OPEN"
    vm = config["vm_config"]
    assert vm["runtime"] == "envoy.wasm.runtime.v8"
    assert Path(vm["code"]["local"]["filename"]).is_absolute()


def gateway(m: Manifest) -> dict:
    """The gateway pods' labels a manifest selects."""
    if m.kind == "WasmPlugin":
        return m.spec["selector"]["matchLabels"]
    return m.spec["workloadSelector"]["labels"]


def bound_ports(m: Manifest) -> set[int]:
    """The listener ports a manifest is limited to; empty means every listener of the gateway."""
    if m.kind == "WasmPlugin":
        return {p["number"] for match in m.spec.get("match", []) for p in match.get("ports", [])}
    port = the_patch(m)["match"]["listener"].get("portNumber")
    return {port} if port else set()


def test_each_role_has_its_own_gateway_or_ports():
    for role in ROLES:
        plugin, envoy_filter = role_manifest("WasmPlugin", role), role_manifest("EnvoyFilter", role)
        assert gateway(plugin) == gateway(envoy_filter)
        assert plugin.obj["metadata"]["namespace"] == envoy_filter.obj["metadata"]["namespace"]
    for kind in KINDS:
        external, internal = (role_manifest(kind, role) for role in ROLES)
        if gateway(external) == gateway(internal):
            # Both policies on one gateway would both run on a listener unless their ports differ.
            ports = bound_ports(external), bound_ports(internal)
            assert all(ports) and not ports[0] & ports[1], f"{kind}: one gateway, ports {ports}"


# --- the configuration itself ------------------------------------------------------------


@pytest.fixture(scope="session")
def l7fw() -> str:
    path = Path(os.environ.get("L7FW") or REPO / "target" / "release" / "l7fw")
    if not path.is_file():
        subprocess.run(["cargo", "build", "--release", "-p", "l7fw"], cwd=REPO, check=True)
    assert path.is_file(), f"{path} not built"
    return str(path)


def l7fw_check(l7fw: str, config_text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [l7fw, "check", "-"], input=config_text, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("m", MANIFESTS, ids=ids(MANIFESTS))
def test_plugin_config_passes_l7fw_check(l7fw: str, m: Manifest):
    result = l7fw_check(l7fw, json.dumps(plugin_config(m)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {m.role}:"), result.stdout


def test_l7fw_check_refuses_a_bad_config(l7fw: str):
    result = l7fw_check(l7fw, json.dumps({"name": "external", "groups": ["sdk"], "fallbak": "deny"}))
    assert result.returncode == 1
    assert "invalid configuration" in result.stderr and "fallbak" in result.stderr


@pytest.mark.parametrize("role", ROLES)
def test_same_config_as_the_tested_envoy_yaml(role: str):
    plugin = plugin_config(role_manifest("WasmPlugin", role))
    assert plugin_config(role_manifest("EnvoyFilter", role)) == plugin
    envoy_yaml = REPO / "envoy" / f"{role}.yaml"
    if not envoy_yaml.is_file():
        pytest.skip(f"{envoy_yaml} not found")
    configs = wasm_configs_in(yaml.safe_load(envoy_yaml.read_text(encoding="utf-8")))
    assert len(configs) == 1, f"{envoy_yaml}: expected one {ROOT_ID} wasm filter, found {len(configs)}"
    assert string_value_json(configs[0]["configuration"]) == plugin


# --- the EnvoyFilter patch in a real Envoy ------------------------------------------------


def envoy_with_filter(http_filter: dict, wasm_path: str) -> dict:
    """A minimal bootstrap whose one listener runs the patched filter, then the router."""
    http_filter = copy.deepcopy(http_filter)
    http_filter["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"] = wasm_path
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager",
        "stat_prefix": "manifest",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "any",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}],
                }
            ]
        },
        "http_filters": [
            http_filter,
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            },
        ],
    }
    listener = {
        "name": "manifest",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [{"filters": [{"name": HCM, "typed_config": hcm}]}],
    }
    return {"static_resources": {"listeners": [listener]}}


@pytest.fixture(scope="session")
def envoy_validate(tmp_path_factory):
    envoy = os.environ.get("ENVOY") or str(REPO / ".venv" / "bin" / "envoy")
    wasm = os.environ.get("WASM_PATH") or str(REPO / MODULE)
    if not os.path.isfile(envoy):
        pytest.fail(f"{envoy} not found: run `make venv` or set ENVOY")
    if not os.path.isfile(wasm):
        pytest.fail(f"{wasm} not found: run `make build` or set WASM_PATH")
    workdir = tmp_path_factory.mktemp("envoy-validate")

    def validate(http_filter: dict, name: str) -> subprocess.CompletedProcess:
        config = workdir / f"{name}.yaml"
        config.write_text(yaml.safe_dump(envoy_with_filter(http_filter, wasm)), encoding="utf-8")
        return subprocess.run(
            [envoy, "--mode", "validate", "-c", str(config), "--disable-hot-restart", "-l", "warn"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return validate


@pytest.mark.parametrize("m", ENVOYFILTERS, ids=ids(ENVOYFILTERS))
def test_envoyfilter_patch_loads_in_envoy(envoy_validate, m: Manifest):
    result = envoy_validate(the_patch(m)["patch"]["value"], m.path.stem)
    assert result.returncode == 0, result.stdout + result.stderr


def test_envoy_validation_refuses_a_bad_patch(envoy_validate):
    value = copy.deepcopy(the_patch(role_manifest("EnvoyFilter", "external"))["patch"]["value"])
    value["typed_config"]["config"]["configuration"]["value"] = '{"groups": ["no_such_group"]}'
    result = envoy_validate(value, "bad")
    assert result.returncode != 0
    assert "no_such_group" in result.stdout + result.stderr


# --- the image ---------------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and not line.startswith("#"))
    ]


def test_dockerfile_is_one_layer_holding_plugin_wasm():
    instructions = dockerfile_instructions(ISTIO / "Dockerfile")
    assert instructions[0] == ("FROM", "scratch")
    # Istio's compat image format: the last layer holds the module as plugin.wasm.
    layers = [(word, args) for word, args in instructions if word in ("COPY", "ADD", "RUN")]
    assert len(layers) == 1, layers
    word, args = layers[0]
    assert word == "COPY"
    assert args.split() == [MODULE, "./plugin.wasm"] or args.split() == [MODULE, "/plugin.wasm"]
    assert [w for w, _ in instructions].count("FROM") == 1
