"""Running the real `baton` command in a child process, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def baton_env(extra: dict[str, str] | None = None, *, pythonpath: tuple[Path, ...] = ()) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (*pythonpath, ROOT)), **(extra or {})}
    env.pop("BATON_FILE", None)  # a developer's own setting must not leak into tests
    return env


def baton(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    pythonpath: tuple[Path, ...] = (),
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton_cli", *args],
        cwd=cwd,
        env=baton_env(env, pythonpath=pythonpath),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
