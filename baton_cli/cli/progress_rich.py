"""The live Rich display of a sync's progress (``--progress rich``, or auto on a terminal).

Kept apart from progress_view.py so the plain and off displays start without importing Rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from baton_cli.cli import humanize
from baton_cli.cli.progress_view import BAR_WIDTH, KIND_LABELS, MIN_RATE_SECONDS, SyncTally
from baton_cli.core.progress import Phase, RowKind


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
                Text(f"{KIND_LABELS[kind]:<16}", style="bold"),
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
