"""`baton emulator enqueue` for the ticket, action, event, resource and credential kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from baton_cli.emulator.queue import TaskQueue
from tests.emulator.test_tasks_cli import data_dir, invoke, root

__all__ = ["data_dir", "root"]

RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


def _files(tmp_path: Path) -> dict[str, str]:
    ticket = tmp_path / "ticket.json"
    ticket.write_text(
        json.dumps(
            {"displayName": "Prod", "customFields": {"priority": {"pickStringValue": {"value": "high"}}}}
        )
    )
    template = tmp_path / "template.json"
    template.write_text(json.dumps({"schema_id": "incident", "display_name": "Down", "labels": ["a"]}))
    annotation = tmp_path / "etag.json"
    annotation.write_text(json.dumps({"@type": "type.googleapis.com/c1.connector.v2.ETag", "value": "e1"}))
    return {"ticket": str(ticket), "template": str(template), "annotation": str(annotation)}


CASES: list[tuple[str, list[str]]] = [
    ("create_resource", ["create-resource", "-t", "user", "--display-name", "Zed", "--login", "zed"]),
    (
        "issue_credential",
        ["issue-credential", "--identity", "user:u1", "--scope", "read", "--age-recipient", RECIPIENT],
    ),
    (
        "create_ticket_task",
        ["create-ticket", "--ticket-json", "{ticket}", "--annotation-json", "{annotation}"],
    ),
    ("create_ticket_task", ["create-ticket", "--template", "{template}"]),
    (
        "bulk_create_tickets",
        ["bulk-create-tickets", "--ticket-json", "{ticket}", "--ticket-json", "{ticket}"],
    ),
    ("list_ticket_schemas", ["list-ticket-schemas"]),
    ("get_ticket", ["get-ticket", "--ticket-id", "TCK-0001"]),
    ("bulk_get_tickets", ["bulk-get-tickets", "--ticket-id", "a", "--ticket-id", "b"]),
    ("action_list_schemas", ["action-list-schemas", "-t", "user"]),
    ("action_get_schema", ["action-get-schema", "--name", "greet"]),
    ("action_invoke", ["action-invoke", "--name", "greet", "--args", '{"name": "Ada"}']),
    ("action_status", ["action-status", "--id", "act000001"]),
    ("list_event_feeds", ["list-event-feeds"]),
    (
        "list_events",
        ["list-events", "--feed-id", "f", "--start-at", "2026-01-02T03:04:05Z", "--page-size", "10"],
    ),
    ("event_feed", ["event-feed"]),
    ("create_sync_diff", ["create-sync-diff", "--base-sync-id", "a", "--new-sync-id", "b"]),
    ("compact_syncs", ["compact-syncs", "--sync", "x.c1z:s1"]),
]


@pytest.mark.parametrize(("kind", "args"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_every_kind_can_be_enqueued(
    root: typer.Typer, data_dir: Path, tmp_path: Path, kind: str, args: list[str]
) -> None:
    files = _files(tmp_path)
    filled = [files[a[1:-1]] if a.startswith("{") and a[1:-1] in files else a for a in args]
    task_id = invoke(root, data_dir, "enqueue", *filled).output.strip()
    with TaskQueue.open(data_dir) as queue:
        message = queue.task_message(task_id)
    assert message.WhichOneof("task_type") == kind


def test_enqueued_ticket_action_and_event_fields(root: typer.Typer, data_dir: Path, tmp_path: Path) -> None:
    files = _files(tmp_path)
    ticket_id = invoke(
        root,
        data_dir,
        "enqueue",
        "create-ticket",
        "--ticket-json",
        files["ticket"],
        "--annotation-json",
        files["annotation"],
    ).output.strip()
    invoke_id = invoke(
        root, data_dir, "enqueue", "action-invoke", "--name", "export", "--args", '{"steps": 2}'
    ).output.strip()
    events_id = invoke(
        root,
        data_dir,
        "enqueue",
        "list-events",
        "--start-at",
        "2026-01-02T03:04:05+01:00",
        "--cursor",
        "pos:3",
    ).output.strip()
    issue_id = invoke(
        root,
        data_dir,
        "enqueue",
        "issue-credential",
        "--identity",
        "user:u1",
        "--kind",
        "token",
        "--age-recipient",
        RECIPIENT,
    ).output.strip()
    with TaskQueue.open(data_dir) as queue:
        ticket = queue.task_message(ticket_id).create_ticket_task
        invoked = queue.task_message(invoke_id).action_invoke
        events = queue.task_message(events_id).list_events
        issue = queue.task_message(issue_id).issue_credential
    assert ticket.ticket_request.custom_fields["priority"].pick_string_value.value == "high"
    assert [a.type_url for a in ticket.annotations] == ["type.googleapis.com/c1.connector.v2.ETag"]
    assert (invoked.name, invoked.args["steps"]) == ("export", 2)
    assert (events.start_at.seconds, events.cursor) == (1767319445, "pos:3")
    assert issue.credential_options.WhichOneof("options") == "token"
    assert [c.age_recipient_config.recipient for c in issue.encryption_configs] == [RECIPIENT]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["action-invoke", "--name", "x", "--args", "[1]"], "--args: expected a JSON object, got list"),
        (["action-invoke", "--name", "x", "--args", "{"], "--args: not valid JSON"),
        (["list-events", "--start-at", "yesterday"], "--start-at: expected an RFC 3339 time"),
        (["list-events", "--page-size", "1001"], "--page-size: expected 0..1000, got 1001"),
        (["issue-credential", "--identity", "user:u1", "--kind", "password"], "--kind: expected one of"),
        (["issue-credential", "--identity", "nocolon"], "--identity: expected TYPE:ID"),
        (["create-ticket"], "give exactly one of --ticket-json and --template"),
        (["create-ticket", "--ticket-json", "/nonexistent/t.json"], "--ticket-json: file not found"),
        (["get-ticket", "--ticket-id", " "], "--ticket-id: a ticket id cannot be empty"),
        (["compact-syncs", "--sync", "nofile"], "--sync: expected FILE:SYNC_ID"),
    ],
)
def test_bad_values_are_one_line_naming_the_flag(
    root: typer.Typer, data_dir: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(root, ["emulator", "enqueue", *args, "--data-dir", str(data_dir)])
    assert result.exit_code != 0
    assert message in str(result.exception), result.exception
    with TaskQueue.open(data_dir) as queue:
        assert queue.tasks() == []  # nothing half-made was queued
