"""The emulator's task queue on a real SQLite file: lifecycle, leases, cancellation, restarts."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from google.protobuf import any_pb2

from baton_cli.emulator.paths import queue_path
from baton_cli.emulator.queue import TaskQueue
from baton_cli.errors import BatonError, FailedPreconditionError, NotFoundError, StatusCode, UsageError
from baton_cli.pb.c1.connector.v2 import grant_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
LEASE = 60.0


class Clock:
    """A hand-moved clock: lease expiry without sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(tmp_path: Path, clock: Clock) -> Iterator[TaskQueue]:
    with TaskQueue.open(tmp_path / "emu", clock=clock, lease_seconds=LEASE) as opened:
        yield opened


def sync_task(**fields: object) -> Task:
    return Task(sync_full=Task.SyncFullTask(**fields))  # type: ignore[arg-type]


def grant_task() -> Task:
    return Task(grant=Task.GrantTask())


def packed(message: grant_pb2.Grant) -> bytes:
    value = any_pb2.Any()
    value.Pack(message)
    return value.SerializeToString()


# -- enqueue / lease / finish ------------------------------------------------------------------


def test_enqueue_lease_finish(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task(skip_grants=True, sync_resource_type_ids=["user"]))
    assert re.fullmatch(r"[a-zA-Z0-9]{27}", task_id)  # the runner's task id pattern (wire.md §3)
    record = queue.get(task_id)
    assert (record.kind, record.state, record.attempts, record.host_id) == ("sync_full", "pending", 0, "")
    assert record.created_at == clock.now
    assert queue.task_message(task_id).status == Task.STATUS_PENDING

    clock.advance(2)
    leased = queue.lease("host-a")
    assert leased is not None
    assert leased.id == task_id
    assert leased.status == Task.STATUS_RUNNING
    assert leased.WhichOneof("task_type") == "sync_full"
    assert leased.sync_full.skip_grants and list(leased.sync_full.sync_resource_type_ids) == ["user"]
    assert queue.lease("host-b") is None  # only one task, and it is taken
    record = queue.get(task_id)
    assert (record.state, record.attempts, record.host_id, record.leased_at) == (
        "running",
        1,
        "host-a",
        clock.now,
    )

    clock.advance(5)
    assert queue.heartbeat(task_id, "host-a") is False
    assert queue.get(task_id).last_heartbeat_at == clock.now
    queue.record_upload(
        task_id, "host-a", path=Path("/x/up.c1z"), sha256="ab" * 32, counts={"resources": 3, "grants": 7}
    )

    clock.advance(1)
    queue.finish(task_id, "host-a", status_code=0)
    record = queue.get(task_id)
    assert (record.state, record.status_code, record.finished_at) == ("done", 0, clock.now)
    assert (record.upload_path, record.upload_sha256) == ("/x/up.c1z", "ab" * 32)
    assert record.upload_counts == {"resources": 3, "grants": 7}
    assert queue.task_message(task_id).status == Task.STATUS_FINISHED
    assert queue.lease("host-a") is None


def test_failed_finish_keeps_status_response_and_annotations(queue: TaskQueue) -> None:
    task_id = queue.enqueue(grant_task())
    assert queue.lease("h") is not None
    response = packed(grant_pb2.Grant(id="g1"))
    notes = [packed(grant_pb2.Grant(id="a")), packed(grant_pb2.Grant(id="b"))]
    queue.finish(
        task_id,
        "h",
        status_code=StatusCode.FAILED_PRECONDITION,
        status_message="provisioning is not enabled",
        non_retryable=True,
        response=response,
        annotations=notes,
    )
    record = queue.get(task_id)
    assert (record.state, record.status_code, record.non_retryable) == ("failed", 9, True)
    assert record.status_message == "provisioning is not enabled"
    result = queue.result(task_id)
    assert result.response == response
    assert result.annotations == notes


def test_tasks_are_handed_out_oldest_first(queue: TaskQueue, clock: Clock) -> None:
    ids = []
    for _ in range(5):
        ids.append(queue.enqueue(grant_task()))
        clock.advance(1)
    assert [queue.lease("h").id for _ in ids] == ids  # type: ignore[union-attr]
    assert [r.id for r in queue.tasks()] == ids


def test_explicit_id_is_kept_and_must_be_unique(queue: TaskQueue) -> None:
    task = grant_task()
    task.id = "2Z2xBdvd0zcDX3kj0UKrUHsq1Ao"
    assert queue.enqueue(task) == task.id
    with pytest.raises(BatonError) as info:
        queue.enqueue(task)
    assert info.value.code == StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize("task", [Task(), Task(none=Task.NoneTask())], ids=["no type", "none"])
def test_a_task_without_work_is_refused(queue: TaskQueue, task: Task) -> None:
    with pytest.raises(UsageError):
        queue.enqueue(task)


def test_unknown_ids(queue: TaskQueue) -> None:
    for call in (
        lambda: queue.get("nope"),
        lambda: queue.task_message("nope"),
        lambda: queue.result("nope"),
        lambda: queue.heartbeat("nope", "h"),
        lambda: queue.finish("nope", "h", status_code=0),
        lambda: queue.record_upload("nope", "h", path=Path("x"), sha256="", counts={}),
        lambda: queue.cancel("nope"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_calls_on_a_task_that_is_not_running_are_refused(queue: TaskQueue) -> None:
    task_id = queue.enqueue(sync_task())
    with pytest.raises(FailedPreconditionError):
        queue.heartbeat(task_id, "h")  # still pending
    assert queue.lease("h") is not None
    queue.finish(task_id, "h", status_code=0)
    with pytest.raises(FailedPreconditionError, match="done"):
        queue.heartbeat(task_id, "h")
    assert not queue.finish(task_id, "h", status_code=0)  # a repeat: accepted, nothing changes
    with pytest.raises(FailedPreconditionError):
        queue.record_upload(task_id, "h", path=Path("x"), sha256="", counts={})


def test_only_the_holder_may_heartbeat_or_finish(queue: TaskQueue) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("host-a") is not None
    with pytest.raises(FailedPreconditionError, match="another host"):
        queue.heartbeat(task_id, "host-b")
    with pytest.raises(FailedPreconditionError):
        queue.finish(task_id, "host-b", status_code=0)
    assert queue.get(task_id).state == "running"


# -- lease expiry ------------------------------------------------------------------------------


def test_expired_lease_is_redelivered_and_the_old_holder_refused(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("host-a") is not None
    clock.advance(LEASE - 1)
    assert queue.lease("host-b") is None  # not yet expired

    clock.advance(1)
    again = queue.lease("host-b")
    assert again is not None and again.id == task_id
    record = queue.get(task_id)
    assert (record.state, record.host_id, record.attempts, record.leased_at) == (
        "running",
        "host-b",
        2,
        clock.now,
    )

    with pytest.raises(FailedPreconditionError):
        queue.heartbeat(task_id, "host-a")
    with pytest.raises(FailedPreconditionError):
        queue.finish(task_id, "host-a", status_code=0)
    with pytest.raises(FailedPreconditionError):
        queue.record_upload(task_id, "host-a", path=Path("old.c1z"), sha256="", counts={})
    queue.finish(task_id, "host-b", status_code=0)
    assert queue.get(task_id).state == "done"


def test_heartbeats_keep_the_lease(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("host-a") is not None
    for _ in range(5):  # well past one lease in total, never silent for a whole one
        clock.advance(LEASE - 1)
        assert queue.heartbeat(task_id, "host-a") is False
        assert queue.lease("host-b") is None
    clock.advance(LEASE)
    assert queue.lease("host-b") is not None
    assert queue.get(task_id).attempts == 2


def test_a_late_heartbeat_is_accepted_while_nobody_else_has_the_task(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("host-a") is not None
    clock.advance(LEASE * 3)
    assert queue.heartbeat(task_id, "host-a") is False
    assert queue.lease("host-b") is None  # the heartbeat renewed the lease
    queue.finish(task_id, "host-a", status_code=0)


def test_the_same_host_can_be_handed_its_expired_task_again(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("host-a") is not None
    clock.advance(LEASE)
    again = queue.lease("host-a")
    assert again is not None and again.id == task_id
    assert queue.get(task_id).attempts == 2


def test_tasks_runners_never_heartbeat_get_the_longer_quiet_lease(tmp_path: Path, clock: Clock) -> None:
    with TaskQueue.open(tmp_path, clock=clock, lease_seconds=10, quiet_lease_seconds=100) as queue:
        grant_id = queue.enqueue(grant_task())
        sync_id = queue.enqueue(sync_task())
        assert queue.lease("a") is not None
        assert queue.lease("a") is not None
        clock.advance(10)
        assert queue.lease("b").id == sync_id  # type: ignore[union-attr]
        assert queue.lease("b") is None
        clock.advance(90)
        assert queue.lease("b").id == grant_id  # type: ignore[union-attr]


def test_lease_durations_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        TaskQueue.open(tmp_path, lease_seconds=0)


# -- cancellation ------------------------------------------------------------------------------


def test_cancel_pending_is_immediate(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task())
    clock.advance(3)
    queue.cancel(task_id)
    record = queue.get(task_id)
    assert (record.state, record.finished_at, record.cancel_requested) == ("cancelled", clock.now, True)
    assert queue.lease("h") is None
    with pytest.raises(FailedPreconditionError, match="cancelled"):
        queue.cancel(task_id)


def test_cancel_running_is_answered_by_the_next_heartbeat(queue: TaskQueue) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("h") is not None
    assert queue.heartbeat(task_id, "h") is False
    queue.cancel(task_id)
    queue.cancel(task_id)  # asking twice is harmless
    record = queue.get(task_id)
    assert (record.state, record.cancel_requested) == ("running", True)
    assert queue.heartbeat(task_id, "h") is True
    assert queue.heartbeat(task_id, "h") is True  # until the runner finishes it
    queue.finish(task_id, "h", status_code=StatusCode.CANCELLED, status_message="task was cancelled")
    record = queue.get(task_id)
    assert (record.state, record.status_code, record.cancel_requested) == ("failed", 1, True)


def test_a_cancelled_task_whose_runner_went_silent_is_not_redelivered(queue: TaskQueue, clock: Clock) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("h") is not None
    queue.cancel(task_id)
    clock.advance(LEASE)
    assert queue.lease("other") is None
    record = queue.get(task_id)
    assert (record.state, record.finished_at, record.attempts) == ("cancelled", clock.now, 1)


def test_finished_tasks_cannot_be_cancelled(queue: TaskQueue) -> None:
    task_id = queue.enqueue(sync_task())
    assert queue.lease("h") is not None
    queue.finish(task_id, "h", status_code=2, status_message="boom")
    with pytest.raises(FailedPreconditionError, match="failed"):
        queue.cancel(task_id)


# -- hosts -------------------------------------------------------------------------------------


def hello(task_id: str = "") -> baton_pb2.BatonServiceHelloRequest:
    request = baton_pb2.BatonServiceHelloRequest(host_id="ignored", task_id=task_id)
    request.connector_metadata.display_name = "Demo"
    request.os_info.os = "linux"
    request.os_info.kernel_arch = "amd64"
    request.os_info.platform = "ubuntu"
    request.os_info.platform_version = "24.04"
    request.os_info.hostname = "box"
    request.build_info.package = "example.com/baton-demo"
    request.build_info.package_version = "1.2.3"
    request.build_info.lang_version = "go1.23.0"
    return request


def test_hosts_from_hello_and_polls(queue: TaskQueue, clock: Clock) -> None:
    first = clock.now
    queue.record_hello("h1", hello())
    clock.advance(10)
    queue.note_poll("h2")
    clock.advance(10)
    queue.note_poll("h1")
    h1, h2 = queue.hosts()  # most recently seen first
    assert (h1.host_id, h1.first_seen, h1.last_seen) == ("h1", first, clock.now)
    assert h1.connector_name == "Demo"
    assert h1.os_summary == "linux/amd64 ubuntu 24.04 (box)"
    assert h1.build_summary == "example.com/baton-demo 1.2.3 (go1.23.0)"
    assert (h2.host_id, h2.connector_name, h2.first_seen) == ("h2", "", first + 10)

    clock.advance(1)
    queue.record_hello("h2", hello())  # a later Hello fills in what a poll could not
    assert queue.hosts()[0].connector_name == "Demo"


def test_a_hello_answers_the_hello_task_its_host_holds(queue: TaskQueue) -> None:
    task_id = queue.enqueue(Task(hello=Task.HelloTask()))
    queue.record_hello("h", hello(task_id))
    assert queue.get(task_id).state == "pending"  # nobody leased it yet: not an answer
    assert queue.lease("h") is not None
    queue.record_hello("other", hello(task_id))
    assert queue.get(task_id).state == "running"
    queue.record_hello("h", hello(task_id))
    record = queue.get(task_id)
    assert (record.state, record.status_code) == ("done", 0)


# -- durability --------------------------------------------------------------------------------


def test_everything_survives_close_and_reopen(tmp_path: Path, clock: Clock) -> None:
    data_dir = tmp_path / "deep" / "emu"
    with TaskQueue.open(data_dir, clock=clock, lease_seconds=LEASE) as queue:
        done = queue.enqueue(sync_task(skip_expand_grants=True))
        running = queue.enqueue(grant_task())
        pending = queue.enqueue(sync_task(storage_engine="sqlite"))
        assert queue.lease("h") is not None
        queue.record_upload(done, "h", path=Path("u.c1z"), sha256="00", counts={"grants": 1})
        queue.finish(done, "h", status_code=0, annotations=[b"x"])
        assert queue.lease("h") is not None
        queue.cancel(running)
        queue.record_hello("h", hello())
        before = queue.tasks(), queue.hosts(), queue.result(done)
    assert queue_path(data_dir).is_file()

    with TaskQueue.open(data_dir, clock=clock, lease_seconds=LEASE) as queue:
        assert (queue.tasks(), queue.hosts(), queue.result(done)) == before
        assert queue.heartbeat(running, "h") is True
        again = queue.lease("h2")
        assert again is not None and again.id == pending
        assert again.sync_full.storage_engine == "sqlite"
        assert queue.task_message(done).sync_full.skip_expand_grants


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    with TaskQueue.open(tmp_path):
        pass
    with closing(sqlite3.connect(queue_path(tmp_path))) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_queue_from_a_newer_baton_is_refused(tmp_path: Path) -> None:
    with TaskQueue.open(tmp_path):
        pass
    with closing(sqlite3.connect(queue_path(tmp_path))) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(FailedPreconditionError, match="newer"):
        TaskQueue.open(tmp_path)


# -- FinishTask idempotence and re-delivery of retryable failures --------------------------------


def test_a_repeated_finish_from_the_same_host_is_accepted_and_changes_nothing(
    queue: TaskQueue, clock: Clock
) -> None:
    task_id = queue.enqueue(grant_task())
    assert queue.lease("h") is not None
    assert queue.finish(task_id, "h", status_code=0, response=packed(grant_pb2.Grant(id="first")))
    first = queue.get(task_id)
    clock.advance(5)
    # The runner's answer was lost, so it sends the (possibly rebuilt) result again.
    assert not queue.finish(task_id, "h", status_code=2, status_message="second")
    assert queue.get(task_id) == first
    assert any_pb2.Any.FromString(queue.result(task_id).response).type_url.endswith("Grant")
    with pytest.raises(FailedPreconditionError, match="is done"):
        queue.finish(task_id, "other", status_code=0)  # finished by another host: refused


def test_a_retryable_failure_is_handed_out_again_until_max_attempts(tmp_path: Path, clock: Clock) -> None:
    with TaskQueue.open(tmp_path / "emu", clock=clock, lease_seconds=LEASE, max_attempts=2) as q:
        task_id = q.enqueue(sync_task())
        assert q.lease("a") is not None
        q.finish(task_id, "a", status_code=14, status_message="runner shutting down")
        assert q.get(task_id).state == "pending"
        assert not q.finish(task_id, "a", status_code=14)  # a repeat while it waits: accepted
        again = q.lease("b")
        assert again is not None and again.id == task_id
        with pytest.raises(FailedPreconditionError, match="another host"):
            q.finish(task_id, "a", status_code=14)  # the old holder is refused once b has it
        q.finish(task_id, "b", status_code=14, status_message="still failing")
        record = q.get(task_id)
        assert (record.state, record.attempts, record.status_message) == ("failed", 2, "still failing")


def test_non_retryable_and_cancelled_failures_are_final(tmp_path: Path, clock: Clock) -> None:
    with TaskQueue.open(tmp_path / "emu", clock=clock, lease_seconds=LEASE, max_attempts=5) as q:
        final = q.enqueue(grant_task())
        assert q.lease("h") is not None
        q.finish(final, "h", status_code=9, non_retryable=True)
        cancelled = q.enqueue(sync_task())
        assert q.lease("h") is not None
        q.cancel(cancelled)
        q.finish(cancelled, "h", status_code=1, status_message="task was cancelled")
        assert [q.get(final).state, q.get(cancelled).state] == ["failed", "failed"]
