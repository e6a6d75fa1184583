"""Grant expansion's principal lookup is served by the (entitlement, principal) index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZWriter, expansion_store
from baton_cli.c1z.expansion_store import SqliteExpansionStore, principal_lookup_sql
from baton_cli.c1z.schema import DEFERRABLE_INDEXES, EXPANSION_INDEXES, create_indexes, ensure_schema
from baton_cli.pb.c1.connector.v2 import grant_pb2


def test_principal_lookup_uses_the_principal_index_not_an_entitlement_scan() -> None:
    conn = sqlite3.connect(":memory:")
    ensure_schema(conn)
    plan = conn.execute("EXPLAIN QUERY PLAN " + principal_lookup_sql(3), ("e", "user", "a", "b", "c", "s"))
    details = " ".join(row[3] for row in plan)
    assert "idx_grants_entitlement_id_principal_id_v1" in details
    assert "principal_resource_id=?" in details


def _grant_indexes(conn: sqlite3.Connection) -> set[str]:
    sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'v1_grants'"
    return {row[0] for row in conn.execute(sql)}


def test_a_fresh_sync_expands_with_only_the_indexes_expansion_reads(tmp_path: Path) -> None:
    # Every index present while expansion writes costs an insert per grant; the rest come after.
    with C1ZWriter.open(tmp_path / "s.c1z", tmp_dir=tmp_path) as writer:
        writer.start_sync()
        writer.expansion_store()
        present = _grant_indexes(writer._conn)
        assert present >= EXPANSION_INDEXES
        assert not (DEFERRABLE_INDEXES - EXPANSION_INDEXES) & present
        writer.end_sync()
        assert _grant_indexes(writer._conn) >= DEFERRABLE_INDEXES
        writer.save()


def test_every_expansion_query_is_served_by_an_index_built_for_it() -> None:
    conn = sqlite3.connect(":memory:")
    ensure_schema(conn, defer_grant_indexes=True)
    create_indexes(conn, only=EXPANSION_INDEXES)
    store = SqliteExpansionStore(conn, "s")
    _insert_grant(conn, "e", "user", "a")  # so the lookup runs after its probe
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    list(store.pending_expansions())
    list(store.holder_pages("e", ["user"]))
    list(store.holder_pages("e"))
    assert list(store.grants_for_principals("e", [("user", "a")])) == [("user", "a")]
    conn.set_trace_callback(None)
    assert len(seen) == 5
    for sql in seen:  # the trace gives each statement with its parameters bound
        steps = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql) if "v1_grants" in row[3]]
        # SEARCH ... USING INDEX: a range of an index; SCAN would read the whole table or index.
        assert steps and all(step.startswith("SEARCH v1_grants USING") for step in steps), (sql, steps)


def test_deferred_indexes_are_built_with_a_smaller_page_cache_and_it_is_restored(tmp_path: Path) -> None:
    # SQLite's sorter may take as much memory as the page cache: a smaller cache while indexes
    # are built lowers a sync's peak memory; the cache the writer works with comes back after.
    with C1ZWriter.open(tmp_path / "s.c1z", tmp_dir=tmp_path) as writer:
        writer.start_sync()
        conn = writer._conn
        working = conn.execute("PRAGMA cache_size").fetchone()[0]
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        writer.expansion_store()
        writer.end_sync()
        conn.set_trace_callback(None)
        creates = [i for i, sql in enumerate(seen) if sql.startswith("CREATE INDEX")]
        shrinks = [i for i, sql in enumerate(seen) if sql == "PRAGMA cache_size = -4096"]
        restores = [i for i, sql in enumerate(seen) if sql == f"PRAGMA cache_size = {working}"]
        assert creates and len(shrinks) == len(restores) == 2
        for index in creates:
            assert any(s < index < r for s, r in zip(shrinks, restores, strict=True))
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == working == -16384
        writer.save()


def _insert_grant(
    conn: sqlite3.Connection, entitlement_id: str, principal_type: str, principal_id: str
) -> None:
    grant = grant_pb2.Grant(id=f"{entitlement_id}:{principal_type}:{principal_id}")
    grant.entitlement.id = entitlement_id
    grant.principal.id.resource_type, grant.principal.id.resource = principal_type, principal_id
    conn.execute(
        "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id,"
        " principal_resource_id, external_id, data, sync_id, discovered_at)"
        " VALUES ('r', 'r', ?, ?, ?, ?, ?, 's', '')",
        (entitlement_id, principal_type, principal_id, grant.id, grant.SerializeToString()),
    )


def test_principal_lookup_probes_each_type_once_and_still_finds_every_grant() -> None:
    conn = sqlite3.connect(":memory:")
    ensure_schema(conn)
    store = SqliteExpansionStore(conn, "s")
    _insert_grant(conn, "e", "group", "g1")
    _insert_grant(conn, "e", "user", "u2")
    _insert_grant(conn, "other", "user", "u1")
    asked = [("user", "u1"), ("user", "u2"), ("group", "g1"), ("group", "g2"), ("team", "t1")]
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    found = store.grants_for_principals("e", asked)
    conn.set_trace_callback(None)
    assert {key: [g.id for g in grants] for key, grants in found.items()} == {
        ("user", "u2"): ["e:user:u2"],
        ("group", "g1"): ["e:group:g1"],
    }
    # One probe per principal type; the holder lookup only for the types the entitlement has.
    assert len(seen) == 3 + 2
    assert sum("IN (" in sql for sql in seen) == 2


def test_holder_pages_page_through_every_grant_in_principal_order(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sqlite3.connect(":memory:")
    ensure_schema(conn)
    for principal_type, principal_id in [
        ("user", "b"),
        ("group", "z"),
        ("user", "a"),
        ("user", "c"),
        ("team", "t"),
    ]:
        _insert_grant(conn, "e", principal_type, principal_id)
    _insert_grant(conn, "other", "user", "a")
    monkeypatch.setattr(expansion_store, "PAGE_ROWS", 2)
    store = SqliteExpansionStore(conn, "s")

    def read(*types: str) -> list[list[tuple[str, str]]]:
        return [[(row[0], row[1]) for row in page] for page in store.holder_pages("e", types)]

    assert read() == [[("group", "z"), ("team", "t")], [("user", "a"), ("user", "b")], [("user", "c")]]
    assert read("user", "group") == [[("group", "z")], [("user", "a"), ("user", "b")], [("user", "c")]]
