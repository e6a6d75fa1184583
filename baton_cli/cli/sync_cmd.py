"""``baton sync``: one full sync of a connector plugin into a local c1z file."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from baton_cli.cli import humanize
from baton_cli.cli.interrupt import cancel_on_sigint
from baton_cli.cli.progress_view import NoProgress, PlainProgress, RichProgress
from baton_cli.cli.workers import parallel_sync_option, requested_workers, workers_option
from baton_cli.core.cancel import CancelToken
from baton_cli.core.sync_options import SyncOptions
from baton_cli.core.targets import parse_resource_ref
from baton_cli.errors import UsageError
from baton_cli.wiring import PluginRequest, SyncSummary, run_local_sync


class ProgressMode(StrEnum):
    auto = "auto"
    rich = "rich"
    plain = "plain"
    off = "off"


def _display(mode: ProgressMode) -> RichProgress | PlainProgress | NoProgress:
    if mode is ProgressMode.auto:
        mode = ProgressMode.rich if sys.stderr.isatty() else ProgressMode.plain
    if mode is ProgressMode.rich:
        return RichProgress(Console(stderr=True))
    if mode is ProgressMode.plain:
        return PlainProgress(sys.stderr)
    return NoProgress()


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def sync_options(
    sync_resources: str,
    sync_resource_types: str,
    skip_entitlements_and_grants: bool,
    skip_grants: bool,
    skip_expand_grants: bool,
) -> SyncOptions:
    refs = [parse_resource_ref(item) for item in _csv(sync_resources)]
    if skip_grants and not refs:
        raise UsageError("--skip-grants is only allowed together with --sync-resources")
    return SyncOptions(
        resource_type_ids=tuple(_csv(sync_resource_types)),
        targets=tuple(target for target, _parent in refs),
        target_parents=tuple(parent for _target, parent in refs),
        skip_entitlements_and_grants=skip_entitlements_and_grants,
        skip_grants=skip_grants,
        skip_expand_grants=skip_expand_grants,
    )


def register(app: typer.Typer) -> None:
    @app.command(
        "sync",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help=(
            "Run a full sync of a connector plugin into a c1z file. "
            "Options after the runner's own are the plugin's fields, e.g. `--users 100`; "
            "`baton plugins show NAME` lists them."
        ),
    )
    def sync(
        ctx: typer.Context,
        plugin: str = typer.Option(
            ..., "--plugin", "-p", envvar="BATON_PLUGIN", help="Plugin entry-point name or module:attr."
        ),
        out: Path = typer.Option(
            Path("sync.c1z"),
            "--out",
            "--file",
            "-f",
            envvar="BATON_FILE",
            help="c1z file to write (upstream alias: -f/--file).",
        ),
        config: Path | None = typer.Option(
            None,
            "--config",
            envvar="BATON_CONFIG_PATH",
            help="YAML file of plugin field values (default ./.baton.yaml).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
        progress: ProgressMode = typer.Option(
            ProgressMode.auto, "--progress", help="Progress display on stderr: auto picks rich on a terminal."
        ),
        c1z_temp_dir: Path | None = typer.Option(
            None, "--c1z-temp-dir", envvar="BATON_C1Z_TEMP_DIR", help="Directory for c1z work files."
        ),
        sync_resources: str = typer.Option(
            "",
            "--sync-resources",
            envvar="BATON_SYNC_RESOURCES",
            help="Targeted sync of these resources: TYPE:ID or bid:r: Baton IDs, comma separated.",
        ),
        sync_resource_types: str = typer.Option(
            "",
            "--sync-resource-types",
            envvar="BATON_SYNC_RESOURCE_TYPES",
            help="Only these resource types, comma separated.",
        ),
        skip_entitlements_and_grants: bool = typer.Option(
            False,
            "--skip-entitlements-and-grants",
            envvar="BATON_SKIP_ENTITLEMENTS_AND_GRANTS",
            help="Resources only (a resources_only sync).",
        ),
        skip_grants: bool = typer.Option(
            False,
            "--skip-grants",
            envvar="BATON_SKIP_GRANTS",
            help="Skip grants (only with --sync-resources).",
        ),
        skip_expand_grants: bool = typer.Option(
            False,
            "--skip-expand-grants",
            envvar="BATON_SKIP_EXPAND_GRANTS",
            help="Leave grant expansion to the platform.",
        ),
        fresh: bool = typer.Option(
            False,
            "--fresh",
            "--no-resume",
            help="Discard an unfinished sync saved for this file and start over.",
        ),
        workers: int = workers_option(),
        parallel_sync: bool = parallel_sync_option(),
    ) -> None:
        request = PluginRequest(spec=plugin, args=list(ctx.args), config_file=config)
        requested = requested_workers(workers, parallel_sync)
        options = sync_options(
            sync_resources, sync_resource_types, skip_entitlements_and_grants, skip_grants, skip_expand_grants
        )
        cancel = CancelToken()
        with _display(progress) as display, cancel_on_sigint(cancel):
            summary = run_local_sync(
                request,
                out,
                observer=display,
                cancel=cancel,
                tmp_dir=c1z_temp_dir,
                options=options,
                workers=requested,
                fresh=fresh,
            )
            display.finished(summary.seconds)
        if as_json:
            payload = {
                "sync_id": summary.sync_id,
                "counts": summary.counts,
                "seconds": round(summary.seconds, 3),
                "path": summary.path,
                "bytes": summary.bytes,
                "resumed": summary.resumed,
                "sync_type": summary.sync_type,
                "warnings": list(summary.warnings),
                "dropped": summary.dropped,
            }
            typer.echo(json.dumps(payload, indent=2))
        else:
            typer.echo(summary_line(summary))


def summary_line(summary: SyncSummary) -> str:
    warnings = len(summary.warnings) + len(summary.dropped)
    told = f"; {humanize.count(warnings, 'warning')} (on stderr)" if warnings else ""
    return (
        f"Synced {humanize.kind_counts(summary.counts)} into {summary.path} "
        f"({humanize.count(summary.bytes, 'byte')}) in {humanize.duration(summary.seconds)}; "
        f"sync id {summary.sync_id}{told}"
    )
