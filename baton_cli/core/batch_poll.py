"""Batch polling (runner.md §3.1): GetTasks fills a local queue, the runner's slots drain it.

Opt-in with ``BATON_GET_TASKS`` set to a value Go's ``strconv.ParseBool`` reads
as true. The queue's low water mark is the task concurrency and its high water
mark twice that: while fewer than ``low`` tasks are queued or running and the
server's ``next_poll`` has passed, ask for ``high - known`` more, telling the
server which ids are already held. A failed fetch backs off errCount² seconds
(at most 60 s) as single-task polling does. With nothing to do the loop waits out ``next_poll``,
or 100 ms when there is none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from baton_cli.core.task_source import Task, TaskSource

BATCH_ENV = "BATON_GET_TASKS"
# Go's strconv.ParseBool true spellings; anything else (including its false ones) is off.
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
IDLE_WAIT_SECONDS = 0.1
POLL_MAX_BACKOFF_SECONDS = 60.0
NEXT_POLL_MAX_SECONDS = 300.0


def batch_mode(env: Mapping[str, str]) -> bool:
    return env.get(BATCH_ENV, "") in GO_TRUE


class Slots(Protocol):
    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...

    def wait_for_free(self, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class BatchHooks:
    """What the loop needs from the runner (kept narrow so the runner's internals stay its own)."""

    slots: Slots
    start: Callable[[Task], None]  # runs the task on its thread; the caller already holds a slot
    in_flight: Callable[[], Sequence[str]]
    stop: Callable[[], bool]
    wait: Callable[[float], bool]  # True when cancelled
    clock: Callable[[], float]
    note: Callable[[str], None]
    polled: Callable[[bool], None]
    count_poll: Callable[[], None]
    budget: Callable[[], int | None]  # tasks still allowed under --max-tasks, None for no limit


def run_batch_loop(source: TaskSource, concurrency: int, hooks: BatchHooks, *, exit_when_idle: bool) -> str:
    """Returns why it stopped with "" for "stopped polling" (cancel or --max-tasks)."""
    low, high = concurrency, 2 * concurrency
    queue: deque[Task] = deque()
    next_poll_at = 0.0
    errors = 0
    while not hooks.stop():
        while queue and hooks.slots.try_acquire():
            hooks.start(queue.popleft())
        running = list(hooks.in_flight())
        known = [task.id for task in queue] + running
        now = hooks.clock()
        if len(known) < low and now >= next_poll_at:
            page_size = high - len(known)
            budget = hooks.budget()
            if budget is not None:
                page_size = min(page_size, budget - len(queue))
            if page_size <= 0:
                if not queue and not running:
                    return ""
                hooks.slots.wait_for_free(IDLE_WAIT_SECONDS)
                continue
            try:
                batch = source.get_tasks(page_size, known)
            except Exception as exc:  # sources raise BatonError; back off from anything
                # Upstream ignores a failed fetch while tasks are queued. Here the queue only holds
                # tasks while every slot is busy, and then nothing is fetched, so it is empty now.
                errors += 1
                delay = min(float(errors * errors), POLL_MAX_BACKOFF_SECONDS)
                hooks.note(f"GetTasks failed: {exc}; polling again in {delay:g} s")
                if hooks.wait(delay):
                    break
                continue
            errors = 0
            hooks.count_poll()
            next_poll_at = now + min(max(batch.next_poll, 0.0), NEXT_POLL_MAX_SECONDS)
            seen = set(known)
            fresh = []
            for task in batch.tasks:
                if task.id in seen or task.WhichOneof("task_type") in (None, "none"):
                    continue
                seen.add(task.id)
                fresh.append(task)
            queue.extend(fresh)
            hooks.polled(bool(fresh))
            if queue:
                continue
            if exit_when_idle and not hooks.in_flight():
                return "no more tasks"
        elif queue:
            hooks.slots.wait_for_free(IDLE_WAIT_SECONDS)
            continue
        remaining = next_poll_at - hooks.clock()
        if hooks.wait(remaining if remaining > 0 else IDLE_WAIT_SECONDS):
            break
    return ""
