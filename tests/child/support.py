"""The stand-in connector executable and process checks for the child-process tests."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

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
