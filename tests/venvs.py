"""A throwaway virtual environment that sees this checkout's baton_cli, for tests that `pip install`.

Installing into the test run's own environment would change it for every later test; a fresh
venv with baton_cli and its dependencies reachable (no package index needed) keeps it apart.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

TIMEOUT = 300


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def venv_with_this_baton_cli(path: Path) -> Path:
    """A venv whose ``bin/`` has python, pip and baton, seeing this environment's packages.

    It has no pip or setuptools of its own (Python 3.11 would bundle an old setuptools that
    shadows ours): this environment's, seen through a .pth file, install into it.
    """
    run(sys.executable, "-m", "venv", "--without-pip", str(path), cwd=path.parent)
    python = path / "bin" / "python"
    site = run(
        str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=path.parent
    )
    # addsitedir (not a plain path line) so the editable install's own .pth files are honoured too.
    ours = sysconfig.get_paths()["purelib"]
    (Path(site.stdout.strip()) / "baton_cli_under_test.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n"
    )
    for tool, module in (("baton", "baton_cli"), ("pip", "pip")):
        script = path / "bin" / tool
        script.write_text(f'#!/bin/sh\nexec "{python}" -m {module} "$@"\n')
        script.chmod(0o755)
    return python
