"""The ``v1_sync_runs.stats`` JSON (c1z.md §6), computed with SQL over one sync's rows.

The shape mirrors Go's JSON encoding of ``c1.reader.v2.SyncStats``: snake_case
keys in proto field order, zero/empty values omitted, map keys sorted.
"""

from __future__ import annotations

import json
import sqlite3

_RESOURCES_ONLY = "resources_only"


def compute_stats(conn: sqlite3.Connection, sync_id: str, sync_type: str = "full") -> dict[str, object]:
    type_ids = [
        row[0]
        for row in conn.execute(
            "SELECT external_id FROM v1_resource_types WHERE sync_id = ? ORDER BY external_id", (sync_id,)
        )
    ]
    # Pre-seeded so every catalogued type shows up, and only catalogued types are counted.
    resources_by_type = dict.fromkeys(type_ids, 0)
    for type_id, count in _grouped(conn, "v1_resources", sync_id):
        if type_id in resources_by_type:
            resources_by_type[type_id] = count
    detailed = sync_type != _RESOURCES_ONLY
    entitlements_by_type = dict(_grouped(conn, "v1_entitlements", sync_id)) if detailed else {}
    grants_by_type = dict(_grouped(conn, "v1_grants", sync_id)) if detailed else {}
    stats: dict[str, object] = {}
    _put(stats, "resource_types", len(type_ids))
    _put(stats, "resources", sum(resources_by_type.values()))
    _put(stats, "entitlements", sum(entitlements_by_type.values()))
    _put(stats, "grants", sum(grants_by_type.values()))
    _put(stats, "resources_by_resource_type", resources_by_type)
    _put(stats, "grants_by_resource_type", grants_by_type)
    _put(stats, "entitlements_by_resource_type", entitlements_by_type)
    _put(stats, "assets", _count(conn, "v1_assets", sync_id))
    return stats


def stats_json(stats: dict[str, object]) -> str:
    return json.dumps(stats, separators=(",", ":"), ensure_ascii=False)


def parse_stats(text: str | None) -> dict[str, object] | None:
    """The stored stats object, or None when absent or not a JSON object."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _grouped(conn: sqlite3.Connection, table: str, sync_id: str) -> list[tuple[str, int]]:
    return conn.execute(
        f"SELECT resource_type_id, count(*) FROM {table} WHERE sync_id = ?"
        " GROUP BY resource_type_id ORDER BY resource_type_id",
        (sync_id,),
    ).fetchall()


def _count(conn: sqlite3.Connection, table: str, sync_id: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table} WHERE sync_id = ?", (sync_id,)).fetchone()
    return int(row[0])


def _put(stats: dict[str, object], key: str, value: int | dict[str, int]) -> None:
    if value:
        stats[key] = value
