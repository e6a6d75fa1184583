"""A full disk is RESOURCE_EXHAUSTED (8) naming the path, not INVALID_ARGUMENT (3).

The work directory is a real 1 MiB tmpfs, mounted for the test (the suite runs as root in CI, as
slapd's tests do); SQLite gets ENOSPC there exactly as on a full disk.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton_cli.c1z.workdir import database_errors
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.errors import C1ZError, ResourceExhaustedError, StatusCode
from tests.cli.daemon_support import emulator
from tests.cli.invoke import baton_here
from tests.external import externals_required

__all__ = ["emulator"]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        message = f"a 1 MiB tmpfs cannot be mounted here ({done.stderr.strip()}); run as root"
        if externals_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_sync_that_fills_the_disk_exits_8_naming_the_directory(tmp_path: Path, full_disk: Path) -> None:
    result = baton_here(
        "sync",
        "--plugin",
        "demo",
        "--out",
        str(tmp_path / "out.c1z"),
        "--c1z-temp-dir",
        str(full_disk),
        "--progress",
        "off",
        "--users",
        "20000",
        "--memberships",
        "20000",
        cwd=tmp_path,
    )
    assert result.returncode == int(StatusCode.RESOURCE_EXHAUSTED), result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("baton: error:")]
    assert "no space left in" in line and str(full_disk) in line and "Traceback" not in result.stderr


def test_a_daemon_sync_on_a_full_disk_fails_resource_exhausted(
    emulator: EmulatorServer, tmp_path: Path, full_disk: Path
) -> None:
    task_id = emulator.queue.enqueue(tb.sync_task())
    creds = emulator.mint_credentials("full-disk")
    result = baton_here(
        "run",
        "--plugin",
        "demo",
        "--client-id",
        creds.client_id,
        "--ca-file",
        str(emulator.ca_file),
        "--exit-when-idle",
        "--c1z-temp-dir",
        str(full_disk),
        "--users",
        "20000",
        "--memberships",
        "20000",
        cwd=tmp_path,
        env={"BATON_CLIENT_SECRET": creds.client_secret},
    )
    assert result.returncode == 0, result.stderr
    record = emulator.queue.get(task_id)
    assert (record.state, record.status_code) == ("failed", int(StatusCode.RESOURCE_EXHAUSTED)), record
    assert "no space left in" in record.status_message and str(full_disk) in record.status_message
    assert not record.non_retryable  # another runner, with room, may do it
    assert list(full_disk.iterdir()) == []  # the work area is gone


def test_sqlite_full_is_resource_exhausted_and_other_errors_are_not(tmp_path: Path) -> None:
    with (
        pytest.raises(ResourceExhaustedError, match=f"no space left in {tmp_path}"),
        database_errors(tmp_path / "x.c1z", tmp_path),
    ):
        raise sqlite3.OperationalError("database or disk is full")
    with pytest.raises(C1ZError) as info, database_errors(tmp_path / "x.c1z", tmp_path):
        raise sqlite3.DatabaseError("database disk image is malformed")
    assert info.value.code == StatusCode.INVALID_ARGUMENT
