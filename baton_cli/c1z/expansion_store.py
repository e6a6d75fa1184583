"""Grant expansion's view of one sync in a c1z work database (runner.md §7.5, c1z.md §4.5).

Shaped to ``baton_cli.core.expand.ExpansionStore`` by method names only: this
layer sits below core and does not import it.

Every query is keyset-paginated on the row id and fully fetched before it
returns, so no cursor is open while the expander writes grants, and each one
is served by an upstream index (named beside it). Writes are ``executemany``
batches inside the connection's open transaction; committing is the owner's
job (writer checkpoint / save).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from baton_cli.c1z.timefmt import now_text
from baton_cli.c1z.workdir import database_errors
from baton_cli.pb.c1.connector.v2 import annotation_grant_pb2, entitlement_pb2, grant_pb2

PAGE_ROWS = 1000
CHUNK_ROWS = 1000
# Bound parameters per IN list; well under SQLite's default limit of 32766 variables.
_IN_CHUNK = 500

# Preserve-expansion upsert: a new row takes the expansion columns derived from the grant, an
# existing row keeps its own (expanded grants never change what a grant expands into).
# Expanded grants never carry GrantExpandable themselves, so a new row has no expansion.
_UPSERT_PRESERVING = (
    "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
    " principal_resource_id, external_id, data, expansion, needs_expansion, sync_id, discovered_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?)"
    " ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data"
)
# (entitlement resource type, resource id, entitlement id, principal type, principal id, grant id,
# serialized grant): core.expand's ExpandedRow.
ExpandedRow = tuple[str, str, str, str, str, str, bytes]


def principal_lookup_sql(principals: int) -> str:
    """Grants of one entitlement held by ``principals`` principals of one type.

    Served by idx_grants_entitlement_id_principal_id_v1 (entitlement_id, principal type,
    principal id). The unary ``+`` keeps sync_id out of index selection: without statistics
    SQLite would take idx_grants_entitlement_sync_grant_v1 and scan every grant of the
    entitlement for each lookup, which made expansion quadratic in an entitlement's holders.
    """
    marks = ",".join("?" * principals)
    return (
        "SELECT principal_resource_id, data FROM v1_grants WHERE entitlement_id = ?"
        f" AND principal_resource_type_id = ? AND principal_resource_id IN ({marks})"
        " AND +sync_id = ? ORDER BY id"
    )


# (principal type, principal id, serialized grant, row id): core.expand's HolderRow.
HolderRow = tuple[str, str, bytes, int]
_HOLDERS = (
    "SELECT principal_resource_type_id, principal_resource_id, data, id FROM v1_grants"
    " WHERE entitlement_id = ? AND +sync_id = ?"
    " AND (principal_resource_type_id, principal_resource_id, id) > (?, ?, ?)"
    " ORDER BY principal_resource_type_id, principal_resource_id, id LIMIT ?"
)
_HOLDERS_OF_TYPE = (
    "SELECT principal_resource_type_id, principal_resource_id, data, id FROM v1_grants"
    " WHERE entitlement_id = ? AND principal_resource_type_id = ? AND +sync_id = ?"
    " AND (principal_resource_id, id) > (?, ?) ORDER BY principal_resource_id, id LIMIT ?"
)


# Served by idx_grants_entitlement_id_principal_id_v1, as principal_lookup_sql.
_ANY_HOLDER_OF_TYPE = (
    "SELECT 1 FROM v1_grants WHERE entitlement_id = ? AND principal_resource_type_id = ?"
    " AND +sync_id = ? LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class PendingRow:
    entitlement_id: str
    principal_type_id: str
    principal_id: str
    expandable: annotation_grant_pb2.GrantExpandable


class SqliteExpansionStore:
    """One sync's grants, entitlements and expansion columns in an open work database.

    The schema must be current (``schema.ensure_schema``, run by every c1z open),
    which also backfills GrantExpandable out of ``data`` for older files.
    """

    def __init__(
        self, conn: sqlite3.Connection, sync_id: str, *, label: Path | str = "c1z work database"
    ) -> None:
        self._conn = conn
        self._sync_id = sync_id
        self._label = Path(label)

    def pending_expansions(self) -> Iterator[PendingRow]:
        # idx_grants_sync_needs_expansion_v1 (partial index on sync_id WHERE needs_expansion = 1)
        sql = (
            "SELECT id, entitlement_id, principal_resource_type_id, principal_resource_id, expansion"
            " FROM v1_grants WHERE sync_id = ? AND needs_expansion = 1 AND id > ? ORDER BY id LIMIT ?"
        )
        last = 0
        while rows := self._fetch(sql, (self._sync_id, last, PAGE_ROWS)):
            last = rows[-1][0]
            for _, entitlement_id, principal_type, principal_id, expansion in rows:
                if expansion:
                    yield PendingRow(
                        entitlement_id,
                        principal_type,
                        principal_id,
                        annotation_grant_pb2.GrantExpandable.FromString(expansion),
                    )

    def get_entitlement(self, entitlement_id: str) -> entitlement_pb2.Entitlement | None:
        # idx_entitlements_external_sync_v1 (external_id, sync_id), unique
        rows = self._fetch(
            "SELECT data FROM v1_entitlements WHERE external_id = ? AND sync_id = ?",
            (entitlement_id, self._sync_id),
        )
        return entitlement_pb2.Entitlement.FromString(rows[0][0]) if rows else None

    def holder_pages(
        self, entitlement_id: str, principal_types: Collection[str] = ()
    ) -> Iterator[list[HolderRow]]:
        """(principal type, principal id, grant bytes, row id) of an entitlement's grants in pages, in
        principal order and each principal's grants in row order.

        Served by idx_grants_entitlement_id_principal_id_v1 (entitlement_id, principal type,
        principal id, and the row id every index ends with), keyset-paginated on those; ``+``
        keeps sync_id out of index selection as in ``principal_lookup_sql``.
        """
        if principal_types:
            for principal_type in sorted(set(principal_types)):
                yield from self._holder_pages(_HOLDERS_OF_TYPE, (entitlement_id, principal_type), 1)
        else:
            yield from self._holder_pages(_HOLDERS, (entitlement_id,), 0)

    def _holder_pages(self, sql: str, fixed: tuple[str, ...], key_from: int) -> Iterator[list[HolderRow]]:
        after: tuple[object, ...] = ("", "", 0)[key_from:]
        while True:
            rows = self._fetch(sql, (*fixed, self._sync_id, *after, PAGE_ROWS))
            if rows:
                yield rows
            if len(rows) < PAGE_ROWS:
                return
            last = rows[-1]
            after = (*last[key_from:2], last[3])

    def grants_for_principals(
        self, entitlement_id: str, principals: Collection[tuple[str, str]]
    ) -> Mapping[tuple[str, str], list[grant_pb2.Grant]]:
        by_type: dict[str, list[str]] = defaultdict(list)
        for principal_type, principal_id in principals:
            by_type[principal_type].append(principal_id)
        found: dict[tuple[str, str], list[grant_pb2.Grant]] = defaultdict(list)
        for principal_type, ids in by_type.items():
            if not self._fetch(_ANY_HOLDER_OF_TYPE, (entitlement_id, principal_type, self._sync_id)):
                # A fresh expansion's destinations hold no grants yet of their holders' type (roles
                # held by groups, asked about users): one probe instead of one per holder.
                continue
            source = iter(ids)
            while chunk := list(islice(source, _IN_CHUNK)):
                rows = self._fetch(
                    principal_lookup_sql(len(chunk)), (entitlement_id, principal_type, *chunk, self._sync_id)
                )
                for principal_id, data in rows:
                    found[(principal_type, principal_id)].append(grant_pb2.Grant.FromString(data))
        return found

    def upsert_expanded_rows(self, rows: Sequence[ExpandedRow]) -> None:
        tail = (self._sync_id, now_text())
        with database_errors(self._label):
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
            self._conn.executemany(_UPSERT_PRESERVING, [row + tail for row in rows])

    def mark_expansion_done(self) -> None:
        with database_errors(self._label):
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
            self._conn.execute(
                "UPDATE v1_grants SET needs_expansion = 0 WHERE sync_id = ? AND needs_expansion = 1",
                (self._sync_id,),
            )

    def _fetch(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with database_errors(self._label):
            return self._conn.execute(sql, params).fetchall()
