"""The sync displays: bars with percent and ETA where a phase's size is known, plain lines in
every phase, finished kinds frozen, counts with separators and the right plural."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from baton_cli.cli import humanize
from baton_cli.cli.progress_rich import RichProgress
from baton_cli.cli.progress_view import NoProgress, PlainProgress
from baton_cli.cli.sync_cmd import summary_line
from baton_cli.core.progress import Phase, RowKind
from baton_cli.wiring import SyncSummary
from tests.cli.invoke import baton_here


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def render(view: RichProgress, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(view.renderable())
    return console.export_text()


def test_humanize_counts_plurals_and_durations() -> None:
    assert humanize.count(1, "grant") == "1 grant"
    assert humanize.count(1234567, "grant") == "1,234,567 grants"
    assert humanize.count(0, "entitlement pair") == "0 entitlement pairs"
    assert humanize.kind_counts({"resource_types": 1, "resources": 1, "entitlements": 2, "grants": 1000}) == (
        "1 resource type, 1 resource, 2 entitlements, 1,000 grants"
    )
    assert [humanize.duration(s) for s in (0.123, 12.34, 65, 3725)] == ["0.12s", "12.3s", "1m 05s", "1h 02m"]
    assert humanize.eta(10.0, 25, 100) == "30.0s"
    assert humanize.eta(0.0, 0, 100) == "?"


def test_rich_bar_shows_percent_and_eta_of_a_sized_phase() -> None:
    clock = FakeClock()
    view = RichProgress(Console(file=io.StringIO()), clock=clock)
    view.phase_started(Phase.LIST_GRANTS)
    view.phase_progress(Phase.LIST_GRANTS, 0, 20000)
    clock.now += 10
    view.phase_progress(Phase.LIST_GRANTS, 5000, 20000)
    text = render(view)
    assert "list-grants" in text
    assert "5,000 of 20,000 resources (25%), ETA 30.0s" in text
    assert "━" in text  # the bar


def test_rich_expansion_reports_pairs() -> None:
    clock = FakeClock()
    view = RichProgress(Console(file=io.StringIO()), clock=clock)
    view.phase_started(Phase.GRANT_EXPANSION)
    clock.now += 4
    view.phase_progress(Phase.GRANT_EXPANSION, 1, 3)
    assert "1 of 3 entitlement pairs (33%), ETA 8.0s" in render(view)


def test_rich_rows_of_finished_kinds_stop_their_timer() -> None:
    clock = FakeClock()
    view = RichProgress(Console(file=io.StringIO()), clock=clock)
    view.phase_started(Phase.LIST_RESOURCES)
    view.page_stored(RowKind.RESOURCES, 1)
    clock.now += 2
    view.page_stored(RowKind.RESOURCES, 1999)
    view.phase_started(Phase.LIST_ENTITLEMENTS)
    clock.now += 60  # entitlements take a minute: the resources row must not keep counting
    view.page_stored(RowKind.ENTITLEMENTS, 1)
    lines = {line.split()[1]: line for line in render(view, width=120).splitlines() if line.strip()}
    resources = lines["resources"]
    assert resources.startswith("✓")
    assert "2,000 rows" in resources and "2 pages" in resources and "1,000 rows/s" in resources
    assert resources.rstrip().endswith("2.0s")
    entitlements = lines["entitlements"]
    assert not entitlements.startswith("✓") and "1 row " in entitlements and "1 page " in entitlements


def test_rich_final_state_shows_done_and_the_summary_duration() -> None:
    clock = FakeClock()
    view = RichProgress(Console(file=io.StringIO()), clock=clock)
    view.phase_started(Phase.FINALIZE)
    view.finished(12.34)
    clock.now += 100
    text = render(view)
    assert "done" in text and "12.3s" in text


def test_plain_lines_come_at_the_interval_during_expansion() -> None:
    buffer = io.StringIO()
    clock = FakeClock()
    display = PlainProgress(buffer, interval=5.0, clock=clock)
    display.phase_started(Phase.GRANT_EXPANSION)
    for done in range(1, 11):
        clock.now += 1
        display.phase_progress(Phase.GRANT_EXPANSION, done * 100, 1000)  # no rows are stored meanwhile
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 3  # the phase line, then one every 5 s
    assert lines[1].startswith("sync: grant-expansion 500 of 1,000 entitlement pairs (50%), ETA 5.0s;")
    assert lines[2].startswith("sync: grant-expansion 1,000 of 1,000 entitlement pairs (100%), ETA 0.00s;")


def test_no_progress_still_prints_notes_and_warnings() -> None:
    buffer = io.StringIO()
    display = NoProgress(buffer)
    display.phase_started(Phase.LIST_GRANTS)
    display.page_stored(RowKind.GRANTS, 3)
    message = "warning: skipped target user:nobody: the connector has no such resource"
    display.note(message)
    assert buffer.getvalue() == f"sync: {message}\n"


def test_summary_line_counts_warnings_with_plurals() -> None:
    summary = SyncSummary(
        sync_id="S",
        counts={"resource_types": 1, "resources": 1, "entitlements": 0, "grants": 12345},
        seconds=65.2,
        path="x.c1z",
        bytes=1,
        needs_expansion=False,
        warnings=("skipped target user:nobody",),
    )
    assert summary_line(summary) == (
        "Synced 1 resource type, 1 resource, 0 entitlements, 12,345 grants into x.c1z (1 byte) in 1m 05s; "
        "sync id S; 1 warning (on stderr)"
    )


def test_warnings_reach_stderr_with_progress_off(tmp_path: Path) -> None:
    full = baton_here("sync", "--plugin", "demo", "--out", "t.c1z", "--progress", "off", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    result = baton_here(
        "sync",
        "--plugin",
        "demo",
        "--out",
        "t.c1z",
        "--progress",
        "off",
        "--sync-resources",
        "user:nobody,group:g000001",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("sync: warning: ")]
    assert warnings[0] == "sync: warning: skipped target user:nobody: the connector has no such resource"
    assert f"; {len(warnings)} warnings (on stderr)" in result.stdout


def test_a_kind_stored_in_one_instant_shows_no_rate() -> None:
    clock = FakeClock()
    view = RichProgress(Console(file=io.StringIO()), clock=clock)
    view.phase_started(Phase.LIST_RESOURCE_TYPES)
    view.page_stored(RowKind.RESOURCE_TYPES, 3)
    view.phase_started(Phase.LIST_RESOURCES)
    line = next(line for line in render(view).splitlines() if "resource types" in line)
    assert "rows/s" not in line and " - " in line
