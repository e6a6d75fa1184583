"""What every task handler shares: its context, how results and errors become outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import Message

from baton_cli.connector.api import (
    AccountManager,
    Connector,
    CredentialRotator,
    Provisioner,
    ResourceCreator,
    ResourceDeleter,
    ResourceSyncer,
    SealingAccountManager,
    SealingCredentialRotator,
)
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers.gate import Switches
from baton_cli.core.task_source import Failure, Outcome, Success, TaskSource
from baton_cli.errors import BatonError, StatusCode


@dataclass(frozen=True, slots=True)
class TaskContext:
    """Everything a handler may use; ``cancel`` is this task's own token."""

    task_id: str
    connector: Connector
    source: TaskSource
    cancel: CancelToken
    env: Mapping[str, str]
    temp_dir: Path | None = None
    workers: int = 1  # sync tasks: connector calls at once
    note: Callable[[str], None] = lambda _message: None
    on_heartbeat: Callable[[bool], None] = lambda _ok: None
    # What a live view shows of a sync task (see runner_events.py): phase, rows, next beat, upload.
    on_sync_phase: Callable[[str], None] = lambda _phase: None
    on_sync_rows: Callable[[str, int], None] = lambda _kind, _rows: None
    on_heartbeat_due: Callable[[float, int], None] = lambda _seconds, _failures: None
    on_upload: Callable[[int, int], None] = lambda _sent, _total: None
    # Replaces real waits (heartbeat intervals, grant retry backoff) in tests.
    sleep: Callable[[float], None] | None = None
    # Off unless the operator opted in (--provisioning, --ticketing): see handlers/gate.py.
    switches: Switches = field(default_factory=Switches)
    # Paces progress notes (a sync's at most every 10 s); tests inject their own.
    clock: Callable[[], float] = time.monotonic
    # --skip-full-sync: sync tasks upload an empty finished full sync (cli.md §3.1).
    skip_full_sync: bool = False
    # --sync-resource-types: the runner's filter, used when a task has none of its own.
    sync_resource_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unreported:
    """A result the platform is NOT told about with FinishTask (hello tasks; §6 step 2 abandons).

    ``outcome`` is still shown to the person running the daemon.
    """

    outcome: Outcome


HandlerResult = Outcome | Unreported


class NoCapability(BatonError):
    """The connector lacks what the task needs (upstream answers UNIMPLEMENTED)."""

    code = StatusCode.UNIMPLEMENTED


def malformed(what: str) -> Failure:
    # Upstream's "malformed ... task" error carries no gRPC status, so it reaches the platform
    # as UNKNOWN (runner.md §5); it is non-retryable: the same task would fail the same way.
    return Failure(int(StatusCode.UNKNOWN), f"malformed {what} task", non_retryable=True)


def failure_from(exc: BaseException, cancel: CancelToken, *, non_retryable: bool) -> Failure:
    """runner.md §5: the error's status code, else CANCELLED when the task was cancelled, else UNKNOWN."""
    if isinstance(exc, BatonError):
        code = int(exc.code)
    elif cancel.cancelled:
        code = int(StatusCode.CANCELLED)
    else:
        code = int(StatusCode.UNKNOWN)
    message = str(exc) or type(exc).__name__
    return Failure(code, message, non_retryable=non_retryable)


def packed_success(response: Message) -> Success:
    """Success carrying ``response`` packed in an Any, and the response's own annotations."""
    value = AnyPb()
    value.Pack(response)
    annotations = getattr(response, "annotations", ())
    return Success(response=value, annotations=tuple(annotations))


def syncer_for(connector: Connector, resource_type_id: str) -> ResourceSyncer | None:
    for syncer in connector.resource_syncers():
        if syncer.resource_type.id == resource_type_id:
            return syncer
    return None


def _syncer(connector: Connector, resource_type_id: str, what: str) -> ResourceSyncer:
    syncer = syncer_for(connector, resource_type_id)
    if syncer is None:
        shown = repr(resource_type_id) if resource_type_id else "(empty)"
        raise NoCapability(f"connector has no resource type {shown}, so it has no {what} for it")
    return syncer


def _missing(resource_type_id: str, what: str) -> NoCapability:
    return NoCapability(f"resource type {resource_type_id!r} has no {what} configured")


# One accessor per capability: each is a runtime-checkable Protocol on the type's syncer.


def provisioner(connector: Connector, resource_type_id: str) -> Provisioner:
    syncer = _syncer(connector, resource_type_id, "provisioner")
    if isinstance(syncer, Provisioner):
        return syncer
    raise _missing(resource_type_id, "provisioner")


def resource_creator(connector: Connector, resource_type_id: str) -> ResourceCreator:
    syncer = _syncer(connector, resource_type_id, "resource creator")
    if isinstance(syncer, ResourceCreator):
        return syncer
    raise _missing(resource_type_id, "resource creator")


def resource_deleter(connector: Connector, resource_type_id: str) -> ResourceDeleter:
    syncer = _syncer(connector, resource_type_id, "resource deleter")
    if isinstance(syncer, ResourceDeleter):
        return syncer
    raise _missing(resource_type_id, "resource deleter")


def credential_rotator(
    connector: Connector, resource_type_id: str
) -> CredentialRotator | SealingCredentialRotator:
    syncer = _syncer(connector, resource_type_id, "credential manager")
    if isinstance(syncer, (CredentialRotator, SealingCredentialRotator)):
        return syncer
    raise _missing(resource_type_id, "credential manager")


def typed_account_manager(
    connector: Connector, resource_type_id: str
) -> AccountManager | SealingAccountManager:
    syncer = _syncer(connector, resource_type_id, "account manager")
    if isinstance(syncer, (AccountManager, SealingAccountManager)):
        return syncer
    raise _missing(resource_type_id, "account manager")


def non_retryable(ctx: TaskContext, action: Callable[[], Outcome]) -> Outcome:
    """Run a provisioning action; any failure is reported non-retryable (runner.md §4)."""
    try:
        return action()
    except Exception as exc:  # a connector may raise anything; the daemon must carry on
        return failure_from(exc, ctx.cancel, non_retryable=True)
