"""Sync progress for people (Rich, on a terminal) and for logs (plain lines).

All three displays print notes and warnings on stderr, ``off`` included: only the
progress itself is optional. Every number goes through ``humanize`` so the live
lines and the summary printed at the end read alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from baton_cli.cli import humanize
from baton_cli.cli.options import ProgressMode
from baton_cli.core.progress import Phase, RowKind

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
_LABELS = {
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


class RichProgress:
    """A live display: the phase (a bar with percent and ETA when its size is known), then
    rows, pages and rows/s per kind; rows of finished kinds stop their spinner and timer."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._tally = SyncTally(clock)
        self._outcome = ""
        self._spinners: dict[str, Spinner] = {}
        self._live = Live(
            console=console,
            get_renderable=self.renderable,
            refresh_per_second=8,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> RichProgress:
        self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self._outcome = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
            self._tally.end(self._tally.elapsed())
        self._live.stop()

    def phase_started(self, phase: Phase) -> None:
        self._tally.start_phase(phase)

    def page_stored(self, kind: RowKind, rows: int) -> None:
        self._tally.add(kind, rows)

    def phase_progress(self, phase: Phase, done: int, total: int) -> None:
        self._tally.advance(phase, done, total)

    def note(self, message: str) -> None:
        style = "yellow" if message.startswith("warning") else "cyan"
        self._console.print(Text(message, style=style))

    def finished(self, seconds: float) -> None:
        """The sync is over: freeze the display on its final figures."""
        self._outcome = "done"
        self._tally.end(seconds)

    def renderable(self) -> RenderableType:
        tally = self._tally
        head = Table.grid(padding=(0, 1))
        for _ in range(5):
            head.add_column(no_wrap=True)
        bar: RenderableType = ""
        if tally.total is not None and not self._outcome:
            bar = ProgressBar(total=max(tally.total, 1), completed=tally.done, width=BAR_WIDTH)
        phase = self._outcome or (tally.phase.value if tally.phase else "starting")
        head.add_row(
            self._icon("phase", finished=bool(self._outcome)),
            Text(f"{phase:<16}", style="bold"),
            bar,
            "" if self._outcome else tally.position(),
            humanize.duration(tally.elapsed()),
        )
        kinds = Table.grid(padding=(0, 1))
        kinds.add_column(no_wrap=True)
        kinds.add_column(no_wrap=True)
        for _ in range(4):
            kinds.add_column(justify="right", no_wrap=True)
        for kind in RowKind:
            if kind not in tally.first_page:
                continue
            kinds.add_row(
                self._icon(kind.value, finished=kind in tally.finished),
                Text(f"{_LABELS[kind]:<16}", style="bold"),
                humanize.count(tally.rows[kind], "row"),
                humanize.count(tally.pages[kind], "page"),
                # A kind whose rows all came in one instant has no rate to speak of.
                humanize.rate(tally.kind_rate(kind)) if tally.kind_elapsed(kind) >= MIN_RATE_SECONDS else "-",
                humanize.duration(tally.kind_elapsed(kind)),
            )
        return Group(head, kinds)

    def _icon(self, key: str, *, finished: bool) -> RenderableType:
        if finished:
            return Text("✗" if self._outcome in ("failed", "cancelled") and key == "phase" else "✓", "green")
        spinner = self._spinners.setdefault(key, Spinner("dots", style="cyan"))
        return spinner.render(self._tally.clock())


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
        return RichProgress(Console(stderr=True))
    if mode is ProgressMode.plain:
        return PlainProgress(sys.stderr, label=label)
    return NoProgress(label=label)
