"""Repeated opens of the same c1z content in one process reuse its work database.

Opening a file decompresses and migrates it (v1) or imports its Pebble payload (v3) into a
private SQLite copy; a process that opens the same bytes again (an in-process test run, a
command reading one file several times) would redo all of it. The cache keeps a copy of the
finished work database, keyed by the file's content (SHA-256) and the decode limits, and each
later open copies that file instead. Never across processes: the copy lives in a work directory
this process owns (removed at exit, swept by the next process if this one is killed).

Only small files are cached (hashing and copying must stay far cheaper than a decode). A v1 file
is copied from its second open on, so a one-shot command pays nothing beyond the hash; a v3 file
from its first, as its import costs some fifty times the copy.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from baton_cli.c1z.container import DecodeLimits
from baton_cli.c1z.workdir import make_workdir, remove_workdir

# c1z files decode to some 20 (v1) to 60 (v3) times their size: larger ones would exceed the
# database cap anyway, and hashing them would only slow a one-shot command down.
MAX_SOURCE_BYTES = 8 * 1024 * 1024
MAX_DATABASE_BYTES = 128 * 1024 * 1024
MAX_ENTRIES = 6
_HASH_CHUNK = 1024 * 1024

CacheKey = tuple[str, DecodeLimits]


class OpenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[CacheKey] = set()
        self._entries: OrderedDict[CacheKey, Path] = OrderedDict()
        self._directory: Path | None = None
        self._pid = os.getpid()
        self._next = 0

    def key(self, source: Path, limits: DecodeLimits | None) -> CacheKey | None:
        """The content key of ``source``, or None when it is not worth caching."""
        if os.getpid() != self._pid:
            return None  # a forked child: the directory belongs to its parent
        try:
            with source.open("rb") as fh:
                if os.fstat(fh.fileno()).st_size > MAX_SOURCE_BYTES:
                    return None
                digest = hashlib.sha256()
                while chunk := fh.read(_HASH_CHUNK):
                    digest.update(chunk)
        except OSError:
            return None  # the open itself reports an unreadable file
        return digest.hexdigest(), limits or DecodeLimits.from_env()

    def restore(self, key: CacheKey, db_path: Path) -> bool:
        """Copy the cached work database of ``key`` to ``db_path``; False when there is none."""
        with self._lock:
            cached = self._entries.get(key)
            if cached is None:
                return False
            try:
                shutil.copyfile(cached, db_path)
            except OSError:
                del self._entries[key]
                db_path.unlink(missing_ok=True)
                return False
            self._entries.move_to_end(key)
            return True

    def offer(self, key: CacheKey, db_path: Path, *, first_open: bool = False) -> None:
        """Keep a copy of the finished work database ``db_path`` if ``key`` was opened before
        (or at once with ``first_open``)."""
        with self._lock:
            if key in self._entries:
                return
            if key not in self._seen and not first_open:
                self._seen.add(key)
                return
            try:
                if db_path.stat().st_size > MAX_DATABASE_BYTES:
                    return
                directory = self._own_directory()
                self._next += 1
                target = directory / f"db{self._next}"
                shutil.copyfile(db_path, target)
            except OSError:
                return  # a cache that cannot be filled only costs the next open its decode
            self._entries[key] = target
            while len(self._entries) > MAX_ENTRIES:
                _, oldest = self._entries.popitem(last=False)
                oldest.unlink(missing_ok=True)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._entries.clear()
            if self._directory is not None and os.getpid() == self._pid:
                remove_workdir(self._directory)
            self._directory = None

    @property
    def entries(self) -> int:
        return len(self._entries)

    def _own_directory(self) -> Path:
        if self._directory is None:
            self._directory = make_workdir(None)
            atexit.register(self.clear)
        return self._directory


OPEN_CACHE = OpenCache()
