"""A work directory that outlives the process, so an interrupted sync can resume.

``baton sync --out X`` keeps its work database in ``.X.baton-work/`` beside X (or
under ``--c1z-temp-dir``), commits it at every checkpoint, and removes it only
once X has been written. A kill, a crash or Ctrl-C leaves the directory; the
next run over the same X finds the unfinished sync in it and carries on.
A lock file keeps two runs from writing one work directory at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from baton_cli.c1z.workdir import DB_NAME
from baton_cli.errors import C1ZError, FailedPreconditionError, NotFoundError

LOCK_NAME = "lock"
# What the unfinished sync was started with (see core/sync_fingerprint.py), beside its database.
FINGERPRINT_NAME = "started-with.json"


def resumable_workdir(target: Path, tmp_dir: Path | None) -> Path:
    if tmp_dir is None:
        return target.parent / f".{target.name}.baton-work"
    if not tmp_dir.is_dir():
        raise NotFoundError(f"c1z temp directory does not exist: {tmp_dir}")
    # Several outputs may share one temp dir: name the work dir after the absolute target.
    digest = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:12]
    return tmp_dir / f"{target.name}-{digest}.baton-work"


def has_work(workdir: Path) -> bool:
    db = workdir / DB_NAME
    return db.exists() and db.stat().st_size > 0


def has_unfinished_sync(db_path: Path) -> bool:
    # Read with a fresh connection: a writer's own is closed once suspended.
    if not db_path.exists():
        return False
    probe = sqlite3.connect(db_path)
    try:
        row = probe.execute("SELECT count(*) FROM v1_sync_runs WHERE ended_at IS NULL").fetchone()
        return bool(row and row[0])
    except sqlite3.Error:
        return False
    finally:
        probe.close()


def saved_fingerprint(target: Path, tmp_dir: Path | None) -> dict[str, Any] | None:
    """How the unfinished sync saved for ``target`` was started; None when there is none to resume
    ({} when its work dir predates fingerprints or the record is unreadable)."""
    workdir = resumable_workdir(target, tmp_dir)
    if not has_work(workdir) or not has_unfinished_sync(workdir / DB_NAME):
        return None
    try:
        loaded = json.loads((workdir / FINGERPRINT_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_fingerprint(workdir: Path, fingerprint: Mapping[str, Any]) -> None:
    tmp = workdir / f"{FINGERPRINT_NAME}.tmp"
    try:
        tmp.write_text(json.dumps(fingerprint, indent=2, sort_keys=True))
        os.replace(tmp, workdir / FINGERPRINT_NAME)
    except OSError as exc:
        raise C1ZError(f"cannot record how the sync was started in {workdir}: {exc}") from None


def discard_work(workdir: Path) -> None:
    """Drop a saved unfinished sync (its database, WAL and record); the caller holds the lock."""
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", FINGERPRINT_NAME):
        with contextlib.suppress(FileNotFoundError):
            (workdir / name).unlink()


class WorkdirLock:
    """An exclusive, non-blocking lock on a work directory, released on close or process exit."""

    def __init__(self, workdir: Path, target: Path) -> None:
        try:
            workdir.mkdir(exist_ok=True)
            self._fd = os.open(workdir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise C1ZError(f"cannot create the work directory {workdir} for {target}: {exc}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise FailedPreconditionError(
                f"another baton process is writing {target} (work directory {workdir} is locked)"
            ) from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
