"""``baton emulator enqueue|tasks|cancel``: put work in the emulator's queue and watch it.

These commands only touch the queue file in the data directory, so they work
whether or not ``baton emulator serve`` is running (the server picks new tasks
up on the runner's next poll).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from google.protobuf import any_pb2

from baton_cli.cli import options as opt
from baton_cli.cli.inspect_output import console_table
from baton_cli.cli.options import OutputFormat
from baton_cli.emulator import task_flags as flags
from baton_cli.emulator.paths import DATA_DIR_ENV, DEFAULT_DATA_DIR, queue_path
from baton_cli.errors import NotFoundError, StatusCode

if TYPE_CHECKING:
    from types import ModuleType

    from baton_cli.emulator.queue import TaskQueue, TaskRecord
    from baton_cli.emulator.task_builders import C1ZCatalog
    from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2


def _builders() -> ModuleType:
    # Imported when a command runs: the builders load protobuf and the c1z reader.
    from baton_cli.emulator import task_builders

    return task_builders


def _queue() -> type[TaskQueue]:
    from baton_cli.emulator.queue import TaskQueue

    return TaskQueue


DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar=DATA_DIR_ENV,
        help="Emulator state directory (shared with `baton emulator serve`).",
    ),
]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Set Task.debug: the runner uploads its debug log after a sync.")
]
C1ZOption = Annotated[
    Path | None,
    typer.Option(
        "--c1z",
        help="Embed the synced objects from this c1z file's latest full sync, as the platform does "
        "(default: id-only objects).",
    ),
]
PasswordLengthOption = Annotated[
    int, typer.Option(flags.PASSWORD_LENGTH_FLAG, help="Length of a random password (8..64).")
]
SsoProviderOption = Annotated[str, typer.Option("--sso-provider", help="SSO provider for --password sso.")]
AgeRecipientOption = Annotated[
    list[str] | None,
    typer.Option(
        flags.AGE_RECIPIENT_FLAG,
        help="Encrypt returned credentials to this age recipient (age1...); repeatable.",
    ),
]


def register_task_commands(emulator_app: typer.Typer) -> None:
    """Add ``enqueue``, ``tasks`` and ``cancel`` to the ``baton emulator`` sub-app."""
    enqueue_app = typer.Typer(
        help="Queue a task for the runners connected to the emulator; prints its id.",
        no_args_is_help=True,
    )
    _register_enqueue(enqueue_app)
    from baton_cli.cli.emulator_enqueue_kinds import register_kind_commands

    register_kind_commands(enqueue_app)
    emulator_app.add_typer(enqueue_app, name="enqueue")
    emulator_app.command("tasks")(tasks_command)
    emulator_app.command("cancel")(cancel_command)


# -- enqueue ---------------------------------------------------------------------------------------


def _register_enqueue(app: typer.Typer) -> None:
    @app.command("sync")
    def enqueue_sync(
        resource_types: Annotated[
            list[str] | None,
            typer.Option(flags.RESOURCE_TYPE_FLAG, "-t", help="Sync only this resource type; repeatable."),
        ] = None,
        resources: Annotated[
            list[str] | None,
            typer.Option(flags.RESOURCE_FLAG, "-r", help="Targeted sync of this TYPE:ID; repeatable."),
        ] = None,
        skip_entitlements_and_grants: Annotated[
            bool, typer.Option("--skip-entitlements-and-grants", help="Resources only.")
        ] = False,
        skip_grants: Annotated[bool, typer.Option("--skip-grants", help="No grants phase.")] = False,
        skip_expand_grants: Annotated[
            bool, typer.Option("--skip-expand-grants", help="Leave grant expansion to the platform.")
        ] = False,
        storage_engine: Annotated[
            str, typer.Option(flags.STORAGE_ENGINE_FLAG, help="pebble or sqlite (default: the runner's).")
        ] = "",
        c1z: C1ZOption = None,
        debug: DebugOption = False,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """A full (or targeted) sync; the runner uploads the c1z to the emulator."""
        with _catalog(c1z) as catalog:
            task = _builders().sync_task(
                resource_type_ids=resource_types or [],
                resources=resources or [],
                skip_entitlements_and_grants=skip_entitlements_and_grants,
                skip_grants=skip_grants,
                skip_expand_grants=skip_expand_grants,
                storage_engine=storage_engine,
                catalog=catalog,
            )
        _enqueue(task, data_dir=data_dir, debug=debug, as_json=output is OutputFormat.json)

    @app.command("grant")
    def enqueue_grant(
        entitlement: Annotated[
            str, typer.Option(flags.ENTITLEMENT_FLAG, "-e", help="Entitlement id TYPE:ID:SLUG.")
        ],
        principal: Annotated[str, typer.Option(flags.PRINCIPAL_FLAG, "-p", help="Principal TYPE:ID.")],
        duration: Annotated[
            int | None, typer.Option(flags.DURATION_FLAG, help="Time-bound grant: seconds.")
        ] = None,
        c1z: C1ZOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Grant an entitlement to a principal."""
        with _catalog(c1z) as catalog:
            task = _builders().grant_task(entitlement, principal, duration_seconds=duration, catalog=catalog)
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("revoke")
    def enqueue_revoke(
        entitlement: Annotated[
            str, typer.Option(flags.ENTITLEMENT_FLAG, "-e", help="Entitlement id TYPE:ID:SLUG.")
        ],
        principal: Annotated[str, typer.Option(flags.PRINCIPAL_FLAG, "-p", help="Principal TYPE:ID.")],
        grant_id: Annotated[
            str | None,
            typer.Option(
                flags.GRANT_ID_FLAG, help="Grant id (default ENTITLEMENT:PRINCIPAL_TYPE:PRINCIPAL_ID)."
            ),
        ] = None,
        c1z: C1ZOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Revoke a principal's grant of an entitlement."""
        with _catalog(c1z) as catalog:
            task = _builders().revoke_task(entitlement, principal, grant_id=grant_id, catalog=catalog)
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("create-account")
    def enqueue_create_account(
        login: Annotated[str, typer.Option(flags.LOGIN_FLAG, help="Account login.")],
        emails: Annotated[
            list[str] | None, typer.Option(flags.EMAIL_FLAG, help="Email address; the first is primary.")
        ] = None,
        resource_type: Annotated[
            str,
            typer.Option(
                flags.RESOURCE_TYPE_FLAG, "-t", help="Account resource type (default: the connector's)."
            ),
        ] = "",
        profile: Annotated[
            str | None,
            typer.Option(flags.PROFILE_FLAG, help='Profile JSON object, e.g. \'{"dept": "eng"}\'.'),
        ] = None,
        password: Annotated[str, typer.Option(flags.PASSWORD_FLAG, help="none, random or sso.")] = "none",
        password_length: PasswordLengthOption = flags.DEFAULT_PASSWORD_LENGTH,
        sso_provider: SsoProviderOption = "",
        age_recipients: AgeRecipientOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Create an account."""
        task = _builders().create_account_task(
            login,
            emails=emails or [],
            resource_type_id=resource_type,
            profile_json=profile,
            password=password,
            password_length=password_length,
            sso_provider=sso_provider,
            age_recipients=age_recipients or [],
        )
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("delete-resource")
    def enqueue_delete_resource(
        resource: Annotated[str, typer.Option(flags.RESOURCE_FLAG, "-r", help="Resource TYPE:ID.")],
        parent: Annotated[
            str | None, typer.Option(flags.PARENT_FLAG, help="Parent resource TYPE:ID.")
        ] = None,
        c1z: C1ZOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Delete a resource."""
        with _catalog(c1z) as catalog:
            task = _builders().delete_resource_task(resource, parent=parent, catalog=catalog)
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("rotate-credentials")
    def enqueue_rotate_credentials(
        resource: Annotated[str, typer.Option(flags.RESOURCE_FLAG, "-r", help="Resource TYPE:ID.")],
        password: Annotated[str, typer.Option(flags.PASSWORD_FLAG, help="none, random or sso.")] = "random",
        password_length: PasswordLengthOption = flags.DEFAULT_PASSWORD_LENGTH,
        sso_provider: SsoProviderOption = "",
        age_recipients: AgeRecipientOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Rotate a resource's credentials."""
        task = _builders().rotate_credentials_task(
            resource,
            password=password,
            password_length=password_length,
            sso_provider=sso_provider,
            age_recipients=age_recipients or [],
        )
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("hello")
    def enqueue_hello(data_dir: DataDirOption = DEFAULT_DATA_DIR, output: opt.Output = opt.CONSOLE) -> None:
        """Ask the runner to send Hello again (refreshes its metadata in the emulator)."""
        _enqueue(_builders().hello_task(), data_dir=data_dir, as_json=output is OutputFormat.json)


@contextmanager
def _catalog(path: Path | None) -> Iterator[C1ZCatalog | None]:
    if path is None:
        yield None
        return
    with _builders().C1ZCatalog.open(path) as catalog:
        yield catalog


def _enqueue(task: baton_pb2.Task, *, data_dir: Path, as_json: bool, debug: bool = False) -> None:
    if not data_dir.is_dir():
        # Creating one here would queue the task where no emulator will ever look.
        raise NotFoundError(
            f"no emulator data directory at {data_dir}: start `baton emulator serve` there first, "
            f"or point --data-dir (or {DATA_DIR_ENV}) at the one your emulator uses"
        )
    task.debug = debug
    with _queue().open(data_dir) as queue:
        task_id = queue.enqueue(task)
        record = queue.get(task_id)
    if as_json:
        typer.echo(json.dumps({"id": record.id, "kind": record.kind, "state": record.state}))
    else:
        typer.echo(task_id)


# -- tasks and cancel ------------------------------------------------------------------------------


def tasks_command(data_dir: DataDirOption = DEFAULT_DATA_DIR, output: opt.Output = opt.CONSOLE) -> None:
    """List the emulator's tasks, oldest first, with their state and result."""
    rows: list[tuple[TaskRecord, dict[str, Any]]] = []
    if queue_path(data_dir).exists():  # listing should not create a data directory
        with _queue().open(data_dir) as queue:
            rows = [(record, _result_types(queue, record.id)) for record in queue.tasks()]
    if output is OutputFormat.json:
        payload = [{**_rfc3339(asdict(record)), **_status_fields(record), **types} for record, types in rows]
        typer.echo(json.dumps({"tasks": payload}, indent=2))
        return
    now = time.time()
    columns = ("id", "kind", "state", "attempts", "host", "created", "duration", "result", "response")
    with console_table(columns) as table:
        for record, types in rows:
            table.add(
                (
                    record.id,
                    record.kind,
                    record.state,
                    str(record.attempts),
                    record.host_id or "-",
                    datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    _duration(record, now),
                    _result_text(record),
                    _response_text(types),
                )
            )


def cancel_command(
    task_id: Annotated[str, typer.Argument(help="Task id (see `baton emulator tasks`).", show_default=False)],
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
) -> None:
    """Cancel a task: a pending one at once, a running one at its next heartbeat."""
    if not queue_path(data_dir).exists():
        raise NotFoundError(f"task {task_id} not found (no emulator queue in {data_dir})")
    with _queue().open(data_dir) as queue:
        queue.cancel(task_id)
        record = queue.get(task_id)
    if record.state != "running":
        typer.echo(f"cancelled {task_id}")
        return
    typer.echo(f"cancellation requested: {task_id} is running on {record.host_id}")
    from baton_cli.emulator.queue import HEARTBEAT_KINDS

    if record.kind not in HEARTBEAT_KINDS:
        # Runners heartbeat only sync tasks (runner.md §4): say so rather than let the user wait.
        typer.echo(f"note: runners do not heartbeat {record.kind} tasks, so it will likely run to the end")


def _rfc3339(fields: dict[str, Any]) -> dict[str, Any]:
    """The queue's Unix-second times as RFC 3339 UTC, as every timestamp in our JSON."""
    out = dict(fields)
    for key, value in fields.items():
        if key.endswith("_at") and isinstance(value, int | float):
            stamp = datetime.fromtimestamp(value, tz=UTC)
            out[key] = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return out


def _status_fields(record: TaskRecord) -> dict[str, Any]:
    name = None if record.status_code is None else _code_name(record.status_code)
    return {"status_name": name}


def _result_types(queue: TaskQueue, task_id: str) -> dict[str, Any]:
    """The type URLs of the FinishTask response and annotations (their bodies stay in the queue)."""
    from baton_cli.emulator.result_summary import summarize

    result = queue.result(task_id)
    summary = summarize(result.response)
    return {
        "response_type": any_pb2.Any.FromString(result.response).type_url if result.response else None,
        "response_summary": summary[1] if summary else None,
        "annotation_types": [any_pb2.Any.FromString(a).type_url for a in result.annotations],
    }


def _response_text(types: dict[str, Any]) -> str:
    """e.g. ``InvokeActionResponse: export: running (id act000001)``."""
    if not types["response_type"]:
        return ""
    short = str(types["response_type"]).rpartition(".")[2]
    return f"{short}: {types['response_summary']}" if types["response_summary"] else short


def _code_name(code: int) -> str:
    try:
        return StatusCode(code).name
    except ValueError:
        return f"CODE_{code}"


def _result_text(record: TaskRecord) -> str:
    if record.state == "running":
        return "cancel requested" if record.cancel_requested else ""
    if record.state == "cancelled":
        # Cancelled by the queue itself: never started, or its holder went silent after the request.
        return "cancelled before start" if record.attempts == 0 else "cancelled; runner went silent"
    if record.status_code is None:
        return ""
    if record.status_code == 0:
        counts = record.upload_counts or {}
        summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        return f"OK ({summary})" if summary else "OK"
    first_line = record.status_message.splitlines()[0] if record.status_message else ""
    text = f"{_code_name(record.status_code)}: {first_line}"
    return text + (" [non-retryable]" if record.non_retryable else "")


def _duration(record: TaskRecord, now: float) -> str:
    if record.leased_at is None:
        return ""
    end = record.finished_at if record.finished_at is not None else now
    return _format_seconds(max(0.0, end - record.leased_at))


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
