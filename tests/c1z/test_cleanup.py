"""Cleanup of old syncs after a successful sync (c1z.md §9)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader, C1ZWriter
from baton_cli.c1z.cleanup import (
    DEFAULT_KEEP,
    CleanupSettings,
    RunInfo,
    cleanup_old_syncs,
    select_syncs_to_delete,
)
from baton_cli.connector.api import ResourceId
from baton_cli.core.sync_options import SyncOptions
from baton_cli.errors import FailedPreconditionError, UsageError
from baton_cli.pb.c1.connector.v2 import resource_pb2
from baton_cli.wiring import PluginRequest, run_local_sync
from tests.c1z.helpers import V1_FIXTURES, fixture, open_db

DATA_TABLES = (
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
    "v1_assets",
    "v1_connector_sessions",
)
TARGETED = SyncOptions(targets=(ResourceId(resource_type="user", resource="u0000001"),))


@pytest.fixture(autouse=True)
def _default_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATON_KEEP_SYNC_COUNT", raising=False)
    monkeypatch.delenv("BATON_SKIP_CLEANUP", raising=False)


def demo_sync(out: Path, *, users: int = 30, options: SyncOptions | None = None) -> str:
    args = ["--users", str(users), "--groups", "3", "--memberships", str(users), "--roles", "1"]
    return run_local_sync(PluginRequest(spec="demo", args=args), out, options=options).sync_id


def sync_ids(path: Path) -> list[str]:
    with C1ZReader.open(path) as reader:
        return [run.sync_id for run in reader.syncs()]


def rows_by_sync(path: Path, scratch: Path) -> dict[str, int]:
    with open_db(path, scratch) as conn:
        counts: dict[str, int] = {}
        for table in DATA_TABLES:
            for sync_id, count in conn.execute(f"SELECT sync_id, count(*) FROM {table} GROUP BY sync_id"):
                counts[sync_id] = counts.get(sync_id, 0) + count
        return counts


def test_four_demo_syncs_leave_the_newest_two(tmp_path: Path) -> None:
    out = tmp_path / "sync.c1z"
    ids = [demo_sync(out) for _ in range(4)]

    assert sync_ids(out) == ids[2:]
    assert rows_by_sync(out, tmp_path / "db").keys() == set(ids[2:])  # no rows of deleted syncs remain
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "sync.c1z"]  # no work dir or WAL left


def test_keep_count_and_skip_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_KEEP_SYNC_COUNT", "3")
    three = tmp_path / "three.c1z"
    ids = [demo_sync(three) for _ in range(4)]
    assert sync_ids(three) == ids[1:]

    monkeypatch.setenv("BATON_SKIP_CLEANUP", "true")
    monkeypatch.setenv("BATON_KEEP_SYNC_COUNT", "1")
    every = tmp_path / "every.c1z"
    ids = [demo_sync(every) for _ in range(4)]
    assert sync_ids(every) == ids


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, CleanupSettings(DEFAULT_KEEP, skip=False)),
        ({"BATON_KEEP_SYNC_COUNT": "5"}, CleanupSettings(5)),
        ({"BATON_KEEP_SYNC_COUNT": "+1"}, CleanupSettings(1)),
        # Unusable counts mean the default, as upstream (Go ParseInt, then > 0).
        ({"BATON_KEEP_SYNC_COUNT": "0"}, CleanupSettings(DEFAULT_KEEP)),
        ({"BATON_KEEP_SYNC_COUNT": "-3"}, CleanupSettings(DEFAULT_KEEP)),
        ({"BATON_KEEP_SYNC_COUNT": " 4"}, CleanupSettings(DEFAULT_KEEP)),
        ({"BATON_KEEP_SYNC_COUNT": "two"}, CleanupSettings(DEFAULT_KEEP)),
        # Go ParseBool spellings only.
        ({"BATON_SKIP_CLEANUP": "true"}, CleanupSettings(skip=True)),
        ({"BATON_SKIP_CLEANUP": "1"}, CleanupSettings(skip=True)),
        ({"BATON_SKIP_CLEANUP": "T"}, CleanupSettings(skip=True)),
        ({"BATON_SKIP_CLEANUP": "yes"}, CleanupSettings(skip=False)),
        ({"BATON_SKIP_CLEANUP": "false"}, CleanupSettings(skip=False)),
    ],
)
def test_settings_from_env(env: dict[str, str], expected: CleanupSettings) -> None:
    assert CleanupSettings.from_env(env) == expected


def test_settings_must_keep_a_sync() -> None:
    with pytest.raises(UsageError, match="at least one"):
        CleanupSettings(keep=0)


def test_partial_syncs_older_than_the_oldest_kept_full_sync_go(tmp_path: Path) -> None:
    out = tmp_path / "sync.c1z"
    full_1 = demo_sync(out)
    partial_1 = demo_sync(out, options=TARGETED)
    resources_only = demo_sync(out, options=SyncOptions(skip_entitlements_and_grants=True))
    full_2 = demo_sync(out)
    partial_2 = demo_sync(out, options=TARGETED)  # ended after full_2 started: kept
    assert len(sync_ids(out)) == 5  # at most two full syncs so far: nothing deleted yet

    full_3 = demo_sync(out)

    assert full_1 and partial_1 and resources_only
    assert sync_ids(out) == [full_2, partial_2, full_3]


def run(sync_id: str, started: str, ended: str | None, kind: str = "full", link: str = "") -> RunInfo:
    return RunInfo(sync_id, f"2026-01-01 00:00:{started}", ended and f"2026-01-01 00:00:{ended}", kind, link)


def test_policy_never_touches_unfinished_syncs_and_counts_unknown_types_as_full() -> None:
    runs = [
        run("old-unfinished", "00", None),
        run("f1", "01", "02"),
        run("odd", "03", "04", kind="something_new"),
        run("f2", "05", "06"),
        run("open-partial", "07", None, kind="partial"),
    ]
    assert select_syncs_to_delete(runs, keep=2) == ["f1"]
    assert select_syncs_to_delete(runs, keep=1) == ["f1", "odd"]


def test_policy_compares_partial_end_with_the_oldest_kept_start() -> None:
    runs = [
        run("f1", "01", "02"),
        run("p-before", "02", "03", kind="partial"),
        run("r-at-start", "03", "04", kind="resources_only"),  # ends exactly when f2 starts: kept
        run("f2", "04", "06"),
        run("p-during", "05", "07", kind="no_grants"),
        run("f3", "08", "09"),
    ]
    assert select_syncs_to_delete(runs, keep=2) == ["f1", "p-before"]
    # With no full sync deleted, no partial is either.
    assert select_syncs_to_delete(runs, keep=3) == []


def test_policy_keeps_only_the_latest_diff_pair_beyond_two() -> None:
    pair_1 = [
        run("u1", "01", "02", "partial_upserts", "d1"),
        run("d1", "01", "02", "partial_deletions", "u1"),
    ]
    pair_2 = [
        run("u2", "03", "04", "partial_upserts", "d2"),
        run("d2", "03", "04", "partial_deletions", "u2"),
    ]
    assert select_syncs_to_delete(pair_1, keep=2) == []
    assert select_syncs_to_delete([*pair_1, *pair_2], keep=2) == ["u1", "d1"]
    assert select_syncs_to_delete([*pair_1, pair_2[0]], keep=2) == ["u1", "d1"]
    unlinked = [run(s, "01", "02", "partial_upserts") for s in ("a", "b", "c")]
    assert select_syncs_to_delete(unlinked, keep=2) == ["a", "b"]


def _write_sync(writer: C1ZWriter, users: int) -> str:
    sync_id = writer.start_sync()
    writer.put_resource_types([resource_pb2.ResourceType(id="user")])
    writer.put_resources(
        resource_pb2.Resource(
            id=resource_pb2.ResourceId(resource_type="user", resource=f"u{i}"), display_name="x" * 200
        )
        for i in range(users)
    )
    writer.end_sync()
    return sync_id


def test_vacuum_shrinks_the_file_once_old_syncs_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / "big.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path, cleanup=CleanupSettings(skip=True)) as writer:
        for _ in range(3):
            _write_sync(writer, 3000)
        assert writer.last_cleanup is not None and writer.last_cleanup.skipped
        writer.save()
    before = path.stat().st_size

    with C1ZWriter.open(path, tmp_dir=tmp_path, resumable=True) as writer:
        newest = _write_sync(writer, 10)
        assert writer.last_cleanup is None  # no settings: no cleanup
        kept = _write_sync_with_cleanup(writer, keep=1)
        result = writer.last_cleanup
        writer.save()

    assert result is not None and result.vacuumed and not result.skipped
    assert len(result.deleted_sync_ids) == 4 and newest in result.deleted_sync_ids
    assert result.rows_deleted == 3 * (1 + 3000 + 1) + (1 + 10 + 1)
    assert result.bytes_after < result.bytes_before / 10
    assert path.stat().st_size < before / 10
    assert sync_ids(path) == [kept]
    with open_db(path, tmp_path / "db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not left in WAL mode


def _write_sync_with_cleanup(writer: C1ZWriter, keep: int) -> str:
    sync_id = writer.start_sync()
    writer.put_resource_types([resource_pb2.ResourceType(id="user")])
    writer.end_sync(cleanup=CleanupSettings(keep=keep))
    return sync_id


def test_nothing_deleted_means_no_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "one.c1z"
    with C1ZWriter.open(path, tmp_dir=tmp_path, cleanup=CleanupSettings()) as writer:
        _write_sync(writer, 5)
        result = writer.last_cleanup
        writer.save()
    assert result is not None
    assert (result.deleted_sync_ids, result.rows_deleted, result.vacuumed) == ((), 0, False)


def test_cleanup_refuses_an_open_transaction(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    try:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(FailedPreconditionError, match="committed first"):
            cleanup_old_syncs(conn, keep=2, skip=False, label=tmp_path / "x.c1z")
        assert cleanup_old_syncs(conn, keep=2, skip=True, label="x").skipped
    finally:
        conn.close()


@pytest.mark.parametrize("name", sorted(V1_FIXTURES))
def test_upstream_files_still_open_after_a_cleanup(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    shutil.copyfile(fixture(name), path)
    with C1ZReader.open(path) as reader:
        unfinished = [r.sync_id for r in reader.syncs() if not r.finished]

    with C1ZWriter.open(path, tmp_dir=tmp_path, resumable=True, cleanup=CleanupSettings(keep=2)) as writer:
        first = _write_sync(writer, 3)
        assert writer.last_cleanup is not None and not writer.last_cleanup.deleted_sync_ids
        second = _write_sync(writer, 3)
        writer.save()

    # A finished upstream sync is the oldest of three full syncs and goes; an unfinished one stays.
    assert sync_ids(path) == [*unfinished, first, second]
    with C1ZReader.open(path) as reader:
        for sync_id in unfinished:
            counts = reader.counts(sync_id)
            assert (counts.resource_types, counts.resources, counts.entitlements) == V1_FIXTURES[name][:3]
    with open_db(path, tmp_path / "db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
