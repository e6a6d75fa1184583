"""``baton export``: flat tables of one sync for spreadsheets (CSV) and jq (JSON lines).

Protobuf JSON nests (a grant holds its entitlement holds its resource); these
rows are flat, one scalar per column, ids spelled as the other commands take
them. Rows stream from SQLite straight into the files.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from baton_cli.cli.inspect_options import DEFAULT_FILE, FileOption, Session, SyncIdOption, open_session
from baton_cli.cli.inspect_output import dumps
from baton_cli.cli.inspect_render import is_direct, sources_of
from baton_cli.errors import C1ZError, UsageError
from baton_cli.pb.c1.connector.v2 import entitlement_pb2, resource_pb2

Row = dict[str, str | bool]


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


COLUMNS: dict[str, tuple[str, ...]] = {
    "resource_types": ("id", "display_name", "traits", "description"),
    "resources": (
        "resource_type",
        "resource_id",
        "display_name",
        "description",
        "parent_resource_type",
        "parent_resource_id",
    ),
    "entitlements": (
        "id",
        "resource_type",
        "resource_id",
        "display_name",
        "slug",
        "purpose",
        "description",
        "grantable_to",
    ),
    "grants": (
        "id",
        "entitlement_id",
        "resource_type",
        "resource_id",
        "principal_type",
        "principal_id",
        "direct",
        "sources",
    ),
}
_LIST_SEP = ";"  # multi-valued cells (traits, sources): one cell, easy to split in a spreadsheet

Format = Annotated[ExportFormat, typer.Option("--format", help="csv (one file per kind) or jsonl.")]
Out = Annotated[str, typer.Argument(help="Output directory (created if missing), or - for jsonl on stdout.")]


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    out: Out,
    export_format: Format = ExportFormat.csv,
    file: FileOption = DEFAULT_FILE,
    sync_id: SyncIdOption = None,
) -> None:
    """Export resource types, resources, entitlements and grants as flat CSV or JSON-lines tables."""
    if out == "-" and export_format is ExportFormat.csv:
        raise UsageError("CSV needs an output directory (one file per kind); use --format jsonl for stdout")
    with open_session(file, sync_id) as session:
        if out == "-":
            for kind, rows in _tables(session):
                _write_jsonl(sys.stdout, kind, rows)
            sys.stdout.flush()
            return
        directory = Path(out)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise C1ZError(f"cannot create export directory {directory}: {exc.strerror or exc}") from None
        for kind, rows in _tables(session):
            target = directory / f"{kind}.{export_format.value}"
            with target.open("w", encoding="utf-8", newline="") as fh:
                count = (
                    _write_csv(fh, kind, rows)
                    if export_format is ExportFormat.csv
                    else _write_jsonl(fh, kind, rows)
                )
            typer.echo(f"{target}: {count} rows")


def _write_csv(fh: TextIO, kind: str, rows: Iterator[Row]) -> int:
    writer = csv.DictWriter(fh, fieldnames=COLUMNS[kind])
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()})
        count += 1
    return count


def _write_jsonl(fh: TextIO, kind: str, rows: Iterator[Row]) -> int:
    count = 0
    singular = kind.removesuffix("s")
    for row in rows:
        # "kind" lets one stream carry all tables: jq 'select(.kind == "grant")'.
        fh.write(dumps({"kind": singular, **row}) + "\n")
        count += 1
    return count


def _tables(session: Session) -> Iterator[tuple[str, Iterator[Row]]]:
    makers: dict[str, Callable[[Session], Iterator[Row]]] = {
        "resource_types": _resource_types,
        "resources": _resources,
        "entitlements": _entitlements,
        "grants": _grants,
    }
    for kind, make in makers.items():
        yield kind, make(session)


def _resource_types(session: Session) -> Iterator[Row]:
    for rt in session.types.values():
        names = (resource_pb2.ResourceType.Trait.Name(t).removeprefix("TRAIT_").lower() for t in rt.traits)
        yield {
            "id": rt.id,
            "display_name": rt.display_name,
            "traits": _LIST_SEP.join(names),
            "description": rt.description,
        }


def _resources(session: Session) -> Iterator[Row]:
    for r in session.reader.resources(session.sync_id):
        parent = r.parent_resource_id if r.HasField("parent_resource_id") else None
        yield {
            "resource_type": r.id.resource_type,
            "resource_id": r.id.resource,
            "display_name": r.display_name,
            "description": r.description,
            "parent_resource_type": parent.resource_type if parent else "",
            "parent_resource_id": parent.resource if parent else "",
        }


def _entitlements(session: Session) -> Iterator[Row]:
    purposes = entitlement_pb2.Entitlement.PurposeValue
    for e in session.reader.entitlements(session.sync_id):
        purpose = purposes.Name(e.purpose).removeprefix("PURPOSE_VALUE_").lower() if e.purpose else ""
        yield {
            "id": e.id,
            "resource_type": e.resource.id.resource_type,
            "resource_id": e.resource.id.resource,
            "display_name": e.display_name,
            "slug": e.slug,
            "purpose": purpose,
            "description": e.description,
            "grantable_to": _LIST_SEP.join(t.id for t in e.grantable_to),
        }


def _grants(session: Session) -> Iterator[Row]:
    for g in session.reader.grants(session.sync_id):
        yield {
            "id": g.id,
            "entitlement_id": g.entitlement.id,
            "resource_type": g.entitlement.resource.id.resource_type,
            "resource_id": g.entitlement.resource.id.resource,
            "principal_type": g.principal.id.resource_type,
            "principal_id": g.principal.id.resource,
            "direct": is_direct(g),
            "sources": _LIST_SEP.join(sources_of(g)),
        }
