"""Read access to the syncs in an open c1z database (shared by reader and writer)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from baton_cli.annotations import GRANT_IMMUTABLE
from baton_cli.c1z.expansion import attach_expansion
from baton_cli.c1z.runs import RUN_COLUMNS, Counts, SyncRun
from baton_cli.c1z.timefmt import format_datetime
from baton_cli.c1z.workdir import database_errors
from baton_cli.errors import NotFoundError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

T = TypeVar("T")

_FETCH = 500
RESUME_WINDOW = timedelta(days=7)
_SELECT_RUN = f"SELECT {RUN_COLUMNS} FROM v1_sync_runs"


class SyncStore:
    """Queries over one SQLite c1z database; every row query is scoped to one sync id."""

    def __init__(
        self, conn: sqlite3.Connection, label: Path, before_grant_read: Callable[[], None] | None = None
    ) -> None:
        self._conn = conn
        self._label = label
        # Lets a writer build its deferred grant indexes before the first query that uses them.
        self._before_grant_read = before_grant_read

    # -- sync runs -----------------------------------------------------------------------

    def syncs(self) -> list[SyncRun]:
        return [SyncRun.from_row(r) for r in self._all(f"{_SELECT_RUN} ORDER BY started_at, id")]

    def pick_sync(self, sync_id: str | None = None) -> SyncRun:
        """The sync a reader should show (c1z.md §8); an explicit id always wins."""
        if sync_id is not None:
            found = self._one(f"{_SELECT_RUN} WHERE sync_id = ?", (sync_id,))
            if found is None:
                raise NotFoundError(f"sync {sync_id} not found in {self._label}")
            return found
        cutoff = format_datetime(datetime.now() - RESUME_WINDOW)
        for sql, params in (
            (
                f"{_SELECT_RUN} WHERE ended_at IS NOT NULL AND sync_type = 'full'"
                " ORDER BY ended_at DESC, sync_id DESC LIMIT 1",
                (),
            ),
            (
                f"{_SELECT_RUN} WHERE ended_at IS NULL AND started_at >= ?"
                " ORDER BY started_at DESC, sync_id DESC LIMIT 1",
                (cutoff,),
            ),
            # Inspection fallback beyond upstream: any finished sync, else the newest unfinished one.
            (
                f"{_SELECT_RUN} ORDER BY ended_at IS NULL, coalesce(ended_at, started_at) DESC,"
                " sync_id DESC LIMIT 1",
                (),
            ),
        ):
            found = self._one(sql, params)
            if found is not None:
                return found
        raise NotFoundError(f"{self._label} contains no sync runs")

    def pending_expansion_sync_ids(self) -> set[str]:
        """Syncs with grants still marked ``needs_expansion = 1`` (c1z.md §4.5) and no expanded grant yet.

        Files from older SDKs get ``needs_expansion = 1`` from the open-time backfill even when
        upstream already expanded them; expanded grants carry ``GrantImmutable``, so a sync holding
        one is not pending (``baton expand --sync-id`` can still re-run it on purpose).
        """
        self._prepare_grant_read()
        # Served by the partial index idx_grants_sync_needs_expansion_v1.
        marked = {r[0] for r in self._all("SELECT DISTINCT sync_id FROM v1_grants WHERE needs_expansion = 1")}
        return {sync_id for sync_id in marked if not self._has_expanded_grants(sync_id)}

    def _has_expanded_grants(self, sync_id: str) -> bool:
        row = self._all(
            "SELECT 1 FROM v1_grants WHERE sync_id = ? AND instr(data, ?) > 0 LIMIT 1",
            (sync_id, GRANT_IMMUTABLE.encode()),
        )
        return bool(row)

    def counts(self, sync_id: str) -> Counts:
        tables = ("v1_resource_types", "v1_resources", "v1_entitlements", "v1_grants")
        sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t} WHERE sync_id = ?)" for t in tables)
        with database_errors(self._label):
            row = self._conn.execute(sql, (sync_id,) * len(tables)).fetchone()
        return Counts(*(int(n) for n in row))

    # -- objects -------------------------------------------------------------------------

    def resource_types(self, sync_id: str) -> Iterator[resource_pb2.ResourceType]:
        return self._stream(
            "SELECT data FROM v1_resource_types WHERE sync_id = ? ORDER BY id",
            (sync_id,),
            lambda row: resource_pb2.ResourceType.FromString(row[0]),
        )

    def resources(self, sync_id: str, resource_type_id: str | None = None) -> Iterator[resource_pb2.Resource]:
        where, params = _filters(sync_id, resource_type_id=resource_type_id)
        return self._stream(
            f"SELECT data FROM v1_resources WHERE {where} ORDER BY id",
            params,
            lambda row: resource_pb2.Resource.FromString(row[0]),
        )

    def resources_after(
        self, sync_id: str, row_id: int, limit: int
    ) -> list[tuple[int, resource_pb2.Resource]]:
        """Up to ``limit`` resources with row id above ``row_id``, in row order: a resumable cursor."""
        rows = self._all(
            "SELECT id, data FROM v1_resources WHERE sync_id = ? AND id > ? ORDER BY id LIMIT ?",
            (sync_id, row_id, limit),
        )
        return [(rid, resource_pb2.Resource.FromString(data)) for rid, data in rows]

    def count_resources_after(self, sync_id: str, row_id: int) -> int:
        """How many resources ``resources_after`` has still to give from ``row_id`` on."""
        rows = self._all("SELECT count(*) FROM v1_resources WHERE sync_id = ? AND id > ?", (sync_id, row_id))
        return int(rows[0][0]) if rows else 0

    def get_resource(
        self, sync_id: str, resource_type_id: str, resource_id: str
    ) -> resource_pb2.Resource | None:
        rows = self._all(
            "SELECT data FROM v1_resources WHERE external_id = ? AND sync_id = ?",
            (f"{resource_type_id}:{resource_id}", sync_id),
        )
        return resource_pb2.Resource.FromString(rows[0][0]) if rows else None

    def get_grant(self, sync_id: str, grant_id: str) -> grant_pb2.Grant | None:
        self._prepare_grant_read()
        rows = self._all(
            "SELECT data FROM v1_grants WHERE external_id = ? AND sync_id = ?", (grant_id, sync_id)
        )
        return grant_pb2.Grant.FromString(rows[0][0]) if rows else None

    def entitlements(
        self, sync_id: str, resource_type_id: str | None = None, resource_id: str | None = None
    ) -> Iterator[entitlement_pb2.Entitlement]:
        where, params = _filters(sync_id, resource_type_id=resource_type_id, resource_id=resource_id)
        return self._stream(
            f"SELECT data FROM v1_entitlements WHERE {where} ORDER BY id",
            params,
            lambda row: entitlement_pb2.Entitlement.FromString(row[0]),
        )

    def grants(
        self,
        sync_id: str,
        *,
        resource_type_id: str | None = None,
        resource_id: str | None = None,
        entitlement_id: str | None = None,
        principal_type_id: str | None = None,
        principal_id: str | None = None,
        with_expansion: bool = False,
    ) -> Iterator[grant_pb2.Grant]:
        """Grants as stored; ``with_expansion`` re-attaches GrantExpandable from its column."""
        self._prepare_grant_read()
        where, params = _filters(
            sync_id,
            resource_type_id=resource_type_id,
            resource_id=resource_id,
            entitlement_id=entitlement_id,
            principal_resource_type_id=principal_type_id,
            principal_resource_id=principal_id,
        )
        if not with_expansion:
            return self._stream(
                f"SELECT data FROM v1_grants WHERE {where} ORDER BY id",
                params,
                lambda row: grant_pb2.Grant.FromString(row[0]),
            )
        return self._stream(
            f"SELECT data, expansion FROM v1_grants WHERE {where} ORDER BY id", params, _grant_with_expansion
        )

    # -- schema (compatibility checks) ---------------------------------------------------

    def table_names(self) -> list[str]:
        return [r[0] for r in self._all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]

    def index_names(self) -> list[str]:
        self._prepare_grant_read()
        return [
            r[0]
            for r in self._all(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
            )
        ]

    # -- plumbing ------------------------------------------------------------------------

    def _prepare_grant_read(self) -> None:
        if self._before_grant_read is not None:
            self._before_grant_read()

    def _all(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with database_errors(self._label):
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple[object, ...]) -> SyncRun | None:
        rows = self._all(sql, params)
        return SyncRun.from_row(rows[0]) if rows else None

    def _stream(
        self, sql: str, params: tuple[object, ...], decode: Callable[[tuple[bytes, ...]], T]
    ) -> Iterator[T]:
        # A generator, so rows are fetched in batches as the caller consumes them.
        with database_errors(self._label):
            cursor = self._conn.execute(sql, params)
            try:
                while rows := cursor.fetchmany(_FETCH):
                    for row in rows:
                        yield decode(row)
            finally:
                # The reader may already be closed when an abandoned iterator is collected.
                with contextlib.suppress(sqlite3.ProgrammingError):
                    cursor.close()


def _filters(sync_id: str, **columns: str | None) -> tuple[str, tuple[object, ...]]:
    clauses = ["sync_id = ?"]
    params: list[object] = [sync_id]
    for column, value in columns.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses), tuple(params)


def _grant_with_expansion(row: tuple[bytes, ...]) -> grant_pb2.Grant:
    grant = grant_pb2.Grant.FromString(row[0])
    if row[1]:
        attach_expansion(grant, row[1])
    return grant
