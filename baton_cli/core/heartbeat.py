"""The periodic heartbeat of a running sync task (runner.md §6.1).

One thread per task. It waits on its own stop token, so finishing the task
wakes it at once, and a wait releases the GIL: a busy connector cannot make a
heartbeat late by more than the interpreter's switch interval.

The platform's answer drives the task: ``cancelled`` cancels it ("task was
cancelled"), and nine failed heartbeats in a row cancel it too ("task failed
heartbeat"), because a platform that cannot be reached will not accept the
result either. The first heartbeat is sent synchronously by the handler (§6
step 2); this loop only sends the periodic ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from baton_cli.core.cancel import CancelToken
from baton_cli.core.task_source import TaskSource

DEFAULT_INTERVAL_SECONDS = 30.0
MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 300.0
MAX_CONSECUTIVE_FAILURES = 9

REASON_SERVER_CANCELLED = "task was cancelled"
REASON_HEARTBEAT_FAILED = "task failed heartbeat"


def heartbeat_interval(next_heartbeat: float | None) -> float:
    """Seconds to the next heartbeat: the server's value clamped to [1 s, 5 min]; absent or 0 -> 30 s."""
    if not next_heartbeat or next_heartbeat <= 0:
        return DEFAULT_INTERVAL_SECONDS
    return min(max(next_heartbeat, MIN_INTERVAL_SECONDS), MAX_INTERVAL_SECONDS)


class TaskHeartbeat:
    """Heartbeats ``task_id`` every interval until stopped; cancels ``task_cancel`` when it must.

    ``sleep`` replaces the real wait in tests (it is called with the interval,
    then the stop flag is checked); without it the thread waits on its stop token.
    """

    def __init__(
        self,
        source: TaskSource,
        task_id: str,
        task_cancel: CancelToken,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        on_beat: Callable[[bool], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._source = source
        self._task_id = task_id
        self._task_cancel = task_cancel
        self._interval = interval
        self._on_beat = on_beat
        self._sleep = sleep
        self._stop = CancelToken()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{task_id}", daemon=True)
        self.sent = 0
        self.failures = 0  # consecutive

    @property
    def interval(self) -> float:
        return self._interval

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.cancel("task finished")
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> TaskHeartbeat:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _wait(self, seconds: float) -> bool:
        """True when stopped meanwhile."""
        if self._sleep is None:
            return self._stop.wait(seconds)
        self._sleep(seconds)
        return self._stop.cancelled

    def _loop(self) -> None:
        while not self._wait(self._interval):
            try:
                beat = self._source.heartbeat(self._task_id)
            except Exception:  # any failure counts: the source maps its own errors to BatonError
                self.sent += 1
                self.failures += 1
                self._report(False)
                if self.failures >= MAX_CONSECUTIVE_FAILURES:
                    self._task_cancel.cancel(REASON_HEARTBEAT_FAILED)
                    return
                continue  # same interval, as upstream
            self.sent += 1
            self.failures = 0
            self._interval = heartbeat_interval(beat.next_heartbeat)  # before the report: it says when
            self._report(True)
            if beat.cancelled:
                self._task_cancel.cancel(REASON_SERVER_CANCELLED)
                return

    def _report(self, ok: bool) -> None:
        if self._on_beat is not None:
            self._on_beat(ok)
