"""The poll loop: bootstrap Hello, backoff, pacing, slots, stopping."""

from __future__ import annotations

import threading

import pytest

from baton_cli.connector.api import Connector, Entitlement, Grant, Resource, ResourceId
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers.gate import ONE_SHOT
from baton_cli.core.runner import Runner, RunnerSettings, RunSummary
from baton_cli.core.task_source import Failure, Poll, Success, Task
from baton_cli.errors import BatonError, CancelledError, StatusCode, UsageError
from baton_cli.pb.c1.connector.v2 import connector_pb2

from .fakes import FakeConnector, FakeTaskSource, PlainSyncer, Recorder, SleepRecorder


def unavailable() -> BatonError:
    return BatonError("platform unavailable", code=StatusCode.UNAVAILABLE)


def grant_task(task_id: str, type_id: str = "group") -> Task:
    entitlement = Entitlement(
        id=f"{type_id}:g:member", resource=Resource(id=ResourceId(resource_type=type_id))
    )
    principal = Resource(id=ResourceId(resource_type="user", resource="u1"))
    return Task(id=task_id, grant=Task.GrantTask(entitlement=entitlement, principal=principal))


class GatedProvisioner(PlainSyncer):
    """Grants wait for ``gate``; records how many run at once."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__("group")
        self.gate = gate or threading.Event()
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.calls = 0

    def grant(self, principal: Resource, entitlement: Entitlement) -> list[Grant]:
        with self._lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
        try:
            assert self.gate.wait(10)
        finally:
            with self._lock:
                self.active -= 1
        return [Grant(id="g", entitlement=entitlement, principal=principal)]

    def revoke(self, grant: Grant) -> None:
        pass


def make_runner(
    source: FakeTaskSource,
    connector: Connector | None = None,
    *,
    cancel: CancelToken | None = None,
    sleep: SleepRecorder | None = None,
    observer: Recorder | None = None,
    **settings: object,
) -> Runner:
    settings.setdefault("exit_when_idle", True)
    settings.setdefault("switches", ONE_SHOT)
    return Runner(
        connector or FakeConnector(PlainSyncer("user")),
        source,
        RunnerSettings(**settings),  # type: ignore[arg-type]
        cancel=cancel or CancelToken(),
        env={},
        observer=observer,
        sleep=sleep or SleepRecorder(),
    )


class Background:
    """Runs a runner on a thread; ``result()`` joins it."""

    def __init__(self, runner: Runner) -> None:
        self._summary: RunSummary | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(runner,))
        self._thread.start()

    def _main(self, runner: Runner) -> None:
        try:
            self._summary = runner.run()
        except BaseException as exc:
            self._error = exc

    def result(self, timeout: float = 10.0) -> RunSummary:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "runner did not stop"
        if self._error is not None:
            raise self._error
        assert self._summary is not None
        return self._summary


# -- bootstrap Hello -------------------------------------------------------------------------------


def test_bootstrap_hello_sends_metadata_with_capabilities_and_empty_task_id() -> None:
    source = FakeTaskSource()
    summary = make_runner(source).run()
    assert len(source.hello_calls) == 1
    metadata, task_id = source.hello_calls[0]
    assert task_id == ""
    assert metadata.display_name == "Fake"
    assert connector_pb2.CAPABILITY_SYNC in metadata.capabilities.connector_capabilities
    assert summary.tasks_finished == 0 and summary.stopped_because == "no more tasks"


def test_bootstrap_hello_retries_transient_errors_doubling_from_one_second_to_five_minutes() -> None:
    errors: list[BaseException | None] = [unavailable() for _ in range(11)]
    errors[3] = OSError("network is down")  # not a platform answer at all: retried too
    source = FakeTaskSource(hellos=errors)
    sleep = SleepRecorder()
    observer = Recorder()
    make_runner(source, sleep=sleep, observer=observer).run()
    assert len(source.hello_calls) == 12
    assert sleep.calls == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert "Hello failed: platform unavailable (code 14); trying again in 1 s" in observer.notes


@pytest.mark.parametrize(
    "code",
    [
        StatusCode.UNAUTHENTICATED,
        StatusCode.PERMISSION_DENIED,
        StatusCode.INVALID_ARGUMENT,
        StatusCode.UNIMPLEMENTED,
        StatusCode.FAILED_PRECONDITION,
        StatusCode.NOT_FOUND,
    ],
)
def test_bootstrap_hello_gives_up_at_once_on_codes_retrying_cannot_fix(code: StatusCode) -> None:
    source = FakeTaskSource(hellos=[BatonError("no", code=code)])
    sleep = SleepRecorder()
    with pytest.raises(BatonError) as caught:
        make_runner(source, sleep=sleep).run()
    assert caught.value.code == code
    assert sleep.calls == [] and source.get_task_calls == 0


@pytest.mark.parametrize(
    "code", [StatusCode.DEADLINE_EXCEEDED, StatusCode.RESOURCE_EXHAUSTED, StatusCode.INTERNAL]
)
def test_bootstrap_hello_retries_other_codes(code: StatusCode) -> None:
    source = FakeTaskSource(hellos=[BatonError("hm", code=code)])
    make_runner(source).run()
    assert len(source.hello_calls) == 2


def test_cancel_while_waiting_to_retry_hello_stops_with_cancelled() -> None:
    cancel = CancelToken()
    source = FakeTaskSource(hellos=[unavailable()])

    def sleep(seconds: float) -> None:
        cancel.cancel("interrupted")

    runner = Runner(FakeConnector(), source, RunnerSettings(), cancel=cancel, env={}, sleep=sleep)
    with pytest.raises(CancelledError, match="interrupted"):
        runner.run()
    assert len(source.hello_calls) == 1


def test_real_waits_wake_on_cancel() -> None:
    """Without an injected sleep the backoff waits on the cancel token: Ctrl-C ends it at once."""
    cancel = CancelToken()
    source = FakeTaskSource(hellos=[unavailable()])
    runner = Runner(FakeConnector(), source, RunnerSettings(), cancel=cancel, env={})
    background = Background(runner)
    source.wait_for(lambda s: len(s.hello_calls) == 1)
    cancel.cancel("Ctrl-C")
    with pytest.raises(CancelledError):
        background.result(timeout=2)


@pytest.mark.parametrize("concurrency", [0, 101])
def test_task_concurrency_out_of_range_is_a_usage_error(concurrency: int) -> None:
    with pytest.raises(UsageError, match="task-concurrency"):
        make_runner(FakeTaskSource(), task_concurrency=concurrency)


# -- polling ---------------------------------------------------------------------------------------


def test_poll_errors_back_off_err_count_squared_capped_at_sixty_seconds() -> None:
    source = FakeTaskSource([unavailable() for _ in range(10)])
    sleep = SleepRecorder()
    observer = Recorder()
    summary = make_runner(source, sleep=sleep, observer=observer).run()
    assert sleep.calls == [1, 4, 9, 16, 25, 36, 49, 60, 60, 60]
    assert source.get_task_calls == 11 and summary.polls == 1
    assert observer.notes[1] == "GetTask failed: platform unavailable; polling again in 1 s"


def test_a_successful_poll_resets_the_error_count() -> None:
    source = FakeTaskSource(
        [
            unavailable(),
            unavailable(),
            Poll(None, 0.0),
            unavailable(),
            Poll(Task(id="h", hello=Task.HelloTask()), 0),
        ]
    )
    sleep = SleepRecorder()
    make_runner(source, sleep=sleep, exit_when_idle=False, max_tasks=1).run()
    assert sleep.calls == [1, 4, 1]


def test_next_poll_paces_the_loop_and_is_clamped_to_five_minutes() -> None:
    hello = Task(id="h1", hello=Task.HelloTask())
    source = FakeTaskSource(
        [Poll(hello, 7.0), Poll(None, 2.5), Poll(Task(id="h2", hello=Task.HelloTask()), 1000.0)]
    )
    sleep = SleepRecorder()
    make_runner(source, sleep=sleep, exit_when_idle=False, max_tasks=2).run()
    # After h2 the loop stops (--max-tasks) without waiting out its next_poll.
    assert sleep.calls == [7.0, 2.5]
    source2 = FakeTaskSource([Poll(hello, 1000.0)])
    sleep2 = SleepRecorder()
    make_runner(source2, sleep=sleep2).run()
    assert sleep2.calls == [300.0]


def test_none_and_absent_tasks_are_no_work() -> None:
    source = FakeTaskSource([Poll(Task(id="n", none=Task.NoneTask()), 0), Poll(Task(id="x"), 0)])
    observer = Recorder()
    runner = make_runner(source, observer=observer, exit_when_idle=False, max_tasks=1)
    source.add_polls(Task(id="h", hello=Task.HelloTask()))
    summary = runner.run()
    assert observer.polls == [False, False, True]
    assert observer.started == [("h", "hello")]
    assert source.finished == [] and summary.tasks_finished == 1


def test_hello_task_is_answered_with_hello_and_no_finish_task() -> None:
    source = FakeTaskSource([Task(id="hello-1", hello=Task.HelloTask())])
    observer = Recorder()
    summary = make_runner(source, observer=observer).run()
    assert [task_id for _, task_id in source.hello_calls] == ["", "hello-1"]
    assert source.finished == []
    assert observer.finished == [("hello-1", "hello", Success())]
    assert (summary.tasks_finished, summary.unreported) == (1, 1)


def test_a_failed_hello_answer_is_only_logged() -> None:
    source = FakeTaskSource([Task(id="hello-1", hello=Task.HelloTask())], hellos=[None, unavailable()])
    observer = Recorder()
    make_runner(source, observer=observer).run()
    assert source.finished == []
    assert len(source.hello_calls) == 2  # no retry
    assert any("hello-1" in n and "platform unavailable" in n for n in observer.notes)


def test_slots_are_claimed_before_polling_and_never_exceed_task_concurrency() -> None:
    provisioner = GatedProvisioner()
    source = FakeTaskSource([grant_task(f"g{i}") for i in range(6)])
    runner = make_runner(source, FakeConnector(provisioner), task_concurrency=2)
    background = Background(runner)
    source.wait_for(lambda s: provisioner.active == 2)
    # Both slots are busy: the loop waits for one instead of asking for (and holding) a third task.
    threading.Event().wait(0.05)
    assert source.get_task_calls == 2
    provisioner.gate.set()
    summary = background.result()
    assert provisioner.peak == 2 and runner.peak_concurrency == 2
    assert summary.tasks_finished == 6 and summary.succeeded == 6
    assert sorted(t for t, _ in source.finished) == [f"g{i}" for i in range(6)]


def test_max_tasks_stops_polling_then_lets_running_tasks_finish() -> None:
    provisioner = GatedProvisioner()
    source = FakeTaskSource([grant_task(f"g{i}") for i in range(5)])
    runner = make_runner(
        source, FakeConnector(provisioner), task_concurrency=3, max_tasks=2, exit_when_idle=False
    )
    background = Background(runner)
    source.wait_for(lambda s: provisioner.active == 2)
    provisioner.gate.set()
    summary = background.result()
    assert source.get_task_calls == 2
    assert summary.tasks_finished == 2 and summary.stopped_because == "finished 2 task(s) (--max-tasks)"


def test_exit_when_idle_waits_for_running_tasks() -> None:
    provisioner = GatedProvisioner()
    source = FakeTaskSource([grant_task("g0")])
    runner = make_runner(source, FakeConnector(provisioner), task_concurrency=2)
    background = Background(runner)
    source.wait_for(lambda s: s.get_task_calls >= 3)  # empty polls while g0 runs do not stop the loop
    provisioner.gate.set()
    summary = background.result()
    assert summary.succeeded == 1 and summary.stopped_because == "no more tasks"


def test_a_repeated_delivery_of_a_running_task_is_ignored() -> None:
    provisioner = GatedProvisioner()
    source = FakeTaskSource([grant_task("same"), grant_task("same")])
    observer = Recorder()
    runner = make_runner(source, FakeConnector(provisioner), observer=observer)
    background = Background(runner)
    source.wait_for(lambda s: s.get_task_calls >= 3)
    provisioner.gate.set()
    background.result()
    assert provisioner.calls == 1 and len(source.finished) == 1
    assert "task same (grant) is already running; ignoring the repeat" in observer.notes


class Exploding(PlainSyncer):
    def grant(self, principal: Resource, entitlement: Entitlement) -> list[Grant]:
        raise RuntimeError("connector bug")

    def revoke(self, grant: Grant) -> None:
        raise KeyError("missing")


def test_a_failing_task_never_stops_the_daemon() -> None:
    source = FakeTaskSource([grant_task("bad"), Task(id="h", hello=Task.HelloTask()), grant_task("bad2")])
    summary = make_runner(source, FakeConnector(Exploding("group"))).run()
    assert source.outcome("bad") == Failure(int(StatusCode.UNKNOWN), "connector bug", non_retryable=True)
    assert (summary.tasks_finished, summary.failed, summary.unreported) == (3, 2, 1)


def test_finish_task_errors_retrying_cannot_fix_are_logged_and_the_loop_goes_on() -> None:
    refused = BatonError("not yours", code=StatusCode.FAILED_PRECONDITION)
    source = FakeTaskSource([grant_task("a"), grant_task("b")], finish_error=refused)
    observer = Recorder()
    provisioner = GatedProvisioner(threading.Event())
    provisioner.gate.set()
    summary = make_runner(source, FakeConnector(provisioner), observer=observer).run()
    assert sorted(t for t, _ in source.finished) == ["a", "b"]  # one attempt each
    assert sum("FinishTask for task" in n and "giving up" in n for n in observer.notes) == 2
    assert summary.tasks_finished == 2 and summary.finish_lost == 2


@pytest.mark.parametrize(
    "code",
    [
        StatusCode.UNAVAILABLE,
        StatusCode.DEADLINE_EXCEEDED,
        StatusCode.RESOURCE_EXHAUSTED,
        StatusCode.INTERNAL,
        StatusCode.UNAUTHENTICATED,
    ],
)
def test_finish_task_is_retried_with_backoff_on_transient_failures_until_it_lands(code: StatusCode) -> None:
    failures = [BatonError("platform had a bad moment", code=code) for _ in range(4)]
    source = FakeTaskSource([grant_task("a")], finish_failures=failures)
    sleep = SleepRecorder()
    provisioner = GatedProvisioner(threading.Event())
    provisioner.gate.set()
    summary = make_runner(source, FakeConnector(provisioner), sleep=sleep).run()
    assert [t for t, _ in source.finished] == ["a"] * 5  # the same result, sent until it landed
    assert len({id(outcome) for _t, outcome in source.finished}) == 1
    assert [s for s in sleep.calls if s >= 1] == [1.0, 2.0, 4.0, 8.0]
    assert summary.succeeded == 1 and summary.finish_lost == 0 and provisioner.calls == 1


def test_finish_task_retries_stop_when_their_budget_is_spent() -> None:
    source = FakeTaskSource([grant_task("a")], finish_error=unavailable())
    sleep = SleepRecorder()
    provisioner = GatedProvisioner(threading.Event())
    provisioner.gate.set()
    summary = make_runner(source, FakeConnector(provisioner), sleep=sleep, finish_retry_seconds=20).run()
    assert [s for s in sleep.calls if s >= 1] == [1.0, 2.0, 4.0, 8.0, 5.0]  # 20 s of backoff in all
    assert len(source.finished) == 6 and summary.finish_lost == 1


# -- shutdown --------------------------------------------------------------------------------------


def test_cancel_stops_polling_and_waits_for_tasks_within_the_grace_period() -> None:
    cancel = CancelToken()
    provisioner = GatedProvisioner()
    source = FakeTaskSource([grant_task("g0")])
    observer = Recorder()
    runner = make_runner(
        source, FakeConnector(provisioner), cancel=cancel, observer=observer, exit_when_idle=False
    )
    background = Background(runner)
    source.wait_for(lambda s: provisioner.active == 1)
    cancel.cancel("Ctrl-C")
    threading.Timer(0.05, provisioner.gate.set).start()
    summary = background.result()
    assert isinstance(source.outcome("g0"), Success)
    assert summary.stopped_because == "cancelled: Ctrl-C"
    assert "shutting down: no new tasks; waiting up to 30 s for 1 running task(s)" in observer.notes
    assert observer.events == ["ready", "stopping 30 1"]


def test_a_task_stuck_past_grace_and_cancel_is_reported_retryable_once() -> None:
    cancel = CancelToken()
    provisioner = GatedProvisioner()
    source = FakeTaskSource([grant_task("stuck")])
    runner = make_runner(
        source,
        FakeConnector(provisioner),
        cancel=cancel,
        exit_when_idle=False,
        shutdown_grace_seconds=0.02,
        cancel_wait_seconds=0.02,
    )
    background = Background(runner)
    source.wait_for(lambda s: provisioner.active == 1)
    cancel.cancel("Ctrl-C")
    summary = background.result()
    outcome = source.outcome("stuck")
    # We stopped it, not the platform: retryable, and not CANCELLED (which reads as final).
    assert isinstance(outcome, Failure) and outcome.code == StatusCode.UNAVAILABLE
    assert "runner shutting down" in outcome.message and not outcome.non_retryable
    assert summary.failed == 1 and summary.tasks_taken == 1
    provisioner.gate.set()  # the handler returns late: no second FinishTask
    source.wait_for(lambda s: provisioner.active == 0)
    threading.Event().wait(0.05)
    assert len(source.finished) == 1
