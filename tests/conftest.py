"""Suite-wide rules. Under ``BATON_REQUIRE_EXTERNALS=1`` (CI) no test may end skipped."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.external import REQUIRE_VARIABLE, externals_required


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and externals_required() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped while {REQUIRE_VARIABLE} is set, which CI forbids: {reason}"
