"""Every Task oneof case reaches a handler and gets the answer runner.md §4 gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.core.handlers import Unreported, handle_task, is_empty, task_kind
from baton_cli.core.task_source import Failure, Success, Task
from baton_cli.errors import StatusCode

from .fakes import FakeTaskSource, context, demo

KINDS = [field.name for field in Task.DESCRIPTOR.oneofs_by_name["task_type"].fields]

UNSUPPORTED = {
    "event_feed",
    "create_ticket_task",
    "list_ticket_schemas",
    "get_ticket",
    "bulk_create_tickets",
    "bulk_get_tickets",
    "action_list_schemas",
    "action_get_schema",
    "action_invoke",
    "action_status",
    "create_sync_diff",
    "compact_syncs",
    "list_event_feeds",
    "list_events",
}
# An empty message of these kinds lacks a required field.
MALFORMED = {"grant", "revoke", "create_account", "create_resource", "delete_resource", "rotate_credentials"}


def empty_task(kind: str) -> Task:
    task = Task(id=f"task-{kind}")
    getattr(task, kind).SetInParent()
    return task


def test_the_kind_list_is_the_wire_s() -> None:
    assert len(KINDS) == 24 and KINDS[0] == "none" and KINDS[-1] == "issue_credential"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_dispatched(tmp_path: Path, kind: str) -> None:
    task = empty_task(kind)
    assert task_kind(task) == kind
    source = FakeTaskSource()
    result = handle_task(task, context(demo(tmp_path), source, task_id=task.id, temp_dir=tmp_path))
    if kind in UNSUPPORTED or kind == "none":
        shown = kind
        assert result == Failure(int(StatusCode.UNKNOWN), f"unsupported task type: {shown}")
        assert not result.non_retryable
    elif kind in MALFORMED or kind == "issue_credential":
        assert isinstance(result, Failure) and result.non_retryable
        assert result.message == f"malformed {kind.replace('_', ' ')} task"
    elif kind == "hello":
        assert result == Unreported(Success())
        assert [task_id for _, task_id in source.hello_calls] == [task.id]
    else:
        assert kind == "sync_full"
        assert result == Success() and [t for t, _ in source.uploads] == [task.id]


def test_empty_tasks() -> None:
    assert is_empty(None)
    assert is_empty(Task(id="x"))
    assert is_empty(Task(id="x", none=Task.NoneTask()))
    assert not is_empty(Task(id="x", hello=Task.HelloTask()))
    assert task_kind(Task()) == "none"
