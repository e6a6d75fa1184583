"""The ``sync_full`` task (runner.md §6): heartbeat, sync into a fresh c1z, upload, finish.

Each task writes a brand-new temporary c1z (never resumed: the platform hands
out a new task when one fails) and the file is deleted whatever happens. The
c1z is SQLite (v1) whatever ``storage_engine`` the task asks for; ConductorOne
reads both. ``debug`` log upload is not implemented.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from baton_cli.c1z import C1ZWriter
from baton_cli.c1z.workdir import NO_ROOM_ERRNOS
from baton_cli.connector.api import ResourceId
from baton_cli.core.handlers.common import HandlerResult, TaskContext, Unreported, failure_from
from baton_cli.core.heartbeat import REASON_SERVER_CANCELLED, TaskHeartbeat, heartbeat_interval
from baton_cli.core.progress import Phase, RowKind, row_count
from baton_cli.core.sync import SyncEngine
from baton_cli.core.sync_options import SyncOptions
from baton_cli.core.task_source import Failure, Success
from baton_cli.errors import CancelledError, ConnectorError, StatusCode
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task

TEMP_PREFIX = "baton-sdk-sync-upload"
INVARIANT_PREFIX = "ingestion invariant"


def sync_options(task: Task.SyncFullTask, runner_types: tuple[str, ...] = ()) -> SyncOptions:
    """The task's choices as engine options (runner.md §6 step 3); the task's own resource
    type list wins over the runner's ``--sync-resource-types``."""
    resources = task.targeted_sync_resources
    targets = tuple(_resource_id(r.id) for r in resources)
    parents = tuple(
        _resource_id(r.parent_resource_id) if r.parent_resource_id.resource else None for r in resources
    )
    return SyncOptions(
        resource_type_ids=tuple(task.sync_resource_type_ids) or runner_types,
        targets=targets,
        target_parents=parents,
        skip_entitlements_and_grants=task.skip_entitlements_and_grants,
        skip_grants=task.skip_grants,
        skip_expand_grants=task.skip_expand_grants,
    )


def _resource_id(rid: ResourceId) -> ResourceId:
    # A copy: the engine keeps targets for the whole sync, the task message may be reused.
    return ResourceId(resource_type=rid.resource_type, resource=rid.resource)


def is_invariant_failure(exc: BaseException) -> bool:
    """§7.9: a failed ingestion invariant is the one sync failure the platform must not retry."""
    return (
        isinstance(exc, ConnectorError)
        and exc.code == StatusCode.FAILED_PRECONDITION
        and str(exc).startswith(INVARIANT_PREFIX)
    )


def handle_sync_full(task: Task.SyncFullTask, ctx: TaskContext) -> HandlerResult:
    try:
        path = _new_temp_file(ctx)
    except OSError as exc:
        # A full disk is worth retrying on another runner; anything else is a local problem.
        code = StatusCode.RESOURCE_EXHAUSTED if exc.errno in NO_ROOM_ERRNOS else StatusCode.UNKNOWN
        return Failure(int(code), f"cannot create a temporary c1z file: {exc}")
    try:
        return _sync_with_heartbeat(task, ctx, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _new_temp_file(ctx: TaskContext) -> Path:
    directory = ctx.temp_dir or (Path(ctx.env["BATON_TMPDIR"]) if ctx.env.get("BATON_TMPDIR") else None)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".c1z", dir=directory)
    os.close(fd)
    return Path(name)


def _sync_with_heartbeat(task: Task.SyncFullTask, ctx: TaskContext, path: Path) -> HandlerResult:
    # The first heartbeat claims the task; if the platform does not answer, or says it was
    # cancelled meanwhile, upstream walks away without FinishTask.
    try:
        beat = ctx.source.heartbeat(ctx.task_id)
    except Exception as exc:  # the source raises BatonError; anything else is just as fatal here
        ctx.on_heartbeat(False)
        failure = failure_from(exc, ctx.cancel, non_retryable=False)
        return Unreported(Failure(failure.code, f"initial heartbeat failed: {failure.message}"))
    ctx.on_heartbeat(True)
    if beat.cancelled:
        return Unreported(Failure(int(StatusCode.CANCELLED), REASON_SERVER_CANCELLED))
    interval = heartbeat_interval(beat.next_heartbeat)
    ctx.on_heartbeat_due(interval, 0)

    def on_beat(ok: bool) -> None:
        ctx.on_heartbeat(ok)
        ctx.on_heartbeat_due(heartbeat.interval, heartbeat.failures)

    heartbeat = TaskHeartbeat(
        ctx.source,
        ctx.task_id,
        ctx.cancel,
        interval=interval,
        on_beat=on_beat,
        sleep=ctx.sleep,
    )
    with heartbeat:
        try:
            _sync_and_upload(task, ctx, path)
        except Exception as exc:  # a connector may raise anything; the daemon must carry on
            return failure_from(exc, ctx.cancel, non_retryable=is_invariant_failure(exc))
    return Success()


def _sync_and_upload(task: Task.SyncFullTask, ctx: TaskContext, path: Path) -> None:
    if ctx.skip_full_sync:
        _write_empty_sync(path, ctx)
    else:
        _sync_into(path, task, ctx)
    # A cancelled task's result would be thrown away by the platform: do not upload it.
    if ctx.cancel.cancelled:
        raise CancelledError(f"cancelled: {ctx.cancel.reason}")
    ctx.source.upload(ctx.task_id, path, on_progress=ctx.on_upload)


def _write_empty_sync(path: Path, ctx: TaskContext) -> None:
    """``--skip-full-sync``: an empty, finished full sync, as upstream's runner uploads."""
    with C1ZWriter.open(path, tmp_dir=ctx.temp_dir or path.parent) as writer:
        writer.start_sync("full")
        writer.end_sync()
        writer.save()
    ctx.note(f"task {ctx.task_id}: --skip-full-sync: uploading an empty full sync")


def _sync_into(path: Path, task: Task.SyncFullTask, ctx: TaskContext) -> None:
    options = sync_options(task, ctx.sync_resource_types)
    temp_dir = ctx.temp_dir or path.parent
    # Leaving the block with an error discards the work copy (a non-resumable writer aborts).
    with C1ZWriter.open(path, tmp_dir=temp_dir) as writer:
        result = SyncEngine(
            ctx.connector,
            writer,
            observer=_TaskSyncObserver(ctx),
            cancel=ctx.cancel,
            env=ctx.env,
            options=options,
            resume=False,
            workers=ctx.workers,
        ).run()
        writer.save()
    ctx.note(f"task {ctx.task_id}: synced {_counts(result.counts)}; uploading {path.stat().st_size:,} bytes")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(row_count(kind, n) for kind, n in counts.items())


PROGRESS_INTERVAL_SECONDS = 10.0


class _TaskSyncObserver:
    """The engine's progress as task notes: each phase change at once, row counts at most every
    ``PROGRESS_INTERVAL_SECONDS``; the engine's own notes (resume, warnings) as they come."""

    def __init__(self, ctx: TaskContext) -> None:
        self._ctx = ctx
        self._phase = ""
        self._rows: dict[str, int] = {}
        self._last = ctx.clock()

    def phase_started(self, phase: Phase) -> None:
        self._phase = phase.value
        self._ctx.on_sync_phase(phase.value)
        self._report()

    def page_stored(self, kind: RowKind, rows: int) -> None:
        self._rows[kind.value] = self._rows.get(kind.value, 0) + rows
        self._ctx.on_sync_rows(kind.value, rows)
        if self._ctx.clock() - self._last >= PROGRESS_INTERVAL_SECONDS:
            self._report()

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        pass  # the row counts say enough at 10 s intervals

    def note(self, message: str) -> None:
        self._ctx.note(f"task {self._ctx.task_id}: {message}")

    def _report(self) -> None:
        self._last = self._ctx.clock()
        counts = _counts(self._rows) or "no rows yet"
        self._ctx.note(f"task {self._ctx.task_id}: {self._phase} ({counts})")
