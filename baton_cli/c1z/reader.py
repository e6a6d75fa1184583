"""Read-only access to a c1z file, v1 (SQLite) or v3 (Pebble).

Both become the same private SQLite work copy: a v1 file is decompressed into
it, a v3 file is streamed into it through the v3 reader. Every query of the v1
layer then serves either format unchanged.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType

from baton_cli.c1z.container import MAGIC_V3, DecodeLimits, decode_to_database, read_magic, require_readable
from baton_cli.c1z.open_cache import OPEN_CACHE
from baton_cli.c1z.store import SyncStore
from baton_cli.c1z.workdir import DB_NAME, connect, database_errors, make_workdir, remove_workdir


class C1ZReader(SyncStore):
    """A decompressed, migrated private copy of a c1z file; ``close()`` deletes the copy.

    ``format`` is "v1" or "v3": the file's own format (writing back is v1 only).
    """

    def __init__(self, path: Path, workdir: Path, conn: sqlite3.Connection, file_format: str = "v1") -> None:
        super().__init__(conn, path)
        self.path = path
        self.format = file_format
        self._workdir = workdir
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        tmp_dir: str | os.PathLike[str] | None = None,
        limits: DecodeLimits | None = None,
    ) -> C1ZReader:
        source = Path(path)
        workdir = make_workdir(None if tmp_dir is None else Path(tmp_dir))
        try:
            db_path = workdir / DB_NAME
            magic = read_magic(source)
            require_readable(source, magic)
            file_format = "v3" if magic == MAGIC_V3 else "v1"
            cache_key = OPEN_CACHE.key(source, limits)
            # Bytes opened before in this process have their work database ready in the cache.
            if cache_key is None or not OPEN_CACHE.restore(cache_key, db_path):
                decode_to_database(source, magic, db_path, limits)
            conn = connect(db_path, source)
        except BaseException:
            remove_workdir(workdir)
            raise
        try:
            with database_errors(source):
                conn.execute("PRAGMA query_only = 1")
        except BaseException:
            conn.close()
            remove_workdir(workdir)
            raise
        if cache_key is not None:
            # Migrated and committed: the copy is what a decode gives.
            OPEN_CACHE.offer(cache_key, db_path, first_open=file_format == "v3")
        return cls(source, workdir, conn, file_format)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._conn.close()
        remove_workdir(self._workdir)

    def __enter__(self) -> C1ZReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
