"""The task queue's SQLite file: connection settings and schema (versioned with ``user_version``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from baton_cli.errors import FailedPreconditionError

SCHEMA_VERSION = 1

# Writers wait this long for another process's transaction instead of failing at once:
# the server and `baton emulator enqueue` share the file.
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order: oldest first, also after re-delivery
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    task BLOB NOT NULL,                     -- the serialized Task as enqueued
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    host_id TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    leased_at REAL,
    last_heartbeat_at REAL,
    finished_at REAL,
    status_code INTEGER,
    status_message TEXT NOT NULL DEFAULT '',
    non_retryable INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    response BLOB NOT NULL DEFAULT x'',
    upload_path TEXT NOT NULL DEFAULT '',
    upload_sha256 TEXT NOT NULL DEFAULT '',
    upload_counts TEXT                      -- JSON object, NULL until a c1z arrives
);
CREATE INDEX IF NOT EXISTS tasks_state_seq ON tasks (state, seq);
CREATE TABLE IF NOT EXISTS task_annotations (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    position INTEGER NOT NULL,
    value BLOB NOT NULL,                    -- a serialized google.protobuf.Any from FinishTask
    PRIMARY KEY (task_id, position)
);
CREATE TABLE IF NOT EXISTS hosts (
    host_id TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    connector_name TEXT NOT NULL DEFAULT '',
    os_summary TEXT NOT NULL DEFAULT '',
    build_summary TEXT NOT NULL DEFAULT '',
    hello BLOB                              -- the latest BatonServiceHelloRequest
);
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the queue database, ready for explicit ``BEGIN IMMEDIATE`` writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN ourselves, so a lease is one IMMEDIATE transaction.
    # check_same_thread=False: the owning TaskQueue serialises use with its own lock.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL survives a process crash; only an OS crash may lose the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise FailedPreconditionError(
                f"{path} was written by a newer baton "
                f"(queue schema {version}, this one knows {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
