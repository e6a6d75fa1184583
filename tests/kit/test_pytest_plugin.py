"""The kit as an author uses it: a generated suite run by pytest, with the plugin from its entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from xml.etree import ElementTree

from tests.external import REPO_ROOT

AUTHOR_TESTS = """
from baton_cli.testing import connector_tests
from tests.kit.broken_connector import plugin

TestHealthy = connector_tests(plugin, config={"defect": "none"})
TestDuplicateIds = connector_tests(plugin, config={"defect": "duplicate-id"})
"""


def run_pytest(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    (tmp_path / "test_author.py").write_text(textwrap.dedent(AUTHOR_TESTS))
    report = tmp_path / "report.xml"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junit-xml={report}",
            "test_author.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outcomes = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}.{case.get('name')}"
        if case.find("failure") is not None:
            outcomes[name] = "failed"
        elif case.find("skipped") is not None:
            outcomes[name] = "skipped"
        else:
            outcomes[name] = "passed"
    return result, outcomes


def test_the_kit_is_registered_as_a_pytest_plugin() -> None:
    registered = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert registered.get("baton") == "baton_cli.testing.pytest_plugin", (
        "the pytest11 entry point is missing: reinstall with pip install -e '.[dev]'"
    )


def test_the_generated_suite_passes_a_healthy_connector_and_names_a_broken_ones_ids(tmp_path: Path) -> None:
    result, outcomes = run_pytest(tmp_path)
    healthy = {name: outcome for name, outcome in outcomes.items() if name.startswith("TestHealthy.")}
    assert len(healthy) == 16 and set(healthy.values()) == {"passed"}, healthy
    broken = {name: outcome for name, outcome in outcomes.items() if name.startswith("TestDuplicateIds.")}
    failed = sorted(name for name, outcome in broken.items() if outcome != "passed")
    # The listing repeats an id across pages; the real engine's sync into a c1z keeps one row, so
    # only the uniqueness check can tell.
    assert failed == ["TestDuplicateIds.test_resource_ids_are_unique"], broken
    assert result.returncode == 1
    # The report is the kit's message, not a traceback through the kit's internals.
    assert "test_resource_ids_are_unique: resource ids unique: 1 problem" in result.stdout
    assert "  - resource user:u2 is listed 2 times" in result.stdout
    assert "baton_cli/testing/kit.py" not in result.stdout
