"""Answers that depend on the Envoy version (tests/e2e/envoy_versions.py), checked exactly for
the Envoy under test; `make test-matrix` runs this against every supported version."""

from __future__ import annotations

import pytest

from clients import exchange, target_of
from envoy_versions import ANSWERS, SUPPORTED_SINCE, expected

CASES = [(listener, target) for listener, rows in ANSWERS.items() for target in rows]


def test_envoy_is_a_supported_version(envoy_version):
    assert envoy_version[:2] >= SUPPORTED_SINCE, f"Envoy {envoy_version} is older than the oldest supported"


@pytest.mark.parametrize("name,target", CASES, ids=[f"{n}:{t.decode()}" for n, t in CASES])
def test_version_dependent_answer(request, upstream, envoy_version, proto, name, target):
    listener = request.getfixturevalue(name)
    response, received = exchange(upstream, listener.port, proto, "GET", target)
    got = (response.status, tuple(target_of(e).decode("latin-1") for e in received))
    assert got == expected(ANSWERS[name][target], envoy_version)


def test_expected_picks_the_latest_behaviour_begun():
    answers = {(1, 36): (400, ()), (1, 39): (403, ())}
    assert expected(answers, (1, 38, 2)) == (400, ())
    assert expected(answers, (1, 39, 0)) == (403, ())
    assert expected(answers, (1, 40, 0)) == (403, ())
    with pytest.raises(AssertionError):
        expected(answers, (1, 35, 9))
