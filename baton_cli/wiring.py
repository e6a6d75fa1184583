"""Composition root: builds the pieces for each way in (one-shot sync, later daemon)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from baton_cli.c1z import C1ZWriter, SyncRun, SyncStore
from baton_cli.c1z.cleanup import CleanupSettings
from baton_cli.c1z.container import read_magic, require_readable, require_v1
from baton_cli.c1z.resumable import saved_fingerprint
from baton_cli.connector.api import Connector
from baton_cli.connector.capabilities import capability_names, connector_metadata_with_capabilities
from baton_cli.connector.config import Config, resolve_config
from baton_cli.connector.executable import ExecutablePlugin
from baton_cli.connector.loader import installed_plugins, load_connector_plugin, load_plugin
from baton_cli.connector.plugin import Plugin
from baton_cli.core.cancel import CancelToken
from baton_cli.core.expand import expand_grants
from baton_cli.core.parallel import effective_workers
from baton_cli.core.progress import NullObserver, Phase, RowKind, SyncObserver
from baton_cli.core.sync import CHECKPOINT_INTERVAL_SECONDS, SyncEngine
from baton_cli.core.sync_fingerprint import Fingerprint, differences, saved_salt, sync_fingerprint
from baton_cli.core.sync_options import SyncOptions
from baton_cli.core.sync_state import OP_GRANT_EXPANSION, SyncState
from baton_cli.errors import (
    BatonError,
    C1ZError,
    CancelledError,
    ConnectorError,
    FailedPreconditionError,
    NotFoundError,
    StatusCode,
    UsageError,
)

if TYPE_CHECKING:
    from baton_cli.core.runner import RunnerObserver, RunnerSettings, RunSummary
    from baton_cli.core.task_source import Outcome, Task
    from baton_cli.transport.health_http import HealthServer

HELP_TIMEOUT_SECONDS = 30.0

# Runner settings (ours and upstream's, cli.md §3) may share a .baton.yaml with a plugin's fields.
RUNNER_CONFIG_KEYS = frozenset(
    [
        "plugin",
        "out",
        "file",
        "config",
        "c1z-temp-dir",
        "output",
        "fresh",
        "no-resume",
        "progress",
        "json",
        "client-id",
        "client-secret",
        "skip-full-sync",
        "task-concurrency",
        "keep-previous-sync-c1z",
        "health-check",
        "health-check-port",
        "health-check-bind-address",
        "workers",
        "parallel-sync",
        "sync-resources",
        "sync-resource-types",
        "skip-entitlements-and-grants",
        "skip-grants",
        "storage-engine",
        "external-resource-c1z",
        "external-resource-entitlement-id-filter",
        "external-resource-traits",
        "session-store-maximum-size",
        "http-timeout-seconds",
        "provisioning",
        "ticketing",
        "grant-entitlement",
        "grant-principal",
        "grant-principal-type",
        "revoke-grant",
        "create-account-login",
        "create-account-email",
        "create-account-profile",
        "create-account-resource-type",
        "delete-resource",
        "delete-resource-type",
        "rotate-credentials",
        "rotate-credentials-type",
        "event-feed",
        "event-feed-id",
        "event-feed-start-at",
        "event-feed-cursor",
        "create-ticket",
        "bulk-create-ticket",
        "list-ticket-schemas",
        "get-ticket",
        "invoke-action",
        "list-action-schemas",
        "list-resource-actions",
        "diff-syncs",
        "compact-syncs",
        "log-level",
        "log-format",
        "log-path",
        "log-level-debug-expires-at",
        "log-event-log",
        "otel-collector-endpoint",
        "otel-collector-endpoint-tls-cert-path",
        "otel-tracing-disabled",
        "auth-method",
    ]
)


@dataclass(frozen=True, slots=True)
class PluginRequest:
    """Which plugin to load and where its configuration comes from."""

    spec: str
    args: Sequence[str] = ()
    config_file: Path | None = None
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    # Passed on to a connector executable as its own --provisioning / --ticketing (subprocess.md §3).
    provisioning: bool = False
    ticketing: bool = False


@dataclass(frozen=True, slots=True)
class SyncSummary:
    sync_id: str
    counts: dict[str, int]
    seconds: float
    path: str
    bytes: int
    needs_expansion: bool
    resumed: bool = False
    sync_type: str = "full"
    warnings: tuple[str, ...] = ()
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PluginDescription:
    name: str
    version: str
    description: str
    target: str
    capabilities: tuple[str, ...] | None  # None: needs configuration before it can say
    error: str = ""
    path: str = ""  # a connector executable's file
    sdk_version: str = ""  # what a connector executable's Validate reports


def describe_plugins() -> list[PluginDescription]:
    """Installed plugins with the capabilities a default-configured instance reports."""
    described = []
    for info in installed_plugins():
        capabilities: tuple[str, ...] | None = None
        error = info.error
        if info.executable and not error:
            described.append(_describe_executable(info.name, info.version, info.description, info.target))
            continue
        if not error:
            try:
                plugin = load_plugin(info.name)
                config = resolve_config(plugin.fields, [], {}, None, cwd=Path.cwd())
                metadata = connector_metadata_with_capabilities(plugin.factory(config))
                capabilities = tuple(capability_names(metadata))
            except UsageError:
                capabilities = None  # required fields are unset; that is not a broken plugin
            except BatonError as exc:
                error = str(exc)
        described.append(
            PluginDescription(info.name, info.version, info.description, info.target, capabilities, error)
        )
    return described


def _describe_executable(name: str, version: str, description: str, target: str) -> PluginDescription:
    """Path, SDK version and capabilities of a registered connector executable, started bare."""
    plugin = load_connector_plugin(name)
    assert isinstance(plugin, ExecutablePlugin)
    try:
        path = plugin.locate()
    except BatonError as exc:
        return PluginDescription(name, version, description, target, None, str(exc))
    from baton_cli.transport.child import ChildOptions, launch_child

    try:
        with launch_child(ChildOptions(executable=path, env=dict(os.environ), name=name)) as session:
            capabilities = tuple(capability_names(session.connector.metadata()))
            # Unconfigured, it may fail to reach its system; its SDK version is then unknown.
            with suppress(BatonError):
                session.connector.validate()
            sdk = session.connector.sdk_version
    except BatonError as exc:
        if exc.code != StatusCode.INVALID_ARGUMENT:
            return PluginDescription(name, version, description, target, None, str(exc), str(path))
        return PluginDescription(name, version, description, target, None, "", str(path))  # needs flags
    return PluginDescription(name, version, description, target, capabilities, "", str(path), sdk)


def executable_help(spec: str) -> tuple[Path, str] | None:
    """A connector executable's path and ``--help`` text, or None when ``spec`` is Python code."""
    plugin = load_connector_plugin(spec)
    if not isinstance(plugin, ExecutablePlugin):
        return None
    path = plugin.locate()
    try:
        done = subprocess.run(
            [str(path), "--help"], capture_output=True, text=True, timeout=HELP_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConnectorError(f"{path} --help failed: {exc}") from None
    return path, (done.stdout or done.stderr)


def build_connector(request: PluginRequest, plugin: Plugin | None = None) -> tuple[Plugin, Connector]:
    plugin, config = resolve_plugin(request, plugin)
    return plugin, plugin.factory(config)


def refuse_runner_names(plugin: Plugin) -> None:
    """A plugin field may not reuse a runner option's name (cli.md §4: no reusing default fields)."""
    clash = sorted(field.name for field in plugin.fields if field.name in RUNNER_CONFIG_KEYS)
    if clash:
        names = ", ".join(f"--{name}" for name in clash)
        raise ConnectorError(
            f"plugin {plugin.name!r} declares {names}, which the runner already uses: rename the field"
        )


def resolve_plugin(request: PluginRequest, plugin: Plugin | None = None) -> tuple[Plugin, Config]:
    """The plugin and its resolved configuration, before the connector is built.

    ``plugin`` is ``request.spec`` already loaded (each lookup by name reads the entry points)."""
    env = dict(os.environ) if request.env is None else dict(request.env)
    cwd = request.cwd or Path.cwd()
    config_file = request.config_file
    if config_file is None and env.get("BATON_CONFIG_PATH"):
        config_file = Path(env["BATON_CONFIG_PATH"])
        if config_file.suffix not in (".yaml", ".yml"):
            raise UsageError(f"BATON_CONFIG_PATH must name a .yaml or .yml file, got {str(config_file)!r}")
    if plugin is None:
        plugin = load_plugin(request.spec, cwd=cwd)
    refuse_runner_names(plugin)
    config = resolve_config(
        plugin.fields, list(request.args), env, config_file, cwd=cwd, reserved_keys=RUNNER_CONFIG_KEYS
    )
    return plugin, config


@contextmanager
def open_connector(request: PluginRequest, *, cancel: CancelToken | None = None) -> Iterator[Connector]:
    """The configured connector for a request; a connector executable runs for the block's duration."""
    target = load_connector_plugin(request.spec, cwd=request.cwd or Path.cwd())
    if not isinstance(target, ExecutablePlugin):
        yield build_connector(request, target)[1]
        return
    with _child_connector(request, target, cancel) as connector:
        yield connector


@contextmanager
def _child_connector(
    request: PluginRequest, target: ExecutablePlugin, cancel: CancelToken | None
) -> Iterator[Connector]:
    # Imported here: only connector executables need the child-process bridge.
    from baton_cli.transport.child import ChildOptions, launch_child
    from baton_cli.transport.child.rate_limit import rate_limit_from_env

    env = dict(os.environ) if request.env is None else dict(request.env)
    options = ChildOptions(
        executable=target.locate(env),
        args=tuple(request.args),
        env=env,
        name=target.name,
        provisioning=request.provisioning,
        ticketing=request.ticketing,
        cancel=cancel,
        rate_limit=rate_limit_from_env(env),
    )
    with launch_child(options) as session:
        try:
            yield session.connector
        except CancelledError as exc:
            if session.died:  # its death cancelled our work: report the death, not a cancel
                raise ConnectorError(str(exc)) from exc
            raise
        if session.died:
            # It died between calls (a daemon waiting for tasks): that, not a clean stop, is the outcome.
            raise ConnectorError(session.died)


def run_local_sync(
    request: PluginRequest,
    out: Path,
    *,
    observer: SyncObserver | None = None,
    cancel: CancelToken | None = None,
    tmp_dir: Path | None = None,
    options: SyncOptions | None = None,
    fresh: bool = False,
    workers: int = 0,
) -> SyncSummary:
    """``baton sync``: one full sync of a plugin into a local c1z file.

    An unfinished sync saved for ``out`` is resumed only when it was started the same way;
    ``fresh`` discards it instead. ``workers`` is the ``--workers`` value (-1 auto, 0/1
    sequential, N parallel); it may differ between a run and its resume.
    """
    started = time.monotonic()
    options = options or SyncOptions()
    if out.exists() and out.is_dir():
        raise UsageError(
            f"--out {str(out)!r} is a directory; give a file path such as {str(out / 'sync.c1z')!r}"
        )
    target = load_connector_plugin(request.spec, cwd=request.cwd or Path.cwd())
    opened: AbstractContextManager[Connector]
    if isinstance(target, ExecutablePlugin):
        # The child's flags are its own (and may hold its secrets): the executable identifies it.
        env = dict(os.environ) if request.env is None else dict(request.env)
        name, version, config = f"exec:{target.locate(env)}", target.version, Config({})
        opened = _child_connector(request, target, cancel)
    else:
        plugin, config = resolve_plugin(request, target)
        name, version = plugin.name, plugin.version
        opened = nullcontext(plugin.factory(config))
    fingerprint = _fingerprint_for_resume(name, version, config, options, out, tmp_dir, fresh=fresh)
    with opened as connector:
        return _local_sync(
            connector, out, observer, cancel, tmp_dir, options, fresh, fingerprint, started, workers
        )


def _local_sync(
    connector: Connector,
    out: Path,
    observer: SyncObserver | None,
    cancel: CancelToken | None,
    tmp_dir: Path | None,
    options: SyncOptions,
    fresh: bool,
    fingerprint: Fingerprint,
    started: float,
    workers: int,
) -> SyncSummary:
    # A resumable writer keeps its work beside `out` until the file is written: a killed or
    # interrupted run leaves it, and the next run over the same `out` carries on from it.
    writer = C1ZWriter.open(
        out,
        tmp_dir=tmp_dir,
        resumable=True,
        cleanup=CleanupSettings.from_env(os.environ),
        discard_saved_work=fresh,
        fingerprint=fingerprint,
    )
    try:
        with writer:
            result = SyncEngine(
                connector,
                writer,
                observer=observer,
                cancel=cancel,
                env=os.environ,
                checkpoint_interval=_checkpoint_interval(),
                options=options,
                workers=effective_workers(workers),
            ).run()
            size = writer.save()
    except BatonError as exc:
        if writer.has_saved_work():
            raise type(exc)(
                f"{exc} (progress is kept in {writer.workdir}: run the same command again to resume)",
                code=exc.code,
            ) from exc
        raise
    return SyncSummary(
        sync_id=result.sync_id,
        counts=result.counts,
        seconds=time.monotonic() - started,  # what the person waited for, the file written
        path=str(out),
        bytes=size,
        needs_expansion=result.needs_expansion,
        resumed=result.resumed,
        sync_type=result.sync_type,
        warnings=result.warnings,
        dropped=result.dropped or {},
    )


def _fingerprint_for_resume(
    plugin: str,
    version: str,
    config: Config,
    options: SyncOptions,
    out: Path,
    tmp_dir: Path | None,
    *,
    fresh: bool,
) -> Fingerprint:
    """This run's fingerprint; refuses when a saved unfinished sync was started differently."""
    saved = saved_fingerprint(out, tmp_dir)
    current = sync_fingerprint(
        plugin=plugin,
        version=version,
        config=config,
        secret_fields=[name for name in config if config.is_secret(name)],
        options=options,
        salt=saved_salt(saved),
    )
    if saved is not None and not fresh:
        changed = differences(saved, current)
        if changed:
            raise FailedPreconditionError(
                f"{out} has an unfinished sync started differently ({'; '.join(changed)}); "
                "pass --fresh to discard it and start over, or run the command it was started with "
                "to finish it"
            )
    return current


def _checkpoint_interval() -> float:
    # Tests of kill-and-resume checkpoint after every action; people keep the 10 s default.
    raw = os.environ.get("BATON_SYNC_CHECKPOINT_SECONDS", "")
    try:
        return max(0.0, float(raw)) if raw else CHECKPOINT_INTERVAL_SECONDS
    except ValueError:
        raise UsageError(f"BATON_SYNC_CHECKPOINT_SECONDS must be a number of seconds, got {raw!r}") from None


# -- baton expand ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpandSummary:
    sync_id: str
    path: str
    grants_created: int
    grants_updated: int
    edges: int
    dropped_edges: int
    cycles_collapsed: int
    layers: int
    seconds: float  # open to save
    expansion_seconds: float  # the expansion alone
    bytes: int
    was_finished: bool  # the sync had ended before (its pending grants were expanded anyway)


def run_expand(
    path: Path,
    sync_id: str | None = None,
    *,
    tmp_dir: Path | None = None,
    observer: SyncObserver | None = None,
    cancel: CancelToken | None = None,
    out: Path | None = None,
) -> ExpandSummary:
    """``baton expand``: finish the grant expansion of a sync in a c1z file, no connector needed.

    ``out`` writes the result to a new v1 file and leaves ``path`` as it is (the way to expand a
    v3 file, which cannot be written into)."""
    # The writer treats a missing file as a new, empty store; here that is a mistake.
    if not path.exists():
        raise NotFoundError(f"c1z file not found: {path}")
    # Also: an empty file would open as a new, empty store ("nothing pending"); it is not a c1z.
    # With --out it is only read, so a v3 file is fine there.
    (require_v1 if out is None else require_readable)(path, read_magic(path))
    observer = observer or NullObserver()
    started = time.monotonic()
    target = path if out is None else out
    source = None if out is None else path
    # A failure discards the work copy.
    with C1ZWriter.open(target, tmp_dir=tmp_dir, source=source) as writer:
        run, state = _expansion_target(writer.store, sync_id, path)
        observer.note(f"expanding grants of sync {run.sync_id} (started {run.started_at})")
        writer.resume_sync(run)
        observer.phase_started(Phase.GRANT_EXPANSION)
        expansion_started = time.monotonic()
        result = expand_grants(
            writer.expansion_store(),
            env=os.environ,
            cancel=cancel,
            on_progress=lambda p: observer.phase_progress(Phase.GRANT_EXPANSION, p.pairs_done, p.pairs),
        )
        expansion_seconds = time.monotonic() - expansion_started
        observer.page_stored(RowKind.GRANTS, result.grants_created)
        observer.phase_started(Phase.FINALIZE)
        state.actions.clear()  # a finished sync's token has an empty action stack (c1z.md §7)
        writer.set_sync_token(state.to_token())
        writer.end_sync()
        size = writer.save()
    return ExpandSummary(
        sync_id=run.sync_id,
        path=str(target),
        grants_created=result.grants_created,
        grants_updated=result.grants_updated,
        edges=result.edges,
        dropped_edges=result.dropped_edges,
        cycles_collapsed=result.cycles_collapsed,
        layers=result.layers,
        seconds=time.monotonic() - started,
        expansion_seconds=expansion_seconds,
        bytes=size,
        was_finished=run.finished,
    )


def _expansion_target(store: SyncStore, sync_id: str | None, path: Path) -> tuple[SyncRun, SyncState]:
    """The sync to expand: the newest unfinished one paused at grant expansion, else the
    newest with grants still marked needs_expansion; refuses when there is none."""
    pending = store.pending_expansion_sync_ids()
    if sync_id is not None:
        run = store.pick_sync(sync_id)
        state = _sync_state(run)
        reason = _not_expandable(run, state, pending)
        if reason:
            raise FailedPreconditionError(f"sync {sync_id} in {path} {reason}")
        return run, state
    newest_first = [(run, _sync_state(run)) for run in reversed(store.syncs())]
    paused = [(r, s) for r, s in newest_first if not r.finished and _top(s) == OP_GRANT_EXPANSION]
    marked = [(r, s) for r, s in newest_first if r.sync_id in pending and not _not_expandable(r, s, pending)]
    if paused or marked:
        return (paused or marked)[0]
    # Nothing to expand; a sync still collecting deserves a better hint than "nothing pending".
    for run, state in newest_first:
        if not run.finished and _top(state):
            raise FailedPreconditionError(
                f"sync {run.sync_id} in {path} {_not_expandable(run, state, pending)}"
            )
    raise FailedPreconditionError(f"{path} has no sync with a pending grant expansion")


def _not_expandable(run: SyncRun, state: SyncState, pending: set[str]) -> str:
    """Why ``run`` cannot be expanded now ("" when it can)."""
    top = _top(state)
    if not run.finished and top and top != OP_GRANT_EXPANSION:
        # Expanding now would seal a sync whose grants are not all collected yet.
        return f"stopped in {top}, before grant expansion; run `baton sync` again to finish it"
    if top == OP_GRANT_EXPANSION and not run.finished:
        return ""
    return "" if run.sync_id in pending else "has no pending grant expansion"


def _top(state: SyncState) -> str:
    return state.actions[-1].operation if state.actions else ""


def _sync_state(run: SyncRun) -> SyncState:
    if run.finished:
        # Only the flags matter once a sync ended; an unreadable old token must not block it.
        try:
            return SyncState.from_token(run.sync_token)
        except C1ZError:
            return SyncState(needs_expansion=True)
    return SyncState.from_token(run.sync_token)


def run_daemon(
    request: PluginRequest,
    *,
    client_id: str,
    client_secret: str,
    ca_file: Path | None,
    settings: RunnerSettings,
    cancel: CancelToken,
    observer: RunnerObserver | None = None,
    force: CancelToken | None = None,
    health_server: tuple[str, int] | None = None,
) -> RunSummary:
    """``baton run``: serve the platform's tasks with a plugin until cancelled.

    Task work files live in this process's own work area under the temp dir; the work areas
    of daemons that were killed are removed first (core/workfiles.py). ``health_server``
    (bind address, port) starts the HTTP probes and metrics (transport/health_http.py).
    """
    # Imported here: the gRPC stack is only needed by the daemon, not by every command.
    from baton_cli.core.runner import Runner
    from baton_cli.core.workfiles import WorkArea, remove_stale, temp_root
    from baton_cli.transport.platform import connect_platform

    if not client_id:
        raise UsageError("--client-id (or BATON_CLIENT_ID) is required to run the daemon")
    if not client_secret:
        raise UsageError("--client-secret is required in daemon mode (or BATON_CLIENT_SECRET)")
    env = dict(os.environ) if request.env is None else dict(request.env)
    request = replace(
        request,
        provisioning=settings.switches.provisioning,
        ticketing=settings.switches.ticketing,
    )
    root = temp_root(settings.c1z_temp_dir, env)
    for stale in remove_stale(root):
        if observer is not None:
            observer.note(f"removed the work files of a daemon that is no longer running: {stale}")
    with open_connector(request, cancel=cancel) as connector:
        source = connect_platform(client_id, client_secret, ca_file=ca_file, env=env)
        server = None
        try:
            if health_server is not None:
                server, observer = _start_health_server(health_server, connector, source, settings, observer)
            with WorkArea(root) as area:
                settings = replace(settings, c1z_temp_dir=area.path)
                runner = Runner(
                    connector, source, settings, cancel=cancel, env=env, observer=observer, force=force
                )
                return runner.run()
        finally:
            if server is not None:
                server.stop()
            source.close()


def _start_health_server(
    where: tuple[str, int],
    connector: Connector,
    source: object,
    settings: RunnerSettings,
    observer: RunnerObserver | None,
) -> tuple[HealthServer, RunnerObserver]:
    """Start the probes before Hello, so /ready says not_ready while the platform is unreachable."""
    from baton_cli.core.runner_events import RunnerObservers
    from baton_cli.core.runner_health import RunnerHealth
    from baton_cli.transport.health_http import HealthServer, TransportCounters

    health = RunnerHealth(settings.task_concurrency)
    host, port = where
    try:
        server = HealthServer(
            health, connector.validate, host=host, port=port, transport=TransportCounters(source)
        )
    except OSError as exc:
        raise UsageError(
            f"--health-check-port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    bound = server.start()
    # The probes hear each event first: what the log then says ("ready: polling for tasks") is
    # already what /ready answers to whoever reads that line and probes.
    observers: list[RunnerObserver] = [health]
    if observer is not None:
        observers.append(observer)
        observer.note(f"health server on http://{host}:{bound} (/health /ready /live /metrics)")
    return server, RunnerObservers(observers)


def run_action(request: PluginRequest, task: Task, *, cancel: CancelToken | None = None) -> Outcome:
    """``baton grant|revoke|...``: one provisioning task through the daemon's own handlers."""
    from baton_cli.core.handlers import handle_task
    from baton_cli.core.handlers.common import TaskContext, Unreported
    from baton_cli.core.handlers.gate import ONE_SHOT
    from baton_cli.core.local_source import LocalTaskSource

    env = dict(os.environ) if request.env is None else dict(request.env)
    cancel = cancel or CancelToken()
    # The one-shot commands are upstream's one-shot flags, which enable provisioning, and
    # ticketing for the ticket ones (cli.md §2): a connector child gets the same switches.
    from baton_cli.core.handlers.gate import TICKETING_KINDS

    ticketing = task.WhichOneof("task_type") in TICKETING_KINDS
    request = replace(request, provisioning=True, ticketing=request.ticketing or ticketing)
    with open_connector(request, cancel=cancel) as connector:
        context = TaskContext(
            task_id="local",
            connector=connector,
            source=LocalTaskSource(),
            cancel=cancel,
            env=env,
            switches=ONE_SHOT,  # the person typing the command asked for the change
        )
        result = handle_task(task, context)
    return result.outcome if isinstance(result, Unreported) else result
