"""The README's shell blocks run as printed, in order, in one fresh folder, as a new user would.

Every ```sh block after the install commands (which CI itself runs) is executed with bash
(``set -euo pipefail``), so one failing command fails the test and names its block. Blocks
that need what a test cannot give (a platform emulator in the foreground, placeholders such
as ``ID``, a real LDAP server) are written as ```shell or ```bash and only shown.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.process import ROOT, baton_env

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def runnable_blocks(readme: str) -> list[str]:
    """The ```sh blocks after the first section heading, in order."""
    tour = readme.index("\n## ")
    return [body for lang, body in _FENCE.findall(readme[tour:]) if lang == "sh"]


def test_the_readme_has_runnable_blocks_for_the_tour_and_provisioning() -> None:
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    assert any("baton sync --plugin demo" in b for b in blocks)
    assert any("baton revoke" in b and "baton grant" in b for b in blocks)


BLOCK_TIMEOUT_SECONDS = 240


# Some forty `baton` processes in a row: on a loaded machine this outgrows the suite's 120 s per
# test while every block stays within its own bound below.
@pytest.mark.timeout(900)
def test_readme_shell_blocks_run_in_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = baton_env(
        {"HOME": str(home), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    )
    for name in [k for k in env if k.startswith("BATON_")]:
        del env[name]
    for number, block in enumerate(runnable_blocks((ROOT / "README.md").read_text()), start=1):
        # Own session: a block that hangs is killed with everything it started, never left running.
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _out, err = proc.communicate(timeout=BLOCK_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(f"README block {number} did not finish:\n{block}") from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        result = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
        assert result.returncode == 0, (
            f"README block {number} failed:\n{block}\n--- stderr:\n{result.stderr[-3000:]}"
        )
