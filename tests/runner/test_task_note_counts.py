"""A daemon sync's notes count rows as the CLI does: thousands separators, the right plural."""

from __future__ import annotations

from baton_cli.core.handlers.sync import _TaskSyncObserver
from baton_cli.core.progress import Phase, RowKind, row_count

from .fakes import FakeConnector, PlainSyncer, context


def test_row_counts_have_separators_and_plurals() -> None:
    assert row_count("resource_types", 1) == "1 resource type"
    assert row_count("grants", 12345) == "12,345 grants"
    assert row_count("entitlements", 0) == "0 entitlements"


def test_task_notes_use_them() -> None:
    notes: list[str] = []
    observer = _TaskSyncObserver(context(FakeConnector(PlainSyncer("user")), notes=notes, task_id="t1"))
    observer.page_stored(RowKind.RESOURCE_TYPES, 1)
    observer.page_stored(RowKind.GRANTS, 12345)
    observer.phase_started(Phase.LIST_GRANTS)
    assert notes[-1] == "task t1: list-grants (1 resource type, 12,345 grants)"
