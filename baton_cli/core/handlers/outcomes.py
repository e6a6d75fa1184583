"""Outcomes shared by the ticket, action and event handlers, whose connector errors are retryable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.core.handlers.common import TaskContext, failure_from
from baton_cli.core.task_source import Failure, Outcome
from baton_cli.errors import StatusCode


def retryable(ctx: TaskContext, action: Callable[[], Outcome], annotations: Sequence[AnyPb] = ()) -> Outcome:
    """Run a connector call; a failure is reported retryable with ``annotations``."""
    try:
        return action()
    except Exception as exc:  # a connector may raise anything; the daemon must carry on
        return replace(failure_from(exc, ctx.cancel, non_retryable=False), annotations=tuple(annotations))


def final(message: str, annotations: Sequence[AnyPb] = ()) -> Failure:
    """A failure no retry can fix (upstream joins ErrTaskNonRetryable; no gRPC status: UNKNOWN)."""
    return Failure(int(StatusCode.UNKNOWN), message, non_retryable=True, annotations=tuple(annotations))


def merged(response_annotations: Sequence[AnyPb], task_annotations: Sequence[AnyPb]) -> list[AnyPb]:
    """Upstream's Annotations.Merge: the task's annotations appended after the response's."""
    return [*response_annotations, *task_annotations]
