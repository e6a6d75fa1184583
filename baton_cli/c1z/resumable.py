"""A work directory that outlives the process, so an interrupted sync can resume.

``baton sync --out X`` keeps its work database in ``.X.baton-work/`` beside X (or
under ``--c1z-temp-dir``), commits it at every checkpoint, and removes it only
once X has been written. A kill, a crash or Ctrl-C leaves the directory; the
next run over the same X finds the unfinished sync in it and carries on.
A lock file keeps two runs from writing one work directory at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from baton_cli.c1z.workdir import DB_NAME
from baton_cli.errors import C1ZError, FailedPreconditionError, NotFoundError

LOCK_NAME = "lock"


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
