"""The private temp directory holding a decompressed c1z database while it is in use.

Both reader and writer work on a copy (``<tmp>/c1z<random>/db``, as upstream),
so migrations and writes never touch the original file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from baton_cli.c1z.schema import ensure_schema
from baton_cli.errors import C1ZError, NotFoundError, ResourceExhaustedError

DB_NAME = "db"

# Memory, not speed, bounds these pragmas (bench/README.md, "bench_sync.py"). The page cache is
# most of a sync's memory beyond the interpreter: loads append to the b-trees' right edges and
# grant expansion reads by index, so 16 MiB serves both and misses are cheap reads from the OS
# cache. Temp storage goes to files because SQLite's sorter (index builds) and VACUUM spill
# whole-table copies into it; temp_store=MEMORY kept those in RAM (+73 MB at 1M grants).
# Temp files land in SQLite's temp directory (SQLITE_TMPDIR, TMPDIR or /var/tmp), as upstream's.
_CACHE_KIB = 16384
_CACHE_SIZE = f"PRAGMA cache_size = -{_CACHE_KIB}"
_TEMP_STORE = "PRAGMA temp_store = FILE"
# SQLite's sorter takes as much memory again as the page cache allows before it spills to temp
# files, so an index build held 16 MiB of cache and up to 16 MiB of sort runs at once: the peak
# of a sync with grant expansion (92 MB of 10k users / 100k memberships / 3 roles). With 4 MiB
# during index builds the peak is 79 MB and the builds take no longer (merging runs from the OS
# cache is cheap).
_INDEX_BUILD_CACHE_KIB = 4096

# The work DB is private and only becomes a c1z by being compressed and renamed into place
# after a clean close, so crash-safety pragmas would buy nothing but time. A rollback journal
# keeps the final file in the legacy, non-WAL format upstream expects; it is on disk because
# an in-memory one holds the original of every page a transaction changes (all of them for
# VACUUM, most for grant expansion of an existing file).
_PRAGMAS = (
    "PRAGMA page_size = 4096",
    "PRAGMA locking_mode = EXCLUSIVE",
    "PRAGMA journal_mode = TRUNCATE",
    "PRAGMA synchronous = OFF",
    _TEMP_STORE,
    _CACHE_SIZE,
)


# A work directory holds a decompressed database (up to the 10 GiB decoder cap), so one left by
# a killed process is worth finding. Its owner holds an exclusive flock on this file for the
# directory's whole life; the next process that makes a work directory beside it removes the
# directories whose lock is free. Directories without the file (upstream's, or not ours) are
# never touched.
OWNER_LOCK = ".baton-owner"
_PREFIX = "c1z"
_held: dict[Path, int] = {}
_held_guard = threading.Lock()


def make_workdir(tmp_dir: str | Path | None) -> Path:
    if tmp_dir is not None and not Path(tmp_dir).is_dir():
        raise NotFoundError(f"c1z temp directory does not exist: {tmp_dir}")
    try:
        directory = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=tmp_dir))
        _take_ownership(directory)
    except OSError as exc:
        raise C1ZError(
            f"cannot create a c1z work directory in {tmp_dir or tempfile.gettempdir()}: {exc}"
        ) from None
    remove_abandoned_workdirs(directory.parent)
    return directory


def remove_workdir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    with _held_guard:
        fd = _held.pop(directory, None)
    if fd is not None:
        os.close(fd)


def remove_abandoned_workdirs(root: Path) -> list[Path]:
    """Delete work directories in ``root`` whose owning process is gone; returns them."""
    removed: list[Path] = []
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(_PREFIX)]
    except OSError:
        return removed
    for directory in candidates:
        lock = directory / OWNER_LOCK
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue  # not ours, or already gone
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # its owner is alive
        try:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
        finally:
            os.close(fd)
    return removed


def _take_ownership(directory: Path) -> None:
    # Locked under a temporary name first: a sweeper only looks at the final name, so it can
    # never see the file in the instant between its creation and its lock.
    staging = directory / f"{OWNER_LOCK}.new"
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(staging, directory / OWNER_LOCK)
    except BaseException:
        os.close(fd)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    with _held_guard:
        _held[directory] = fd


# errno values that mean "no room": no space, a quota, or a file size limit.
NO_ROOM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def disk_full(label: Path, where: Path | None, cause: object) -> ResourceExhaustedError:
    """One line naming the c1z and the directory that ran out of room."""
    place = f" in {where}" if where is not None else ""
    return ResourceExhaustedError(f"c1z file {label}: no space left{place} ({cause})")


def is_no_room(exc: OSError) -> bool:
    return exc.errno in NO_ROOM_ERRNOS


@contextmanager
def database_errors(label: Path, where: Path | None = None) -> Iterator[None]:
    """Turn SQLite failures into one-line errors naming the file: a full disk (``where`` is the
    work directory) is RESOURCE_EXHAUSTED, anything else (corrupt pages...) a C1ZError."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
            raise disk_full(label, where, exc) from exc
        raise C1ZError(f"c1z file {label}: database error: {exc}") from exc


# A resumable work DB must survive the process being killed between checkpoints: WAL keeps
# committed checkpoints intact whatever happens to the open transaction. synchronous=OFF still
# survives a killed process (the OS has the writes); only a machine crash could lose them.
_DURABLE_PRAGMAS = (
    "PRAGMA page_size = 4096",
    "PRAGMA locking_mode = EXCLUSIVE",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = OFF",
    _TEMP_STORE,
    _CACHE_SIZE,
)


@contextmanager
def index_build_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """A smaller page cache (and so a smaller sorter) while indexes are built."""
    conn.execute(f"PRAGMA cache_size = -{_INDEX_BUILD_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(_CACHE_SIZE)


def connect(
    db_path: Path, label: Path, *, defer_grant_indexes: bool = False, durable: bool = False
) -> sqlite3.Connection:
    """Open the work DB with our pragmas and bring its schema up to date."""
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    try:
        with database_errors(label):
            for pragma in _DURABLE_PRAGMAS if durable else _PRAGMAS:
                conn.execute(pragma)
            conn.execute("BEGIN")
            ensure_schema(conn, defer_grant_indexes=defer_grant_indexes)
            conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn
