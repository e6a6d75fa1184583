"""``baton diff``: resources, entitlements and grants added, removed and changed between two syncs.

Two files (``baton diff OLD.c1z NEW.c1z``) or two syncs of one file (``-f FILE
--base-sync-id X --applied-sync-id Y``; without ids, the last two finished full
syncs). JSON keeps upstream's ``C1ZDiffOutput`` shape (created / deleted /
modified lists per kind, modified holding the new version).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf.message import Message

from baton_cli.c1z.diff import KINDS, KindDiff, Side, diff_kind
from baton_cli.c1z.inspect_queries import InspectQueries
from baton_cli.c1z.reader import C1ZReader
from baton_cli.c1z.runs import SyncRun
from baton_cli.cli.inspect_options import DEFAULT_FILE, FileOption, OutputOption, temp_dir
from baton_cli.cli.inspect_output import console_table, dumps, to_json
from baton_cli.cli.options import OutputFormat
from baton_cli.errors import EXIT_DIFFERENCES, FailedPreconditionError, UsageError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, grant_pb2, resource_pb2

_DECODERS: dict[str, Callable[[bytes], Message]] = {
    "resources": resource_pb2.Resource.FromString,
    "entitlements": entitlement_pb2.Entitlement.FromString,
    "grants": grant_pb2.Grant.FromString,
}
_SINGULAR = {"resources": "resource", "entitlements": "entitlement", "grants": "grant"}
# Upstream's JSON list names, paired with the KindDiff field that holds their rows.
_CATEGORIES = (("created", "added"), ("deleted", "removed"), ("modified", "changed"))

Files = Annotated[list[Path] | None, typer.Argument(help="OLD.c1z NEW.c1z (else the syncs of --file).")]
BaseSync = Annotated[str | None, typer.Option("--base-sync-id", help="The old sync.")]
AppliedSync = Annotated[str | None, typer.Option("--applied-sync-id", help="The new sync.")]
ExitCode = Annotated[
    bool,
    typer.Option("--exit-code", help=f"Exit with status {EXIT_DIFFERENCES} when anything differs (for CI)."),
]


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)


def diff(
    files: Files = None,
    file: FileOption = DEFAULT_FILE,
    base_sync_id: BaseSync = None,
    applied_sync_id: AppliedSync = None,
    output: OutputOption = OutputFormat.console,
    exit_code: ExitCode = False,
) -> None:
    """Show what was added, removed and changed between two syncs."""
    paths = list(files or [])
    if len(paths) not in (0, 2):
        raise UsageError("diff takes two c1z files (OLD NEW), or none to compare two syncs of --file")
    with ExitStack() as stack:
        base, applied = _open_sides(stack, paths, file, base_sync_id, applied_sync_id)
        diffs = [diff_kind(base, applied, kind) for kind in KINDS]
        if output is OutputFormat.json:
            _write_json(base, applied, diffs)
        else:
            _write_console(base, applied, diffs)
    if exit_code and not all(d.empty for d in diffs):
        raise typer.Exit(EXIT_DIFFERENCES)


def _open_sides(
    stack: ExitStack, paths: list[Path], file: Path, base_id: str | None, applied_id: str | None
) -> tuple[Side, Side]:
    if paths:
        old = stack.enter_context(C1ZReader.open(paths[0], tmp_dir=temp_dir()))
        new = stack.enter_context(C1ZReader.open(paths[1], tmp_dir=temp_dir()))
        return _side(old, old.pick_sync(base_id)), _side(new, new.pick_sync(applied_id))
    if (base_id is None) != (applied_id is None):
        raise UsageError("give both --base-sync-id and --applied-sync-id, or neither")
    reader = stack.enter_context(C1ZReader.open(file, tmp_dir=temp_dir()))
    if base_id is not None and applied_id is not None:
        return _side(reader, reader.pick_sync(base_id)), _side(reader, reader.pick_sync(applied_id))
    # As upstream's `baton diff`: the latest finished full sync against the one before it.
    full = [run for run in reader.syncs() if run.finished and run.sync_type == "full"]
    full.sort(key=lambda run: (run.ended_at or "", run.sync_id))
    if len(full) < 2:
        raise FailedPreconditionError(
            f"{file} holds {len(full)} finished full sync(s); diff needs two (or pass two files)"
        )
    return _side(reader, full[-2]), _side(reader, full[-1])


def _side(reader: C1ZReader, run: SyncRun) -> Side:
    return Side(InspectQueries(reader), run.sync_id)


def _rows(base: Side, applied: Side, diff: KindDiff, category: str) -> Iterator[Message]:
    side, ids = (base, diff.removed) if category == "removed" else (applied, getattr(diff, category))
    decode = _DECODERS[diff.kind]
    for data in side.queries.data_by_row_ids(diff.kind, ids):
        yield decode(data)


def _write_json(base: Side, applied: Side, diffs: list[KindDiff]) -> None:
    out = sys.stdout
    out.write(
        "{" + f'"base":{dumps({"syncId": base.sync_id})},"applied":{dumps({"syncId": applied.sync_id})}'
    )
    for d in diffs:
        out.write(f',\n"{d.kind}":{{')
        for i, (key, category) in enumerate(_CATEGORIES):
            out.write(("," if i else "") + f'"{key}":[')
            for j, message in enumerate(_rows(base, applied, d, category)):
                out.write(("," if j else "") + "\n" + to_json(message))
            out.write("]")
        out.write("}")
    out.write("}\n")
    out.flush()


def _label(kind: str, message: Message) -> str:
    if isinstance(message, resource_pb2.Resource):
        return f"{message.id.resource_type}:{message.id.resource}" + (
            f" ({message.display_name})" if message.display_name else ""
        )
    if isinstance(message, entitlement_pb2.Entitlement | grant_pb2.Grant):
        return message.id
    return kind


def _write_console(base: Side, applied: Side, diffs: list[KindDiff]) -> None:
    title = f"Diff {base.sync_id} -> {applied.sync_id}"
    with console_table(("Kind", "Added", "Removed", "Changed"), title=title) as table:
        for d in diffs:
            table.add((d.kind, str(len(d.added)), str(len(d.removed)), str(len(d.changed))))
    if all(d.empty for d in diffs):
        return
    # A table too, so a long diff pages on a terminal and lines up when piped (`grep ^added`).
    with console_table(("Change", "Kind", "Object")) as table:
        for d in diffs:
            for _, category in _CATEGORIES:
                for message in _rows(base, applied, d, category):
                    table.add((category, _SINGULAR[d.kind], _label(d.kind, message)))
