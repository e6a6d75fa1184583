"""Writing syncs into a v1 c1z file.

All work happens on a private decompressed copy; ``save()`` is the only step
that touches the target path, and it replaces it atomically.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from baton_cli.c1z import rows
from baton_cli.c1z.cleanup import CleanupResult, CleanupSettings, cleanup_old_syncs
from baton_cli.c1z.container import (
    DecodeLimits,
    decode_to_database,
    decompress_v1,
    read_magic,
    require_readable,
    require_v1,
    write_v1,
)
from baton_cli.c1z.expansion_store import SqliteExpansionStore
from baton_cli.c1z.invariants import InvariantReport, check_invariants, mark_verified
from baton_cli.c1z.ksuid import new_ksuid
from baton_cli.c1z.resumable import (
    WorkdirLock,
    discard_work,
    has_unfinished_sync,
    has_work,
    resumable_workdir,
    write_fingerprint,
)
from baton_cli.c1z.runs import SYNC_TYPES, SyncRun
from baton_cli.c1z.schema import EXPANSION_INDEXES, create_indexes
from baton_cli.c1z.stats import compute_stats, stats_json
from baton_cli.c1z.store import SyncStore
from baton_cli.c1z.timefmt import format_ns, now_text
from baton_cli.c1z.workdir import (
    DB_NAME,
    connect,
    database_errors,
    disk_full,
    index_build_cache,
    is_no_room,
    make_workdir,
    remove_workdir,
)
from baton_cli.errors import C1ZError, FailedPreconditionError, NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

M = TypeVar("M")

CHUNK_ROWS = 1000

_UPSERT_RESOURCE_TYPE = (
    "INSERT INTO v1_resource_types (external_id, data, sync_id, discovered_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data"
)
_UPSERT_RESOURCE = (
    "INSERT INTO v1_resources (resource_type_id, external_id, parent_resource_type_id, parent_resource_id,"
    " data, sync_id, discovered_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data"
)
_UPSERT_ENTITLEMENT = (
    "INSERT INTO v1_entitlements (resource_type_id, resource_id, external_id, data, sync_id, discovered_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data"
)
# needs_expansion follows §4.5 rule 3; SET expressions see the row's old values.
_UPSERT_GRANT = (
    "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
    " principal_resource_id, external_id, expansion, needs_expansion, data, sync_id, discovered_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data,"
    " expansion = excluded.expansion,"
    " needs_expansion = CASE"
    " WHEN excluded.expansion IS NULL OR length(excluded.expansion) = 0 THEN 0"
    " WHEN v1_grants.expansion IS NULL OR v1_grants.expansion != excluded.expansion THEN 1"
    " ELSE v1_grants.needs_expansion END"
)


class C1ZWriter:
    """Adds sync runs to a c1z file (new, empty, or an existing v1 file)."""

    def __init__(
        self,
        path: Path,
        workdir: Path,
        conn: sqlite3.Connection,
        *,
        indexes_deferred: bool = False,
        lock: WorkdirLock | None = None,
        cleanup: CleanupSettings | None = None,
    ) -> None:
        self.path = path
        # Old syncs are deleted after each successful end_sync() when set (c1z.md §9).
        self._cleanup = cleanup
        self.last_cleanup: CleanupResult | None = None
        self._lock = lock
        self._workdir = workdir
        self._conn = conn
        self._indexes_deferred = indexes_deferred
        self._store = SyncStore(conn, path, before_grant_read=self._build_deferred_indexes)
        self._sync_id: str | None = None
        self._sync_type = "full"
        self._active = False
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        tmp_dir: str | os.PathLike[str] | None = None,
        limits: DecodeLimits | None = None,
        resumable: bool = False,
        cleanup: CleanupSettings | None = None,
        source: str | os.PathLike[str] | None = None,
        discard_saved_work: bool = False,
        fingerprint: Mapping[str, Any] | None = None,
    ) -> C1ZWriter:
        """Start from ``path``'s content (missing or empty file = new store); ``path`` is untouched.

        ``source`` starts from another file's content instead (v1 or v3: writing is v1 only, so
        a v3 file can be the source of a new v1 ``path`` but never be written into).

        ``resumable`` keeps the work database in a lasting directory (see ``resumable.py``):
        a previous interrupted run's database there is picked up instead of ``path``.
        ``cleanup`` deletes old syncs after every successful ``end_sync()`` (None: never).
        ``discard_saved_work`` drops such a database first (a fresh start); ``fingerprint``
        records how this run's sync was started beside the database it resumes from.
        """
        target = Path(path)
        if not target.parent.is_dir():
            raise NotFoundError(f"directory for c1z file {target} does not exist")
        if resumable:
            if source is not None:
                raise UsageError("a resumable c1z writer starts from its own file, not from another")
            magic = read_magic(target) if target.exists() else b""
            if magic:
                require_v1(target, magic)  # before any work directory is made for it
            return cls._open_resumable(
                target,
                None if tmp_dir is None else Path(tmp_dir),
                limits,
                cleanup,
                discard=discard_saved_work,
                fingerprint=fingerprint,
            )
        origin = target if source is None else Path(source)
        magic = read_magic(origin) if source is not None or target.exists() else b""
        existing = magic != b""
        if source is None and existing:
            require_v1(target, magic)
        elif existing:
            require_readable(origin, magic)
        workdir = make_workdir(None if tmp_dir is None else Path(tmp_dir))
        try:
            db_path = workdir / DB_NAME
            if existing:
                decode_to_database(origin, magic, db_path, limits)
            # Only a fresh database defers grant indexes: an existing one already has them.
            conn = connect(db_path, target, defer_grant_indexes=not existing)
        except BaseException:
            remove_workdir(workdir)
            raise
        return cls(target, workdir, conn, indexes_deferred=not existing, cleanup=cleanup)

    @classmethod
    def _open_resumable(
        cls,
        target: Path,
        tmp_dir: Path | None,
        limits: DecodeLimits | None,
        cleanup: CleanupSettings | None,
        *,
        discard: bool,
        fingerprint: Mapping[str, Any] | None,
    ) -> C1ZWriter:
        workdir = resumable_workdir(target, tmp_dir)
        lock = WorkdirLock(workdir, target)
        try:
            if discard:
                discard_work(workdir)
            if fingerprint is not None:
                write_fingerprint(workdir, fingerprint)
            db_path = workdir / DB_NAME
            new_store = False
            if not has_work(workdir):
                db_path.unlink(missing_ok=True)
                magic = read_magic(target) if target.exists() else b""
                if magic:
                    require_v1(target, magic)
                    decompress_v1(target, db_path, limits)
                new_store = not magic
            conn = connect(db_path, target, durable=True, defer_grant_indexes=new_store)
        except BaseException:
            lock.close()
            raise
        return cls(target, workdir, conn, indexes_deferred=new_store, lock=lock, cleanup=cleanup)

    @property
    def resumable(self) -> bool:
        return self._lock is not None

    @property
    def workdir(self) -> Path:
        return self._workdir

    def has_saved_work(self) -> bool:
        """A resumable writer that stopped early left a database a later run can resume."""
        return self._lock is not None and has_work(self._workdir) and self._unfinished_committed()

    def _unfinished_committed(self) -> bool:
        if not has_work(self._workdir):
            return False
        return has_unfinished_sync(self._workdir / DB_NAME)

    def unfinished_sync(
        self, sync_type: str = "full", *, max_age_seconds: float = 7 * 24 * 3600
    ) -> SyncRun | None:
        """The newest unfinished sync of ``sync_type`` started within ``max_age_seconds`` (runner.md §7.6)."""
        self._require_open()
        oldest = format_ns(time.time_ns() - int(max_age_seconds * 1e9))
        for run in reversed(self._store.syncs()):
            if run.ended_at is None and run.sync_type == sync_type and run.started_at >= oldest:
                return run
        return None

    def latest_full_sync_id(self) -> str:
        """The latest finished full sync: a partial sync's parent (runner.md §7.4); "" if none."""
        self._require_open()
        finished = [r for r in self._store.syncs() if r.ended_at is not None and r.sync_type == "full"]
        if not finished:
            return ""
        return max(finished, key=lambda r: (r.ended_at or "", r.sync_id)).sync_id

    def resume_sync(self, run: SyncRun) -> str:
        """Make ``run`` the running sync again; returns its sync token."""
        self._require_open()
        if self._active:
            raise FailedPreconditionError(f"sync {self._sync_id} is still running in {self.path}")
        self._sync_id, self._sync_type, self._active = run.sync_id, run.sync_type, True
        return run.sync_token

    @property
    def sync_id(self) -> str | None:
        return self._sync_id

    @property
    def store(self) -> SyncStore:
        """Read access to everything in the work DB, the current sync's rows included."""
        self._require_open()
        return self._store

    def start_sync(self, sync_type: str = "full", parent_sync_id: str = "") -> str:
        self._require_open()
        if self._active:
            raise FailedPreconditionError(f"sync {self._sync_id} is still running in {self.path}")
        if sync_type not in SYNC_TYPES:
            raise UsageError(
                f"unknown sync type {sync_type!r}; expected one of {', '.join(sorted(SYNC_TYPES))}"
            )
        sync_id = new_ksuid()
        with self._writing():
            self._conn.execute(
                "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token, sync_type, parent_sync_id,"
                " grants_backfilled) VALUES (?, ?, '', ?, ?, 1)",
                (sync_id, now_text(), sync_type, parent_sync_id),
            )
        self._sync_id, self._sync_type, self._active = sync_id, sync_type, True
        return sync_id

    def put_resource_types(self, items: Iterable[resource_pb2.ResourceType]) -> int:
        return self._put(_UPSERT_RESOURCE_TYPE, items, rows.resource_type_row)

    def put_resources(self, items: Iterable[resource_pb2.Resource]) -> int:
        return self._put(_UPSERT_RESOURCE, items, rows.resource_row)

    def put_entitlements(self, items: Iterable[entitlement_pb2.Entitlement]) -> int:
        return self._put(_UPSERT_ENTITLEMENT, items, rows.entitlement_row)

    def put_grants(self, items: Iterable[grant_pb2.Grant], ids: Sequence[rows.GrantIds] | None = None) -> int:
        """``ids``: each grant's first six columns as the caller read them (see rows.GrantIds)."""
        if ids is None:
            return self._put(_UPSERT_GRANT, items, rows.grant_row)
        items = list(items)
        if len(ids) != len(items):
            raise UsageError(f"put_grants: {len(items)} grants but {len(ids)} id tuples")
        return self._put(_UPSERT_GRANT, list(zip(items, ids, strict=True)), _grant_row_with_ids)

    def resources_after(self, row_id: int, limit: int) -> list[tuple[int, resource_pb2.Resource]]:
        """The current sync's resources after row ``row_id`` (see SyncStore.resources_after)."""
        return self._store.resources_after(self._require_sync(), row_id, limit)

    def count_resources_after(self, row_id: int) -> int:
        """How many of the current sync's resources lie after row ``row_id`` (progress totals)."""
        return self._store.count_resources_after(self._require_sync(), row_id)

    def get_resource(self, resource_type_id: str, resource_id: str) -> resource_pb2.Resource | None:
        """A resource of the current sync by id, or None."""
        return self._store.get_resource(self._require_sync(), resource_type_id, resource_id)

    def expansion_store(self) -> SqliteExpansionStore:
        """Grant expansion's view of the running sync (it reads grants by entitlement: indexes first)."""
        sync_id = self._require_active()
        if self._indexes_deferred:
            with self._writing(), index_build_cache(self._conn):
                create_indexes(self._conn, only=EXPANSION_INDEXES)
        return SqliteExpansionStore(self._conn, sync_id, label=self.path)

    def set_sync_token(self, token: str) -> None:
        sync_id = self._require_active()
        with self._writing():
            self._conn.execute("UPDATE v1_sync_runs SET sync_token = ? WHERE sync_id = ?", (token, sync_id))

    def checkpoint(self) -> None:
        self._require_open()
        with database_errors(self.path, self._workdir):
            self._commit()

    def check_invariants(self) -> InvariantReport:
        """Post-collection checks of the running sync (runner.md §7.9)."""
        sync_id = self._require_active()
        self._build_deferred_indexes()
        with self._writing():
            return check_invariants(self._conn, sync_id)

    def mark_invariants_verified(self, sync_id: str) -> None:
        """After end_sync(): record that the sync passed its ingestion invariants."""
        self._require_open()
        with self._writing():
            mark_verified(self._conn, sync_id)
            self._commit()

    def end_sync(self, *, cleanup: CleanupSettings | None = None) -> dict[str, object]:
        """Seal the running sync (end time, fresh stats), then clean up old syncs.

        ``cleanup`` overrides the writer's setting for this call. A sync that had already
        ended (re-expanded by ``baton expand``) keeps its original end time.
        """
        sync_id = self._require_active()
        self._build_deferred_indexes()
        with self._writing():
            stats = compute_stats(self._conn, sync_id, self._sync_type)
            self._conn.execute(
                "UPDATE v1_sync_runs SET ended_at = coalesce(ended_at, ?), supports_diff = 1, stats = ?"
                " WHERE sync_id = ?",
                (now_text(), stats_json(stats), sync_id),
            )
            self._commit()
        self._active = False
        settings = cleanup or self._cleanup
        if settings is not None:
            # After the commit above: the new sync counts as finished, and VACUUM needs no transaction.
            self.last_cleanup = cleanup_old_syncs(
                self._conn, keep=settings.keep, skip=settings.skip, label=self.path
            )
        return stats

    def save(self) -> int:
        """Write the c1z to ``path`` (temp file + fsync + rename) and release the work dir."""
        self._require_open()
        self._closed = True
        db_path = self._workdir / DB_NAME
        try:
            self._build_deferred_indexes()
            with database_errors(self.path, self._workdir):
                self._commit()
                if self._lock is not None:
                    # Fold the WAL back in: upstream readers expect a rollback-journal file.
                    self._conn.execute("PRAGMA journal_mode = DELETE")
            self._conn.close()
            _require_no_sidecars(db_path, self.path)
            return write_v1(db_path, self.path)
        except OSError as exc:
            if is_no_room(exc):
                raise disk_full(self.path, self.path.parent, exc.strerror or exc) from exc
            raise C1ZError(f"cannot write c1z file {self.path}: {exc.strerror or exc}") from exc
        finally:
            self._conn.close()
            remove_workdir(self._workdir)
            self._release_lock()

    def abort(self) -> None:
        """Discard everything written since open; ``path`` is left as it was."""
        if self._closed:
            return
        self._closed = True
        self._conn.close()
        remove_workdir(self._workdir)
        self._release_lock()

    def suspend(self) -> None:
        """Keep the last checkpoint for a later run (resumable writers); drop uncommitted writes."""
        if self._closed:
            return
        if self._lock is None:
            self.abort()
            return
        self._closed = True
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        self._conn.close()
        if not self._unfinished_committed():
            remove_workdir(self._workdir)  # nothing a later run could resume
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()

    def __enter__(self) -> C1ZWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.suspend()

    # -- plumbing ------------------------------------------------------------------------

    def _put(
        self, sql: str, items: Iterable[M], make_row: Callable[[M, str, str], tuple[object, ...]]
    ) -> int:
        sync_id = self._require_active()
        # A list or tuple first: an ABC isinstance check per call showed in profiles.
        if (type(items) is list or type(items) is tuple or isinstance(items, Collection)) and not items:
            # Most resources have no entitlements or grants: skip the clock and the transaction.
            return 0
        now = now_text()
        source = iter(items)
        total = 0
        with self._writing():
            while chunk := [make_row(item, sync_id, now) for item in islice(source, CHUNK_ROWS)]:
                self._conn.executemany(sql, chunk)
                total += len(chunk)
        return total

    @contextmanager
    def _writing(self) -> Iterator[None]:
        # Writes accumulate in one open transaction until checkpoint()/end_sync()/save().
        with database_errors(self.path, self._workdir):
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
            yield

    def _build_deferred_indexes(self) -> None:
        if self._indexes_deferred:
            with self._writing(), index_build_cache(self._conn):
                create_indexes(self._conn)
            self._indexes_deferred = False

    def _commit(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def _require_open(self) -> None:
        if self._closed:
            raise FailedPreconditionError(f"c1z writer for {self.path} is already closed")

    def _require_sync(self) -> str:
        self._require_open()
        if self._sync_id is None:
            raise FailedPreconditionError(f"no sync was started in {self.path}; call start_sync() first")
        return self._sync_id

    def _require_active(self) -> str:
        self._require_open()
        if not self._active or self._sync_id is None:
            raise FailedPreconditionError(f"no sync is running in {self.path}; call start_sync() first")
        return self._sync_id


def _grant_row_with_ids(pair: tuple[grant_pb2.Grant, rows.GrantIds], sync_id: str, now: str) -> rows.GrantRow:
    return rows.grant_row_with_ids(pair[0], pair[1], sync_id, now)


def _require_no_sidecars(db_path: Path, label: Path) -> None:
    # Only the main DB file is compressed, so pending journal/WAL content would be lost.
    for suffix in ("-wal", "-journal"):
        sidecar = db_path.with_name(db_path.name + suffix)
        if sidecar.exists() and sidecar.stat().st_size > 0:
            raise C1ZError(f"c1z file {label}: work database still has a non-empty {suffix} file")
