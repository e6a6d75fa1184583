"""Every Task oneof case reaches a handler and gets the answer runner.md §4 gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton_cli.core.handlers import Unreported, handle_task, is_empty, task_kind
from baton_cli.core.task_source import Failure, Success, Task
from baton_cli.errors import StatusCode

from .fakes import FakeTaskSource, context, demo

KINDS = [field.name for field in Task.DESCRIPTOR.oneofs_by_name["task_type"].fields]

UNSUPPORTED = {"event_feed", "create_sync_diff", "compact_syncs"}
# An empty message of these kinds lacks a required field: finished non-retryable with upstream's text.
MALFORMED = {
    "grant": "malformed grant task",
    "revoke": "malformed revoke task",
    "create_account": "malformed create account task",
    "create_resource": "malformed create resource task",
    "delete_resource": "malformed delete resource task",
    "rotate_credentials": "malformed rotate credentials task",
    "issue_credential": "malformed issue credential task",
    "create_ticket_task": "malformed create ticket task",
    "get_ticket": "malformed get ticket task",
    "bulk_create_tickets": "malformed bulk create ticket task",
    "bulk_get_tickets": "malformed bulk get tickets task",
    "action_get_schema": "action name required",
    "action_invoke": "action name required",
    "action_status": "action id required",
}
# These need nothing from the task: the demo answers them from its state.
NO_REQUIRED_FIELD = {"list_ticket_schemas", "action_list_schemas", "list_event_feeds", "list_events"}


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
    elif kind in MALFORMED:
        assert isinstance(result, Failure) and result.non_retryable
        assert (result.code, result.message) == (int(StatusCode.UNKNOWN), MALFORMED[kind])
    elif kind in NO_REQUIRED_FIELD:
        assert isinstance(result, Success) and result.response is not None, result
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
