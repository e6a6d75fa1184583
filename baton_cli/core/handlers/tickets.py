"""Ticket tasks: create, list schemas, get, bulk create, bulk get (runner.md §4).

Connector errors are retryable here (unlike provisioning); a task missing what
it needs, an empty ticket and a bulk answer of the wrong length are not.
Create and get merge the task's annotations into the response's, and report
those merged annotations with FinishTask; a failed create or get carries the
task's annotations.

Upstream's list_ticket_schemas returns without any FinishTask when the
connector call fails, leaving the platform to time the task out; our emulator
would hand it out again every lease period, forever. We finish it with the
error (retryable) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.connector.api import Connector
from baton_cli.connector.services import BulkTicketManager, TicketForwarder, TicketManager, TicketSchema
from baton_cli.core.handlers.common import NoCapability, TaskContext, malformed, packed_success
from baton_cli.core.handlers.outcomes import final, merged, retryable
from baton_cli.core.task_source import Failure, Outcome, Success
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connector.v2 import ticket_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
MAX_TICKET_SCHEMAS = 100  # upstream keeps the first 100 and drops the rest


def ticket_manager(connector: Connector) -> TicketManager:
    if isinstance(connector, TicketManager):
        return connector
    raise NoCapability("ticket manager not implemented")


def _with_annotations(success: Success, annotations: Sequence[AnyPb]) -> Success:
    return replace(success, annotations=tuple(annotations))


def handle_create_ticket(task: Task.CreateTicketTask, ctx: TaskContext) -> Outcome:
    if not task.HasField("ticket_request"):
        return replace(malformed("create ticket"), annotations=tuple(task.annotations))

    def create() -> Outcome:
        schema = task.ticket_schema if task.HasField("ticket_schema") else None
        manager = ticket_manager(ctx.connector)
        if isinstance(manager, TicketForwarder):
            request = ticket_pb2.TicketsServiceCreateTicketRequest(
                request=task.ticket_request, schema=schema, annotations=task.annotations
            )
            answer = manager.create_ticket_forwarded(request)
            ticket, annotations = answer.ticket, merged(answer.annotations, task.annotations)
        else:
            ticket = manager.create_ticket(task.ticket_request, schema)
            annotations = merged([], task.annotations)
        response = ticket_pb2.TicketsServiceCreateTicketResponse(ticket=ticket, annotations=annotations)
        return _with_annotations(packed_success(response), annotations)

    return retryable(ctx, create, task.annotations)


def handle_list_ticket_schemas(task: Task.ListTicketSchemasTask, ctx: TaskContext) -> Outcome:
    def list_schemas() -> Outcome:
        manager = ticket_manager(ctx.connector)
        schemas: list[TicketSchema] = []
        token = ""
        while len(schemas) < MAX_TICKET_SCHEMAS:
            page = manager.list_ticket_schemas(token)
            schemas.extend(page.items)
            if not page.next_token:
                break
            if page.next_token == token:
                raise BatonError(
                    "listing ticket schemas failed: next page token unchanged - likely a connector bug",
                    code=StatusCode.INTERNAL,
                )
            token = page.next_token
        if not schemas:
            return Failure(int(StatusCode.UNKNOWN), "connector returned no ticket schemas")
        response = ticket_pb2.TicketsServiceListTicketSchemasResponse(list=schemas[:MAX_TICKET_SCHEMAS])
        return _with_annotations(packed_success(response), ())

    return retryable(ctx, list_schemas)


def handle_get_ticket(task: Task.GetTicketTask, ctx: TaskContext) -> Outcome:
    if not task.ticket_id:
        return malformed("get ticket")

    def get() -> Outcome:
        manager = ticket_manager(ctx.connector)
        answered: Sequence[AnyPb] = ()
        if isinstance(manager, TicketForwarder):
            answer = manager.get_ticket_forwarded(
                ticket_pb2.TicketsServiceGetTicketRequest(id=task.ticket_id, annotations=task.annotations)
            )
            ticket = answer.ticket if answer.HasField("ticket") else None
            answered = answer.annotations
        else:
            ticket = manager.get_ticket(task.ticket_id)
        if ticket is None:
            return final("connector returned empty ticket", task.annotations)
        annotations = merged(answered, task.annotations)
        response = ticket_pb2.TicketsServiceGetTicketResponse(ticket=ticket, annotations=annotations)
        return _with_annotations(packed_success(response), annotations)

    return retryable(ctx, get, task.annotations)


def handle_bulk_create_tickets(task: Task.BulkCreateTicketsTask, ctx: TaskContext) -> Outcome:
    if not task.ticket_requests:
        return malformed("bulk create ticket")
    requests = [
        ticket_pb2.TicketsServiceCreateTicketRequest(
            request=item.ticket_request,
            schema=item.ticket_schema if item.HasField("ticket_schema") else None,
            annotations=item.annotations,
        )
        for item in task.ticket_requests
    ]

    def create_all() -> Outcome:
        manager = ticket_manager(ctx.connector)
        if isinstance(manager, BulkTicketManager):
            tickets = list(manager.bulk_create_tickets(requests))
        else:
            tickets = [_create_one(manager, request) for request in requests]
        if len(tickets) != len(requests):
            return final("connector returned incorrect number of tickets")
        response = ticket_pb2.TicketsServiceBulkCreateTicketsResponse(tickets=tickets)
        return _with_annotations(packed_success(response), ())

    return retryable(ctx, create_all)


def handle_bulk_get_tickets(task: Task.BulkGetTicketsTask, ctx: TaskContext) -> Outcome:
    if not task.ticket_requests:
        return malformed("bulk get tickets")
    ids = [item.ticket_id for item in task.ticket_requests]

    def get_all() -> Outcome:
        manager = ticket_manager(ctx.connector)
        if isinstance(manager, BulkTicketManager):
            tickets = list(manager.bulk_get_tickets(ids))
        else:
            tickets = [_get_one(manager, ticket_id) for ticket_id in ids]
        if len(tickets) != len(ids):
            return final("connector returned incorrect number of tickets")
        response = ticket_pb2.TicketsServiceBulkGetTicketsResponse(tickets=tickets)
        return _with_annotations(packed_success(response), ())

    return retryable(ctx, get_all)


def _create_one(
    manager: TicketManager, request: ticket_pb2.TicketsServiceCreateTicketRequest
) -> ticket_pb2.TicketsServiceCreateTicketResponse:
    """One ticket of a bulk create; its failure is that item's ``error``, not the task's."""
    schema = request.schema if request.HasField("schema") else None
    try:
        ticket = manager.create_ticket(request.request, schema)
    except BatonError as exc:
        return ticket_pb2.TicketsServiceCreateTicketResponse(error=str(exc), annotations=request.annotations)
    return ticket_pb2.TicketsServiceCreateTicketResponse(ticket=ticket, annotations=request.annotations)


def _get_one(manager: TicketManager, ticket_id: str) -> ticket_pb2.TicketsServiceGetTicketResponse:
    try:
        ticket = manager.get_ticket(ticket_id)
    except BatonError as exc:
        return ticket_pb2.TicketsServiceGetTicketResponse(error=str(exc))
    if ticket is None:
        return ticket_pb2.TicketsServiceGetTicketResponse(error=f"ticket {ticket_id!r} not found")
    return ticket_pb2.TicketsServiceGetTicketResponse(ticket=ticket)
