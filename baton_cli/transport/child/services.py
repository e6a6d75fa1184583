"""A child's connector-wide services: its ticket system, actions and event feeds.

Each is a subclass of ``ChildConnector`` implementing the matching Protocol of
``baton_cli.connector.services``; ``connector_class`` combines exactly those the child reports
in its metadata (CAPABILITY_TICKETING, CAPABILITY_ACTIONS, CAPABILITY_EVENT_FEED_V2), so the
task handlers find them and our capability report agrees with the child's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from google.protobuf import json_format, struct_pb2

from baton_cli.connector.api import ConnectorMetadata, Page
from baton_cli.connector.services import (
    ActionSchema,
    ActionStatusRequest,
    ActionStatusResponse,
    CreateTicketRequest,
    CreateTicketResponse,
    EventFeed,
    EventPage,
    GetActionSchemaRequest,
    GetActionSchemaResponse,
    GetTicketRequest,
    GetTicketResponse,
    InvokeActionRequest,
    InvokeActionResponse,
    ListActionSchemasRequest,
    ListActionSchemasResponse,
    Ticket,
    TicketRequest,
    TicketSchema,
)
from baton_cli.pb.c1.connector.v2 import connector_pb2, event_feed_pb2, ticket_pb2
from baton_cli.transport.child.connector import ChildConnector


class ChildTickets(ChildConnector):
    """TicketManager, BulkTicketManager and TicketForwarder over the child's TicketsService."""

    def list_ticket_schemas(self, page_token: str) -> Page[TicketSchema]:
        request = ticket_pb2.TicketsServiceListTicketSchemasRequest(page_token=page_token)
        response = self.call("ListTicketSchemas", self.stubs.tickets.ListTicketSchemas, request)
        return Page(list(response.list), response.next_page_token)

    def create_ticket_forwarded(self, request: CreateTicketRequest) -> CreateTicketResponse:
        response: CreateTicketResponse = self.call("CreateTicket", self.stubs.tickets.CreateTicket, request)
        return response

    def get_ticket_forwarded(self, request: GetTicketRequest) -> GetTicketResponse:
        response: GetTicketResponse = self.call("GetTicket", self.stubs.tickets.GetTicket, request)
        return response

    def create_ticket(self, request: TicketRequest, schema: TicketSchema | None) -> Ticket:
        forwarded = CreateTicketRequest(request=request, schema=schema)
        ticket: Ticket = self.create_ticket_forwarded(forwarded).ticket
        return ticket

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        response = self.get_ticket_forwarded(GetTicketRequest(id=ticket_id))
        return response.ticket if response.HasField("ticket") else None

    def bulk_create_tickets(self, requests: Sequence[CreateTicketRequest]) -> Sequence[CreateTicketResponse]:
        request = ticket_pb2.TicketsServiceBulkCreateTicketsRequest(ticket_requests=requests)
        return list(self.call("BulkCreateTickets", self.stubs.tickets.BulkCreateTickets, request).tickets)

    def bulk_get_tickets(self, ticket_ids: Sequence[str]) -> Sequence[GetTicketResponse]:
        request = ticket_pb2.TicketsServiceBulkGetTicketsRequest(
            ticket_requests=[GetTicketRequest(id=ticket_id) for ticket_id in ticket_ids]
        )
        return list(self.call("BulkGetTickets", self.stubs.tickets.BulkGetTickets, request).tickets)


class ChildActions(ChildConnector):
    """ActionManager and ActionForwarder over the child's ActionService."""

    def list_action_schemas_forwarded(self, request: ListActionSchemasRequest) -> ListActionSchemasResponse:
        response: ListActionSchemasResponse = self.call(
            "ListActionSchemas", self.stubs.actions.ListActionSchemas, request
        )
        return response

    def get_action_schema_forwarded(self, request: GetActionSchemaRequest) -> GetActionSchemaResponse:
        response: GetActionSchemaResponse = self.call(
            "GetActionSchema", self.stubs.actions.GetActionSchema, request
        )
        return response

    def invoke_action_forwarded(self, request: InvokeActionRequest) -> InvokeActionResponse:
        response: InvokeActionResponse = self.call("InvokeAction", self.stubs.actions.InvokeAction, request)
        return response

    def action_status_forwarded(self, request: ActionStatusRequest) -> ActionStatusResponse:
        response: ActionStatusResponse = self.call(
            "GetActionStatus", self.stubs.actions.GetActionStatus, request
        )
        return response

    def list_action_schemas(self, resource_type_id: str) -> Sequence[ActionSchema]:
        request = ListActionSchemasRequest(resource_type_id=resource_type_id)
        return list(self.list_action_schemas_forwarded(request).schemas)

    def get_action_schema(self, name: str) -> ActionSchema:
        schema: ActionSchema = self.get_action_schema_forwarded(GetActionSchemaRequest(name=name)).schema
        return schema

    def invoke_action(
        self, name: str, args: Mapping[str, Any], resource_type_id: str
    ) -> InvokeActionResponse:
        arguments = json_format.ParseDict(dict(args), struct_pb2.Struct())
        request = InvokeActionRequest(name=name, args=arguments, resource_type_id=resource_type_id)
        return self.invoke_action_forwarded(request)

    def action_status(self, action_id: str) -> ActionStatusResponse:
        return self.action_status_forwarded(ActionStatusRequest(id=action_id))


class ChildEventFeeds(ChildConnector):
    """EventFeedProvider over the child's EventService."""

    def list_event_feeds(self) -> Sequence[EventFeed]:
        request = event_feed_pb2.ListEventFeedsRequest()
        return list(self.call("ListEventFeeds", self.stubs.events.ListEventFeeds, request).list)

    def list_events(self, feed_id: str, start_at: datetime | None, cursor: str, page_size: int) -> EventPage:
        request = event_feed_pb2.ListEventsRequest(event_feed_id=feed_id, cursor=cursor, page_size=page_size)
        if start_at is not None:
            request.start_at.FromDatetime(start_at)
        response = self.call("ListEvents", self.stubs.events.ListEvents, request)
        return EventPage(list(response.events), response.cursor, response.has_more)


_SERVICES: tuple[tuple[int, type[ChildConnector]], ...] = (
    (connector_pb2.CAPABILITY_TICKETING, ChildTickets),
    (connector_pb2.CAPABILITY_ACTIONS, ChildActions),
    (connector_pb2.CAPABILITY_EVENT_FEED_V2, ChildEventFeeds),
)


def connector_class(metadata: ConnectorMetadata) -> type[ChildConnector]:
    """The ChildConnector class with the services this child's metadata reports."""
    return _combined(frozenset(metadata.capabilities.connector_capabilities))


@cache
def _combined(capabilities: frozenset[int]) -> type[ChildConnector]:
    bases = tuple(service for capability, service in _SERVICES if capability in capabilities)
    if not bases:
        return ChildConnector
    if len(bases) == 1:
        return bases[0]
    name = "Child" + "".join(base.__name__.removeprefix("Child") for base in bases)
    return type(name, bases, {})
