"""Batch polling (runner.md §3.1): GetTasks page sizes, known ids, error handling, idle waits."""

from __future__ import annotations

import threading
import time

import pytest

from baton_cli.core.batch_poll import batch_mode
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers.gate import ONE_SHOT
from baton_cli.core.runner import Runner, RunnerSettings
from baton_cli.core.task_source import Batch, Poll, Task
from baton_cli.errors import BatonError, StatusCode

from .fakes import FakeConnector, FakeTaskSource, PlainSyncer, SleepRecorder
from .test_runner_loop import Background, GatedProvisioner, grant_task

BATCH_ENV = {"BATON_GET_TASKS": "true"}


def batch_runner(
    source: FakeTaskSource,
    connector: FakeConnector | None = None,
    *,
    sleep: SleepRecorder | None = None,
    cancel: CancelToken | None = None,
    **settings: object,
) -> Runner:
    settings.setdefault("exit_when_idle", True)
    settings.setdefault("switches", ONE_SHOT)  # grant tasks need --provisioning
    return Runner(
        connector or FakeConnector(PlainSyncer("user")),
        source,
        RunnerSettings(**settings),  # type: ignore[arg-type]
        cancel=cancel or CancelToken(),
        env=BATCH_ENV,
        sleep=sleep or SleepRecorder(),
    )


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true_values_switch_batch_mode_on(value: str) -> None:
    assert batch_mode({"BATON_GET_TASKS": value})


@pytest.mark.parametrize("value", ["", "0", "false", "yes", "on", "tRuE"])
def test_anything_else_leaves_single_task_polling(value: str) -> None:
    assert not batch_mode({"BATON_GET_TASKS": value})


def test_batch_mode_uses_get_tasks_only_and_runs_every_task() -> None:
    tasks = [grant_task(f"t{i}") for i in range(4)]
    source = FakeTaskSource([Batch(tasks, 0.0)])
    connector = FakeConnector(GatedProvisioner(gate=_open()))
    summary = batch_runner(source, connector, task_concurrency=2).run()
    assert summary.succeeded == 4
    assert source.get_task_calls == 0
    assert sorted(t for t, _ in source.finished) == ["t0", "t1", "t2", "t3"]
    # The first page asks for the high water mark: twice the concurrency, nothing known yet.
    assert source.get_tasks_calls[0] == (4, [])


def test_page_size_is_high_water_minus_known_and_known_ids_are_sent() -> None:
    gate = threading.Event()
    provisioner = GatedProvisioner(gate)
    source = FakeTaskSource([Batch([grant_task("a")], 0.0)])
    background = Background(batch_runner(source, FakeConnector(provisioner), task_concurrency=3))
    # With one task running (below the low water mark of 3) the runner asks for 6 - 1 more.
    source.wait_for(lambda s: any(call == (5, ["a"]) for call in s.get_tasks_calls))
    gate.set()
    assert background.result().succeeded == 1


def test_no_poll_while_known_tasks_reach_the_low_water_mark() -> None:
    gate = threading.Event()
    provisioner = GatedProvisioner(gate)
    source = FakeTaskSource([Batch([grant_task("a"), grant_task("b")], 0.0)])
    sleep = SleepRecorder()
    background = Background(batch_runner(source, FakeConnector(provisioner), sleep=sleep, task_concurrency=2))
    source.wait_for(lambda s: provisioner.active == 2)
    # Let the loop go round many times (each idle round records a wait) while both tasks run.
    deadline = time.monotonic() + 10
    while len(sleep.calls) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sleep.calls) >= 20 and provisioner.active == 2
    assert len(source.get_tasks_calls) == 1
    gate.set()
    assert background.result().succeeded == 2


def test_ids_already_queued_or_running_and_none_tasks_are_skipped() -> None:
    repeat = grant_task("a")
    nothing = Task(id="n", none=Task.NoneTask())
    source = FakeTaskSource([Batch([grant_task("a"), nothing, repeat], 0.0)])
    summary = batch_runner(source, FakeConnector(GatedProvisioner(_open()))).run()
    assert [t for t, _ in source.finished] == ["a"]
    assert summary.succeeded == 1


class ClockedSleep(SleepRecorder):
    """Sleeping moves this clock forward by exactly the time asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.now += seconds
        super().__call__(seconds)


def test_next_poll_paces_fetches_and_idle_waits_100_ms_without_one() -> None:
    sleep = ClockedSleep()
    source = FakeTaskSource([Batch([], 2.5), Batch([], 0.0), Batch([grant_task("x")], 0.0)])
    runner = Runner(
        FakeConnector(GatedProvisioner(_open())),
        source,
        RunnerSettings(max_tasks=1),
        cancel=CancelToken(),
        env=BATCH_ENV,
        clock=lambda: sleep.now,
        sleep=sleep,
    )
    assert runner.run().tasks_finished == 1
    # next_poll 2.5 s is waited out before the next fetch; then no next_poll: 100 ms.
    assert sleep.calls[:2] == [2.5, 0.1]
    assert len(source.get_tasks_calls) == 3


def test_a_failed_fetch_backs_off_like_get_task_when_nothing_is_queued() -> None:
    sleep = SleepRecorder()
    error = BatonError("down", code=StatusCode.UNAVAILABLE)
    source = FakeTaskSource([error, error, error, Batch([grant_task("x")], 0.0)])
    summary = batch_runner(source, FakeConnector(GatedProvisioner(_open())), sleep=sleep).run()
    assert summary.succeeded == 1
    assert [w for w in sleep.calls if w >= 1] == [1.0, 4.0, 9.0]


def test_max_tasks_bounds_the_page_size() -> None:
    source = FakeTaskSource([Batch([grant_task("a")], 0.0)])
    summary = batch_runner(
        source, FakeConnector(GatedProvisioner(_open())), task_concurrency=3, max_tasks=1
    ).run()
    assert source.get_tasks_calls[0] == (1, [])
    assert summary.tasks_finished == 1


def test_single_task_mode_still_uses_get_task() -> None:
    source = FakeTaskSource([Poll(Task(id="h", hello=Task.HelloTask()), 0.0)])
    runner = Runner(
        FakeConnector(PlainSyncer("user")),
        source,
        RunnerSettings(exit_when_idle=True),
        cancel=CancelToken(),
        env={"BATON_GET_TASKS": "false"},
        sleep=SleepRecorder(),
    )
    runner.run()
    assert source.get_task_calls >= 1 and not source.get_tasks_calls


def _open() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate
