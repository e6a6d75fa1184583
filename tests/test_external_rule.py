"""The rule of tests/external.py and tests/conftest.py: skip on a plain clone, fail in CI."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
from tests.external import fixture_path, require_program

def test_needs_a_fixture():
    fixture_path("no-such-fixture.c1z")

def test_needs_a_program():
    require_program("no-such-program-baton")

def test_plain():
    assert True
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("BATON_REQUIRE_EXTERNALS", raising=False)
    pytester.makepyfile(test_uses_externals=SUITE)
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    return pytester


def test_missing_externals_skip_with_the_variable_to_set(suite: pytest.Pytester) -> None:
    result = suite.runpytest_inprocess("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*no-such-fixture.c1z is missing (set BATON_FIXTURES_DIR*"])
    result.stdout.fnmatch_lines(["*program 'no-such-program-baton' is missing*"])


def test_missing_externals_fail_when_required(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_REQUIRE_EXTERNALS", "1")
    result = suite.runpytest_inprocess()
    result.assert_outcomes(passed=1, failed=2)


def test_any_skip_fails_when_required(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_REQUIRE_EXTERNALS", "1")
    pytester.makepyfile("import pytest\n\ndef test_skips():\n    pytest.skip('no reason')\n")
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*skipped while BATON_REQUIRE_EXTERNALS is set*no reason*"])
