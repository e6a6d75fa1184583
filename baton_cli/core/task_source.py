"""Where tasks come from and where their results go: the seam between the runner and the platform.

The daemon's source is the platform over gRPC (``baton_cli.transport``); tests use
a scripted fake or the local emulator. Sources raise ``BatonError`` subclasses
whose ``code`` is the gRPC status of the failed call; they never raise
``grpc.RpcError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.pb.c1.connector.v2 import connector_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task


@dataclass(frozen=True, slots=True)
class Poll:
    """A GetTask answer: a task (None when there is no work) and when to ask again."""

    task: Task | None
    next_poll: float  # seconds, already clamped to [0, 300]


@dataclass(frozen=True, slots=True)
class Batch:
    """A GetTasks answer (batch mode, runner.md §3.1): the tasks handed out and when to ask again."""

    tasks: Sequence[Task]
    next_poll: float  # seconds, already clamped to [0, 300]


@dataclass(frozen=True, slots=True)
class Beat:
    """A Heartbeat answer."""

    cancelled: bool
    next_heartbeat: float | None  # seconds as sent by the server; None when absent or zero


@dataclass(frozen=True, slots=True)
class Success:
    response: AnyPb | None = None
    annotations: Sequence[AnyPb] = ()


@dataclass(frozen=True, slots=True)
class Failure:
    code: int  # gRPC status code
    message: str
    non_retryable: bool = False
    details: Sequence[AnyPb] = ()
    annotations: Sequence[AnyPb] = field(default_factory=tuple)


Outcome = Success | Failure


class TaskSource(Protocol):
    @property
    def host_id(self) -> str: ...

    def hello(self, metadata: connector_pb2.ConnectorMetadata, task_id: str = "") -> None:
        """Announce this runner (bootstrap with task_id "", or answering a Hello task)."""
        ...

    def get_task(self) -> Poll: ...

    def get_tasks(self, page_size: int, known_task_ids: Sequence[str]) -> Batch:
        """Batch mode: up to ``page_size`` tasks; ``known_task_ids`` are those already held."""
        ...

    def heartbeat(self, task_id: str) -> Beat: ...

    def finish(self, task_id: str, outcome: Outcome) -> None:
        """Report a task's result; must be sent even after cancellation (own deadline)."""
        ...

    def upload(
        self, task_id: str, path: Path, *, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Stream a file (a c1z, or a debug log) to the platform for this task;
        ``on_progress(sent, total)`` hears of the bytes sent (each attempt starts again at 0)."""
        ...
