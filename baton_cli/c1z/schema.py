"""The v1 SQLite schema (c1z.md §4) and the open-time migration.

Names, declared types and defaults match upstream exactly, crossed resource
index names included: upstream readers run ``CREATE ... IF NOT EXISTS`` with
these names, and the upserts target the ``(external_id, sync_id)`` unique
indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass

from baton_cli.c1z.expansion import EXPANDABLE_MARKER, split_expandable
from baton_cli.pb.c1.connector.v2 import grant_pb2

_BACKFILL_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column name, declaration after the name)

    def create_sql(self) -> str:
        body = ",\n".join(f"    {name} {decl}" for name, decl in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n{body}\n)"


_ID = ("id", "integer primary key")
_SYNC_ID = ("sync_id", "text not null")
_DISCOVERED_AT = ("discovered_at", "datetime not null")

# Creation order is upstream's (§4); columns appended over time sit last, as in upstream files.
TABLES: tuple[Table, ...] = (
    Table(
        "v1_resource_types",
        (_ID, ("external_id", "text not null"), ("data", "blob not null"), _SYNC_ID, _DISCOVERED_AT),
    ),
    Table(
        "v1_resources",
        (
            _ID,
            ("resource_type_id", "text not null"),
            ("external_id", "text not null"),
            ("parent_resource_type_id", "text"),
            ("parent_resource_id", "text"),
            ("data", "blob not null"),
            _SYNC_ID,
            _DISCOVERED_AT,
        ),
    ),
    Table(
        "v1_entitlements",
        (
            _ID,
            ("resource_type_id", "text not null"),
            ("resource_id", "text not null"),
            ("external_id", "text not null"),
            ("data", "blob not null"),
            _SYNC_ID,
            _DISCOVERED_AT,
        ),
    ),
    Table(
        "v1_sync_runs",
        (
            _ID,
            ("sync_id", "text not null"),
            ("started_at", "datetime not null"),
            ("ended_at", "datetime"),
            ("sync_token", "text not null"),
            ("sync_type", "text not null default 'full'"),
            ("parent_sync_id", "text not null default ''"),
            ("linked_sync_id", "text not null default ''"),
            ("supports_diff", "integer not null default 0"),
            ("grants_backfilled", "integer not null default 0"),
            ("stats", "text"),
            ("ingest_invariant_generation", "text not null default ''"),
            ("ingest_invariant_coverage", "text not null default ''"),
            ("ingest_invariant_mode", "text not null default ''"),
        ),
    ),
    Table(
        "v1_grants",
        (
            _ID,
            ("resource_type_id", "text not null"),
            ("resource_id", "text not null"),
            ("entitlement_id", "text not null"),
            ("principal_resource_type_id", "text not null"),
            ("principal_resource_id", "text not null"),
            ("external_id", "text not null"),
            ("expansion", "blob"),
            ("needs_expansion", "integer not null default 0"),
            ("data", "blob not null"),
            _SYNC_ID,
            _DISCOVERED_AT,
        ),
    ),
    Table(
        "v1_assets",
        (
            _ID,
            ("external_id", "text not null"),
            ("content_type", "text not null"),
            ("data", "blob not null"),
            _SYNC_ID,
            _DISCOVERED_AT,
        ),
    ),
    Table(
        "v1_connector_sessions",
        (_ID, ("sync_id", "text NOT NULL"), ("key", "TEXT NOT NULL"), ("value", "BLOB NOT NULL")),
    ),
)


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    table: str
    columns: str
    unique: bool = False
    where: str = ""

    def create_sql(self) -> str:
        kind = "UNIQUE INDEX" if self.unique else "INDEX"
        where = f" WHERE {self.where}" if self.where else ""
        return f"CREATE {kind} IF NOT EXISTS {self.name} ON {self.table} ({self.columns}){where}"


INDEXES: tuple[Index, ...] = (
    Index("idx_resource_types_external_sync_v1", "v1_resource_types", "external_id, sync_id", unique=True),
    Index("idx_resources_resource_type_id_v1", "v1_resources", "resource_type_id"),
    # Upstream's names for the next two are swapped relative to their columns; kept as is.
    Index("idx_resources_external_sync_v1", "v1_resources", "parent_resource_type_id, parent_resource_id"),
    Index("idx_resources_parent_resource_id_v1", "v1_resources", "external_id, sync_id", unique=True),
    Index("idx_entitlements_resource_id_v1", "v1_entitlements", "resource_type_id, resource_id"),
    Index("idx_entitlements_external_sync_v1", "v1_entitlements", "external_id, sync_id", unique=True),
    Index("idx_sync_runs_sync_id_v1", "v1_sync_runs", "sync_id", unique=True),
    Index("idx_grants_resource_type_id_resource_id_v1", "v1_grants", "resource_type_id, resource_id"),
    Index("idx_grants_principal_id_v1", "v1_grants", "principal_resource_type_id, principal_resource_id"),
    Index(
        "idx_grants_entitlement_id_principal_id_v1",
        "v1_grants",
        "entitlement_id, principal_resource_type_id, principal_resource_id",
    ),
    Index("idx_grants_external_sync_v1", "v1_grants", "external_id, sync_id", unique=True),
    Index("idx_grants_entitlement_sync_grant_v1", "v1_grants", "entitlement_id, sync_id, id"),
    Index("idx_grants_sync_expansion_v1", "v1_grants", "sync_id", where="expansion IS NOT NULL"),
    Index("idx_grants_sync_needs_expansion_v1", "v1_grants", "sync_id", where="needs_expansion = 1"),
    Index("idx_assets_external_sync_v1", "v1_assets", "external_id, sync_id", unique=True),
    Index("idx_session_store_sync_key_v1", "v1_connector_sessions", "sync_id, key", unique=True),
)


# Secondary grant indexes cost about half the insert time of a bulk grant load and are
# cheaper to build once, sorted, after the load; a writer on a fresh database may defer them.
DEFERRABLE_INDEXES = frozenset(ix.name for ix in INDEXES if ix.table == "v1_grants" and not ix.unique)
# The deferred indexes grant expansion reads by (c1z/expansion_store.py names each query's index).
# The others are built after expansion: every index present while it writes costs a B-tree
# insert per grant it writes, and a sorted build afterwards is cheaper.
EXPANSION_INDEXES = frozenset(
    {"idx_grants_entitlement_id_principal_id_v1", "idx_grants_sync_needs_expansion_v1"}
)


def ensure_schema(conn: sqlite3.Connection, *, defer_grant_indexes: bool = False) -> None:
    """Create what is missing and migrate old files to the current shape.

    Runs inside the caller's transaction handling; raises sqlite3 errors for a
    database whose tables cannot be brought to this shape.
    """
    for table in TABLES:
        conn.execute(table.create_sql())
    for table in TABLES:
        _add_missing_columns(conn, table)
    # Indexes last: the partial grant indexes need the columns added above.
    for index in INDEXES:
        if not (defer_grant_indexes and index.name in DEFERRABLE_INDEXES):
            conn.execute(index.create_sql())
    backfill_grant_expansion(conn)


def create_indexes(conn: sqlite3.Connection, only: Collection[str] | None = None) -> None:
    """Create every index that does not exist yet (the deferred ones, normally), or only those named."""
    for index in INDEXES:
        if only is None or index.name in only:
            conn.execute(index.create_sql())


def _add_missing_columns(conn: sqlite3.Connection, table: Table) -> None:
    present = {row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")}
    for name, decl in table.columns:
        if name not in present:
            conn.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {decl}")


def backfill_grant_expansion(conn: sqlite3.Connection) -> None:
    """Move GrantExpandable out of ``data`` for syncs written before the expansion column (§4.5)."""
    pending = [row[0] for row in conn.execute("SELECT sync_id FROM v1_sync_runs WHERE grants_backfilled = 0")]
    for sync_id in pending:
        last_id = 0
        while True:
            # The marker test keeps this cheap: only grants whose bytes mention the type are decoded.
            rows = conn.execute(
                "SELECT id, data FROM v1_grants WHERE sync_id = ? AND id > ? AND expansion IS NULL"
                " AND instr(data, ?) > 0 ORDER BY id LIMIT ?",
                (sync_id, last_id, EXPANDABLE_MARKER, _BACKFILL_CHUNK),
            ).fetchall()
            if not rows:
                break
            last_id = rows[-1][0]
            updates = []
            for row_id, data in rows:
                split = split_expandable(grant_pb2.Grant.FromString(data))
                if split.found:
                    updates.append((split.data, split.expansion, 1 if split.expansion else 0, row_id))
            conn.executemany(
                "UPDATE v1_grants SET data = ?, expansion = ?, needs_expansion = ? WHERE id = ?", updates
            )
            if len(rows) < _BACKFILL_CHUNK:
                break  # the scan reached the table's end; asking again would read the rest twice
        conn.execute("UPDATE v1_sync_runs SET grants_backfilled = 1 WHERE sync_id = ?", (sync_id,))
