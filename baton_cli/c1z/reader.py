"""Read-only access to a v1 c1z file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType

from baton_cli.c1z.container import DecodeLimits, decompress_v1
from baton_cli.c1z.store import SyncStore
from baton_cli.c1z.workdir import DB_NAME, connect, database_errors, make_workdir, remove_workdir


class C1ZReader(SyncStore):
    """A decompressed, migrated private copy of a c1z file; ``close()`` deletes the copy."""

    def __init__(self, path: Path, workdir: Path, conn: sqlite3.Connection) -> None:
        super().__init__(conn, path)
        self.path = path
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
            decompress_v1(source, db_path, limits)
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
        return cls(source, workdir, conn)

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
