"""Tickets, actions, event feeds and the provisioning kinds through a connector child.

The stand-in serves the demo's ticket system, actions and event feed over upstream's
``TicketsService``, ``ActionService`` and ``EventService``, and issues credentials sealed in the
child; the runner only forwards. Checked with real processes: one `baton run` daemon against the
emulator with every such task kind, and the one-shot commands.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
from google.protobuf.any_pb2 import Any as AnyPb

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
from tests.child.support import run_child_daemon
from tests.cli.daemon_support import annotations_of, emulator, response_of
from tests.cli.invoke import baton_here

__all__ = ["emulator"]

Task = baton_pb2.Task


def _etag(value: str) -> AnyPb:
    packed = AnyPb()
    packed.Pack(annotation_etag_pb2.ETag(value=value))
    return packed


def _ticket(
    name: str, schema_id: str, priority: str = ""
) -> tuple[ticket_pb2.TicketRequest, ticket_pb2.TicketSchema]:
    request = ticket_pb2.TicketRequest(display_name=name)
    if priority:
        request.custom_fields["priority"].pick_string_value.value = priority
    return request, ticket_pb2.TicketSchema(id=schema_id)


def _with_annotations(task: Task, annotations: list[AnyPb]) -> Task:
    task.action_invoke.annotations.extend(annotations)
    return task


def test_daemon_serves_every_service_kind_through_the_child(
    standin: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    identity = pyrage.x25519.Identity.generate()
    q = emulator.queue
    mine = [_etag("task")]
    ids = {
        "create_resource": q.enqueue(
            sb.create_resource_task("user", display_name="Zed Example", login="zed", email="zed@example.com")
        ),
        "issue": q.enqueue(
            sb.issue_credential_task("user:u0000001", age_recipients=[str(identity.to_public())])
        ),
        "schemas": q.enqueue(sb.list_ticket_schemas_task()),
        "create_ticket": q.enqueue(
            sb.create_ticket_task(*_ticket("Access to prod", "access-request", "high"), mine)
        ),
        "get_ticket": q.enqueue(sb.get_ticket_task("TCK-0001", mine)),
        "missing_ticket": q.enqueue(sb.get_ticket_task("TCK-9999", mine)),
        "bulk_create": q.enqueue(
            sb.bulk_create_tickets_task(
                [_ticket("Outage", "incident"), _ticket("No priority", "access-request")]
            )
        ),
        "bulk_get": q.enqueue(sb.bulk_get_tickets_task(["TCK-0002", "TCK-0404"])),
        "action_schemas": q.enqueue(sb.action_list_schemas_task()),
        "action_schema": q.enqueue(sb.action_get_schema_task("greet")),
        "greet": q.enqueue(_with_annotations(sb.action_invoke_task("greet", '{"name": "Ada"}'), mine)),
        "fail": q.enqueue(sb.action_invoke_task("fail", '{"reason": "the child said no"}')),
        "export": q.enqueue(sb.action_invoke_task("export", '{"steps": 2}')),
        "status": q.enqueue(sb.action_status_task("act000001")),
        "feeds": q.enqueue(sb.list_event_feeds_task()),
        "events": q.enqueue(sb.list_events_task("provisioning", page_size=2)),
        "grant": q.enqueue(tb.grant_task("group:g000001:member", "user:u0000049")),
        "revoke": q.enqueue(tb.revoke_task("group:g000001:member", "user:u0000049")),
        "delete": q.enqueue(tb.delete_resource_task("user:u0000002")),
    }
    result = run_child_daemon(
        emulator, tmp_path, standin, "--exit-when-idle", "--provisioning", "--ticketing",
        "--task-concurrency", "1", "--log-level", "debug", "--log-format", "json",
        child_args=("--state-file", str(tmp_path / "state.json")),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    state = {name: q.get(task_id) for name, task_id in ids.items()}
    for name in set(ids) - {"missing_ticket", "fail"}:
        assert state[name].state == "done", (name, state[name].status_message)

    created = response_of(emulator, ids["create_resource"], resource_pb2.CreateResourceResponse())
    assert (created.created.id.resource, created.created.display_name) == ("u0000050", "Zed Example")

    issued = response_of(emulator, ids["issue"], resource_pb2.IssueCredentialResponse())
    [secret] = issued.encrypted_data
    key = pyrage.decrypt(secret.encrypted_bytes, [identity])
    assert key.startswith(b"demo_") and key.decode() not in result.stdout + result.stderr
    assert (issued.request_id, issued.resource_mode) == (
        ids["issue"],
        resource_pb2.CREDENTIAL_RESOURCE_MODE_VIRTUAL,
    )
    assert "issued credential" in result.stderr  # sealed by the child, not by us

    schemas = response_of(emulator, ids["schemas"], ticket_pb2.TicketsServiceListTicketSchemasResponse())
    assert [s.id for s in schemas.list] == ["access-request", "incident"]

    # The child's own annotations come first, then the task's (runner.md §4, merged).
    made = response_of(emulator, ids["create_ticket"], ticket_pb2.TicketsServiceCreateTicketResponse())
    assert (made.ticket.id, made.ticket.custom_fields["priority"].pick_string_value.value) == (
        "TCK-0001",
        "high",
    )
    assert list(made.annotations) == [_etag("standin-created"), *mine]
    assert annotations_of(emulator, ids["create_ticket"]) == [_etag("standin-created"), *mine]
    got = response_of(emulator, ids["get_ticket"], ticket_pb2.TicketsServiceGetTicketResponse())
    assert (got.ticket.display_name, list(got.annotations)) == (
        "Access to prod",
        [_etag("standin-got"), *mine],
    )
    missing = state["missing_ticket"]
    assert (missing.state, missing.status_message, missing.non_retryable) == (
        "failed",
        "connector returned empty ticket\ntask failed and is non-retryable",
        True,
    )

    bulk = response_of(emulator, ids["bulk_create"], ticket_pb2.TicketsServiceBulkCreateTicketsResponse())
    assert [(t.ticket.id, t.error) for t in bulk.tickets] == [
        ("TCK-0002", ""),
        ("", "demo: ticket field 'priority' is required by schema 'access-request'"),
    ]
    fetched = response_of(emulator, ids["bulk_get"], ticket_pb2.TicketsServiceBulkGetTicketsResponse())
    assert [(t.ticket.id, t.error) for t in fetched.tickets] == [
        ("TCK-0002", ""),
        ("", "ticket 'TCK-0404' not found"),
    ]

    listed = response_of(emulator, ids["action_schemas"], action_pb2.ListActionSchemasResponse())
    assert [s.name for s in listed.schemas] == ["greet", "fail", "export"]
    one = response_of(emulator, ids["action_schema"], action_pb2.GetActionSchemaResponse())
    assert [a.name for a in one.schema.arguments] == ["name"]
    greeting = response_of(emulator, ids["greet"], action_pb2.InvokeActionResponse())
    assert greeting.response["greeting"] == "Hello, Ada!"
    assert (
        "invoking action action=greet annotations=1" in result.stderr
    )  # the task's annotation reached the child
    failed = state["fail"]
    assert (failed.state, failed.status_message, failed.non_retryable) == (
        "failed",
        "the child said no",
        False,
    )
    started = response_of(emulator, ids["export"], action_pb2.InvokeActionResponse())
    assert (started.id, started.status) == ("act000001", action_pb2.BATON_ACTION_STATUS_RUNNING)
    status = response_of(emulator, ids["status"], action_pb2.GetActionStatusResponse())
    assert (status.status, status.response["progress"]) == (action_pb2.BATON_ACTION_STATUS_RUNNING, "1/2")

    feeds = response_of(emulator, ids["feeds"], event_feed_pb2.ListEventFeedsResponse())
    assert [f.id for f in feeds.list] == ["provisioning"]
    events = response_of(emulator, ids["events"], event_feed_pb2.ListEventsResponse())
    # The changes made above, in the child's own state file: the created user, the issued key's user.
    assert [e.resource_change_event.resource_id.resource for e in events.events] == ["u0000050", "u0000001"]
    # Listed before the grant, revoke and delete that follow it: two changes so far.
    assert (events.cursor, events.has_more) == ("pos:2", False)

    # The child changed its own state: a grant, its revocation, a deleted user.
    saved = json.loads((tmp_path / "state.json").read_text())
    assert [e["kind"] for e in saved["events"]][2:] == ["grant", "revoke", "change"]
    assert saved["deleted"] == ["user:u0000002"] and saved["granted"] == []


def _one_shot(tmp_path: Path, standin: Path, *args: str) -> dict[str, object]:
    result = baton_here(
        *args, "--plugin", f"exec:{standin}", "-o", "json",
        "--", "--state-file", str(tmp_path / "state.json"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body: dict[str, object] = json.loads(result.stdout)
    return body


def test_one_shot_service_commands_through_the_child(standin: Path, tmp_path: Path) -> None:
    template = tmp_path / "ticket.json"
    template.write_text(json.dumps({"schema_id": "incident", "display_name": "Printer on fire"}))
    # The child refuses tickets without --ticketing: the one-shot command must pass it on.
    made = _one_shot(tmp_path, standin, "tickets", "create", "--template", str(template))
    assert made["ticket"]["id"] == "TCK-0001"  # type: ignore[index]
    got = _one_shot(tmp_path, standin, "tickets", "get", "TCK-0001")
    assert got["ticket"]["displayName"] == "Printer on fire"  # type: ignore[index]
    greeting = _one_shot(tmp_path, standin, "actions", "invoke", "greet", "--args", '{"name": "Bo"}')
    assert greeting["response"] == {"greeting": "Hello, Bo!"}
    identity = pyrage.x25519.Identity.generate()
    issued = _one_shot(
        tmp_path, standin, "issue-credential", "--identity", "user:u0000002", "--kind", "api_key",
        "--age-recipient", str(identity.to_public()),
    )  # fmt: skip
    [sealed] = issued["encryptedData"]  # type: ignore[misc]
    assert pyrage.decrypt(base64.b64decode(sealed["encryptedBytes"]), [identity]).startswith(b"demo_")
    events = _one_shot(tmp_path, standin, "events", "list", "--feed-id", "provisioning")
    assert [e["resourceChangeEvent"]["resourceId"]["resource"] for e in events["events"]] == ["u0000002"]  # type: ignore[index,union-attr]


def test_capabilities_through_the_child_are_the_in_process_ones(standin: Path, tmp_path: Path) -> None:
    """What the child reports becomes our Protocols (per type and connector-wide), and those give
    back exactly the capabilities the same connector has in-process."""
    bridged = baton_here("capabilities", "--plugin", f"exec:{standin}", cwd=tmp_path)
    direct = baton_here("capabilities", "--plugin", "demo", cwd=tmp_path)
    assert bridged.returncode == direct.returncode == 0, bridged.stderr + direct.stderr
    assert json.loads(bridged.stdout) == json.loads(direct.stdout)
    assert "CAPABILITY_CREDENTIAL_ISSUE" in json.loads(bridged.stdout)["connectorCapabilities"]
    # The whole metadata too: one ExternalTicketSettings, not the child's plus ours.
    bridged = baton_here("capabilities", "--metadata", "--plugin", f"exec:{standin}", cwd=tmp_path)
    direct = baton_here("capabilities", "--metadata", "--plugin", "demo", cwd=tmp_path)
    assert bridged.returncode == direct.returncode == 0, bridged.stderr + direct.stderr
    assert json.loads(bridged.stdout) == json.loads(direct.stdout)


def test_upstream_root_flags_run_through_the_child(standin: Path, tmp_path: Path) -> None:
    """`baton --plugin exec:X --list-ticket-schemas` as one would run the Go binary itself."""
    state = str(tmp_path / "state.json")
    schemas = baton_here(
        "--plugin", f"exec:{standin}", "--list-ticket-schemas", "-o", "json", "--", "--state-file", state,
        cwd=tmp_path,
    )  # fmt: skip
    assert schemas.returncode == 0, schemas.stderr
    assert [s["id"] for s in json.loads(schemas.stdout)["list"]] == ["access-request", "incident"]
    invoked = baton_here(
        "--plugin", f"exec:{standin}", "--invoke-action", "greet", "--invoke-action-args", '{"name": "Cy"}',
        "-o", "json", "--", "--state-file", state,
        cwd=tmp_path,
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["response"] == {"greeting": "Hello, Cy!"}
    synced = baton_here("--plugin", f"exec:{standin}", "--file", "f.c1z", "--", "--users", "3", cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert (tmp_path / "f.c1z").is_file()
