"""One line about a FinishTask response, for `baton emulator tasks`: its type and what it says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import any_pb2
from google.protobuf.message import Message

from baton_cli.pb.c1.connector.v2 import action_pb2, event_feed_pb2, grant_pb2, resource_pb2, ticket_pb2


def _rid(rid: resource_pb2.ResourceId) -> str:
    return f"{rid.resource_type}:{rid.resource}"


def _status(value: action_pb2.BatonActionStatus.ValueType) -> str:
    return action_pb2.BatonActionStatus.Name(value).removeprefix("BATON_ACTION_STATUS_").lower()


def _account(m: Any) -> str:
    kind = m.WhichOneof("result") or "no result"
    resource = getattr(m, kind).resource if m.WhichOneof("result") else None
    who = f" {_rid(resource.id)}" if resource is not None and resource.id.resource else ""
    return f"{kind.replace('_', ' ')}{who}, {len(m.encrypted_data)} encrypted"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


_SUMMARIES: dict[type[Message], Callable[[Any], str]] = {
    grant_pb2.GrantManagerServiceGrantResponse: lambda m: _count(len(m.grants), "grant"),
    grant_pb2.GrantManagerServiceRevokeResponse: lambda m: "revoked",
    resource_pb2.CreateAccountResponse: _account,
    resource_pb2.CreateResourceResponse: lambda m: f"created {_rid(m.created.id)}",
    resource_pb2.DeleteResourceResponse: lambda m: "deleted",
    resource_pb2.RotateCredentialResponse: lambda m: f"{len(m.encrypted_data)} encrypted",
    resource_pb2.IssueCredentialResponse: lambda m: f"{len(m.encrypted_data)} encrypted",
    ticket_pb2.TicketsServiceCreateTicketResponse: lambda m: f"ticket {m.ticket.id}",
    ticket_pb2.TicketsServiceGetTicketResponse: lambda m: (
        f"ticket {m.ticket.id} ({m.ticket.status.id or '-'})"
    ),
    ticket_pb2.TicketsServiceListTicketSchemasResponse: lambda m: _count(len(m.list), "schema"),
    ticket_pb2.TicketsServiceBulkCreateTicketsResponse: lambda m: _count(len(m.tickets), "ticket"),
    ticket_pb2.TicketsServiceBulkGetTicketsResponse: lambda m: _count(len(m.tickets), "ticket"),
    action_pb2.ListActionSchemasResponse: lambda m: _count(len(m.schemas), "schema"),
    action_pb2.GetActionSchemaResponse: lambda m: f"schema {m.schema.name}",
    action_pb2.InvokeActionResponse: lambda m: (
        f"{m.name}: {_status(m.status)}" + (f" (id {m.id})" if m.id else "")
    ),
    action_pb2.GetActionStatusResponse: lambda m: f"{m.id}: {_status(m.status)}",
    event_feed_pb2.ListEventFeedsResponse: lambda m: _count(len(m.list), "feed"),
    event_feed_pb2.ListEventsResponse: lambda m: (
        _count(len(m.events), "event") + (", more" if m.has_more else "")
    ),
}


def unpack(response: bytes) -> Message | None:
    """The response message of a serialized Any, when it is one of the task response types."""
    packed = any_pb2.Any.FromString(response)
    for cls in _SUMMARIES:
        message = cls()
        if packed.Unpack(message):
            return message
    return None


def summarize(response: bytes) -> tuple[str, str] | None:
    """(short type name, summary) of a serialized Any; None when nothing was sent."""
    if not response:
        return None
    packed = any_pb2.Any.FromString(response)
    for cls, describe in _SUMMARIES.items():
        message = cls()
        if packed.Unpack(message):
            return message.DESCRIPTOR.name, describe(message)
    return packed.type_url.rpartition("/")[2].rpartition(".")[2], ""
