"""`baton` commands with a connector executable: the child is always a real process, pids checked.

`baton` itself runs in this process (tests/cli/invoke.py) unless the test is about the `baton`
process: Ctrl-C, SIGTERM and what is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.any_pb2 import Any as AnyPb

from baton_cli.c1z.reader import C1ZReader
from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connector.v2 import grant_pb2
from tests.child.support import alive, run_child_daemon, write_standin
from tests.cli.daemon_support import emulator
from tests.cli.invoke import baton_here
from tests.cli.process import baton_env
from tests.external import fixture_path

__all__ = ["emulator"]

BOUND = 600  # polls of 0.1 s: a bound against hanging, never a measured time


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    gate = threading.Event()
    for _ in range(BOUND):
        if predicate():
            return
        gate.wait(0.1)
    pytest.fail(f"gave up waiting for {what}")


def _json_sync(
    tmp_path: Path, plugin: str, out: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    result = baton_here(
        "sync", "--plugin", plugin, "--out", out, "-o", "json", "--progress", "off", *args,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _inspected(tmp_path: Path, c1z: str) -> dict[str, set[str]]:
    """What our inspector lists of a file: resource types, resources, entitlements, grants by id."""
    found: dict[str, set[str]] = {}
    for command, key, row_key in (
        ("resource-types", "resourceTypes", "resourceType"),
        ("resources", "resources", "resource"),
        ("entitlements", "entitlements", "entitlement"),
        ("grants", "grants", "grant"),
    ):
        listed = baton_here(command, "-f", c1z, "-o", "json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        ids = [row[row_key]["id"] for row in json.loads(listed.stdout)[key]]
        found[key] = {i if isinstance(i, str) else f"{i['resourceType']}:{i['resource']}" for i in ids}
    return found


def test_documented_baton_demo_form_gives_the_in_process_counts(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    demo_binary = write_standin(bin_dir, "baton-demo")
    # README: baton sync --plugin exec:/path/to/baton-demo --out x.c1z -- --db-file d.db --init-db
    bridged = _json_sync(tmp_path, f"exec:{demo_binary}", "x.c1z", "--", "--db-file", "d.db", "--init-db")
    direct = _json_sync(tmp_path, "demo", "y.c1z")
    assert bridged["counts"] == direct["counts"]
    assert _inspected(tmp_path, "x.c1z") == _inspected(tmp_path, "y.c1z")
    # Without --init-db the database must exist, as baton-demo's: the child's own line, exit 3.
    missing = baton_here(
        "sync",
        "--plugin",
        f"exec:{demo_binary}",
        "--out",
        "z.c1z",
        "--",
        "--db-file",
        "nope.db",
        cwd=tmp_path,
    )
    assert missing.returncode == 3
    assert "database nope.db does not exist (pass --init-db to create it)" in missing.stderr


@pytest.mark.parametrize(
    "recorded",
    ["file-template-sdk-v0.25.0.c1z", "file-template-sdk-v0.2.92.c1z", "demo-sdk-v0.2.51.c1z"],
)
def test_documented_baton_file_form_gives_the_go_sdks_rows(tmp_path: Path, recorded: str) -> None:
    """A connector's recorded output served again: our sync and expansion must give what the Go
    SDK wrote for it (fixtures README: baton-file 4 / 15 / 11 / 40, 22 grants from expansion;
    baton-demo 4 / 11 / 10 / 32, one grant of which has no principal id), id for id."""
    fixture = fixture_path(recorded)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_standin(bin_dir, "baton-file")
    path = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    # README: baton sync --plugin exec:baton-file --out y.c1z -- --input template.yaml
    synced = _json_sync(tmp_path, "exec:baton-file", "y.c1z", "--", "--input", str(fixture), env=path)
    with C1ZReader.open(fixture) as reader:
        sync_id = reader.pick_sync().sync_id
        expected = reader.counts(sync_id)
        # SDK v0.2.51's baton-demo recorded one role grant to a principal with an empty id; our
        # ingestion drops such a grant and says so (the only difference, and a deliberate one).
        unnamed = {g.id for g in reader.grants(sync_id) if not g.principal.id.resource}
    kinds = ("resource_types", "resources", "entitlements", "grants")
    wanted = (*(getattr(expected, kind) for kind in kinds[:3]), expected.grants - len(unnamed))
    assert tuple(synced["counts"][kind] for kind in kinds) == wanted
    assert sum(synced["dropped"].values()) == len(unnamed)
    recorded_rows = _inspected(tmp_path, str(fixture))
    recorded_rows["grants"] -= unnamed
    assert _inspected(tmp_path, "y.c1z") == recorded_rows


def test_bad_child_config_exits_with_its_line(standin: Path, tmp_path: Path) -> None:
    result = baton_here(
        "sync", "--plugin", f"exec:{standin}", "--out", "x.c1z", "--", "--users", "-2", cwd=tmp_path
    )
    assert result.returncode == 3
    assert "exited with status 1: invalid value for --users: must be at least 0, got -2" in result.stderr
    missing = baton_here("sync", "--plugin", "exec:no-such-baton-connector", cwd=tmp_path)
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
    granted = baton_here(
        "grant", "-e", "group:g000001:member", "--principal", "user:u0000035", "--plugin", plugin,
        "--file", "sync.c1z", "-o", "json", "--", "--state-file", state, cwd=tmp_path,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert [g["id"] for g in json.loads(granted.stdout)["grants"]] == [grant_id]
    _json_sync(tmp_path, plugin, "sync.c1z", "--", "--state-file", state)
    listed = baton_here("grants", "-p", "user:u0000035", "-f", "sync.c1z", "-o", "json", cwd=tmp_path)
    assert grant_id in {row["grant"]["id"] for row in json.loads(listed.stdout)["grants"]}


@pytest.fixture
def registered(standin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A plugin package registering the stand-in under the entry-point name ``standin``, importable
    here (sys.path) and found by name on PATH; returns the environment for `baton`."""
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
    monkeypatch.syspath_prepend(str(site))
    return {"PATH": f"{standin.parent}:{os.environ.get('PATH', '')}"}


def test_plugins_lists_a_registered_executable(registered: dict[str, str], tmp_path: Path) -> None:
    result = baton_here("plugins", "-o", "json", cwd=tmp_path, env=registered)
    assert result.returncode == 0, result.stderr
    (entry,) = [p for p in json.loads(result.stdout)["plugins"] if p["name"] == "standin"]
    assert entry["path"].endswith("/baton-standin")
    assert entry["sdk_version"] == "v0.5.0"
    assert entry["version"] == "1.2.3"
    assert "sync" in entry["capabilities"] and "provision" in entry["capabilities"]
    shown = baton_here("plugins", "show", "standin", cwd=tmp_path, env=registered)
    assert shown.returncode == 0, shown.stderr
    assert "--crash-on-grants" in shown.stdout
    synced = baton_here(
        "sync", "--plugin", "standin", "--out", "r.c1z", "--", "--users", "2", cwd=tmp_path, env=registered
    )
    assert synced.returncode == 0, synced.stderr


def test_daemon_with_a_child_serves_sync_and_grant(
    standin: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    queue = emulator.queue
    sync_id = queue.enqueue(tb.sync_task())
    grant_id = queue.enqueue(tb.grant_task("group:g000001:member", "user:u0000049"))
    result = run_child_daemon(
        emulator, tmp_path, standin, "--exit-when-idle", "--provisioning",
        child_args=("--state-file", str(tmp_path / "state.json")),
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
    result = run_child_daemon(emulator, tmp_path, standin, child_args=("--crash-on-grants", "1"))
    assert result.returncode == 13, result.stderr
    assert "exited with status 3: lost the connection to the directory" in result.stderr
    task = queue.get(sync_id)
    assert task.state == "failed" and "lost the connection to the directory" in task.status_message
