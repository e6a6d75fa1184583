"""The stand-in connector executable and process checks for the child-process tests."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from baton_cli.emulator.server import EmulatorServer
from tests.cli.invoke import Invocation, baton_here

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


def run_child_daemon(
    emulator: EmulatorServer,
    tmp_path: Path,
    standin: Path,
    *runner_args: str,
    child_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Invocation:
    """`baton run --plugin exec:STANDIN RUNNER_ARGS -- CHILD_ARGS` in this process against the
    emulator until it is idle (the child is a real process); signals are tested on real `baton`s."""
    creds = emulator.mint_credentials("child-runner", replace=True)
    return baton_here(
        "run", "--plugin", f"exec:{standin}", "--client-id", creds.client_id,
        "--ca-file", str(emulator.ca_file), *runner_args, "--", *child_args,
        cwd=tmp_path, env={"BATON_CLIENT_SECRET": creds.client_secret, **(env or {})},
    )  # fmt: skip
