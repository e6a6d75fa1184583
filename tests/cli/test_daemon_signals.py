"""Stop signals for a real `baton run` against the real emulator: drain, re-deliver, clean up."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.service import Pacing
from tests.cli.daemon_process import DaemonProcess

SLOW = "tests.cli.slow_plugin:plugin"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    server = EmulatorServer(
        tmp_path / "emulator",
        "127.0.0.1",
        0,
        pacing=Pacing(next_poll=0.05, next_heartbeat=1.0),
        max_attempts=3,  # a retryable failure is handed out again, as the platform does
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for_connector_call(log: Path, timeout: float = 60) -> None:
    """The slow plugin appends a line per connector call: the sync is under way."""
    deadline = time.monotonic() + timeout
    while not (log.exists() and log.read_text().strip()):
        assert time.monotonic() < deadline, f"the connector was never called ({log})"
        time.sleep(0.02)


def start_daemon(
    emulator: EmulatorServer, tmp_path: Path, host: str, *extra: str, slow: bool = True
) -> DaemonProcess:
    creds = emulator.mint_credentials(host)
    plugin_args = ["--count", "100000", "--delay-ms", "20"] if slow else ["--count", "30", "--delay-ms", "0"]
    return DaemonProcess(
        [
            "--plugin",
            SLOW,
            "--client-id",
            creds.client_id,
            "--ca-file",
            str(emulator.ca_file),
            "--c1z-temp-dir",
            str(tmp_path / "work"),
            *extra,
            *plugin_args,
            "--log-file",
            str(tmp_path / f"{host}-calls.log"),
        ],
        cwd=tmp_path,
        env={"BATON_CLIENT_SECRET": creds.client_secret, "BATON_HOST_ID": host},
    )


def test_sigterm_drains_reports_retryable_and_a_second_runner_finishes_the_tasks(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    ids = [emulator.queue.enqueue(tb.sync_task()) for _ in range(3)]
    first = start_daemon(emulator, tmp_path, "runner-a", "--shutdown-grace", "1")
    try:
        first.wait_for_lines("(sync_full) started", count=3)
        first.signal(signal.SIGTERM)
        code = first.finish()
    finally:
        first.stop()
    assert code == 0, first.stderr  # a requested stop is a clean exit
    assert len([line for line in first.lines if "shutting down: no new tasks" in line]) == 1
    assert "cancelling 3 task(s) still running" in first.stderr
    assert "Traceback" not in first.stderr
    for task_id in ids:
        record = emulator.queue.get(task_id)
        # Retryable, not CANCELLED: the queue put each one back for another runner.
        assert (record.state, record.status_code, record.attempts) == ("pending", 14, 1), record
        assert "runner shutting down" in record.status_message and not record.non_retryable
    assert list((tmp_path / "work").iterdir()) == []  # no c1z, no work db, no lock left

    second = start_daemon(emulator, tmp_path, "runner-b", "--exit-when-idle", slow=False)
    assert second.finish() == 0, second.stderr
    for task_id in ids:
        record = emulator.queue.get(task_id)
        assert (record.state, record.host_id, record.attempts) == ("done", "runner-b", 2)
        assert record.upload_counts is not None and record.upload_counts["resources"] == 30
    assert list((tmp_path / "work").iterdir()) == []


def test_a_second_signal_stops_at_once_and_still_reports_the_tasks(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    ids = [emulator.queue.enqueue(tb.sync_task()) for _ in range(2)]
    daemon = start_daemon(emulator, tmp_path, "runner-c", "--shutdown-grace", "600")
    try:
        daemon.wait_for_lines("(sync_full) started", count=2)
        daemon.signal(signal.SIGINT)
        daemon.wait_for_lines("shutting down: no new tasks")
        daemon.signal(signal.SIGTERM)
        code = daemon.finish()
    finally:
        daemon.stop()
    assert code == 1, daemon.stderr  # CANCELLED: it did not wait for its tasks
    assert "second stop signal" in daemon.stderr and "Traceback" not in daemon.stderr
    for task_id in ids:
        record = emulator.queue.get(task_id)
        assert (record.state, record.status_code) == ("pending", 14), record
    assert list((tmp_path / "work").iterdir()) == []


def test_a_task_the_platform_cancels_stays_cancelled(emulator: EmulatorServer, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    task_id = emulator.queue.enqueue(tb.sync_task())
    daemon = start_daemon(emulator, tmp_path, "runner-d", "--exit-when-idle")
    try:
        daemon.wait_for_lines("(sync_full) started")
        wait_for_connector_call(tmp_path / "runner-d-calls.log")  # past the first heartbeat
        emulator.queue.cancel(task_id)  # the next heartbeat tells the runner
        code = daemon.finish()
    finally:
        daemon.stop()
    assert code == 0, daemon.stderr
    record = emulator.queue.get(task_id)
    assert (record.state, record.status_code) == ("failed", 1), daemon.stderr
    assert "task was cancelled" in record.status_message


def test_health_server_and_health_check_command(emulator: EmulatorServer, tmp_path: Path) -> None:
    import re

    from tests.cli.invoke import baton_here as baton

    (tmp_path / "work").mkdir()
    daemon = start_daemon(emulator, tmp_path, "runner-h", "--health-check", "--health-check-port", "0")
    try:
        [line] = daemon.wait_for_lines("health server on http://127.0.0.1:")
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match is not None
        port = match.group(1)
        daemon.wait_for_lines("ready: polling for tasks")
        for endpoint in ("ready", "live", "health"):
            probe = baton("health-check", "--endpoint", endpoint, "--health-check-port", port, cwd=tmp_path)
            assert probe.returncode == 0, (endpoint, probe.stdout, probe.stderr)
        assert (
            '"status": "alive"'
            in baton("health-check", "--endpoint", "live", "--health-check-port", port, cwd=tmp_path).stdout
        )
        daemon.signal(signal.SIGTERM)
        assert daemon.finish() == 0, daemon.stderr
    finally:
        daemon.stop()
    gone = baton(
        "health-check", "--endpoint", "ready", "--health-check-port", port, "--timeout", "2", cwd=tmp_path
    )
    assert gone.returncode == 14 and "cannot reach" in gone.stderr


def test_health_check_port_needs_health_check(tmp_path: Path) -> None:
    from tests.cli.invoke import baton_here as baton

    result = baton(
        "run",
        "--plugin",
        "demo",
        "--client-id",
        "x@127.0.0.1:1/pcc",
        "--health-check-port",
        "9999",
        cwd=tmp_path,
    )
    assert result.returncode == 3 and "--health-check-port needs --health-check" in result.stderr
