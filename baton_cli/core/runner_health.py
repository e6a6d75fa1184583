"""What the daemon's health probes and metrics report, kept from the runner's events.

Readiness: Hello succeeded and the poll loop runs (``ready``), until a stop begins.

Liveness means something here (upstream's ``/live`` is always 200): the poll loop must come
back when it said it would (``poll_scheduled`` says how long it will wait; slack added), unless
every task slot is busy, when it legitimately waits for one; and every running sync task must
have heartbeated (or tried to) within twice its observed interval, at least ``MIN_STALL``. A
deadlocked loop or a dead heartbeat thread turns ``/live`` to 503, so Kubernetes restarts the
pod. During a graceful stop the loop is no longer expected to poll.

Counters for ``/metrics``: tasks by kind and outcome, poll errors, heartbeats by result and the
worst heartbeat lateness. Thread-safe; the clock is injected so tests move time themselves.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from baton_cli.core.runner_events import NullRunnerObserver

if TYPE_CHECKING:
    from baton_cli.core.task_source import Outcome

HEARTBEAT_KINDS = frozenset({"sync_full"})  # only syncs heartbeat (runner.md §4)
DEFAULT_HEARTBEAT_INTERVAL = 30.0  # runner.md §6.1, until two beats show the real one
MIN_STALL = 60.0
LOOP_SLACK = 30.0  # a poll can take a while (token refresh, a slow platform) before it returns
FIRST_POLL_WAIT = 300.0  # before the loop has said anything: generous, Hello may retry for long


@dataclass(slots=True)
class _Beating:
    last: float
    interval: float = DEFAULT_HEARTBEAT_INTERVAL


@dataclass(frozen=True, slots=True)
class Liveness:
    alive: bool
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class HealthCounts:
    tasks: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, outcome) -> n
    poll_errors: int = 0
    heartbeats: Counter[str] = field(default_factory=Counter)  # "ok" / "failed" -> n


class RunnerHealth(NullRunnerObserver):
    def __init__(self, task_concurrency: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._concurrency = task_concurrency
        self._clock = clock
        self._lock = threading.Lock()
        self._ready = False
        self._stopping = False
        self._loop_due = clock() + FIRST_POLL_WAIT
        self._announces = False  # the loop says how long it waits (GetTask mode; batch mode does not)
        self._running: dict[str, str] = {}
        self._beating: dict[str, _Beating] = {}
        self.counts = HealthCounts()

    # -- runner events --------------------------------------------------------------------------

    def ready(self) -> None:
        with self._lock:
            self._ready = True
            self._loop_due = self._clock() + LOOP_SLACK

    def poll_scheduled(self, seconds: float) -> None:
        with self._lock:
            self._announces = True
            self._loop_due = self._clock() + seconds + LOOP_SLACK

    def polled(self, found: bool) -> None:
        with self._lock:
            # A poll that returned proves the loop ran. Its next wait is announced separately;
            # a loop that never announces (batch mode) may wait up to the 5-minute next_poll cap.
            wait = LOOP_SLACK if self._announces else FIRST_POLL_WAIT + LOOP_SLACK
            self._loop_due = max(self._loop_due, self._clock() + wait)

    def poll_failed(self, error: str, retry_in: float) -> None:
        with self._lock:
            self.counts.poll_errors += 1
            self._loop_due = self._clock() + retry_in + LOOP_SLACK

    def task_started(self, task_id: str, kind: str) -> None:
        with self._lock:
            self._running[task_id] = kind
            if kind in HEARTBEAT_KINDS:
                self._beating[task_id] = _Beating(self._clock())

    def heartbeat(self, task_id: str, ok: bool) -> None:
        with self._lock:
            self.counts.heartbeats["ok" if ok else "failed"] += 1
            beating = self._beating.get(task_id)
            if beating is not None:
                now = self._clock()
                gap = now - beating.last
                if gap > 0:
                    beating.interval = gap
                beating.last = now

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        from baton_cli.core.task_source import Failure

        with self._lock:
            self._running.pop(task_id, None)
            self._beating.pop(task_id, None)
            self.counts.tasks[(kind, "failed" if isinstance(outcome, Failure) else "succeeded")] += 1

    def stopping(self, grace_seconds: float, running: int) -> None:
        with self._lock:
            self._stopping = True
            self._ready = False

    # -- probes ---------------------------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        with self._lock:
            return self._ready

    def heartbeat_lateness(self) -> float:
        """Seconds the most overdue running sync is past its expected heartbeat (0 if none)."""
        with self._lock:
            now = self._clock()
            return max((max(0.0, now - b.last - b.interval) for b in self._beating.values()), default=0.0)

    def liveness(self) -> Liveness:
        with self._lock:
            now = self._clock()
            problems = []
            busy = len(self._running) >= self._concurrency
            if not self._stopping and not busy and now > self._loop_due:
                problems.append(f"the poll loop is {now - self._loop_due:.0f} s overdue")
            for task_id, beating in sorted(self._beating.items()):
                allowed = max(2 * beating.interval, MIN_STALL)
                if now - beating.last > allowed:
                    problems.append(
                        f"task {task_id} has not heartbeated for {now - beating.last:.0f} s "
                        f"(allowed {allowed:.0f} s)"
                    )
            return Liveness(not problems, tuple(problems))
