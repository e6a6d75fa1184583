"""The provisioning and ticketing gate: refused kinds never reach the connector."""

from __future__ import annotations

import threading

import pytest

from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers import handle_task
from baton_cli.core.handlers.gate import (
    PROVISIONING_DISABLED,
    PROVISIONING_KINDS,
    TICKETING_DISABLED,
    TICKETING_KINDS,
    Switches,
)
from baton_cli.core.runner import Runner, RunnerSettings
from baton_cli.core.task_source import Failure
from baton_cli.emulator import task_builders as tb
from baton_cli.errors import StatusCode
from baton_cli.pb.c1.connector.v2 import resource_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

from .fakes import FakeConnector, FakeTaskSource, SleepRecorder, context
from .test_runner_loop import GatedProvisioner, grant_task

Task = baton_pb2.Task


class SpyConnector:
    """Records every attribute the runner touches: a refused task must touch none."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.touched.append(name)
        raise AssertionError(f"connector.{name} used for a task the gate should have refused")


def _issue_credential() -> Task:
    task = Task()
    task.issue_credential.identity_id.resource_type = "user"
    task.issue_credential.identity_id.resource = "u0000001"
    task.issue_credential.credential_options.SetInParent()
    task.issue_credential.encryption_configs.append(resource_pb2.EncryptionConfig(provider="baton/age/v1"))
    return task


def _create_resource() -> Task:
    task = Task()
    task.create_resource.resource.id.resource_type = "group"
    task.create_resource.resource.display_name = "new group"
    return task


PROVISIONING_TASKS = {
    "grant": tb.grant_task("group:g000001:member", "user:u0000049"),
    "revoke": tb.revoke_task("group:g000001:member", "user:u0000001"),
    "create_account": tb.create_account_task("newbie", emails=["newbie@example.com"]),
    "create_resource": _create_resource(),
    "delete_resource": tb.delete_resource_task("user:u0000003"),
    "rotate_credentials": tb.rotate_credentials_task("user:u0000001"),
    "issue_credential": _issue_credential(),
}


def _ticket_task(kind: str) -> Task:
    task = Task()
    getattr(task, kind).SetInParent()
    return task


def test_every_provisioning_kind_has_a_well_formed_example() -> None:
    assert set(PROVISIONING_TASKS) == PROVISIONING_KINDS
    for kind, task in PROVISIONING_TASKS.items():
        assert task.WhichOneof("task_type") == kind


@pytest.mark.parametrize("kind", sorted(PROVISIONING_KINDS))
def test_provisioning_kinds_are_refused_without_provisioning(kind: str) -> None:
    spy = SpyConnector()
    result = handle_task(PROVISIONING_TASKS[kind], context(spy, switches=Switches()))  # type: ignore[arg-type]
    assert isinstance(result, Failure)
    assert result.code == StatusCode.FAILED_PRECONDITION and result.non_retryable
    assert result.message.startswith(PROVISIONING_DISABLED) and "--provisioning" in result.message
    assert spy.touched == []


@pytest.mark.parametrize("kind", sorted(TICKETING_KINDS))
def test_ticket_kinds_are_refused_without_ticketing(kind: str) -> None:
    spy = SpyConnector()
    switches = Switches(provisioning=True)  # provisioning does not imply ticketing
    result = handle_task(_ticket_task(kind), context(spy, switches=switches))  # type: ignore[arg-type]
    assert isinstance(result, Failure) and result.code == StatusCode.FAILED_PRECONDITION
    assert result.message.startswith(TICKETING_DISABLED) and result.non_retryable
    assert spy.touched == []


def test_with_provisioning_the_task_reaches_the_connector() -> None:
    spy = SpyConnector()
    ctx = context(spy, switches=Switches(provisioning=True))  # type: ignore[arg-type]
    result = handle_task(PROVISIONING_TASKS["grant"], ctx)
    assert isinstance(result, Failure) and "should have refused" in result.message
    assert spy.touched  # the spy proves the refusals above are the gate, not a blind spot


def test_the_daemon_refuses_provisioning_by_default_and_reports_it() -> None:
    provisioner = GatedProvisioner(threading.Event())
    provisioner.gate.set()
    source = FakeTaskSource([grant_task("g1")])
    runner = Runner(
        FakeConnector(provisioner),
        source,
        RunnerSettings(exit_when_idle=True),  # the default: provisioning off
        cancel=CancelToken(),
        env={},
        sleep=SleepRecorder(),
    )
    summary = runner.run()
    outcome = source.outcome("g1")
    assert isinstance(outcome, Failure) and outcome.code == StatusCode.FAILED_PRECONDITION
    assert outcome.non_retryable and summary.failed == 1
    assert provisioner.calls == 0
