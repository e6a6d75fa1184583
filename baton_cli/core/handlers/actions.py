"""Action tasks: list schemas, get a schema, invoke, status (runner.md §4).

Connector errors are retryable. An invocation whose response says
BATON_ACTION_STATUS_FAILED finishes the task as an error whose message is the
response's ``error`` string (else "action failed"); like upstream, no
response is sent with it.

A task without its action name (or, for status, its id) can never succeed:
it is finished non-retryable with upstream's message for it.

An ``ActionForwarder`` (a connector child) gets upstream's requests whole, the
task's annotations in them, and its responses are delivered as they come.
"""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from baton_cli.connector.api import Connector
from baton_cli.connector.services import ActionForwarder, ActionManager
from baton_cli.core.handlers.common import NoCapability, TaskContext, packed_success
from baton_cli.core.handlers.outcomes import final, retryable
from baton_cli.core.task_source import Failure, Outcome, Success
from baton_cli.errors import StatusCode
from baton_cli.pb.c1.connector.v2 import action_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
ACTION_FAILED = "action failed"


def action_manager(connector: Connector) -> ActionManager:
    if isinstance(connector, ActionManager):
        return connector
    raise NoCapability("action manager not implemented")


def _plain(success: Success) -> Success:
    """The action responses go out without FinishTask annotations (runner.md §4)."""
    return Success(response=success.response)


def handle_action_list_schemas(task: Task.ActionListSchemasTask, ctx: TaskContext) -> Outcome:
    def list_schemas() -> Outcome:
        manager = action_manager(ctx.connector)
        if isinstance(manager, ActionForwarder):
            request = action_pb2.ListActionSchemasRequest(
                annotations=task.annotations, resource_type_id=task.resource_type_id
            )
            return _plain(packed_success(manager.list_action_schemas_forwarded(request)))
        schemas = manager.list_action_schemas(task.resource_type_id)
        return _plain(packed_success(action_pb2.ListActionSchemasResponse(schemas=schemas)))

    return retryable(ctx, list_schemas)


def handle_action_get_schema(task: Task.ActionGetSchemaTask, ctx: TaskContext) -> Outcome:
    if not task.name:
        return final("action name required")

    def get_schema() -> Outcome:
        manager = action_manager(ctx.connector)
        if isinstance(manager, ActionForwarder):
            request = action_pb2.GetActionSchemaRequest(name=task.name, annotations=task.annotations)
            return _plain(packed_success(manager.get_action_schema_forwarded(request)))
        schema = manager.get_action_schema(task.name)
        return _plain(packed_success(action_pb2.GetActionSchemaResponse(schema=schema)))

    return retryable(ctx, get_schema)


def handle_action_invoke(task: Task.ActionInvokeTask, ctx: TaskContext) -> Outcome:
    if not task.name:
        return final("action name required")

    def invoke() -> Outcome:
        manager = action_manager(ctx.connector)
        if isinstance(manager, ActionForwarder):
            request = action_pb2.InvokeActionRequest(
                name=task.name, annotations=task.annotations, resource_type_id=task.resource_type_id
            )
            if task.HasField("args"):
                request.args.CopyFrom(task.args)
            response = manager.invoke_action_forwarded(request)
        else:
            args = json_format.MessageToDict(task.args) if task.HasField("args") else {}
            response = manager.invoke_action(task.name, args, task.resource_type_id)
        if response.status == action_pb2.BATON_ACTION_STATUS_FAILED:
            return Failure(int(StatusCode.UNKNOWN), action_error(response.response))
        return _plain(packed_success(response))

    return retryable(ctx, invoke)


def handle_action_status(task: Task.ActionStatusTask, ctx: TaskContext) -> Outcome:
    if not task.id:
        return final("action id required")

    def status() -> Outcome:
        manager = action_manager(ctx.connector)
        if isinstance(manager, ActionForwarder):
            request = action_pb2.GetActionStatusRequest(
                name=task.name, id=task.id, annotations=task.annotations
            )
            return _plain(packed_success(manager.action_status_forwarded(request)))
        return _plain(packed_success(manager.action_status(task.id)))

    return retryable(ctx, status)


def action_error(response: struct_pb2.Struct) -> str:
    """The string value of the response's ``error`` field, else "action failed"."""
    value = response.fields.get("error")
    if value is not None and value.WhichOneof("kind") == "string_value" and value.string_value:
        return value.string_value
    return ACTION_FAILED
