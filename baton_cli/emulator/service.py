"""BatonService semantics over the task queue; transport-free, called from worker threads.

Each unary handler takes and returns protobuf messages and raises ``GrpcError`` (or a
``BatonError``, whose ``code`` is already a gRPC status) to end the call with a status. Pacing
mirrors what runners obey (runner.md §3, §6.1): ``next_poll`` on every GetTask answer and
``next_heartbeat`` on GetTask and Heartbeat answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import duration_pb2

from baton_cli.emulator.events import EventLog
from baton_cli.emulator.grpc_framing import GrpcError
from baton_cli.emulator.queue import TaskQueue
from baton_cli.emulator.uploads import check_ids
from baton_cli.errors import BatonError, StatusCode
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

pb = baton_pb2
MAX_PAGE = 100  # GetTasksRequest.page_size: 0 < n <= 100 (wire.md §3)


@dataclass(frozen=True, slots=True)
class Pacing:
    next_poll: float = 1.0
    next_heartbeat: float = 10.0


def _duration(seconds: float) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def _require_host(host_id: str) -> None:
    if not 1 <= len(host_id) <= 256:
        raise GrpcError(StatusCode.INVALID_ARGUMENT, "host_id must be 1..256 characters")


class BatonService:
    def __init__(self, queue: TaskQueue, events: EventLog, pacing: Pacing) -> None:
        self.queue = queue
        self._events = events
        self._pacing = pacing

    def hello(self, request: pb.BatonServiceHelloRequest) -> pb.BatonServiceHelloResponse:
        _require_host(request.host_id)
        if request.task_id:
            check_ids(request.host_id, request.task_id)
        self.queue.record_hello(request.host_id, request)
        name = request.connector_metadata.display_name or "unnamed connector"
        suffix = f" answering task {request.task_id}" if request.task_id else ""
        self._events.add(f"hello from {request.host_id} ({name}){suffix}")
        return pb.BatonServiceHelloResponse()

    def get_task(self, request: pb.BatonServiceGetTaskRequest) -> pb.BatonServiceGetTaskResponse:
        _require_host(request.host_id)
        self.queue.note_poll(request.host_id)
        response = pb.BatonServiceGetTaskResponse(
            next_poll=_duration(self._pacing.next_poll), next_heartbeat=_duration(self._pacing.next_heartbeat)
        )
        task = self.queue.lease(request.host_id)
        if task is not None:
            response.task.CopyFrom(task)
            self._leased(task, request.host_id)
        return response

    def get_tasks(self, request: pb.BatonServiceGetTasksRequest) -> pb.BatonServiceGetTasksResponse:
        _require_host(request.host_id)
        if not 0 < request.page_size <= MAX_PAGE:
            raise GrpcError(StatusCode.INVALID_ARGUMENT, f"page_size must be 1..{MAX_PAGE}")
        self.queue.note_poll(request.host_id)
        response = pb.BatonServiceGetTasksResponse(
            next_poll=_duration(self._pacing.next_poll), next_heartbeat=_duration(self._pacing.next_heartbeat)
        )
        # known_task_ids are tasks the runner already holds; the queue never re-leases a task
        # whose holder is alive, so they need no special handling here.
        while len(response.tasks) < request.page_size:
            task = self.queue.lease(request.host_id)
            if task is None:
                break
            response.tasks.append(task)
            self._leased(task, request.host_id, via=" (GetTasks)")
        return response

    def heartbeat(self, request: pb.BatonServiceHeartbeatRequest) -> pb.BatonServiceHeartbeatResponse:
        _require_host(request.host_id)
        response = pb.BatonServiceHeartbeatResponse(next_heartbeat=_duration(self._pacing.next_heartbeat))
        if request.task_id:
            check_ids(request.host_id, request.task_id)
            response.cancelled = self.queue.heartbeat(request.task_id, request.host_id)
            if response.cancelled:
                self._events.add(f"heartbeat for task {request.task_id}: told to cancel")
        elif not request.task_ids:
            raise GrpcError(StatusCode.INVALID_ARGUMENT, "task_id or task_ids is required")
        for task_id in request.task_ids:  # the batch form: a task we cannot extend is cancelled
            check_ids(request.host_id, task_id)
            try:
                cancelled = self.queue.heartbeat(task_id, request.host_id)
            except BatonError:
                cancelled = True
            if cancelled:
                response.cancelled_task_ids.append(task_id)
        return response

    def finish_task(self, request: pb.BatonServiceFinishTaskRequest) -> pb.BatonServiceFinishTaskResponse:
        check_ids(request.host_id, request.task_id)
        state = request.WhichOneof("final_state")
        if state is None:
            raise GrpcError(StatusCode.INVALID_ARGUMENT, "one of success or error is required")
        if state == "success":
            outcome = request.success
            code, message, non_retryable = 0, "", False
        else:
            outcome = request.error  # type: ignore[assignment]  # both carry annotations + response
            # An error without a status (or with OK) is still an error: record UNKNOWN.
            code = request.status.code or int(StatusCode.UNKNOWN)
            message, non_retryable = request.status.message, request.error.non_retryable
        recorded = self.queue.finish(
            request.task_id,
            request.host_id,
            status_code=code,
            status_message=message,
            non_retryable=non_retryable,
            response=outcome.response.SerializeToString() if outcome.HasField("response") else b"",
            annotations=[a.SerializeToString() for a in outcome.annotations],
        )
        if not recorded:
            self._events.add(
                f"task {request.task_id}: repeated FinishTask from {request.host_id} (kept the first)"
            )
            return pb.BatonServiceFinishTaskResponse()
        verdict = "succeeded" if code == 0 else f"failed ({StatusCode(code).name if code < 17 else code})"
        extra = ", non-retryable" if non_retryable else ""
        self._events.add(f"task {request.task_id} {verdict} on {request.host_id}{extra}")
        return pb.BatonServiceFinishTaskResponse()

    def start_debugging(self, request: pb.StartDebuggingRequest) -> pb.StartDebuggingResponse:
        self._events.add("StartDebugging called (upstream runners never do)")
        return pb.StartDebuggingResponse(status=True)

    def cancel(self, task_id: str) -> None:
        """The cancel_task fault: a task that is gone or finished is left alone."""
        try:
            self.queue.cancel(task_id)
        except BatonError:
            return
        self._events.add(f"fault: cancellation requested for task {task_id}")

    def _leased(self, task: pb.Task, host_id: str, via: str = "") -> None:
        self._events.add(f"task {task.id} ({task.WhichOneof('task_type')}) leased to {host_id}{via}")
