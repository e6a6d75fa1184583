"""One-shot `baton tickets|actions|events ...`: the connector's ticket system, actions and event feeds.

Each command runs the same task handler as the daemon (``oneshot_exec``), so
what it prints is what the platform would receive. upstream's one-shot flags
for these (``--list-ticket-schemas``, ``--invoke-action NAME``, ...) are
translated to these commands by ``upstream_oneshot``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from baton_cli.cli.oneshot_exec import (
    EXTRA,
    ConfigOption,
    OutputOption,
    PluginOption,
    emit,
    execute,
    read_json_arg,
    wants_json,
)
from baton_cli.cli.options import OutputFormat
from baton_cli.errors import UsageError

CONSOLE = OutputFormat.console
ActionResourceType = Annotated[
    str,
    typer.Option(
        "--resource-type",
        "-t",
        # upstream's --list-action-schemas-resource-type / --invoke-action-resource-type reach
        # this through upstream_oneshot.translate; as aliases here they overflow 80-column help.
        help="Resource type the action belongs to.",
    ),
]
# upstream's --event-feed-start-at default: a day before the process started (cli.md §2).
EVENT_FEED_LOOKBACK = timedelta(days=1)
MAX_EVENT_PAGES = 10_000  # a feed whose cursor never ends must not loop forever


def _status(value: int) -> str:
    from baton_cli.pb.c1.connector.v2 import action_pb2

    return action_pb2.BatonActionStatus.Name(value).removeprefix("BATON_ACTION_STATUS_").lower()  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    tickets = typer.Typer(
        help="The connector's ticket system: schemas, get, bulk-get, create, bulk-create.",
        no_args_is_help=True,
    )
    actions = typer.Typer(help="The connector's actions: list, get, invoke, status.", no_args_is_help=True)
    events = typer.Typer(help="The connector's event feeds: feeds, list.", no_args_is_help=True)
    _tickets(tickets)
    _actions(actions)
    _events(events)
    app.add_typer(tickets, name="tickets")
    app.add_typer(actions, name="actions")
    app.add_typer(events, name="events")


def _schema_map(ctx: typer.Context, plugin: str, config: Path | None) -> dict[str, Any]:
    from baton_cli.emulator import service_task_builders as sb

    listed = execute(ctx, plugin, config, sb.list_ticket_schemas_task())
    return {schema.id: schema for schema in getattr(listed, "list", [])}


def _tickets(app: typer.Typer) -> None:
    @app.command("schemas", context_settings=EXTRA)
    def schemas(
        ctx: typer.Context,
        plugin: PluginOption,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """List the ticket schemas (the first 100)."""
        from baton_cli.emulator import service_task_builders as sb

        message = execute(ctx, plugin, config, sb.list_ticket_schemas_task())
        emit(message, wants_json(output), lambda m: "\n".join(_schema_line(s) for s in m.list))

    @app.command("get", context_settings=EXTRA)
    def get(
        ctx: typer.Context,
        ticket_id: Annotated[str, typer.Argument(help="Ticket id.", show_default=False)],
        plugin: PluginOption,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Show one ticket."""
        from baton_cli.emulator import service_task_builders as sb

        message = execute(ctx, plugin, config, sb.get_ticket_task(ticket_id))
        emit(message, wants_json(output), lambda m: _ticket_line(m.ticket))

    @app.command("bulk-get", context_settings=EXTRA)
    def bulk_get(
        ctx: typer.Context,
        ticket_ids: Annotated[list[str], typer.Option("--ticket-id", help="Ticket id; repeatable.")],
        plugin: PluginOption,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Show several tickets, fetched in one task."""
        from baton_cli.emulator import service_task_builders as sb

        message = execute(ctx, plugin, config, sb.bulk_get_tickets_task(ticket_ids))
        emit(
            message,
            wants_json(output),
            lambda m: "\n".join(
                f"error: {t.error}" if t.error else _ticket_line(t.ticket) for t in m.tickets
            ),
        )

    @app.command("create", context_settings=EXTRA)
    def create(
        ctx: typer.Context,
        plugin: PluginOption,
        template: Annotated[
            Path | None,
            typer.Option(
                "--template",
                "--ticket-template-path",
                help="Ticket template JSON (upstream's format: schema_id, display_name, custom_fields...).",
            ),
        ] = None,
        ticket_json: Annotated[
            Path | None, typer.Option("--ticket-json", help="A TicketRequest as protobuf JSON instead.")
        ] = None,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Create a ticket; custom field values take the kinds of the connector's schema."""
        from baton_cli.emulator import service_task_builders as sb

        if (template is None) == (ticket_json is None):
            raise UsageError("give exactly one of --template and --ticket-json")
        schema: Any
        if template is not None:
            request, schema = sb.ticket_request_from_template(template, _schema_map(ctx, plugin, config))
        else:
            assert ticket_json is not None
            request, schema = sb.ticket_request_from_json(ticket_json)
        message = execute(ctx, plugin, config, sb.create_ticket_task(request, schema))
        emit(message, wants_json(output), lambda m: "created " + _ticket_line(m.ticket))

    @app.command("bulk-create", context_settings=EXTRA)
    def bulk_create(
        ctx: typer.Context,
        plugin: PluginOption,
        template: Annotated[
            Path,
            typer.Option(
                "--template",
                "--bulk-ticket-template-path",
                help='JSON {"tickets": [template, ...]} in upstream\'s ticket template format.',
            ),
        ],
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Create several tickets in one task."""
        from baton_cli.emulator import service_task_builders as sb

        requests = sb.ticket_requests_from_bulk_template(template, _schema_map(ctx, plugin, config))
        message = execute(ctx, plugin, config, sb.bulk_create_tickets_task(requests))
        emit(
            message,
            wants_json(output),
            lambda m: "\n".join(
                f"error: {t.error}" if t.error else "created " + _ticket_line(t.ticket) for t in m.tickets
            ),
        )


def _schema_line(schema: Any) -> str:
    fields = ", ".join(
        f"{name}{'*' if field.required else ''}" for name, field in sorted(schema.custom_fields.items())
    )
    statuses = "/".join(s.id for s in schema.statuses)
    return f"{schema.id}: {schema.display_name} (statuses {statuses or '-'}; fields {fields or '-'})"


def _ticket_line(ticket: Any) -> str:
    status = ticket.status.id or "-"
    return f"{ticket.id}: {ticket.display_name} [{status}]" + (f" {ticket.url}" if ticket.url else "")


def _actions(app: typer.Typer) -> None:
    @app.command("list", context_settings=EXTRA)
    def list_schemas(
        ctx: typer.Context,
        plugin: PluginOption,
        type_id: ActionResourceType = "",
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """List the action schemas, optionally of one resource type."""
        from baton_cli.emulator import service_task_builders as sb

        message = execute(ctx, plugin, config, sb.action_list_schemas_task(type_id))
        emit(message, wants_json(output), lambda m: "\n".join(_action_line(s) for s in m.schemas))

    @app.command("get", context_settings=EXTRA)
    def get_schema(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Action name.", show_default=False)],
        plugin: PluginOption,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Show one action's schema."""
        from baton_cli.emulator import service_task_builders as sb

        message = execute(ctx, plugin, config, sb.action_get_schema_task(name))
        emit(message, wants_json(output), lambda m: _action_line(m.schema))

    @app.command("invoke", context_settings=EXTRA)
    def invoke(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Action name.", show_default=False)],
        plugin: PluginOption,
        args: Annotated[
            str, typer.Option("--args", "--invoke-action-args", help="Arguments: a JSON object, or @FILE.")
        ] = "{}",
        type_id: ActionResourceType = "",
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Invoke an action; a FAILED action exits with its error."""
        from baton_cli.emulator import service_task_builders as sb

        task = sb.action_invoke_task(name, read_json_arg(args, "--args"), type_id)
        message = execute(ctx, plugin, config, task)
        emit(message, wants_json(output), _invoked)

    @app.command("status", context_settings=EXTRA)
    def status(
        ctx: typer.Context,
        action_id: Annotated[
            str, typer.Argument(help="Action id from `baton actions invoke`.", show_default=False)
        ],
        plugin: PluginOption,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """Show an invoked action's status."""
        from baton_cli.emulator import service_task_builders as sb

        message = execute(ctx, plugin, config, sb.action_status_task(action_id))
        emit(message, wants_json(output), _invoked)


def _action_line(schema: Any) -> str:
    args = ", ".join(f"{a.name}{'*' if a.is_required else ''}" for a in schema.arguments)
    scope = f" [{schema.resource_type_id}]" if schema.resource_type_id else ""
    return f"{schema.name}{scope}: {schema.description or schema.display_name} (args: {args or '-'})"


def _invoked(message: Any) -> str:
    from google.protobuf.json_format import MessageToDict

    head = f"{message.name or message.id}: {_status(message.status)}"
    if message.id and message.name:
        head += f" (id {message.id})"
    if message.HasField("response"):
        head += " " + str(MessageToDict(message.response))
    return head


def _events(app: typer.Typer) -> None:
    @app.command("feeds", context_settings=EXTRA)
    def feeds(
        ctx: typer.Context,
        plugin: PluginOption,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """List the event feeds."""
        from baton_cli.emulator import service_task_builders as sb
        from baton_cli.pb.c1.connector.v2 import event_feed_pb2

        def line(feed: Any) -> str:
            kinds = ", ".join(
                event_feed_pb2.EventType.Name(t).removeprefix("EVENT_TYPE_").lower()
                for t in feed.supported_event_types
            )
            return f"{feed.id}: {kinds}"

        message = execute(ctx, plugin, config, sb.list_event_feeds_task())
        emit(message, wants_json(output), lambda m: "\n".join(line(f) for f in m.list))

    @app.command("list", context_settings=EXTRA)
    def list_events(
        ctx: typer.Context,
        plugin: PluginOption,
        feed_id: Annotated[str, typer.Option("--feed-id", "--event-feed-id", help="Event feed id.")] = "",
        start_at: Annotated[
            str | None,
            typer.Option("--start-at", "--event-feed-start-at", help="RFC 3339; default: a day ago."),
        ] = None,
        cursor: Annotated[str, typer.Option("--cursor", "--event-feed-cursor", help="Resume here.")] = "",
        page_size: Annotated[int, typer.Option("--page-size", help="0..1000; 0: the connector's.")] = 0,
        every_page: Annotated[
            bool,
            typer.Option(
                "--all", help="Follow the cursor to the end of the feed, as upstream's one-shot does."
            ),
        ] = False,
        config: ConfigOption = None,
        output: OutputOption = CONSOLE,
    ) -> None:
        """List events of a feed: one page, or with --all every page."""
        from google.protobuf.json_format import MessageToDict

        from baton_cli.emulator import service_task_builders as sb
        from baton_cli.pb.c1.connector.v2 import event_feed_pb2

        since = start_at or (datetime.now(UTC) - EVENT_FEED_LOOKBACK).isoformat()
        merged = event_feed_pb2.ListEventsResponse()
        for _ in range(MAX_EVENT_PAGES):
            task = sb.list_events_task(
                feed_id, start_at=since if not cursor else None, cursor=cursor, page_size=page_size
            )
            page = execute(ctx, plugin, config, task)
            assert isinstance(page, event_feed_pb2.ListEventsResponse)
            merged.events.extend(page.events)
            merged.cursor, merged.has_more = page.cursor, page.has_more
            if not (every_page and page.has_more) or page.cursor == cursor:
                break
            cursor = page.cursor
        emit(
            merged,
            wants_json(output),
            lambda m: "\n".join([*(_event_line(MessageToDict(e)) for e in m.events), f"cursor: {m.cursor}"]),
        )


def _event_line(event: dict[str, Any]) -> str:
    kind = next((k for k in event if k.endswith("Event")), "event")
    return f"{event.get('occurredAt', '-')} {event.get('id', '')} {kind}"
