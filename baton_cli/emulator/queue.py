"""The emulator's durable task queue: what the platform would hand to runners, in one SQLite file.

A task is *pending* until a runner's GetTask leases it, then *running* on that
host until FinishTask makes it *done* or *failed*. A running task whose holder
stops heartbeating for ``lease_seconds`` is handed out again (its attempt
counted again), and from then on the old holder's calls are refused, so one
task is never worked on by two hosts at the same time as far as the queue
knows. ``cancel`` drops a pending task at once; a running one learns about it
from its next heartbeat (runner.md §6.1).

FinishTask is idempotent, because a runner retries it when an answer is lost: a repeat from
the host that finished the task is accepted and changes nothing; a finish from a host that
does not hold the task is refused. A retryable failure goes back to pending (and is handed
out again) while the task has had fewer than ``max_attempts`` leases, as the platform
re-delivers tasks a runner could not finish (e.g. because it was stopping).

Every write is a ``BEGIN IMMEDIATE`` transaction, so several processes (the
server, ``baton emulator enqueue``) can share the file; within one process the
connection is guarded by a lock, so server threads can share one queue.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from baton_cli.c1z.ksuid import new_ksuid
from baton_cli.emulator import queue_records as rec
from baton_cli.emulator.paths import queue_path
from baton_cli.emulator.queue_records import HostRecord, TaskRecord, TaskResult
from baton_cli.emulator.queue_schema import connect
from baton_cli.errors import BatonError, FailedPreconditionError, NotFoundError, StatusCode, UsageError
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

__all__ = ["HostRecord", "TaskQueue", "TaskRecord", "TaskResult"]

DEFAULT_LEASE_SECONDS = 60.0
# Runners heartbeat only sync_full tasks (runner.md §4); a grant can legitimately run for minutes
# (the SDK retries connector calls with 15 s waits), so silence means less for the other kinds.
HEARTBEAT_KINDS = ("sync_full",)
DEFAULT_QUIET_LEASE_SECONDS = 600.0
DEFAULT_MAX_ATTEMPTS = 1  # the library default: a failure is final unless asked otherwise


class TaskQueue:
    """Thread-safe handle on the queue file; open with :meth:`open`, close when done."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        clock: Callable[[], float],
        lease_seconds: float,
        quiet_lease_seconds: float,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self._clock = clock
        self.lease_seconds = lease_seconds
        self.quiet_lease_seconds = max(quiet_lease_seconds, lease_seconds)
        self.max_attempts = max_attempts
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        quiet_lease_seconds: float = DEFAULT_QUIET_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> TaskQueue:
        """Open (creating) ``data_dir``/queue.sqlite3.

        A running task goes back to the queue after ``lease_seconds`` without a
        heartbeat; kinds that runners never heartbeat get ``quiet_lease_seconds``
        (at least ``lease_seconds``) from the lease instead.
        """
        if lease_seconds <= 0 or quiet_lease_seconds <= 0:
            raise UsageError("lease durations must be positive")
        if max_attempts < 1:
            raise UsageError(f"max attempts must be at least 1, got {max_attempts}")
        return cls(
            connect(queue_path(data_dir)),
            clock=clock,
            lease_seconds=lease_seconds,
            quiet_lease_seconds=quiet_lease_seconds,
            max_attempts=max_attempts,
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TaskQueue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the platform side ---------------------------------------------------------------------

    def enqueue(self, task: baton_pb2.Task) -> str:
        """Store ``task`` as pending and return its id (a fresh KSUID when ``task.id`` is empty)."""
        kind = task.WhichOneof("task_type")
        if kind is None or kind == "none":
            # A `none` task means "no work" to the runner (runner.md §3): queueing one is a mistake.
            raise UsageError("a task needs a task type (sync_full, grant, ...)")
        stored = baton_pb2.Task()
        stored.CopyFrom(task)
        # Runners validate task ids against ^[a-zA-Z0-9]{27}$ (wire.md §3): KSUIDs fit.
        stored.id = stored.id or new_ksuid()
        stored.status = baton_pb2.Task.STATUS_PENDING
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (stored.id,)).fetchone():
                raise BatonError(f"task {stored.id} already exists", code=StatusCode.ALREADY_EXISTS)
            conn.execute(
                "INSERT INTO tasks (id, kind, task, state, created_at) VALUES (?, ?, ?, ?, ?)",
                (stored.id, kind, stored.SerializeToString(), rec.PENDING, self._clock()),
            )
        return stored.id

    def cancel(self, task_id: str) -> None:
        """Pending: cancelled now. Running: flagged, so the holder's next heartbeat says cancelled."""
        with self._write() as conn:
            state = self._state(conn, task_id)
            if state == rec.PENDING:
                conn.execute(
                    "UPDATE tasks SET state = ?, cancel_requested = 1, finished_at = ? WHERE id = ?",
                    (rec.CANCELLED, self._clock(), task_id),
                )
            elif state == rec.RUNNING:
                conn.execute("UPDATE tasks SET cancel_requested = 1 WHERE id = ?", (task_id,))
            else:
                raise FailedPreconditionError(f"task {task_id} is already {state}")

    # -- the runner side (BatonService) --------------------------------------------------------

    def lease(self, host_id: str) -> baton_pb2.Task | None:
        """Hand the oldest available task to ``host_id`` (GetTask), or None when there is none."""
        expired = f"(state = '{rec.RUNNING}' AND {self._silent_since_sql()})"
        with self._write() as conn:
            now = self._clock()  # read under the write lock: waiting for it must not age the lease
            # A cancelled task whose holder went silent is over: nobody is left to tell.
            conn.execute(
                f"UPDATE tasks SET state = ?, finished_at = ? WHERE {expired} AND cancel_requested = 1",
                (rec.CANCELLED, now, *self._stale_before(now)),
            )
            row = conn.execute(
                f"SELECT id, task FROM tasks WHERE state = ? OR {expired} ORDER BY seq LIMIT 1",
                (rec.PENDING, *self._stale_before(now)),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE tasks SET state = ?, host_id = ?, attempts = attempts + 1, leased_at = ?, "
                "last_heartbeat_at = NULL WHERE id = ?",
                (rec.RUNNING, host_id, now, row["id"]),
            )
        task = baton_pb2.Task.FromString(row["task"])
        task.status = baton_pb2.Task.STATUS_RUNNING
        return task

    def heartbeat(self, task_id: str, host_id: str) -> bool:
        """Extend ``host_id``'s lease; True when the task should stop (cancellation requested).

        A holder whose lease lapsed may still heartbeat while nobody else has
        taken the task; once another host has it, the old holder is refused.
        """
        with self._write() as conn:
            self._require_holder(conn, task_id, host_id)
            conn.execute("UPDATE tasks SET last_heartbeat_at = ? WHERE id = ?", (self._clock(), task_id))
            flag = conn.execute("SELECT cancel_requested FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return bool(flag[0])

    def record_upload(
        self, task_id: str, host_id: str, *, path: Path, sha256: str, counts: Mapping[str, int]
    ) -> None:
        """Remember the c1z a sync task uploaded (a later upload for the task replaces it).

        ``counts`` keep the caller's key order, which is how `baton emulator tasks` lists them.
        """
        with self._write() as conn:
            self._require_holder(conn, task_id, host_id)
            conn.execute(
                "UPDATE tasks SET upload_path = ?, upload_sha256 = ?, upload_counts = ? WHERE id = ?",
                (str(path), sha256, json.dumps(dict(counts)), task_id),
            )

    def finish(
        self,
        task_id: str,
        host_id: str,
        *,
        status_code: int,
        status_message: str = "",
        non_retryable: bool = False,
        response: bytes = b"",
        annotations: Sequence[bytes] = (),
    ) -> bool:
        """FinishTask: done when ``status_code`` is 0 (OK), failed otherwise; False for a repeat.

        ``response`` and ``annotations`` are serialized ``google.protobuf.Any``
        values as the runner sent them (empty response: none was sent).
        """
        with self._write() as conn:
            if self._is_repeat_finish(conn, task_id, host_id):
                return False
            self._require_holder(conn, task_id, host_id)
            row = conn.execute(
                "SELECT attempts, cancel_requested FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
            retry = (
                status_code != 0
                and not non_retryable
                and not row["cancel_requested"]
                and row["attempts"] < self.max_attempts
            )
            state = rec.DONE if status_code == 0 else rec.PENDING if retry else rec.FAILED
            conn.execute(
                "UPDATE tasks SET state = ?, finished_at = ?, status_code = ?, status_message = ?, "
                "non_retryable = ?, response = ? WHERE id = ?",
                (
                    state,
                    None if retry else self._clock(),
                    status_code,
                    status_message,
                    non_retryable,
                    response,
                    task_id,
                ),
            )
            conn.execute("DELETE FROM task_annotations WHERE task_id = ?", (task_id,))
            conn.executemany(
                "INSERT INTO task_annotations (task_id, position, value) VALUES (?, ?, ?)",
                [(task_id, i, value) for i, value in enumerate(annotations)],
            )
        return True

    def record_hello(self, host_id: str, hello: baton_pb2.BatonServiceHelloRequest) -> None:
        """Note a Hello; one answering a Hello task (``task_id`` set) is that task's result.

        Runners send no FinishTask for Hello tasks (runner.md §4), so the Hello
        itself finishes the task when ``host_id`` holds it; otherwise it is ignored.
        """
        with self._write() as conn:
            now = self._clock()
            conn.execute(
                "INSERT INTO hosts (host_id, first_seen, last_seen, connector_name, os_summary, "
                "build_summary, hello) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET "
                "last_seen = excluded.last_seen, connector_name = excluded.connector_name, "
                "os_summary = excluded.os_summary, build_summary = excluded.build_summary, "
                "hello = excluded.hello",
                (
                    host_id,
                    now,
                    now,
                    hello.connector_metadata.display_name,
                    rec.os_summary(hello),
                    rec.build_summary(hello),
                    hello.SerializeToString(),
                ),
            )
            if hello.task_id:
                conn.execute(
                    "UPDATE tasks SET state = ?, finished_at = ?, status_code = 0 "
                    "WHERE id = ? AND kind = 'hello' AND state = ? AND host_id = ?",
                    (rec.DONE, now, hello.task_id, rec.RUNNING, host_id),
                )

    def note_poll(self, host_id: str) -> None:
        """Mark ``host_id`` as seen now (a GetTask, even one that found no work)."""
        with self._write() as conn:
            now = self._clock()
            conn.execute(
                "INSERT INTO hosts (host_id, first_seen, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (host_id) DO UPDATE SET last_seen = excluded.last_seen",
                (host_id, now, now),
            )

    # -- reading -------------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskRecord:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {rec.TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} not found")
        return rec.task_record(row)

    def tasks(self) -> list[TaskRecord]:
        """Every task, oldest first."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {rec.TASK_COLUMNS} FROM tasks ORDER BY seq").fetchall()
        return [rec.task_record(row) for row in rows]

    def task_message(self, task_id: str) -> baton_pb2.Task:
        """The Task as a runner would receive it, with ``status`` following the queue state."""
        with self._lock:
            row = self._conn.execute("SELECT task, state FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} not found")
        task = baton_pb2.Task.FromString(row["task"])
        task.status = rec.WIRE_STATUS[str(row["state"])]
        return task

    def result(self, task_id: str) -> TaskResult:
        with self._lock:
            row = self._conn.execute("SELECT response FROM tasks WHERE id = ?", (task_id,)).fetchone()
            values = self._conn.execute(
                "SELECT value FROM task_annotations WHERE task_id = ? ORDER BY position", (task_id,)
            ).fetchall()
        if row is None:
            raise NotFoundError(f"task {task_id} not found")
        return TaskResult(response=bytes(row["response"]), annotations=[bytes(v["value"]) for v in values])

    def hosts(self) -> list[HostRecord]:
        """Every host seen, most recently seen first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {rec.HOST_COLUMNS} FROM hosts ORDER BY last_seen DESC, host_id"
            ).fetchall()
        return [rec.host_record(row) for row in rows]

    # -- internals -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            # IMMEDIATE takes the write lock up front, so two processes cannot both read a task
            # as available and then both claim it.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @staticmethod
    def _silent_since_sql() -> str:
        kinds = ", ".join(f"'{kind}'" for kind in HEARTBEAT_KINDS)
        return f"COALESCE(last_heartbeat_at, leased_at) <= CASE WHEN kind IN ({kinds}) THEN ? ELSE ? END"

    def _stale_before(self, now: float) -> tuple[float, float]:
        return now - self.lease_seconds, now - self.quiet_lease_seconds

    @staticmethod
    def _state(conn: sqlite3.Connection, task_id: str) -> str:
        row = conn.execute("SELECT state FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} not found")
        return str(row["state"])

    @staticmethod
    def _is_repeat_finish(conn: sqlite3.Connection, task_id: str, host_id: str) -> bool:
        """``host_id`` already finished this task (its answer was lost, so it sent it again).

        A retryable failure put back in the queue keeps the failing host until the next lease.
        """
        row = conn.execute(
            "SELECT state, host_id, status_code FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        if row is None or row["host_id"] != host_id or row["status_code"] is None:
            return False
        return str(row["state"]) in (rec.DONE, rec.FAILED, rec.PENDING)

    @staticmethod
    def _require_holder(conn: sqlite3.Connection, task_id: str, host_id: str) -> None:
        row = conn.execute("SELECT state, host_id FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} not found")
        if row["state"] != rec.RUNNING:
            raise FailedPreconditionError(f"task {task_id} is {row['state']}, not running")
        if row["host_id"] != host_id:
            raise FailedPreconditionError(f"task {task_id} is leased to another host, not {host_id!r}")
