"""A task source for one-shot commands: no platform, the result is kept for the caller."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from baton_cli.core.task_source import Batch, Beat, Outcome, Poll
from baton_cli.errors import FailedPreconditionError
from baton_cli.pb.c1.connector.v2 import connector_pb2


class LocalTaskSource:
    """Hands out nothing, never cancels, and records the FinishTask a handler sends."""

    host_id = "local"

    def __init__(self) -> None:
        self.outcome: Outcome | None = None

    def hello(self, metadata: connector_pb2.ConnectorMetadata, task_id: str = "") -> None:
        pass

    def get_task(self) -> Poll:
        return Poll(None, 0.0)

    def get_tasks(self, page_size: int, known_task_ids: Sequence[str]) -> Batch:
        return Batch((), 0.0)

    def heartbeat(self, task_id: str) -> Beat:
        return Beat(cancelled=False, next_heartbeat=None)

    def finish(self, task_id: str, outcome: Outcome) -> None:
        self.outcome = outcome

    def upload(
        self, task_id: str, path: Path, *, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        raise FailedPreconditionError("one-shot commands do not upload; use `baton sync --out FILE`")
