"""Stream a v3 file into a v1 work database, so every v1 reader path serves v3 unchanged.

One pass in key order: resource types, resources, entitlements, grants, each
inserted in chunks as the merge yields them (memory stays at one chunk plus one
block per table). Entitlements and grants get their resource (and, for grants
made by grant expansion, their entitlement) filled in from the rows already
written, which is how v1 files from upstream carry them (c1z-v3.md §7.3).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from baton_cli.annotations import GRANT_IMMUTABLE, has_any
from baton_cli.c1z import rows
from baton_cli.c1z.container import DecodeLimits
from baton_cli.c1z.expansion import EXPANDABLE_NAME
from baton_cli.c1z.schema import create_indexes
from baton_cli.c1z.stats import compute_stats, stats_json
from baton_cli.c1z.timefmt import format_ns
from baton_cli.c1z.v3 import mapping
from baton_cli.c1z.v3.file import V3File
from baton_cli.c1z.workdir import connect, database_errors
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2
from baton_cli.pb.c1.storage.v3 import records_pb2

_CHUNK = 1000
_SYNC_TYPES = {
    records_pb2.SYNC_TYPE_FULL: "full",
    records_pb2.SYNC_TYPE_PARTIAL: "partial",
    records_pb2.SYNC_TYPE_RESOURCES_ONLY: "resources_only",
    records_pb2.SYNC_TYPE_PARTIAL_UPSERTS: "partial_upserts",
    records_pb2.SYNC_TYPE_PARTIAL_DELETIONS: "partial_deletions",
}
_INSERT_RESOURCE_TYPE = (
    "INSERT INTO v1_resource_types (external_id, data, sync_id, discovered_at) VALUES (?, ?, ?, ?)"
)
_INSERT_RESOURCE = (
    "INSERT INTO v1_resources (resource_type_id, external_id, parent_resource_type_id, parent_resource_id,"
    " data, sync_id, discovered_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ENTITLEMENT = (
    "INSERT INTO v1_entitlements (resource_type_id, resource_id, external_id, data, sync_id, discovered_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_GRANT = (
    "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
    " principal_resource_id, external_id, expansion, needs_expansion, data, sync_id, discovered_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_RUN = (
    "INSERT INTO v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type, parent_sync_id,"
    " linked_sync_id, supports_diff, grants_backfilled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
)


def import_v3(source: Path, db_path: Path, scratch: Path, limits: DecodeLimits | None = None) -> None:
    """Write the v1 database ``db_path`` holding ``source``'s sync; ``scratch`` takes the payload."""
    with V3File.open(source, scratch, limits) as v3:
        conn = connect(db_path, source, defer_grant_indexes=True)
        try:
            with database_errors(source):
                conn.execute("BEGIN")
                _Import(conn, v3).run()
                create_indexes(conn)
                conn.execute("COMMIT")
        finally:
            conn.close()


def _mentions_expandable(grant: grant_pb2.Grant) -> bool:
    # A superset of the v1 split's own test (it matches the name after the last '/').
    return any(a.type_url.endswith(EXPANDABLE_NAME) for a in grant.annotations)


def _time(ts: Timestamp, default: str) -> str:
    if not ts.seconds and not ts.nanos:
        return default
    return _format_ns(ts.seconds * 1_000_000_000 + ts.nanos)


@functools.lru_cache(maxsize=1024)
def _format_ns(unix_ns: int) -> str:
    # Records of one sync share few distinct discovery times; formatting local time is not free.
    return format_ns(unix_ns)


class _Import:
    def __init__(self, conn: sqlite3.Connection, v3: V3File) -> None:
        self._conn = conn
        self._v3 = v3
        self._resource_cache: tuple[str, resource_pb2.Resource | None] = ("", None)
        self._entitlement_cache: tuple[str, entitlement_pb2.Entitlement | None] = ("", None)

    def run(self) -> None:
        run = self._v3.sync_run()
        if run is None:
            return
        sync_id = run.sync_id
        started = _time(run.started_at, "1970-01-01 00:00:00")
        ended = _time(run.ended_at, "") or None
        sync_type = _SYNC_TYPES.get(run.type, "full")
        self._conn.execute(
            _INSERT_RUN,
            (
                sync_id,
                started,
                ended,
                run.sync_token,
                sync_type,
                run.parent_sync_id,
                run.linked_sync_id,
                int(run.supports_diff),
            ),
        )
        v3 = self._v3
        self._insert(
            _INSERT_RESOURCE_TYPE,
            (
                rows.resource_type_row(mapping.resource_type(r), sync_id, _time(r.discovered_at, started))
                for r in v3.resource_types()
            ),
        )
        self._insert(
            _INSERT_RESOURCE,
            (
                rows.resource_row(mapping.resource(r), sync_id, _time(r.discovered_at, started))
                for r in v3.resources()
            ),
        )
        self._insert(
            _INSERT_ENTITLEMENT,
            (
                rows.entitlement_row(self._entitlement(r, sync_id), sync_id, _time(r.discovered_at, started))
                for r in v3.entitlements()
            ),
        )
        self._insert(_INSERT_GRANT, self._grant_rows(v3.grants(), sync_id, started))
        stats = compute_stats(self._conn, sync_id, sync_type)
        self._conn.execute(
            "UPDATE v1_sync_runs SET stats = ? WHERE sync_id = ?", (stats_json(stats), sync_id)
        )

    def _insert(self, sql: str, items: Iterator[tuple[object, ...]]) -> None:
        while chunk := list(islice(items, _CHUNK)):
            self._conn.executemany(sql, chunk)

    def _entitlement(
        self, record: records_pb2.EntitlementRecord, sync_id: str
    ) -> entitlement_pb2.Entitlement:
        out = mapping.entitlement(record)
        full = self._resource(sync_id, record.resource.resource_type_id, record.resource.resource_id)
        if full is not None:
            out.resource.CopyFrom(full)
        return out

    def _grant_rows(
        self, records: Iterable[records_pb2.GrantRecord], sync_id: str, started: str
    ) -> Iterator[tuple[object, ...]]:
        for record in records:
            yield self.grant_row(record, sync_id, _time(record.discovered_at, started))

    def grant_row(self, record: records_pb2.GrantRecord, sync_id: str, now: str) -> tuple[object, ...]:
        """The v1 row of ``record``: what ``general_grant_row`` gives, without packing the
        GrantExpandable annotation only for the v1 split to strip it again."""
        grant, expandable = mapping.grant_and_expansion(record)
        if grant.annotations and _mentions_expandable(grant):
            return self.general_grant_row(record, sync_id, now)  # the record carries one itself
        self._fill_entitlement(grant, sync_id)
        expansion = None
        if expandable is not None and any(eid.strip() for eid in expandable.entitlement_ids):
            expansion = expandable.SerializeToString(deterministic=True)
        ref = grant.entitlement
        target = ref.resource.id
        principal = grant.principal.id
        return (
            target.resource_type,
            target.resource,
            ref.id,
            principal.resource_type,
            principal.resource,
            grant.id,
            expansion,
            int(record.needs_expansion),
            grant.SerializeToString(deterministic=True),
            sync_id,
            now,
        )

    def general_grant_row(
        self, record: records_pb2.GrantRecord, sync_id: str, now: str
    ) -> tuple[object, ...]:
        """The mapped grant (annotation included) through the v1 row builder every writer uses."""
        grant = mapping.grant(record)
        self._fill_entitlement(grant, sync_id)
        row = list(rows.grant_row(grant, sync_id, now))
        row[7] = int(record.needs_expansion)  # the record says; v1 derives it from the column
        return tuple(row)

    def _fill_entitlement(self, grant: grant_pb2.Grant, sync_id: str) -> None:
        ref = grant.entitlement
        if grant.annotations and has_any(grant.annotations, GRANT_IMMUTABLE):
            # Grants made by expansion carry the whole entitlement in upstream's v1 files.
            full_entitlement = self._stored_entitlement(sync_id, ref.id)
            if full_entitlement is not None:
                ref.CopyFrom(full_entitlement)
                return
        rid = ref.resource.id
        full = self._resource(sync_id, rid.resource_type, rid.resource)
        if full is not None:
            ref.resource.CopyFrom(full)

    def _resource(self, sync_id: str, type_id: str, resource_id: str) -> resource_pb2.Resource | None:
        # Grants come in entitlement key order, so consecutive lookups mostly repeat.
        key = f"{type_id}:{resource_id}"
        if self._resource_cache[0] == key:
            return self._resource_cache[1]
        row = self._conn.execute(
            "SELECT data FROM v1_resources WHERE external_id = ? AND sync_id = ?", (key, sync_id)
        ).fetchone()
        found = resource_pb2.Resource.FromString(row[0]) if row else None
        self._resource_cache = (key, found)
        return found

    def _stored_entitlement(self, sync_id: str, entitlement_id: str) -> entitlement_pb2.Entitlement | None:
        if self._entitlement_cache[0] == entitlement_id:
            return self._entitlement_cache[1]
        row = self._conn.execute(
            "SELECT data FROM v1_entitlements WHERE external_id = ? AND sync_id = ?",
            (entitlement_id, sync_id),
        ).fetchone()
        found = entitlement_pb2.Entitlement.FromString(row[0]) if row else None
        self._entitlement_cache = (entitlement_id, found)
        return found
