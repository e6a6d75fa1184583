"""The demo's ticket system: two fixed schemas, tickets numbered in the state file.

``access-request`` tickets need a ``priority`` (low, medium or high) and take an
optional ``justification``; ``incident`` tickets need nothing. A new ticket is
``open`` unless the request names another of its schema's statuses.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, timestamp_pb2

from baton_cli.connector.api import Page
from baton_cli.connector.demo.paging import page
from baton_cli.connector.demo.state import DemoState
from baton_cli.connector.demo.world import DemoWorld
from baton_cli.connector.services import Ticket, TicketRequest, TicketSchema
from baton_cli.errors import UsageError
from baton_cli.pb.c1.connector.v2 import ticket_pb2

URL_PREFIX = "https://demo.invalid/tickets/"


def _statuses() -> list[ticket_pb2.TicketStatus]:
    return [
        ticket_pb2.TicketStatus(id="open", display_name="Open"),
        ticket_pb2.TicketStatus(id="in_progress", display_name="In progress"),
        ticket_pb2.TicketStatus(id="done", display_name="Done"),
    ]


def _schemas() -> list[TicketSchema]:
    access = TicketSchema(
        id="access-request",
        display_name="Access request",
        types=[ticket_pb2.TicketType(id="access", display_name="Access")],
        statuses=_statuses(),
    )
    access.custom_fields["priority"].CopyFrom(
        ticket_pb2.TicketCustomField(
            id="priority",
            display_name="Priority",
            required=True,
            pick_string_value=ticket_pb2.TicketCustomFieldPickStringValue(
                allowed_values=["low", "medium", "high"], default_value="medium"
            ),
        )
    )
    access.custom_fields["justification"].CopyFrom(
        ticket_pb2.TicketCustomField(
            id="justification",
            display_name="Justification",
            string_value=ticket_pb2.TicketCustomFieldStringValue(),
        )
    )
    incident = TicketSchema(
        id="incident",
        display_name="Incident",
        types=[ticket_pb2.TicketType(id="incident", display_name="Incident")],
        statuses=_statuses(),
    )
    return [access, incident]


SCHEMAS = {schema.id: schema for schema in _schemas()}


class DemoTickets:
    """The TicketManager half of the demo connector."""

    _world: DemoWorld

    def list_ticket_schemas(self, page_token: str) -> Page[TicketSchema]:
        schemas = list(SCHEMAS.values())
        return page(len(schemas), page_token, self._world.page_size, lambda i: schemas[i])

    def create_ticket(self, request: TicketRequest, schema: TicketSchema | None) -> Ticket:
        self._world.store.require()
        chosen = SCHEMAS.get(schema.id if schema is not None and schema.id else "access-request")
        if chosen is None:
            raise UsageError(
                f"demo: no ticket schema {schema.id if schema else ''!r} (see list_ticket_schemas)"
            )
        if not request.display_name:
            raise UsageError("demo: a ticket needs a display_name")
        ticket = Ticket(
            display_name=request.display_name,
            description=request.description,
            labels=request.labels,
            type=chosen.types[0],
            status=_status(chosen, request.status.id),
        )
        for name, field in chosen.custom_fields.items():
            given = request.custom_fields.get(name)
            if given is None or given.WhichOneof("value") is None:
                if field.required:
                    raise UsageError(f"demo: ticket field {name!r} is required by schema {chosen.id!r}")
                continue
            _check_field(name, field, given)
            ticket.custom_fields[name].CopyFrom(given)
        if request.HasField("requested_for"):
            ticket.requested_for.CopyFrom(request.requested_for)
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()

        def change(state: DemoState) -> Ticket:
            ticket.id = f"TCK-{len(state.tickets) + 1:04d}"
            ticket.url = URL_PREFIX + ticket.id
            ticket.created_at.CopyFrom(now)
            ticket.updated_at.CopyFrom(now)
            state.tickets.append(json_format.MessageToDict(ticket))
            return ticket

        return self._world.store.update(change)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        for record in self._world.store.current().tickets:
            if record.get("id") == ticket_id:
                return _ticket(record)
        return None


def _ticket(record: dict[str, Any]) -> Ticket:
    ticket = Ticket()
    json_format.ParseDict(record, ticket)
    return ticket


def _status(schema: TicketSchema, wanted: str) -> ticket_pb2.TicketStatus:
    for status in schema.statuses:
        if status.id == (wanted or "open"):
            return status
    known = ", ".join(s.id for s in schema.statuses)
    raise UsageError(f"demo: status {wanted!r} is not one of {known}")


def _check_field(name: str, field: ticket_pb2.TicketCustomField, given: ticket_pb2.TicketCustomField) -> None:
    expected, got = field.WhichOneof("value"), given.WhichOneof("value")
    if got != expected:
        raise UsageError(f"demo: ticket field {name!r} must be a {expected}, got a {got}")
    if expected == "pick_string_value":
        allowed = field.pick_string_value.allowed_values
        if given.pick_string_value.value not in allowed:
            raise UsageError(f"demo: ticket field {name!r} must be one of {', '.join(allowed)}")
