"""Task handlers: one per task kind, chosen by an exhaustive match (runner.md §4).

``handle_task`` never raises for a task's own failure: it returns the outcome
to report with FinishTask, or ``Unreported`` for the cases where upstream sends
no FinishTask (hello tasks, a sync whose first heartbeat failed). A new kind in
the Task oneof that is not matched below fails mypy (``assert_never``).
"""

from __future__ import annotations

from typing import assert_never

from baton_cli.connector.capabilities import connector_metadata_with_capabilities
from baton_cli.core.handlers.accounts import handle_create_account, handle_rotate_credentials
from baton_cli.core.handlers.actions import (
    handle_action_get_schema,
    handle_action_invoke,
    handle_action_list_schemas,
    handle_action_status,
)
from baton_cli.core.handlers.common import (
    HandlerResult,
    TaskContext,
    Unreported,
    failure_from,
)
from baton_cli.core.handlers.events import handle_list_event_feeds, handle_list_events
from baton_cli.core.handlers.gate import refusal
from baton_cli.core.handlers.issue_credential import handle_issue_credential
from baton_cli.core.handlers.provisioning import (
    handle_create_resource,
    handle_delete_resource,
    handle_grant,
    handle_revoke,
)
from baton_cli.core.handlers.sync import handle_sync_full
from baton_cli.core.handlers.tickets import (
    handle_bulk_create_tickets,
    handle_bulk_get_tickets,
    handle_create_ticket,
    handle_get_ticket,
    handle_list_ticket_schemas,
)
from baton_cli.core.task_source import Failure, Success
from baton_cli.errors import StatusCode
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task

NONE_KIND = "none"


def task_kind(task: Task) -> str:
    """The Task oneof's case name; ``none`` when it is unset."""
    return task.WhichOneof("task_type") or NONE_KIND


def is_empty(task: Task | None) -> bool:
    """No work: an absent task or a ``none`` one (runner.md §3 step 3)."""
    return task is None or task_kind(task) == NONE_KIND


def unsupported(kind: str) -> Failure:
    return Failure(int(StatusCode.UNKNOWN), f"unsupported task type: {kind}")


def handle_task(task: Task, ctx: TaskContext) -> HandlerResult:
    kind = task.WhichOneof("task_type")
    refused = refusal(kind or NONE_KIND, ctx.switches)
    if refused is not None:
        return refused  # the connector is never called
    match kind:
        case "hello":
            return _answer_hello(ctx)
        case "sync_full":
            return handle_sync_full(task.sync_full, ctx)
        case "grant":
            return handle_grant(task.grant, ctx)
        case "revoke":
            return handle_revoke(task.revoke, ctx)
        case "create_account":
            return handle_create_account(task.create_account, ctx)
        case "create_resource":
            return handle_create_resource(task.create_resource, ctx)
        case "delete_resource":
            return handle_delete_resource(task.delete_resource, ctx)
        case "rotate_credentials":
            return handle_rotate_credentials(task.rotate_credentials, ctx)
        case "issue_credential":
            return handle_issue_credential(task.issue_credential, ctx)
        case "create_ticket_task":
            return handle_create_ticket(task.create_ticket_task, ctx)
        case "list_ticket_schemas":
            return handle_list_ticket_schemas(task.list_ticket_schemas, ctx)
        case "get_ticket":
            return handle_get_ticket(task.get_ticket, ctx)
        case "bulk_create_tickets":
            return handle_bulk_create_tickets(task.bulk_create_tickets, ctx)
        case "bulk_get_tickets":
            return handle_bulk_get_tickets(task.bulk_get_tickets, ctx)
        case "action_list_schemas":
            return handle_action_list_schemas(task.action_list_schemas, ctx)
        case "action_get_schema":
            return handle_action_get_schema(task.action_get_schema, ctx)
        case "action_invoke":
            return handle_action_invoke(task.action_invoke, ctx)
        case "action_status":
            return handle_action_status(task.action_status, ctx)
        case "list_event_feeds":
            return handle_list_event_feeds(task.list_event_feeds, ctx)
        case "list_events":
            return handle_list_events(task.list_events, ctx)
        case "event_feed" | "create_sync_diff" | "compact_syncs":
            # Upstream's daemon does not handle these (the old event feed, and the sync diff and
            # compaction done by one-shot runs); it answers them this way, retryable.
            return unsupported(kind)
        case "none" | None:
            # The runner never hands these to a handler; answer sanely if someone does.
            return unsupported(NONE_KIND)
        case _:
            assert_never(kind)


def _answer_hello(ctx: TaskContext) -> Unreported:
    """A hello task is answered by a Hello carrying its id, never by FinishTask; errors are only logged."""
    try:
        metadata = connector_metadata_with_capabilities(ctx.connector, ticketing=ctx.switches.ticketing)
        ctx.source.hello(metadata, task_id=ctx.task_id)
    except Exception as exc:  # logged by the runner through the outcome; no retry (runner.md §3.2)
        return Unreported(failure_from(exc, ctx.cancel, non_retryable=False))
    return Unreported(Success())


__all__ = [
    "HandlerResult",
    "TaskContext",
    "Unreported",
    "handle_task",
    "is_empty",
    "task_kind",
    "unsupported",
]
