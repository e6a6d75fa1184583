"""``baton sync``: one full sync of a connector plugin into a local c1z file."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from baton_cli.cli import humanize
from baton_cli.cli import options as opt
from baton_cli.cli.interrupt import cancel_on_sigint
from baton_cli.cli.options import OutputFormat, ProgressMode
from baton_cli.cli.progress_view import progress_display
from baton_cli.core.cancel import CancelToken
from baton_cli.core.sync_options import SyncOptions
from baton_cli.core.targets import parse_resource_ref
from baton_cli.errors import UsageError
from baton_cli.wiring import PluginRequest, SyncSummary, run_local_sync


def sync_options(
    sync_resources: str,
    sync_resource_types: str,
    skip_entitlements_and_grants: bool,
    skip_grants: bool,
    skip_expand_grants: bool,
) -> SyncOptions:
    refs = [parse_resource_ref(item) for item in opt.csv_list(sync_resources, flag="--sync-resources")]
    if skip_grants and not refs:
        raise UsageError("--skip-grants is only allowed together with --sync-resources")
    return SyncOptions(
        resource_type_ids=tuple(opt.csv_list(sync_resource_types, flag="--sync-resource-types")),
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
        plugin: opt.Plugin,
        out: opt.SyncOut = opt.DEFAULT_FILE,
        config: opt.Config = None,
        output: opt.Output = opt.CONSOLE,
        progress: opt.Progress = ProgressMode.auto,
        c1z_temp_dir: opt.C1ZTempDir = None,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
        sync_resources: opt.SyncResources = "",
        sync_resource_types: opt.SyncResourceTypes = "",
        skip_entitlements_and_grants: opt.SkipEntitlementsAndGrants = False,
        skip_grants: opt.SkipGrants = False,
        skip_expand_grants: opt.SkipExpandGrants = False,
        fresh: Annotated[
            bool,
            opt.option(
                "--fresh",
                "--no-resume",
                envvar=None,
                help="Discard an unfinished sync saved for this file and start over.",
            ),
        ] = False,
        workers: opt.Workers = 0,
        parallel_sync: opt.ParallelSync = False,
        storage_engine: opt.StorageEngine = "",
        http_timeout_seconds: opt.HttpTimeoutSeconds = opt.DEFAULT_HTTP_TIMEOUT_SECONDS,
        external_resource_c1z: opt.ExternalResourceC1Z = "",
        external_resource_entitlement_id_filter: opt.ExternalResourceEntitlementIdFilter = "",
        external_resource_traits: opt.ExternalResourceTraits = "",
        session_store_maximum_size: opt.SessionStoreMaximumSize = opt.DEFAULT_SESSION_STORE_MAXIMUM_SIZE,
    ) -> None:
        note = opt.storage_engine_note(storage_engine)
        if note:
            typer.echo(note, err=True)
        request = PluginRequest(spec=plugin, args=list(ctx.args), config_file=config)
        requested = opt.requested_workers(workers, parallel_sync)
        options = sync_options(
            sync_resources, sync_resource_types, skip_entitlements_and_grants, skip_grants, skip_expand_grants
        )
        cancel = CancelToken()
        from baton_cli.cli.log_setup import configure_logging

        configure_logging(log_level, log_format)
        with progress_display(progress) as display, cancel_on_sigint(cancel):
            summary = run_local_sync(
                request,
                out,
                observer=display,
                cancel=cancel,
                tmp_dir=c1z_temp_dir,
                options=options,
                fresh=fresh,
                workers=requested,
            )
            display.finished(summary.seconds)
        if output is OutputFormat.json:
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
