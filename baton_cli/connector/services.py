"""Connector-wide capabilities: a ticket system, actions, event feeds.

Unlike the per-type capabilities in ``api.py`` these belong to the connector
itself: the runner checks the object returned by the plugin's factory against
these runtime-checkable Protocols and reports CAPABILITY_TICKETING,
CAPABILITY_ACTIONS and CAPABILITY_EVENT_FEED_V2 for the ones it implements
(runner.md §9). Messages are the ``c1.connector.v2`` protobuf types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from baton_cli.connector.api import Page
from baton_cli.pb.c1.connector.v2 import action_pb2, event_feed_pb2, ticket_pb2

Ticket = ticket_pb2.Ticket
TicketRequest = ticket_pb2.TicketRequest
TicketSchema = ticket_pb2.TicketSchema
CreateTicketRequest = ticket_pb2.TicketsServiceCreateTicketRequest
CreateTicketResponse = ticket_pb2.TicketsServiceCreateTicketResponse
GetTicketRequest = ticket_pb2.TicketsServiceGetTicketRequest
GetTicketResponse = ticket_pb2.TicketsServiceGetTicketResponse
ActionSchema = action_pb2.BatonActionSchema
InvokeActionResponse = action_pb2.InvokeActionResponse
ActionStatusResponse = action_pb2.GetActionStatusResponse
ListActionSchemasRequest = action_pb2.ListActionSchemasRequest
ListActionSchemasResponse = action_pb2.ListActionSchemasResponse
GetActionSchemaRequest = action_pb2.GetActionSchemaRequest
GetActionSchemaResponse = action_pb2.GetActionSchemaResponse
InvokeActionRequest = action_pb2.InvokeActionRequest
ActionStatusRequest = action_pb2.GetActionStatusRequest
Event = event_feed_pb2.Event
EventFeed = event_feed_pb2.EventFeedMetadata


@runtime_checkable
class TicketManager(Protocol):
    """An external ticket system the platform files provisioning requests in."""

    def list_ticket_schemas(self, page_token: str) -> Page[TicketSchema]: ...

    def create_ticket(self, request: TicketRequest, schema: TicketSchema | None) -> Ticket: ...

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """None when there is no such ticket."""
        ...


@runtime_checkable
class BulkTicketManager(Protocol):
    """Optional: many tickets in one call. Without it the runner asks one ticket at a time."""

    def bulk_create_tickets(
        self, requests: Sequence[CreateTicketRequest]
    ) -> Sequence[CreateTicketResponse]: ...

    def bulk_get_tickets(self, ticket_ids: Sequence[str]) -> Sequence[GetTicketResponse]: ...


@runtime_checkable
class TicketForwarder(Protocol):
    """Optional: takes upstream's create/get requests whole (the task's annotations in them) and
    answers with its own responses, annotations included, as an upstream connector child does."""

    def create_ticket_forwarded(self, request: CreateTicketRequest) -> CreateTicketResponse: ...

    def get_ticket_forwarded(self, request: GetTicketRequest) -> GetTicketResponse: ...


@runtime_checkable
class ActionManager(Protocol):
    """Named actions with argument schemas, invoked by the platform; long ones report status."""

    def list_action_schemas(self, resource_type_id: str) -> Sequence[ActionSchema]:
        """All schemas, or those of one resource type when ``resource_type_id`` is set."""
        ...

    def get_action_schema(self, name: str) -> ActionSchema: ...

    def invoke_action(
        self, name: str, args: Mapping[str, Any], resource_type_id: str
    ) -> InvokeActionResponse: ...

    def action_status(self, action_id: str) -> ActionStatusResponse: ...


@runtime_checkable
class ActionForwarder(Protocol):
    """Optional: takes upstream's action requests whole (the task's annotations in them) and
    answers with its own responses, as an upstream connector child does."""

    def list_action_schemas_forwarded(
        self, request: ListActionSchemasRequest
    ) -> ListActionSchemasResponse: ...

    def get_action_schema_forwarded(self, request: GetActionSchemaRequest) -> GetActionSchemaResponse: ...

    def invoke_action_forwarded(self, request: InvokeActionRequest) -> InvokeActionResponse: ...

    def action_status_forwarded(self, request: ActionStatusRequest) -> ActionStatusResponse: ...


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of a feed; pass ``cursor`` back to continue where it ended."""

    events: Sequence[Event]
    cursor: str = ""
    has_more: bool = False


@runtime_checkable
class EventFeedProvider(Protocol):
    """Feeds of changes in the connected system (usage, grants, resource changes)."""

    def list_event_feeds(self) -> Sequence[EventFeed]: ...

    def list_events(self, feed_id: str, start_at: datetime | None, cursor: str, page_size: int) -> EventPage:
        """``page_size`` 0 means the connector's default; ``start_at`` is timezone-aware UTC."""
        ...
