"""Deleting old syncs from a c1z after a successful sync (c1z.md §9).

Mirrors upstream's SQLite ``Cleanup``: keep the newest N finished full syncs,
drop partial / resources_only syncs that ended before the oldest kept full sync
started, keep only the latest diff pair, then reclaim the space. Unfinished
syncs are never touched (one may be resumed later).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from baton_cli.c1z.schema import TABLES
from baton_cli.c1z.workdir import database_errors
from baton_cli.errors import FailedPreconditionError, UsageError

DEFAULT_KEEP = 2
DELETE_BATCH_ROWS = 50_000

# Upstream groups "no_grants" syncs with the partial ones; any other type counts as full.
_PARTIAL_TYPES = frozenset({"partial", "resources_only", "no_grants"})
_DIFF_TYPES = frozenset({"partial_upserts", "partial_deletions"})
_NOT_FULL = _PARTIAL_TYPES | _DIFF_TYPES
# The run row goes last: while any of a sync's rows remain, its run row still names it, so
# a cleanup interrupted part-way is finished by the next one.
_DATA_TABLES = tuple(t.name for t in TABLES if t.name != "v1_sync_runs")
_RUNS_TABLE = "v1_sync_runs"
# Go's strconv.ParseBool true spellings (upstream reads BATON_SKIP_CLEANUP with it).
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
# Go's strconv.ParseInt(s, 10, 64): optional sign and decimal digits, nothing else.
_GO_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class CleanupSettings:
    """How many finished full syncs to keep, and whether to clean up at all."""

    keep: int = DEFAULT_KEEP
    skip: bool = False

    def __post_init__(self) -> None:
        if self.keep < 1:
            raise UsageError(f"cleanup must keep at least one full sync, got {self.keep}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CleanupSettings:
        """``BATON_KEEP_SYNC_COUNT`` and ``BATON_SKIP_CLEANUP``, read as upstream reads them.

        An unusable count (not an integer, or below 1) means the default, as upstream.
        """
        raw = env.get("BATON_KEEP_SYNC_COUNT", "")
        keep = int(raw) if _GO_INT.fullmatch(raw) else 0
        return cls(
            keep=keep if keep > 0 else DEFAULT_KEEP, skip=env.get("BATON_SKIP_CLEANUP", "") in _GO_TRUE
        )


@dataclass(frozen=True, slots=True)
class RunInfo:
    sync_id: str
    started_at: str
    ended_at: str | None
    sync_type: str
    linked_sync_id: str = ""


@dataclass(frozen=True, slots=True)
class CleanupResult:
    deleted_sync_ids: tuple[str, ...] = ()
    rows_deleted: int = 0
    vacuumed: bool = False
    skipped: bool = False
    bytes_before: int = 0  # database size (pages x page size) before and after
    bytes_after: int = 0


def select_syncs_to_delete(runs: Sequence[RunInfo], keep: int) -> list[str]:
    """Upstream's retention policy over ``runs`` in creation order (oldest first).

    Timestamps are compared as text, which orders them correctly (c1z.md §5).
    """
    finished = [r for r in runs if r.ended_at is not None]
    full = [r for r in finished if r.sync_type not in _NOT_FULL]
    partials = [r for r in finished if r.sync_type in _PARTIAL_TYPES]
    diffs = [r for r in finished if r.sync_type in _DIFF_TYPES]
    doomed: list[str] = []
    if len(full) > keep:
        overflow = len(full) - keep
        doomed.extend(r.sync_id for r in full[:overflow])
        oldest_kept = full[overflow].started_at
        doomed.extend(r.sync_id for r in partials if r.ended_at is not None and r.ended_at < oldest_kept)
    # Upstream leaves up to two diff syncs alone; beyond that only the latest and its partner stay.
    if len(diffs) > 2:
        latest = diffs[-1]
        kept = {latest.sync_id, latest.linked_sync_id}
        doomed.extend(r.sync_id for r in diffs if r.sync_id not in kept)
    return doomed


def cleanup_old_syncs(
    conn: sqlite3.Connection, *, keep: int = DEFAULT_KEEP, skip: bool = False, label: Path | str
) -> CleanupResult:
    """Delete the syncs the policy drops, then VACUUM if anything went.

    ``conn`` must have no open transaction: every delete batch commits on its own (so an
    interrupted cleanup keeps its progress, as upstream) and VACUUM cannot run inside one.
    Upstream vacuums unconditionally; we skip it when nothing was deleted, because then it
    has no space to reclaim and costs a full rewrite of the database (seconds at 1M grants).
    """
    if skip:
        return CleanupResult(skipped=True)
    if keep < 1:
        raise UsageError(f"cleanup must keep at least one full sync, got {keep}")
    path = Path(label)
    if conn.in_transaction:
        raise FailedPreconditionError(f"c1z file {path}: cleanup needs the pending writes committed first")
    with database_errors(path):
        before = _database_bytes(conn)
        doomed = select_syncs_to_delete(_runs(conn), keep)
        rows = sum(_delete_sync(conn, sync_id) for sync_id in doomed)
        if not doomed:
            return CleanupResult(bytes_before=before, bytes_after=before)
        _vacuum(conn)
        return CleanupResult(tuple(doomed), rows, True, False, before, _database_bytes(conn))


def _runs(conn: sqlite3.Connection) -> list[RunInfo]:
    # Creation order is the rowid order, as upstream lists sync runs.
    rows = conn.execute(
        f"SELECT sync_id, started_at, ended_at, sync_type, linked_sync_id FROM {_RUNS_TABLE} ORDER BY id"
    ).fetchall()
    return [
        RunInfo(str(sid), str(started), None if ended is None else str(ended), str(kind or "full"), str(link))
        for sid, started, ended, kind, link in rows
    ]


def _delete_sync(conn: sqlite3.Connection, sync_id: str) -> int:
    deleted = 0
    for table in (*_DATA_TABLES, _RUNS_TABLE):
        # Bounded batches keep each transaction (and the WAL or journal) small.
        sql = (
            f"DELETE FROM {table} WHERE id IN"
            f" (SELECT id FROM {table} WHERE sync_id = ? LIMIT {DELETE_BATCH_ROWS})"
        )
        while (count := conn.execute(sql, (sync_id,)).rowcount) > 0:
            deleted += count
    return deleted


def _vacuum(conn: sqlite3.Connection) -> None:
    # VACUUM copies the database through a temp file and journals every page: workdir.py keeps
    # both on disk (temp_store=FILE, no in-memory journal), or this would hold the file in RAM.
    conn.execute("VACUUM")
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        # VACUUM's pages sit in the WAL; fold them in and empty it, as upstream does.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _database_bytes(conn: sqlite3.Connection) -> int:
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return pages * int(conn.execute("PRAGMA page_size").fetchone()[0])
