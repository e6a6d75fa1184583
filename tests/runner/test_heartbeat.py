"""The periodic heartbeat: interval, failures, server cancellation, stopping."""

from __future__ import annotations

import threading
import time

import pytest

from baton_cli.core.cancel import CancelToken
from baton_cli.core.heartbeat import (
    DEFAULT_INTERVAL_SECONDS,
    MAX_CONSECUTIVE_FAILURES,
    TaskHeartbeat,
    heartbeat_interval,
)
from baton_cli.core.task_source import Beat
from baton_cli.errors import BatonError, StatusCode

from .fakes import FakeTaskSource, SleepRecorder


def failed() -> BatonError:
    return BatonError("heartbeat failed", code=StatusCode.UNAVAILABLE)


def ok(next_heartbeat: float | None = None, *, cancelled: bool = False) -> Beat:
    return Beat(cancelled=cancelled, next_heartbeat=next_heartbeat)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, 30.0),
        (0.0, 30.0),
        (-1.0, 30.0),
        (0.2, 1.0),
        (1.0, 1.0),
        (12.5, 12.5),
        (300.0, 300.0),
        (1e6, 300.0),
    ],
)
def test_interval_defaults_to_thirty_seconds_and_is_clamped(given: float | None, expected: float) -> None:
    assert heartbeat_interval(given) == expected


def run_until_done(heartbeat: TaskHeartbeat, cancel: CancelToken) -> None:
    heartbeat.start()
    deadline = time.monotonic() + 10
    while not cancel.cancelled:
        assert time.monotonic() < deadline, "heartbeat never cancelled the task"
        cancel.wait(0.01)
    heartbeat.stop()


def test_nine_consecutive_failures_cancel_the_task() -> None:
    source = FakeTaskSource(beats=[failed() for _ in range(20)])
    cancel = CancelToken()
    sleep = SleepRecorder()
    beats: list[bool] = []
    heartbeat = TaskHeartbeat(source, "t1", cancel, interval=7.0, on_beat=beats.append, sleep=sleep)
    run_until_done(heartbeat, cancel)
    assert cancel.reason == "task failed heartbeat"
    assert len(source.heartbeat_calls) == MAX_CONSECUTIVE_FAILURES == 9  # the 10th is never tried
    assert beats == [False] * 9
    assert sleep.calls == [7.0] * 9  # failures keep the interval


def test_a_success_resets_the_failure_count_and_cancelled_true_cancels() -> None:
    script = [failed() for _ in range(8)] + [ok(5.0)] + [failed() for _ in range(8)] + [ok(cancelled=True)]
    source = FakeTaskSource(beats=script)
    cancel = CancelToken()
    sleep = SleepRecorder()
    heartbeat = TaskHeartbeat(source, "t1", cancel, interval=2.0, sleep=sleep)
    run_until_done(heartbeat, cancel)
    assert cancel.reason == "task was cancelled"
    assert len(source.heartbeat_calls) == 18
    assert sleep.calls == [2.0] * 9 + [5.0] * 9


def test_interval_follows_each_answer() -> None:
    source = FakeTaskSource(beats=[ok(5.0), ok(0.1), ok(None), ok(400.0), ok(cancelled=True)])
    cancel = CancelToken()
    sleep = SleepRecorder()
    heartbeat = TaskHeartbeat(source, "t1", cancel, interval=3.0, sleep=sleep)
    run_until_done(heartbeat, cancel)
    assert sleep.calls == [3.0, 5.0, 1.0, DEFAULT_INTERVAL_SECONDS, 300.0]


def test_stop_wakes_a_real_wait_at_once() -> None:
    source = FakeTaskSource()
    cancel = CancelToken()
    heartbeat = TaskHeartbeat(source, "t1", cancel, interval=300.0)
    heartbeat.start()
    stopped = threading.Event()
    stopper = threading.Thread(target=lambda: (heartbeat.stop(), stopped.set()))
    stopper.start()
    # stop() joins the beat thread: unless the 300 s wait is woken, this bound is what ends it.
    assert stopped.wait(60), "stop() did not wake the heartbeat's wait"
    stopper.join()
    assert source.heartbeat_calls == [] and not cancel.cancelled
