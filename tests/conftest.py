"""Suite-wide rules. Under ``BATON_REQUIRE_EXTERNALS=1`` (CI) no test may end skipped."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from tests.bytecode_cache import keep_bytecode_outside_the_tree
from tests.external import REQUIRE_VARIABLE, externals_required

# Before any test module is imported (and rewritten), and before xdist starts its workers.
keep_bytecode_outside_the_tree(Path(__file__).resolve().parents[1])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and externals_required() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped while {REQUIRE_VARIABLE} is set, which CI forbids: {reason}"
