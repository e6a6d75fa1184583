"""``baton run``: the daemon. Takes tasks from ConductorOne (or `baton emulator`) until stopped.

SIGTERM (what systemd, Docker and Kubernetes send) and Ctrl-C both stop it gracefully: no new
tasks, ``--shutdown-grace`` seconds for running ones, then they are cancelled and reported as
retryable so the platform gives them to another runner. A graceful stop exits 0; a second
signal stops at once and exits 1 (CANCELLED), still reporting what it can.
"""

from __future__ import annotations

import contextlib
import sys
from typing import IO, cast

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.interrupt import cancel_on_stop_signals
from baton_cli.core.cancel import CancelToken
from baton_cli.errors import CancelledError, UsageError
from baton_cli.wiring import PluginRequest, run_daemon


def register(app: typer.Typer) -> None:
    @app.command(
        "run",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help=(
            "Run a connector plugin as a daemon: log in with a client id and secret, then take tasks "
            "(sync, grant, revoke, create account, delete resource, rotate credentials) until SIGTERM "
            "or Ctrl-C. Provisioning tasks need --provisioning (-p). "
            "Plugin fields follow the runner's options, as for `baton sync`."
        ),
    )
    def run(
        ctx: typer.Context,
        plugin: opt.Plugin,
        client_id: opt.ClientId = "",
        client_secret: opt.ClientSecret = "",
        ca_file: opt.CAFile = None,
        config: opt.Config = None,
        task_concurrency: opt.TaskConcurrency = 3,
        c1z_temp_dir: opt.C1ZTempDir = None,
        log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
        log_format: opt.LogFormat = None,
        provisioning: opt.Provisioning = False,
        ticketing: opt.Ticketing = False,
        shutdown_grace: opt.ShutdownGrace = opt.DEFAULT_SHUTDOWN_GRACE,
        skip_full_sync: opt.SkipFullSync = False,
        sync_resource_types: opt.SyncResourceTypes = "",
        health_check: opt.HealthCheck = False,
        health_check_port: opt.HealthCheckPort = opt.DEFAULT_HEALTH_PORT,
        health_check_bind_address: opt.HealthCheckBindAddress = opt.DEFAULT_HEALTH_BIND,
        max_tasks: int | None = typer.Option(
            None, "--max-tasks", min=1, help="Stop after this many tasks have finished."
        ),
        exit_when_idle: bool = typer.Option(
            False, "--exit-when-idle", help="Stop when the platform has no task and none is running."
        ),
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
        from baton_cli.core.handlers.gate import Switches
        from baton_cli.core.parallel import effective_workers

        _require_health_check(ctx, health_check)
        from baton_cli.core.runner import RunnerSettings

        settings = RunnerSettings(
            task_concurrency=task_concurrency,
            workers=effective_workers(opt.requested_workers(workers, parallel_sync)),
            c1z_temp_dir=c1z_temp_dir,
            shutdown_grace_seconds=shutdown_grace,
            max_tasks=max_tasks,
            exit_when_idle=exit_when_idle,
            switches=Switches(provisioning=provisioning, ticketing=ticketing),
            skip_full_sync=skip_full_sync,
            sync_resource_types=tuple(opt.csv_list(sync_resource_types, flag="--sync-resource-types")),
        )
        from baton_cli.cli.daemon_log import LogObserver
        from baton_cli.cli.daemon_view import DaemonLines, DaemonView, LiveLogStream
        from baton_cli.cli.log_setup import LogFormat, StdoutAsLog, configure_logging
        from baton_cli.core.runner_events import RunnerObservers

        # A terminal with console logs gets the live view, the log lines printed above it; JSON
        # logs or no terminal get the same facts as log lines (upload progress, heartbeat trouble).
        view: DaemonView | None = None
        if sys.stderr.isatty() and log_format is not opt.LogFormatChoice.json:
            from rich.console import Console

            console = Console(stderr=True)
            view = DaemonView(console)
            stream = cast("IO[str]", LiveLogStream(console))  # a text stream; typeshed's IO is wider
            configure_logging(log_level, LogFormat.console, stream=stream)
        else:
            configure_logging(log_level, log_format)
        log = LogObserver()
        observer = RunnerObservers([log, view or DaemonLines()])
        cancel = CancelToken()
        force = CancelToken()

        def stop_now() -> None:
            log.note("second stop signal: stopping now")
            force.cancel("second stop signal")

        request = PluginRequest(
            spec=plugin,
            args=list(ctx.args),
            config_file=config,
            provisioning=provisioning,
            ticketing=ticketing,
        )
        real_stdout = sys.stdout
        # stdout carries nothing in the daemon: a connector's stray print becomes a log record.
        sys.stdout = StdoutAsLog()
        try:
            with cancel_on_stop_signals(cancel, on_second=stop_now), view or contextlib.nullcontext():
                summary = run_daemon(
                    request,
                    client_id=client_id,
                    client_secret=client_secret,
                    ca_file=ca_file,
                    settings=settings,
                    cancel=cancel,
                    observer=observer,
                    force=force,
                    health_server=(health_check_bind_address, health_check_port) if health_check else None,
                )
        finally:
            sys.stdout.flush()
            sys.stdout = real_stdout
        log.note(f"stopped: {summary}")
        if force.cancelled:
            raise CancelledError("stopped at once by a second stop signal")


def _require_health_check(ctx: typer.Context, health_check: bool) -> None:
    """cli.md §4: the health server's port and address only mean something with --health-check."""
    if health_check:
        return
    for name, flag in (
        ("health_check_port", "--health-check-port"),
        ("health_check_bind_address", "--health-check-bind-address"),
    ):
        source = ctx.get_parameter_source(name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            raise UsageError(f"{flag} needs --health-check (or BATON_HEALTH_CHECK=true)")
