"""Tasks for the kinds beyond sync and provisioning: resources, credentials, tickets, actions, events.

Like ``task_builders``, each builder fills its ``Task.*Task`` message as the
platform would and raises :class:`UsageError` naming the flag for a bad value.
Large messages come as JSON files: a ticket request as protobuf JSON
(``--ticket-json``), or in upstream's one-shot template format (``--template``:
``schema_id``, ``status_id``, ``type_id``, ``display_name``, ``description``,
``labels``, ``custom_fields``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import Message

import baton_cli.pb
from baton_cli.emulator.task_builders import encryption_configs, parse_resource_id
from baton_cli.emulator.task_flags import (
    ACTION_ID_FLAG,
    ACTION_NAME_FLAG,
    ANNOTATION_JSON_FLAG,
    ARGS_FLAG,
    CREDENTIAL_KIND_FLAG,
    CREDENTIAL_KINDS,
    CURSOR_FLAG,
    EXPIRES_AT_FLAG,
    IDENTITY_FLAG,
    MAX_EVENTS_PAGE_SIZE,
    PAGE_SIZE_FLAG,
    RESOURCE_JSON_FLAG,
    RESOURCE_TYPE_FLAG,
    START_AT_FLAG,
    TICKET_ID_FLAG,
    TICKET_JSON_FLAG,
    TICKET_TEMPLATE_FLAG,
)
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import annotation_trait_pb2, resource_pb2, ticket_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
M = TypeVar("M", bound=Message)


# -- files and values ------------------------------------------------------------------------------


def read_json(path: Path, flag: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{flag}: file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag}: {path} is not valid JSON ({exc.msg} at character {exc.pos})") from None


def parse_message(value: Any, message: M, flag: str) -> M:
    """Protobuf JSON (as protojson writes it) into ``message``; the error names the flag."""
    try:
        json_format.ParseDict(value, message)
    except json_format.ParseError as exc:
        raise UsageError(f"{flag}: not a {message.DESCRIPTOR.full_name}: {exc}") from None
    return message


def struct_from(text: str, flag: str) -> struct_pb2.Struct:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag}: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag}: expected a JSON object, got {type(value).__name__}")
    result = struct_pb2.Struct()
    result.update(value)
    return result


def timestamp_from(text: str, flag: str) -> timestamp_pb2.Timestamp:
    """RFC 3339, as upstream's flags take it (a trailing Z or an offset is required)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(f"{flag}: expected an RFC 3339 time such as 2026-01-02T15:04:05Z, got {text!r}")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _load_message_types() -> None:
    # An Any in JSON names its type by URL: the type must be imported before it can be parsed.
    prefix = baton_cli.pb.__name__ + "."
    for info in pkgutil.walk_packages(baton_cli.pb.__path__, prefix):
        if info.name.endswith("_pb2"):
            importlib.import_module(info.name)


def annotations_from(paths: Sequence[Path]) -> list[AnyPb]:
    """Each file: one ``google.protobuf.Any`` in protobuf JSON (``{"@type": ..., ...}``)."""
    if paths:
        _load_message_types()
    return [parse_message(read_json(p, ANNOTATION_JSON_FLAG), AnyPb(), ANNOTATION_JSON_FLAG) for p in paths]


def _required(value: str, flag: str, what: str) -> str:
    if not value.strip():
        raise UsageError(f"{flag}: {what} cannot be empty")
    return value


# -- resources and credentials ---------------------------------------------------------------------


def create_resource_task(
    resource_type: str,
    *,
    display_name: str = "",
    login: str = "",
    email: str = "",
    resource_json: Path | None = None,
) -> Task:
    """Create a resource: from protobuf JSON, or a type, a name and (for users) a login/email trait."""
    if resource_json is not None:
        resource = parse_message(
            read_json(resource_json, RESOURCE_JSON_FLAG), resource_pb2.Resource(), RESOURCE_JSON_FLAG
        )
        return Task(create_resource=Task.CreateResourceTask(resource=resource))
    _required(resource_type, RESOURCE_TYPE_FLAG, "a resource type")
    resource = resource_pb2.Resource(
        id=resource_pb2.ResourceId(resource_type=resource_type), display_name=display_name
    )
    if login or email:
        trait = annotation_trait_pb2.UserTrait(login=login)
        if email:
            trait.emails.add(address=email, is_primary=True)
        packed = AnyPb()
        packed.Pack(trait)
        resource.annotations.append(packed)
    return Task(create_resource=Task.CreateResourceTask(resource=resource))


def issue_credential_task(
    identity: str,
    *,
    kind: str = "api_key",
    scopes: Sequence[str] = (),
    age_recipients: Sequence[str] = (),
    expires_at: str | None = None,
) -> Task:
    """Issue a credential for ``identity`` (``TYPE:ID``), encrypted to ``age_recipients``."""
    options = resource_pb2.CredentialIssueOptions
    if kind == "api_key":
        chosen = options(api_key=options.ApiKey(scopes=scopes))
    elif kind == "token":
        chosen = options(token=options.Token(scopes=scopes))
    elif kind == "client_secret":
        chosen = options(client_secret=options.ClientSecret())
    elif kind == "keypair":
        chosen = options(keypair=options.Keypair())
    else:
        raise UsageError(
            f"{CREDENTIAL_KIND_FLAG}: expected one of {', '.join(CREDENTIAL_KINDS)}, got {kind!r}"
        )
    return Task(
        issue_credential=Task.IssueCredentialTask(
            identity_id=parse_resource_id(identity, IDENTITY_FLAG),
            credential_options=chosen,
            encryption_configs=encryption_configs(age_recipients),
            expires_at=timestamp_from(expires_at, EXPIRES_AT_FLAG) if expires_at else None,
        )
    )


# -- tickets ---------------------------------------------------------------------------------------


def ticket_request_from_json(path: Path) -> tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema | None]:
    """``--ticket-json``: a TicketRequest in protobuf JSON, optionally ``{"request": ..., "schema": ...}``."""
    value = read_json(path, TICKET_JSON_FLAG)
    if isinstance(value, dict) and "request" in value:
        request = parse_message(value["request"], ticket_pb2.TicketRequest(), TICKET_JSON_FLAG)
        schema = parse_message(value.get("schema", {}), ticket_pb2.TicketSchema(), TICKET_JSON_FLAG)
        return request, (schema if schema.ByteSize() else None)
    return parse_message(value, ticket_pb2.TicketRequest(), TICKET_JSON_FLAG), None


def ticket_request_from_template(
    path: Path, schemas: Mapping[str, ticket_pb2.TicketSchema] | None = None
) -> tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema]:
    """Upstream's one-shot ticket template; custom field values take the schema's field kinds."""
    value = read_json(path, TICKET_TEMPLATE_FLAG)
    if not isinstance(value, dict):
        raise UsageError(f"{TICKET_TEMPLATE_FLAG}: {path} must hold a JSON object")
    return ticket_request_from_template_value(value, schemas)


def ticket_request_from_template_value(
    value: dict[str, Any], schemas: Mapping[str, ticket_pb2.TicketSchema] | None, where: str = ""
) -> tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema]:
    """One template; ``where`` ("FILE ticket N: ") says which one in a bulk file."""
    schema_id = str(value.get("schema_id") or "")
    schema = ticket_pb2.TicketSchema(id=schema_id)
    if schemas is not None and schema_id:
        if schema_id not in schemas:
            raise NotFoundError(
                f"{TICKET_TEMPLATE_FLAG}: {where}the connector has no ticket schema {schema_id!r}"
            )
        schema = schemas[schema_id]
    labels = value.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise UsageError(f"{TICKET_TEMPLATE_FLAG}: {where}'labels' must be a list of strings")
    request = ticket_pb2.TicketRequest(
        display_name=str(value.get("display_name") or ""),
        description=str(value.get("description") or ""),
        labels=labels,
    )
    if value.get("status_id"):
        request.status.id = str(value["status_id"])
    if value.get("type_id"):
        request.type.id = str(value["type_id"])
    fields = value.get("custom_fields") or {}
    if not isinstance(fields, dict):
        raise UsageError(f"{TICKET_TEMPLATE_FLAG}: {where}'custom_fields' must be a JSON object")
    for name, field_value in fields.items():
        request.custom_fields[name].CopyFrom(custom_field(name, field_value, schema.custom_fields.get(name)))
    return request, schema


def ticket_requests_from_bulk_template(
    path: Path, schemas: Mapping[str, ticket_pb2.TicketSchema] | None = None
) -> list[tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema | None]]:
    """``{"tickets": [template, ...]}`` (or a bare list): one upstream ticket template per ticket."""
    value = read_json(path, TICKET_TEMPLATE_FLAG)
    items = value.get("tickets") if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        raise UsageError(f'{TICKET_TEMPLATE_FLAG}: {path} must hold {{"tickets": [template, ...]}}')
    requests: list[tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema | None]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise UsageError(f"{TICKET_TEMPLATE_FLAG}: ticket {index} in {path} is not a JSON object")
        requests.append(ticket_request_from_template_value(item, schemas, f"{path} ticket {index}: "))
    return requests


def custom_field(
    name: str, value: Any, declared: ticket_pb2.TicketCustomField | None
) -> ticket_pb2.TicketCustomField:
    """A template value as a TicketCustomField: the schema's kind when known, else by JSON type."""
    field = ticket_pb2.TicketCustomField(id=name)
    kind = declared.WhichOneof("value") if declared is not None else None
    where = f"{TICKET_TEMPLATE_FLAG}: custom field {name!r}"
    if kind == "pick_string_value":
        field.pick_string_value.value = _text(value, where)
    elif (
        kind == "pick_multiple_string_values"
        or kind == "string_values"
        or (kind is None and isinstance(value, list))
    ):
        items = value if isinstance(value, list) else [value]
        texts = [_text(item, where) for item in items]
        if kind == "pick_multiple_string_values":
            field.pick_multiple_string_values.values.extend(texts)
        else:
            field.string_values.values.extend(texts)
    elif kind == "bool_value" or (kind is None and isinstance(value, bool)):
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false")
        field.bool_value.value = value
    elif kind == "number_value" or (kind is None and isinstance(value, int | float)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{where}: expected a number")
        field.number_value.value.value = float(value)
    elif kind == "timestamp_value":
        field.timestamp_value.value.CopyFrom(timestamp_from(_text(value, where), where))
    else:
        field.string_value.value = _text(value, where)
    return field


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{where}: expected a string, got {json.dumps(value)[:40]}")
    return value


def create_ticket_task(
    request: ticket_pb2.TicketRequest,
    schema: ticket_pb2.TicketSchema | None = None,
    annotations: Sequence[AnyPb] = (),
) -> Task:
    return Task(
        create_ticket_task=Task.CreateTicketTask(
            ticket_request=request, ticket_schema=schema, annotations=annotations
        )
    )


def bulk_create_tickets_task(
    requests: Sequence[tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema | None]],
) -> Task:
    if not requests:
        raise UsageError(f"{TICKET_JSON_FLAG}: give at least one ticket")
    tasks = [Task.CreateTicketTask(ticket_request=r, ticket_schema=s) for r, s in requests]
    return Task(bulk_create_tickets=Task.BulkCreateTicketsTask(ticket_requests=tasks))


def list_ticket_schemas_task() -> Task:
    return Task(list_ticket_schemas=Task.ListTicketSchemasTask())


def get_ticket_task(ticket_id: str, annotations: Sequence[AnyPb] = ()) -> Task:
    _required(ticket_id, TICKET_ID_FLAG, "a ticket id")
    return Task(get_ticket=Task.GetTicketTask(ticket_id=ticket_id, annotations=annotations))


def bulk_get_tickets_task(ticket_ids: Sequence[str]) -> Task:
    if not ticket_ids:
        raise UsageError(f"{TICKET_ID_FLAG}: give at least one ticket id")
    gets = [Task.GetTicketTask(ticket_id=_required(t, TICKET_ID_FLAG, "a ticket id")) for t in ticket_ids]
    return Task(bulk_get_tickets=Task.BulkGetTicketsTask(ticket_requests=gets))


# -- actions ---------------------------------------------------------------------------------------


def action_list_schemas_task(resource_type_id: str = "") -> Task:
    return Task(action_list_schemas=Task.ActionListSchemasTask(resource_type_id=resource_type_id))


def action_get_schema_task(name: str) -> Task:
    return Task(
        action_get_schema=Task.ActionGetSchemaTask(name=_required(name, ACTION_NAME_FLAG, "an action name"))
    )


def action_invoke_task(name: str, args_json: str = "{}", resource_type_id: str = "") -> Task:
    return Task(
        action_invoke=Task.ActionInvokeTask(
            name=_required(name, ACTION_NAME_FLAG, "an action name"),
            args=struct_from(args_json, ARGS_FLAG),
            resource_type_id=resource_type_id,
        )
    )


def action_status_task(action_id: str, name: str = "") -> Task:
    return Task(
        action_status=Task.ActionStatusTask(
            id=_required(action_id, ACTION_ID_FLAG, "an action id"), name=name
        )
    )


# -- event feeds and the kinds upstream's daemon does not handle -----------------------------------


def list_event_feeds_task() -> Task:
    return Task(list_event_feeds=Task.ListEventFeedsTask())


def list_events_task(
    feed_id: str = "", *, start_at: str | None = None, cursor: str = "", page_size: int = 0
) -> Task:
    if not 0 <= page_size <= MAX_EVENTS_PAGE_SIZE:
        raise UsageError(f"{PAGE_SIZE_FLAG}: expected 0..{MAX_EVENTS_PAGE_SIZE}, got {page_size}")
    if len(cursor.encode()) > 4096:
        raise UsageError(f"{CURSOR_FLAG}: at most 4096 bytes")
    return Task(
        list_events=Task.ListEventsTask(
            event_feed_id=feed_id,
            start_at=timestamp_from(start_at, START_AT_FLAG) if start_at else None,
            cursor=cursor,
            page_size=page_size,
        )
    )


def event_feed_task(start_at: str | None = None) -> Task:
    """The old event feed kind; upstream's daemon answers it "unsupported task type"."""
    return Task(
        event_feed=Task.EventFeedTask(start_at=timestamp_from(start_at, START_AT_FLAG) if start_at else None)
    )


def create_sync_diff_task(base_sync_id: str, new_sync_id: str) -> Task:
    return Task(create_sync_diff=Task.CreateSyncDiffTask(base_sync_id=base_sync_id, new_sync_id=new_sync_id))


def compact_syncs_task(pairs: Sequence[str]) -> Task:
    """``FILE:SYNC_ID`` pairs; upstream's daemon answers this kind "unsupported task type"."""
    syncs = []
    for pair in pairs:
        path, sep, sync_id = pair.rpartition(":")
        if not sep or not path or not sync_id:
            raise UsageError(f"--sync: expected FILE:SYNC_ID, got {pair!r}")
        syncs.append(Task.CompactSyncs.CompactableSync(file_path=path, sync_id=sync_id))
    return Task(compact_syncs=Task.CompactSyncs(compactable_syncs=syncs))


__all__ = [
    "action_get_schema_task",
    "action_invoke_task",
    "action_list_schemas_task",
    "action_status_task",
    "bulk_create_tickets_task",
    "bulk_get_tickets_task",
    "compact_syncs_task",
    "create_resource_task",
    "create_sync_diff_task",
    "create_ticket_task",
    "custom_field",
    "event_feed_task",
    "get_ticket_task",
    "issue_credential_task",
    "list_event_feeds_task",
    "list_events_task",
    "list_ticket_schemas_task",
    "ticket_request_from_json",
    "ticket_request_from_template",
]
