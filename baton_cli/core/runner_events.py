"""What the daemon's runner tells the outside world while it runs: the observer interface.

The runner calls these from its poll loop, its task threads and heartbeat threads, so an
implementation must be thread-safe and quick (it must not block the caller). Front ends (the
log lines of ``baton run``, a live view, the metrics and health server) implement what they
need by subclassing :class:`NullRunnerObserver`, which keeps them working when events are
added here; :class:`RunnerObservers` fans one event out to several observers.

Events, in the order a run produces them:

``ready()``                          Hello succeeded; the poll loop starts
``poll_scheduled(seconds)``          the poll loop will ask for work again in ``seconds``
``polled(found)``                    a GetTask answered (found: it carried a task)
``poll_failed(error, retry_in)``     a GetTask failed; the loop waits ``retry_in`` seconds
``task_started(task_id, kind)``      a task's thread starts its handler
``heartbeat(task_id, ok)``           a sync task's heartbeat was answered (ok) or failed
``task_note(task_id, kind, message)`` a running task's progress (phase changes and row counts
                                     at most every 10 s for syncs) or a warning
``task_finished(task_id, kind, outcome)``  the task's result is decided (and sent, if reported)
``sync_phase(task_id, phase)``       a sync task's engine entered a phase (runner.md §7.1 names)
``sync_rows(task_id, kind, rows)``   it stored a page of ``rows`` rows of ``kind`` (resources, ...)
``heartbeat_due(task_id, seconds, failures)``  after each heartbeat of a sync task: the next is
                                     due in ``seconds``; ``failures`` failed in a row so far
``upload_progress(task_id, sent, total)``  bytes of the task's c1z sent (an attempt restarts at 0)
``stopping(grace_seconds, running)`` a stop was requested; ``running`` tasks get the grace
``note(message)``                    anything else worth one log line
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # kept light: CLI modules subclass these at import time
    from baton_cli.core.task_source import Outcome


class RunnerObserver(Protocol):
    def ready(self) -> None: ...

    def task_started(self, task_id: str, kind: str) -> None: ...

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None: ...

    def heartbeat(self, task_id: str, ok: bool) -> None: ...

    def task_note(self, task_id: str, kind: str, message: str) -> None: ...

    def poll_scheduled(self, seconds: float) -> None: ...

    def polled(self, found: bool) -> None: ...

    def sync_phase(self, task_id: str, phase: str) -> None: ...

    def sync_rows(self, task_id: str, kind: str, rows: int) -> None: ...

    def heartbeat_due(self, task_id: str, seconds: float, failures: int) -> None: ...

    def upload_progress(self, task_id: str, sent: int, total: int) -> None: ...

    def poll_failed(self, error: str, retry_in: float) -> None: ...

    def stopping(self, grace_seconds: float, running: int) -> None: ...

    def note(self, message: str) -> None: ...


class NullRunnerObserver:
    """Ignores every event; subclass it and override what you need."""

    def ready(self) -> None:
        pass

    def task_started(self, task_id: str, kind: str) -> None:
        pass

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        pass

    def heartbeat(self, task_id: str, ok: bool) -> None:
        pass

    def task_note(self, task_id: str, kind: str, message: str) -> None:
        pass

    def poll_scheduled(self, seconds: float) -> None:
        pass

    def polled(self, found: bool) -> None:
        pass

    def sync_phase(self, task_id: str, phase: str) -> None:
        pass

    def sync_rows(self, task_id: str, kind: str, rows: int) -> None:
        pass

    def heartbeat_due(self, task_id: str, seconds: float, failures: int) -> None:
        pass

    def upload_progress(self, task_id: str, sent: int, total: int) -> None:
        pass

    def poll_failed(self, error: str, retry_in: float) -> None:
        pass

    def stopping(self, grace_seconds: float, running: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class RunnerObservers(NullRunnerObserver):
    """Sends every event to each observer in turn."""

    def __init__(self, observers: Iterable[RunnerObserver]) -> None:
        self._observers = tuple(observers)

    def ready(self) -> None:
        for observer in self._observers:
            observer.ready()

    def task_started(self, task_id: str, kind: str) -> None:
        for observer in self._observers:
            observer.task_started(task_id, kind)

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        for observer in self._observers:
            observer.task_finished(task_id, kind, outcome)

    def heartbeat(self, task_id: str, ok: bool) -> None:
        for observer in self._observers:
            observer.heartbeat(task_id, ok)

    def task_note(self, task_id: str, kind: str, message: str) -> None:
        for observer in self._observers:
            observer.task_note(task_id, kind, message)

    def poll_scheduled(self, seconds: float) -> None:
        for observer in self._observers:
            observer.poll_scheduled(seconds)

    def polled(self, found: bool) -> None:
        for observer in self._observers:
            observer.polled(found)

    def sync_phase(self, task_id: str, phase: str) -> None:
        for observer in self._observers:
            observer.sync_phase(task_id, phase)

    def sync_rows(self, task_id: str, kind: str, rows: int) -> None:
        for observer in self._observers:
            observer.sync_rows(task_id, kind, rows)

    def heartbeat_due(self, task_id: str, seconds: float, failures: int) -> None:
        for observer in self._observers:
            observer.heartbeat_due(task_id, seconds, failures)

    def upload_progress(self, task_id: str, sent: int, total: int) -> None:
        for observer in self._observers:
            observer.upload_progress(task_id, sent, total)

    def poll_failed(self, error: str, retry_in: float) -> None:
        for observer in self._observers:
            observer.poll_failed(error, retry_in)

    def stopping(self, grace_seconds: float, running: int) -> None:
        for observer in self._observers:
            observer.stopping(grace_seconds, running)

    def note(self, message: str) -> None:
        for observer in self._observers:
            observer.note(message)
