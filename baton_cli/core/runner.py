"""The daemon's runner: Hello, then poll for tasks and run each on its own thread (runner.md §2-§5).

Start-up says Hello until the platform answers, retrying what may be transient
(1 s doubling to 5 min) and giving up on what will not change by retrying.

The poll loop claims a concurrency slot *before* asking for work, so a task is
never fetched without capacity to run it; the slot goes with the task to its
thread and comes back when the handler returns. Poll errors back off
errCount² seconds (at most 60 s); a successful poll paces the next one with its
``next_poll``.

Shutdown (the runner's cancel token: SIGTERM or Ctrl-C): stop polling, give running
tasks ``shutdown_grace_seconds``, then cancel them, then wait ``cancel_wait_seconds``
more. A task that still has not returned is reported on its behalf: every task the runner
took is answered, and FinishTask is never sent twice for one task. The ``force`` token (a
second signal) skips what is left of those waits and stops FinishTask retries, but a FinishTask
already on its way gets its one attempt: the process exits when ``run`` returns. Tasks that
did not finish because *we* stopped are reported as retryable UNAVAILABLE failures, so the
platform hands them to another runner; a task the platform cancelled through its heartbeat
stays CANCELLED.

FinishTask is a task's only result, so it is retried on transient failures (beyond
upstream, which sends it once): backoff from 1 s doubling to 30 s, each attempt on a fresh
deadline, for at most ``finish_retry_seconds`` in all; the outcome stays in memory until it
lands. A handler's failure never stops the daemon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from baton_cli.connector.api import Connector
from baton_cli.connector.capabilities import connector_metadata_with_capabilities
from baton_cli.core.batch_poll import BATCH_ENV, BatchHooks, batch_mode, run_batch_loop
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers import TaskContext, Unreported, handle_task, is_empty, task_kind
from baton_cli.core.handlers.common import failure_from
from baton_cli.core.handlers.gate import Switches
from baton_cli.core.runner_events import NullRunnerObserver, RunnerObserver, RunnerObservers
from baton_cli.core.task_source import Failure, Outcome, Task, TaskSource
from baton_cli.errors import BatonError, CancelledError, StatusCode, UsageError

MIN_TASK_CONCURRENCY = 1
MAX_TASK_CONCURRENCY = 100

HELLO_FIRST_BACKOFF_SECONDS = 1.0
HELLO_MAX_BACKOFF_SECONDS = 300.0
# Retrying these cannot help: bad credentials, a refused or malformed request (runner.md §2).
FATAL_HELLO_CODES = frozenset(
    {
        StatusCode.UNAUTHENTICATED,
        StatusCode.PERMISSION_DENIED,
        StatusCode.INVALID_ARGUMENT,
        StatusCode.UNIMPLEMENTED,
        StatusCode.FAILED_PRECONDITION,
        StatusCode.NOT_FOUND,
    }
)

POLL_MAX_BACKOFF_SECONDS = 60.0
NEXT_POLL_MAX_SECONDS = 300.0
SHUTDOWN_REASON = "runner shutting down"
# Reported for tasks we stopped: retryable, and not CANCELLED (which reads as final).
SHUTDOWN_CODE = StatusCode.UNAVAILABLE
# FinishTask failures worth another attempt: the platform or the network had a bad moment,
# or the token expired (the source fetches a new one on UNAUTHENTICATED).
TRANSIENT_FINISH_CODES = frozenset(
    {
        StatusCode.UNAVAILABLE,
        StatusCode.DEADLINE_EXCEEDED,
        StatusCode.RESOURCE_EXHAUSTED,
        StatusCode.INTERNAL,
        StatusCode.UNAUTHENTICATED,
        StatusCode.ABORTED,
    }
)
FINISH_FIRST_BACKOFF_SECONDS = 1.0
FINISH_MAX_BACKOFF_SECONDS = 30.0
# How often waits on other threads re-check the cancel token and deadlines.
_TICK_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    task_concurrency: int = 3  # 1..100
    c1z_temp_dir: Path | None = None
    workers: int = 1  # per sync task: connector calls at once (--workers, resolved)
    shutdown_grace_seconds: float = 30.0
    max_tasks: int | None = None  # stop after this many tasks finished (tests, `--max-tasks`)
    exit_when_idle: bool = False  # stop at the first empty poll once nothing is running (tests)
    # After cancelling running tasks at shutdown: how long they get to return before the runner
    # reports them CANCELLED itself (a connector stuck in a call never checks the token).
    cancel_wait_seconds: float = 10.0
    # FinishTask retries on transient failures stop after this long in all (0: send once).
    finish_retry_seconds: float = 300.0
    # --provisioning / --ticketing: off by default, as upstream (handlers/gate.py).
    switches: Switches = field(default_factory=Switches)
    skip_full_sync: bool = False  # --skip-full-sync
    sync_resource_types: tuple[str, ...] = ()  # --sync-resource-types (a task's own list wins)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Every task taken is counted once: ``succeeded + failed + unreported == tasks_taken``."""

    tasks_finished: int
    succeeded: int
    failed: int
    unreported: int  # hello tasks, abandoned syncs: no FinishTask sent
    polls: int
    stopped_because: str
    tasks_taken: int = 0
    finish_lost: int = 0  # results whose FinishTask never landed (counted in succeeded/failed too)

    def __str__(self) -> str:
        lost = f", {self.finish_lost} result(s) not delivered" if self.finish_lost else ""
        return (
            f"{self.tasks_taken} task(s) taken: {self.succeeded} succeeded, {self.failed} failed, "
            f"{self.unreported} not reported{lost}; {self.stopped_because}"
        )


class _Slots:
    """A counting semaphore whose waits give up when ``stop()`` turns true."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def acquire(self, stop: Callable[[], bool]) -> bool:
        with self._cond:
            while self._used >= self._size:
                if stop():
                    return False
                self._cond.wait(_TICK_SECONDS)
            self._used += 1
            self.peak = max(self.peak, self._used)
            return True

    def try_acquire(self) -> bool:
        with self._cond:
            if self._used >= self._size:
                return False
            self._used += 1
            self.peak = max(self.peak, self._used)
            return True

    def wait_for_free(self, seconds: float) -> None:
        with self._cond:
            if self._used >= self._size:
                self._cond.wait(seconds)

    def release(self) -> None:
        with self._cond:
            self._used -= 1
            self._cond.notify()


class _TaskRun:
    """One task in flight. ``complete`` is first-caller-wins: FinishTask is sent at most once."""

    def __init__(self, task: Task, kind: str) -> None:
        self.task = task
        self.kind = kind
        self.cancel = CancelToken()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.completed = False
        self.abandoned = False  # reported by shutdown while its thread is still stuck
        self.reported = False  # its claimed result has been sent (or given up on); guarded by Runner._cond

    def claim_completion(self) -> bool:
        with self._lock:
            if self.completed:
                return False
            self.completed = True
            return True


class Runner:
    def __init__(
        self,
        connector: Connector,
        source: TaskSource,
        settings: RunnerSettings,
        *,
        cancel: CancelToken,
        env: Mapping[str, str],
        observer: RunnerObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        force: CancelToken | None = None,
    ) -> None:
        if not MIN_TASK_CONCURRENCY <= settings.task_concurrency <= MAX_TASK_CONCURRENCY:
            raise UsageError(
                f"--task-concurrency: expected {MIN_TASK_CONCURRENCY}..{MAX_TASK_CONCURRENCY}, "
                f"got {settings.task_concurrency}"
            )
        if settings.max_tasks is not None and settings.max_tasks < 1:
            raise UsageError(f"--max-tasks: expected at least 1, got {settings.max_tasks}")
        self._connector = connector
        self._source = source
        self._settings = settings
        self._cancel = cancel
        # Set by a second stop signal: skip the rest of the shutdown waits and retries.
        self._force = force or CancelToken()
        self._env = dict(env)
        self._observer: RunnerObserver = observer or NullRunnerObserver()
        self._clock = clock
        self._sleep = sleep
        self._slots = _Slots(settings.task_concurrency)
        self._cond = threading.Condition()  # guards everything below
        self._running: dict[str, _TaskRun] = {}
        self._claimed = 0
        self._finished = 0
        self._succeeded = 0
        self._failed = 0
        self._unreported = 0
        self._finish_lost = 0
        self._polls = 0

    @property
    def peak_concurrency(self) -> int:
        """The most slots ever held at once (tests check it never exceeds task_concurrency)."""
        return self._slots.peak

    def run(self) -> RunSummary:
        self._bootstrap_hello()
        self._observer.note(f"said Hello as host {self._source.host_id!r}; waiting for tasks")
        self._observer.ready()
        if batch_mode(self._env):
            self._observer.note(f"batch polling (GetTasks), {BATCH_ENV} is set")
            stopped_because = (
                run_batch_loop(
                    self._source,
                    self._settings.task_concurrency,
                    self._batch_hooks(),
                    exit_when_idle=self._settings.exit_when_idle,
                )
                or self._stopped_reason()
            )
        else:
            stopped_because = self._poll_loop()
        self._drain()
        with self._cond:
            return RunSummary(
                self._finished,
                self._succeeded,
                self._failed,
                self._unreported,
                self._polls,
                stopped_because,
                tasks_taken=self._claimed,
                finish_lost=self._finish_lost,
            )

    # -- start-up ------------------------------------------------------------------------------

    def _bootstrap_hello(self) -> None:
        metadata = connector_metadata_with_capabilities(
            self._connector, ticketing=self._settings.switches.ticketing
        )
        delay = HELLO_FIRST_BACKOFF_SECONDS
        while True:
            if self._cancel.cancelled:
                raise CancelledError(f"cancelled before the platform answered Hello: {self._cancel.reason}")
            try:
                self._source.hello(metadata)
                return
            except BatonError as exc:
                if exc.code in FATAL_HELLO_CODES:
                    raise
                error = f"{exc} (code {int(exc.code)})"
            except Exception as exc:  # not a platform answer at all (e.g. a local I/O error): retry
                error = str(exc) or type(exc).__name__
            self._observer.note(f"Hello failed: {error}; trying again in {delay:g} s")
            if self._wait(delay):
                raise CancelledError(f"cancelled before the platform answered Hello: {self._cancel.reason}")
            delay = min(delay * 2, HELLO_MAX_BACKOFF_SECONDS)

    def _wait(self, seconds: float) -> bool:
        """Sleep on the runner's token (Ctrl-C wakes it); True when cancelled."""
        if self._sleep is None:
            return self._cancel.wait(seconds)
        self._sleep(seconds)
        return self._cancel.cancelled

    # -- the poll loop -------------------------------------------------------------------------

    def _claimed_enough(self) -> bool:
        limit = self._settings.max_tasks
        with self._cond:
            return limit is not None and self._claimed >= limit

    def _stop_polling(self) -> bool:
        return self._cancel.cancelled or self._claimed_enough()

    def _poll_loop(self) -> str:
        next_check = 0.0
        errors = 0
        while True:
            if self._stop_polling():
                break
            self._observer.poll_scheduled(next_check)
            if next_check > 0 and self._wait(next_check):
                break
            if not self._slots.acquire(self._stop_polling):
                break
            if self._stop_polling():  # became true while waiting for a slot
                self._slots.release()
                break
            try:
                poll = self._source.get_task()
            except Exception as exc:  # sources raise BatonError; back off from anything
                self._slots.release()
                errors += 1
                next_check = min(float(errors * errors), POLL_MAX_BACKOFF_SECONDS)
                self._observer.poll_failed(str(exc), next_check)
                self._observer.note(f"GetTask failed: {exc}; polling again in {next_check:g} s")
                continue
            errors = 0
            next_check = min(max(poll.next_poll, 0.0), NEXT_POLL_MAX_SECONDS)
            with self._cond:
                self._polls += 1
            task = poll.task
            if task is None or is_empty(task):
                self._slots.release()
                self._observer.polled(False)
                if self._settings.exit_when_idle and self._idle():
                    return "no more tasks"
                continue
            self._observer.polled(True)
            self._start(task)
        return self._stopped_reason()

    def _stopped_reason(self) -> str:
        if self._cancel.cancelled:
            return f"cancelled: {self._cancel.reason}" if self._cancel.reason else "cancelled"
        return f"finished {self._settings.max_tasks} task(s) (--max-tasks)"

    def _batch_hooks(self) -> BatchHooks:
        def in_flight() -> list[str]:
            with self._cond:
                return list(self._running)

        def count_poll() -> None:
            with self._cond:
                self._polls += 1

        def budget() -> int | None:
            limit = self._settings.max_tasks
            with self._cond:
                return None if limit is None else limit - self._claimed

        return BatchHooks(
            slots=self._slots,
            start=self._start,
            in_flight=in_flight,
            stop=self._stop_polling,
            wait=self._wait,
            clock=self._clock,
            note=self._observer.note,
            polled=self._observer.polled,
            count_poll=count_poll,
            budget=budget,
        )

    def _idle(self) -> bool:
        with self._cond:
            return not self._running

    def _start(self, task: Task) -> None:
        """Run ``task`` on its own thread; the slot already held goes with it."""
        kind = task_kind(task)
        run = _TaskRun(task, kind)
        with self._cond:
            if task.id in self._running:
                duplicate = True
            else:
                duplicate = False
                self._running[task.id] = run
                self._claimed += 1
        if duplicate:
            # A re-delivery of a task still running here: one run reports it, not two.
            self._slots.release()
            self._observer.note(f"task {task.id} ({kind}) is already running; ignoring the repeat")
            return
        # Daemon thread: a handler stuck in a connector call must not keep the process alive
        # after shutdown has reported its task.
        run.thread = threading.Thread(target=self._run_task, args=(run,), name=f"task-{task.id}", daemon=True)
        run.thread.start()

    def _run_task(self, run: _TaskRun) -> None:
        task_id = run.task.id
        try:
            self._observer.task_started(task_id, run.kind)
            ctx = TaskContext(
                task_id=task_id,
                connector=self._connector,
                source=self._source,
                cancel=run.cancel,
                env=self._env,
                temp_dir=self._settings.c1z_temp_dir,
                workers=self._settings.workers,
                note=lambda message: self._observer.task_note(task_id, run.kind, message),
                on_heartbeat=lambda ok: self._observer.heartbeat(task_id, ok),
                on_sync_phase=lambda phase: self._observer.sync_phase(task_id, phase),
                on_sync_rows=lambda kind, rows: self._observer.sync_rows(task_id, kind, rows),
                on_heartbeat_due=lambda due, fails: self._observer.heartbeat_due(task_id, due, fails),
                on_upload=lambda sent, total: self._observer.upload_progress(task_id, sent, total),
                sleep=self._sleep,
                switches=self._settings.switches,
                skip_full_sync=self._settings.skip_full_sync,
                sync_resource_types=self._settings.sync_resource_types,
            )
            try:
                result = handle_task(run.task, ctx)
            except Exception as exc:  # a handler bug: report it, keep the daemon alive
                result = failure_from(exc, run.cancel, non_retryable=False)
            if isinstance(result, Unreported):
                self._complete(run, result.outcome, send=False)
            else:
                self._complete(run, result, send=True)
        finally:
            with self._cond:
                self._running.pop(task_id, None)
                self._cond.notify_all()
            self._slots.release()

    def _complete(self, run: _TaskRun, outcome: Outcome, *, send: bool) -> None:
        if not run.claim_completion():
            return  # already reported for it at shutdown
        self._deliver(run, outcome, send=send)

    def _deliver(self, run: _TaskRun, outcome: Outcome, *, send: bool) -> None:
        """Report the result ``run`` claimed (the caller won ``claim_completion``)."""
        task_id = run.task.id
        if isinstance(outcome, Failure) and run.cancel.reason == SHUTDOWN_REASON:
            outcome = shutdown_failure(outcome.message)
        delivered = True
        if send:
            delivered = self._send_finish(task_id, outcome)
        elif isinstance(outcome, Failure):
            self._observer.note(
                f"task {task_id} ({run.kind}): {outcome.message} (not reported to the platform)"
            )
        with self._cond:
            self._finished += 1
            if not delivered:
                self._finish_lost += 1
            if not send:
                self._unreported += 1
            elif isinstance(outcome, Failure):
                self._failed += 1
            else:
                self._succeeded += 1
            run.reported = True
            self._cond.notify_all()
        self._observer.task_finished(task_id, run.kind, outcome)

    def _send_finish(self, task_id: str, outcome: Outcome) -> bool:
        """FinishTask until it lands, a failure that retrying cannot fix, or the budget is spent."""
        budget = self._settings.finish_retry_seconds
        started = self._clock()
        waited = 0.0  # also counted on its own, so an injected sleep spends the budget too
        delay = FINISH_FIRST_BACKOFF_SECONDS
        attempt = 1
        while True:
            try:
                # The source sends FinishTask on its own deadline, so it goes out even after cancellation.
                self._source.finish(task_id, outcome)
                return True
            except Exception as exc:
                code = exc.code if isinstance(exc, BatonError) else StatusCode.UNKNOWN
                left = budget - max(waited, self._clock() - started)
                if code not in TRANSIENT_FINISH_CODES or left <= 0 or self._force.cancelled:
                    self._observer.note(
                        f"FinishTask for task {task_id} failed: {exc} (attempt {attempt}; giving up)"
                    )
                    return False
                wait = min(delay, left)
                self._observer.note(
                    f"FinishTask for task {task_id} failed: {exc} (attempt {attempt}; retrying in {wait:g} s)"
                )
            if self._wait_force(wait):
                self._observer.note(f"FinishTask for task {task_id} not retried: stopping now")
                return False
            waited += wait
            delay = min(delay * 2, FINISH_MAX_BACKOFF_SECONDS)
            attempt += 1

    def _wait_force(self, seconds: float) -> bool:
        """Sleep, woken by the force token only (a graceful stop still delivers results)."""
        if self._sleep is None:
            return self._force.wait(seconds)
        self._sleep(seconds)
        return self._force.cancelled

    # -- shutdown ------------------------------------------------------------------------------

    def _pending(self) -> list[_TaskRun]:
        with self._cond:
            # A task counts until its thread has returned (its FinishTask sent), or shutdown gave up on it.
            return [run for run in self._running.values() if not run.abandoned]

    def _wait_for_tasks(self, deadline: float | None) -> bool:
        """Wait for every task to return; give up at the deadline, at a forced stop, or (with no
        deadline) at the first stop signal."""
        while self._pending():
            if self._force.cancelled:
                return False
            if deadline is None and self._cancel.cancelled:
                return False
            if deadline is not None and self._clock() >= deadline:
                return False
            timeout = _TICK_SECONDS if deadline is None else min(_TICK_SECONDS, deadline - self._clock())
            with self._cond:
                self._cond.wait(max(timeout, 0.0))
        return True

    def _drain(self) -> None:
        # Stopped for --max-tasks or idleness: let running tasks finish, unless a stop signal comes.
        if self._wait_for_tasks(None):
            return
        settings = self._settings
        running = self._pending()
        self._observer.stopping(settings.shutdown_grace_seconds, len(running))
        self._observer.note(
            f"shutting down: no new tasks; waiting up to {settings.shutdown_grace_seconds:g} s for "
            f"{len(running)} running task(s)"
        )
        if self._wait_for_tasks(self._clock() + settings.shutdown_grace_seconds):
            return
        running = [run for run in self._pending() if not run.completed]
        if running:
            self._observer.note(f"cancelling {len(running)} task(s) still running")
        for run in running:
            run.cancel.cancel(SHUTDOWN_REASON)
        wait = 0.0 if self._force.cancelled else settings.cancel_wait_seconds
        if self._wait_for_tasks(self._clock() + wait):
            return
        for run in self._pending():
            # Claimed first: a task thread that decided its result a moment ago delivers it
            # itself (waited for below), and is not marked abandoned.
            if not run.claim_completion():
                continue
            message = f"{SHUTDOWN_REASON} (the task did not stop within {wait:g} s of being cancelled)"
            run.abandoned = True
            # A hello task is never answered with FinishTask, even now.
            self._deliver(run, shutdown_failure(message), send=run.kind != "hello")
        self._wait_for_deliveries()

    def _wait_for_deliveries(self) -> None:
        """Wait until every result a task thread has claimed is sent, even after a second signal.

        The process exits when this returns and task threads are daemons: a FinishTask in
        flight would be cut off and the task left running on the platform. The wait is bounded
        without a deadline of its own: a second signal stops the FinishTask retries, leaving one
        attempt on its own RPC deadline. Tasks that never claimed a result were reported above.
        """

        def in_flight() -> int:
            return sum(run.completed and not run.reported for run in self._running.values())

        with self._cond:
            count = in_flight()
        if count:
            self._observer.note(f"still delivering the result of {count} task(s)")
        with self._cond:
            while in_flight():
                self._cond.wait(_TICK_SECONDS)


def shutdown_failure(message: str) -> Failure:
    """A task we stopped: retryable, so the platform gives it to another runner."""
    text = message if SHUTDOWN_REASON in message else f"{SHUTDOWN_REASON}: {message}"
    return Failure(int(SHUTDOWN_CODE), text, non_retryable=False)


__all__ = [
    "NullRunnerObserver",
    "RunSummary",
    "Runner",
    "RunnerObserver",
    "RunnerObservers",
    "RunnerSettings",
    "shutdown_failure",
]
