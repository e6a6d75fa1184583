"""What `baton run` shows while it serves tasks: a live Rich view on a terminal, log lines elsewhere.

Both read one board fed by the runner's events (core/runner_events.py): per running task its
kind, id, sync phase and rows, elapsed time and heartbeat (last beat's age, next due,
failures in a row), its upload (bytes sent of the total, throughput, ETA), and the tasks that
finished with their outcome. Events arrive on the runner's task and heartbeat threads, so the
board takes a lock; rendering works on a copy.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TYPE_CHECKING

from baton_cli.cli import humanize
from baton_cli.core.progress import RowKind
from baton_cli.core.runner_events import NullRunnerObserver

if TYPE_CHECKING:
    # Rich is imported where the live view is drawn: `baton run` without a terminal never needs it.
    from rich.console import Console, RenderableType

    from baton_cli.core.task_source import Outcome

FINISHED_SHOWN = 10
UPLOAD_BAR_WIDTH = 30
PLAIN_UPLOAD_INTERVAL = 5.0


@dataclass(slots=True)
class RunningTask:
    task_id: str
    kind: str
    started: float
    phase: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    beat_at: float | None = None
    next_in: float | None = None
    failures: int = 0
    upload_sent: int = 0
    upload_total: int | None = None
    upload_started: float = 0.0


@dataclass(frozen=True, slots=True)
class FinishedTask:
    task_id: str
    kind: str
    ok: bool
    outcome: str
    seconds: float


class DaemonBoard:
    """The state both displays show; every method may be called from any thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, RunningTask] = {}
        self._finished: deque[FinishedTask] = deque(maxlen=FINISHED_SHOWN)
        self.finished_count = 0

    def started(self, task_id: str, kind: str) -> None:
        with self._lock:
            self._running[task_id] = RunningTask(task_id, kind, self.clock())

    def phase(self, task_id: str, phase: str) -> RunningTask | None:
        with self._lock:
            task = self._running.get(task_id)
            if task is not None:
                task.phase = phase
            return _copy(task)

    def rows(self, task_id: str, kind: str, rows: int) -> None:
        with self._lock:
            task = self._running.get(task_id)
            if task is not None:
                task.rows[kind] = task.rows.get(kind, 0) + rows

    def beat(self, task_id: str, next_in: float, failures: int) -> None:
        with self._lock:
            task = self._running.get(task_id)
            if task is not None:
                task.beat_at, task.next_in, task.failures = self.clock(), next_in, failures

    def upload(self, task_id: str, sent: int, total: int) -> RunningTask | None:
        with self._lock:
            task = self._running.get(task_id)
            if task is not None:
                if sent == 0 or task.upload_total is None:
                    task.upload_started = self.clock()  # a new attempt starts the pace again
                task.upload_sent, task.upload_total = sent, total
            return _copy(task)

    def finished(self, task_id: str, kind: str, ok: bool, outcome: str) -> None:
        with self._lock:
            task = self._running.pop(task_id, None)
            seconds = self.clock() - task.started if task is not None else 0.0
            self._finished.appendleft(FinishedTask(task_id, kind, ok, outcome, seconds))
            self.finished_count += 1

    def snapshot(self) -> tuple[list[RunningTask], list[FinishedTask]]:
        with self._lock:
            running = [replace(t, rows=dict(t.rows)) for t in self._running.values()]
            return running, list(self._finished)


def _copy(task: RunningTask | None) -> RunningTask | None:
    return None if task is None else replace(task, rows=dict(task.rows))


def rows_text(rows: dict[str, int]) -> str:
    shown = [humanize.kind_count(kind, rows[kind.value]) for kind in RowKind if rows.get(kind.value)]
    return ", ".join(shown) or "-"


def heartbeat_text(task: RunningTask, now: float) -> str:
    if task.beat_at is None or task.next_in is None:
        return "-"
    due = task.beat_at + task.next_in - now
    when = f"next in {humanize.duration(due)}" if due >= 0 else f"next overdue {humanize.duration(-due)}"
    failed = f", {humanize.count(task.failures, 'failure')} in a row" if task.failures else ""
    return f"{humanize.duration(now - task.beat_at)} ago, {when}{failed}"


def upload_text(task: RunningTask, now: float) -> str:
    total = task.upload_total or 0
    elapsed = now - task.upload_started
    speed = task.upload_sent / elapsed if elapsed > 0 else 0.0
    return (
        f"{humanize.data_size(task.upload_sent)} of {humanize.data_size(total)} "
        f"({humanize.percent(task.upload_sent, total)}), {humanize.data_size(speed)}/s, "
        f"ETA {humanize.eta(elapsed, task.upload_sent, total)}"
    )


def outcome_text(outcome: Outcome) -> tuple[bool, str]:
    from baton_cli.core.task_source import Failure

    if isinstance(outcome, Failure):
        retry = "non-retryable" if outcome.non_retryable else "retryable"
        return False, f"failed ({retry}, code {outcome.code}): {outcome.message}"
    return True, "done"


class BoardFeed(NullRunnerObserver):
    """The runner's events onto a ``DaemonBoard``; each display adds what it shows beyond that."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.board = DaemonBoard(clock)

    def task_started(self, task_id: str, kind: str) -> None:
        self.board.started(task_id, kind)

    def sync_phase(self, task_id: str, phase: str) -> None:
        self.board.phase(task_id, phase)

    def sync_rows(self, task_id: str, kind: str, rows: int) -> None:
        self.board.rows(task_id, kind, rows)

    def heartbeat_due(self, task_id: str, seconds: float, failures: int) -> None:
        self.board.beat(task_id, seconds, failures)

    def upload_progress(self, task_id: str, sent: int, total: int) -> None:
        self.board.upload(task_id, sent, total)

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        ok, text = outcome_text(outcome)
        self.board.finished(task_id, kind, ok, text)


class DaemonView(BoardFeed):
    """The live view on a terminal; ``live=False`` only keeps the board (tests render it)."""

    def __init__(
        self, console: Console, *, clock: Callable[[], float] = time.monotonic, live: bool = True
    ) -> None:
        from rich.live import Live

        super().__init__(clock)
        self._console = console
        self._live = (
            Live(
                console=console,
                get_renderable=self.renderable,
                refresh_per_second=4,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            if live
            else None
        )

    def __enter__(self) -> DaemonView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()

    # -- rendering ---------------------------------------------------------------------------------

    def renderable(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = self.board.clock()
        running, finished = self.board.snapshot()
        parts: list[RenderableType] = []
        table = Table(title="running tasks", title_justify="left", expand=False, pad_edge=False)
        for column in ("task", "kind", "phase", "rows", "elapsed", "heartbeat"):
            table.add_column(column, no_wrap=column in ("task", "kind", "elapsed"))
        for task in running:
            # One fact per line in a cell: a narrow terminal wraps between facts, not inside one.
            table.add_row(
                task.task_id,
                task.kind,
                task.phase or "-",
                rows_text(task.rows).replace(", ", "\n"),
                humanize.duration(now - task.started),
                Text(heartbeat_text(task, now).replace(", ", "\n"), style="red" if task.failures else ""),
            )
        if not running:
            table.add_row("(none)", "", "", "", "", "")
        parts.append(table)
        for task in running:
            if task.upload_total is None:
                continue
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                Text(f"upload {task.task_id}", style="bold"),
                ProgressBar(
                    total=max(task.upload_total, 1), completed=task.upload_sent, width=UPLOAD_BAR_WIDTH
                ),
                upload_text(task, now),
            )
            parts.append(bar)
        done = Table(title="finished tasks", title_justify="left", expand=False, pad_edge=False)
        for column in ("task", "kind", "outcome", "took"):
            done.add_column(column, no_wrap=column != "outcome")
        for item in finished:
            done.add_row(
                item.task_id,
                item.kind,
                Text(item.outcome, style="green" if item.ok else "red"),
                humanize.duration(item.seconds),
            )
        if not finished:
            done.add_row("(none yet)", "", "", "")
        parts.append(done)
        return Group(*parts)


class DaemonLines(BoardFeed):
    """Off a terminal (or with JSON logs): what the view shows beyond the runner's own task notes
    (which give each phase change and the row counts) as log records of ``baton_cli.runner``:
    the upload's bytes sent of the total, throughput and ETA every few seconds and at its end,
    and failed heartbeats with their count in a row and when the next is due."""

    def __init__(
        self,
        line: Callable[[str, str], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        upload_interval: float = PLAIN_UPLOAD_INTERVAL,
    ) -> None:
        super().__init__(clock)
        self._line = line or _log_line
        self._upload_interval = upload_interval
        self._upload_logged: dict[str, float] = {}
        self._guard = threading.Lock()

    def heartbeat_due(self, task_id: str, seconds: float, failures: int) -> None:
        super().heartbeat_due(task_id, seconds, failures)
        if failures:
            self._line(
                task_id,
                f"task {task_id}: {humanize.count(failures, 'heartbeat')} failed in a row; "
                f"next in {humanize.duration(seconds)}",
            )

    def upload_progress(self, task_id: str, sent: int, total: int) -> None:
        task = self.board.upload(task_id, sent, total)
        if task is None:
            return
        now = self.board.clock()
        with self._guard:
            last = self._upload_logged.get(task_id)
            due = last is None or now - last >= self._upload_interval or sent >= total
            if due:
                self._upload_logged[task_id] = now
        if due:
            self._line(task_id, f"task {task_id}: uploaded {upload_text(task, now)}")

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        super().task_finished(task_id, kind, outcome)
        with self._guard:
            self._upload_logged.pop(task_id, None)


_log = logging.getLogger("baton_cli.runner")


def _log_line(task_id: str, text: str) -> None:
    _log.info("%s", text, extra={"task_id": task_id})


class LiveLogStream(io.TextIOBase):
    """Where log lines go while the live view runs: printed by its console, above the view,
    instead of written across it."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._pending = ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        from rich.text import Text

        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._console.print(Text(line), highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        from rich.text import Text

        if self._pending:
            self._console.print(Text(self._pending), highlight=False, soft_wrap=True)
            self._pending = ""
