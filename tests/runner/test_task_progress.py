"""A daemon sync's progress notes: each phase change, row counts at most every 10 s (injected clock)."""

from __future__ import annotations

from dataclasses import replace

from baton_cli.core.handlers.sync import PROGRESS_INTERVAL_SECONDS, _TaskSyncObserver
from baton_cli.core.progress import Phase, RowKind

from .fakes import FakeConnector, PlainSyncer, context


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_phase_changes_at_once_and_row_counts_at_most_every_ten_seconds() -> None:
    notes: list[str] = []
    clock = Clock()
    ctx = context(FakeConnector(PlainSyncer("user")), notes=notes, task_id="t1")
    observer = _TaskSyncObserver(replace(ctx, clock=clock))
    observer.phase_started(Phase.LIST_RESOURCES)
    observer.page_stored(RowKind.RESOURCES, 100)
    clock.now += PROGRESS_INTERVAL_SECONDS - 0.5
    observer.page_stored(RowKind.RESOURCES, 100)
    assert notes == ["task t1: list-resources (no rows yet)"]
    clock.now += 0.5
    observer.page_stored(RowKind.RESOURCES, 50)
    assert notes[-1] == "task t1: list-resources (250 resources)"
    observer.phase_started(Phase.LIST_GRANTS)  # a phase change is reported at once
    assert notes[-1] == "task t1: list-grants (250 resources)" and len(notes) == 3
