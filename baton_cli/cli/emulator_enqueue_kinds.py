"""``baton emulator enqueue`` for the kinds beyond sync and provisioning.

Resources and credentials, tickets, actions, event feeds, and the kinds
upstream's daemon does not handle (so a runner's "unsupported task type"
answer can be watched too). Large messages come from JSON files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from baton_cli.cli import options as opt
from baton_cli.cli.emulator_tasks_cmd import AgeRecipientOption, DataDirOption, _enqueue
from baton_cli.cli.options import OutputFormat
from baton_cli.emulator import task_flags as flags
from baton_cli.emulator.paths import DEFAULT_DATA_DIR
from baton_cli.errors import UsageError

if TYPE_CHECKING:
    from types import ModuleType

AnnotationOption = Annotated[
    list[Path] | None,
    typer.Option(
        flags.ANNOTATION_JSON_FLAG,
        help="A task annotation: a JSON file with one google.protobuf.Any; repeatable.",
    ),
]
ResourceTypeOption = Annotated[
    str, typer.Option(flags.RESOURCE_TYPE_FLAG, "-t", help="Only this resource type's actions.")
]


def _builders() -> ModuleType:
    from baton_cli.emulator import service_task_builders

    return service_task_builders


def _annotations(paths: list[Path] | None) -> list[object]:
    return list(_builders().annotations_from(paths or []))


def register_kind_commands(app: typer.Typer) -> None:
    @app.command("create-resource")
    def enqueue_create_resource(
        resource_type: Annotated[
            str, typer.Option(flags.RESOURCE_TYPE_FLAG, "-t", help="Resource type.")
        ] = "",
        display_name: Annotated[str, typer.Option(flags.DISPLAY_NAME_FLAG, help="Display name.")] = "",
        login: Annotated[str, typer.Option(flags.LOGIN_FLAG, help="Login (adds a user trait).")] = "",
        email: Annotated[str, typer.Option(flags.EMAIL_FLAG, help="Email (adds a user trait).")] = "",
        resource_json: Annotated[
            Path | None, typer.Option(flags.RESOURCE_JSON_FLAG, help="The whole Resource as protobuf JSON.")
        ] = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Create a resource (ResourceManager create)."""
        task = _builders().create_resource_task(
            resource_type, display_name=display_name, login=login, email=email, resource_json=resource_json
        )
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("issue-credential")
    def enqueue_issue_credential(
        identity: Annotated[str, typer.Option(flags.IDENTITY_FLAG, help="Identity TYPE:ID.")],
        kind: Annotated[
            str, typer.Option(flags.CREDENTIAL_KIND_FLAG, help=f"One of {', '.join(flags.CREDENTIAL_KINDS)}.")
        ] = "api_key",
        scopes: Annotated[list[str] | None, typer.Option(flags.SCOPE_FLAG, help="Scope; repeatable.")] = None,
        expires_at: Annotated[
            str | None, typer.Option(flags.EXPIRES_AT_FLAG, help="Expiry, RFC 3339.")
        ] = None,
        age_recipients: AgeRecipientOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Issue a credential (needs at least one --age-recipient, as the platform always sends a key)."""
        task = _builders().issue_credential_task(
            identity,
            kind=kind,
            scopes=scopes or [],
            age_recipients=age_recipients or [],
            expires_at=expires_at,
        )
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("create-ticket")
    def enqueue_create_ticket(
        ticket_json: Annotated[
            Path | None,
            typer.Option(
                flags.TICKET_JSON_FLAG, help='TicketRequest as protobuf JSON (or {"request", "schema"}).'
            ),
        ] = None,
        template: Annotated[
            Path | None, typer.Option(flags.TICKET_TEMPLATE_FLAG, help="Upstream's one-shot ticket template.")
        ] = None,
        annotations: AnnotationOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Create a ticket."""
        builders = _builders()
        if (ticket_json is None) == (template is None):
            raise UsageError(f"give exactly one of {flags.TICKET_JSON_FLAG} and {flags.TICKET_TEMPLATE_FLAG}")
        if ticket_json is not None:
            request, schema = builders.ticket_request_from_json(ticket_json)
        else:
            request, schema = builders.ticket_request_from_template(template)
        task = builders.create_ticket_task(request, schema, _annotations(annotations))
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("bulk-create-tickets")
    def enqueue_bulk_create_tickets(
        tickets: Annotated[
            list[Path],
            typer.Option(flags.TICKET_JSON_FLAG, help="A TicketRequest as protobuf JSON; repeatable."),
        ],
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Create several tickets in one task."""
        builders = _builders()
        task = builders.bulk_create_tickets_task([builders.ticket_request_from_json(p) for p in tickets])
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("list-ticket-schemas")
    def enqueue_list_ticket_schemas(
        data_dir: DataDirOption = DEFAULT_DATA_DIR, output: opt.Output = opt.CONSOLE
    ) -> None:
        """List the connector's ticket schemas (the first 100)."""
        _enqueue(
            _builders().list_ticket_schemas_task(), data_dir=data_dir, as_json=output is OutputFormat.json
        )

    @app.command("get-ticket")
    def enqueue_get_ticket(
        ticket_id: Annotated[str, typer.Option(flags.TICKET_ID_FLAG, help="Ticket id.")],
        annotations: AnnotationOption = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Get one ticket."""
        task = _builders().get_ticket_task(ticket_id, _annotations(annotations))
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("bulk-get-tickets")
    def enqueue_bulk_get_tickets(
        ticket_ids: Annotated[list[str], typer.Option(flags.TICKET_ID_FLAG, help="Ticket id; repeatable.")],
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Get several tickets in one task."""
        _enqueue(
            _builders().bulk_get_tickets_task(ticket_ids),
            data_dir=data_dir,
            as_json=output is OutputFormat.json,
        )

    @app.command("action-list-schemas")
    def enqueue_action_list_schemas(
        resource_type: ResourceTypeOption = "",
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """List the connector's action schemas."""
        _enqueue(
            _builders().action_list_schemas_task(resource_type),
            data_dir=data_dir,
            as_json=output is OutputFormat.json,
        )

    @app.command("action-get-schema")
    def enqueue_action_get_schema(
        name: Annotated[str, typer.Option(flags.ACTION_NAME_FLAG, help="Action name.")],
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Get one action's schema."""
        _enqueue(
            _builders().action_get_schema_task(name), data_dir=data_dir, as_json=output is OutputFormat.json
        )

    @app.command("action-invoke")
    def enqueue_action_invoke(
        name: Annotated[str, typer.Option(flags.ACTION_NAME_FLAG, help="Action name.")],
        args: Annotated[str, typer.Option(flags.ARGS_FLAG, help="Arguments as a JSON object.")] = "{}",
        resource_type: ResourceTypeOption = "",
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Invoke an action."""
        _enqueue(
            _builders().action_invoke_task(name, args, resource_type),
            data_dir=data_dir,
            as_json=output is OutputFormat.json,
        )

    @app.command("action-status")
    def enqueue_action_status(
        action_id: Annotated[str, typer.Option(flags.ACTION_ID_FLAG, help="Action id from an invocation.")],
        name: Annotated[
            str, typer.Option(flags.ACTION_NAME_FLAG, help="Action name (deprecated field).")
        ] = "",
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Ask for an invoked action's status."""
        _enqueue(
            _builders().action_status_task(action_id, name),
            data_dir=data_dir,
            as_json=output is OutputFormat.json,
        )

    @app.command("list-event-feeds")
    def enqueue_list_event_feeds(
        data_dir: DataDirOption = DEFAULT_DATA_DIR, output: opt.Output = opt.CONSOLE
    ) -> None:
        """List the connector's event feeds."""
        _enqueue(_builders().list_event_feeds_task(), data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("list-events")
    def enqueue_list_events(
        feed_id: Annotated[str, typer.Option(flags.FEED_ID_FLAG, help="Event feed id.")] = "",
        start_at: Annotated[
            str | None, typer.Option(flags.START_AT_FLAG, help="Events from this time, RFC 3339.")
        ] = None,
        cursor: Annotated[str, typer.Option(flags.CURSOR_FLAG, help="Resume from a previous page.")] = "",
        page_size: Annotated[
            int, typer.Option(flags.PAGE_SIZE_FLAG, help="0..1000; 0: the connector's.")
        ] = 0,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """List one page of events."""
        task = _builders().list_events_task(feed_id, start_at=start_at, cursor=cursor, page_size=page_size)
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("event-feed")
    def enqueue_event_feed(
        start_at: Annotated[str | None, typer.Option(flags.START_AT_FLAG, help="RFC 3339.")] = None,
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """The old event feed kind (runners answer "unsupported task type")."""
        _enqueue(
            _builders().event_feed_task(start_at), data_dir=data_dir, as_json=output is OutputFormat.json
        )

    @app.command("create-sync-diff")
    def enqueue_create_sync_diff(
        base_sync_id: Annotated[str, typer.Option("--base-sync-id", help="Base sync id.")],
        new_sync_id: Annotated[str, typer.Option("--new-sync-id", help="New sync id.")],
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """A sync diff (runners answer "unsupported task type", as upstream's daemon does)."""
        task = _builders().create_sync_diff_task(base_sync_id, new_sync_id)
        _enqueue(task, data_dir=data_dir, as_json=output is OutputFormat.json)

    @app.command("compact-syncs")
    def enqueue_compact_syncs(
        syncs: Annotated[list[str], typer.Option("--sync", help="FILE:SYNC_ID; repeatable.")],
        data_dir: DataDirOption = DEFAULT_DATA_DIR,
        output: opt.Output = opt.CONSOLE,
    ) -> None:
        """Compaction (runners answer "unsupported task type", as upstream's daemon does)."""
        _enqueue(
            _builders().compact_syncs_task(syncs), data_dir=data_dir, as_json=output is OutputFormat.json
        )
