"""The stand-in connector executable and process checks for the child-process tests."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

STANDIN = Path(__file__).with_name("standin.py")
REPO_ROOT = Path(__file__).resolve().parents[2]


def write_standin(directory: Path, name: str = "baton-standin") -> Path:
    """An executable file, as a Go binary would be: ``exec`` keeps the pid of what we launched."""
    path = directory / name
    path.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="{REPO_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" "{STANDIN}" "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def baton_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``baton ARGS`` in this process: exit code, stdout, stderr.

    For commands whose own process adds nothing to what a test checks (the connector child is
    still a real process); signal and no-child-left tests run the real command instead.
    """
    from baton_cli.cli.app import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err
