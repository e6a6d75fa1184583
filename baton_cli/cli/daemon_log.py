"""The daemon's events as log records (logger ``baton_cli.runner``), through the logging pipeline.

Task events carry ``task_id`` and ``task_kind`` as record fields, so JSON lines have them as
keys; the message text stays readable on a console.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from baton_cli.core.runner_events import NullRunnerObserver

if TYPE_CHECKING:
    from baton_cli.core.task_source import Outcome

log = logging.getLogger("baton_cli.runner")


def _task(task_id: str, kind: str, **fields: object) -> dict[str, object]:
    return {"task_id": task_id, "task_kind": kind, **fields}


class LogObserver(NullRunnerObserver):
    def ready(self) -> None:
        log.info("ready: polling for tasks")

    def task_started(self, task_id: str, kind: str) -> None:
        log.info("task %s (%s) started", task_id, kind, extra=_task(task_id, kind))

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        from baton_cli.core.task_source import Failure

        if isinstance(outcome, Failure):
            retry = "non-retryable" if outcome.non_retryable else "retryable"
            log.warning(
                "task %s (%s) failed (%s, code %d): %s",
                task_id,
                kind,
                retry,
                outcome.code,
                outcome.message,
                extra=_task(task_id, kind, code=outcome.code, retryable=not outcome.non_retryable),
            )
        else:
            log.info("task %s (%s) done", task_id, kind, extra=_task(task_id, kind))

    def heartbeat(self, task_id: str, ok: bool) -> None:
        if not ok:
            log.warning("task %s: heartbeat failed", task_id, extra={"task_id": task_id})

    def task_note(self, task_id: str, kind: str, message: str) -> None:
        log.info("%s", message, extra=_task(task_id, kind))

    def stopping(self, grace_seconds: float, running: int) -> None:
        pass  # the runner's own note says it in words

    def note(self, message: str) -> None:
        log.info("%s", message)
