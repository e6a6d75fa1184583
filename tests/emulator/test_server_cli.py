"""``baton emulator serve`` and ``baton emulator credentials create`` as a user runs them."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
import requests
from rich.console import Console
from typer.testing import CliRunner

from baton_cli.cli import app as app_module
from baton_cli.cli import emulator_view
from baton_cli.emulator import live
from baton_cli.emulator.credentials import private_key_from_secret
from baton_cli.emulator.paths import credentials_path
from baton_cli.emulator.server import EmulatorServer
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2 as pb
from tests.emulator.conftest import HOST_ID, Client, assertion, make_stub, token_form

ROOT = Path(__file__).resolve().parents[2]
SERVE_TIMEOUT = 30.0


def test_credentials_create_prints_once_and_keeps_only_the_public_key(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app_module.app, ["emulator", "credentials", "create", "my-conn", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client id:\s+(\S+)", result.output)
    secret = re.search(r"client secret:\s+(\S+)", result.output)
    assert client_id and secret
    assert client_id[1] == "my-conn@127.0.0.1:8443/pcc"
    private_key_from_secret(secret[1])  # the real format, decodable
    stored = credentials_path(data_dir).read_text()
    assert client_id[1] in stored and secret[1].rsplit(":", 1)[1] not in stored
    assert "ca.pem" in result.output and (data_dir / "tls" / "ca.pem").is_file()


def test_credentials_create_json_and_custom_host(data_dir: Path) -> None:
    args = ["emulator", "credentials", "create", "ci", "--host", "localhost", "--port", "9443", "--json"]
    result = CliRunner().invoke(app_module.app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["client_id"] == "ci@localhost:9443/pcc"
    assert body["client_secret"].startswith("secret-token:conductorone.com:v1:")
    assert Path(body["ca_file"]).is_file()


def test_credentials_create_twice_is_already_exists(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["emulator", "credentials", "create", "dup", "--data-dir", str(data_dir)]
    with pytest.raises(SystemExit) as first:
        app_module.main(argv)
    assert first.value.code == 0
    with pytest.raises(SystemExit) as second:
        app_module.main(argv)
    assert second.value.code == 6
    err = capsys.readouterr().err
    assert "already exist" in err and "secret-token" not in err


def test_serve_with_a_bad_faults_file_is_a_usage_error(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults: [{method: GetTask, error: NOPE}]\n")
    with pytest.raises(SystemExit) as info:
        app_module.main(
            ["emulator", "serve", "--port", "0", "--data-dir", str(data_dir), "--faults", str(faults)]
        )
    assert info.value.code == 3
    assert "unknown gRPC status" in capsys.readouterr().err


def _reader(stream: io.TextIOBase, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def _wait_line(lines: queue.Queue[str], pattern: str, seen: list[str]) -> re.Match[str]:
    while True:
        line = lines.get(timeout=SERVE_TIMEOUT)
        seen.append(line)
        if match := re.search(pattern, line):
            return match


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_in_the_foreground_then_stop_cleanly(data_dir: Path, stop_signal: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["serve", "--port", "0", "--data-dir", str(data_dir), "--fault", "StartDebugging:internal"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton_cli", "emulator", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        port = int(_wait_line(lines, r"listening on https://127\.0\.0\.1:(\d+)", seen)[1])
        ca_file = _wait_line(lines, r"CA certificate: (\S+)", seen)[1]
        created = CliRunner().invoke(
            app_module.app,
            [
                "emulator",
                "credentials",
                "create",
                "cli",
                "--port",
                str(port),
                "--json",
                "--data-dir",
                str(data_dir),
            ],
        )
        creds = json.loads(created.output)
        key = private_key_from_secret(creds["client_secret"])
        with requests.Session() as session:
            token = session.post(
                f"https://127.0.0.1:{port}/auth/v1/token",
                data=token_form(creds["client_id"], assertion(creds["client_id"], key)),
                verify=ca_file,
                timeout=10,
            ).json()["access_token"]
        channel = grpc.secure_channel(
            f"127.0.0.1:{port}", grpc.ssl_channel_credentials(root_certificates=Path(ca_file).read_bytes())
        )
        try:
            client = Client(channel, make_stub(channel), token)
            client.call("Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID))
            with pytest.raises(grpc.RpcError):
                client.call("StartDebugging", pb.StartDebuggingRequest())
        finally:
            channel.close()
        _wait_line(lines, rf"hello from {HOST_ID}", seen)  # plain lines: stdout is not a terminal
        _wait_line(lines, r"fault: StartDebugging: INTERNAL", seen)
        proc.send_signal(stop_signal)
        assert proc.wait(SERVE_TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(SERVE_TIMEOUT)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    while not lines.empty():
        seen.append(lines.get())
    assert "emulator stopped" in "".join(seen)
    assert "Traceback" not in err, err
    assert creds["client_secret"] not in "".join(seen) + err  # the secret is never logged


def test_rich_view_renders_hosts_tasks_and_faults(server: EmulatorServer, client: Client) -> None:
    task_id = server.queue.enqueue(pb.Task(sync_full=pb.Task.SyncFullTask()))
    client.call("Hello", pb.BatonServiceHelloRequest(host_id=HOST_ID))
    client.call("GetTask", pb.BatonServiceGetTaskRequest(host_id=HOST_ID))
    snap = server.snapshot()
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=160, color_system=None).print(emulator_view.render(snap))
    text = out.getvalue()
    assert HOST_ID in text and task_id in text and "running" in text
    assert live.task_rows(snap)[0][:3] == (task_id, "sync_full", "running")
    assert live.host_rows(snap)[0][0] == HOST_ID
