"""A c1z file opened to expand one of its syncs in place (``baton expand -f FILE``).

A stop-gap beside ``C1ZWriter``, which cannot yet resume an existing sync or
lend its connection: this opens the same private work copy (decompressed and
migrated, GrantExpandable backfilled), hands out an expansion store for a
chosen sync, can end that sync, and saves the file back atomically.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType

from baton_cli.c1z.container import DecodeLimits, decompress_v1, write_v1
from baton_cli.c1z.expansion_store import SqliteExpansionStore
from baton_cli.c1z.runs import SyncRun
from baton_cli.c1z.stats import compute_stats, stats_json
from baton_cli.c1z.store import SyncStore
from baton_cli.c1z.timefmt import now_text
from baton_cli.c1z.workdir import DB_NAME, connect, database_errors, make_workdir, remove_workdir
from baton_cli.errors import C1ZError, FailedPreconditionError


class ExpansionFile:
    def __init__(self, path: Path, workdir: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._workdir = workdir
        self._conn = conn
        self._runs = SyncStore(conn, path)
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        tmp_dir: str | os.PathLike[str] | None = None,
        limits: DecodeLimits | None = None,
    ) -> ExpansionFile:
        source = Path(path)
        workdir = make_workdir(None if tmp_dir is None else Path(tmp_dir))
        try:
            db_path = workdir / DB_NAME
            decompress_v1(source, db_path, limits)
            conn = connect(db_path, source)
        except BaseException:
            remove_workdir(workdir)
            raise
        return cls(source, workdir, conn)

    def target_sync(self, sync_id: str | None = None) -> SyncRun:
        """The sync to expand: ``sync_id`` if given, else the newest unfinished full sync
        (a sync paused at grant expansion), else the one a reader would show."""
        self._require_open()
        if sync_id is None:
            unfinished = [r for r in self._runs.syncs() if not r.finished and r.sync_type == "full"]
            if unfinished:
                return unfinished[-1]
        return self._runs.pick_sync(sync_id)

    def store(self, sync_id: str) -> SqliteExpansionStore:
        self._require_open()
        return SqliteExpansionStore(self._conn, sync_id, label=self.path)

    def end_sync(self, run: SyncRun, sync_token: str | None = None) -> None:
        """Seal the sync as the writer's ``end_sync`` does, with fresh stats (grants were added).

        A finished sync keeps its end time; ``sync_token`` (None: keep the stored one) should
        be the resume state with an empty action stack.
        """
        self._require_open()
        with database_errors(self.path):
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
            stats = stats_json(compute_stats(self._conn, run.sync_id, run.sync_type))
            self._conn.execute(
                "UPDATE v1_sync_runs SET ended_at = coalesce(ended_at, ?), stats = ?,"
                " sync_token = coalesce(?, sync_token) WHERE sync_id = ?",
                (now_text(), stats, sync_token, run.sync_id),
            )

    def save(self) -> int:
        """Write the file back (temp file + fsync + rename) and release the work copy."""
        self._require_open()
        self._closed = True
        try:
            with database_errors(self.path):
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
            self._conn.close()
            return write_v1(self._workdir / DB_NAME, self.path)
        except OSError as exc:
            raise C1ZError(f"cannot write c1z file {self.path}: {exc.strerror or exc}") from exc
        finally:
            self._conn.close()
            remove_workdir(self._workdir)

    def abort(self) -> None:
        """Drop every change; the file on disk is left as it was."""
        if not self._closed:
            self._closed = True
            self._conn.close()
            remove_workdir(self._workdir)

    def __enter__(self) -> ExpansionFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Anything not explicitly saved is discarded, so a failed expansion never half-writes the file.
        self.abort()

    def _require_open(self) -> None:
        if self._closed:
            raise FailedPreconditionError(f"c1z file {self.path} is already closed")
