"""Sync progress for people (Rich, on a terminal) and for logs (plain lines)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from baton_cli.core.progress import Phase, RowKind

_LABELS = {
    RowKind.RESOURCE_TYPES: "resource types",
    RowKind.RESOURCES: "resources",
    RowKind.ENTITLEMENTS: "entitlements",
    RowKind.GRANTS: "grants",
}


class _Counts:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.rows = dict.fromkeys(RowKind, 0)
        self.pages = dict.fromkeys(RowKind, 0)
        self.first_page: dict[RowKind, float] = {}
        self.phase: Phase | None = None

    def add(self, kind: RowKind, rows: int) -> None:
        self.first_page.setdefault(kind, self.clock())
        self.rows[kind] += rows
        self.pages[kind] += 1

    def kind_rate(self, kind: RowKind) -> float:
        """Rows of one kind per second since its first page (kinds arrive phase by phase)."""
        elapsed = max(self.clock() - self.first_page.get(kind, self.started), 1e-9)
        return self.rows[kind] / elapsed

    def rate(self) -> float:
        elapsed = max(self.clock() - self.started, 1e-9)
        return sum(self.rows.values()) / elapsed


class RichProgress:
    """A live display: current phase, then pages, rows and rows/s per kind."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self._counts = _Counts(clock)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<14}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._phase_task: TaskID = self._progress.add_task("phase", detail="starting", total=None)
        self._tasks: dict[RowKind, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        detail = "done" if exc is None else "failed"
        self._progress.update(self._phase_task, detail=detail, total=1, completed=1)
        self._progress.stop()

    def phase_started(self, phase: Phase) -> None:
        self._counts.phase = phase
        self._progress.update(self._phase_task, detail=phase.value)

    def note(self, message: str) -> None:
        self._progress.console.print(f"[yellow]{message}[/yellow]")

    def page_stored(self, kind: RowKind, rows: int) -> None:
        counts = self._counts
        counts.add(kind, rows)
        if kind not in self._tasks:
            self._tasks[kind] = self._progress.add_task(_LABELS[kind], detail="", total=None)
        self._progress.update(
            self._tasks[kind],
            detail=(
                f"{counts.rows[kind]:>10,} rows  {counts.pages[kind]:>7,} pages  "
                f"{counts.kind_rate(kind):>10,.0f} rows/s"
            ),
        )


class PlainProgress:
    """One line on stderr per phase change and at most every ``interval`` seconds otherwise."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream or sys.stderr
        self._interval = interval
        self._counts = _Counts(clock)
        self._last = clock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self._line("done")

    def phase_started(self, phase: Phase) -> None:
        self._counts.phase = phase
        self._line(f"phase {phase.value}")

    def note(self, message: str) -> None:
        self._stream.write(f"sync: {message}\n")
        self._stream.flush()

    def page_stored(self, kind: RowKind, rows: int) -> None:
        self._counts.add(kind, rows)
        if self._counts.clock() - self._last >= self._interval:
            self._line("progress")

    def _line(self, event: str) -> None:
        counts = self._counts
        self._last = counts.clock()
        totals = " ".join(f"{kind.value}={counts.rows[kind]}" for kind in RowKind)
        elapsed = counts.clock() - counts.started
        self._stream.write(f"sync: {event} {totals} rate={counts.rate():.0f}/s elapsed={elapsed:.1f}s\n")
        self._stream.flush()


class NoProgress:
    def __enter__(self) -> NoProgress:
        return self

    def note(self, message: str) -> None:
        pass

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def phase_started(self, phase: Phase) -> None:
        pass

    def page_stored(self, kind: RowKind, rows: int) -> None:
        pass
