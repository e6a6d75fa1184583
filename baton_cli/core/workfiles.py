"""The daemon's work area: one directory per running process, removed at exit and after a crash.

Sync tasks write their c1z and its work database under ``<temp-dir>/baton-run.<pid>.<random>/``.
The owning process holds an exclusive ``flock`` on ``lock`` inside it for its whole life, so
at start-up a daemon can tell a dead daemon's leftovers (the lock can be taken) from a live
one's (it cannot) without trusting pids, which get reused. Only directories with our prefix
and a lock file are touched: a crash loop cannot fill the disk, and nothing else in a shared
temp dir is at risk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from baton_cli.errors import NotFoundError

PREFIX = "baton-run."
LOCK_NAME = "lock"


def temp_root(configured: Path | None, env: Mapping[str, str]) -> Path:
    """``--c1z-temp-dir``, else ``BATON_TMPDIR``, else the OS temp dir (runner.md §6 step 1)."""
    if configured is not None:
        if not configured.is_dir():
            raise NotFoundError(f"--c1z-temp-dir {str(configured)!r} is not a directory")
        return configured
    if env.get("BATON_TMPDIR"):
        return Path(env["BATON_TMPDIR"])
    return Path(tempfile.gettempdir())


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive lock on ``path``, or None when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale(root: Path) -> list[Path]:
    """Delete the work directories of daemons that are no longer running; return them."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        candidates = sorted(p for p in root.iterdir() if p.name.startswith(PREFIX) and p.is_dir())
        for directory in candidates:
            lock = directory / LOCK_NAME
            if not lock.is_file():
                continue  # not one of ours (or not yet set up): leave it
            fd = _try_lock(lock)
            if fd is None:
                continue  # its daemon is alive
            try:
                shutil.rmtree(directory, ignore_errors=True)
            finally:
                os.close(fd)
            removed.append(directory)
    return removed


class WorkArea:
    """This process's work directory; ``close()`` removes it."""

    def __init__(self, root: Path) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.", dir=root))
        lock = self.path / LOCK_NAME
        lock.touch()
        fd = _try_lock(lock)
        if fd is None:  # pragma: no cover - a directory we just created cannot be locked by others
            raise OSError(f"cannot lock {lock}")
        self._fd = fd

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> WorkArea:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
