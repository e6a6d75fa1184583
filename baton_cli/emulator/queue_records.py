"""Read-only views of queue rows: what `baton emulator tasks` and the server's live view show."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Final

from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

PENDING: Final = "pending"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
STATES: Final = (PENDING, RUNNING, DONE, FAILED, CANCELLED)
FINISHED_STATES: Final = frozenset({DONE, FAILED, CANCELLED})

# The Task.status the runner would see for each state (it never reads it, runner.md §4).
WIRE_STATUS: Final = {
    PENDING: baton_pb2.Task.STATUS_PENDING,
    RUNNING: baton_pb2.Task.STATUS_RUNNING,
    DONE: baton_pb2.Task.STATUS_FINISHED,
    FAILED: baton_pb2.Task.STATUS_FINISHED,
    CANCELLED: baton_pb2.Task.STATUS_FINISHED,
}


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task's life so far; times are seconds from the queue's clock (Unix time by default)."""

    id: str
    kind: str  # the Task.task_type oneof field name: "sync_full", "grant", ...
    state: str  # one of STATES
    attempts: int  # leases so far, re-deliveries included
    host_id: str  # the current or last holder; "" while never leased
    created_at: float
    leased_at: float | None
    last_heartbeat_at: float | None
    finished_at: float | None
    status_code: int | None  # gRPC code from FinishTask; None until finished
    status_message: str
    non_retryable: bool
    cancel_requested: bool
    upload_path: str
    upload_sha256: str
    upload_counts: dict[str, int] | None


@dataclass(frozen=True, slots=True)
class TaskResult:
    """What FinishTask carried besides the status: serialized ``google.protobuf.Any`` values."""

    response: bytes
    annotations: list[bytes]


@dataclass(frozen=True, slots=True)
class HostRecord:
    """A runner seen by the emulator, by the host_id it sends on every call."""

    host_id: str
    first_seen: float
    last_seen: float
    connector_name: str  # ConnectorMetadata.display_name from the latest Hello
    os_summary: str  # e.g. "linux/amd64 ubuntu 24.04 (host01)"
    build_summary: str  # e.g. "github.com/x/baton-demo 1.2.3 (go1.23.0)"


TASK_COLUMNS: Final = (
    "id, kind, state, attempts, host_id, created_at, leased_at, last_heartbeat_at, finished_at, "
    "status_code, status_message, non_retryable, cancel_requested, upload_path, upload_sha256, upload_counts"
)
HOST_COLUMNS: Final = "host_id, first_seen, last_seen, connector_name, os_summary, build_summary"


def _opt_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def task_record(row: sqlite3.Row) -> TaskRecord:
    counts = row["upload_counts"]
    return TaskRecord(
        id=str(row["id"]),
        kind=str(row["kind"]),
        state=str(row["state"]),
        attempts=int(row["attempts"]),
        host_id=str(row["host_id"]),
        created_at=float(row["created_at"]),
        leased_at=_opt_float(row["leased_at"]),
        last_heartbeat_at=_opt_float(row["last_heartbeat_at"]),
        finished_at=_opt_float(row["finished_at"]),
        status_code=None if row["status_code"] is None else int(row["status_code"]),
        status_message=str(row["status_message"]),
        non_retryable=bool(row["non_retryable"]),
        cancel_requested=bool(row["cancel_requested"]),
        upload_path=str(row["upload_path"]),
        upload_sha256=str(row["upload_sha256"]),
        upload_counts=None if counts is None else {str(k): int(v) for k, v in json.loads(counts).items()},
    )


def host_record(row: sqlite3.Row) -> HostRecord:
    return HostRecord(
        host_id=str(row["host_id"]),
        first_seen=float(row["first_seen"]),
        last_seen=float(row["last_seen"]),
        connector_name=str(row["connector_name"]),
        os_summary=str(row["os_summary"]),
        build_summary=str(row["build_summary"]),
    )


def os_summary(hello: baton_pb2.BatonServiceHelloRequest) -> str:
    info = hello.os_info
    words = [f"{info.os}/{info.kernel_arch}" if info.os or info.kernel_arch else ""]
    words += [info.platform, info.platform_version]
    text = " ".join(w for w in words if w)
    return f"{text} ({info.hostname})" if info.hostname else text


def build_summary(hello: baton_pb2.BatonServiceHelloRequest) -> str:
    build = hello.build_info
    text = " ".join(w for w in (build.package, build.package_version) if w)
    return f"{text} ({build.lang_version})" if build.lang_version else text
