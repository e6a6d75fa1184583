"""Suite-wide rules. Under ``BATON_REQUIRE_EXTERNALS=1`` (CI) no test may end skipped.

Under xdist (``-n auto``) the known whole-product tests start first and tests are handed to the
workers one at a time, so the long ones run beside the many short ones instead of forming the
tail of the run.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from tests.bytecode_cache import keep_bytecode_outside_the_tree
from tests.external import REQUIRE_VARIABLE, externals_required

# Before any test module is imported (and rewritten), and before xdist starts its workers.
keep_bytecode_outside_the_tree(Path(__file__).resolve().parents[1])

# Tests (node-id prefixes) that take seconds each, longest first, from `--durations` in CI's
# output. A prefix that matches nothing (a subset run, a renamed test) is simply not moved.
SLOW_FIRST = (
    "tests/cli/test_readme_shell.py::test_readme_shell_blocks_run_in_order",
    "tests/docs/test_connector_guide.py",
    "tests/cli/test_fault_run.py",
    "tests/scaffold/test_new_connector.py::test_a_generated_connector_installs_passes_its_tests_and_syncs",
    "tests/kit/test_pytest_plugin.py::test_the_generated_suite_passes",
    "tests/child/test_credentials.py",
    "tests/child/test_services.py",
    "tests/child/test_cli.py",
    "tests/c1z/test_v3_fixtures.py",
    "tests/cli/test_inspect_v3.py::test_stats_of_the_larger_sample",
    "tests/cli/test_inspect_diff.py::test_expansion_fixtures_differ_by_the_expanded_grants",
    "tests/cli/test_inspect_output.py::test_grant_json_from_stored_bytes_matches_on_upstream_files",
    "tests/cli/test_daemon_signals.py::test_sigterm_drains",
    "tests/cli/test_inspect_fixtures.py",
)


def _rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(SLOW_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(SLOW_FIRST)


@pytest.hookimpl(trylast=True)  # after any plugin that shuffles: the slow ones still go first
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the rest keep their order


def pytest_configure(config: pytest.Config) -> None:
    # xdist's load scheduling would hand each worker a quarter of its share up front, all the
    # slow tests to the first worker; one at a time lets whichever worker is free take the next.
    if getattr(config.option, "maxschedchunk", "absent") is None:
        config.option.maxschedchunk = 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and externals_required() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped while {REQUIRE_VARIABLE} is set, which CI forbids: {reason}"
