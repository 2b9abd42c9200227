"""What every suite that runs Envoy shares: the check before the session, its work
directory, one demo upstream, Envoys stopped at its end, and the shipped YAML localized.

Each suite's conftest imports the fixtures it uses from here, so they are registered as its
own (tests/browser registers tests/e2e's conftest, which carries them along).
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from processes import ROOT, WASM_PATH, Envoy, Upstream, envoy_check, render


def check_envoy() -> str | None:
    """Stop at once, with one line naming the problem, on an Envoy that cannot run the module
    (e.g. one built without a Wasm runtime), instead of failing every test obscurely.
    Returns the Envoy's version."""
    ok, line, version = envoy_check()
    if not ok:
        raise pytest.UsageError(line)  # one line, exit status 4, before any test
    return version


@pytest.fixture(scope="session")
def workdir(tmp_path_factory, request):
    """One directory for the session, named after the suite (its pytest.ini's folder)."""
    return tmp_path_factory.mktemp(request.config.rootpath.name)


@pytest.fixture(scope="session")
def upstream(workdir):
    process = Upstream(workdir)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def start_envoy(workdir, upstream):
    """start_envoy(name, config) -> Envoy, stopped at the end of the session."""
    started: list[Envoy] = []

    def start(name: str, config: dict) -> Envoy:
        envoy = Envoy(config, workdir / name, name)
        started.append(envoy)
        return envoy

    yield start
    for envoy in started:
        envoy.stop()


def shipped(role: str, upstream: Upstream) -> dict:
    """The shipped Envoy YAML of `role` with the module, the upstream and ports (0) of this run."""
    return render.localize(
        render.load(ROOT / "envoy" / f"{role}.yaml"),
        wasm_path=WASM_PATH,
        upstream=("127.0.0.1", upstream.port),
        listener_port=0,
        admin_port=0,
    )


def load_image_fixtures() -> ModuleType:
    """tests/image/conftest.py, loaded under its own name: its registry and image fixtures and
    helpers, for the suites that push the module to a local registry."""
    spec = importlib.util.spec_from_file_location("image_fixtures", ROOT / "tests" / "image" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
