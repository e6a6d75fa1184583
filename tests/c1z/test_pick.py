"""Which sync a reader shows (c1z.md §8), on hand-built files with controlled timestamps."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader
from baton_cli.c1z.timefmt import format_datetime
from tests.c1z.helpers import make_c1z

NOW = datetime.now()


def _ago(**delta: float) -> str:
    return format_datetime(NOW - timedelta(**delta))


# Old-style sync_runs table (SDK v0.2.x, no sync_type column): the reader must migrate it.
_OLD_SCHEMA = (
    "CREATE TABLE v1_sync_runs (id integer primary key, sync_id text not null,"
    " started_at datetime not null, ended_at datetime, sync_token text not null)"
)


def _file(tmp_path: Path, runs: list[tuple[str, str, str | None, str]]) -> Path:
    """runs: (sync_id, started_at, ended_at, sync_type)."""

    def build(conn: sqlite3.Connection) -> None:
        conn.execute(_OLD_SCHEMA)
        conn.execute("ALTER TABLE v1_sync_runs ADD COLUMN sync_type text not null default 'full'")
        conn.executemany(
            "INSERT INTO v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type)"
            " VALUES (?, ?, ?, '', ?)",
            runs,
        )

    return make_c1z(tmp_path / "runs.c1z", tmp_path / "build", build)


def _picked(tmp_path: Path, runs: list[tuple[str, str, str | None, str]], sync_id: str | None = None) -> str:
    with C1ZReader.open(_file(tmp_path, runs), tmp_dir=tmp_path) as reader:
        return reader.pick_sync(sync_id).sync_id


def test_latest_finished_full_by_ended_at(tmp_path: Path) -> None:
    runs = [
        ("A", _ago(days=3), _ago(days=1), "full"),
        ("B", _ago(days=2), _ago(days=2), "full"),  # started later, ended earlier
        ("C", _ago(hours=5), _ago(hours=4), "partial"),
        ("D", _ago(hours=1), None, "full"),
    ]
    assert _picked(tmp_path, runs) == "A"


def test_ended_at_tie_breaks_on_sync_id_descending(tmp_path: Path) -> None:
    end = _ago(hours=1)
    assert _picked(tmp_path, [("K1", _ago(hours=3), end, "full"), ("K2", _ago(hours=2), end, "full")]) == "K2"


def test_recent_unfinished_when_no_full_sync_finished(tmp_path: Path) -> None:
    runs = [
        ("OLD", _ago(days=30), None, "full"),
        ("RECENT", _ago(days=6), None, "full"),
        ("NEWER", _ago(days=1), None, "partial"),
    ]
    assert _picked(tmp_path, runs) == "NEWER"


def test_fallbacks_for_inspection(tmp_path: Path) -> None:
    # Nothing upstream would pick: a finished non-full sync first, else the newest unfinished.
    assert (
        _picked(
            tmp_path / "a",
            [("P", _ago(days=20), _ago(days=20), "partial"), ("U", _ago(days=9), None, "full")],
        )
        == "P"
    )
    assert (
        _picked(tmp_path / "b", [("U1", _ago(days=30), None, "full"), ("U2", _ago(days=9), None, "full")])
        == "U2"
    )


def test_explicit_id_wins(tmp_path: Path) -> None:
    runs = [("A", _ago(days=3), _ago(days=1), "full"), ("D", _ago(hours=1), None, "full")]
    assert _picked(tmp_path, runs, "D") == "D"


def test_old_sync_runs_table_is_migrated(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute(_OLD_SCHEMA)
        conn.execute(
            "INSERT INTO v1_sync_runs (sync_id, started_at, ended_at, sync_token) VALUES ('S', ?, ?, 'tok')",
            (_ago(days=1), _ago(hours=1)),
        )

    with C1ZReader.open(make_c1z(tmp_path / "old.c1z", tmp_path / "b", build), tmp_dir=tmp_path) as reader:
        run = reader.pick_sync()
    assert (run.sync_id, run.sync_type, run.parent_sync_id, run.sync_token, run.stats) == (
        "S",
        "full",
        "",
        "tok",
        None,
    )


@pytest.mark.parametrize("stats", ["not json", "[1, 2]", ""])
def test_unusable_stats_read_as_none(tmp_path: Path, stats: str) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute(_OLD_SCHEMA)
        conn.execute("ALTER TABLE v1_sync_runs ADD COLUMN stats text")
        conn.execute(
            "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token, stats) VALUES ('S', ?, '', ?)",
            (_ago(days=1), stats),
        )

    with C1ZReader.open(make_c1z(tmp_path / "s.c1z", tmp_path / "b", build), tmp_dir=tmp_path) as reader:
        assert reader.pick_sync().stats is None
