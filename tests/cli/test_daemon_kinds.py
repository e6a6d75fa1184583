"""Every task kind through a real `baton run` of the demo against the emulator over TLS.

Run once per polling mode (GetTask, and GetTasks batches). The daemon takes one
task at a time (``--task-concurrency 1``), so tasks that build on each other
(create a ticket, then get it; start an action, then ask its status) run in
queue order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest

from baton_cli.emulator import service_task_builders as sb
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import (
    action_pb2,
    annotation_etag_pb2,
    event_feed_pb2,
    resource_pb2,
    ticket_pb2,
)
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2
from tests.cli.daemon_support import POLLING_MODES, annotations_of, emulator, response_of, run_daemon

__all__ = ["emulator"]

Task = baton_pb2.Task


def ticket(
    name: str, schema_id: str = "", priority: str = ""
) -> tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema | None]:
    request = ticket_pb2.TicketRequest(display_name=name)
    if priority:
        request.custom_fields["priority"].pick_string_value.value = priority
    schema = ticket_pb2.TicketSchema(id=schema_id) if schema_id else None
    return request, schema


@pytest.mark.parametrize("mode", sorted(POLLING_MODES))
def test_every_kind_end_to_end(emulator: EmulatorServer, tmp_path: Path, mode: str) -> None:
    identity = pyrage.x25519.Identity.generate()
    q = emulator.queue
    etag = sb.annotations_from(
        [_write(tmp_path / "etag.json", {"@type": _url(annotation_etag_pb2.ETag), "value": "e1"})]
    )
    ids = {
        "create_resource": q.enqueue(
            sb.create_resource_task("user", display_name="Zed Example", login="zed", email="zed@example.com")
        ),
        "issue": q.enqueue(
            sb.issue_credential_task("user:u0000001", age_recipients=[str(identity.to_public())])
        ),
        "grant": q.enqueue(tb.grant_task("group:g000001:member", "user:u0000049")),
        "schemas": q.enqueue(sb.list_ticket_schemas_task()),
        "create_ticket": q.enqueue(
            sb.create_ticket_task(*ticket("Access to prod", "access-request", "high"), etag)
        ),
        "get_ticket": q.enqueue(sb.get_ticket_task("TCK-0001", etag)),
        "missing_ticket": q.enqueue(sb.get_ticket_task("TCK-9999", etag)),
        "bulk_create": q.enqueue(
            sb.bulk_create_tickets_task(
                [ticket("Outage", "incident"), ticket("No priority", "access-request")]
            )
        ),
        "bulk_get": q.enqueue(sb.bulk_get_tickets_task(["TCK-0002", "TCK-0404"])),
        "action_schemas": q.enqueue(sb.action_list_schemas_task()),
        "action_schema": q.enqueue(sb.action_get_schema_task("greet")),
        "greet": q.enqueue(sb.action_invoke_task("greet", '{"name": "Ada"}')),
        "fail": q.enqueue(sb.action_invoke_task("fail", '{"reason": "the demo said no"}')),
        "export": q.enqueue(sb.action_invoke_task("export", '{"steps": 2}')),
        "status_1": q.enqueue(sb.action_status_task("act000001")),
        "status_2": q.enqueue(sb.action_status_task("act000001")),
        "feeds": q.enqueue(sb.list_event_feeds_task()),
        "events": q.enqueue(sb.list_events_task("provisioning", page_size=2)),
        "hello": q.enqueue(tb.hello_task()),
        "diff": q.enqueue(sb.create_sync_diff_task("a", "b")),
        "compact": q.enqueue(sb.compact_syncs_task(["x.c1z:s1"])),
        "event_feed": q.enqueue(sb.event_feed_task()),
        # Malformed: each lacks a field upstream requires.
        "no_ticket_request": q.enqueue(Task(create_ticket_task=Task.CreateTicketTask())),
        "no_action_name": q.enqueue(Task(action_invoke=Task.ActionInvokeTask())),
        "no_encryption": q.enqueue(
            Task(
                issue_credential=Task.IssueCredentialTask(
                    identity_id=resource_pb2.ResourceId(resource_type="user", resource="u0000001"),
                    credential_options=resource_pb2.CredentialIssueOptions(
                        api_key=resource_pb2.CredentialIssueOptions.ApiKey()
                    ),
                )
            )
        ),
    }
    result = run_daemon(emulator, tmp_path, "--task-concurrency", "1", env=POLLING_MODES[mode])
    assert result.returncode == 0, result.stderr
    state = {name: q.get(task_id) for name, task_id in ids.items()}

    def ok(name: str) -> None:
        assert state[name].state == "done", (name, state[name].status_message)

    def failed(name: str, code: int, message: str, *, non_retryable: bool) -> None:
        record = state[name]
        assert (record.state, record.status_code, record.non_retryable) == ("failed", code, non_retryable), (
            name,
            record,
        )
        # A non-retryable failure's text ends with upstream's marker line (runner.md §5).
        marker = "\ntask failed and is non-retryable" if non_retryable else ""
        assert record.status_message == message + marker

    ok("create_resource")
    created = response_of(emulator, ids["create_resource"], resource_pb2.CreateResourceResponse())
    assert (created.created.id.resource_type, created.created.id.resource, created.created.display_name) == (
        "user",
        "u0000050",
        "Zed Example",
    )

    ok("issue")
    issued = response_of(emulator, ids["issue"], resource_pb2.IssueCredentialResponse())
    [secret] = issued.encrypted_data
    assert pyrage.decrypt(secret.encrypted_bytes, [identity]).startswith(b"demo_")
    assert issued.request_id == ids["issue"]
    assert issued.resource_mode == resource_pb2.CREDENTIAL_RESOURCE_MODE_VIRTUAL

    ok("schemas")
    schemas = response_of(emulator, ids["schemas"], ticket_pb2.TicketsServiceListTicketSchemasResponse())
    assert [s.id for s in schemas.list] == ["access-request", "incident"]
    assert not annotations_of(emulator, ids["schemas"])

    ok("create_ticket")
    made = response_of(emulator, ids["create_ticket"], ticket_pb2.TicketsServiceCreateTicketResponse())
    assert (made.ticket.id, made.ticket.status.id) == ("TCK-0001", "open")
    assert made.ticket.custom_fields["priority"].pick_string_value.value == "high"
    assert list(made.annotations) == etag and annotations_of(emulator, ids["create_ticket"]) == etag

    ok("get_ticket")
    got = response_of(emulator, ids["get_ticket"], ticket_pb2.TicketsServiceGetTicketResponse())
    assert (got.ticket.id, got.ticket.display_name) == ("TCK-0001", "Access to prod")
    assert annotations_of(emulator, ids["get_ticket"]) == etag
    failed("missing_ticket", 2, "connector returned empty ticket", non_retryable=True)
    assert annotations_of(emulator, ids["missing_ticket"]) == etag

    ok("bulk_create")
    bulk = response_of(emulator, ids["bulk_create"], ticket_pb2.TicketsServiceBulkCreateTicketsResponse())
    assert [(t.ticket.id, t.error) for t in bulk.tickets] == [
        ("TCK-0002", ""),
        ("", "demo: ticket field 'priority' is required by schema 'access-request'"),
    ]
    ok("bulk_get")
    fetched = response_of(emulator, ids["bulk_get"], ticket_pb2.TicketsServiceBulkGetTicketsResponse())
    assert [(t.ticket.id, t.error) for t in fetched.tickets] == [
        ("TCK-0002", ""),
        ("", "ticket 'TCK-0404' not found"),
    ]

    ok("action_schemas")
    listed = response_of(emulator, ids["action_schemas"], action_pb2.ListActionSchemasResponse())
    assert [s.name for s in listed.schemas] == ["greet", "fail", "export"]
    one = response_of(emulator, ids["action_schema"], action_pb2.GetActionSchemaResponse())
    assert [a.name for a in one.schema.arguments] == ["name"]
    greeting = response_of(emulator, ids["greet"], action_pb2.InvokeActionResponse())
    assert greeting.status == action_pb2.BATON_ACTION_STATUS_COMPLETE
    assert greeting.response["greeting"] == "Hello, Ada!"
    # A FAILED action finishes the task as an error with the action's own text, retryable, no response.
    failed("fail", 2, "the demo said no", non_retryable=False)
    assert q.result(ids["fail"]).response == b""
    started = response_of(emulator, ids["export"], action_pb2.InvokeActionResponse())
    assert (started.id, started.status) == ("act000001", action_pb2.BATON_ACTION_STATUS_RUNNING)
    first = response_of(emulator, ids["status_1"], action_pb2.GetActionStatusResponse())
    assert (first.status, first.response["progress"]) == (action_pb2.BATON_ACTION_STATUS_RUNNING, "1/2")
    second = response_of(emulator, ids["status_2"], action_pb2.GetActionStatusResponse())
    assert second.status == action_pb2.BATON_ACTION_STATUS_COMPLETE and second.response["exported"] == 50

    feeds = response_of(emulator, ids["feeds"], event_feed_pb2.ListEventFeedsResponse())
    assert [f.id for f in feeds.list] == ["provisioning"]
    events = response_of(emulator, ids["events"], event_feed_pb2.ListEventsResponse())
    # The first two changes made above: the created user, then the issued key's user.
    assert [e.resource_change_event.resource_id.resource for e in events.events] == ["u0000050", "u0000001"]
    assert events.has_more and events.cursor == "pos:2"

    ok("hello")
    for name, kind in (
        ("diff", "create_sync_diff"),
        ("compact", "compact_syncs"),
        ("event_feed", "event_feed"),
    ):
        failed(name, 2, f"unsupported task type: {kind}", non_retryable=False)
    failed("no_ticket_request", 2, "malformed create ticket task", non_retryable=True)
    failed("no_action_name", 2, "action name required", non_retryable=True)
    failed("no_encryption", 2, "malformed issue credential task", non_retryable=True)

    # The grant shows up in the demo's event feed after the two resource changes.
    saved = json.loads((tmp_path / "state.json").read_text())
    assert [e["kind"] for e in saved["events"]] == ["change", "change", "grant"]


def _url(message: type) -> str:
    return f"type.googleapis.com/{message.DESCRIPTOR.full_name}"  # type: ignore[attr-defined]


def _write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path
