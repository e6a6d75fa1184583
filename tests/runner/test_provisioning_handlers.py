"""Grant, revoke, create/delete resource tasks against the demo connector and small fakes."""

from __future__ import annotations

from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest

from baton_cli.connector.api import Connector, Entitlement, Grant, Resource, ResourceId
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers import handle_task
from baton_cli.core.handlers.common import syncer_for
from baton_cli.core.task_source import Failure, Success, Task
from baton_cli.errors import BatonError, ConnectorError, RetryableConnectorError, StatusCode
from baton_cli.pb.c1.connector.v2 import grant_pb2, resource_pb2

from .fakes import FakeConnector, PlainSyncer, SleepRecorder, context, demo

MEMBER_0 = "group:g000000:member"


def rid(type_id: str, id_: str) -> ResourceId:
    return ResourceId(resource_type=type_id, resource=id_)


def member_entitlement(group: str = "g000000") -> Entitlement:
    return Entitlement(id=f"group:{group}:member", resource=Resource(id=rid("group", group)), slug="member")


def grant_task(principal: str = "u0000045", entitlement: Entitlement | None = None) -> Task:
    return Task(
        id="t1",
        grant=Task.GrantTask(
            entitlement=entitlement or member_entitlement(), principal=Resource(id=rid("user", principal))
        ),
    )


def sync_grant_ids(connector: Connector, group: str = "g000000") -> set[str]:
    syncer = syncer_for(connector, "group")
    assert syncer is not None
    page = syncer.grants(Resource(id=rid("group", group)), "")
    return {g.principal.id.resource for g in page.items}


def test_grant_calls_the_provisioner_and_packs_the_grant_response(tmp_path: Path) -> None:
    connector = demo(tmp_path)
    outcome = handle_task(grant_task(), context(connector))
    assert isinstance(outcome, Success) and outcome.response is not None
    assert outcome.response.type_url == "type.googleapis.com/c1.connector.v2.GrantManagerServiceGrantResponse"
    response = grant_pb2.GrantManagerServiceGrantResponse()
    outcome.response.Unpack(response)
    assert [g.principal.id.resource for g in response.grants] == ["u0000045"]
    assert response.grants[0].entitlement.id == MEMBER_0
    assert outcome.annotations == ()
    assert "u0000045" in sync_grant_ids(connector)


def test_revoke_packs_the_revoke_response(tmp_path: Path) -> None:
    connector = demo(tmp_path)
    grant = Grant(
        id=f"{MEMBER_0}:user:u0000001",
        entitlement=member_entitlement(),
        principal=Resource(id=rid("user", "u0000001")),
    )
    assert "u0000001" in sync_grant_ids(connector)
    outcome = handle_task(Task(id="t1", revoke=Task.RevokeTask(grant=grant)), context(connector))
    assert isinstance(outcome, Success) and outcome.response is not None
    assert outcome.response.Is(grant_pb2.GrantManagerServiceRevokeResponse.DESCRIPTOR)
    assert "u0000001" not in sync_grant_ids(connector)


def test_delete_resource_forwards_id_and_packs_the_delete_response(tmp_path: Path) -> None:
    connector = demo(tmp_path)
    task = Task(id="t1", delete_resource=Task.DeleteResourceTask(resource_id=rid("group", "g000001")))
    outcome = handle_task(task, context(connector))
    assert isinstance(outcome, Success) and outcome.response is not None
    assert outcome.response.Is(resource_pb2.DeleteResourceResponse.DESCRIPTOR)
    again = handle_task(task, context(connector))
    assert isinstance(again, Failure)
    assert (again.code, again.non_retryable) == (StatusCode.NOT_FOUND, True)


@pytest.mark.parametrize(
    ("task", "what"),
    [
        (Task(grant=Task.GrantTask(principal=Resource(id=rid("user", "u1")))), "grant"),
        (Task(grant=Task.GrantTask(entitlement=member_entitlement())), "grant"),
        (Task(revoke=Task.RevokeTask()), "revoke"),
        (Task(create_account=Task.CreateAccountTask(resource_type_id="user")), "create account"),
        (Task(create_resource=Task.CreateResourceTask()), "create resource"),
        (Task(delete_resource=Task.DeleteResourceTask()), "delete resource"),
        (Task(delete_resource=Task.DeleteResourceTask(resource_id=rid("user", ""))), "delete resource"),
        (Task(delete_resource=Task.DeleteResourceTask(resource_id=rid("", "u1"))), "delete resource"),
        (Task(rotate_credentials=Task.RotateCredentialsTask()), "rotate credentials"),
        (Task(issue_credential=Task.IssueCredentialTask(identity_id=rid("user", "u1"))), "issue credential"),
    ],
)
def test_malformed_tasks_fail_non_retryable(tmp_path: Path, task: Task, what: str) -> None:
    outcome = handle_task(task, context(demo(tmp_path)))
    assert outcome == Failure(int(StatusCode.UNKNOWN), f"malformed {what} task", non_retryable=True)


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            grant_task(entitlement=Entitlement(id="user:u1:x", resource=Resource(id=rid("user", "u1")))),
            "resource type 'user' has no provisioner configured",
        ),
        (
            grant_task(entitlement=Entitlement(id="x", resource=Resource(id=rid("nope", "n1")))),
            "connector has no resource type 'nope', so it has no provisioner for it",
        ),
        (
            Task(revoke=Task.RevokeTask(grant=Grant(id="g"))),
            "connector has no resource type (empty), so it has no provisioner for it",
        ),
        (
            Task(create_resource=Task.CreateResourceTask(resource=Resource(id=rid("group", "new")))),
            "resource type 'group' has no resource creator configured",
        ),
        (
            Task(rotate_credentials=Task.RotateCredentialsTask(resource_id=rid("group", "g000000"))),
            "resource type 'group' has no credential manager configured",
        ),
    ],
)
def test_a_missing_capability_is_unimplemented_and_non_retryable(
    tmp_path: Path, task: Task, message: str
) -> None:
    outcome = handle_task(task, context(demo(tmp_path)))
    assert outcome == Failure(int(StatusCode.UNIMPLEMENTED), message, non_retryable=True)


def test_connector_errors_keep_their_code_and_are_non_retryable(tmp_path: Path) -> None:
    outcome = handle_task(grant_task(), context(demo(tmp_path, state=False)))
    assert outcome == Failure(
        int(StatusCode.FAILED_PRECONDITION), "demo: set --state-file to provision", non_retryable=True
    )
    unknown_user = handle_task(grant_task("u9999999"), context(demo(tmp_path)))
    assert isinstance(unknown_user, Failure) and unknown_user.code == StatusCode.NOT_FOUND


class Creator(PlainSyncer):
    def create(self, resource: Resource) -> Resource:
        created = Resource()
        created.CopyFrom(resource)
        created.display_name = "Created"
        return created


def test_create_resource_packs_the_created_resource() -> None:
    task = Task(id="t1", create_resource=Task.CreateResourceTask(resource=Resource(id=rid("repo", "r1"))))
    outcome = handle_task(task, context(FakeConnector(Creator("repo"))))
    assert isinstance(outcome, Success) and outcome.response is not None
    response = resource_pb2.CreateResourceResponse()
    outcome.response.Unpack(response)
    assert response.created.display_name == "Created" and response.created.id.resource == "r1"


def test_issue_credential_without_an_issuer_is_unimplemented() -> None:
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    config = resource_pb2.EncryptionConfig(
        provider="baton/age/v1",
        age_recipient_config=resource_pb2.EncryptionConfig.AgeRecipientConfig(recipient=recipient),
    )
    task = Task(
        issue_credential=Task.IssueCredentialTask(
            identity_id=rid("user", "u1"),
            credential_options=resource_pb2.CredentialIssueOptions(
                api_key=resource_pb2.CredentialIssueOptions.ApiKey()
            ),
            encryption_configs=[config],
        )
    )
    outcome = handle_task(task, context(FakeConnector()))
    assert outcome == Failure(
        int(StatusCode.UNIMPLEMENTED),
        "resource type 'user' has no credential issuer configured",
        non_retryable=True,
    )


class Flaky(PlainSyncer):
    """Fails ``failures`` grants/revokes with UNAVAILABLE before succeeding."""

    def __init__(self, failures: int, error: BatonError | None = None) -> None:
        super().__init__("group")
        self.failures = failures
        self.error = error or RetryableConnectorError("rate limited")
        self.calls = 0

    def _attempt(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error

    def grant(self, principal: Resource, entitlement: Entitlement) -> list[Grant]:
        self._attempt()
        return [Grant(id="g", entitlement=entitlement, principal=principal)]

    def revoke(self, grant: Grant) -> None:
        self._attempt()


def test_grant_is_retried_on_unavailable_fifteen_seconds_times_attempt() -> None:
    syncer, sleep = Flaky(2), SleepRecorder()
    outcome = handle_task(
        grant_task(entitlement=member_entitlement()), context(FakeConnector(syncer), sleep=sleep)
    )
    assert isinstance(outcome, Success) and syncer.calls == 3
    assert sleep.calls == [15.0, 30.0]


def test_revoke_gives_up_after_three_attempts() -> None:
    syncer, sleep = Flaky(5), SleepRecorder()
    task = Task(revoke=Task.RevokeTask(grant=Grant(id="g", entitlement=member_entitlement())))
    outcome = handle_task(task, context(FakeConnector(syncer), sleep=sleep))
    assert outcome == Failure(int(StatusCode.UNAVAILABLE), "rate limited", non_retryable=True)
    assert syncer.calls == 3 and sleep.calls == [15.0, 30.0]


def test_other_errors_and_cancellation_stop_the_retries() -> None:
    syncer, sleep = Flaky(5, ConnectorError("denied", code=StatusCode.PERMISSION_DENIED)), SleepRecorder()
    outcome = handle_task(grant_task(), context(FakeConnector(syncer), sleep=sleep))
    assert isinstance(outcome, Failure) and outcome.code == StatusCode.PERMISSION_DENIED
    assert syncer.calls == 1 and sleep.calls == []
    cancel = CancelToken()
    cancel.cancel("Ctrl-C")
    flaky = Flaky(5)
    cancelled = handle_task(grant_task(), context(FakeConnector(flaky), cancel=cancel))
    assert isinstance(cancelled, Failure) and cancelled.code == StatusCode.CANCELLED
    assert flaky.calls == 1 and "Ctrl-C" in cancelled.message
