"""Kill or interrupt a real `baton sync`, run it again, and get exactly an uninterrupted run's rows.

The kill and the stop signals go to real processes; the runs before and after them, whose output
and exit code are what is checked, run in-process (tests/cli/invoke.py) except the resume after
the kill, which stays a real process too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from baton_cli.c1z import C1ZReader
from tests.cli.invoke import Invocation, baton_here
from tests.cli.process import baton_env

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.cli.slow_plugin:plugin"


def _env(**extra: str) -> dict[str, str]:
    return baton_env(extra)


def _sync_args(out: Path, log: Path, count: int = 120, pause_after: int = 0) -> list[str]:
    """The slow plugin's sync; with ``pause_after`` it stops mid-way until ``<log>.release`` exists.

    No delay per call: the pause, not the pace, is what lets a signal land mid-sync."""
    pause = ["--pause-after", str(pause_after), "--release-file", f"{log}.release"] if pause_after else []
    return [
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
        "--delay-ms",
        "0",
        *pause,
    ]


def _process(args: list[str], *, stdout: int, stderr: int, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "baton_cli", *args], env=_env(**env), stdout=stdout, stderr=stderr, text=True
    )


def _here(args: list[str], cwd: Path) -> Invocation:
    return baton_here(*args, cwd=cwd)


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
    done = _here(_sync_args(reference, tmp_path / "reference.log"), tmp_path)
    assert done.returncode == 0, done.stderr

    out, first_log = tmp_path / "out.c1z", tmp_path / "first.log"
    proc = _process(
        _sync_args(out, first_log, pause_after=60),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        BATON_SYNC_CHECKPOINT_SECONDS="0",
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

    # The same command (a resume needs the same plugin configuration), released at once; a real
    # process, as a user would start after the kill.
    Path(f"{first_log}.release").touch()
    resumed = subprocess.run(
        [sys.executable, "-m", "baton_cli", *_sync_args(out, first_log, pause_after=60)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming sync " in resumed.stderr
    second = _calls(first_log)[len(first) :]
    # Only the call in flight when the process died may be asked again.
    assert set(first) & set(second) <= {first[-1]}
    assert len(first) + len(second) <= len(_calls(tmp_path / "reference.log")) + 1
    assert _rows(out) == _rows(reference)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".baton-work")) == []
    with C1ZReader.open(out) as reader:
        assert len(reader.syncs()) == 1  # the resumed sync, not a second one


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_checkpoints_and_says_how_to_resume(tmp_path: Path, stop: signal.Signals) -> None:
    out, log = tmp_path / "out.c1z", tmp_path / "calls.log"
    proc = _process(_sync_args(out, log, pause_after=30), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_lines(log, 30, proc)
        proc.send_signal(stop)  # while call 31 waits, then let it return
        Path(f"{log}.release").touch()
        _stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 1, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert not out.exists()
    calls_before = len(_calls(log))
    again = _here(_sync_args(out, log, pause_after=30), tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming sync " in again.stderr
    resource_pages = [c for c in _calls(log) if c.startswith("list:")]
    assert len(resource_pages) == len(set(resource_pages))  # no resource page fetched twice
    assert _rows(out)[3] == {f"thing:t{i:05d}:member:thing:t{i:05d}" for i in range(120)}
    assert calls_before > 0


def _interrupted(out: Path, log: Path, *extra: str) -> None:
    """A sync of the slow plugin stopped by Ctrl-C part-way, its work saved for a resume."""
    proc = _process(
        [*_sync_args(out, log, pause_after=30), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait_for_lines(log, 30, proc)
        proc.send_signal(signal.SIGINT)
        Path(f"{log}.release").touch()
        _stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 1 and "to resume" in err, err


def test_a_sync_started_differently_is_refused_naming_what_differs_and_the_flag(tmp_path: Path) -> None:
    out, log = tmp_path / "same.c1z", tmp_path / "calls.log"
    _interrupted(out, log)
    other = [*_sync_args(out, log, pause_after=30)]
    other[other.index("--count") + 1] = "10"
    refused = _here(other, tmp_path)
    assert refused.returncode == 9, refused.stderr
    error = [line for line in refused.stderr.splitlines() if line.startswith("baton: error:")]
    assert len(error) == 1, refused.stderr
    assert "--count 120, now 10" in error[0] and "--fresh" in error[0]
    assert not out.exists()
    # Nothing was lost: the original command still resumes.
    again = _here(_sync_args(out, log, pause_after=30), tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming sync " in again.stderr


def test_fresh_discards_the_saved_sync_and_never_mixes_the_two(tmp_path: Path) -> None:
    out, log = tmp_path / "same.c1z", tmp_path / "calls.log"
    _interrupted(out, log)
    other = [*_sync_args(out, log, pause_after=30)]
    other[other.index("--count") + 1] = "10"
    fresh = _here([*other, "--no-resume"], tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "resuming" not in fresh.stderr
    _types, resources, _ents, grants = _rows(out)
    assert resources == {f"thing:t{i:05d}" for i in range(10)}  # only the second configuration's rows
    assert len(grants) == 10
    with C1ZReader.open(out) as reader:
        assert len(reader.syncs()) == 1


def test_another_plugin_is_refused_then_fresh_gets_out(tmp_path: Path) -> None:
    out, log = tmp_path / "same.c1z", tmp_path / "calls.log"
    _interrupted(out, log)
    demo = ["sync", "--plugin", "demo", "--out", str(out), "--progress", "off"]
    refused = _here(demo, tmp_path)
    assert refused.returncode == 9
    assert "plugin slow" in refused.stderr and "now demo" in refused.stderr and "--fresh" in refused.stderr
    done = _here([*demo, "--fresh"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert {r.split(":")[0] for r in _rows(out)[1]} == {"user", "group", "role"}


def test_resuming_is_said_on_stderr_with_progress_off(tmp_path: Path) -> None:
    out, log = tmp_path / "out.c1z", tmp_path / "calls.log"
    _interrupted(out, log)
    args = _sync_args(out, log, pause_after=30)
    args[args.index("--progress") + 1] = "off"
    again = _here(args, tmp_path)
    assert again.returncode == 0, again.stderr
    lines = [line for line in again.stderr.splitlines() if "resuming sync " in line]
    assert len(lines) == 1 and " from list-" in lines[0], again.stderr


def test_the_fingerprint_never_holds_a_secret(tmp_path: Path) -> None:
    from baton_cli.core.sync_fingerprint import differences, saved_salt, sync_fingerprint
    from baton_cli.core.sync_options import SyncOptions

    def fingerprint(password: str, salt: str | None = None) -> dict[str, object]:
        return sync_fingerprint(
            plugin="p",
            version="1",
            config={"password": password, "users": 3},
            secret_fields=["password"],
            options=SyncOptions(),
            salt=salt,
        )

    first = fingerprint("hunter2-secret")
    assert "hunter2-secret" not in str(first)
    same = fingerprint("hunter2-secret", saved_salt(first))
    assert differences(first, same) == []
    other = fingerprint("another-secret", saved_salt(first))
    assert differences(first, other) == ["--password a different secret"]
    assert "another-secret" not in str(differences(first, other))
