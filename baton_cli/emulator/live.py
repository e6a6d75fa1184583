"""What the ``serve`` live view shows, as plain rows of text; the CLI only lays them out.

Kept out of the CLI so it is tested without a terminal and stays free of Rich.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from baton_cli.emulator.events import Event
from baton_cli.emulator.queue_records import FINISHED_STATES, HostRecord, TaskRecord
from baton_cli.errors import StatusCode

HOST_COLUMNS = ("host", "connector", "build", "last seen")
TASK_COLUMNS = ("task", "kind", "state", "host", "tries", "age", "result")


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    target: str
    ca_file: Path
    hosts: list[HostRecord]
    tasks: list[TaskRecord]
    events: list[Event]
    faults: list[tuple[str, int]]
    now: float


def ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def host_rows(snap: LiveSnapshot) -> list[tuple[str, ...]]:
    return [
        (h.host_id, h.connector_name or "-", h.build_summary or "-", ago(snap.now - h.last_seen) + " ago")
        for h in snap.hosts
    ]


def task_result(task: TaskRecord) -> str:
    parts: list[str] = []
    if task.status_code is not None:
        name = StatusCode(task.status_code).name if 0 <= task.status_code <= 16 else str(task.status_code)
        parts.append("ok" if task.status_code == 0 else name)
        if task.status_message:
            parts.append(task.status_message.splitlines()[0][:60])
        if task.non_retryable:
            parts.append("non-retryable")
    if task.upload_counts:
        c = task.upload_counts
        parts.append(
            f"c1z: {c.get('resources', 0)} resources, {c.get('entitlements', 0)} entitlements, "
            f"{c.get('grants', 0)} grants"
        )
    if task.cancel_requested and task.state not in FINISHED_STATES:
        parts.append("cancel requested")
    return "; ".join(parts) or "-"


def task_rows(snap: LiveSnapshot, limit: int = 15) -> list[tuple[str, ...]]:
    """Every unfinished task, then the most recently finished ones, up to ``limit`` rows."""
    active = [t for t in snap.tasks if t.state not in FINISHED_STATES]
    finished = [t for t in snap.tasks if t.state in FINISHED_STATES]
    finished.sort(key=lambda t: t.finished_at or 0.0, reverse=True)
    shown = (active + finished)[: max(limit, len(active))]
    return [
        (
            t.id,
            t.kind,
            t.state,
            t.host_id or "-",
            str(t.attempts),
            ago(snap.now - t.created_at),
            task_result(t),
        )
        for t in shown
    ]


def event_line(event: Event) -> str:
    """``2026-12-01T21:44:34.123Z text``: RFC 3339 UTC, like every log line of the daemon."""
    moment = datetime.fromtimestamp(event.at, tz=UTC)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S.')}{moment.microsecond // 1000:03d}Z {event.text}"
