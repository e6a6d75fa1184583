"""The daemon's live view, recorded at a fixed width with a fake clock, fed by a real daemon run
(the demo plugin, the emulator over TLS on 127.0.0.1); off a terminal, the same facts as lines."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

from rich.console import Console

from baton_cli.cli.daemon_view import DaemonLines, DaemonView
from baton_cli.core.cancel import CancelToken
from baton_cli.core.handlers.gate import Switches
from baton_cli.core.runner import RunnerSettings
from baton_cli.core.task_source import Failure
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.wiring import PluginRequest, run_daemon
from tests.cli.daemon_support import emulator
from tests.cli.daemon_support import run_daemon as run_baton_run

__all__ = ["emulator"]  # the fixture

WIDTH = 120


class StepClock:
    """A fake clock the recording view moves one second per event it hears."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def step(self) -> None:
        with self._lock:
            self.now += 1.0


def render(view: DaemonView) -> str:
    console = Console(file=io.StringIO(), width=WIDTH, record=True, color_system=None)
    console.print(view.renderable())
    return console.export_text()


class RecordingView(DaemonView):
    """Renders the view after every event of interest, as a person would see it then."""

    def __init__(self, clock: StepClock) -> None:
        super().__init__(Console(file=io.StringIO()), clock=clock, live=False)
        self.clock = clock
        self.frames: list[str] = []
        self._frames_lock = threading.Lock()

    def _frame(self) -> None:
        text = render(self)
        with self._frames_lock:
            self.frames.append(text)

    def sync_phase(self, task_id: str, phase: str) -> None:
        self.clock.step()
        super().sync_phase(task_id, phase)
        self._frame()

    def heartbeat_due(self, task_id: str, seconds: float, failures: int) -> None:
        super().heartbeat_due(task_id, seconds, failures)
        self._frame()

    def upload_progress(self, task_id: str, sent: int, total: int) -> None:
        self.clock.step()
        super().upload_progress(task_id, sent, total)
        self._frame()


def test_live_view_of_a_real_daemon_run(emulator: EmulatorServer, tmp_path: Path) -> None:
    queue = emulator.queue
    sync_id = queue.enqueue(tb.sync_task())
    creds = emulator.mint_credentials("view-runner")
    view = RecordingView(StepClock())
    summary = run_daemon(
        PluginRequest(spec="demo", args=["--users", "3000", "--state-file", str(tmp_path / "state.json")]),
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        ca_file=emulator.ca_file,
        settings=RunnerSettings(exit_when_idle=True, switches=Switches(provisioning=True)),
        cancel=CancelToken(),
        observer=view,
    )
    assert summary.succeeded == 1, summary
    assert all(len(line) <= WIDTH for frame in view.frames for line in frame.splitlines())

    # While syncing: one row for the task with its kind, phase, rows, elapsed time and heartbeat.
    grants = next(f for f in view.frames if "list-grants" in f)
    row = next(line for line in grants.splitlines() if sync_id in line)
    assert "sync_full" in row and "list-grants" in row
    assert "3 resource types" in grants and "3,008 resources" in grants
    assert re.search(r"\d+\.\d+s ago +│\n.*next (in|overdue) \d", grants), grants

    # During the upload: a bar with bytes sent of the total, throughput and ETA.
    uploads = [f for f in view.frames if f"upload {sync_id}" in f]
    assert uploads, view.frames[-1]
    middle = next(
        (f for f in uploads if re.search(r"\((?!100%)\d+%\)", f) and " 0 B of" not in f), uploads[-1]
    )
    assert "━" in middle
    assert re.search(
        r"[\d.,]+ (B|KiB|MiB) of [\d.,]+ (KiB|MiB) \(\d+%\), [\d.,]+ (B|KiB|MiB)/s, ETA ", middle
    )

    # Afterwards: nothing running, the task among the finished ones with its outcome.
    final = render(view)
    assert "(none)" in final
    finished = final.split("finished tasks", 1)[1]
    assert sync_id in finished and "done" in finished and "sync_full" in finished


def test_failed_tasks_show_their_outcome() -> None:
    view = DaemonView(Console(file=io.StringIO()), clock=StepClock(), live=False)
    view.task_started("t1", "grant")
    view.task_finished("t1", "grant", Failure(5, "no such entitlement", non_retryable=True))
    assert "failed (non-retryable, code 5): no such entitlement" in render(view)


def test_heartbeat_failures_and_overdue_beats_are_shown() -> None:
    clock = StepClock()
    view = DaemonView(Console(file=io.StringIO()), clock=clock, live=False)
    view.task_started("t1", "sync_full")
    view.heartbeat_due("t1", 30.0, 2)
    clock.now += 31
    text = render(view)
    cell = [line.split("│")[-2].strip() for line in text.splitlines() if line.count("│") > 3]
    assert cell[:3] == ["31.0s ago", "next overdue 1.0s", "2 failures in a row"]


def test_off_a_terminal_uploads_and_heartbeat_trouble_are_log_lines() -> None:
    lines: list[str] = []
    clock = StepClock()
    plain = DaemonLines(lambda _task, text: lines.append(text), clock=clock, upload_interval=5.0)
    plain.task_started("t1", "sync_full")
    plain.heartbeat_due("t1", 30.0, 0)  # a good beat: nothing to say
    plain.heartbeat_due("t1", 30.0, 2)
    for sent in range(0, 10 * 524288 + 1, 524288):
        clock.now += 1
        plain.upload_progress("t1", sent, 10 * 524288)
    assert lines[0] == "task t1: 2 heartbeats failed in a row; next in 30.0s"
    uploads = lines[1:]
    assert uploads[0] == "task t1: uploaded 0 B of 5.0 MiB (0%), 0 B/s, ETA ?"
    assert uploads[-1].startswith("task t1: uploaded 5.0 MiB of 5.0 MiB (100%)")
    assert len(uploads) == 3  # the start, one 5 s later, the end


def test_a_real_daemon_off_a_terminal_logs_phases_and_the_upload(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    sync_id = emulator.queue.enqueue(tb.sync_task())
    result = run_baton_run(emulator, tmp_path, "--log-format", "console")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"task {sync_id}: list-grants \(.*58 resources", result.stderr), result.stderr
    assert re.search(rf"task {sync_id}: uploaded [\d.,]+ KiB of [\d.,]+ KiB \(100%\)", result.stderr), (
        result.stderr
    )


def test_on_a_real_terminal_baton_run_shows_the_live_view(emulator: EmulatorServer, tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.cli.process import baton_env

    sync_id = emulator.queue.enqueue(tb.sync_task())
    creds = emulator.mint_credentials("tty-runner")
    master, slave = pty.openpty()
    args = ["run", "--plugin", "demo", "--client-id", creds.client_id, "--ca-file", str(emulator.ca_file)]
    args += ["--exit-when-idle", "--state-file", str(tmp_path / "s.json")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton_cli", *args],
        cwd=tmp_path,
        env=baton_env({"BATON_CLIENT_SECRET": creds.client_secret, "COLUMNS": "120", "TERM": "xterm"}),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "running tasks" in screen and "finished tasks" in screen
    assert sync_id in screen and "done" in screen
    assert "ready: polling for tasks" in screen  # log lines still printed, above the view
