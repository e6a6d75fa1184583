"""The daemon's logs: JSON lines an operator can ship, no secrets at DEBUG, stray prints contained."""

from __future__ import annotations

import json
import re
from pathlib import Path

from baton_cli.emulator import task_builders as tb
from baton_cli.emulator.server import EmulatorServer
from tests.cli.daemon_support import emulator
from tests.cli.process import baton

__all__ = ["emulator"]

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run_printing_daemon(emulator: EmulatorServer, tmp_path: Path, *extra: str) -> tuple[str, str, str]:
    creds = emulator.mint_credentials("logging-runner")
    result = baton(
        "run",
        "--plugin",
        "tests.cli.printing_plugin:plugin",
        "--client-id",
        creds.client_id,
        "--ca-file",
        str(emulator.ca_file),
        "--exit-when-idle",
        *extra,
        cwd=tmp_path,
        env={"BATON_CLIENT_SECRET": creds.client_secret},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr, creds.client_secret


def test_json_lines_carry_timestamps_levels_and_task_keys(emulator: EmulatorServer, tmp_path: Path) -> None:
    task_id = emulator.queue.enqueue(tb.sync_task())
    stdout, stderr, _secret = run_printing_daemon(emulator, tmp_path, "--log-format", "json")
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line parses
    assert lines and all(RFC3339_UTC.match(line["ts"]) for line in lines)
    assert all(line["level"] in ("debug", "info", "warn", "error") and line["msg"] for line in lines)
    started = [line for line in lines if line["msg"].endswith("(sync_full) started")]
    assert [(line["task_id"], line["task_kind"]) for line in started] == [(task_id, "sync_full")]
    progress = [line for line in lines if line.get("task_id") == task_id and "list-resources" in line["msg"]]
    assert progress, "the sync's phase changes are logged with the task's id"
    # The connector's own logger and its stray print both arrive as records; stdout stays empty.
    connector = [line for line in lines if line["logger"] == "baton_cli.connector.plugins.printing"]
    assert connector and connector[0]["page"] == "first"
    assert any(line["msg"] == "stdout: a stray print from the connector" for line in lines)
    assert stdout == ""
    assert emulator.queue.get(task_id).state == "done"


def test_console_lines_have_the_same_timestamp_and_level(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.queue.enqueue(tb.sync_task())
    _stdout, stderr, _secret = run_printing_daemon(emulator, tmp_path, "--log-format", "console")
    for line in stderr.splitlines():
        stamp, level, *_rest = line.split(maxsplit=2)
        assert RFC3339_UTC.match(stamp) and level in ("DEBUG", "INFO", "WARN", "ERROR"), line


def test_debug_logs_never_show_the_secret_assertion_or_token(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.queue.enqueue(tb.sync_task())
    stdout, stderr, secret = run_printing_daemon(
        emulator, tmp_path, "--log-level", "debug", "--log-format", "json"
    )
    everything = stdout + stderr
    assert any(json.loads(line)["level"] == "debug" for line in stderr.splitlines())  # DEBUG was on
    assert secret not in everything and secret.rsplit(":", 1)[-1] not in everything
    assert "client_assertion" not in everything and "eyJ" not in everything
    assert "access_token" not in everything and "Bearer " not in everything
