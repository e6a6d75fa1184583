"""A scripted task source and small connectors for runner tests.

``FakeTaskSource`` hands out a script of polls (tasks, Poll values or exceptions
to raise), then empty polls; heartbeats and hellos follow their own scripts.
Everything it is asked to do is recorded, thread-safely, for assertions.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from baton_cli.connector import resolve_config
from baton_cli.connector.api import (
    Connector,
    ConnectorMetadata,
    Entitlement,
    Grant,
    Page,
    Resource,
    ResourceId,
    ResourceSyncer,
    ResourceType,
)
from baton_cli.connector.demo import plugin as demo_plugin
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers import TaskContext
from baton_cli.core.handlers.gate import ONE_SHOT, Switches
from baton_cli.core.runner_events import NullRunnerObserver
from baton_cli.core.task_source import Batch, Beat, Outcome, Poll, Task
from baton_cli.pb.c1.connector.v2 import connector_pb2

HOST_ID = "test-host"

PollStep = Task | Poll | Batch | BaseException
BeatStep = Beat | BaseException


class FakeTaskSource:
    def __init__(
        self,
        polls: Iterable[PollStep] = (),
        *,
        hellos: Iterable[BaseException | None] = (),
        beats: Iterable[BeatStep] = (),
        default_beat: Beat | None = None,
        upload_error: BaseException | None = None,
        finish_error: BaseException | None = None,
        finish_failures: Iterable[BaseException] = (),
        upload_dir: Path | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._polls: deque[PollStep] = deque(polls)
        self._hellos: deque[BaseException | None] = deque(hellos)
        self._beats: deque[BeatStep] = deque(beats)
        self._default_beat = default_beat or Beat(cancelled=False, next_heartbeat=None)
        self._upload_error = upload_error
        self._finish_error = finish_error
        self._finish_failures: deque[BaseException] = deque(finish_failures)  # raised first, once each
        self._upload_dir = upload_dir
        self.hello_calls: list[tuple[ConnectorMetadata, str]] = []
        self.get_task_calls = 0
        self.get_tasks_calls: list[tuple[int, list[str]]] = []  # (page_size, known_task_ids)
        self.heartbeat_calls: list[str] = []
        self.finished: list[tuple[str, Outcome]] = []
        self.uploads: list[tuple[str, Path]] = []  # copies, kept after the runner deletes its file

    @property
    def host_id(self) -> str:
        return HOST_ID

    def add_polls(self, *steps: PollStep) -> None:
        with self._changed:
            self._polls.extend(steps)

    def hello(self, metadata: ConnectorMetadata, task_id: str = "") -> None:
        with self._changed:
            self.hello_calls.append((metadata, task_id))
            step = self._hellos.popleft() if self._hellos else None
        if step is not None:
            raise step

    def get_task(self) -> Poll:
        with self._changed:
            self.get_task_calls += 1
            step = self._polls.popleft() if self._polls else Poll(None, 0.0)
            self._changed.notify_all()
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, Poll):
            return step
        assert not isinstance(step, Batch), "a Batch step needs batch mode (BATON_GET_TASKS)"
        return Poll(step, 0.0)

    def get_tasks(self, page_size: int, known_task_ids: Sequence[str]) -> Batch:
        """Batch mode: one script step per call; a Batch step is returned as it is."""
        with self._changed:
            self.get_tasks_calls.append((page_size, list(known_task_ids)))
            step = self._polls.popleft() if self._polls else Batch((), 0.0)
            self._changed.notify_all()
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, Batch):
            return step
        if isinstance(step, Poll):
            return Batch([step.task] if step.task is not None else [], step.next_poll)
        return Batch([step], 0.0)

    def heartbeat(self, task_id: str) -> Beat:
        with self._changed:
            self.heartbeat_calls.append(task_id)
            step = self._beats.popleft() if self._beats else self._default_beat
            self._changed.notify_all()
        if isinstance(step, BaseException):
            raise step
        return step

    def finish(self, task_id: str, outcome: Outcome) -> None:
        with self._changed:
            self.finished.append((task_id, outcome))
            failure = self._finish_failures.popleft() if self._finish_failures else None
            self._changed.notify_all()
        if failure is not None:
            raise failure
        if self._finish_error is not None:
            raise self._finish_error

    def upload(
        self, task_id: str, path: Path, *, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        if self._upload_error is not None:
            raise self._upload_error
        directory = self._upload_dir or path.parent
        copy = directory / f"uploaded-{task_id}-{len(self.uploads)}.c1z"
        copy.write_bytes(path.read_bytes())
        with self._changed:
            self.uploads.append((task_id, copy))

    def outcome(self, task_id: str) -> Outcome:
        with self._lock:
            outcomes = [o for t, o in self.finished if t == task_id]
        assert len(outcomes) == 1, f"task {task_id} finished {len(outcomes)} times"
        return outcomes[0]

    def wait_for(self, predicate: Callable[[FakeTaskSource], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                assert remaining > 0, "timed out waiting for the runner"
                self._changed.wait(min(remaining, 0.05))


@dataclass
class Recorder(NullRunnerObserver):
    """A RunnerObserver that keeps everything."""

    started: list[tuple[str, str]] = field(default_factory=list)
    finished: list[tuple[str, str, Outcome]] = field(default_factory=list)
    beats: list[tuple[str, bool]] = field(default_factory=list)
    polls: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # ready / stopping / poll_failed, in order

    def ready(self) -> None:
        self.events.append("ready")

    def poll_failed(self, error: str, retry_in: float) -> None:
        self.events.append(f"poll_failed {retry_in:g}")

    def stopping(self, grace_seconds: float, running: int) -> None:
        self.events.append(f"stopping {grace_seconds:g} {running}")

    def task_started(self, task_id: str, kind: str) -> None:
        self.started.append((task_id, kind))

    def task_finished(self, task_id: str, kind: str, outcome: Outcome) -> None:
        self.finished.append((task_id, kind, outcome))

    def heartbeat(self, task_id: str, ok: bool) -> None:
        self.beats.append((task_id, ok))

    def polled(self, found: bool) -> None:
        self.polls.append(found)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def task_note(self, task_id: str, kind: str, message: str) -> None:
        self.notes.append(message)


class SleepRecorder:
    """An injected sleep: records every wait and yields briefly instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)
        time.sleep(0.001)


# -- connectors ----------------------------------------------------------------------------------


def demo(tmp_path: Path, *flags: str, state: bool = True) -> Connector:
    """The bundled demo connector, as the CLI builds it; ``state`` adds a --state-file."""
    argv = [*flags, "--state-file", str(tmp_path / "demo-state.json")] if state else list(flags)
    return demo_plugin.factory(resolve_config(demo_plugin.fields, argv, {}, None, cwd=tmp_path))


def resource_type(type_id: str) -> ResourceType:
    return ResourceType(id=type_id, display_name=type_id.title())


class PlainSyncer:
    """A resource type with one resource and nothing else."""

    def __init__(self, type_id: str) -> None:
        self._type = resource_type(type_id)

    @property
    def resource_type(self) -> ResourceType:
        return self._type

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        rid = ResourceId(resource_type=self._type.id, resource="one")
        return Page([Resource(id=rid, display_name="One")] if parent is None else [])

    def entitlements(self, resource: Resource, page_token: str) -> Page[Entitlement]:
        return Page([])

    def grants(self, resource: Resource, page_token: str) -> Page[Grant]:
        return Page([])


class FakeConnector:
    def __init__(self, *syncers: ResourceSyncer, validate_error: BaseException | None = None) -> None:
        self._syncers = syncers
        self._validate_error = validate_error

    def metadata(self) -> ConnectorMetadata:
        return connector_pb2.ConnectorMetadata(display_name="Fake")

    def validate(self) -> None:
        if self._validate_error is not None:
            raise self._validate_error

    def resource_syncers(self) -> Sequence[ResourceSyncer]:
        return self._syncers


class EndlessSyncer(PlainSyncer):
    """Lists page after page forever, a few ms each: a sync that only cancellation ends."""

    def __init__(self, type_id: str = "thing", started: threading.Event | None = None) -> None:
        super().__init__(type_id)
        self.started = started or threading.Event()
        self.pages = 0

    def list(self, parent: ResourceId | None, page_token: str) -> Page[Resource]:
        self.started.set()
        self.pages += 1
        time.sleep(0.002)
        rid = ResourceId(resource_type=self.resource_type.id, resource=f"r{self.pages}")
        return Page([Resource(id=rid, display_name=rid.resource)], next_token=f"page-{self.pages}")


def context(
    connector: Connector,
    source: FakeTaskSource | None = None,
    *,
    task_id: str = "t1",
    cancel: CancelToken | None = None,
    temp_dir: Path | None = None,
    sleep: Callable[[float], None] | None = None,
    notes: list[str] | None = None,
    switches: Switches = ONE_SHOT,
) -> TaskContext:
    """A handler context for calling handlers directly (provisioning allowed unless ``switches`` say)."""
    return TaskContext(
        task_id=task_id,
        connector=connector,
        source=source or FakeTaskSource(),
        cancel=cancel or CancelToken(),
        env={},
        temp_dir=temp_dir,
        note=(notes.append if notes is not None else lambda _m: None),
        sleep=sleep,
        switches=switches,
    )
