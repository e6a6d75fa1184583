"""``baton emulator``: a local ConductorOne platform for developing and testing runners.

``serve`` runs the server in the foreground with a live view (Rich on a terminal, plain event
lines otherwise) until Ctrl-C or SIGTERM, which stop it cleanly with exit code 0: stopping is
how a foreground server is meant to end, not a failure. ``credentials create`` mints a client
id and secret; the task commands (``enqueue``, ``tasks``, ``cancel``) come from
``emulator_tasks_cmd``.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.emulator_tasks_cmd import register_task_commands
from baton_cli.cli.options import OutputFormat, ProgressMode
from baton_cli.emulator.paths import (
    DATA_DIR_ENV,
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TOKEN_TTL,
    credentials_path,
    tls_dir,
)

if TYPE_CHECKING:
    from baton_cli.emulator.server import EmulatorServer

# The server stack (grpc, cryptography, h2) is imported inside the commands that use it, so
# every other `baton` command starts without paying for it.

DataDirOption = Annotated[
    Path, typer.Option("--data-dir", envvar=DATA_DIR_ENV, help="Emulator state directory.")
]
HostOption = Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")]
_REFRESH = 0.5


def register(app: typer.Typer) -> None:
    emulator_app = typer.Typer(
        help="A local ConductorOne platform: token endpoint, BatonService and a task queue.",
        no_args_is_help=True,
    )
    credentials_app = typer.Typer(help="Client credentials for runners.", no_args_is_help=True)
    emulator_app.command("serve")(serve_command)
    credentials_app.command("create")(create_credentials_command)
    emulator_app.add_typer(credentials_app, name="credentials")
    register_task_commands(emulator_app)
    app.add_typer(emulator_app, name="emulator")


# -- credentials create ----------------------------------------------------------------------------


def create_credentials_command(
    name: Annotated[str, typer.Argument(help="Client name: the part of the client id before '@'.")],
    host: Annotated[str, typer.Option("--host", help="Host the runner will reach the emulator at.")] = (
        DEFAULT_HOST
    ),
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The emulator's port.")
    ] = DEFAULT_PORT,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    replace: Annotated[
        bool, typer.Option("--replace", help="Mint new credentials for an existing name.")
    ] = False,
    output: opt.Output = opt.CONSOLE,
) -> None:
    """Mint a client id and secret. The secret is shown once; only its public key is kept."""
    from baton_cli.emulator.credentials import CredentialStore, mint
    from baton_cli.emulator.tls import ensure_tls

    minted, public_key = mint(name, host, port)
    CredentialStore(credentials_path(data_dir)).add(minted.client_id, public_key, replace=replace)
    # Make the CA now, so a runner's --ca-file can be set up before the first `serve`.
    ca_file = ensure_tls(tls_dir(data_dir), [host]).ca_cert
    if output is OutputFormat.json:
        body = {"client_id": minted.client_id, "client_secret": minted.client_secret, "ca_file": str(ca_file)}
        typer.echo(json.dumps(body, indent=2))
        return
    typer.echo(f"client id:     {minted.client_id}")
    typer.echo(f"client secret: {minted.client_secret}")
    typer.echo("")
    typer.echo(f"The secret is shown only now; {credentials_path(data_dir)} keeps just its public key.")
    typer.echo(f"Runners trust the emulator with --ca-file {ca_file} (or SSL_CERT_FILE).")


# -- serve -----------------------------------------------------------------------------------------


def serve_command(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    token_ttl: Annotated[
        int, typer.Option("--token-ttl", min=1, help="Access token lifetime in seconds.")
    ] = DEFAULT_TOKEN_TTL,
    lease_seconds: Annotated[
        float, typer.Option("--lease-seconds", min=0.1, help="Re-deliver a task after this long unheard.")
    ] = 60.0,
    quiet_lease_seconds: Annotated[
        float,
        typer.Option(
            "--quiet-lease-seconds",
            min=0.1,
            help=(
                "Re-deliver a task of a kind runners never heartbeat (all but sync_full) after this "
                "long from its lease; at least --lease-seconds."
            ),
        ),
    ] = 600.0,
    max_attempts: Annotated[
        int,
        typer.Option(
            "--max-attempts",
            min=1,
            help="Hand a task out again after a retryable failure until it has had this many leases.",
        ),
    ] = 3,
    next_poll: Annotated[
        float, typer.Option("--next-poll", min=0.0, help="GetTask next_poll, seconds.")
    ] = 1.0,
    next_heartbeat: Annotated[
        float, typer.Option("--next-heartbeat", min=0.0, help="next_heartbeat given to runners, seconds.")
    ] = 10.0,
    faults_file: Annotated[
        Path | None, typer.Option("--faults", help="YAML or JSON file of faults to inject.")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", help="Inject METHOD:KIND[=VALUE][@RATE], e.g. GetTask:unavailable@0.3."),
    ] = None,
    fault_seed: Annotated[int | None, typer.Option("--fault-seed", help="Seed for fault decisions.")] = None,
    progress: Annotated[
        ProgressMode,
        opt.option(
            "--progress",
            envvar=None,
            help="Live view on stdout: auto is rich on a terminal, plain elsewhere; off prints nothing.",
            show_default=True,
        ),
    ] = ProgressMode.auto,
    view: Annotated[
        ProgressMode | None, opt.option("--view", envvar=None, hidden=True, help="Old name of --progress.")
    ] = None,
    log_level: opt.LogLevel = opt.DEFAULT_LOG_LEVEL,
    log_format: opt.LogFormat = None,
) -> None:
    """Serve the token endpoint and BatonService on one TLS port until Ctrl-C or SIGTERM.

    The live view goes to stdout; the server's own log records to stderr (--log-format).
    """
    from baton_cli.cli.log_setup import configure_logging
    from baton_cli.emulator.faults import build_plan

    configure_logging(log_level, log_format)
    from baton_cli.emulator.server import EmulatorServer
    from baton_cli.emulator.service import Pacing

    progress = view or progress
    plan = build_plan(faults_file, fault or [], fault_seed)
    server = EmulatorServer(
        data_dir,
        host,
        port,
        token_ttl=token_ttl,
        lease_seconds=lease_seconds,
        quiet_lease_seconds=quiet_lease_seconds,
        max_attempts=max_attempts,
        pacing=Pacing(next_poll=next_poll, next_heartbeat=next_heartbeat),
        faults=plan,
    )
    server.start()
    stop = threading.Event()
    try:
        _banner(server, data_dir)
        with _stop_on_signals(stop):
            if progress is ProgressMode.rich or (progress is ProgressMode.auto and sys.stdout.isatty()):
                from baton_cli.cli.emulator_view import rich_view  # Rich only for a terminal

                rich_view(server, stop)
            elif progress is ProgressMode.off:
                stop.wait()
            else:
                _plain_view(server, stop)
    finally:
        server.stop()
    typer.echo("emulator stopped")


def _banner(server: EmulatorServer, data_dir: Path) -> None:
    lines = [
        f"baton emulator listening on https://{server.target} (data in {data_dir})",
        f"  CA certificate: {server.ca_file}  (runners: --ca-file or SSL_CERT_FILE)",
        f"  runners: BATON_C1_API_HOST={server.target}",
        f"  credentials: baton emulator credentials create NAME --host {server.host} --port {server.port}",
    ]
    if not _is_loopback(server.host):
        lines.append("  warning: not a loopback address; anyone who can reach this port can talk to it")
    if server.faults.rules:
        seed = "random" if server.faults.seed is None else server.faults.seed
        lines.append(f"  faults: {len(server.faults.rules)} rule(s), seed {seed}")
        lines += [f"    {rule.describe()}" for rule in server.faults.rules]
    lines.append("Press Ctrl-C to stop.")
    typer.echo("\n".join(lines))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    from baton_cli.cli.signal_relay import signal_relay

    with signal_relay() as relay:

        def handler(signum: int, frame: FrameType | None) -> None:
            relay.call_soon(stop.set)  # not stop.set() here: the main thread may be in stop.wait()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _plain_view(server: EmulatorServer, stop: threading.Event) -> None:
    from baton_cli.emulator import live

    seen = 0

    def flush() -> None:
        nonlocal seen
        for event in server.events.since(seen):
            typer.echo(live.event_line(event))
            seen = event.seq

    while not stop.wait(_REFRESH):
        flush()
    flush()
