"""`baton` commands with a connector executable: real processes, real signals, pids checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.emulator.service import Pacing
from baton_cli.pb.c1.connector.v2 import grant_pb2
from tests.child.support import REPO_ROOT, alive
from tests.cli.process import baton, baton_env

BOUND = 600  # polls of 0.1 s: a bound against hanging, never a measured time


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    gate = threading.Event()
    for _ in range(BOUND):
        if predicate():
            return
        gate.wait(0.1)
    pytest.fail(f"gave up waiting for {what}")


def _json_sync(tmp_path: Path, plugin: str, out: str, *args: str) -> dict[str, object]:
    result = baton(
        "sync", "--plugin", plugin, "--out", out, "-o", "json", "--progress", "off", *args, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    payload: dict[str, object] = json.loads(result.stdout)
    return payload


def test_documented_sync_form_gives_the_in_process_counts(standin: Path, tmp_path: Path) -> None:
    bridged = _json_sync(tmp_path, f"exec:{standin}", "x.c1z", "--", "--users", "12", "--page-size", "5")
    direct = _json_sync(tmp_path, "demo", "y.c1z", "--users", "12", "--page-size", "5")
    assert bridged["counts"] == direct["counts"]
    listed = baton("resources", "-f", "x.c1z", "-o", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "u0000011" in listed.stdout


def test_bad_child_config_exits_with_its_line(standin: Path, tmp_path: Path) -> None:
    result = baton(
        "sync", "--plugin", f"exec:{standin}", "--out", "x.c1z", "--", "--users", "-2", cwd=tmp_path
    )
    assert result.returncode == 3
    assert "exited with status 1: invalid value for --users: must be at least 0, got -2" in result.stderr
    missing = baton("sync", "--plugin", "exec:no-such-baton-connector", cwd=tmp_path)
    assert missing.returncode == 5
    assert "'no-such-baton-connector' not found on PATH" in missing.stderr


def _held_sync(standin: Path, tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    held = tmp_path / "held.pid"
    process = subprocess.Popen(
        [sys.executable, "-m", "baton_cli", "sync", "--plugin", f"exec:{standin}", "--out", "s.c1z",
         "--progress", "off", "--", "--users", "3", "--hold-grants", "--held-file", str(held)],
        cwd=tmp_path,
        env=baton_env({"BATON_SYNC_CHECKPOINT_SECONDS": "0"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _wait_for(
        lambda: (held.exists() and held.read_text().isdigit()) or process.poll() is not None, "the held call"
    )
    assert process.poll() is None, process.communicate()
    return process, int(held.read_text())


def test_ctrl_c_stops_the_sync_and_the_child(standin: Path, tmp_path: Path) -> None:
    process, child = _held_sync(standin, tmp_path)
    assert alive(child)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "cancelled" in err
    assert not alive(child)  # stopped and reaped before we exited
    # The interrupted sync resumes.
    again = _json_sync(tmp_path, f"exec:{standin}", "s.c1z", "--", "--users", "3")
    assert again["resumed"] is True


def test_sigterm_leaves_no_child_behind(standin: Path, tmp_path: Path) -> None:
    process, child = _held_sync(standin, tmp_path)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    _wait_for(lambda: not alive(child), f"child {child} to exit")


def test_provisioning_through_the_child(standin: Path, tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    plugin = f"exec:{standin}"
    _json_sync(tmp_path, plugin, "sync.c1z", "--", "--state-file", state)
    grant_id = "group:g000001:member:user:u0000035"
    granted = baton(
        "grant", "-e", "group:g000001:member", "--principal", "user:u0000035", "--plugin", plugin,
        "--file", "sync.c1z", "-o", "json", "--", "--state-file", state, cwd=tmp_path,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert [g["id"] for g in json.loads(granted.stdout)["grants"]] == [grant_id]
    _json_sync(tmp_path, plugin, "sync.c1z", "--", "--state-file", state)
    listed = baton("grants", "-p", "user:u0000035", "-f", "sync.c1z", "-o", "json", cwd=tmp_path)
    assert grant_id in {row["grant"]["id"] for row in json.loads(listed.stdout)["grants"]}


@pytest.fixture
def registered(standin: Path, tmp_path: Path) -> dict[str, str]:
    """A plugin package registering the stand-in under the entry-point name ``standin``."""
    site = tmp_path / "site"
    dist = site / "baton_standin_plugin-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: baton-standin-plugin\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text("[baton.connectors]\nstandin = baton_standin_plugin:plugin\n")
    (site / "baton_standin_plugin.py").write_text(
        textwrap.dedent(
            """
            from baton_cli.connector.executable import ExecutablePlugin
            plugin = ExecutablePlugin(name="standin", executable="baton-standin", description="Stand-in (Go)")
            """
        )
    )
    return {"PYTHONPATH": f"{site}:{REPO_ROOT}", "PATH": f"{standin.parent}:{os.environ.get('PATH', '')}"}


def test_plugins_lists_a_registered_executable(registered: dict[str, str], tmp_path: Path) -> None:
    result = baton("plugins", "-o", "json", cwd=tmp_path, env=registered)
    assert result.returncode == 0, result.stderr
    (entry,) = [p for p in json.loads(result.stdout)["plugins"] if p["name"] == "standin"]
    assert entry["path"].endswith("/baton-standin")
    assert entry["sdk_version"] == "v0.5.0"
    assert entry["version"] == "1.2.3"
    assert "sync" in entry["capabilities"] and "provision" in entry["capabilities"]
    shown = baton("plugins", "show", "standin", cwd=tmp_path, env=registered)
    assert shown.returncode == 0, shown.stderr
    assert "--crash-on-grants" in shown.stdout
    synced = baton(
        "sync", "--plugin", "standin", "--out", "r.c1z", "--", "--users", "2", cwd=tmp_path, env=registered
    )
    assert synced.returncode == 0, synced.stderr


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


def test_daemon_with_a_child_serves_sync_and_grant(
    standin: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    queue = emulator.queue
    sync_id = queue.enqueue(tb.sync_task())
    grant_id = queue.enqueue(tb.grant_task("group:g000001:member", "user:u0000049"))
    creds = emulator.mint_credentials("child-runner")
    result = baton(
        "run", "--plugin", f"exec:{standin}", "--client-id", creds.client_id,
        "--ca-file", str(emulator.ca_file), "--exit-when-idle", "--provisioning",
        "--", "--state-file", str(tmp_path / "state.json"),
        cwd=tmp_path, env={"BATON_CLIENT_SECRET": creds.client_secret}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    states = {t.id: (t.state, t.status_message) for t in queue.tasks()}
    assert all(state == "done" for state, _msg in states.values()), states
    sync = queue.get(sync_id)
    assert sync.upload_counts is not None and sync.upload_counts["resources"] == 58
    assert sync.upload_counts["grants"] == 345  # the same as the in-process demo daemon
    response = grant_pb2.GrantManagerServiceGrantResponse()
    assert AnyPb.FromString(queue.result(grant_id).response).Unpack(response)
    assert [g.id for g in response.grants] == ["group:g000001:member:user:u0000049"]


def test_daemon_stops_when_its_child_dies(standin: Path, emulator: EmulatorServer, tmp_path: Path) -> None:
    queue = emulator.queue
    sync_id = queue.enqueue(tb.sync_task())
    creds = emulator.mint_credentials("child-runner")
    result = baton(
        "run", "--plugin", f"exec:{standin}", "--client-id", creds.client_id,
        "--ca-file", str(emulator.ca_file), "--", "--crash-on-grants", "1",
        cwd=tmp_path, env={"BATON_CLIENT_SECRET": creds.client_secret}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 13, result.stderr
    assert "exited with status 3: lost the connection to the directory" in result.stderr
    task = queue.get(sync_id)
    assert task.state == "failed" and "lost the connection to the directory" in task.status_message
