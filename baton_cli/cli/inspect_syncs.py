"""``baton syncs`` and ``baton stats``: the sync runs in a file and what one of them holds."""

from __future__ import annotations

import calendar
import sys
import time

import typer
from google.protobuf import timestamp_pb2

from baton_cli.c1z.reader import C1ZReader
from baton_cli.c1z.runs import SyncRun
from baton_cli.c1z.stats import compute_stats
from baton_cli.cli.inspect_options import (
    DEFAULT_FILE,
    FileOption,
    OutputOption,
    SyncIdOption,
    open_session,
    temp_dir,
)
from baton_cli.cli.inspect_output import console_table, dumps, json_list
from baton_cli.cli.options import OutputFormat

_TOTALS = ("resource_types", "resources", "entitlements", "grants", "assets")
_BY_TYPE = ("resources_by_resource_type", "entitlements_by_resource_type", "grants_by_resource_type")


def register(app: typer.Typer) -> None:
    app.command("syncs")(syncs)
    app.command("stats")(stats)


def timestamp_json(text: str | None) -> str | None:
    """Stored wall-clock text as protobuf Timestamp JSON.

    Upstream's SQLite driver reads the zone-less text as UTC, so its tool prints
    ``2025-12-17 16:31:25.057185`` as ``2025-12-17T16:31:25.057185Z``; we match.
    """
    if not text:
        return None
    whole, _, fraction = text.partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%d %H:%M:%S"))
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos).ToJsonString()


def sync_dict(run: SyncRun) -> dict[str, object]:
    # Empty values are left out, as protojson does for upstream's SyncOutput.
    fields: dict[str, object | None] = {
        "id": run.sync_id,
        "startedAt": timestamp_json(run.started_at),
        "endedAt": timestamp_json(run.ended_at),
        "syncToken": run.sync_token,
        "syncType": run.sync_type,
        "parentSyncId": run.parent_sync_id,
    }
    return {k: v for k, v in fields.items() if v}


def syncs(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
) -> None:
    """List the sync runs stored in a c1z file (oldest first)."""
    with C1ZReader.open(file, tmp_dir=temp_dir()) as reader:
        runs = reader.syncs()
    if output is OutputFormat.json:
        with json_list("syncs") as out:
            for run in runs:
                out.add(dumps(sync_dict(run)))
        return
    with console_table(("ID", "Type", "Started", "Ended", "Parent")) as table:
        for run in runs:
            table.add(
                (
                    run.sync_id,
                    run.sync_type,
                    run.started_at,
                    run.ended_at or "(unfinished)",
                    run.parent_sync_id,
                )
            )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def stats(
    file: FileOption = DEFAULT_FILE,
    output: OutputOption = OutputFormat.console,
    sync_id: SyncIdOption = None,
) -> None:
    """Counts of one sync, in total and per resource type."""
    with open_session(file, sync_id) as session:
        # Always counted with SQL (indexed GROUP BYs, cheap) rather than trusting the stored JSON,
        # which old SDKs never wrote and unfinished syncs do not have yet.
        computed = compute_stats(session.queries.connection, session.sync_id, session.sync.sync_type)
    body: dict[str, object] = {_camel(k): computed.get(k, 0) for k in _TOTALS}
    body.update({_camel(k): computed.get(k, {}) for k in _BY_TYPE})
    run = session.sync
    if output is OutputFormat.json:
        header = sync_dict(run)
        header.pop("syncToken", None)  # resume state, possibly megabytes of graph: not a statistic
        sys.stdout.write(dumps({**header, "stats": body}) + "\n")
        return
    state = f"finished {run.ended_at}" if run.ended_at else "unfinished"
    title = f"Sync {run.sync_id} ({run.sync_type}, {state})"
    with console_table(("Kind", "Count"), title=title) as table:
        for key in _TOTALS:
            table.add((key.replace("_", " "), str(computed.get(key, 0))))
    by_type = [computed.get(k, {}) for k in _BY_TYPE]
    type_ids = sorted({t for counts in by_type if isinstance(counts, dict) for t in counts})
    if not type_ids:
        return
    with console_table(("Resource Type", "Resources", "Entitlements", "Grants")) as table:
        for type_id in type_ids:
            table.add((type_id, *(str(c.get(type_id, 0)) if isinstance(c, dict) else "0" for c in by_type)))
