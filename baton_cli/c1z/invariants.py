"""Post-collection ingestion invariants over one sync (runner.md §7.9).

I7 (entitlement -> resource), I8 (grant -> entitlement) and I9 (grant -> principal)
are referential checks that only warn; I5 (entitlement exclusion groups) fails
the sync. The SQL joins use the upstream unique (external_id, sync_id) indexes.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from baton_cli.annotations import EXTERNAL_RESOURCE_MATCH, has_any, type_url
from baton_cli.pb.c1.connector.v2 import (
    annotation_exclusion_group_pb2,
    entitlement_pb2,
    grant_pb2,
)

COVERAGE = ("I5", "I7", "I8", "I9")
MAX_GROUP_MEMBERS = 50

_EXCLUSION_URL = type_url(annotation_exclusion_group_pb2.EntitlementExclusionGroup)


@dataclass(frozen=True, slots=True)
class InvariantReport:
    warnings: dict[str, int] = field(default_factory=dict)  # invariant id -> violating rows
    failures: tuple[str, ...] = ()  # one line each


def check_invariants(conn: sqlite3.Connection, sync_id: str) -> InvariantReport:
    warnings = {
        "I7": _count(
            conn,
            "SELECT count(*) FROM v1_entitlements e WHERE e.sync_id = ? AND NOT EXISTS ("
            " SELECT 1 FROM v1_resources r WHERE r.external_id = e.resource_type_id || ':' || e.resource_id"
            " AND r.sync_id = e.sync_id)",
            sync_id,
        ),
        "I8": _count(
            conn,
            "SELECT count(*) FROM v1_grants g WHERE g.sync_id = ? AND NOT EXISTS ("
            " SELECT 1 FROM v1_entitlements e"
            " WHERE e.external_id = g.entitlement_id AND e.sync_id = g.sync_id)",
            sync_id,
        ),
        "I9": _dangling_principals(conn, sync_id),
    }
    return InvariantReport(
        {k: v for k, v in warnings.items() if v}, tuple(_exclusion_group_failures(conn, sync_id))
    )


def _count(conn: sqlite3.Connection, sql: str, sync_id: str) -> int:
    row = conn.execute(sql, (sync_id,)).fetchone()
    return int(row[0]) if row else 0


def _dangling_principals(conn: sqlite3.Connection, sync_id: str) -> int:
    cursor = conn.execute(
        "SELECT g.data FROM v1_grants g WHERE g.sync_id = ? AND NOT EXISTS ("
        " SELECT 1 FROM v1_resources r"
        " WHERE r.external_id = g.principal_resource_type_id || ':' || g.principal_resource_id"
        " AND r.sync_id = g.sync_id)",
        (sync_id,),
    )
    dangling = 0
    for (data,) in cursor:
        grant = grant_pb2.Grant.FromString(data)
        if not has_any(grant.annotations, EXTERNAL_RESOURCE_MATCH):
            dangling += 1  # external principals are resolved later, by the platform
    return dangling


def _exclusion_group_failures(conn: sqlite3.Connection, sync_id: str) -> list[str]:
    # Only entitlements whose blob mentions the annotation type are decoded.
    cursor = conn.execute(
        "SELECT data FROM v1_entitlements WHERE sync_id = ? AND instr(data, ?) > 0",
        (sync_id, _EXCLUSION_URL.encode()),
    )
    members: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for (data,) in cursor:
        entitlement = entitlement_pb2.Entitlement.FromString(data)
        for annotation in entitlement.annotations:
            if annotation.type_url == _EXCLUSION_URL:
                group = annotation_exclusion_group_pb2.EntitlementExclusionGroup()
                annotation.Unpack(group)
                resource_type = entitlement.resource.id.resource_type
                members[group.exclusion_group_id].append((entitlement.id, resource_type, group.is_default))
    failures = []
    for group_id, entries in sorted(members.items()):
        defaults = [e for e, _t, is_default in entries if is_default]
        types = sorted({t for _e, t, _d in entries})
        if len(defaults) > 1:
            failures.append(
                f"exclusion group {group_id!r} has {len(defaults)} defaults ({', '.join(defaults[:3])})"
            )
        if len(types) > 1:
            failures.append(f"exclusion group {group_id!r} spans resource types {', '.join(types)}")
        if len(entries) > MAX_GROUP_MEMBERS:
            failures.append(
                f"exclusion group {group_id!r} has {len(entries)} entitlements (at most {MAX_GROUP_MEMBERS})"
            )
    return failures


def mark_verified(conn: sqlite3.Connection, sync_id: str) -> None:
    """Record that the invariants passed (c1z.md §4.4; written after ended_at)."""
    coverage = "[" + ",".join(f'"{i}"' for i in COVERAGE) + "]"
    conn.execute(
        "UPDATE v1_sync_runs SET ingest_invariant_generation = '1', ingest_invariant_coverage = ?,"
        " ingest_invariant_mode = 'connector' WHERE sync_id = ?",
        (coverage, sync_id),
    )
