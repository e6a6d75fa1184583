"""``baton expand``: finish the grant expansion of a sync that stopped before it, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.interrupt import cancel_on_sigint
from baton_cli.cli.options import OutputFormat
from baton_cli.cli.progress_view import progress_display
from baton_cli.core.cancel import CancelToken
from baton_cli.wiring import ExpandSummary, run_expand


def register(app: typer.Typer) -> None:
    @app.command(
        "expand",
        help=(
            "Finish the grant expansion of a sync in a c1z file (one that stopped at the expansion "
            "phase, or whose grants are still marked for expansion) without running the connector."
        ),
    )
    def expand(
        file: Annotated[
            Path, opt.option("--file", "-f", metavar="FILE", help="c1z file to expand in place (v1).")
        ],
        out: Annotated[
            Path | None,
            opt.option(
                "--out",
                envvar=None,
                metavar="FILE",
                help="Write the result to this new v1 file, leaving --file as it is (needed for v3 files).",
            ),
        ] = None,
        sync_id: Annotated[
            str | None,
            opt.option(
                "--sync-id",
                envvar=None,
                metavar="ID",
                help="Sync to expand (default: the newest one with expansion pending).",
            ),
        ] = None,
        output: opt.Output = opt.CONSOLE,
        progress: opt.Progress = opt.ProgressMode.auto,
        c1z_temp_dir: opt.C1ZTempDir = None,
    ) -> None:
        cancel = CancelToken()
        with progress_display(progress, label="expand") as display, cancel_on_sigint(cancel):
            summary = run_expand(
                file, sync_id, tmp_dir=c1z_temp_dir, cancel=cancel, out=out, observer=display
            )
            display.finished(summary.seconds)
        typer.echo(json.dumps(_payload(summary), indent=2) if output is OutputFormat.json else _text(summary))


def _payload(summary: ExpandSummary) -> dict[str, object]:
    return {
        "sync_id": summary.sync_id,
        "path": summary.path,
        "grants_created": summary.grants_created,
        "grants_updated": summary.grants_updated,
        "edges": summary.edges,
        "dropped_edges": summary.dropped_edges,
        "cycles_collapsed": summary.cycles_collapsed,
        "layers": summary.layers,
        "seconds": round(summary.seconds, 3),
        "expansion_seconds": round(summary.expansion_seconds, 3),
        "bytes": summary.bytes,
    }


def _text(summary: ExpandSummary) -> str:
    dropped = f", {summary.dropped_edges:,} dropped" if summary.dropped_edges else ""
    cycles = f", {summary.cycles_collapsed:,} cycles collapsed" if summary.cycles_collapsed else ""
    return (
        f"Expanded sync {summary.sync_id} in {summary.path}: {summary.grants_created:,} grants created, "
        f"{summary.grants_updated:,} updated from {summary.edges:,} edges{dropped} in "
        f"{summary.layers} layers{cycles}; {summary.bytes:,} bytes in {summary.seconds:.2f}s"
    )
