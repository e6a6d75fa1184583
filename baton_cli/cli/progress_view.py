"""Sync progress for people (Rich, on a terminal: progress_rich.py) and for logs (plain lines).

All three displays print notes and warnings on stderr, ``off`` included: only the
progress itself is optional. Every number goes through ``humanize`` so the live
lines and the summary printed at the end read alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, TYPE_CHECKING

from baton_cli.cli import humanize
from baton_cli.cli.options import ProgressMode
from baton_cli.core.progress import Phase, RowKind

if TYPE_CHECKING:
    # The Rich display lives in its own module, so plain and off progress never import Rich.
    from baton_cli.cli.progress_rich import RichProgress


_PHASES = list(Phase)
# The phase after which a kind gets no more rows (grants: expansion adds some).
_KIND_LAST_PHASE = {
    RowKind.RESOURCE_TYPES: Phase.LIST_RESOURCE_TYPES,
    RowKind.RESOURCES: Phase.LIST_RESOURCES,
    RowKind.ENTITLEMENTS: Phase.LIST_ENTITLEMENTS,
    RowKind.GRANTS: Phase.GRANT_EXPANSION,
}
_PHASE_UNITS = {
    Phase.LIST_ENTITLEMENTS: ("resource", "resources"),
    Phase.LIST_GRANTS: ("resource", "resources"),
    Phase.GRANT_EXPANSION: ("entitlement pair", "entitlement pairs"),
}
KIND_LABELS = {
    RowKind.RESOURCE_TYPES: "resource types",
    RowKind.RESOURCES: "resources",
    RowKind.ENTITLEMENTS: "entitlements",
    RowKind.GRANTS: "grants",
}
_WALKS = (Phase.LIST_ENTITLEMENTS, Phase.LIST_GRANTS)
BAR_WIDTH = 24
MIN_RATE_SECONDS = 0.05


class SyncTally:
    """What the displays show: the phase and how far it is, rows and pages per kind."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.rows = dict.fromkeys(RowKind, 0)
        self.pages = dict.fromkeys(RowKind, 0)
        self.first_page: dict[RowKind, float] = {}
        self.last_page: dict[RowKind, float] = {}
        self.finished: set[RowKind] = set()
        self.phase: Phase | None = None
        self.phase_started_at = self.started
        self.done = 0
        self.done_at_start = 0
        self.total: int | None = None
        self.ended: float | None = None  # seconds the whole sync took, once it is over

    def start_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.phase_started_at = self.clock()
        self.total = None
        self.done = self.done_at_start = 0
        for kind, last in _KIND_LAST_PHASE.items():
            if kind in self.first_page and _PHASES.index(phase) > _PHASES.index(last):
                self.finished.add(kind)

    def add(self, kind: RowKind, rows: int) -> None:
        now = self.clock()
        self.first_page.setdefault(kind, now)
        self.last_page[kind] = now
        self.finished.discard(kind)  # a targeted sync comes back to earlier kinds
        self.rows[kind] += rows
        self.pages[kind] += 1

    def advance(self, phase: Phase, done: int, total: int) -> None:
        if phase != self.phase:
            return
        if self.total is None and phase in _WALKS:
            # A walk's first report is where it starts (part-way when resumed): the pace counts from here.
            self.done_at_start = done
        self.total, self.done = total, done

    def end(self, seconds: float) -> None:
        self.ended = seconds
        self.finished.update(self.first_page)

    def elapsed(self) -> float:
        return self.ended if self.ended is not None else self.clock() - self.started

    def kind_elapsed(self, kind: RowKind) -> float:
        start = self.first_page.get(kind, self.started)
        end = self.last_page.get(kind, start) if kind in self.finished else self.clock()
        return max(end - start, 0.0)

    def kind_rate(self, kind: RowKind) -> float:
        """Rows of one kind per second since its first page (kinds arrive phase by phase)."""
        return self.rows[kind] / max(self.kind_elapsed(kind), 1e-9)

    def rate(self) -> float:
        return sum(self.rows.values()) / max(self.elapsed(), 1e-9)

    def position(self) -> str:
        """``1,234 of 20,000 resources (6%), ETA 1m 05s``; "" when the phase has no known size."""
        if self.total is None or self.phase is None:
            return ""
        singular, plural = _PHASE_UNITS.get(self.phase, ("step", "steps"))
        left = humanize.eta(
            self.clock() - self.phase_started_at,
            self.done - self.done_at_start,
            self.total - self.done_at_start,
        )
        noun = singular if self.total == 1 else plural
        return (
            f"{self.done:,} of {self.total:,} {noun} ({humanize.percent(self.done, self.total)}), ETA {left}"
        )

    def counts(self) -> str:
        return ", ".join(humanize.kind_count(kind, self.rows[kind]) for kind in RowKind)


class PlainProgress:
    """Lines on stderr: at each phase change and every ``interval`` seconds while it runs, in
    every phase (grant expansion included: it reports its own progress)."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        label: str = "sync",
    ) -> None:
        self._stream = stream or sys.stderr
        self._label = label
        self._interval = interval
        self._tally = SyncTally(clock)
        self._last = clock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def phase_started(self, phase: Phase) -> None:
        self._tally.start_phase(phase)
        self._line(f"phase {phase.value}")

    def note(self, message: str) -> None:
        _note(self._stream, message, self._label)

    def page_stored(self, kind: RowKind, rows: int) -> None:
        self._tally.add(kind, rows)
        self._maybe_line()

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        self._tally.advance(phase, done, total)
        self._maybe_line()

    def finished(self, seconds: float) -> None:
        self._tally.end(seconds)
        self._write(f"{self._label}: done in {humanize.duration(seconds)}: {self._tally.counts()}")

    def _maybe_line(self) -> None:
        if self._tally.clock() - self._last >= self._interval:
            position = self._tally.position()
            self._line(
                f"{self._tally.phase.value if self._tally.phase else 'starting'}"
                + (f" {position}" if position else "")
            )

    def _line(self, event: str) -> None:
        tally = self._tally
        self._last = tally.clock()
        self._write(
            f"{self._label}: {event}; {tally.counts()}; {humanize.rate(tally.rate())}; "
            f"elapsed {humanize.duration(tally.elapsed())}"
        )

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


class NoProgress:
    """No progress lines; notes and warnings still go to stderr."""

    def __init__(self, stream: IO[str] | None = None, *, label: str = "sync") -> None:
        self._stream = stream or sys.stderr
        self._label = label

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def note(self, message: str) -> None:
        _note(self._stream, message, self._label)

    def phase_started(self, phase: Phase) -> None:
        pass

    def page_stored(self, kind: RowKind, rows: int) -> None:
        pass

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        pass

    def finished(self, seconds: float) -> None:
        pass


def _note(stream: IO[str], message: str, label: str) -> None:
    stream.write(f"{label}: {message}\n")
    stream.flush()


def progress_display(mode: ProgressMode, *, label: str = "sync") -> RichProgress | PlainProgress | NoProgress:
    """The display ``--progress`` asks for; ``auto`` is rich on a terminal, plain elsewhere.
    ``label`` starts plain lines (``sync: ...``, ``expand: ...``)."""
    if mode is ProgressMode.auto:
        mode = ProgressMode.rich if sys.stderr.isatty() else ProgressMode.plain
    if mode is ProgressMode.rich:
        from rich.console import Console

        from baton_cli.cli.progress_rich import RichProgress

        return RichProgress(Console(stderr=True))
    if mode is ProgressMode.plain:
        return PlainProgress(sys.stderr, label=label)
    return NoProgress(label=label)
