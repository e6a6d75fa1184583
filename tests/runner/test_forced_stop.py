"""A second stop signal (the runner's ``force`` token): stop at once, still report every task once.

The moment under test: a task thread has claimed its result and is inside FinishTask when the
forced stop comes. The process exits when ``Runner.run`` returns (task threads are daemons), so
``run`` must not return before that FinishTask is done. The source's ``finish`` blocks until it
is released, and it is released either by the runner saying it waits for the delivery or by
``run`` returning: the order of the two records tells which came first, with no timing.
"""

from __future__ import annotations

import threading

from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers.gate import ONE_SHOT
from baton_cli.core.runner import Runner, RunnerSettings
from baton_cli.core.task_source import Failure, Outcome, Success
from baton_cli.errors import StatusCode

from .fakes import FakeConnector, FakeTaskSource, Recorder, SleepRecorder, resource_type
from .test_runner_loop import GatedProvisioner, grant_task

GUARD_SECONDS = 10.0  # only so that a broken runner fails the test instead of hanging it


class BlockingFinishSource(FakeTaskSource):
    """FinishTask for ``blocked_id`` enters, then waits for ``release``; the rest go through."""

    def __init__(self, blocked_id: str, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.blocked_id = blocked_id
        self.entered = threading.Event()
        self.release = threading.Event()
        self.order: list[str] = []

    def finish(self, task_id: str, outcome: Outcome) -> None:
        if task_id == self.blocked_id:
            self.entered.set()
            assert self.release.wait(GUARD_SECONDS), "FinishTask was never released"
        super().finish(task_id, outcome)
        if task_id == self.blocked_id:
            self.order.append("finish returned")


class RoleProvisioner(GatedProvisioner):
    """Grants on ``role`` entitlements that wait for ``gate``."""

    def __init__(self) -> None:
        super().__init__()
        self._type = resource_type("role")


class ReleasingRecorder(Recorder):
    """Releases the blocked FinishTask once the runner says it waits for deliveries."""

    def __init__(self, source: BlockingFinishSource) -> None:
        super().__init__()
        self._source = source

    def note(self, message: str) -> None:
        super().note(message)
        if message.startswith("still delivering"):
            self._source.release.set()


def test_a_forced_stop_waits_for_a_finish_task_already_being_sent_and_reports_the_rest() -> None:
    finishing = GatedProvisioner()  # its grant returns when the test opens its gate
    stuck = RoleProvisioner()  # returns only after the runner stopped: shutdown reports it
    source = BlockingFinishSource(
        "finishing", [grant_task("finishing", "group"), grant_task("stuck", "role")]
    )
    observer = ReleasingRecorder(source)
    cancel, force = CancelToken(), CancelToken()
    runner = Runner(
        FakeConnector(finishing, stuck),
        source,
        RunnerSettings(task_concurrency=2, shutdown_grace_seconds=600.0, switches=ONE_SHOT),
        cancel=cancel,
        env={},
        observer=observer,
        sleep=SleepRecorder(),
        force=force,
    )

    def run() -> None:
        runner.run()
        source.order.append("run returned")
        source.release.set()  # a runner that returned early: let the FinishTask go now

    thread = threading.Thread(target=run)
    thread.start()
    source.wait_for(lambda s: finishing.active == 1 and stuck.active == 1)
    cancel.cancel("interrupted (Ctrl-C)")  # first signal: the runner waits out the grace
    source.wait_for(lambda s: "stopping 600 2" in observer.events)
    finishing.gate.set()  # one task returns within the grace: its FinishTask starts
    assert source.entered.wait(GUARD_SECONDS)
    force.cancel("second stop signal")
    thread.join(GUARD_SECONDS)
    stuck.gate.set()
    assert not thread.is_alive(), "the runner did not stop"

    assert source.order == ["finish returned", "run returned"], observer.notes
    assert isinstance(source.outcome("finishing"), Success)
    reported = source.outcome("stuck")  # exactly once, retryable: another runner takes it
    assert isinstance(reported, Failure) and reported.code == StatusCode.UNAVAILABLE
    assert "runner shutting down" in reported.message and not reported.non_retryable
