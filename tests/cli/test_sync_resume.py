"""Kill or interrupt a real `baton sync`, run it again, and get exactly an uninterrupted run's rows."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from baton_cli.c1z import C1ZReader
from tests.cli.process import baton_env

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.cli.slow_plugin:plugin"


def _env(**extra: str) -> dict[str, str]:
    return baton_env(extra)


def _sync_args(out: Path, log: Path, count: int = 120, pause_after: int = 0) -> list[str]:
    """The slow plugin's sync; with ``pause_after`` it stops mid-way until ``<log>.release`` exists."""
    pause = ["--pause-after", str(pause_after), "--release-file", f"{log}.release"] if pause_after else []
    return [
        sys.executable,
        "-m",
        "baton_cli",
        "sync",
        "--plugin",
        PLUGIN,
        "--out",
        str(out),
        "--progress",
        "plain",
        "--count",
        str(count),
        "--log-file",
        str(log),
        *pause,
    ]


def _rows(path: Path) -> tuple[set[str], set[str], set[str], set[str]]:
    with C1ZReader.open(path) as reader:
        sync = reader.pick_sync()
        return (
            {t.id for t in reader.resource_types(sync.sync_id)},
            {f"{r.id.resource_type}:{r.id.resource}" for r in reader.resources(sync.sync_id)},
            {e.id for e in reader.entitlements(sync.sync_id)},
            {g.id for g in reader.grants(sync.sync_id)},
        )


def _wait_for_lines(log: Path, n: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= n:
            return
        assert proc.poll() is None, "sync finished before it could be interrupted"
        time.sleep(0.01)
    raise AssertionError(f"{log} did not reach {n} calls")


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines()


def test_killed_sync_resumes_without_refetching_stored_pages(tmp_path: Path) -> None:
    reference = tmp_path / "reference.c1z"
    done = subprocess.run(
        _sync_args(reference, tmp_path / "reference.log"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    out, first_log, second_log = tmp_path / "out.c1z", tmp_path / "first.log", tmp_path / "second.log"
    proc = subprocess.Popen(
        _sync_args(out, first_log, pause_after=60),
        env=_env(BATON_SYNC_CHECKPOINT_SECONDS="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_lines(first_log, 60, proc)  # all 12 resource pages and part of the entitlements
        proc.send_signal(signal.SIGKILL)  # while it waits inside call 61
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert not out.exists()
    first = _calls(first_log)

    resumed = subprocess.run(
        _sync_args(out, second_log), env=_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming unfinished sync" in resumed.stderr
    second = _calls(second_log)
    # Only the call in flight when the process died may be asked again.
    assert set(first) & set(second) <= {first[-1]}
    assert len(first) + len(second) <= len(_calls(tmp_path / "reference.log")) + 1
    assert _rows(out) == _rows(reference)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".baton-work")) == []
    with C1ZReader.open(out) as reader:
        assert len(reader.syncs()) == 1  # the resumed sync, not a second one


def test_ctrl_c_checkpoints_and_says_how_to_resume(tmp_path: Path) -> None:
    out, log = tmp_path / "out.c1z", tmp_path / "calls.log"
    proc = subprocess.Popen(
        _sync_args(out, log, pause_after=30),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_lines(log, 30, proc)
        proc.send_signal(signal.SIGINT)  # while call 31 waits, then let it return
        Path(f"{log}.release").touch()
        _stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 1, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert not out.exists()
    calls_before = len(_calls(log))
    again = subprocess.run(
        _sync_args(out, log), env=_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "resuming unfinished sync" in again.stderr
    resource_pages = [c for c in _calls(log) if c.startswith("list:")]
    assert len(resource_pages) == len(set(resource_pages))  # no resource page fetched twice
    assert _rows(out)[3] == {f"thing:t{i:05d}:member:thing:t{i:05d}" for i in range(120)}
    assert calls_before > 0
