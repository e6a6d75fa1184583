"""The demo's ticket system, actions and event feed keep their state in the state file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from baton_cli.connector.demo.connector import DemoConnector
from baton_cli.errors import ConnectorError, NotFoundError, UsageError
from baton_cli.pb.c1.connector.v2 import action_pb2, ticket_pb2

from .conftest import MakeDemo


def demo(make_demo: MakeDemo) -> DemoConnector:
    connector = make_demo(state=True)
    assert isinstance(connector, DemoConnector)
    return connector


def test_a_state_file_from_before_tickets_still_loads(make_demo: MakeDemo, state_file: Path) -> None:
    old = {
        "version": 1,
        "sizes": None,
        "next_user": None,
        "created_users": [],
        "deleted": [],
        "revoked": [],
        "granted": [],
    }
    state_file.write_text(json.dumps(old))
    connector = demo(make_demo)
    assert connector.get_ticket("TCK-0001") is None
    assert connector.list_events("", None, "", 0).events == []


def test_a_bad_tickets_entry_names_the_key(make_demo: MakeDemo, state_file: Path) -> None:
    state_file.write_text(json.dumps({"version": 1, "tickets": {"a": 1}}))
    with pytest.raises(ConnectorError, match="'tickets' must be a JSON list of objects"):
        demo(make_demo).get_ticket("x")


def test_tickets_and_action_progress_survive_a_new_process(make_demo: MakeDemo) -> None:
    first = demo(make_demo)
    request = ticket_pb2.TicketRequest(display_name="Outage")
    made = first.create_ticket(request, ticket_pb2.TicketSchema(id="incident"))
    started = first.invoke_action("export", {"steps": 2.0}, "")
    second = demo(make_demo)  # another connector on the same file, as another `baton` process
    got = second.get_ticket(made.id)
    assert got is not None and (got.display_name, got.status.id, got.type.id) == (
        "Outage",
        "open",
        "incident",
    )
    assert second.action_status(started.id).status == action_pb2.BATON_ACTION_STATUS_RUNNING
    assert first.action_status(started.id).status == action_pb2.BATON_ACTION_STATUS_COMPLETE


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("access-request", {}, "ticket field 'priority' is required"),
        ("access-request", {"priority": "urgent"}, "must be one of low, medium, high"),
        ("nope", {}, "no ticket schema 'nope'"),
    ],
)
def test_ticket_checks(make_demo: MakeDemo, name: str, fields: dict[str, str], message: str) -> None:
    request = ticket_pb2.TicketRequest(display_name="x")
    for key, value in fields.items():
        request.custom_fields[key].pick_string_value.value = value
    with pytest.raises(UsageError, match=message):
        demo(make_demo).create_ticket(request, ticket_pb2.TicketSchema(id=name))


def test_action_checks(make_demo: MakeDemo) -> None:
    connector = demo(make_demo)
    with pytest.raises(NotFoundError, match="no action 'nope'"):
        connector.invoke_action("nope", {}, "")
    with pytest.raises(UsageError, match=r"'steps' must be 1\.\.100"):
        connector.invoke_action("export", {"steps": 0.0}, "")
    with pytest.raises(UsageError, match="greet needs a 'name'"):
        connector.invoke_action("greet", {}, "")
    with pytest.raises(NotFoundError, match="no action with id 'act9'"):
        connector.action_status("act9")


def test_the_event_feed_follows_grants_revokes_and_start_at(make_demo: MakeDemo) -> None:
    from baton_cli.connector.api import Entitlement, Grant, Resource, ResourceId

    connector = demo(make_demo)
    group = next(s for s in connector.resource_syncers() if s.resource_type.id == "group")
    principal = Resource(id=ResourceId(resource_type="user", resource="u0000049"))
    entitlement = Entitlement(id="group:g000001:member")
    [grant] = group.grant(principal, entitlement)  # type: ignore[attr-defined]
    group.revoke(Grant(id=grant.id))  # type: ignore[attr-defined]
    page = connector.list_events("provisioning", None, "", 1)
    assert page.has_more and page.events[0].create_grant_event.principal.id.resource == "u0000049"
    rest = connector.list_events("provisioning", None, page.cursor, 0)
    assert not rest.has_more and rest.events[0].create_revoke_event.entitlement.id == "group:g000001:member"
    later = datetime.now(UTC) + timedelta(hours=1)
    assert connector.list_events("provisioning", later, "", 0).events == []
    with pytest.raises(NotFoundError, match="no event feed 'other'"):
        connector.list_events("other", None, "", 0)
