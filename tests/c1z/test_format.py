"""Our writer's output looks like upstream's: container bytes, SQLite settings, exact schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import zstandard

from baton_cli.c1z import C1ZWriter
from baton_cli.pb.c1.connector.v2 import resource_pb2
from tests.c1z.helpers import NEWEST_V1_FIXTURE, columns, decompress, fixture, indexes, open_db

# c1z.md §4, transcribed: (name, declared type, notnull, default, pk)
_ID = ("id", "integer", 0, None, 1)
EXPECTED_COLUMNS = {
    "v1_resource_types": [
        _ID,
        ("external_id", "text", 1, None, 0),
        ("data", "blob", 1, None, 0),
        ("sync_id", "text", 1, None, 0),
        ("discovered_at", "datetime", 1, None, 0),
    ],
    "v1_resources": [
        _ID,
        ("resource_type_id", "text", 1, None, 0),
        ("external_id", "text", 1, None, 0),
        ("parent_resource_type_id", "text", 0, None, 0),
        ("parent_resource_id", "text", 0, None, 0),
        ("data", "blob", 1, None, 0),
        ("sync_id", "text", 1, None, 0),
        ("discovered_at", "datetime", 1, None, 0),
    ],
    "v1_entitlements": [
        _ID,
        ("resource_type_id", "text", 1, None, 0),
        ("resource_id", "text", 1, None, 0),
        ("external_id", "text", 1, None, 0),
        ("data", "blob", 1, None, 0),
        ("sync_id", "text", 1, None, 0),
        ("discovered_at", "datetime", 1, None, 0),
    ],
    "v1_sync_runs": [
        _ID,
        ("sync_id", "text", 1, None, 0),
        ("started_at", "datetime", 1, None, 0),
        ("ended_at", "datetime", 0, None, 0),
        ("sync_token", "text", 1, None, 0),
        ("sync_type", "text", 1, "'full'", 0),
        ("parent_sync_id", "text", 1, "''", 0),
        ("linked_sync_id", "text", 1, "''", 0),
        ("supports_diff", "integer", 1, "0", 0),
        ("grants_backfilled", "integer", 1, "0", 0),
        ("stats", "text", 0, None, 0),
        ("ingest_invariant_generation", "text", 1, "''", 0),
        ("ingest_invariant_coverage", "text", 1, "''", 0),
        ("ingest_invariant_mode", "text", 1, "''", 0),
    ],
    "v1_grants": [
        _ID,
        ("resource_type_id", "text", 1, None, 0),
        ("resource_id", "text", 1, None, 0),
        ("entitlement_id", "text", 1, None, 0),
        ("principal_resource_type_id", "text", 1, None, 0),
        ("principal_resource_id", "text", 1, None, 0),
        ("external_id", "text", 1, None, 0),
        ("expansion", "blob", 0, None, 0),
        ("needs_expansion", "integer", 1, "0", 0),
        ("data", "blob", 1, None, 0),
        ("sync_id", "text", 1, None, 0),
        ("discovered_at", "datetime", 1, None, 0),
    ],
    "v1_assets": [
        _ID,
        ("external_id", "text", 1, None, 0),
        ("content_type", "text", 1, None, 0),
        ("data", "blob", 1, None, 0),
        ("sync_id", "text", 1, None, 0),
        ("discovered_at", "datetime", 1, None, 0),
    ],
    "v1_connector_sessions": [
        _ID,
        ("sync_id", "text", 1, None, 0),
        ("key", "text", 1, None, 0),
        ("value", "blob", 1, None, 0),
    ],
}
TABLE_ORDER = list(EXPECTED_COLUMNS)  # creation order, §4
# c1z.md §4 index tables: name -> (table, unique, columns, partial)
EXPECTED_INDEXES = {
    "idx_resource_types_external_sync_v1": ("v1_resource_types", True, ("external_id", "sync_id"), False),
    "idx_resources_resource_type_id_v1": ("v1_resources", False, ("resource_type_id",), False),
    "idx_resources_external_sync_v1": (
        "v1_resources",
        False,
        ("parent_resource_type_id", "parent_resource_id"),
        False,
    ),
    "idx_resources_parent_resource_id_v1": ("v1_resources", True, ("external_id", "sync_id"), False),
    "idx_entitlements_resource_id_v1": ("v1_entitlements", False, ("resource_type_id", "resource_id"), False),
    "idx_entitlements_external_sync_v1": ("v1_entitlements", True, ("external_id", "sync_id"), False),
    "idx_sync_runs_sync_id_v1": ("v1_sync_runs", True, ("sync_id",), False),
    "idx_grants_resource_type_id_resource_id_v1": (
        "v1_grants",
        False,
        ("resource_type_id", "resource_id"),
        False,
    ),
    "idx_grants_principal_id_v1": (
        "v1_grants",
        False,
        ("principal_resource_type_id", "principal_resource_id"),
        False,
    ),
    "idx_grants_entitlement_id_principal_id_v1": (
        "v1_grants",
        False,
        ("entitlement_id", "principal_resource_type_id", "principal_resource_id"),
        False,
    ),
    "idx_grants_external_sync_v1": ("v1_grants", True, ("external_id", "sync_id"), False),
    "idx_grants_entitlement_sync_grant_v1": ("v1_grants", False, ("entitlement_id", "sync_id", "id"), False),
    "idx_grants_sync_expansion_v1": ("v1_grants", False, ("sync_id",), True),
    "idx_grants_sync_needs_expansion_v1": ("v1_grants", False, ("sync_id",), True),
    "idx_assets_external_sync_v1": ("v1_assets", True, ("external_id", "sync_id"), False),
    "idx_session_store_sync_key_v1": ("v1_connector_sessions", True, ("sync_id", "key"), False),
}


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "out.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path) as writer:
        writer.start_sync()
        writer.put_resource_types([resource_pb2.ResourceType(id="user", display_name="User")])
        writer.end_sync()
        writer.save()
    return path


def _tables_in_creation_order(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]


def test_container_header_and_single_checksummed_frame(written: Path) -> None:
    data = written.read_bytes()
    assert data[:5] == b"C1ZF\x00"
    assert data[5:9] == b"\x28\xb5\x2f\xfd"
    descriptor = data[9]
    assert descriptor & 0x04, "content checksum flag"
    assert descriptor >> 6 or descriptor & 0x20, "frame content size present"
    params = zstandard.get_frame_parameters(data[5:])
    db = decompress(written)
    assert params.content_size == len(db)
    assert params.has_checksum
    assert params.window_size <= 128 * 1024 * 1024
    # One frame: decoding the first frame consumes the whole body.
    first = zstandard.ZstdDecompressor().decompressobj()
    assert first.decompress(data[5:]) == db
    assert first.eof and first.unused_data == b""


def test_database_settings(written: Path) -> None:
    db = decompress(written)
    assert db[:16] == b"SQLite format 3\x00"
    assert int.from_bytes(db[16:18], "big") == 4096  # page size
    assert db[18:20] == b"\x01\x01", "legacy rollback-journal file format, not WAL"
    assert int.from_bytes(db[60:64], "big") == 0  # user_version
    assert int.from_bytes(db[68:72], "big") == 0  # application_id
    assert int.from_bytes(db[56:60], "big") == 1  # text encoding UTF-8


def test_no_work_files_left_next_to_the_output(written: Path) -> None:
    assert sorted(p.name for p in written.parent.iterdir()) == ["out.c1z"]


def test_schema_matches_the_spec(written: Path, tmp_path: Path) -> None:
    with open_db(written, tmp_path / "x") as conn:
        assert _tables_in_creation_order(conn) == TABLE_ORDER
        for table, expected in EXPECTED_COLUMNS.items():
            got = [(n, t.lower(), nn, d, pk) for n, t, nn, d, pk in columns(conn, table)]
            assert got == expected, table
        assert indexes(conn) == EXPECTED_INDEXES


def test_schema_matches_the_newest_upstream_file(written: Path, tmp_path: Path) -> None:
    with (
        open_db(written, tmp_path / "ours") as ours,
        open_db(fixture(NEWEST_V1_FIXTURE), tmp_path / "theirs") as theirs,
    ):
        assert _tables_in_creation_order(ours) == _tables_in_creation_order(theirs)
        for table in TABLE_ORDER:
            assert columns(ours, table) == columns(theirs, table), table
        assert indexes(ours) == indexes(theirs)
        assert (
            ours.execute("PRAGMA auto_vacuum").fetchone() == theirs.execute("PRAGMA auto_vacuum").fetchone()
        )


def test_rewriting_a_wal_mode_upstream_file_gives_a_rollback_journal_file(tmp_path: Path) -> None:
    source = fixture("small-unexpanded.c1z")
    assert decompress(source)[18:20] == b"\x02\x02"  # upstream left this one in WAL mode
    copy = tmp_path / "copy.c1z"
    copy.write_bytes(source.read_bytes())
    with C1ZWriter.open(copy, tmp_dir=tmp_path) as writer:
        writer.start_sync()
        writer.end_sync()
        writer.save()
    db = decompress(copy)
    assert db[18:20] == b"\x01\x01"
    with open_db(copy, tmp_path / "db") as conn:
        assert conn.execute("SELECT count(*) FROM v1_sync_runs").fetchone() == (2,)
        assert indexes(conn) == EXPECTED_INDEXES  # the old file's missing indexes were added
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
