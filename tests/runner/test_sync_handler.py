"""The sync_full task: heartbeats, a real c1z, upload, outcomes and cancellation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.c1z import C1ZReader, Counts
from baton_cli.connector.api import Entitlement, Page, Resource, ResourceId
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers import Unreported, handle_task
from baton_cli.core.handlers.sync import TEMP_PREFIX, is_invariant_failure, sync_options
from baton_cli.core.runner import Runner, RunnerSettings
from baton_cli.core.task_source import Beat, Failure, Success, Task
from baton_cli.errors import BatonError, ConnectorError, StatusCode
from baton_cli.pb.c1.connector.v2 import annotation_exclusion_group_pb2

from .fakes import (
    EndlessSyncer,
    FakeConnector,
    FakeTaskSource,
    PlainSyncer,
    Recorder,
    SleepRecorder,
    context,
    demo,
)

DEMO_FLAGS = ("--users", "5", "--groups", "2", "--memberships", "4", "--roles", "1")


def sync_task(task_id: str = "s1", **fields: object) -> Task:
    return Task(id=task_id, sync_full=Task.SyncFullTask(**fields))  # type: ignore[arg-type]


def leftovers(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{TEMP_PREFIX}*"))


def read_counts(path: Path) -> tuple[str, Counts]:
    with C1ZReader.open(path) as reader:
        run = reader.pick_sync()
        return run.sync_type, reader.counts(run.sync_id)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


@pytest.mark.parametrize(
    ("fields", "sync_type", "counts"),
    [
        ({}, "full", Counts(3, 8, 3, 10)),
        ({"skip_expand_grants": True}, "full", Counts(3, 8, 3, 6)),
        ({"skip_entitlements_and_grants": True}, "resources_only", Counts(3, 8, 0, 0)),
        ({"skip_grants": True}, "full", Counts(3, 8, 3, 0)),
        ({"sync_resource_type_ids": ["group", "user"]}, "full", Counts(2, 7, 2, 4)),
    ],
)
def test_sync_task_uploads_a_c1z_with_the_synced_rows_and_finishes_success(
    tmp_path: Path, work: Path, fields: dict[str, object], sync_type: str, counts: Counts
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    source = FakeTaskSource([sync_task(**fields)], upload_dir=uploads)
    observer = Recorder()
    runner = Runner(
        demo(tmp_path, *DEMO_FLAGS),
        source,
        RunnerSettings(c1z_temp_dir=work, exit_when_idle=True),
        cancel=CancelToken(),
        env={},
        observer=observer,
        sleep=SleepRecorder(),
    )
    summary = runner.run()
    assert source.outcome("s1") == Success()  # no response, no annotations
    assert source.heartbeat_calls[0] == "s1"  # the initial heartbeat
    assert [t for t, _ in source.uploads] == ["s1"]
    assert read_counts(source.uploads[0][1]) == (sync_type, counts)
    assert leftovers(work) == [] and list(work.iterdir()) == []  # temp file and work dir deleted
    assert summary.succeeded == 1
    assert any(
        n.startswith(f"task s1: synced {counts.resource_types} resource types") for n in observer.notes
    )


def test_a_task_asking_for_pebble_gets_a_v1_file(tmp_path: Path, work: Path) -> None:
    """We read v3 but write v1 only; the platform accepts v1 whatever the task asked (c1z.md §1)."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    source = FakeTaskSource([sync_task(storage_engine="pebble")], upload_dir=uploads)
    runner = Runner(
        demo(tmp_path, *DEMO_FLAGS),
        source,
        RunnerSettings(c1z_temp_dir=work, exit_when_idle=True),
        cancel=CancelToken(),
        env={},
        sleep=SleepRecorder(),
    )
    runner.run()
    assert source.outcome("s1") == Success()
    uploaded = source.uploads[0][1]
    assert uploaded.read_bytes()[:5] == b"C1ZF\x00"
    assert read_counts(uploaded) == ("full", Counts(3, 8, 3, 10))


def test_targeted_sync_resources_become_targets_with_parents() -> None:
    parent = ResourceId(resource_type="org", resource="o1")
    task = Task.SyncFullTask(
        targeted_sync_resources=[
            Resource(id=ResourceId(resource_type="user", resource="u1")),
            Resource(id=ResourceId(resource_type="repo", resource="r1"), parent_resource_id=parent),
        ],
        sync_resource_type_ids=["user", "repo"],
        skip_grants=True,
    )
    options = sync_options(task)
    assert options.targets == (
        ResourceId(resource_type="user", resource="u1"),
        ResourceId(resource_type="repo", resource="r1"),
    )
    assert options.target_parents == (None, parent)
    assert options.resource_type_ids == ("user", "repo") and options.skip_grants
    assert options.sync_type == "partial"


def test_targeted_sync_writes_a_partial_sync(tmp_path: Path, work: Path) -> None:
    source = FakeTaskSource()
    target = Resource(id=ResourceId(resource_type="group", resource="g000001"))
    task = sync_task(targeted_sync_resources=[target])
    result = handle_task(task, context(demo(tmp_path, *DEMO_FLAGS), source, task_id="s1", temp_dir=work))
    assert result == Success()
    sync_type, counts = read_counts(source.uploads[0][1])
    assert sync_type == "partial" and counts.resources == 1


def test_initial_heartbeat_failure_abandons_the_task_without_finish(tmp_path: Path, work: Path) -> None:
    source = FakeTaskSource(beats=[BatonError("gone", code=StatusCode.UNAVAILABLE)])
    result = handle_task(sync_task(), context(demo(tmp_path), source, temp_dir=work))
    assert isinstance(result, Unreported)
    assert result.outcome == Failure(int(StatusCode.UNAVAILABLE), "initial heartbeat failed: gone")
    assert source.uploads == [] and leftovers(work) == []


def test_initial_heartbeat_cancelled_abandons_the_task(tmp_path: Path, work: Path) -> None:
    source = FakeTaskSource(beats=[Beat(cancelled=True, next_heartbeat=None)])
    observer = Recorder()
    runner = Runner(
        demo(tmp_path),
        source,
        RunnerSettings(c1z_temp_dir=work, exit_when_idle=True),
        cancel=CancelToken(),
        env={},
        observer=observer,
        sleep=SleepRecorder(),
    )
    source.add_polls(sync_task())
    summary = runner.run()
    assert source.finished == [] and summary.unreported == 1
    assert observer.finished[0][2] == Failure(int(StatusCode.CANCELLED), "task was cancelled")


def endless() -> FakeConnector:
    return FakeConnector(EndlessSyncer())


def test_heartbeat_cancelled_mid_sync_finishes_cancelled(work: Path) -> None:
    beats = [Beat(False, 5.0), Beat(False, 5.0), Beat(True, None)]
    source = FakeTaskSource(beats=beats)
    sleep = SleepRecorder()
    result = handle_task(sync_task(), context(endless(), source, temp_dir=work, sleep=sleep))
    assert isinstance(result, Failure)
    assert result.code == StatusCode.CANCELLED and not result.non_retryable
    assert "task was cancelled" in result.message
    assert sleep.calls[:2] == [5.0, 5.0]  # the interval from the initial heartbeat's answer
    assert source.uploads == [] and leftovers(work) == []


def test_nine_failed_heartbeats_cancel_the_sync(work: Path) -> None:
    failures = [BatonError("down", code=StatusCode.UNAVAILABLE) for _ in range(9)]
    source = FakeTaskSource(beats=[Beat(False, None), *failures])
    ctx = context(endless(), source, temp_dir=work, sleep=SleepRecorder())
    result = handle_task(sync_task(), ctx)
    assert isinstance(result, Failure) and result.code == StatusCode.CANCELLED
    assert "task failed heartbeat" in result.message
    assert len(source.heartbeat_calls) == 10


def test_upload_failure_finishes_with_its_error(tmp_path: Path, work: Path) -> None:
    source = FakeTaskSource(upload_error=BatonError("upload broke", code=StatusCode.UNAVAILABLE))
    result = handle_task(sync_task(), context(demo(tmp_path), source, temp_dir=work))
    assert result == Failure(int(StatusCode.UNAVAILABLE), "upload broke")
    assert leftovers(work) == []


def test_connector_failure_is_retryable(work: Path) -> None:
    connector = FakeConnector(
        validate_error=ConnectorError("bad credentials", code=StatusCode.UNAUTHENTICATED)
    )
    result = handle_task(sync_task(), context(connector, FakeTaskSource(), temp_dir=work))
    assert isinstance(result, Failure)
    assert (result.code, result.non_retryable) == (StatusCode.UNAUTHENTICATED, False)
    assert "bad credentials" in result.message


class TwoDefaults(PlainSyncer):
    """Two default entitlements in one exclusion group: invariant I5 fails the sync."""

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        def entitlement(slug: str) -> Entitlement:
            group = annotation_exclusion_group_pb2.EntitlementExclusionGroup(
                exclusion_group_id="tier", is_default=True
            )
            annotation = AnyPb()
            annotation.Pack(group)
            return Entitlement(
                id=f"{resource.id.resource_type}:{resource.id.resource}:{slug}",
                resource=resource,
                slug=slug,
                annotations=[annotation],
            )

        return Page([entitlement("gold"), entitlement("silver")])


def test_an_ingestion_invariant_failure_is_non_retryable(work: Path) -> None:
    error = ConnectorError("ingestion invariant I5 failed: two defaults", code=StatusCode.FAILED_PRECONDITION)
    assert is_invariant_failure(error)
    assert not is_invariant_failure(ConnectorError("other", code=StatusCode.FAILED_PRECONDITION))
    assert not is_invariant_failure(ConnectorError("ingestion invariant I5", code=StatusCode.INTERNAL))
    source = FakeTaskSource()
    result = handle_task(sync_task(), context(FakeConnector(TwoDefaults("plan")), source, temp_dir=work))
    assert isinstance(result, Failure)
    assert (result.code, result.non_retryable) == (StatusCode.FAILED_PRECONDITION, True)
    assert result.message.startswith("ingestion invariant I5 failed")
    assert source.uploads == [] and leftovers(work) == []


def test_bad_temp_dir_is_a_failure(tmp_path: Path) -> None:
    result = handle_task(
        sync_task(), context(demo(tmp_path), FakeTaskSource(), temp_dir=tmp_path / "missing")
    )
    assert isinstance(result, Failure) and result.code == StatusCode.UNKNOWN
    assert result.message.startswith("cannot create a temporary c1z file")


def test_shutdown_grace_then_cancel_still_sends_finish_task(work: Path) -> None:
    cancel = CancelToken()
    syncer = EndlessSyncer()
    source = FakeTaskSource([sync_task()])
    observer = Recorder()
    runner = Runner(
        FakeConnector(syncer),
        source,
        RunnerSettings(c1z_temp_dir=work, shutdown_grace_seconds=0.05),
        cancel=cancel,
        env={},
        observer=observer,
        sleep=SleepRecorder(),
    )
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(runner.run()))
    thread.start()
    assert syncer.started.wait(10)
    cancel.cancel("Ctrl-C")
    thread.join(10)
    assert not thread.is_alive()
    outcome = source.outcome("s1")
    assert isinstance(outcome, Failure) and outcome.code == StatusCode.UNAVAILABLE
    assert "runner shutting down" in outcome.message and not outcome.non_retryable
    assert "cancelling 1 task(s) still running" in observer.notes
    assert leftovers(work) == []


class _MeetingSyncer:
    """Delegates to a demo syncer; the first two entitlement listings must run at the same time."""

    def __init__(self, inner: object, barrier: threading.Barrier, tickets: list[int]) -> None:
        self._inner = inner
        self._barrier = barrier
        self._tickets = tickets  # shared by all syncers: two calls wait, the rest go straight on

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        try:
            self._tickets.pop()
        except IndexError:
            pass
        else:
            try:
                self._barrier.wait()  # two workers meet here; one alone would time out
            except threading.BrokenBarrierError:
                raise ConnectorError("entitlement listings ran one at a time") from None
        return self._inner.entitlements(resource, page_token)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class _MeetingConnector:
    def __init__(self, inner: object) -> None:
        self._inner = inner
        barrier, tickets = threading.Barrier(2, timeout=30), [1, 2]
        self._syncers = [_MeetingSyncer(s, barrier, tickets) for s in inner.resource_syncers()]  # type: ignore[attr-defined]

    def resource_syncers(self) -> list[object]:
        return list(self._syncers)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_sync_task_lists_in_parallel_with_workers(tmp_path: Path, work: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    source = FakeTaskSource([sync_task()], upload_dir=uploads)
    connector = _MeetingConnector(demo(tmp_path, *DEMO_FLAGS))
    runner = Runner(
        connector,  # type: ignore[arg-type]
        source,
        RunnerSettings(c1z_temp_dir=work, exit_when_idle=True, workers=2),
        cancel=CancelToken(),
        env={},
        observer=Recorder(),
        sleep=SleepRecorder(),
    )
    runner.run()
    assert source.outcome("s1") == Success()
    assert read_counts(source.uploads[0][1]) == ("full", Counts(3, 8, 3, 10))
