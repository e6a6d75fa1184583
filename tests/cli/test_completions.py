from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton_cli.cli.app import app
from baton_cli.cli.completion_cmd import Shell, completion_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shell", list(Shell))
def test_committed_completion_script_is_current(shell: Shell) -> None:
    committed = ROOT / "completions" / f"baton.{shell.value}"
    assert committed.exists(), f"{committed} missing: run python scripts/gen_completions.py"
    assert committed.read_text() == completion_script(shell), (
        f"{committed.name} is stale: run python scripts/gen_completions.py"
    )


@pytest.mark.parametrize("shell", list(Shell))
def test_completion_command_prints_the_script(shell: Shell) -> None:
    result = CliRunner().invoke(app, ["completion", shell.value])
    assert result.exit_code == 0
    assert result.output == completion_script(shell)
    assert "_BATON_COMPLETE" in result.output


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:3]]
    install_and_run, run_tests = blocks
    assert "baton sync --plugin demo" in install_and_run
    assert run_tests in (ROOT / ".ci" / "run").read_text()
