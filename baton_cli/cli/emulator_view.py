"""The live Rich view of ``baton emulator serve`` on a terminal: hosts, tasks, faults, events.

Apart from emulator_cmd.py so the plain and off views (every script, every test) start without Rich.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from baton_cli.emulator import live
    from baton_cli.emulator.server import EmulatorServer

REFRESH_SECONDS = 0.5


def rich_view(server: EmulatorServer, stop: threading.Event) -> None:
    console = Console()
    with Live(render(server.snapshot()), console=console, refresh_per_second=4, transient=False) as view:
        while not stop.wait(REFRESH_SECONDS):
            view.update(render(server.snapshot()))


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]], empty: str) -> RenderableType:
    if not rows:
        return Text(f"{title}: {empty}", style="dim")
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def render(snap: live.LiveSnapshot) -> RenderableType:
    from baton_cli.emulator import live

    header = Text.assemble(
        ("baton emulator ", "bold"),
        f"https://{snap.target}  ",
        (f"CA {snap.ca_file}", "dim"),
        ("  Ctrl-C to stop", "dim"),
    )
    parts: list[RenderableType] = [
        header,
        _table("Hosts", live.HOST_COLUMNS, live.host_rows(snap), "none yet (runners show up on Hello)"),
        _table("Tasks", live.TASK_COLUMNS, live.task_rows(snap), "none (baton emulator enqueue ...)"),
    ]
    if snap.faults:
        parts.append(_table("Faults", ("rule", "fired"), [(d, str(n)) for d, n in snap.faults], "none"))
    events = Text("\n".join(live.event_line(e) for e in snap.events) or "no events yet", style="dim")
    parts.append(events)
    return Group(*parts)
