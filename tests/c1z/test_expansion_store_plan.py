"""Grant expansion's principal lookup is served by the (entitlement, principal) index."""

from __future__ import annotations

import sqlite3

from baton_cli.c1z.expansion_store import principal_lookup_sql
from baton_cli.c1z.schema import ensure_schema


def test_principal_lookup_uses_the_principal_index_not_an_entitlement_scan() -> None:
    conn = sqlite3.connect(":memory:")
    ensure_schema(conn)
    plan = conn.execute("EXPLAIN QUERY PLAN " + principal_lookup_sql(3), ("e", "user", "a", "b", "c", "s"))
    details = " ".join(row[3] for row in plan)
    assert "idx_grants_entitlement_id_principal_id_v1" in details
    assert "principal_resource_id=?" in details
