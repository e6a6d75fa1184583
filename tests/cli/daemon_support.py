"""`baton run` of the demo plugin against a real emulator on 127.0.0.1 over TLS.

``run_daemon`` runs it in-process through the console entry point (tests/cli/invoke.py): the
tests read what the daemon did to the emulator's tasks, and its exit code and output. Signals,
the live view on a terminal and what reaches stdout versus stderr are tested on real processes
(tests/cli/daemon_process.py, test_daemon_signals.py, test_daemon_view.py, test_daemon_logs.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import Message

from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.service import Pacing
from tests.cli.invoke import Invocation, baton_here

M = TypeVar("M", bound=Message)

# Each end-to-end test runs in both polling modes: GetTask, and GetTasks batches (runner.md §3.1).
POLLING_MODES = {"single": {}, "batch": {"BATON_GET_TASKS": "1"}}


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    server = EmulatorServer(
        tmp_path / "emulator", "127.0.0.1", 0, pacing=Pacing(next_poll=0.05, next_heartbeat=1.0)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_daemon(
    emulator: EmulatorServer,
    tmp_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
) -> Invocation:
    creds = emulator.mint_credentials("demo-runner", replace=True)
    return baton_here(
        "run",
        "--plugin",
        "demo",
        "--client-id",
        creds.client_id,
        "--ca-file",
        str(emulator.ca_file),
        "--exit-when-idle",
        "--provisioning",
        "--ticketing",
        "--state-file",
        str(tmp_path / "state.json"),
        *extra,
        cwd=tmp_path,
        env={"BATON_CLIENT_SECRET": creds.client_secret, **(env or {})},
    )


def response_of(emulator: EmulatorServer, task_id: str, message: M) -> M:
    """Unpack the FinishTask response of ``task_id`` into ``message``; fails if it is another type."""
    packed = AnyPb.FromString(emulator.queue.result(task_id).response)
    assert packed.Unpack(message), f"task {task_id} answered {packed.type_url}"
    return message


def annotations_of(emulator: EmulatorServer, task_id: str) -> list[AnyPb]:
    return [AnyPb.FromString(value) for value in emulator.queue.result(task_id).annotations]
