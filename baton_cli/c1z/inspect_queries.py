"""SQL for the inspection commands that the reader's per-object iterators cannot answer well.

Listing a grant with its full entitlement, resource and principal would cost
three lookups per row through the reader; here one streamed query joins them
on the ``(external_id, sync_id)`` unique indexes, so SQLite does the lookups
in C and Python sees each row once. Rows come back as raw blobs so callers can
skip decoding what they have already rendered.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from baton_cli.c1z.store import SyncStore
from baton_cli.c1z.workdir import database_errors
from baton_cli.pb.c1.connector.v2 import resource_pb2

_FETCH = 500
# SQLite's default limit on host parameters is 999 in old builds; stay well below it.
_IN_CHUNK = 500


class GrantRecord(NamedTuple):
    grant: bytes
    entitlement_id: str
    resource_type_id: str
    resource_id: str
    principal_type_id: str
    principal_id: str
    entitlement: bytes | None  # the v1_entitlements row, None when the grant's entitlement is not stored
    resource: bytes | None
    principal: bytes | None


class PrincipalRecord(NamedTuple):
    resource_type_id: str
    resource_id: str
    resource: bytes | None  # None for principals that only appear in grants (e.g. external ones)


class KeyedRow(NamedTuple):
    key: str  # external_id: the identity that diffs compare on
    row_id: int
    data: bytes
    expansion: bytes | None  # grants' GrantExpandable column (None for other kinds): part of "changed"


@dataclass(frozen=True, slots=True)
class GrantFilter:
    resource_type_id: str | None = None
    resource_id: str | None = None
    entitlement_id: str | None = None
    principal_type_id: str | None = None
    principal_id: str | None = None

    def where(self, alias: str, sync_id: str) -> tuple[str, list[object]]:
        clauses = [f"{alias}.sync_id = ?"]
        params: list[object] = [sync_id]
        for column, value in (
            ("resource_type_id", self.resource_type_id),
            ("resource_id", self.resource_id),
            ("entitlement_id", self.entitlement_id),
            ("principal_resource_type_id", self.principal_type_id),
            ("principal_resource_id", self.principal_id),
        ):
            if value is not None:
                clauses.append(f"{alias}.{column} = ?")
                params.append(value)
        return " AND ".join(clauses), params


# Per kind: table and whether it has the grant expansion column.
DIFF_TABLES = {"resources": "v1_resources", "entitlements": "v1_entitlements", "grants": "v1_grants"}


class InspectQueries:
    """Joined and keyed queries over one open c1z (reader or writer store)."""

    def __init__(self, store: SyncStore) -> None:
        # The store keeps its connection private; this module is its read-only companion.
        self._conn: sqlite3.Connection = store._conn
        self._label = store._label

    @property
    def connection(self) -> sqlite3.Connection:
        """For helpers that take a connection (``stats.compute_stats``); read-only use only."""
        return self._conn

    def resource_types(self, sync_id: str) -> dict[str, resource_pb2.ResourceType]:
        """Every resource type of the sync by id: small, so callers cache it instead of re-querying."""
        rows = self._all("SELECT data FROM v1_resource_types WHERE sync_id = ? ORDER BY id", (sync_id,))
        types = (resource_pb2.ResourceType.FromString(r[0]) for r in rows)
        return {t.id: t for t in types}

    def resource(self, sync_id: str, resource_type_id: str, resource_id: str) -> resource_pb2.Resource | None:
        rows = self._all(
            "SELECT data FROM v1_resources WHERE external_id = ? AND sync_id = ?",
            (f"{resource_type_id}:{resource_id}", sync_id),
        )
        return resource_pb2.Resource.FromString(rows[0][0]) if rows else None

    def grants(self, sync_id: str, where: GrantFilter | None = None) -> Iterator[GrantRecord]:
        clause, params = (where or GrantFilter()).where("g", sync_id)
        sql = (
            "SELECT g.data, g.entitlement_id, g.resource_type_id, g.resource_id,"
            " g.principal_resource_type_id, g.principal_resource_id, e.data, r.data, p.data"
            " FROM v1_grants g"
            " LEFT JOIN v1_entitlements e ON e.external_id = g.entitlement_id AND e.sync_id = g.sync_id"
            " LEFT JOIN v1_resources r"
            "  ON r.external_id = g.resource_type_id || ':' || g.resource_id AND r.sync_id = g.sync_id"
            " LEFT JOIN v1_resources p"
            "  ON p.external_id = g.principal_resource_type_id || ':' || g.principal_resource_id"
            "  AND p.sync_id = g.sync_id"
            f" WHERE {clause} ORDER BY g.id"
        )
        for row in self._stream(sql, params):
            yield GrantRecord(*row)

    def principals(self, sync_id: str, where: GrantFilter | None = None) -> Iterator[PrincipalRecord]:
        """Distinct grant principals, in order of their first grant (as upstream lists them)."""
        clause, params = (where or GrantFilter()).where("g", sync_id)
        sql = (
            "SELECT d.pt, d.pid, p.data FROM ("
            "  SELECT g.principal_resource_type_id AS pt, g.principal_resource_id AS pid, min(g.id) AS first"
            f"  FROM v1_grants g WHERE {clause} GROUP BY pt, pid"
            ") d LEFT JOIN v1_resources p ON p.external_id = d.pt || ':' || d.pid AND p.sync_id = ?"
            " ORDER BY d.first"
        )
        for row in self._stream(sql, [*params, sync_id]):
            yield PrincipalRecord(*row)

    def keyed_rows(self, kind: str, sync_id: str) -> Iterator[KeyedRow]:
        """Rows of one kind in ``external_id`` order (the unique index's order), for merge-joins."""
        table = DIFF_TABLES[kind]
        expansion = "expansion" if kind == "grants" else "NULL"
        sql = f"SELECT external_id, id, data, {expansion} FROM {table} WHERE sync_id = ? ORDER BY external_id"
        for row in self._stream(sql, [sync_id]):
            yield KeyedRow(*row)

    def data_by_row_ids(self, kind: str, row_ids: Sequence[int]) -> Iterator[bytes]:
        """``data`` of the given rows, in the order given."""
        table = DIFF_TABLES[kind]
        for start in range(0, len(row_ids), _IN_CHUNK):
            chunk = row_ids[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            found = dict(self._all(f"SELECT id, data FROM {table} WHERE id IN ({marks})", tuple(chunk)))
            for row_id in chunk:
                yield found[row_id]

    def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with database_errors(self._label):
            return self._conn.execute(sql, params).fetchall()

    def _stream(self, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        # A generator: SQLite steps the query only as fast as the caller writes rows out.
        with database_errors(self._label):
            cursor = self._conn.execute(sql, tuple(params))
            try:
                while rows := cursor.fetchmany(_FETCH):
                    yield from rows
            finally:
                with contextlib.suppress(sqlite3.ProgrammingError):
                    cursor.close()
