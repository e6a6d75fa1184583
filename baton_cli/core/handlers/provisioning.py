"""Grant, revoke, create and delete resource tasks (runner.md §4).

Each handler checks the fields upstream requires (a task without them is
"malformed", non-retryable), finds the syncer of the resource type the task is
about, calls its capability, and packs the upstream response message. Every
failure is non-retryable, as upstream's: the platform decides whether to try again.

Grant and revoke are first retried here, as upstream's connector builder does:
up to 3 attempts on UNAVAILABLE / DEADLINE_EXCEEDED, waiting 15 s x attempt
(at most 60 s) or what a rate limit's reset time asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from baton_cli.core.handlers.common import (
    TaskContext,
    malformed,
    non_retryable,
    packed_success,
    provisioner,
    resource_creator,
    resource_deleter,
)
from baton_cli.core.retry import RETRYABLE, RetryPolicy
from baton_cli.core.task_source import Outcome
from baton_cli.errors import BatonError, CancelledError
from baton_cli.pb.c1.connector.v2 import grant_pb2, resource_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
T = TypeVar("T")

GRANT_ATTEMPTS = 3
GRANT_RETRY_BASE_SECONDS = 15.0


def with_grant_retry(ctx: TaskContext, what: str, call: Callable[[], T]) -> T:
    policy = RetryPolicy(ctx.cancel, base_seconds=GRANT_RETRY_BASE_SECONDS)
    for attempt in range(1, GRANT_ATTEMPTS + 1):
        try:
            return call()
        except BatonError as exc:
            if exc.code not in RETRYABLE or attempt == GRANT_ATTEMPTS:
                raise
            policy.attempts = attempt
            wait = policy.delay(exc)
            ctx.note(f"task {ctx.task_id}: {what} failed ({exc}); attempt {attempt + 1} in {wait:g} s")
            if _wait(ctx, wait):
                raise CancelledError(f"cancelled while waiting to retry {what}: {ctx.cancel.reason}") from exc
    raise AssertionError("unreachable: the last attempt returns or raises")


def _wait(ctx: TaskContext, seconds: float) -> bool:
    if ctx.sleep is None:
        return ctx.cancel.wait(seconds)
    ctx.sleep(seconds)
    return ctx.cancel.cancelled


def handle_grant(task: Task.GrantTask, ctx: TaskContext) -> Outcome:
    if not (task.HasField("entitlement") and task.HasField("principal")):
        return malformed("grant")

    def grant() -> Outcome:
        # Only entitlement and principal are forwarded: upstream drops the task's annotations and duration.
        type_id = task.entitlement.resource.id.resource_type
        target = provisioner(ctx.connector, type_id)
        grants = with_grant_retry(ctx, "grant", lambda: target.grant(task.principal, task.entitlement))
        return packed_success(grant_pb2.GrantManagerServiceGrantResponse(grants=grants))

    return non_retryable(ctx, grant)


def handle_revoke(task: Task.RevokeTask, ctx: TaskContext) -> Outcome:
    if not task.HasField("grant"):
        return malformed("revoke")

    def revoke() -> Outcome:
        type_id = task.grant.entitlement.resource.id.resource_type
        target = provisioner(ctx.connector, type_id)
        with_grant_retry(ctx, "revoke", lambda: target.revoke(task.grant))
        return packed_success(grant_pb2.GrantManagerServiceRevokeResponse())

    return non_retryable(ctx, revoke)


def handle_create_resource(task: Task.CreateResourceTask, ctx: TaskContext) -> Outcome:
    if not task.HasField("resource"):
        return malformed("create resource")

    def create() -> Outcome:
        created = resource_creator(ctx.connector, task.resource.id.resource_type).create(task.resource)
        return packed_success(resource_pb2.CreateResourceResponse(created=created))

    return non_retryable(ctx, create)


def handle_delete_resource(task: Task.DeleteResourceTask, ctx: TaskContext) -> Outcome:
    rid = task.resource_id
    if not (task.HasField("resource_id") and rid.resource_type and rid.resource):
        return malformed("delete resource")

    def delete() -> Outcome:
        parent = task.parent_resource_id if task.parent_resource_id.resource else None
        resource_deleter(ctx.connector, rid.resource_type).delete(rid, parent)
        return packed_success(resource_pb2.DeleteResourceResponse())

    return non_retryable(ctx, delete)
