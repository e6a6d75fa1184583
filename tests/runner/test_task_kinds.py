"""Ticket, action, event and issue-credential handlers against small fake connectors (runner.md §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyrage  # type: ignore[import-untyped]
import pytest
from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import Message

from baton_cli.connector.api import (
    Credential,
    CredentialIssueDetails,
    IssuedCredential,
    IssueRequest,
    Page,
)
from baton_cli.connector.capabilities import connector_metadata_with_capabilities
from baton_cli.connector.services import EventPage
from baton_cli.core.handlers import handle_task
from baton_cli.core.task_source import Failure, Success, Task
from baton_cli.errors import BatonError, ConnectorError, StatusCode
from baton_cli.pb.c1.connector.v2 import (
    action_pb2,
    annotation_etag_pb2,
    connector_pb2,
    event_feed_pb2,
    resource_pb2,
    ticket_pb2,
)

from .fakes import FakeConnector, PlainSyncer, context


def packed(message: Message) -> AnyPb:
    value = AnyPb()
    value.Pack(message)
    return value


def unpack(outcome: object, message: Message) -> Message:
    assert isinstance(outcome, Success) and outcome.response is not None, outcome
    assert outcome.response.Unpack(message), outcome.response.type_url
    return message


class Tickets(FakeConnector):
    def __init__(self, schemas: int = 2, page: int = 50, *, bulk_extra: int | None = None) -> None:
        super().__init__(PlainSyncer("user"))
        self.schemas = [ticket_pb2.TicketSchema(id=f"s{i}") for i in range(schemas)]
        self.page = page
        self.tokens: list[str] = []
        self.created: list[ticket_pb2.TicketRequest] = []

    def list_ticket_schemas(self, page_token: str) -> Page[ticket_pb2.TicketSchema]:
        self.tokens.append(page_token)
        start = int(page_token or 0)
        end = start + self.page
        return Page(self.schemas[start:end], str(end) if end < len(self.schemas) else "")

    def create_ticket(
        self, request: ticket_pb2.TicketRequest, schema: ticket_pb2.TicketSchema | None
    ) -> ticket_pb2.Ticket:
        if request.display_name == "boom":
            raise BatonError("ticket system down", code=StatusCode.UNAVAILABLE)
        self.created.append(request)
        return ticket_pb2.Ticket(id=f"T{len(self.created)}", display_name=request.display_name)

    def get_ticket(self, ticket_id: str) -> ticket_pb2.Ticket | None:
        return ticket_pb2.Ticket(id=ticket_id) if ticket_id.startswith("T") else None


class BadBulk(Tickets):
    def bulk_create_tickets(self, requests: Sequence[Any]) -> Sequence[Any]:
        return []

    def bulk_get_tickets(self, ticket_ids: Sequence[str]) -> Sequence[Any]:
        return [ticket_pb2.TicketsServiceGetTicketResponse()] * (len(ticket_ids) + 1)


ETAG = packed(annotation_etag_pb2.ETag(value="e1"))


def create_ticket_task(name: str = "Access please") -> Task:
    return Task(
        create_ticket_task=Task.CreateTicketTask(
            ticket_request=ticket_pb2.TicketRequest(display_name=name), annotations=[ETAG]
        )
    )


def test_create_ticket_merges_the_task_annotations_into_the_response() -> None:
    outcome = handle_task(create_ticket_task(), context(Tickets()))
    response = unpack(outcome, ticket_pb2.TicketsServiceCreateTicketResponse())
    assert response.ticket.id == "T1"
    assert list(response.annotations) == [ETAG]
    assert isinstance(outcome, Success) and list(outcome.annotations) == [ETAG]


def test_a_failed_create_ticket_is_retryable_and_carries_the_task_annotations() -> None:
    outcome = handle_task(create_ticket_task("boom"), context(Tickets()))
    assert isinstance(outcome, Failure)
    assert (outcome.code, outcome.non_retryable) == (int(StatusCode.UNAVAILABLE), False)
    assert list(outcome.annotations) == [ETAG]


def test_a_connector_without_tickets_answers_unimplemented() -> None:
    outcome = handle_task(create_ticket_task(), context(FakeConnector()))
    assert isinstance(outcome, Failure) and outcome.code == int(StatusCode.UNIMPLEMENTED)
    assert outcome.message == "ticket manager not implemented" and not outcome.non_retryable


def test_list_ticket_schemas_pages_and_keeps_the_first_100() -> None:
    connector = Tickets(schemas=130, page=40)
    outcome = handle_task(Task(list_ticket_schemas=Task.ListTicketSchemasTask()), context(connector))
    response = unpack(outcome, ticket_pb2.TicketsServiceListTicketSchemasResponse())
    assert [s.id for s in response.list] == [f"s{i}" for i in range(100)]
    assert response.next_page_token == "" and connector.tokens == ["", "40", "80"]
    assert isinstance(outcome, Success) and not outcome.annotations


def test_zero_ticket_schemas_is_a_retryable_error() -> None:
    outcome = handle_task(Task(list_ticket_schemas=Task.ListTicketSchemasTask()), context(Tickets(0)))
    assert outcome == Failure(int(StatusCode.UNKNOWN), "connector returned no ticket schemas")


def test_a_page_token_that_never_changes_stops_the_listing() -> None:
    class Stuck(Tickets):
        def list_ticket_schemas(self, page_token: str) -> Page[ticket_pb2.TicketSchema]:
            return Page([ticket_pb2.TicketSchema(id="x")], "same")

    outcome = handle_task(Task(list_ticket_schemas=Task.ListTicketSchemasTask()), context(Stuck()))
    assert isinstance(outcome, Failure) and outcome.code == int(StatusCode.INTERNAL)


def test_get_ticket_and_an_empty_ticket() -> None:
    task = Task(get_ticket=Task.GetTicketTask(ticket_id="T7", annotations=[ETAG]))
    response = unpack(handle_task(task, context(Tickets())), ticket_pb2.TicketsServiceGetTicketResponse())
    assert response.ticket.id == "T7" and list(response.annotations) == [ETAG]
    missing = Task(get_ticket=Task.GetTicketTask(ticket_id="nope", annotations=[ETAG]))
    outcome = handle_task(missing, context(Tickets()))
    assert outcome == Failure(
        int(StatusCode.UNKNOWN), "connector returned empty ticket", non_retryable=True, annotations=(ETAG,)
    )


def test_bulk_tickets_one_at_a_time_and_a_count_mismatch() -> None:
    requests = [create_ticket_task(name).create_ticket_task for name in ("a", "boom", "c")]
    task = Task(bulk_create_tickets=Task.BulkCreateTicketsTask(ticket_requests=requests))
    response = unpack(
        handle_task(task, context(Tickets())), ticket_pb2.TicketsServiceBulkCreateTicketsResponse()
    )
    assert [(t.ticket.id, t.error) for t in response.tickets] == [
        ("T1", ""),
        ("", "ticket system down"),
        ("T2", ""),
    ]
    mismatch = handle_task(task, context(BadBulk()))
    assert mismatch == Failure(
        int(StatusCode.UNKNOWN), "connector returned incorrect number of tickets", non_retryable=True
    )
    gets = Task(
        bulk_get_tickets=Task.BulkGetTicketsTask(ticket_requests=[Task.GetTicketTask(ticket_id="T1")])
    )
    got = unpack(handle_task(gets, context(Tickets())), ticket_pb2.TicketsServiceBulkGetTicketsResponse())
    assert [t.ticket.id for t in got.tickets] == ["T1"]
    assert isinstance(handle_task(gets, context(BadBulk())), Failure)


class Actions(FakeConnector):
    def list_action_schemas(self, resource_type_id: str) -> Sequence[action_pb2.BatonActionSchema]:
        return [action_pb2.BatonActionSchema(name="a", resource_type_id=resource_type_id)]

    def get_action_schema(self, name: str) -> action_pb2.BatonActionSchema:
        return action_pb2.BatonActionSchema(name=name)

    def invoke_action(
        self, name: str, args: Mapping[str, Any], resource_type_id: str
    ) -> action_pb2.InvokeActionResponse:
        status = (
            action_pb2.BATON_ACTION_STATUS_FAILED
            if name.startswith("fail")
            else action_pb2.BATON_ACTION_STATUS_COMPLETE
        )
        response = struct_pb2.Struct()
        response.update({"echo": dict(args), **({"error": "it broke"} if name == "fail-text" else {})})
        return action_pb2.InvokeActionResponse(id="1", name=name, status=status, response=response)

    def action_status(self, action_id: str) -> action_pb2.GetActionStatusResponse:
        return action_pb2.GetActionStatusResponse(id=action_id, status=action_pb2.BATON_ACTION_STATUS_RUNNING)


def invoke(name: str, args: dict[str, Any] | None = None) -> Task:
    struct = struct_pb2.Struct()
    struct.update(args or {})
    return Task(action_invoke=Task.ActionInvokeTask(name=name, args=struct))


def test_actions_round_trip() -> None:
    listed = Task(action_list_schemas=Task.ActionListSchemasTask(resource_type_id="user"))
    schemas = unpack(handle_task(listed, context(Actions())), action_pb2.ListActionSchemasResponse())
    assert [(s.name, s.resource_type_id) for s in schemas.schemas] == [("a", "user")]
    got = unpack(
        handle_task(Task(action_get_schema=Task.ActionGetSchemaTask(name="x")), context(Actions())),
        action_pb2.GetActionSchemaResponse(),
    )
    assert got.schema.name == "x"
    done = unpack(handle_task(invoke("ok", {"n": 1}), context(Actions())), action_pb2.InvokeActionResponse())
    assert done.status == action_pb2.BATON_ACTION_STATUS_COMPLETE and done.response["echo"]["n"] == 1
    status = unpack(
        handle_task(Task(action_status=Task.ActionStatusTask(id="42")), context(Actions())),
        action_pb2.GetActionStatusResponse(),
    )
    assert (status.id, status.status) == ("42", action_pb2.BATON_ACTION_STATUS_RUNNING)


def test_a_failed_action_finishes_the_task_as_an_error_with_its_text() -> None:
    assert handle_task(invoke("fail-text"), context(Actions())) == Failure(
        int(StatusCode.UNKNOWN), "it broke"
    )
    assert handle_task(invoke("fail"), context(Actions())) == Failure(
        int(StatusCode.UNKNOWN), "action failed"
    )


class Feeds(FakeConnector):
    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.error = error
        self.asked: list[tuple[str, datetime | None, str, int]] = []

    def list_event_feeds(self) -> Sequence[event_feed_pb2.EventFeedMetadata]:
        if self.error is not None:
            raise self.error
        return [event_feed_pb2.EventFeedMetadata(id="f")]

    def list_events(self, feed_id: str, start_at: datetime | None, cursor: str, page_size: int) -> EventPage:
        self.asked.append((feed_id, start_at, cursor, page_size))
        return EventPage([event_feed_pb2.Event(id="e1")], cursor="next", has_more=True)


def test_event_feeds_forward_feed_start_cursor_and_page_size() -> None:
    feeds = unpack(
        handle_task(Task(list_event_feeds=Task.ListEventFeedsTask()), context(Feeds())),
        event_feed_pb2.ListEventFeedsResponse(),
    )
    assert [f.id for f in feeds.list] == ["f"]
    connector = Feeds()
    start = timestamp_pb2.Timestamp(seconds=1_700_000_000)
    task = Task(list_events=Task.ListEventsTask(event_feed_id="f", start_at=start, cursor="c", page_size=5))
    page = unpack(handle_task(task, context(connector)), event_feed_pb2.ListEventsResponse())
    assert ([e.id for e in page.events], page.cursor, page.has_more) == (["e1"], "next", True)
    [(feed, start_at, cursor, size)] = connector.asked
    assert (feed, cursor, size) == ("f", "c", 5)
    assert start_at is not None and start_at.timestamp() == 1_700_000_000


def test_a_feed_error_is_finished_retryable_rather_than_left_unanswered() -> None:
    outcome = handle_task(
        Task(list_event_feeds=Task.ListEventFeedsTask()), context(Feeds(ConnectorError("x")))
    )
    assert isinstance(outcome, Failure) and not outcome.non_retryable and outcome.message == "x"


def test_page_size_over_1000_is_invalid() -> None:
    task = Task(list_events=Task.ListEventsTask(page_size=1001))
    outcome = handle_task(task, context(Feeds()))
    assert isinstance(outcome, Failure) and outcome.code == int(StatusCode.INVALID_ARGUMENT)


class Issuer(PlainSyncer):
    def __init__(self) -> None:
        super().__init__("user")
        self.requests: list[IssueRequest] = []

    def credential_issue_details(self) -> CredentialIssueDetails:
        api_key = connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_API_KEY
        return CredentialIssueDetails(
            options=[connector_pb2.CredentialIssueOptionDescriptor(option=api_key)], preferred_option=api_key
        )

    def issue_credential(self, request: IssueRequest) -> IssuedCredential:
        self.requests.append(request)
        return IssuedCredential([Credential("api_key", b"k-123")])


def issue_task(recipient: str) -> Task:
    return Task(
        id="TaskIdOfTwentySevenChars123",
        issue_credential=Task.IssueCredentialTask(
            identity_id=resource_pb2.ResourceId(resource_type="user", resource="u1"),
            credential_options=resource_pb2.CredentialIssueOptions(
                api_key=resource_pb2.CredentialIssueOptions.ApiKey()
            ),
            encryption_configs=[
                resource_pb2.EncryptionConfig(
                    provider="baton/age/v1",
                    age_recipient_config=resource_pb2.EncryptionConfig.AgeRecipientConfig(
                        recipient=recipient
                    ),
                )
            ],
        ),
    )


def test_issue_credential_encrypts_the_new_secret_and_uses_the_task_id_as_request_id() -> None:
    identity = pyrage.x25519.Identity.generate()
    issuer = Issuer()
    task = issue_task(str(identity.to_public()))
    outcome = handle_task(task, context(FakeConnector(issuer), task_id=task.id))
    response = unpack(outcome, resource_pb2.IssueCredentialResponse())
    [encrypted] = response.encrypted_data
    assert pyrage.decrypt(encrypted.encrypted_bytes, [identity]) == b"k-123"
    assert response.request_id == task.id and issuer.requests[0].request_id == task.id


def test_issue_credential_refuses_a_bad_key_before_calling_the_connector() -> None:
    issuer = Issuer()
    outcome = handle_task(issue_task("age1notakey"), context(FakeConnector(issuer)))
    assert isinstance(outcome, Failure) and outcome.non_retryable and not issuer.requests


def test_issuer_details_are_reported_per_type() -> None:
    metadata = connector_metadata_with_capabilities(FakeConnector(Issuer()))
    [entry] = metadata.capabilities.resource_type_capabilities
    assert connector_pb2.CAPABILITY_CREDENTIAL_ISSUE in entry.capabilities
    assert (
        entry.credential_issue.preferred_option == connector_pb2.CAPABILITY_DETAIL_CREDENTIAL_OPTION_API_KEY
    )


def test_issuer_details_need_a_deleter_for_their_secret_type() -> None:
    class Orphan(Issuer):
        def credential_issue_details(self) -> CredentialIssueDetails:
            details = super().credential_issue_details()
            details.options[0].secret_resource_type_id = "secret"
            return details

    with pytest.raises(ConnectorError, match="'secret' has no deleter"):
        connector_metadata_with_capabilities(FakeConnector(Orphan()))


def test_service_capabilities_are_connector_wide() -> None:
    names = connector_metadata_with_capabilities(Tickets()).capabilities.connector_capabilities
    assert connector_pb2.CAPABILITY_TICKETING in names
    assert (
        connector_pb2.CAPABILITY_ACTIONS
        in connector_metadata_with_capabilities(Actions()).capabilities.connector_capabilities
    )
    assert (
        connector_pb2.CAPABILITY_EVENT_FEED_V2
        in connector_metadata_with_capabilities(Feeds()).capabilities.connector_capabilities
    )


@pytest.mark.parametrize("ticketing", [False, True])
def test_hello_reports_whether_ticketing_is_on(ticketing: bool) -> None:
    from baton_cli.core.cancel import CancelToken
    from baton_cli.core.handlers.gate import Switches
    from baton_cli.core.runner import Runner, RunnerSettings
    from baton_cli.pb.c1.connector.v2.annotation_external_ticket_pb2 import ExternalTicketSettings

    from .fakes import FakeTaskSource, SleepRecorder

    source = FakeTaskSource([Task(id="h1", hello=Task.HelloTask())])
    settings = RunnerSettings(exit_when_idle=True, switches=Switches(ticketing=ticketing))
    Runner(Tickets(), source, settings, cancel=CancelToken(), env={}, sleep=SleepRecorder()).run()
    # The bootstrap Hello and the answer to the hello task both carry the setting.
    assert [task_id for _, task_id in source.hello_calls] == ["", "h1"]
    for metadata, _ in source.hello_calls:
        [packed_settings] = [a for a in metadata.annotations if a.Is(ExternalTicketSettings.DESCRIPTOR)]
        unpacked = ExternalTicketSettings()
        assert packed_settings.Unpack(unpacked) and unpacked.enabled is ticketing


def _issue(*, identity: bool = True, options: bool = True, configs: bool = True) -> Task:
    task = issue_task(str(pyrage.x25519.Identity.generate().to_public()))
    body = task.issue_credential
    if not identity:
        body.ClearField("identity_id")
    if not options:
        body.ClearField("credential_options")
    if not configs:
        del body.encryption_configs[:]
    return task


MALFORMED_BY_FIELD = [
    ("issue_credential without identity_id", _issue(identity=False), "malformed issue credential task"),
    ("issue_credential without credential_options", _issue(options=False), "malformed issue credential task"),
    ("issue_credential without encryption_configs", _issue(configs=False), "malformed issue credential task"),
    (
        "create_ticket_task without ticket_request",
        Task(create_ticket_task=Task.CreateTicketTask(annotations=[ETAG])),
        "malformed create ticket task",
    ),
    (
        "get_ticket without ticket_id",
        Task(get_ticket=Task.GetTicketTask(annotations=[ETAG])),
        "malformed get ticket task",
    ),
    (
        "bulk_create_tickets without requests",
        Task(bulk_create_tickets=Task.BulkCreateTicketsTask()),
        "malformed bulk create ticket task",
    ),
    (
        "bulk_get_tickets without requests",
        Task(bulk_get_tickets=Task.BulkGetTicketsTask()),
        "malformed bulk get tickets task",
    ),
    (
        "action_get_schema without name",
        Task(action_get_schema=Task.ActionGetSchemaTask()),
        "action name required",
    ),
    ("action_invoke without name", invoke(""), "action name required"),
    (
        "action_status without id",
        Task(action_status=Task.ActionStatusTask(name="export")),
        "action id required",
    ),
    (
        "create_resource without resource",
        Task(create_resource=Task.CreateResourceTask()),
        "malformed create resource task",
    ),
]


@pytest.mark.parametrize(
    ("case", "task", "message"), MALFORMED_BY_FIELD, ids=[c for c, _, _ in MALFORMED_BY_FIELD]
)
def test_each_missing_required_field_is_malformed_and_non_retryable(
    case: str, task: Task, message: str
) -> None:
    issuer = Issuer()
    connector = type("Everything", (Tickets,), {})()
    connector._syncers = (issuer,)  # the issuer's resource type, on a connector that has tickets too
    outcome = handle_task(task, context(connector))
    assert isinstance(outcome, Failure), outcome
    assert (outcome.code, outcome.message, outcome.non_retryable) == (int(StatusCode.UNKNOWN), message, True)
    assert not issuer.requests and not connector.created  # the connector was never called
